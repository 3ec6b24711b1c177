"""Ingestion: load, split, embed and store, touching only what changed."""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from rag.embedding import INT8_SUFFIX, Embedder
from rag.errors import InputError
from rag.loading import (
    Skipped,
    display_source,
    find_files,
    is_archive,
    load_documents,
    no_documents,
    printable,
)
from rag.settings import Settings
from rag.splitting import iter_chunks
from rag.storage import Index, check_new_index_folder, owned_names
from rag.storage.qdrant import POINTER, Collections, Place, QdrantIndex, locate
from rag.types import Chunk, Document

Writable = Index | QdrantIndex  # what ingestion writes to: an index folder, or a Qdrant one


@dataclass(frozen=True)
class Prepared:
    """A document's chunks after the first ``saved``, split and embedded elsewhere (on a
    Ray cluster's worker: rag/distributed.py)."""

    saved: int
    chunks: list[Chunk]
    vectors: np.ndarray


# Where the documents come from: each file loaded, with its chunks already prepared, or
# None to split and embed here; the default loads the files in this process.
Source = Callable[[list[Path], Path, Writable], Iterator[tuple[Document | Skipped, Prepared | None]]]


def _here(paths: list[Path], home: Path, index: Writable) -> Iterator[tuple[Document | Skipped, None]]:
    return ((item, None) for item in load_documents(paths, home))


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

    def lines(self, chunks: str = "chunks") -> list[str]:
        """The report as lines; ``chunks``: the word for them (the app says passages)."""
        out = [f"skipped {printable(str(s.path))}: {s.reason}" for s in self.skipped]
        out += [
            f"skipped {printable(d.source)}: same text as {printable(other)}" for d, other in self.duplicates
        ]
        continued = f", {len(self.continued)} continued" if self.continued else ""
        out.append(
            f"{len(self.added)} added, {len(self.replaced)} replaced{continued}, {len(self.unchanged)} "
            f"unchanged, {len(self.removed)} removed; {self.chunks_embedded} "
            f"{chunks.removesuffix('s') if self.chunks_embedded == 1 else chunks} embedded"
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
) -> Writable:
    """The index at ``path``, or a new one on ``store`` (an existing index keeps its own):
    a folder (FAISS), or a Qdrant collection the folder names or is named after."""
    chunking = {"size": chunk_size, "overlap": overlap}
    options = store_settings or {}
    place = locate(path, store, options.get("url"), options.get("api_key"))
    if place is not None:
        if rebuild or not Collections(place).exists():
            check_new_index_folder(path, {POINTER, "qdrant"})
            return QdrantIndex.create(place, embedder.name, embedder.dimension, chunking)
        index: Writable = QdrantIndex.open(place, model=embedder.name)
    elif rebuild or not Index.exists(path):
        # Before any embedding: refuse a folder that is not an index, or a damaged one.
        check_new_index_folder(path, owned_names(store, store_settings))
        index = Index(path, embedder.name, embedder.dimension, chunking, store, store_settings)
        index.start_afresh()
        return index
    else:
        index = Index.open(path, model=embedder.name)
    if index.chunking != chunking:
        raise InputError(
            f"The index at {path} was chunked with {index.chunking}, not {chunking}; "
            "add --rebuild to re-chunk every document."
        )
    return index


def with_recorded_backend(settings: Settings) -> Settings:
    """The settings an existing index is asked and added to with: an index built with the
    int8 model (its manifest records ``…@int8``) is embedded with it again, unless a
    backend other than ``auto`` was chosen (which the model check then judges)."""
    if settings.embedding_backend != "auto" or qdrant_place(settings) is not None:
        return settings
    recorded = Index.recorded_model(settings.index_dir)
    if recorded is not None and recorded.endswith(INT8_SUFFIX):
        return settings.with_overrides(embedding_backend="onnx-int8")
    return settings


def qdrant_place(settings: Settings) -> Place | None:
    """The Qdrant collection the settings' index is, if it is one."""
    return locate(
        settings.index_dir, settings.store, settings.qdrant_url or None, settings.qdrant_api_key or None
    )


def open_index(settings: Settings, model: str | None = None) -> Writable:
    """The settings' existing index, opened for writing (``model``: refuse another)."""
    place = qdrant_place(settings)
    return QdrantIndex.open(place, model) if place else Index.open(settings.index_dir, model=model)


