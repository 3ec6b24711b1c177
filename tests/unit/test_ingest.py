"""Ingestion with a keyword embedder: batches bound segments even inside one document, an
interrupted run continues where it stopped, unchanged files cost nothing."""

from __future__ import annotations

import pytest

from rag.ingest import ingest, open_or_create
from rag.loading import load_file
from rag.splitting import split_document
from rag.storage import Index
from tests.unit.fakes import Interrupted, KeywordEmbedder, StopsAfter

PARAGRAPH = (
    "The reform of the Security Council is the priority. Africa must have seats. The veto "
    "should be limited. Peacekeeping needs sustained funding from every member."
)


def _open(path, embedder):
    return open_or_create(path, embedder, 200, 50, store="memory")


def test_a_long_document_is_saved_a_batch_at_a_time_and_continues_after_an_interruption(tmp_path):
    big = tmp_path / "long.txt"
    big.write_text("\n\n".join(f"Part {i}. {PARAGRAPH}" for i in range(30)))
    whole = split_document(load_file(big), 200, 50)
    stopping = StopsAfter(3)
    with pytest.raises(Interrupted):
        ingest([big], _open(tmp_path / "idx", stopping), stopping, tmp_path, progress=False, batch=8)
    kept = Index.open(tmp_path / "idx")
    assert [len(b.chunks) for b in kept.blocks] == [8, 8, 8]
    assert list(kept.incomplete.values()) == [24]
    embedder = KeywordEmbedder()
    report = ingest([big], _open(tmp_path / "idx", embedder), embedder, tmp_path, progress=False, batch=8)
    assert len(report.continued) == 1 and embedder.embedded == len(whole) - 24
    final = Index.open(tmp_path / "idx")
    assert not final.incomplete
    assert [(c.start, c.end) for c in final.chunks] == [(c.start, c.end) for c in whole]


def test_unchanged_files_cost_nothing_and_a_changed_one_replaces_its_chunks(tmp_path):
    folder = tmp_path / "statements"
    folder.mkdir()
    (folder / "one.txt").write_text(PARAGRAPH)
    (folder / "two.txt").write_text("China supports climate funding for Africa.")
    embedder = KeywordEmbedder()
    ingest([folder], _open(tmp_path / "idx", embedder), embedder, tmp_path, progress=False)
    first = embedder.embedded
    again = ingest([folder], _open(tmp_path / "idx", embedder), embedder, tmp_path, progress=False)
    assert embedder.embedded == first and len(again.unchanged) == 2
    (folder / "two.txt").write_text("China supports climate funding for small island states.")
    changed = ingest([folder], _open(tmp_path / "idx", embedder), embedder, tmp_path, progress=False)
    assert len(changed.replaced) == 1
    texts = [d.text for d in Index.open(tmp_path / "idx").documents.values()]
    assert any("island" in t for t in texts) and not any("for Africa." in t for t in texts)
