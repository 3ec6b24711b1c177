"""The embedding model on sentence-transformers and PyTorch (CPU or CUDA): the backend for
batches, as at ingestion."""

from __future__ import annotations

import os

import numpy as np

from rag.embedding.base import CachedQueries, canonical_model_name, pick_device, resolve_model
from rag.errors import ModelLoadError
from rag.settings import DEFAULT_MODEL


class SentenceTransformerEmbedder(CachedQueries):
    """A sentence-transformers model loaded once; vectors are L2-normalised float32."""

    backend = "torch"

    def __init__(self, name: str = DEFAULT_MODEL, device: str = "auto", batch_size: int = 64):
        self.name = canonical_model_name(name)
        self.batch_size = batch_size
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        try:
            import transformers
            from sentence_transformers import SentenceTransformer

            transformers.utils.logging.disable_progress_bar()
            self.device = pick_device(device)
            self._model = SentenceTransformer(resolve_model(name), device=self.device)
        except (OSError, ValueError, RuntimeError) as exc:
            first = str(exc).strip().split("\n")[0]
            raise ModelLoadError(
                f"Could not load the embedding model '{name}' ({first}); give a local path "
                "or a model already in the Hugging Face cache."
            ) from None
        dimension = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension
        )
        self.dimension = int(dimension())

    def embed(self, texts: list[str], progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
