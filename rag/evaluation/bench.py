"""`rag bench`: ingestion, query and cold-start figures, all measured in one run.

Index sizes past what the corpus slice holds are made of the slice's real vectors and
chunks, copied with small noise added to each copy's vectors; the output says so.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from tqdm import tqdm

from rag.embedding import Embedder, resolve_model
from rag.errors import RagError
from rag.evaluation.gold import load_gold
from rag.ingest import ingest, open_or_create
from rag.loading import load_documents
from rag.pipeline import Pipeline
from rag.settings import PROJECT_ROOT, Settings
from rag.splitting import split_document
from rag.storage import Block, Index
from rag.storage.vectors.faiss import FaissVectors
from rag.types import Chunk, Document

GOLD_SETS = ("eval/gold/seeds.jsonl", "eval/gold/ungdc-china.jsonl")
TOPICS = (
    "Security Council reform",
    "climate change and small island states",
    "nuclear disarmament",
    "the Sustainable Development Goals",
    "peacekeeping operations",
    "terrorism",
    "the COVID-19 pandemic",
    "refugees and migration",
    "the situation in the Middle East",
    "development finance and debt",
)
COUNTRIES = ("China", "Brazil", "India", "France", "Nigeria", "Japan", "Mexico", "Egypt")


def questions(count: int) -> list[str]:
    """The gold questions, then questions of the kind users ask of the General Debate."""
    asked = [q.question for name in GOLD_SETS for q in load_gold(PROJECT_ROOT / name)]
    years = range(2015, 2025)
    for i, (topic, country) in enumerate((t, c) for c in COUNTRIES for t in TOPICS):
        year = years[i % len(years)]
        asked.append(f"What did {country} say about {topic} in {year}?")
        asked.append(f"Which countries raised {topic}?")
    return list(dict.fromkeys(asked))[:count]


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096 / 2**20


def percentiles(seconds: Sequence[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in seconds)
    return {
        "p50_ms": round(statistics.median(ms), 2),
        "p95_ms": round(ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))], 2),
    }


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def machine() -> dict[str, Any]:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    with open("/proc/meminfo") as fh:
        mem_kb = int(fh.readline().split()[1])
    return {
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)),
        "memory_gb": round(mem_kb / 2**20, 1),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "faiss": faiss.__version__,
    }


# -- ingestion ----------------------------------------------------------------------------


def bench_ingestion(files: list[Path], embedder: Embedder, settings: Settings, work: Path) -> dict[str, Any]:
    """The whole pipeline (load, split, embed, count terms, save) against bare encode."""
    folder = work / "slice"
    folder.mkdir(parents=True)
    for f in files:
        shutil.copy(f, folder / f.name)
    index = open_or_create(work / "ingest-index", embedder, settings.chunk_size, settings.chunk_overlap)
    from sentence_transformers import SentenceTransformer

    # The yardstick is bare sentence-transformers on the same model and device.
    model = SentenceTransformer(
        resolve_model(settings.embedding_model), device=getattr(embedder, "device", "cpu")
    )
    # The limit: bare encode of the very chunks the pipeline will make, timed before and
    # after the pipeline run; the quicker of the two counts.
    loaded = [d for d in load_documents([folder], work) if isinstance(d, Document)]
    texts = [c.text for d in loaded for c in split_document(d, settings.chunk_size, settings.chunk_overlap)]
    tokens = sum(min(len(ids), model.max_seq_length) for ids in model.tokenizer(texts)["input_ids"])

    def encode() -> None:
        model.encode(texts, batch_size=settings.batch_size, normalize_embeddings=True, convert_to_numpy=True)

    embedder.embed(["warm-up"] * 8)
    raw_before = timed(encode)
    gc.collect()
    start = time.perf_counter()
    ingest([folder], index, embedder, work, progress=False, batch=settings.ingest_batch)
    pipeline_s = time.perf_counter() - start
    gc.collect()
    raw_s = min(raw_before, timed(encode))
    return {
        "documents": len(index.documents),
        "chunks": len(texts),
        "tokens": tokens,
        "pipeline_s": round(pipeline_s, 2),
        "pipeline_chunks_per_s": round(len(texts) / pipeline_s, 1),
        "pipeline_tokens_per_s": round(tokens / pipeline_s, 0),
        "encode_s": round(raw_s, 2),
        "encode_chunks_per_s": round(len(texts) / raw_s, 1),
        "encode_tokens_per_s": round(tokens / raw_s, 0),
        "ratio_to_encode": round(raw_s / pipeline_s, 3),
    }


def bench_backends(texts: list[str], settings: Settings, work: Path) -> list[dict[str, Any]]:
    """Each embedding backend: its rate on the ingestion slice, a question's embedding time,
    and retrieval hit@5 / key facts on the seed gold set with an index it built itself."""
    from rag.embedding import BACKENDS, load_embedder
    from rag.evaluation.runner import evaluate

    gold = load_gold(PROJECT_ROOT / GOLD_SETS[0])
    rows = []
    for backend in BACKENDS:
        embedder = load_embedder(
            settings.embedding_model, settings.device, settings.batch_size, backend, settings.home / "models"
        )
        embedder.embed(texts[:16])
        seconds = timed(lambda embedder=embedder: embedder.embed(texts))
        query = [timed(lambda q=q, embedder=embedder: embedder.embed([q])) for q in questions(40)]
        folder = work / f"seeds-{backend}"
        index = open_or_create(folder, embedder, settings.chunk_size, settings.chunk_overlap)
        ingest([settings.seeds_dir], index, embedder, settings.home, progress=False)
        pipeline = Pipeline(settings.with_overrides(index_dir=folder), Index.open(folder), embedder)
        result = evaluate(pipeline, gold, "seeds", baseline=False, progress=False).systems["ours"].aggregate
        rows.append(
            {
                "backend": backend,
                "chunks_per_s": round(len(texts) / seconds, 1),
                "query_embedding": percentiles(query),
                "seeds_hit@5": round(result["hit@5"] or 0.0, 3),
                "seeds_key_facts": round(result["key_facts"] or 0.0, 3),
            }
        )
    return rows


# -- indexes of many sizes ----------------------------------------------------------------


def grow(base: Index, size: int, path: Path, noise: float, ann_threshold: int) -> Index:
    """An index of ``size`` chunks: the base's real rows, then copies of them whose vectors
    carry Gaussian noise (then re-normalised), under distinct document ids and sources."""
    index = Index(path, base.model, base.dimension, base.chunking, "faiss", {"ann_threshold": ann_threshold})
    index.start_afresh()
    rng = np.random.default_rng(0)
    copy = 0
    with tqdm(total=size, unit="chunk", desc=f"Building {size:,}", leave=False) as bar:
        while len(index.chunks) < size:
            for block in base.blocks:
                room = size - len(index.chunks)
                if room <= 0:
                    break
                docs, chunks = block.documents, block.chunks
                if len(chunks) > room:  # whole documents only, cut at the size
                    keep_docs = {c.doc_id for c in chunks[:room]}
                    docs = [d for d in docs if d.doc_id in keep_docs]
                    chunks = [c for c in chunks if c.doc_id in keep_docs][:room]
                rows = len(chunks)
                vectors = np.asarray(block.vectors[:rows], dtype=np.float32)
                if copy:
                    vectors = vectors + rng.normal(0, noise, vectors.shape).astype(np.float32)
                    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
                    suffix = f"~{copy}"
                    docs = [Document(d.doc_id + suffix, d.source + suffix, d.text, d.metadata) for d in docs]
                    chunks = [
                        Chunk(c.chunk_id + suffix, c.doc_id + suffix, c.start, c.end, c.text) for c in chunks
                    ]
                index.add_rows(
                    Block(
                        docs,
                        chunks,
                        vectors,
                        block.term_counts(base.path)[:rows],
                        [] if copy else block.new_terms,
                    )
                )
                bar.update(rows)
            copy += 1
    index.save()
    return index


@dataclass
class SizeResult:
    chunks: int
    copies: bool
    store: str
    figures: dict[str, Any] = field(default_factory=dict)


def bench_queries(
    index: Index, embedder: Embedder, settings: Settings, asked: list[str], copies: bool
) -> SizeResult:
    result = SizeResult(len(index.chunks), copies, "ivf" if getattr(index.vectors, "ann", None) else "exact")
    pipeline = Pipeline(settings, index, embedder)
    engine = pipeline.engine
    clear = getattr(embedder, "clear_cache", lambda: None)
    engine.retrieve(asked[0], settings.k)  # builds BM25 and the per-document tables
    matrix = index.vectors_of(np.arange(len(index.chunks)))
    flat = faiss.IndexFlatIP(index.dimension)
    flat.add(matrix)
    queries = np.vstack([embedder.embed([q]) for q in asked])
    bare = [timed(lambda q=q: flat.search(q.reshape(1, -1), settings.candidates)) for q in queries]
    clear()
    embed = [timed(lambda q=q: embedder.embed_query(q)) for q in asked]
    clear()
    retrieval = [timed(lambda q=q: engine.retrieve(q, settings.k)) for q in asked]
    clear()
    scorer = pipeline.generator()
    answer = []
    for q in asked:
        # Cold: nothing cached from earlier answers (related questions reuse sentences).
        getattr(scorer, "clear_cache", lambda: None)()
        answer.append(timed(lambda q=q: pipeline.ask(q)))
    vectors = index.vectors
    figures: dict[str, Any] = {
        "bare_faiss_flat": percentiles(bare),
        "query_embedding": percentiles(embed),
        "retrieval": percentiles(retrieval),
        "answer_extractive": percentiles(answer),
        "bytes_per_chunk": round(folder_bytes(index.path) / len(index.chunks)),
        "rss_mb": round(rss_mb()),
    }
    if isinstance(vectors, FaissVectors) and vectors.ann is not None:
        ann = [timed(lambda q=q: vectors.search(q, 10)) for q in queries]
        exact = [set(vectors.exact(q, 10)[1]) for q in queries]
        found = [set(vectors.search(q, 10)[1]) for q in queries]
        figures["ann_search"] = percentiles(ann)
        figures["ann_recall_at_10"] = round(
            float(np.mean([len(e & f) / 10 for e, f in zip(exact, found, strict=True)])), 4
        )
        figures["ann_lists"] = int(vectors.ann.nlist)
        figures["ann_nprobe"] = vectors.probes
    result.figures = figures
    return result


# Runs a command and reports its exit code, wall seconds and peak resident KB. A small
# process of its own: a child's peak memory counts what its parent held when it forked.
_MEASURE = (
    "import os, subprocess, sys, time\n"
    "start = time.perf_counter()\n"
    "p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n"
    "err = p.stderr.read()\n"
    "_, status, usage = os.wait4(p.pid, 0)\n"
    "code = os.waitstatus_to_exitcode(status)\n"
    "print(code, time.perf_counter() - start, usage.ru_maxrss)\n"
    "sys.stderr.write(err.decode(errors='replace')[-300:] if code else '')\n"
)


def _child(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak resident MB of one child process run to its end."""
    done = subprocess.run([sys.executable, "-c", _MEASURE, *args], env=env, capture_output=True, text=True)
    code, wall, peak_kb = done.stdout.split()
    if int(code) != 0:
        raise RagError(f"The cold-start run of {' '.join(args[2:4])} failed: {done.stderr.strip()[-200:]}")
    return float(wall), int(peak_kb) / 1024


