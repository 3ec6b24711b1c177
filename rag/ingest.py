"""Ingestion: load, split, embed and store, touching only what changed."""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from rag.embedding import Embedder
from rag.errors import InputError
from rag.loading import Skipped, display_source, find_files, load_documents, printable
from rag.splitting import iter_chunks
from rag.storage import Index, check_new_index_folder, owned_names
from rag.types import Chunk, Document


@dataclass
class IngestReport:
    added: list[Document] = field(default_factory=list)
    replaced: list[Document] = field(default_factory=list)
    unchanged: list[Document] = field(default_factory=list)
    continued: list[Document] = field(default_factory=list)  # finished after an interruption
    duplicates: list[tuple[Document, str]] = field(default_factory=list)
    removed: list[Document] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    chunks_embedded: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.replaced or self.removed or self.continued)

    def lines(self) -> list[str]:
        out = [f"skipped {printable(str(s.path))}: {s.reason}" for s in self.skipped]
        out += [
            f"skipped {printable(d.source)}: same text as {printable(other)}" for d, other in self.duplicates
        ]
        continued = f", {len(self.continued)} continued" if self.continued else ""
        out.append(
            f"{len(self.added)} added, {len(self.replaced)} replaced{continued}, {len(self.unchanged)} "
            f"unchanged, {len(self.removed)} removed; {self.chunks_embedded} chunks embedded"
        )
        return out


def open_or_create(
    path: Path,
    embedder: Embedder,
    chunk_size: int,
    overlap: int,
    rebuild: bool = False,
    store: str = "faiss",
    store_settings: dict[str, Any] | None = None,
) -> Index:
    """The index at ``path``, or a new one on ``store`` (an existing index keeps its own)."""
    chunking = {"size": chunk_size, "overlap": overlap}
    if rebuild or not Index.exists(path):
        # Before any embedding: refuse a folder that is not an index, or a damaged one.
        check_new_index_folder(path, owned_names(store, store_settings))
        index = Index(path, embedder.name, embedder.dimension, chunking, store, store_settings)
        index.start_afresh()
        return index
    index = Index.open(path, model=embedder.name)
    if index.chunking != chunking:
        raise InputError(
            f"The index at {path} was chunked with {index.chunking}, not {chunking}; "
            "add --rebuild to re-chunk every document."
        )
    return index


def ingest(
    paths: Iterable[Path],
    index: Index,
    embedder: Embedder,
    home: Path,
    prune: bool = False,
    progress: bool = True,
    batch: int = 512,
    overlap: bool | None = None,
) -> IngestReport:
    """Bring the index up to date with the files under ``paths``.

    Files stream through in batches of about ``batch`` chunks (whole documents); each batch
    is embedded and committed as one segment, so memory stays bounded and an interrupted
    run loses at most the batch in flight: the next run finds the rest unchanged.
    """
    paths = list(paths)
    report = IngestReport()
    by_source = index.by_source()
    known = {doc_id: doc.source for doc_id, doc in index.documents.items()}
    seen_ids: dict[str, str] = {}
    size, chunk_overlap = index.chunking["size"], index.chunking["overlap"]
    files = sum(1 for _ in find_files(paths))
    # What the next segment holds: the documents that start in it, the chunks (of those or
    # of a long document begun in an earlier batch), and how far each document has got.
    batch_docs: list[Document] = []
    batch_chunks: list[Chunk] = []
    progress_of: dict[str, int | None] = {}
    # With the model on a GPU, one writer thread counts terms and commits batch N while
    # batch N+1 is embedded, in order. On a CPU the model's threads already fill the cores:
    # measured, the thread gained nothing there and made the rate vary by 10-15 %.
    if overlap is None:
        overlap = str(getattr(embedder, "device", "cpu")).startswith("cuda")
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rag-ingest-writer")
    pending: list[Future[None]] = []

    def in_order(job: Callable[[], None]) -> None:
        if not overlap:
            job()
            return
        while pending and pending[0].done():
            pending.pop(0).result()  # raise a writer error here, in the caller
        pending.append(writer.submit(job))

    with (
        tqdm(
            total=files,
            unit="file",
            desc="Embedding",
            disable=not progress,
            dynamic_ncols=True,
            smoothing=0.1,
        ) as bar,
        writer,
    ):
        started = time.monotonic()

        def flush() -> None:
            docs, chunks, marks = list(batch_docs), list(batch_chunks), dict(progress_of)
            vectors = embedder.embed([c.text for c in chunks])

            def save() -> None:
                index.add_batch(docs, chunks, vectors, marks)
                index.commit()
                report.chunks_embedded += len(chunks)
                bar.update(sum(1 for saved in marks.values() if saved is None))
                rate = report.chunks_embedded / max(time.monotonic() - started, 1e-9)
                bar.set_postfix_str(f"{report.chunks_embedded:,} chunks, {rate:,.1f} chunks/s", refresh=False)

            in_order(save)
            batch_docs.clear()
            batch_chunks.clear()
            progress_of.clear()

        def feed(doc: Document, saved: int) -> None:
            """Queue the document's chunks after the first ``saved``, saving whenever a
            batch is full, so even one huge document is held a batch at a time."""
            if not saved:
                batch_docs.append(doc)
            chunks = itertools.islice(iter_chunks(doc, size, chunk_overlap), saved, None)
            following = next(chunks, None)
            while following is not None:
                chunk, following = following, next(chunks, None)
                batch_chunks.append(chunk)
                saved += 1
                progress_of[doc.doc_id] = None if following is None else saved
                if len(batch_chunks) >= batch:
                    flush()

        for item in load_documents(paths, home):
            if isinstance(item, Skipped):
                report.skipped.append(item)
                bar.update(1)
                continue
            doc = item
            if doc.doc_id in index.incomplete and doc.doc_id not in seen_ids:
                # Begun by an interrupted run: continue after the chunks it saved.
                seen_ids[doc.doc_id] = doc.source
                report.continued.append(doc)
                feed(doc, index.incomplete[doc.doc_id])
                continue
            if doc.doc_id in seen_ids or doc.doc_id in known:
                first = seen_ids.get(doc.doc_id) or known[doc.doc_id]
                if first == doc.source:
                    report.unchanged.append(doc)
                else:
                    report.duplicates.append((doc, first))
                seen_ids.setdefault(doc.doc_id, doc.source)
                bar.update(1)
                continue
            seen_ids[doc.doc_id] = doc.source
            if doc.source in by_source:
                in_order(functools.partial(index.remove, {by_source.pop(doc.source)}))
                report.replaced.append(doc)
            else:
                report.added.append(doc)
            feed(doc, 0)
        if batch_chunks:
            flush()
        for job in pending:
            job.result()

    if prune:
        roots = [display_source(p, home) for p in paths if p.is_dir()]
        present = set(seen_ids.values())
        gone = [
            d
            for d in index.documents.values()
            if d.source not in present and any(d.source.startswith(r.rstrip("/") + "/") for r in roots)
        ]
        index.remove({d.doc_id for d in gone})
        report.removed.extend(gone)
    if report.changed or not Index.exists(index.path):
        index.save()
    return report


def remove_documents(index: Index, names: Iterable[str]) -> list[Document]:
    """Drop documents named by doc_id or source; unknown names are an error."""
    by_source = index.by_source()
    targets: dict[str, Document] = {}
    for name in names:
        doc_id = name if name in index.documents else by_source.get(name)
        if doc_id is None:
            raise InputError(f"No document '{name}' in the index; `rag docs` lists them.")
        targets[doc_id] = index.documents[doc_id]
    index.remove(set(targets))
    index.save()
    return list(targets.values())
