"""Ingestion on a Ray cluster (``rag ingest --ray [ADDRESS]``), the optional extra
``rag-statements[ray]``.

The driver lists the files (the same walk as a single-process ingestion) and hands them,
a few at a time, to workers on the cluster: one actor per CPU, or per GPU when the
cluster has GPUs, each holding the embedding model once, which loads its files, splits
them and embeds the chunks. The driver takes the results back in the order it sent them
and runs the very decisions and commits of ``rag.ingest.ingest`` on them: which
documents are new, changed, unchanged or continued, batch by batch. So the index is the
one a single process makes (same documents, chunks and segments; vectors equal to
float rounding), and a killed run resumes the same way. A worker skips embedding what
the index already holds unchanged, and continues a partly saved document after its
saved chunks, from the index's state as the run began.
"""

from __future__ import annotations

import collections
import itertools
import os
import socket
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from rag.embedding import embedder_from
from rag.errors import InputError
from rag.ingest import Prepared, Writable
from rag.loading import Skipped, display_source, find_files, is_upload, load_file, read_members
from rag.settings import Settings
from rag.splitting import iter_chunks
from rag.types import Chunk, Document

# Set to 0, Ray binds every process of a node to 127.0.0.1 (on Linux it otherwise takes
# the machine's network address, even when told 127.0.0.1); such a cluster has one node.
LOCAL_ONLY = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
START_LOCAL = f"{LOCAL_ONLY}=0 ray start --head --include-dashboard=false"
FILES_PER_TASK = 4  # files a worker loads, splits and embeds at a time
IN_FLIGHT = 2  # tasks queued per worker, so none waits while the driver commits


class _Worker:
    """One copy of the embedding model on a cluster node; loads, splits and embeds."""

    def __init__(self, settings: Settings):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        self.embedder = embedder_from(settings)

    def describe(self) -> tuple[str, int]:
        return self.embedder.name, self.embedder.dimension

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.embedder.embed(texts)

    def prepare(
        self, files: list[Any], state: dict[str, Any], chunking: dict[str, int]
    ) -> list[tuple[Document | Skipped, Prepared | None]]:
        """Each file loaded, and its chunks (after those already saved) split and embedded,
        unless the index holds it unchanged."""
        loaded: list[tuple[Document | Skipped, int, list[Chunk] | None]] = []
        for item in files:
            doc = item if isinstance(item, Skipped | Document) else load_file(*item)
            if isinstance(doc, Skipped) or _unchanged(doc, state):
                loaded.append((doc, 0, None))
                continue
            saved = state["incomplete"].get(doc.doc_id, 0)
            size, overlap = chunking["size"], chunking["overlap"]
            loaded.append((doc, saved, list(itertools.islice(iter_chunks(doc, size, overlap), saved, None))))
        # One call for the task's chunks: the model's batches stay full across short files.
        texts = [c.text for _, _, chunks in loaded for c in chunks or ()]
        vectors = self.embedder.embed(texts) if texts else np.zeros((0, self.embedder.dimension), np.float32)
        out: list[tuple[Document | Skipped, Prepared | None]] = []
        row = 0
        for doc, saved, chunks in loaded:
            if chunks is None:
                out.append((doc, None))
            else:
                out.append((doc, Prepared(saved, chunks, vectors[row : row + len(chunks)])))
                row += len(chunks)
        return out


def _unchanged(doc: Document, state: dict[str, Any]) -> bool:
    known = state["known"].get(doc.doc_id)
    return known is not None and known == doc.metadata and doc.doc_id not in state["incomplete"]


class Cluster:
    """The workers of a Ray cluster: ``embed`` (the ``Embedder`` interface, for what the
    driver embeds itself) and ``documents`` (what ``rag.ingest.ingest`` reads files from)."""

    device = "ray"

    def __init__(self, settings: Settings, address: str, workers: int | None = None):
        # Workers see the accelerators Ray gives them; no warning about its future default.
        os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        # Ray on Linux swaps 127.0.0.1 for the machine's network address unless it runs as
        # on macOS: so this driver reaches a cluster only this machine can reach (it hung
        # trying the network address) and listens on 127.0.0.1 beside it; on a cluster on
        # the network it takes its node's address from the cluster, as before.
        os.environ.setdefault(LOCAL_ONLY, "0")
        try:
            import ray
        except ImportError:
            raise InputError("--ray needs Ray; install it with: pip install 'rag-statements[ray]'") from None
        self.ray = ray
        _reachable(address)
        try:
            ray.init(address=address, log_to_driver=False, logging_level="ERROR", configure_logging=False)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            if address == "auto":
                raise InputError(
                    f"No Ray cluster runs on this machine; start one only this machine can reach with "
                    f"`{START_LOCAL}`, or give --ray the address of one."
                ) from None
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

    def documents(
        self, paths: Iterable[Path], home: Path, index: Writable
    ) -> Iterator[tuple[Document | Skipped, Prepared | None]]:
        """Every file under ``paths`` loaded, split and embedded on the workers, in the
        order of the single-process walk, a few tasks ahead of the caller."""
        state = self.ray.put(
            {
                "known": {d: doc.metadata for d, doc in index.documents.items()},
                "incomplete": dict(index.incomplete),
            }
        )
        # An archive's members are read here, in the archive's order, and sent as text.
        items = (
            item
            if isinstance(item, Skipped | Document)
            else (item, display_source(item, home), is_upload(item, home))
            for item in read_members(find_files(paths), home)
        )
        tasks = _groups(items, FILES_PER_TASK)
        pending: collections.deque[Any] = collections.deque()
        turn = itertools.cycle(self.actors)
        for group in itertools.islice(tasks, len(self.actors) * IN_FLIGHT):
            pending.append(next(turn).prepare.remote(group, state, index.chunking))
        while pending:
            done = self._result(pending.popleft())
            group = next(tasks, None)
            if group is not None:
                pending.append(next(turn).prepare.remote(group, state, index.chunking))
            yield from done

    def _result(self, task: Any) -> Any:
        try:
            return self.ray.get(task)
        except self.ray.exceptions.RayError as exc:
            raise InputError(
                f"A worker of the Ray cluster failed ({_first_line(exc)}); what was saved is in the "
                "index, and running the same command again continues."
            ) from None


def _groups(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    it = iter(items)
    while group := list(itertools.islice(it, size)):
        yield group


def _reachable(address: str) -> None:
    """Refuse at once a HOST:PORT no cluster answers at (Ray itself retries for minutes)."""
    host, _, port = address.rpartition(":")
    if address == "auto" or "://" in address or not host or not port.isdigit():
        return
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise InputError(
            f"No Ray cluster answers at {address} ({exc.strerror or exc}); start one only this "
            f"machine can reach with `{START_LOCAL}` (then --ray needs no address), or give the "
            "address of a running one."
        ) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
