"""Scale: batched segments give the same index as one batch, the IVF index finds what exact
search finds and survives reopening, ONNX vectors match torch's, Ctrl-C keeps saved work,
and `rag bench` prints its table and writes its JSON (figures are printed, not asserted)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys

import numpy as np
from click.testing import CliRunner

from rag.cli import cli
from rag.embedding import load_embedder
from rag.ingest import ingest, open_or_create
from rag.retrieval import BM25
from rag.settings import PROJECT_ROOT, SEEDS_DIR
from rag.storage import Index
from rag.storage.vectors.faiss import FaissOptions, FaissVectors
from tests.conftest import wait_for_progress

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error", "PYTHONUNBUFFERED": "1"}


def _clustered(n: int, dim: int = 64, seed: int = 0) -> np.ndarray:
    """Unit vectors around 40 centres: a corpus has topics, not uniform noise."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(40, dim))
    vectors = centres[rng.integers(0, 40, n)] + 0.6 * rng.normal(size=(n, dim))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def test_small_batches_make_the_same_index_as_one_batch(tmp_path, embedder):
    one = open_or_create(tmp_path / "one", embedder, 800, 200)
    ingest([SEEDS_DIR], one, embedder, SEEDS_DIR.parent, progress=False, batch=10_000)
    many = open_or_create(tmp_path / "many", embedder, 800, 200)
    ingest([SEEDS_DIR], many, embedder, SEEDS_DIR.parent, progress=False, batch=1)
    one, many = Index.open(tmp_path / "one"), Index.open(tmp_path / "many")
    # A batch bounds a segment even inside a document: one chunk per segment here.
    assert len(one.blocks) == 1 and len(many.blocks) == len(one.chunks)
    assert [len(b.documents) for b in many.blocks].count(1) == 2  # each document saved once
    assert [c.chunk_id for c in one.chunks] == [c.chunk_id for c in many.chunks]
    rows = np.arange(len(one.chunks))
    assert np.allclose(one.vectors_of(rows), many.vectors_of(rows), atol=1e-5)
    # BM25 over term counts stacked from many segments scores as BM25 over the texts.
    question = "Who chaired the intergovernmental negotiations on Security Council reform?"
    offsets = [c.start for c in one.chunks]
    from_texts = BM25.from_texts([c.text for c in one.chunks], offsets).scores(question)
    assert np.allclose(BM25(*many.term_counts(), offsets=offsets).scores(question), from_texts, atol=1e-5)
    assert from_texts.max() > 0


def test_ivf_index_finds_what_exact_search_finds_and_respects_filters(tmp_path):
    vectors = _clustered(6000)
    store = FaissVectors(64, tmp_path, None, FaissOptions(ann_threshold=1000))
    store.sync([vectors[:4000]])
    store.append(vectors[4000:])
    record = store.persist(tmp_path, "g000001")
    assert record["ann"]["rows"] == 6000 and store.ann is not None
    queries = _clustered(50, seed=1)
    recall = np.mean([len(set(store.search(q, 10)[1]) & set(store.exact(q, 10)[1])) / 10 for q in queries])
    assert recall >= 0.95
    allowed = np.arange(0, 6000, 7)
    for q in queries[:5]:
        scores, rows = store.search(q, 10, allowed)
        assert set(rows) <= set(allowed) and len(rows) == 10
        assert np.allclose(scores, vectors[rows] @ q, atol=1e-5)  # exact scores, re-ranked


