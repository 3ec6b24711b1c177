"""The index on each store (an index folder with FAISS; the whole index in Qdrant, in
local mode): incremental re-ingest, replacement, removal, refusals; and for the folder its
manifest, append-only segments, checksums, search against exact scores."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from rag.errors import IndexCorruptError, IndexNotFoundError, InputError, ModelMismatchError
from rag.ingest import ingest, open_or_create, remove_documents
from rag.loading import load_documents
from rag.settings import SEEDS_DIR
from rag.splitting import split_document
from rag.storage import Index, files
from rag.storage.qdrant import DENSE, Collections, QdrantIndex, chunk_of, locate

STORES = ["faiss", "qdrant"]


class Stored:
    """What an index holds, read back the way its store keeps it: the documents, every
    chunk in the order it was committed, and each chunk's vector."""

    def __init__(self, path: Path, model: str | None = None):
        place = locate(path)
        if place is None:
            index = Index.open(path, model=model)
            self.documents, self.chunks = index.documents, index.chunks
            self.vectors = index.vectors_of(np.arange(len(index.chunks)))
            self.incomplete = index.incomplete
            return
        writer = QdrantIndex.open(place, model)
        self.documents, self.incomplete = writer.documents, writer.incomplete
        db = Collections(place)
        points, offset = [], None
        while True:
            got, offset = db.client.scroll(
                place.collection, limit=512, offset=offset, with_payload=True, with_vectors=[DENSE]
            )
            points += got
            if offset is None:
                break
        points.sort(key=lambda p: (p.payload["generation"], p.payload["seq"]))
        self.chunks = [chunk_of(p.payload) for p in points]
        self.vectors = np.array([p.vector[DENSE] for p in points], dtype=np.float32).reshape(-1, 384)
        full = db.documents_by_id(list(self.documents))
        self.documents = full


@pytest.fixture(params=STORES)
def store(request) -> str:
    return request.param


@pytest.fixture(scope="module", params=STORES)
def seeds_on(request, tmp_path_factory, embedder) -> Path:
    """The seed statements indexed on each store."""
    path = tmp_path_factory.mktemp(f"seeds-{request.param}") / "index"
    index = open_or_create(path, embedder, 800, 200, store=request.param)
    ingest([SEEDS_DIR], index, embedder, SEEDS_DIR.parent, progress=False)
    return path


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


def _ingest(folder: Path, index_dir: Path, embedder, store: str = "faiss", **kw):
    index = open_or_create(index_dir, embedder, 800, 200, store=store)
    return index, ingest([folder], index, embedder, folder.parent, progress=False, **kw)


