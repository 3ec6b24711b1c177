"""Embedding on a Ray cluster (``rag ingest --ray [ADDRESS]``), the optional extra
``rag-statements[ray]``.

Embedding is the cost that outgrows one machine first, so that is what goes to the
cluster: each worker holds the embedding model once (an actor per CPU, or per GPU), and
every batch's texts are split among them, embedded in parallel and returned in order.
Everything else stays with the driver, which loads, splits and commits batch by batch
exactly as a single-process ingestion does: the same documents, the same chunks in the
same segments, and a killed run resumes the same way.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from rag.embedding import embedder_from
from rag.errors import InputError
from rag.settings import Settings


class _Worker:
    """One copy of the embedding model on a cluster node."""

    def __init__(self, settings: Settings):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        self.embedder = embedder_from(settings)

    def describe(self) -> tuple[str, int]:
        return self.embedder.name, self.embedder.dimension

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.embedder.embed(texts)


class RayEmbedder:
    """The ``Embedder`` interface over the workers of a Ray cluster."""

    device = "ray"  # rag.ingest overlaps committing a batch with embedding the next

    def __init__(self, settings: Settings, address: str, workers: int | None = None):
        # Workers see the accelerators Ray gives them; no warning about its future default.
        os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        try:
            import ray
        except ImportError:
            raise InputError("--ray needs Ray; install it with: pip install 'rag-statements[ray]'") from None
        self.ray = ray
        try:
            ray.init(address=address, log_to_driver=False, logging_level="ERROR", configure_logging=False)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise InputError(f"Cannot join the Ray cluster at {address} ({_first_line(exc)}).") from None
        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0))
        count = workers or gpus or int(resources.get("CPU", 0))
        if count < 1:
            raise InputError(f"The Ray cluster at {address} has no CPU or GPU to embed on.")
        actor = ray.remote(num_gpus=1 if gpus else 0, num_cpus=0 if gpus else 1)(_Worker)
        self.actors = [actor.remote(settings) for _ in range(count)]
        self.name, self.dimension = ray.get(self.actors[0].describe.remote())

    def embed(self, texts: list[str], progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        parts = [p for p in np.array_split(np.arange(len(texts)), len(self.actors)) if len(p)]
        futures = [
            actor.embed.remote([texts[i] for i in part])
            for actor, part in zip(self.actors, parts, strict=False)
        ]
        return np.vstack(self.ray.get(futures)).astype(np.float32, copy=False)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]

    def close(self) -> None:
        self.ray.shutdown()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def cluster_embedder(settings: Settings, address: str) -> Any:
    """The embedder ``rag ingest --ray ADDRESS`` uses ("auto": the cluster this machine
    belongs to, as ``ray start`` left it)."""
    return RayEmbedder(settings, address)
