"""One embedder over two backends: batches on one (torch, quicker there), a few texts at a
time on the other (ONNX Runtime, 2-5x quicker there). Both give the same vectors (to
about 1e-6), so an index never knows which one embedded a text."""

from __future__ import annotations

import numpy as np

from rag.embedding.base import CachedQueries, Embedder


class RoutingEmbedder(CachedQueries):
    def __init__(self, batches: Embedder, few: Embedder, up_to: int = 64):
        self.batches, self.few, self.up_to = batches, few, up_to
        self.name = batches.name
        self.dimension = batches.dimension
        self.device = getattr(batches, "device", "cpu")
        self.backend = "auto"

    def embed(self, texts: list[str], progress: bool = False) -> np.ndarray:
        chosen = self.few if len(texts) <= self.up_to else self.batches
        return chosen.embed(texts, progress)