def check_new_index(settings: Settings, rebuild: bool) -> None:
    """Refuse, before any model loads, to start an index in a folder that is not one."""
    place = qdrant_place(settings)
    if place is not None:
        if rebuild or not Collections(place).exists():
            check_new_index_folder(settings.index_dir, {POINTER, "qdrant"})
    elif rebuild or not Index.exists(settings.index_dir):
        check_new_index_folder(settings.index_dir, owned_names(settings.store, settings.store_settings()))


def create_index(settings: Settings, embedder: Embedder, rebuild: bool = False) -> Writable:
    """The settings' index opened for writing, or made (``rebuild``: made afresh)."""
    return open_or_create(
        settings.index_dir,
        embedder,
        settings.chunk_size,
        settings.chunk_overlap,
        rebuild,
        settings.store,
        settings.store_settings(),
    )


def ingest(
    paths: Iterable[Path],
    index: Writable,
    embedder: Embedder,
    home: Path,
    prune: bool = False,
    progress: bool | Callable[[int, int], None] = True,
    batch: int = 512,
    overlap: bool | None = None,
    documents: Source = _here,
) -> IngestReport:
    """Bring the index up to date with the files under ``paths`` (folders, files, and tar
    archives read member by member, as the folders they unpack to).

    Files stream through in batches of about ``batch`` chunks; each batch is embedded and
    committed as one segment, so memory stays bounded (even inside one long document) and
    an interrupted run loses at most the batch in flight: the next run finds the rest
    unchanged, and continues a document it had begun. ``progress``: a bar on the terminal,
    or a function told (files done, files in all) as they go. ``documents``: where the
    files are loaded (and perhaps split and embedded); the decisions and commits are here.
    """
    paths = list(paths)
    report = IngestReport()
    by_source = index.by_source()
    known = {doc_id: doc.source for doc_id, doc in index.documents.items()}
    seen: dict[str, str] = {}
    bar = _progress_bar(paths, progress)
    overlap = _overlapped(embedder) if overlap is None else overlap
    with bar, _Batches(index, embedder, report, bar, batch, overlap) as batches:
        for item, ready in documents(paths, home, index):
            if isinstance(item, Skipped):
                report.skipped.append(item)
                bar.update(1)
            elif item.doc_id in index.incomplete and item.doc_id not in seen:
                # Begun by an interrupted run: continue after the chunks it saved.
                seen[item.doc_id] = item.source
                report.continued.append(item)
                batches.feed(item, index.incomplete[item.doc_id], ready)
            elif item.doc_id in seen or (item.doc_id in known and _same_metadata(index, item)):
                first = seen.setdefault(item.doc_id, known.get(item.doc_id, item.source))
                if first == item.source:
                    report.unchanged.append(item)
                else:
                    report.duplicates.append((item, first))
                bar.update(1)
            else:
                seen[item.doc_id] = item.source
                if item.source in by_source:
                    batches.then(functools.partial(index.remove, {by_source.pop(item.source)}))
                    report.replaced.append(item)
                else:
                    report.added.append(item)
                batches.feed(item, 0, ready)
    if not seen:
        raise no_documents(paths, report.skipped)
    if prune:
        report.removed.extend(_prune(index, paths, set(seen.values()), home))
    if report.changed or not index.saved:
        index.save()
    return report


def _overlapped(embedder: Embedder) -> bool:
    """With the model on a GPU (or a Ray cluster's workers embedding), one writer thread
    counts terms and commits batch N while batch N+1 is embedded, in order. On a CPU the
    model's threads already fill the cores: measured, the thread gained nothing there and
    made the rate vary by 10-15 %."""
    return str(getattr(embedder, "device", "cpu")).startswith(("cuda", "ray"))


def _same_metadata(index: Writable, doc: Document) -> bool:
    """Whether the indexed copy of the text says the same of it (a metadata file beside it
    may have changed): if not, the document is replaced."""
    indexed = index.documents.get(doc.doc_id)
    return indexed is None or indexed.source != doc.source or indexed.metadata == doc.metadata


def _progress_bar(paths: list[Path], progress: bool | Callable[[int, int], None]) -> tqdm | _Reported:
    total = sum(1 for _ in find_files(paths))
    if callable(progress):
        return _Reported(progress, total)
    return tqdm(
        total=total,
        unit="file",
        desc="Embedding",
        disable=not progress,
        dynamic_ncols=True,
        smoothing=0.1,
    )


