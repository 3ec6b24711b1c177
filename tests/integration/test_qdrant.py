"""The whole index in Qdrant (qdrant-client's local mode: the same client API as a server):
the same answers as the FAISS index, nothing of the index held by the app's process, two
pipelines over one collection seeing each other's commits, payload filters that select
what ``Filters.matches`` selects, a killed ingestion resumed, and one sentence for an
unreachable server, a refused API key and another model's collection."""

from __future__ import annotations

import gc
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

from rag.errors import ModelMismatchError
from rag.ingest import ingest, open_or_create, remove_documents
from rag.loading import load_documents, load_file
from rag.pipeline import Pipeline
from rag.retrieval import Filters
from rag.retrieval.collection import CollectionSnapshot, conditions
from rag.settings import PROJECT_ROOT, SEEDS_DIR, load_settings
from rag.splitting import split_document
from rag.storage.qdrant import Collections, QdrantIndex, State, locate
from rag.storage.rows import ChunkTable, SavedChunks
from rag.types import Chunk
from tests.conftest import WANG_YI, wait_for_progress

QUESTIONS = [
    WANG_YI,
    "What does China say about the veto?",
    "What did Zhang Jun say about security sector reform?",
    "How should post-conflict countries build their security capacity?",
    "What did China say about Arctic shipping routes?",
]


@pytest.fixture(scope="module")
def qdrant_seeds(tmp_path_factory, embedder) -> Path:
    path = tmp_path_factory.mktemp("qdrant") / "index"
    index = open_or_create(path, embedder, 800, 200, store="qdrant")
    ingest([SEEDS_DIR], index, embedder, SEEDS_DIR.parent, progress=False)
    return path


def _pipeline(index_dir: Path, embedder) -> Pipeline:
    return Pipeline.open(load_settings().with_overrides(index_dir=index_dir), embedder, build_default=False)


def test_answers_and_rankings_are_the_faiss_indexs(qdrant_seeds, pipeline, embedder):
    ours = _pipeline(qdrant_seeds, embedder)
    for question in QUESTIONS:
        faiss_passages = pipeline.engine.retrieve(question, 8)
        qdrant_passages = ours.engine.retrieve(question, 8)
        assert [(p.doc_id, p.start, p.end) for p in qdrant_passages] == [
            (p.doc_id, p.start, p.end) for p in faiss_passages
        ], question
        assert np.allclose([p.score for p in qdrant_passages], [p.score for p in faiss_passages])
        assert np.allclose(
            [p.similarity for p in qdrant_passages], [p.similarity for p in faiss_passages], atol=1e-5
        )
        a, b = ours.ask(question), pipeline.ask(question)
        assert (a.text, a.refused) == (b.text, b.refused)
        assert [(c.doc_id, c.start, c.end) for c in a.citations] == [
            (c.doc_id, c.start, c.end) for c in b.citations
        ]
        for c in a.citations:
            assert ours.document(c.doc_id).text[c.start : c.end] == c.quote
    for term in ("veto", "reform", "secur", "glacier", "\x00"):
        assert ours.idf(term) == pytest.approx(pipeline.idf(term), rel=1e-5)


def test_passages_alike_in_their_words_rank_as_the_faiss_index_ranks_them(embedder, tmp_path):
    """A statement whose passages hold a question's words alike: their order may not
    depend on the store (equal BM25 scores went in each store's own order)."""
    folder = tmp_path / "statements"
    folder.mkdir()
    names = ["Ay", "Bee", "Cedar", "Delta", "Epsilon", "Fennel", "Gallery", "Harmonic", "Isthmuses"]
    (folder / "glaciers.txt").write_text(
        "\n\n".join(f"Report {n}. " + f"The glacier station {n} measured the ice again. " * 12 for n in names)
    )
    stores = []
    for store in ("faiss", "qdrant"):
        index = open_or_create(tmp_path / store, embedder, 800, 200, store=store)
        ingest([folder], index, embedder, tmp_path, progress=False)
        stores.append(_pipeline(tmp_path / store, embedder))
    for question in ("glacier station", "ice", "measured again", "What did the report say?"):
        faiss_order, qdrant_order = ([(p.start, p.end) for p in s.search(question, 10)] for s in stores)
        assert qdrant_order == faiss_order, question


def _held(root: object, skip: set[int]) -> list[str]:
    """Chunks (or chunk tables), vector matrices and term-count matrices reachable from ``root``."""
    seen, stack, found = set(), [root], []
    while stack:
        obj = stack.pop()
        if id(obj) in seen or id(obj) in skip or isinstance(obj, type):
            continue
        seen.add(id(obj))
        if isinstance(obj, Chunk | ChunkTable | SavedChunks | np.ndarray | sparse.spmatrix):
            found.append(type(obj).__name__)
        if isinstance(obj, (dict, list, tuple, set)) or hasattr(obj, "__dict__"):
            stack.extend(gc.get_referents(obj))
    return found


