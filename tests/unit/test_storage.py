"""The index on disk, with an in-memory vector store and a keyword embedder: round trips,
manifest validation, what cleanup may touch, and rebuilding a lost manifest."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rag.errors import IndexCorruptError, InputError
from rag.splitting import split_document
from rag.storage import Index, check_new_index_folder
from rag.storage import manifest as mf
from rag.storage.repair import repair_manifest
from rag.types import Document

TEXTS = {
    "a": "Reform of the Council.\n\nThe veto must be limited. Africa needs seats on the Council.",
    "b": "Security sector reform needs funding.\n\nPeacekeeping and climate are linked.",
    "c": "China supports the reform of the Security Council.",
}


def _index(path, embedder, **kw) -> Index:
    index = Index(path, embedder.name, embedder.dimension, {"size": 60, "overlap": 20}, "memory")
    index.start_afresh()
    return index


def _add(index: Index, embedder, *names: str) -> None:
    for name in names:
        doc = Document(name * 8, f"{name}.txt", TEXTS[name], {"title": name})
        chunks = split_document(doc, 60, 20)
        index.add_batch([doc], chunks, embedder.embed([c.text for c in chunks]))
        index.commit()


def test_a_committed_index_reopens_with_the_same_documents_chunks_and_search(tmp_path, embedder):
    index = _index(tmp_path / "idx", embedder)
    _add(index, embedder, "a", "b")
    again = Index.open(tmp_path / "idx")
    assert sorted(again.documents) == sorted(index.documents)
    assert [(c.chunk_id, c.start, c.end, c.text) for c in again.chunks] == [
        (c.chunk_id, c.start, c.end, c.text) for c in index.chunks
    ]
    for c in again.chunks:
        assert again.documents[c.doc_id].text[c.start : c.end] == c.text
    query = embedder.embed_query("veto")
    assert again.search(query, 1)[1].tolist() == index.search(query, 1)[1].tolist()
    assert "veto" in again.chunks[int(again.search(query, 1)[1][0])].text


@pytest.mark.parametrize(
    "damage, says",
    [
        ({"store": None}, "'store' is missing"),
        ({"segments": "seg-000001"}, "'segments' is missing or not a list"),
        ({"segments": [{"name": "../../etc/passwd", "checksums": {}}]}, "is not of the form seg-NNNNNN"),
        ({"dimension": True}, "'dimension' is missing or not a int"),
        ({"incomplete": {"doc": "many"}}, "'incomplete' is not a table"),
    ],
)
def test_a_manifest_with_a_missing_key_or_wrong_type_is_one_sentence(tmp_path, embedder, damage, says):
    index = _index(tmp_path / "idx", embedder)
    _add(index, embedder, "a")
    manifest = json.loads((tmp_path / "idx" / "manifest.json").read_text())
    for key, value in damage.items():
        manifest.pop(key) if value is None else manifest.__setitem__(key, value)
    (tmp_path / "idx" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexCorruptError, match="is damaged") as caught:
        Index.open(tmp_path / "idx")
    assert says in str(caught.value) and "\n" not in str(caught.value)


def test_a_folder_with_other_files_is_refused_and_segments_without_a_manifest_are_damage(tmp_path):
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / ".bashrc").write_text("mine")
    with pytest.raises(InputError, match="is not empty and holds no index"):
        check_new_index_folder(tmp_path / "home")
    (tmp_path / "lost").mkdir()
    (tmp_path / "lost" / "seg-000001.vectors.npy").write_text("x")
    with pytest.raises(IndexCorruptError, match="rag verify --repair"):
        check_new_index_folder(tmp_path / "lost")
    check_new_index_folder(tmp_path / "new")  # a new or empty folder is fine
    (tmp_path / "empty").mkdir()
    check_new_index_folder(tmp_path / "empty")


def test_a_commit_deletes_only_what_a_manifest_or_journal_named(tmp_path, embedder):
    path = tmp_path / "idx"
    index = _index(path, embedder)
    _add(index, embedder, "a")
    strangers = {".env": "S", "seg-notes.txt": "m", "ann-mine.faiss": "m", "seg-000099.chunks.jsonl": "x"}
    for name, text in strangers.items():
        (path / name).write_text(text)
    # A killed writer's files, named by its journal before it wrote them.
    mf.write_journal(path, {"seg-000042.chunks.jsonl", "seg-000042.vectors.npy"})
    (path / "seg-000042.chunks.jsonl").write_text("half")
    _add(index, embedder, "b")
    index.remove({"a" * 8})
    index.save()
    assert all((path / n).read_text() == t for n, t in strangers.items())
    assert not (path / "seg-000042.chunks.jsonl").exists() and not (path / mf.JOURNAL).exists()
    named = mf.referenced_files(json.loads((path / "manifest.json").read_text()))
    ours = {p.name for p in path.iterdir()} - set(strangers) - {mf.MANIFEST, mf.LOCK}
    assert ours == named


def test_a_lost_manifest_is_rebuilt_from_segment_records_without_removed_documents(tmp_path, embedder):
    path = tmp_path / "idx"
    index = _index(path, embedder)
    _add(index, embedder, "a", "b", "c")
    index.remove({"b" * 8})
    index.commit()
    before = sorted(index.documents), [c.chunk_id for c in index.chunks]
    (path / "manifest.json").unlink()
    with pytest.raises(IndexCorruptError, match="no manifest.json"):
        Index.open(path)
    report = repair_manifest(path)
    again = Index.open(path)
    assert (sorted(again.documents), [c.chunk_id for c in again.chunks]) == before
    assert report.documents == 2 and not report.left_out
    with pytest.raises(InputError, match="nothing to repair"):
        repair_manifest(path)


def test_a_document_saved_in_part_is_recorded_as_incomplete(tmp_path, embedder):
    path = tmp_path / "idx"
    index = _index(path, embedder)
    doc = Document("d" * 16, "d.txt", TEXTS["a"] + "\n\n" + TEXTS["b"], {})
    chunks = split_document(doc, 60, 20)
    first = chunks[:2]
    index.add_batch([doc], first, embedder.embed([c.text for c in first]), {doc.doc_id: 2})
    index.commit()
    assert Index.open(path).incomplete == {doc.doc_id: 2}
    rest = chunks[2:]
    index.add_batch([], rest, embedder.embed([c.text for c in rest]), {doc.doc_id: None})
    index.commit()
    again = Index.open(path)
    assert not again.incomplete and len(again.chunks) == len(chunks)
    assert np.allclose(again.vectors_of(np.arange(len(chunks))), embedder.embed([c.text for c in chunks]))
