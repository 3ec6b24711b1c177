"""The on-disk index: manifest, incremental re-ingest, removal, refusals, checksums."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rag.errors import IndexCorruptError, IndexNotFoundError, InputError, ModelMismatchError
from rag.ingest import ingest, open_or_create, remove_documents
from rag.settings import SEEDS_DIR
from rag.store import Index


class CountingEmbedder:
    """The real embedder, counting the texts it is asked to embed."""

    def __init__(self, inner):
        self.inner = inner
        self.name = inner.name
        self.dimension = inner.dimension
        self.embedded = 0

    def embed(self, texts, progress=False):
        self.embedded += len(texts)
        return self.inner.embed(texts, progress)

    def embed_query(self, text):
        return self.inner.embed_query(text)


@pytest.fixture
def corpus(tmp_path) -> Path:
    folder = tmp_path / "statements"
    shutil.copytree(SEEDS_DIR, folder)
    return folder


def _ingest(folder: Path, index_dir: Path, embedder, **kw):
    index = open_or_create(index_dir, embedder, 800, 200)
    return index, ingest([folder], index, embedder, folder.parent, progress=False, **kw)


def test_manifest_records_model_dimension_chunking_and_documents(seed_index_dir):
    manifest = json.loads((seed_index_dir / "manifest.json").read_text())
    assert manifest["embedding_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert manifest["dimension"] == 384
    assert manifest["normalized"] is True
    assert manifest["chunking"] == {"size": 800, "overlap": 200}
    assert manifest["counts"]["documents"] == 2
    assert set(manifest["checksums"]) == {"documents.jsonl", "chunks.jsonl", "vectors.faiss"}
    # Nothing in the folder is a pickle: JSON text and FAISS's own binary format only.
    for path in seed_index_dir.iterdir():
        assert not path.read_bytes().startswith(b"\x80"), f"{path.name} looks like a pickle"


def test_reopened_index_chunks_are_exact_spans(seed_index_dir):
    index = Index.open(seed_index_dir)
    assert index.vectors.ntotal == len(index.chunks) > 0
    for chunk in index.chunks:
        assert index.documents[chunk.doc_id].text[chunk.start : chunk.end] == chunk.text


def test_reingesting_unchanged_files_embeds_nothing(corpus, tmp_path, embedder):
    counting = CountingEmbedder(embedder)
    index, first = _ingest(corpus, tmp_path / "idx", counting)
    assert len(first.added) == 2 and counting.embedded == len(index.chunks)
    before = counting.embedded
    index, second = _ingest(corpus, tmp_path / "idx", counting)
    assert counting.embedded == before
    assert len(second.unchanged) == 2 and not second.changed


def test_changed_file_replaces_its_old_chunks(corpus, tmp_path, embedder):
    index, _ = _ingest(corpus, tmp_path / "idx", embedder)
    news = corpus / "000_f2b96bbd7d06bdb1.txt"
    old_id = next(d for d in index.documents.values() if d.source.endswith(news.name)).doc_id
    news.write_text(news.read_text() + "\nThe meeting ended with a joint press statement.")
    counting = CountingEmbedder(embedder)
    index, report = _ingest(corpus, tmp_path / "idx", counting)
    assert len(report.replaced) == 1 and len(report.unchanged) == 1
    assert old_id not in index.documents
    assert all(c.doc_id != old_id for c in index.chunks)
    assert len(index.documents) == 2
    new = report.replaced[0]
    assert counting.embedded == sum(1 for c in index.chunks if c.doc_id == new.doc_id)
    reopened = Index.open(tmp_path / "idx")
    assert reopened.vectors.ntotal == len(reopened.chunks)
    assert any("joint press statement" in c.text for c in reopened.chunks)


def test_removed_file_is_dropped_with_prune_and_by_name(corpus, tmp_path, embedder):
    _ingest(corpus, tmp_path / "idx", embedder)
    (corpus / "000_f2b96bbd7d06bdb1.txt").unlink()
    index, report = _ingest(corpus, tmp_path / "idx", embedder, prune=True)
    assert [d.source for d in report.removed] == ["statements/000_f2b96bbd7d06bdb1.txt"]
    assert len(Index.open(tmp_path / "idx").documents) == 1
    remove_documents(index, ["statements/003_3b78ed55776d1c96.txt"])
    reopened = Index.open(tmp_path / "idx")
    assert not reopened.documents and reopened.vectors.ntotal == 0
    with pytest.raises(InputError, match="No document 'nope'"):
        remove_documents(reopened, ["nope"])


def test_duplicate_text_under_another_name_is_not_indexed_twice(corpus, tmp_path, embedder):
    shutil.copy(corpus / "000_f2b96bbd7d06bdb1.txt", corpus / "copy_of_news.txt")
    index, report = _ingest(corpus, tmp_path / "idx", embedder)
    assert len(index.documents) == 2
    assert [d.source for d, _ in report.duplicates] == ["statements/copy_of_news.txt"]


def test_index_built_with_another_model_is_refused(seed_index_dir):
    with pytest.raises(ModelMismatchError, match="was built with the embedding model"):
        Index.open(seed_index_dir, model="sentence-transformers/all-mpnet-base-v2")


def test_damaged_index_file_is_detected_by_checksum(seed_index_dir, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(seed_index_dir, copy)
    with (copy / "chunks.jsonl").open("a") as fh:
        fh.write('{"chunk_id": "x"}\n')
    with pytest.raises(IndexCorruptError, match="does not match its checksum.*--rebuild"):
        Index.open(copy)


def test_missing_index_is_a_clear_error(tmp_path):
    with pytest.raises(IndexNotFoundError, match="rag ingest PATH --index"):
        Index.open(tmp_path / "none")


def test_changed_chunking_asks_for_a_rebuild(seed_index_dir, embedder):
    with pytest.raises(InputError, match="--rebuild"):
        open_or_create(seed_index_dir, embedder, 500, 100)