def test_the_app_process_holds_no_chunk_table_term_counts_or_vectors(qdrant_seeds, pipeline, embedder):
    ours = _pipeline(qdrant_seeds, embedder)
    answer = ours.ask(WANG_YI)
    assert answer.citations
    snapshot = ours.snapshot()
    assert isinstance(snapshot, CollectionSnapshot)
    del answer
    gc.collect()
    # What the question path keeps (the snapshot, its retriever and tables) holds no chunk,
    # vector matrix or term counts; in local mode the client is the server itself.
    assert not _held(snapshot, {id(snapshot.db.client), id(embedder), id(snapshot.db.models)})
    assert not [o for o in gc.get_objects() if isinstance(o, Chunk)]
    # The same look at the FAISS index's snapshot finds its tables (its chunks as columns).
    assert {"ChunkTable", "SavedChunks", "ndarray"} <= set(_held(pipeline.snapshot(), {id(embedder)}))


def test_two_pipelines_over_one_collection_see_each_others_commits(qdrant_seeds, embedder, tmp_path):
    folder = tmp_path / "index"
    shutil.copytree(qdrant_seeds, folder)  # local mode: a copy is its own collection store
    first, second = _pipeline(folder, embedder), _pipeline(folder, embedder)
    for question in QUESTIONS[:3]:
        assert first.ask(question).text == second.ask(question).text
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "s.txt").write_text(
        "Statement of Sylvania.\n\nSylvania proposes a network of glacier monitoring stations.\n"
    )
    first.ingest([tmp_path / "new"], progress=False)
    answer = second.ask("Who proposes glacier monitoring stations?")  # no reopening
    assert not answer.refused and "glacier monitoring" in answer.text
    assert second.stats().documents == 3
    gone = next(d for d in second.documents() if d.source.endswith("s.txt"))
    remove_documents(second.source.writer(), [gone.doc_id])
    assert first.stats().documents == 2
    assert all(p.doc_id != gone.doc_id for p in first.search("glacier monitoring stations", 5))


def test_payload_filters_select_what_the_filters_match(qdrant_seeds, embedder):
    db = Collections(locate(qdrant_seeds))
    documents = {d.doc_id: d for d in _pipeline(qdrant_seeds, embedder).documents()}
    cases = [
        Filters(countries=("China",)),
        Filters(countries=("chn",)),
        Filters(countries=("Brazil",)),
        Filters(sources=("seeds/",)),
        Filters(sources=("003_3b78ed55776d1c96.txt",)),
        Filters(sources=("seeds/000_f2b96bbd7d06bdb1.txt",)),
        Filters(year_from=2020, year_to=2020),
        Filters(year_to=2019),
        Filters(speakers=("Zhang Jun",)),
        Filters(speakers=("Wang Yi", "Nobody")),
        Filters(venues=("security council",)),
        Filters(venues=("general debate",)),
        Filters(venues=("security council",), year_to=2019),
    ]
    for filters in cases:
        points, _ = db.client.scroll(
            db.place.collection,
            scroll_filter=db.visible(State(10**9), conditions(filters, db.models, documents.values())),
            limit=1000,
        )
        selected = {p.payload["doc_id"] for p in points}
        assert selected == {d for d, doc in documents.items() if filters.matches(doc)}, filters


def test_another_models_collection_is_refused_in_one_sentence(qdrant_seeds, embedder):
    class Other:
        name, dimension = "sentence-transformers/all-mpnet-base-v2", 768

    with pytest.raises(
        ModelMismatchError, match="was built with the embedding model 'sentence-transformers/all-MiniLM"
    ):
        Pipeline.open(load_settings().with_overrides(index_dir=qdrant_seeds), Other(), build_default=False)
    with pytest.raises(ModelMismatchError):
        QdrantIndex.open(locate(qdrant_seeds), "sentence-transformers/all-mpnet-base-v2")


ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error"}


