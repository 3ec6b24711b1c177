"""Embedding: the ``Embedder`` protocol and the one function that picks a backend by
setting (torch, ONNX Runtime fp32 or int8, or both, routed by batch size)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from rag.embedding.base import Embedder, canonical_model_name, pick_onnx_device, resolve_model
from rag.errors import ModelLoadError

if TYPE_CHECKING:
    from rag.settings import Settings

__all__ = [
    "BACKENDS",
    "INT8_SUFFIX",
    "Embedder",
    "canonical_model_name",
    "embedder_from",
    "load_embedder",
    "resolve_model",
]

BACKENDS = ("auto", "torch", "onnx", "onnx-int8")
# The name an index built with the int8 model records after the model's.
INT8_SUFFIX = "@int8"
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
    if backend not in BACKENDS:
        raise ModelLoadError(f"Unknown embedding backend '{backend}'; available: {', '.join(BACKENDS)}.")
    if (
        backend == "auto"
        and device in ("auto", "cpu")
        and (Path(resolve_model(name)) / "config.json").is_file()
    ):
        try:
            few = load_embedder(name, "cpu", batch_size, "onnx", cache)
        except ModelLoadError:
            return _torch(name, device, batch_size)  # onnxruntime missing or the export failed
        from rag.embedding.routing import RoutingEmbedder

        # torch (and CUDA, when there is one) loads with the first batch to embed.
        return RoutingEmbedder(lambda: _torch(name, device, batch_size), few, SMALL_BATCH)
    if backend in ("torch", "auto"):
        return _torch(name, device, batch_size)
    source = Path(resolve_model(name))
    if not (source / "config.json").is_file():
        raise ModelLoadError(f"The ONNX backend needs a local model folder; '{name}' is not one.")
    return _onnx(name, source, backend, pick_onnx_device(device), batch_size, cache)


_TORCH: dict[tuple[str, str, int], Embedder] = {}
_ONNX: dict[tuple[Path, str, str, int], Embedder] = {}


def _torch(name: str, device: str, batch_size: int) -> Embedder:
    """One sentence-transformers model per name and device in a process: the CLI, the app
    and the evaluation opening several pipelines load it once."""
    from rag.embedding.torch import SentenceTransformerEmbedder

    key = (name, device, batch_size)
    if key not in _TORCH:
        _TORCH[key] = SentenceTransformerEmbedder(name, device=device, batch_size=batch_size)
    return _TORCH[key]


def _onnx(
    name: str, source: Path, backend: str, device: str, batch_size: int, cache: Path | None
) -> Embedder:
    """One ONNX Runtime session per model and backend in a process, shared by the CLI, the
    app and the extractive scorer; ``cache`` is where the first one exports the model."""
    from rag.embedding.onnx import OnnxEmbedder

    key = (source, backend, device, batch_size)
    if key not in _ONNX:
        # int8 weights give other vectors (cosine 0.9-0.97 to the fp32 ones): an index
        # records them under their own name, so it is never queried with the fp32 model.
        quantized = backend == "onnx-int8"
        _ONNX[key] = OnnxEmbedder(
            canonical_model_name(name) + (INT8_SUFFIX if quantized else ""),
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