def cold_start(
    index_dir: Path, question: str, home: Path, settings: Settings, runs: int = 3
) -> dict[str, Any]:
    """A new `rag ask` process to its answer, beside the bare question path (ONNX Runtime,
    tokenizers and FAISS alone: rag/evaluation/bare.py) on the same index and question:
    median wall time and peak memory of ``runs`` each, run in turn after one of each to
    warm the disk cache (and export the model, the first time)."""
    from rag.embedding.onnx import onnx_model

    model_dir = resolve_model(settings.embedding_model)
    model = onnx_model(Path(model_dir), home / "models", quantized=False)
    env = {**os.environ, "RAG_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    ask = [sys.executable, "-m", "rag.cli", "ask", question, "--index", str(index_dir)]
    bare = [sys.executable, "-m", "rag.evaluation.bare", model_dir, str(model), str(index_dir), question]
    _child(ask, env), _child(bare, env)
    asks, bares = [], []
    for _ in range(runs):
        asks.append(_child(ask, env))
        bares.append(_child(bare, env))
    ask_s, ask_mb = (statistics.median(x[i] for x in asks) for i in (0, 1))
    bare_s, bare_mb = (statistics.median(x[i] for x in bares) for i in (0, 1))
    return {
        "chunks": len(Index.open(index_dir).chunks),
        "rag_ask_s": round(ask_s, 2),
        "rag_ask_mb": round(ask_mb),
        "bare_s": round(bare_s, 2),
        "bare_mb": round(bare_mb),
        "ratio": round(ask_s / bare_s, 2),
    }


def held_by_question_path(index_dirs: list[Path], question: str, home: Path) -> list[dict[str, Any]]:
    """What each index's question path holds (``rag/evaluation/held.py``, one process per
    index), and per chunk and per document beyond the smallest index of the same store."""
    env = {**os.environ, "RAG_HOME": str(home), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error"}
    rows = []
    for path in index_dirs:
        done = subprocess.run(
            [sys.executable, "-m", "rag.evaluation.held", str(path), question],
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RagError(f"Measuring the index at {path} failed: {done.stderr.strip()[-300:]}")
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    for row in rows:
        smallest = min((r for r in rows if r["store"] == row["store"]), key=lambda r: r["chunks"])
        grown = row["chunks"] - smallest["chunks"]
        if grown > 0:
            extra = row["held_bytes"] - smallest["held_bytes"]
            row["bytes_per_chunk"] = round(extra / grown)
            row["bytes_per_document"] = round(extra / max(row["documents"] - smallest["documents"], 1))
    return rows


def held_table(rows: list[dict[str, Any]]) -> list[str]:
    out = [
        "| held by the question path | store | documents | chunks | MB | bytes per chunk added "
        "| bytes per document added |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        per_chunk = f"{r['bytes_per_chunk']:,}" if "bytes_per_chunk" in r else "(base)"
        per_doc = f"{r['bytes_per_document']:,}" if "bytes_per_document" in r else "(base)"
        out.append(
            f"| {r['index']} | {r['store']} | {r['documents']:,} | {r['chunks']:,} "
            f"| {r['held_bytes'] / 1e6:.2f} | {per_chunk} | {per_doc} |"
        )
    return out


def cold_table(rows: list[dict[str, Any]]) -> list[str]:
    head = "| cold start (a new process to its answer) | chunks | `rag ask` s | bare s | ratio "
    out = [head + "| `rag ask` MB | bare MB |", "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        out.append(
            f"| {r.get('index', '')} | {r['chunks']:,} | {r['rag_ask_s']} | {r['bare_s']} "
            f"| **{r['ratio']:.2f}** | {r['rag_ask_mb']:,} | {r['bare_mb']:,} |"
        )
    return out


# -- the whole run -------------------------------------------------------------------------


def run_bench(
    settings: Settings,
    embedder: Embedder,
    corpus_files: list[Path],
    base_index: Path | None,
    sizes: list[int],
    question_count: int,
    noise: float,
    work: Path | None = None,
) -> dict[str, Any]:
    owned = work is None
    work = work or Path(tempfile.mkdtemp(prefix="rag-bench-"))
    try:
        report: dict[str, Any] = {
            "machine": machine(),
            "settings": {
                "embedding_model": embedder.name,
                "chunk_size": settings.chunk_size,
                "chunk_overlap": settings.chunk_overlap,
                "batch_size": settings.batch_size,
                "ingest_batch": settings.ingest_batch,
                "k": settings.k,
                "candidates": settings.candidates,
                "ann_threshold": settings.ann_threshold,
            },
        }
        print(f"Ingestion: {len(corpus_files)} files...", file=sys.stderr)
        report["ingestion"] = bench_ingestion(corpus_files, embedder, settings, work)
        print("Embedding backends...", file=sys.stderr)
        slice_texts = [c.text for c in Index.open(work / "ingest-index").chunks]
        report["backends"] = bench_backends(slice_texts, settings, work)
        base = Index.open(base_index) if base_index else Index.open(work / "ingest-index")
        report["base_index"] = {"path": str(base_index or "the ingestion slice"), "chunks": len(base.chunks)}
        asked = questions(question_count)
        report["questions"] = len(asked)
        report["sizes"] = [
            _at_size(size, size == sizes[-1], base, embedder, settings, asked, noise, work, report)
            for size in sizes
        ]
        report["noise_sigma"] = noise
        return report
    finally:
        if owned:
            shutil.rmtree(work, ignore_errors=True)


def run_queries(
    settings: Settings, embedder: Embedder, index_dir: Path, question_count: int, work: Path
) -> dict[str, Any]:
    """The question figures on one real index as it is, with its cold start."""
    base = Index.open(index_dir)
    asked = questions(question_count)
    report: dict[str, Any] = {
        "machine": machine(),
        "settings": {"embedding_model": embedder.name, "k": settings.k, "candidates": settings.candidates},
        "base_index": {"path": str(index_dir), "chunks": len(base.chunks)},
        "questions": len(asked),
        "noise_sigma": 0.0,
    }
    report["sizes"] = [_at_size(len(base.chunks), True, base, embedder, settings, asked, 0.0, work, report)]
    return report


def _at_size(
    size: int,
    last: bool,
    base: Index,
    embedder: Embedder,
    settings: Settings,
    asked: list[str],
    noise: float,
    work: Path,
    report: dict[str, Any],
) -> dict[str, Any]:
    """Question figures at one index size (the base index, or copies of its vectors);
    at the last size also a cold ``rag ask``."""
    print(f"Queries at {size:,} chunks...", file=sys.stderr)
    if size == len(base.chunks):
        index, copies = base, False
    else:
        index = grow(base, size, work / f"index-{size}", noise, settings.ann_threshold)
        copies = size > len(base.chunks)
    result = bench_queries(index, embedder, settings, asked, copies)
    report.setdefault("cold_start", []).append(
        {"index": f"{size:,} chunks", **cold_start(index.path, asked[0], work, settings)}
    )
    if index is not base:
        shutil.rmtree(index.path, ignore_errors=True)
    del index
    gc.collect()
    return {"chunks": result.chunks, "copies": result.copies, "search": result.store, **result.figures}


def table(report: dict[str, Any]) -> str:
    """The report as Markdown, the way README and docs/scaling.md show it."""
    m = report["machine"]
    lines = [
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB"
        + (f", GPU {m['gpu']}" if m["gpu"] else ", no GPU")
        + f"; Python {m['python']}, torch {m['torch']}, FAISS {m['faiss']}.",
        "",
    ]
    if "ingestion" in report:
        lines += _ingestion_rows(report)
    lines += [
        f"Queries: {report['questions']} questions per size, p50 / p95 in ms; "
        f"sizes marked * hold copies of the base index's real vectors with noise σ={report['noise_sigma']}.",
        "",
        "| chunks | search | bare FAISS flat | query embedding | retrieval | extractive answer "
        "| IVF recall@10 | bytes/chunk | process MB |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in report["sizes"]:

        def pp(key: str, s: dict[str, Any] = s) -> str:
            return f"{s[key]['p50_ms']:.1f} / {s[key]['p95_ms']:.1f}"

        recall = f"{s['ann_recall_at_10']:.3f}" if "ann_recall_at_10" in s else "exact"
        lines.append(
            f"| {s['chunks']:,}{'*' if s['copies'] else ''} | {s['search']} | {pp('bare_faiss_flat')} "
            f"| {pp('query_embedding')} | {pp('retrieval')} | {pp('answer_extractive')} | {recall} "
            f"| {s['bytes_per_chunk']:,} | {s['rss_mb']:,} |"
        )
    if report.get("cold_start"):
        lines += ["", *cold_table(report["cold_start"])]
    return "\n".join(lines)


def _ingestion_rows(report: dict[str, Any]) -> list[str]:
    ing = report["ingestion"]
    return [
        "| ingestion | chunks | tokens | seconds | chunks/s | tokens/s |",
        "|---|---:|---:|---:|---:|---:|",
        f"| whole pipeline (`rag ingest`) | {ing['chunks']:,} | {ing['tokens']:,} | {ing['pipeline_s']} "
        f"| {ing['pipeline_chunks_per_s']} | {ing['pipeline_tokens_per_s']:,.0f} |",
        f"| bare `SentenceTransformer.encode` | {ing['chunks']:,} | {ing['tokens']:,} | {ing['encode_s']} "
        f"| {ing['encode_chunks_per_s']} | {ing['encode_tokens_per_s']:,.0f} |",
        f"| **pipeline / encode** | | | | **{ing['ratio_to_encode']:.2f}** | |",
        "",
        "| embedding backend | chunks/s | question embedding p50 / p95 ms | seeds hit@5 | seeds key facts |",
        "|---|---:|---:|---:|---:|",
        *(
            f"| {b['backend']} | {b['chunks_per_s']} | {b['query_embedding']['p50_ms']:.1f} / "
            f"{b['query_embedding']['p95_ms']:.1f} | {b['seeds_hit@5']:.3f} | {b['seeds_key_facts']:.3f} |"
            for b in report.get("backends", [])
        ),
        "",
    ]


def write(report: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1), encoding="utf-8")