def _rag(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rag.cli", *args],
        env={**ENV, **env},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _one_sentence(result: subprocess.CompletedProcess) -> str:
    err = result.stderr.strip()
    assert result.returncode == 1 and err.startswith("Error: ") and "\n" not in err, result.stderr
    assert "Traceback" not in err
    return err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_server_is_one_sentence_and_exit_1(tmp_path):
    url = f"http://127.0.0.1:{_free_port()}"
    for args in (["ask", WANG_YI], ["ingest", str(SEEDS_DIR), "-q"], ["docs"]):
        err = _one_sentence(
            _rag(*args, "--index", str(tmp_path / "un"), RAG_STORE="qdrant", RAG_QDRANT_URL=url)
        )
        assert f"The Qdrant server at {url} cannot be reached" in err


class _RefusingQdrant(http.server.BaseHTTPRequestHandler):
    """A stand-in for a Qdrant server that has an API key set and is sent another one."""

    def _refuse(self) -> None:
        body = b'{"status":{"error":"Invalid api-key"},"time":0.0}'
        self.send_response(403 if self.headers.get("api-key") else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _refuse

    def log_message(self, *args) -> None:
        pass


def test_a_refused_api_key_is_one_sentence_and_exit_1(tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RefusingQdrant)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        for args in (["ask", WANG_YI], ["ingest", str(SEEDS_DIR), "-q"]):
            err = _one_sentence(
                _rag(
                    *args,
                    "--index",
                    str(tmp_path / "un"),
                    RAG_STORE="qdrant",
                    RAG_QDRANT_URL=url,
                    RAG_QDRANT_API_KEY="wrong",
                )
            )
            assert f"The Qdrant server at {url} refused the API key (HTTP 403)" in err
    finally:
        server.shutdown()


def test_a_collection_of_another_model_on_the_command_line_is_one_sentence_and_exit_1(qdrant_seeds, tmp_path):
    folder = tmp_path / "index"
    shutil.copytree(qdrant_seeds, folder)
    db = Collections(locate(folder))
    db.write_record({**db.record(), "embedding_model": "sentence-transformers/all-mpnet-base-v2"})
    db.client.close()
    Collections.forget(db.place)  # local mode: let the child process open the folder
    for args in (["ask", WANG_YI], ["ingest", str(SEEDS_DIR), "-q"]):
        err = _one_sentence(_rag(*args, "--index", str(folder)))
        assert "was built with the embedding model 'sentence-transformers/all-mpnet-base-v2'" in err


def test_a_killed_ingestion_resumes_and_its_unsaved_batch_is_never_cited(tmp_path):
    paragraph = (SEEDS_DIR / "003_3b78ed55776d1c96.txt").read_text(encoding="utf-8")
    big = tmp_path / "big.txt"
    big.write_text("\n\n".join(f"Part {i}.\n\n{paragraph}" for i in range(30)))
    index = tmp_path / "index"
    args = [sys.executable, "-m", "rag.cli", "ingest", str(big), "--index", str(index), "--batch", "32"]
    child = subprocess.Popen([*args, "--store", "qdrant"], env=ENV, cwd=PROJECT_ROOT, stderr=subprocess.PIPE)
    wait_for_progress(child, rb"\b(3[2-9]|[4-9]\d|\d{3}) chunks")  # a batch of 32 saved
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    listing = _rag("docs", "--index", str(index))
    assert "partly indexed" in listing.stdout, listing.stderr
    done = _rag("ingest", str(big), "--index", str(index), "-q")
    assert done.returncode == 0 and "1 continued" in done.stderr, done.stderr
    (row,) = json.loads(_rag("docs", "--index", str(index), "--json").stdout)
    assert row["complete"] and row["chunks"] == len(split_document(load_file(big, str(big)), 800, 200))
    db = Collections(locate(index))
    assert db.count(None) == row["chunks"]  # nothing half-written left behind


def test_verify_counts_every_documents_chunks_and_finds_missing_ones(qdrant_seeds, tmp_path):
    from click.testing import CliRunner

    from rag.cli import cli

    folder = tmp_path / "index"
    shutil.copytree(qdrant_seeds, folder)
    fine = CliRunner().invoke(cli, ["verify", "--index", str(folder)])
    assert fine.exit_code == 0 and "2 documents, 13 chunks" in fine.stdout
    db = Collections(locate(folder))
    points, _ = db.client.scroll(db.place.collection, limit=1)
    db.client.delete(db.place.collection, points_selector=db.models.PointIdsList(points=[points[0].id]))
    damaged = CliRunner().invoke(cli, ["verify", "--index", str(folder)])
    assert damaged.exit_code == 1
    assert "is damaged: 1 of 2 documents lack chunks their records count" in damaged.stderr


def test_opening_the_index_while_a_writer_commits_takes_nothing_from_it(qdrant_seeds, embedder, tmp_path):
    """`rag docs`, a reader or a second writer opening the index in the middle of a commit
    leave the writer's new points alone (opening used to delete them as a dead writer's)."""
    folder = tmp_path / "index"
    shutil.copytree(qdrant_seeds, folder)
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "s.txt").write_text("Statement of Sylvania.\n\nSylvania proposes glacier stations.\n")
    writer = QdrantIndex.open(locate(folder), embedder.name)
    (doc,) = [d for d in load_documents([tmp_path / "new"], tmp_path)]
    chunks = split_document(doc, 800, 200)
    writer.add_batch([doc], chunks, embedder.embed([c.text for c in chunks]))
    write_documents = writer.db.write_documents

    def opened_meanwhile(*args):
        write_documents(*args)  # the batch's points and records are written, not committed
        QdrantIndex.open(locate(folder), embedder.name)
        assert len(_pipeline(folder, embedder).documents()) == 2  # readers see the last commit

    writer.db.write_documents = opened_meanwhile
    writer.commit()
    assert Collections(locate(folder)).check() == (3, 13 + len(chunks))


def test_a_scoped_question_is_refused_alike_on_both_stores(qdrant_seeds, pipeline, embedder):
    """Liberia is named in Zhang Jun's statement, never in Wang Yi's: asked of Wang Yi, both
    stores refuse, alike (the scoped statements' text is read from the snapshot, since a
    Qdrant passage carries none)."""
    question = "What did Wang Yi say about Liberia?"
    for answer in (pipeline.ask(question), _pipeline(qdrant_seeds, embedder).ask(question)):
        assert answer.refused and answer.text == "The statements found do not mention Liberia.", answer.text
