"""BM25's term counts stored ready to use: every chunk's counts stacked by term (columns
compressed), with each chunk's length, written when an index is saved and memory-mapped by
readers, so opening an index neither stacks the segments' counts nor holds them: a
question reads the few terms it asks about."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from rag.errors import IndexCorruptError
from rag.storage.files import fsync, sha256


def postings_file(tag: str) -> str:
    """The postings file a commit tagged ``tag`` may write (its journal names it first)."""
    return f"postings-{tag}.bin"


@dataclass(frozen=True)
class Postings:
    """For the first ``rows`` chunks and ``terms`` terms: by term, the rows it occurs in and
    how often (``indptr``, ``indices``, ``data``), and each row's length in terms."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    lengths: np.ndarray

    @property
    def rows(self) -> int:
        return len(self.lengths)

    @property
    def terms(self) -> int:
        return len(self.indptr) - 1


def write_postings(folder: Path, tag: str, counts: sparse.csr_matrix, written: list[Path]) -> dict[str, Any]:
    """Write the counts (rows are chunks) as a postings file; its record for the manifest."""
    by_term = counts.tocsc()
    parts = (
        by_term.indptr.astype(np.int64),
        by_term.indices.astype(np.int32),
        by_term.data.astype(np.float32),
        np.asarray(counts.sum(axis=1), dtype=np.float32).ravel(),
    )
    path = folder / postings_file(tag)
    written.append(path)
    with path.open("wb") as fh:
        for part in parts:
            fh.write(np.ascontiguousarray(part).tobytes())
    fsync(path)
    return {
        "file": path.name,
        "rows": int(counts.shape[0]),
        "terms": int(counts.shape[1]),
        "nnz": int(by_term.nnz),
        "sha256": sha256(path),
    }


def read_postings(folder: Path, record: dict[str, Any]) -> Postings:
    """The postings a manifest names, checked against its checksum, memory-mapped."""
    path = folder / str(record["file"])
    if not path.is_file():
        raise FileNotFoundError(path)  # a writer replaced it while we read: try again
    rows, terms, nnz = int(record["rows"]), int(record["terms"]), int(record["nnz"])
    size = 8 * (terms + 1) + 8 * nnz + 4 * rows
    if path.stat().st_size != size or sha256(path) != record["sha256"]:
        raise IndexCorruptError(
            f"The index file {path} is missing or does not match its checksum; "
            f"rebuild it with: rag ingest PATH --index {folder} --rebuild."
        )
    mapped = np.memmap(path, mode="r", dtype=np.uint8)
    ends = np.cumsum([8 * (terms + 1), 4 * nnz, 4 * nnz, 4 * rows])
    starts = [0, *ends[:-1]]
    kinds = (np.int64, np.int32, np.float32, np.float32)
    parts = [mapped[s:e].view(k) for s, e, k in zip(starts, ends, kinds, strict=True)]
    return Postings(*parts)