def test_manifest_records_model_dimension_chunking_and_documents(seed_index_dir):
    seeds_on = seed_index_dir
    manifest = json.loads((seeds_on / "manifest.json").read_text())
    assert manifest["embedding_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert manifest["dimension"] == 384
    assert manifest["normalized"] is True
    assert manifest["chunking"] == {"size": 800, "overlap": 200}
    assert manifest["counts"]["documents"] == 2
    assert manifest["counts"]["chunks"] == sum(s["chunks"] for s in manifest["segments"])
    for segment in manifest["segments"]:
        assert set(segment["checksums"]) == {"documents.jsonl", "chunks.jsonl", "vectors.npy", "terms.npz"}
    # Nothing in the folder is a pickle: JSON text, NumPy arrays and the engines' own formats.
    for path in seeds_on.rglob("*"):
        if path.is_file():
            assert not path.read_bytes().startswith(b"\x80"), f"{path.name} looks like a pickle"


def test_reopened_index_chunks_are_exact_spans(seeds_on):
    index = Stored(seeds_on)
    assert len(index.vectors) == len(index.chunks) == 13
    for chunk in index.chunks:
        assert index.documents[chunk.doc_id].text[chunk.start : chunk.end] == chunk.text


def test_search_matches_exact_inner_products(seed_index_dir, embedder):
    index = Index.open(seed_index_dir)
    query = embedder.embed_query("Security Council reform and the veto")
    exact = index.vectors_of(np.arange(len(index.chunks))) @ query
    scores, rows = index.search(query, 5)
    assert list(rows) == list(np.argsort(-exact)[:5])
    assert np.allclose(scores, exact[rows], atol=1e-5)
    allowed = np.array([1, 3, 4])
    scores, rows = index.search(query, 10, allowed)
    assert sorted(rows) == [1, 3, 4] and np.allclose(scores, exact[rows], atol=1e-5)


def test_reingesting_unchanged_files_embeds_nothing(corpus, tmp_path, embedder, store):
    counting = CountingEmbedder(embedder)
    index, first = _ingest(corpus, tmp_path / "idx", counting, store)
    assert len(first.added) == 2 and counting.embedded == index.chunk_total == len(
        Stored(tmp_path / "idx").chunks
    )
    before = counting.embedded
    index, second = _ingest(corpus, tmp_path / "idx", counting, store)
    assert counting.embedded == before
    assert len(second.unchanged) == 2 and not second.changed


def test_new_files_append_a_segment_and_leave_saved_ones_untouched(corpus, tmp_path, embedder):
    store = "faiss"
    moved = tmp_path / "later.txt"
    shutil.move(corpus / "003_3b78ed55776d1c96.txt", moved)
    _ingest(corpus, tmp_path / "idx", embedder, store)
    before = {p.name: p.read_bytes() for p in (tmp_path / "idx").glob("seg-*")}
    shutil.move(moved, corpus / "003_3b78ed55776d1c96.txt")
    index, report = _ingest(corpus, tmp_path / "idx", embedder, store)
    assert len(report.added) == 1 and len(report.unchanged) == 1
    after = {p.name: p.read_bytes() for p in (tmp_path / "idx").glob("seg-*")}
    assert all(after[name] == data for name, data in before.items())
    assert len(after) == 2 * len(before)
    assert Index.open(tmp_path / "idx").vectors.ntotal == len(index.chunks)


def test_changed_file_replaces_its_old_chunks(corpus, tmp_path, embedder, store):
    index, _ = _ingest(corpus, tmp_path / "idx", embedder, store)
    news = corpus / "000_f2b96bbd7d06bdb1.txt"
    old_id = next(d for d in index.documents.values() if d.source.endswith(news.name)).doc_id
    news.write_text(news.read_text() + "\nThe meeting ended with a joint press statement.")
    counting = CountingEmbedder(embedder)
    index, report = _ingest(corpus, tmp_path / "idx", counting, store)
    assert len(report.replaced) == 1 and len(report.unchanged) == 1
    assert old_id not in index.documents
    reopened = Stored(tmp_path / "idx")
    assert all(c.doc_id != old_id for c in reopened.chunks)
    assert len(reopened.documents) == 2
    new = report.replaced[0]
    assert counting.embedded == sum(1 for c in reopened.chunks if c.doc_id == new.doc_id)
    assert any("joint press statement" in c.text for c in reopened.chunks)
    for chunk in reopened.chunks:
        assert reopened.documents[chunk.doc_id].text[chunk.start : chunk.end] == chunk.text
    # Rows moved up when the old chunks went: every row's vector is still its own chunk's.
    assert np.allclose(reopened.vectors, embedder.embed([c.text for c in reopened.chunks]), atol=1e-4)


def test_removed_file_is_dropped_with_prune_and_by_name(corpus, tmp_path, embedder, store):
    _ingest(corpus, tmp_path / "idx", embedder, store)
    (corpus / "000_f2b96bbd7d06bdb1.txt").unlink()
    index, report = _ingest(corpus, tmp_path / "idx", embedder, store, prune=True)
    assert [d.source for d in report.removed] == ["statements/000_f2b96bbd7d06bdb1.txt"]
    assert len(Stored(tmp_path / "idx").documents) == 1
    remove_documents(index, ["statements/003_3b78ed55776d1c96.txt"])
    reopened = Stored(tmp_path / "idx")
    assert not reopened.documents and not reopened.chunks
    with pytest.raises(InputError, match="No document 'nope'"):
        remove_documents(index, ["nope"])


def test_duplicate_text_under_another_name_is_not_indexed_twice(corpus, tmp_path, embedder, store):
    shutil.copy(corpus / "000_f2b96bbd7d06bdb1.txt", corpus / "copy_of_news.txt")
    index, report = _ingest(corpus, tmp_path / "idx", embedder, store)
    assert len(index.documents) == 2
    assert [d.source for d, _ in report.duplicates] == ["statements/copy_of_news.txt"]


def test_index_built_with_another_model_is_refused(seeds_on):
    with pytest.raises(ModelMismatchError, match="was built with the embedding model"):
        Stored(seeds_on, model="sentence-transformers/all-mpnet-base-v2")


@pytest.mark.parametrize("elsewhere", [False, True], ids=["hashed here", "hashed by a child process"])
@pytest.mark.parametrize("part", ["chunks.jsonl", "vectors.npy"])
def test_damaged_index_file_is_detected_by_checksum(seed_index_dir, tmp_path, monkeypatch, part, elsewhere):
    """Damage is found however the files are hashed: here, for a small index, or by a
    child process while this one parses (a large one), even in a file the opening
    never parses (a vector flipped in place)."""
    if elsewhere:
        monkeypatch.setattr(files, "_ELSEWHERE", 0)

        def not_here(path):
            raise AssertionError(f"{path} was hashed in this process")

        monkeypatch.setattr(files, "sha256", not_here)
    copy = tmp_path / "copy"
    shutil.copytree(seed_index_dir, copy)
    damaged = copy / f"seg-000001.{part}"
    if part == "chunks.jsonl":
        with damaged.open("a") as fh:
            fh.write('{"chunk_id": "x"}\n')
    else:
        data = bytearray(damaged.read_bytes())
        data[-3] ^= 0x40
        damaged.write_bytes(bytes(data))
    with pytest.raises(IndexCorruptError, match=f"{damaged.name} .*does not match its checksum.*--rebuild"):
        Index.open(copy)
    shutil.copy(seed_index_dir / damaged.name, damaged)
    assert len(Index.open(copy).chunks) == len(Index.open(seed_index_dir).chunks)


def test_missing_index_is_a_clear_error(tmp_path):
    with pytest.raises(IndexNotFoundError, match="rag ingest PATH --index"):
        Index.open(tmp_path / "none")


def test_changed_chunking_asks_for_a_rebuild(seeds_on, embedder):
    with pytest.raises(InputError, match="--rebuild"):
        open_or_create(seeds_on, embedder, 500, 100)


def test_a_second_writer_is_refused_instead_of_losing_the_first_ones_work(corpus, tmp_path, embedder, store):
    first = open_or_create(tmp_path / "idx", embedder, 800, 200, store=store)
    second = open_or_create(tmp_path / "idx", embedder, 800, 200, store=store)
    ingest([corpus], first, embedder, corpus.parent, progress=False)
    with pytest.raises(InputError, match="changed by another process"):
        ingest([corpus], second, embedder, corpus.parent, progress=False)
    assert len(Stored(tmp_path / "idx").documents) == 2


def test_an_index_opened_for_questions_holds_no_second_copy_of_vectors_or_passages(seed_index_dir, embedder):
    """Vectors stay in the segments' memory-mapped files (read row by row by a search) and
    each passage is cut from its document's text when asked for (docs/scaling.md)."""
    from rag.retrieval import Filters
    from rag.retrieval.snapshot import Snapshot

    index = Index.open(seed_index_dir)
    snapshot = Snapshot(index, embedder, 50)
    assert snapshot.engine.retrieve("Security Council reform", 5)
    assert snapshot.engine.retrieve("funding", 3, Filters(sources=("003_3b78ed55776d1c96.txt",)))
    assert all(isinstance(block.vectors, np.memmap) for block in index.blocks)
    assert index.vectors._matrix is None  # no concatenated copy of every vector
    rows = np.arange(len(index.chunks))
    assert np.allclose(index.vectors_of(rows), np.concatenate([b.vectors for b in index.blocks]))
    for chunk in index.chunks:
        text = index.documents[chunk.doc_id].text
        assert chunk.text == text[chunk.start : chunk.end] and chunk._text is text


def test_a_reopened_index_reuses_its_unchanged_segments_and_checks_new_ones(
    seed_index_dir, embedder, tmp_path
):
    """After a commit, a reader opens only what is new (segment files never change once
    written); damage to a new segment is still reported before it can be used."""
    shutil.copytree(seed_index_dir, tmp_path / "idx")
    before = Index.open(tmp_path / "idx")
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "s.txt").write_text("Statement of Sylvania. Sylvania proposes glacier monitoring.\n")
    ingest([tmp_path / "new"], Index.open(tmp_path / "idx"), embedder, tmp_path, progress=False)
    after = Index.open(tmp_path / "idx", earlier=before)
    assert all(a is b for a, b in zip(after.blocks, before.blocks, strict=False))
    assert len(after.blocks) == len(before.blocks) + 1
    assert len(after.documents) == len(before.documents) + 1
    new = tmp_path / "idx" / f"{after.blocks[-1].name}.documents.jsonl"
    new.write_bytes(new.read_bytes().replace(b"Sylvania", b"Freedonia", 1))
    with pytest.raises(IndexCorruptError, match="does not match its checksum"):
        Index.open(tmp_path / "idx", earlier=before)