class _Reported:
    """A progress bar that tells a function instead of drawing (the app's upload worker)."""

    def __init__(self, tell: Callable[[int, int], None], total: int):
        self.tell, self.n, self.total = tell, 0, total
        tell(0, total)

    def __enter__(self) -> _Reported:
        return self

    def __exit__(self, *_: Any) -> None:
        pass

    def update(self, n: int = 1) -> None:
        self.n += n
        self.tell(self.n, self.total)

    def set_postfix_str(self, *_: Any, **__: Any) -> None:
        pass


def _prune(index: Writable, paths: list[Path], present: set[str], home: Path) -> list[Document]:
    """Drop documents whose files are gone from the folders or archives given (a member's
    source is its archive's, then its name inside: ``a.tar.gz/ungdc/…/CHN_79_2024.txt``)."""
    roots = [display_source(p, home) for p in paths if p.is_dir() or (p.is_file() and is_archive(p))]
    gone = [
        d
        for d in index.documents.values()
        if d.source not in present and any(d.source.startswith(r.rstrip("/") + "/") for r in roots)
    ]
    index.remove({d.doc_id for d in gone})
    return gone


class _Batches:
    """What the next segment holds (the documents that start in it, the chunks, of those
    or of a long document begun in an earlier batch, and how far each document has got),
    and the saving of each full batch, in order."""

    def __init__(
        self,
        index: Writable,
        embedder: Embedder,
        report: IngestReport,
        bar: tqdm | _Reported,
        size: int,
        threaded: bool,
    ):
        self.index, self.embedder, self.report, self.bar, self.size = index, embedder, report, bar, size
        self.documents: list[Document] = []
        self.chunks: list[Chunk] = []
        self.given: list[np.ndarray | None] = []  # each chunk's vector when prepared elsewhere
        self.progress: dict[str, int | None] = {}
        self.writer = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="rag-ingest-writer") if threaded else None
        )
        self.pending: list[Future[None]] = []
        self.started = time.monotonic()

    def __enter__(self) -> _Batches:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: Any) -> None:
        try:
            if kind is None and self.chunks:
                self.flush()
            for job in self.pending:
                job.result()
        finally:
            if self.writer is not None:
                self.writer.shutdown(wait=True)

    def then(self, job: Callable[[], None]) -> None:
        """Run ``job`` after everything queued before it (on the writer thread, if any)."""
        if self.writer is None:
            job()
            return
        while self.pending and self.pending[0].done():
            self.pending.pop(0).result()  # raise a writer error here, in the caller
        self.pending.append(self.writer.submit(job))

    def feed(self, doc: Document, saved: int, ready: Prepared | None = None) -> None:
        """Queue the document's chunks after the first ``saved`` (``ready``: as prepared
        elsewhere), saving whenever a batch is full, so even one huge document is held a
        batch at a time."""
        size, overlap = self.index.chunking["size"], self.index.chunking["overlap"]
        if not saved:
            self.documents.append(doc)
        if ready is not None and ready.saved == saved:
            chunks: Iterator[Chunk] = iter(ready.chunks)
            vectors: Iterator[np.ndarray | None] = iter(ready.vectors)
        else:
            chunks = itertools.islice(iter_chunks(doc, size, overlap), saved, None)
            vectors = itertools.repeat(None)
        following = next(chunks, None)
        while following is not None:
            chunk, following = following, next(chunks, None)
            self.chunks.append(chunk)
            self.given.append(next(vectors))
            saved += 1
            self.progress[doc.doc_id] = None if following is None else saved
            if len(self.chunks) >= self.size:
                self.flush()

    def flush(self) -> None:
        docs, chunks, marks = list(self.documents), list(self.chunks), dict(self.progress)
        vectors = np.zeros((len(chunks), self.index.dimension), dtype=np.float32)
        here = [i for i, given in enumerate(self.given) if given is None]
        if here:
            vectors[here] = self.embedder.embed([chunks[i].text for i in here])
        for i, given in enumerate(self.given):
            if given is not None:
                vectors[i] = given

        def save() -> None:
            self.index.add_batch(docs, chunks, vectors, marks)
            self.index.commit()
            self.report.chunks_embedded += len(chunks)
            self.bar.update(sum(1 for saved in marks.values() if saved is None))
            rate = self.report.chunks_embedded / max(time.monotonic() - self.started, 1e-9)
            self.bar.set_postfix_str(
                f"{self.report.chunks_embedded:,} chunks, {rate:,.1f} chunks/s", refresh=False
            )

        self.then(save)
        self.documents.clear()
        self.chunks.clear()
        self.given.clear()
        self.progress.clear()


def remove_documents(index: Writable, names: Iterable[str]) -> list[Document]:
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
