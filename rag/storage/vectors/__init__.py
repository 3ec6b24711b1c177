"""Vector stores: one vector per chunk row, searched by inner product, behind one protocol;
a registry picks the backend an index records, each with its own typed options."""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from rag.errors import InputError

# kind -> (module, class); a backend module is imported only when an index uses it.
BACKENDS = {
    "faiss": ("rag.storage.vectors.faiss", "FaissVectors"),
}
STORES = tuple(BACKENDS)


class VectorStore(Protocol):
    """Rebuilt from the segments when its own files are missing, stale or damaged, since
    the segments hold every vector."""

    kind: str
    ntotal: int

    def sync(self, blocks: list[np.ndarray], renumbered: bool = False) -> None:
        """Take the rows of ``blocks`` (every vector, in row order) as the contents;
        ``renumbered``: rows were removed, so nothing saved earlier still lines up."""

    def append(self, vectors: np.ndarray) -> None: ...

    def search(
        self, query: np.ndarray, n: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]: ...

    def vectors_of(self, rows: np.ndarray) -> np.ndarray: ...

    def persist(self, folder: Path, tag: str) -> dict[str, Any]:
        """Write what the store keeps beside the segments, naming any new file with ``tag``
        (see ``store_file``); returns its manifest record."""

    def files(self) -> set[str]:
        """Names in the index folder that this store owns (its saved files or folder)."""


def _backend(kind: str) -> Any:
    if kind == "qdrant":
        raise InputError(
            "This index keeps only its vectors in Qdrant, a layout the Qdrant-native index "
            "replaced; rebuild it into a new folder with: rag ingest PATH --index NEW --store qdrant."
        )
    if kind not in BACKENDS:
        raise InputError(f"Unknown store '{kind}'; available: {', '.join(STORES)}.")
    module, name = BACKENDS[kind]
    return getattr(importlib.import_module(module), name)


def make_vector_store(
    kind: str, dimension: int, folder: Path, record: dict[str, Any] | None, settings: dict[str, Any]
) -> VectorStore:
    """The vector store a setting (or an existing index's manifest) names. ``settings`` may
    hold every store's settings: each backend takes only the fields of its ``Options``."""
    backend = _backend(kind)
    names = {f.name for f in dataclasses.fields(backend.Options)}
    options = backend.Options(**{k: v for k, v in settings.items() if k in names and v is not None})
    return backend(dimension, folder, record, options)


def store_file(tag: str) -> str:
    """The one file name a vector store may write during the commit tagged ``tag``: the
    journal names it in advance, so a killed writer's file is found and removed later."""
    return f"ann-{tag}.faiss"


def owned_names(kind: str, settings: dict[str, Any] | None) -> set[str]:
    """What a vector store of this kind makes in a new index folder before its first commit."""
    return set()
