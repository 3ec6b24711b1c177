"""One embedder over two backends: batches on one (torch, quicker there), a few texts at a
time on the other (ONNX Runtime, 2-5x quicker there). Both give the same vectors (to
about 1e-6), so an index never knows which one embedded a text. The batch backend is
loaded on its first batch: answering a question never imports torch."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rag.embedding.base import CachedQueries, Embedder


class RoutingEmbedder(CachedQueries):
    def __init__(self, batches: Callable[[], Embedder], few: Embedder, up_to: int = 64):
        self._load_batches, self.few, self.up_to = batches, few, up_to
        self._batches: Embedder | None = None
        self.name = few.name
        self.dimension = few.dimension
        self.backend = "auto"

    @property
    def batches(self) -> Embedder:
        if self._batches is None:
            self._batches = self._load_batches()
        return self._batches

    @property
    def device(self) -> str:
        """Where batches run (asking loads their backend: only ingestion asks)."""
        return getattr(self.batches, "device", "cpu")

    def embed(self, texts: list[str], progress: bool = False) -> np.ndarray:
        chosen = self.few if len(texts) <= self.up_to else self.batches
        return chosen.embed(texts, progress)
