"""The chunk table of an opened index, held as columns: a ``Chunk`` is made when a row is
asked for, so opening 300,000 chunks makes no 300,000 objects (docs/scaling.md)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from typing import overload

import numpy as np

from rag.types import Chunk, Document


class _Rows(Sequence[Chunk]):
    """Rows made one at a time: a slice is the list of its rows."""

    __slots__ = ()

    @overload
    def __getitem__(self, row: int) -> Chunk: ...
    @overload
    def __getitem__(self, row: slice) -> list[Chunk]: ...
    def __getitem__(self, row: int | slice) -> Chunk | list[Chunk]:
        if isinstance(row, slice):
            return [self._row(r) for r in range(*row.indices(len(self)))]
        return self._row(int(row))

    def _row(self, row: int) -> Chunk:
        raise NotImplementedError


class SavedChunks(_Rows):
    """A saved segment's chunks: their ids, the documents they are cut from, and offsets."""

    __slots__ = ("ids", "owners", "starts", "ends")

    def __init__(self, ids: list[str], owners: list[Document], starts: np.ndarray, ends: np.ndarray):
        self.ids, self.owners, self.starts, self.ends = ids, owners, starts, ends

    def __len__(self) -> int:
        return len(self.ids)

    def _row(self, row: int) -> Chunk:
        owner, start, end = self.owners[row], int(self.starts[row]), int(self.ends[row])
        return Chunk.within(self.ids[row], owner.doc_id, start, end, owner.text)

    def __iter__(self) -> Iterator[Chunk]:
        for chunk_id, owner, start, end in zip(
            self.ids, self.owners, self.starts.tolist(), self.ends.tolist(), strict=True
        ):
            yield Chunk.within(chunk_id, owner.doc_id, start, end, owner.text)


def starts_of(chunks: Sequence[Chunk]) -> np.ndarray:
    """Each chunk's start offset, without making the chunks of a saved segment."""
    if isinstance(chunks, SavedChunks):
        return chunks.starts
    return np.fromiter((c.start for c in chunks), np.int64, len(chunks))


def doc_ids_of(chunks: Sequence[Chunk]) -> list[str]:
    """Each chunk's document id, without making the chunks of a saved segment."""
    if isinstance(chunks, SavedChunks):
        return [owner.doc_id for owner in chunks.owners]
    return [c.doc_id for c in chunks]


class ChunkTable(_Rows):
    """Every segment's chunks in row order, looked up by row without one joined list."""

    def __init__(self, parts: Iterable[Sequence[Chunk]] = ()):
        self._parts: list[Sequence[Chunk]] = []
        self._ends: list[int] = []
        for part in parts:
            self.extend(part)

    def extend(self, part: Sequence[Chunk]) -> None:
        if len(part):
            self._parts.append(part)
            self._ends.append(len(self) + len(part))

    def __len__(self) -> int:
        return self._ends[-1] if self._ends else 0

    def _row(self, row: int) -> Chunk:
        if row < 0:
            row += len(self)
        if not 0 <= row < len(self):
            raise IndexError(f"chunk row {row} out of range")
        part = bisect_right(self._ends, row)
        return self._parts[part][row - (self._ends[part - 1] if part else 0)]

    def __iter__(self) -> Iterator[Chunk]:
        return chain.from_iterable(self._parts)

    def starts(self) -> np.ndarray:
        """Every row's start offset."""
        return np.concatenate([starts_of(p) for p in self._parts]) if self._parts else np.zeros(0, np.int64)

    def doc_ids(self) -> list[str]:
        """Every row's document id."""
        return [d for p in self._parts for d in doc_ids_of(p)]