def test_a_large_ivf_index_searches_enough_of_its_many_lists(tmp_path):
    """At 140,000 vectors the index has 2,048 lists. Questions sit further from the
    passages than passages from their topic (as real ones do): a fixed 64 lists found
    0.88 of exact search's top 10 for them."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(2000, 64))

    def around(n: int, spread: float = 1.0) -> np.ndarray:
        vectors = centres[rng.integers(0, 2000, n)] + spread * rng.normal(size=(n, 64))
        return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)

    store = FaissVectors(64, tmp_path, None, FaissOptions(ann_threshold=1000))
    store.sync([around(140_000)])
    store.persist(tmp_path, "g000001")
    assert store.ann is not None and store.ann.nlist == 2048
    queries = around(60, spread=2.0)
    recall = np.mean([len(set(store.search(q, 10)[1]) & set(store.exact(q, 10)[1])) / 10 for q in queries])
    assert recall >= 0.95


def test_saved_ivf_index_is_reused_and_caught_up_after_an_unsaved_batch(tmp_path):
    vectors = _clustered(3000)
    store = FaissVectors(64, tmp_path, None, FaissOptions(ann_threshold=1000))
    store.sync([vectors[:2500]])
    record = store.persist(tmp_path, "g000002")
    # Reopened with more committed rows than the saved IVF index holds (a run killed
    # after its last batch but before the final save): the missing rows are added.
    reopened = FaissVectors(64, tmp_path, record, FaissOptions(ann_threshold=1000))
    reopened.sync([vectors[:2500], vectors[2500:]])
    assert reopened.ann is not None and reopened.ann.ntotal == 3000
    q = vectors[2900]
    assert reopened.search(q, 1)[1][0] == 2900
    # A damaged IVF file is not trusted: search falls back to exact until the next save.
    (tmp_path / record["ann"]["file"]).write_bytes(b"broken")
    damaged = FaissVectors(64, tmp_path, record, FaissOptions(ann_threshold=1000))
    damaged.sync([vectors])
    assert damaged.ann is None and damaged.search(q, 1)[1][0] == 2900


def test_onnx_backends_give_the_torch_vectors(tmp_path, embedder):
    texts = [
        "The Council met again to discuss reform.",
        "China supports the central role of the United Nations in international affairs.",
    ]
    onnx = load_embedder("all-MiniLM-L6-v2", device="cpu", backend="onnx", cache=tmp_path)
    assert onnx.name == embedder.name and onnx.dimension == 384
    assert np.allclose(onnx.embed(texts), embedder.embed(texts), atol=1e-5)
    # Its own tokenizer (`tokenizers`, not transformers): the same vectors for accents,
    # typographic quotes, figures, and a text past the 256-token limit, alone or padded.
    odd = ["Ünïcode — “quotes”, 2024's 1,298 chunks; the G-20 (G20).", "reform " * 400, "Peace."]
    assert np.allclose(onnx.embed(odd), embedder.embed(odd), atol=1e-5)
    assert np.allclose(onnx.embed(odd[:1]), embedder.embed(odd[:1]), atol=1e-5)
    int8 = load_embedder("all-MiniLM-L6-v2", device="cpu", backend="onnx-int8", cache=tmp_path)
    assert int8.name == embedder.name + "@int8"  # an index records which vectors it holds
    cosine = (int8.embed(texts) * embedder.embed(texts)).sum(axis=1)
    assert (cosine > 0.85).all() and (cosine < 0.9999).all()  # quantised: close, not equal
    # Dynamic quantisation scales by the whole input: each text is embedded alone, so its
    # vector never depends on the texts beside it (an answer's scores once did).
    mixed = [texts[0], "Peace.", "A much longer sentence " * 12, texts[1]]
    together = int8.embed(mixed)
    for i, text in enumerate(mixed):
        assert np.array_equal(int8.embed([text])[0], together[i])


def test_ctrl_c_during_ingestion_keeps_saved_batches_and_says_how_to_continue(tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    base = (SEEDS_DIR / "003_3b78ed55776d1c96.txt").read_text(encoding="utf-8")
    for i in range(80):
        (folder / f"statement_{i:02d}.txt").write_text(f"Statement {i}\n\n{base}\nClosing remark {i}.")
    index = tmp_path / "index"
    args = [sys.executable, "-m", "rag.cli", "ingest", str(folder), "--index", str(index), "--batch", "20"]
    child = subprocess.Popen(
        args,
        env=ENV,
        cwd=PROJECT_ROOT,
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        # As from a terminal: a test runner started in the background ignores SIGINT,
        # and its children would inherit that.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    seen = wait_for_progress(child, rb"\b[1-9][\d,]* chunks")
    child.send_signal(signal.SIGINT)
    _, rest = child.communicate(timeout=120)
    message = (seen + rest).decode()
    assert child.returncode == 130, message[-500:]
    assert "run the same command again to continue" in message and "Traceback" not in message
    kept = Index.open(index)
    saved, partial = len(kept.documents), len(kept.incomplete)
    assert 0 < saved < 80
    done = subprocess.run(args + ["-q"], env=ENV, cwd=PROJECT_ROOT, capture_output=True, timeout=600)
    # A document cut off between batches is continued, not embedded again.
    continued = f"{partial} continued, " if partial else ""
    assert f"{80 - saved} added, 0 replaced, {continued}{saved - partial} unchanged" in done.stderr.decode()


def test_bench_prints_its_table_and_writes_json(tmp_path, monkeypatch):
    monkeypatch.setenv("RAG_ANN_THRESHOLD", "2000")
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS_DIR, corpus)
    out = tmp_path / "bench.json"
    args = ["bench", "--corpus", str(corpus), "--sizes", "3000", "--questions", "8", "--out", str(out)]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["ingestion"]["chunks"] > 0 and report["ingestion"]["ratio_to_encode"] > 0
    sizes = [s["chunks"] for s in report["sizes"]]
    assert sizes[-1] >= 3000 and report["sizes"][-1]["copies"] is True
    assert 0 <= report["sizes"][-1]["ann_recall_at_10"] <= 1
    # At every size, a new `rag ask` beside the bare ONNX Runtime + FAISS process.
    cold = report["cold_start"]
    assert [c["chunks"] for c in cold] == sizes
    assert all(c["rag_ask_s"] > 0 and c["bare_s"] > 0 and c["rag_ask_mb"] > 0 for c in cold)
    assert "| **pipeline / encode** |" in result.output and "IVF recall@10" in result.output
    assert "bare s | ratio" in result.output
    assert out.with_suffix(".md").read_text().strip() in result.output


def test_bench_cold_only_times_rag_ask_beside_the_bare_process(pipeline, tmp_path, monkeypatch):
    monkeypatch.setenv("RAG_HOME", str(tmp_path))
    out = tmp_path / "cold.json"
    args = ["bench", "--cold-only", "--base-index", str(pipeline.settings.index_dir), "--out", str(out)]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = json.loads(out.read_text())["cold_start"]
    assert [r["index"] for r in rows] == ["seed index", "--base-index"]
    assert all(r["bare_s"] > 0 and abs(r["ratio"] - r["rag_ask_s"] / r["bare_s"]) < 0.1 for r in rows)
    assert "| seed index | 13 |" in result.output


def test_bench_queries_only_measures_the_index_as_it_is(pipeline, tmp_path, monkeypatch):
    """`--queries-only`: the question figures on a real index, no ingestion, no copies."""
    monkeypatch.setenv("RAG_HOME", str(tmp_path))
    out = tmp_path / "queries.json"
    index = str(pipeline.settings.index_dir)
    args = ["bench", "--queries-only", "--base-index", index, "--questions", "6", "--out", str(out)]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert "ingestion" not in report and report["base_index"]["chunks"] == 13
    [size] = report["sizes"]
    assert size["chunks"] == 13 and size["copies"] is False and size["retrieval"]["p95_ms"] > 0
    assert [c["chunks"] for c in report["cold_start"]] == [13]
    assert "| 13 | exact |" in result.output and "ingestion" not in result.output
    missing = CliRunner().invoke(cli, ["bench", "--queries-only"])
    assert missing.exit_code != 0 and "needs --base-index INDEX" in missing.output
