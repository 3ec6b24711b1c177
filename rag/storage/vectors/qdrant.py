"""Qdrant vector store: the same contract as the FAISS one, on a Qdrant collection.

In-process local mode (``qdrant/`` inside the index folder) needs no server; with a URL
the same code runs against a Qdrant server or cluster that can hold more than one machine.
Point ids are chunk rows. The segments stay the record of every vector: a collection that
is missing, behind or ahead of the manifest (a killed writer) is brought back in line
when the index opens.
"""

from __future__ import annotations

import atexit
import contextlib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import InputError

UPLOAD_BATCH = 1024
_LOCAL_CLIENTS: dict[Path, Any] = {}  # local mode allows one client per folder and process


@atexit.register
def _close_local_clients() -> None:
    for client in _LOCAL_CLIENTS.values():
        with contextlib.suppress(Exception):
            client.close()
    _LOCAL_CLIENTS.clear()


def _client(folder: Path, url: str | None, api_key: str | None) -> Any:
    try:
        from qdrant_client import QdrantClient
    except ImportError:
        raise InputError(
            "The Qdrant store needs the qdrant-client package; run: pip install qdrant-client"
        ) from None
    if url:
        return QdrantClient(url=url, api_key=api_key or None, timeout=30)
    where = (folder / "qdrant").resolve()
    if where not in _LOCAL_CLIENTS:
        where.mkdir(parents=True, exist_ok=True)
        try:
            _LOCAL_CLIENTS[where] = QdrantClient(path=str(where))
        except RuntimeError as exc:
            raise InputError(
                f"The Qdrant store at {where} is open in another process ({exc}); local mode "
                "serves one process at a time: use a Qdrant server (RAG_QDRANT_URL) to share it."
            ) from None
    return _LOCAL_CLIENTS[where]


@dataclass(frozen=True)
class QdrantOptions:
    url: str | None = None  # a Qdrant server; none: local mode inside the index folder
    api_key: str | None = None  # never written to the manifest


class QdrantVectors:
    kind = "qdrant"
    Options = QdrantOptions

    def __init__(
        self,
        dimension: int,
        folder: Path,
        record: dict[str, Any] | None = None,
        options: QdrantOptions | None = None,
    ):
        options = options or QdrantOptions()
        record = record or {}
        self.url = options.url or record.get("url") or None
        self.client = _client(folder, self.url, options.api_key)  # names the package when it is missing
        from qdrant_client import models

        self.models = models
        self.dimension = dimension
        self.base = record.get("base") or f"statements_{uuid.uuid4().hex[:8]}"
        self.epoch = int(record.get("epoch", 0))
        self.ntotal = 0
        self._retired: list[str] = []
        self._ensure()

    @property
    def collection(self) -> str:
        return f"{self.base}_{self.epoch}"

    def _ensure(self) -> None:
        if not self.client.collection_exists(self.collection):
            self.client.create_collection(
                self.collection,
                vectors_config=self.models.VectorParams(
                    size=self.dimension, distance=self.models.Distance.DOT
                ),
            )

    def _count(self) -> int:
        return int(self.client.count(self.collection, exact=True).count)

    def _upload(self, vectors: np.ndarray, first_row: int) -> None:
        for start in range(0, len(vectors), UPLOAD_BATCH):
            part = np.asarray(vectors[start : start + UPLOAD_BATCH], dtype=np.float32)
            ids = list(range(first_row + start, first_row + start + len(part)))
            self.client.upsert(
                self.collection,
                points=self.models.Batch(ids=ids, vectors=part.tolist()),
                wait=True,
            )

    # -- contents ------------------------------------------------------------------------

    def sync(self, blocks: list[np.ndarray], renumbered: bool = False) -> None:
        total = sum(len(b) for b in blocks)
        if renumbered:
            # Rows moved: fill a fresh collection; the old one goes once the manifest moves on.
            self._retired.append(self.collection)
            self.epoch += 1
            self._ensure()
            have = 0
        else:
            have = self._count()
            if have > total:  # a writer died after sending a batch it never committed
                extra = list(range(total, have))
                self.client.delete(self.collection, points_selector=self.models.PointIdsList(points=extra))
                have = total
        row = 0
        for block in blocks:
            if row + len(block) > have:
                skip = max(0, have - row)
                self._upload(block[skip:], row + skip)
            row += len(block)
        self.ntotal = total

    def append(self, vectors: np.ndarray) -> None:
        self._upload(vectors, self.ntotal)
        self.ntotal += len(vectors)

    def vectors_of(self, rows: np.ndarray) -> np.ndarray:
        if not len(rows):
            return np.zeros((0, self.dimension), dtype=np.float32)
        points = self.client.retrieve(self.collection, ids=[int(r) for r in rows], with_vectors=True)
        by_id = {int(p.id): p.vector for p in points}
        return np.array([by_id[int(r)] for r in rows], dtype=np.float32)

    # -- search --------------------------------------------------------------------------

    def search(
        self, query: np.ndarray, n: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        where = None
        if allowed is not None:
            where = self.models.Filter(must=[self.models.HasIdCondition(has_id=[int(r) for r in allowed])])
        hits = self.client.query_points(
            self.collection, query=query.astype(np.float32).tolist(), limit=n, query_filter=where
        ).points
        return (
            np.array([h.score for h in hits], dtype=np.float32),
            np.array([int(h.id) for h in hits], dtype=np.int64),
        )

    def persist(self, folder: Path, tag: str) -> dict[str, Any]:
        for name in self._retired:
            if self.client.collection_exists(name):
                self.client.delete_collection(name)
        self._retired.clear()
        return {
            "kind": self.kind,
            "url": self.url,
            "base": self.base,
            "epoch": self.epoch,
            "rows": self.ntotal,
        }

    def files(self) -> set[str]:
        return set() if self.url else {"qdrant"}
