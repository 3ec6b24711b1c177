"""The chunk table an opened index holds: rows across segments, as the chunks written."""

from __future__ import annotations

import numpy as np
import pytest

from rag.storage.rows import ChunkTable, SavedChunks
from rag.types import Chunk, Document

TEXT = "Alpha beta. Gamma delta. Epsilon zeta. Eta theta."


def _saved(doc: Document, spans: list[tuple[int, int]], first: int) -> SavedChunks:
    return SavedChunks(
        [f"{doc.doc_id}:{first + i}" for i in range(len(spans))],
        [doc] * len(spans),
        np.array([s for s, _ in spans], dtype=np.int64),
        np.array([e for _, e in spans], dtype=np.int64),
    )


def test_rows_across_saved_and_new_segments_are_the_chunks_in_order():
    doc = Document("d1", "a.txt", TEXT)
    spans = [(0, 11), (12, 24), (25, 38), (39, 50)]
    written = [Chunk(f"d1:{i}", "d1", s, e, TEXT[s:e]) for i, (s, e) in enumerate(spans)]
    fresh = [Chunk("d2:0", "d2", 0, 11, "Iota kappa."), Chunk("d2:1", "d2", 12, 22, "Lambda mu.")]
    table = ChunkTable([_saved(doc, spans[:3], 0), [], _saved(doc, spans[3:], 3), fresh])

    expected = [*written, *fresh]
    assert len(table) == 6 and bool(table)
    assert [table[row] for row in range(6)] == expected == list(table)
    assert [c.text for c in table] == [
        "Alpha beta.",
        "Gamma delta.",
        "Epsilon zeta.",
        "Eta theta.",
        "Iota kappa.",
        "Lambda mu.",
    ]
    assert table[-1] == fresh[-1] and table[2:4] == written[2:4]
    assert table.starts().tolist() == [0, 12, 25, 39, 0, 12]
    assert table.doc_ids() == ["d1"] * 4 + ["d2"] * 2
    with pytest.raises(IndexError):
        table[6]
    assert len(ChunkTable()) == 0 and not ChunkTable() and ChunkTable().starts().size == 0