def test_stored_postings_and_later_batches_score_as_bm25_over_the_texts(embedder, tmp_path):
    """BM25's counts saved with the index, memory-mapped, plus a batch committed after
    the save (stacked from its segment), score every chunk as BM25 over the texts does."""
    from rag.retrieval import BM25
    from rag.storage.postings import Postings

    index = open_or_create(tmp_path / "idx", embedder, 800, 200)
    ingest([SEEDS_DIR], index, embedder, SEEDS_DIR.parent, progress=False)
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "s.txt").write_text(
        "Sylvania proposes a reform of the Council and new glacier stations.\n"
    )
    later = Index.open(tmp_path / "idx")
    ingest([tmp_path / "more"], later, embedder, tmp_path, progress=False)  # saves: all rows stored
    writer = Index.open(tmp_path / "idx")
    (tmp_path / "third").mkdir()
    (tmp_path / "third" / "t.txt").write_text("Freedonia asks for reform of the veto and the Council.\n")
    for doc in load_documents([tmp_path / "third"], tmp_path):
        chunks = split_document(doc, 800, 200)
        writer.add_batch([doc], chunks, embedder.embed([c.text for c in chunks]))
    writer.commit()  # a batch after the save, as an ingestion in progress leaves it
    reader = Index.open(tmp_path / "idx")
    counts, terms, stored = reader.term_counts()
    assert isinstance(stored, Postings) and isinstance(stored.indices, np.memmap)
    assert stored.rows == len(reader.chunks) - 1 and counts.shape[0] == 1
    texts, offsets = [c.text for c in reader.chunks], [c.start for c in reader.chunks]
    for question in ("reform of the Council", "glacier stations", "veto Freedonia", "funding"):
        assert np.allclose(
            BM25(counts, terms, stored, offsets=offsets).scores(question),
            BM25.from_texts(texts, offsets).scores(question),
        )
