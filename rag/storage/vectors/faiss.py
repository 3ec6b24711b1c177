"""FAISS vector store: exact search while the index is small, an IVF index past a size
(``ann_threshold``) with its candidates re-scored exactly. The exact vectors stay in their
segments' memory-mapped files, read row by row where a search needs them: an index opened
for questions holds the IVF codes, not a second copy of every vector."""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from rag.storage.files import sha256
from rag.storage.vectors import store_file

# Measured with `rag bench` on a 2-core CPU (docs/scaling.md): exact search over 50,000
# vectors takes about 5 ms; past that the IVF index keeps retrieval flat.
ANN_THRESHOLD = 50_000
NPROBE = 64
# ... and at least this share of its lists: at 335,762 real chunks (2,048 lists) 64 lists
# found 0.92 of exact search's top 10, 256 found 0.98, for 1.2 ms a question (docs/scaling.md).
PROBED_SHARE = 8
# Filters that leave fewer rows than this are searched exactly over just those rows.
EXACT_SUBSET = 20_000


def ivf_lists(rows: int) -> int:
    """About 4·√n inverted lists, a power of two: 1,024 at 65,000 rows, 2,048 at 260,000."""
    return int(2 ** round(math.log2(max(64, 4 * math.sqrt(rows)))))


@dataclass(frozen=True)
class FaissOptions:
    ann_threshold: int = ANN_THRESHOLD  # rows from which an IVF index answers searches
    nprobe: int = NPROBE  # the fewest inverted lists searched per question (see ``probes``)


class FaissVectors:
    kind = "faiss"
    Options = FaissOptions

    def __init__(
        self,
        dimension: int,
        folder: Path,
        record: dict[str, Any] | None = None,
        options: FaissOptions | None = None,
    ):
        options = options or FaissOptions()
        self.dimension = dimension
        self.folder = folder
        self.ann_threshold = int(options.ann_threshold)
        self.nprobe = int(options.nprobe)
        self._blocks: list[np.ndarray] = []
        self._matrix: np.ndarray | None = np.zeros((0, dimension), dtype=np.float32)
        self._starts = np.zeros(1, dtype=np.int64)
        self.ntotal = 0
        self.ann: faiss.Index | None = None
        self.trained_on = 0
        self._saved = (record or {}).get("ann")

    # -- contents ------------------------------------------------------------------------

    @property
    def matrix(self) -> np.ndarray:
        """Every vector in one array: for building the IVF index, never on the question path."""
        if self._matrix is None:
            self._matrix = np.ascontiguousarray(np.concatenate(self._blocks), dtype=np.float32)
            self._blocks = [self._matrix]
            self._starts = np.zeros(1, dtype=np.int64)
        return self._matrix

    def _index_blocks(self) -> None:
        sizes = np.array([len(b) for b in self._blocks], dtype=np.int64)
        self._starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)

    def rows(self, rows: np.ndarray) -> np.ndarray:
        """The vectors of these rows, read from the blocks they sit in (only those pages)."""
        out = np.empty((len(rows), self.dimension), dtype=np.float32)
        if not len(rows):
            return out
        which = np.searchsorted(self._starts, rows, side="right") - 1
        for b in np.unique(which):
            here = which == b
            out[here] = self._blocks[b][rows[here] - self._starts[b]]
        return out

    def sync(self, blocks: list[np.ndarray], renumbered: bool = False) -> None:
        self._blocks = [np.asarray(b, dtype=np.float32) for b in blocks if len(b)] or [
            np.zeros((0, self.dimension), dtype=np.float32)
        ]
        self._matrix = None
        self._index_blocks()
        self.ntotal = sum(len(b) for b in self._blocks)
        if renumbered:
            # Rows moved (a removal): keep the learnt lists, refill them.
            if self.ann is not None:
                self.ann.reset()
                self.ann.add(self.matrix)
            self._saved = None
            return
        saved, self._saved = self._saved, None
        self.ann = None
        if saved and self.ntotal >= saved["rows"]:
            with contextlib.suppress(OSError, RuntimeError):
                path = self.folder / saved["file"]
                if sha256(path) == saved["sha256"]:
                    self.ann = faiss.read_index(str(path))
                    self.trained_on = saved["trained_on"]
        if self.ann is not None and self.ann.ntotal < self.ntotal:
            # Batches committed after it was saved.
            self.ann.add(self.rows(np.arange(self.ann.ntotal, self.ntotal, dtype=np.int64)))
        self._saved = saved if self.ann is not None else None

    def append(self, vectors: np.ndarray) -> None:
        if not len(vectors):
            return
        self._blocks.append(np.ascontiguousarray(vectors, dtype=np.float32))
        self._matrix = None
        self._index_blocks()
        self.ntotal += len(vectors)
        if self.ann is not None:
            self.ann.add(self._blocks[-1])

    def vectors_of(self, rows: np.ndarray) -> np.ndarray:
        return self.rows(rows)

    # -- search --------------------------------------------------------------------------

    def search(
        self, query: np.ndarray, n: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        if self.ann is None or (allowed is not None and len(allowed) <= EXACT_SUBSET):
            return self.exact(query, n, allowed)
        params = faiss.SearchParametersIVF(nprobe=self.probes)
        if allowed is not None:
            params.sel = faiss.IDSelectorBatch(allowed.astype(np.int64))
        _, ids = self.ann.search(query.reshape(1, -1), max(n, 2 * n), params=params)
        candidates = ids[0][ids[0] >= 0]
        # The IVF index stores 8-bit codes: re-score its candidates with the exact vectors.
        scores = self.rows(candidates) @ query
        order = np.argsort(-scores, kind="stable")[:n]
        return scores[order], candidates[order]

    @property
    def probes(self) -> int:
        """Inverted lists a question searches: ``nprobe``, or an eighth of the lists when
        that is more, so a larger index (more, smaller lists) finds as much as a small one."""
        lists = int(self.ann.nlist) if self.ann is not None else 0
        return max(self.nprobe, lists // PROBED_SHARE)

    def exact(
        self, query: np.ndarray, n: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        rows = allowed
        if rows is None:  # block by block: no copy of the whole
            scores = np.concatenate([np.asarray(b) @ query for b in self._blocks])
        else:
            scores = self.rows(rows) @ query
        n = min(n, len(scores))
        if n <= 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        top = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else np.arange(len(scores))
        top = top[np.lexsort((top, -scores[top]))]
        found = top if rows is None else rows[top]
        return scores[top], found.astype(np.int64)

    # -- the approximate index -------------------------------------------------------------

    def build_ann(self) -> None:
        """Train an IVF index (8-bit scalar codes) on a sample of the vectors and add them all."""
        lists = ivf_lists(self.ntotal)
        rng = np.random.default_rng(0)
        sample = min(self.ntotal, max(40 * lists, 20_000))
        train = self.matrix[np.sort(rng.choice(self.ntotal, sample, replace=False))]
        ann = faiss.index_factory(self.dimension, f"IVF{lists},SQ8", faiss.METRIC_INNER_PRODUCT)
        ann.train(train)
        ann.add(self.matrix)
        self.ann, self.trained_on = ann, self.ntotal

    def persist(self, folder: Path, tag: str) -> dict[str, Any]:
        record: dict[str, Any] = {
            "kind": self.kind,
            "options": {"ann_threshold": self.ann_threshold, "nprobe": self.nprobe},
            "rows": self.ntotal,
            "ann": None,
        }
        if self.ntotal < self.ann_threshold:
            self.ann = None
            return record
        stale = self.ann is None or self.ann.ntotal != self.ntotal or self.ntotal > 2 * self.trained_on
        if stale:
            # Retrain once the index has doubled since the lists were learnt.
            self.build_ann()
        elif self._saved and self._saved["rows"] == self.ntotal:
            record["ann"] = self._saved
            return record
        name = store_file(tag)
        faiss.write_index(self.ann, str(folder / name))
        self._saved = {
            "file": name,
            "rows": self.ntotal,
            "trained_on": self.trained_on,
            "lists": int(self.ann.nlist),
            "sha256": sha256(folder / name),
        }
        record["ann"] = self._saved
        return record

    def files(self) -> set[str]:
        return {self._saved["file"]} if self._saved else set()
