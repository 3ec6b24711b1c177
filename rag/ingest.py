"""Ingestion: load, split, embed and store, touching only what changed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from rag.embedding import Embedder
from rag.errors import InputError
from rag.loading import Skipped, display_source, load_documents
from rag.splitting import split_document
from rag.store import Index
from rag.types import Chunk, Document


@dataclass
class IngestReport:
    added: list[Document] = field(default_factory=list)
    replaced: list[Document] = field(default_factory=list)
    unchanged: list[Document] = field(default_factory=list)
    duplicates: list[tuple[Document, str]] = field(default_factory=list)
    removed: list[Document] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    chunks_embedded: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.replaced or self.removed)

    def lines(self) -> list[str]:
        out = [f"skipped {s.path}: {s.reason}" for s in self.skipped]
        out += [f"skipped {d.source}: same text as {other}" for d, other in self.duplicates]
        out.append(
            f"{len(self.added)} added, {len(self.replaced)} replaced, {len(self.unchanged)} "
            f"unchanged, {len(self.removed)} removed; {self.chunks_embedded} chunks embedded"
        )
        return out


def open_or_create(
    path: Path, embedder: Embedder, chunk_size: int, overlap: int, rebuild: bool = False
) -> Index:
    chunking = {"size": chunk_size, "overlap": overlap}
    if rebuild or not Index.exists(path):
        return Index(path, embedder.name, embedder.dimension, chunking)
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
    batch: int = 256,
) -> IngestReport:
    """Bring the index up to date with the files under ``paths`` and save it."""
    paths = list(paths)
    report = IngestReport()
    by_source = index.by_source()
    seen_ids: dict[str, str] = {}
    pending: list[tuple[Document, list[Chunk]]] = []
    for item in load_documents(paths, home):
        if isinstance(item, Skipped):
            report.skipped.append(item)
            continue
        doc = item
        if doc.doc_id in seen_ids:
            report.duplicates.append((doc, seen_ids[doc.doc_id]))
            continue
        seen_ids[doc.doc_id] = doc.source
        if doc.doc_id in index.documents:
            existing = index.documents[doc.doc_id]
            if existing.source == doc.source:
                report.unchanged.append(doc)
            else:
                report.duplicates.append((doc, existing.source))
            continue
        if doc.source in by_source:
            old = index.documents[by_source[doc.source]]
            index.remove({old.doc_id})
            report.replaced.append(doc)
        else:
            report.added.append(doc)
        size, overlap = index.chunking["size"], index.chunking["overlap"]
        pending.append((doc, split_document(doc, size, overlap)))

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

    total = sum(len(chunks) for _, chunks in pending)
    with tqdm(
        total=total, unit="chunk", desc="Embedding", disable=not progress or total == 0, dynamic_ncols=True
    ) as bar:

        def flush(queue: list[tuple[Document, list[Chunk]]]) -> None:
            texts = [c.text for _, chunks in queue for c in chunks]
            vectors = embedder.embed(texts)
            offset = 0
            for doc, chunks in queue:
                index.add(doc, chunks, vectors[offset : offset + len(chunks)])
                offset += len(chunks)
            bar.update(len(texts))
            report.chunks_embedded += len(texts)

        # Whole documents per embedding call, about ``batch`` chunks at a time.
        queue: list[tuple[Document, list[Chunk]]] = []
        for doc, chunks in pending:
            queue.append((doc, chunks))
            if sum(len(c) for _, c in queue) >= batch:
                flush(queue)
                queue = []
        if queue:
            flush(queue)
    if report.changed or not (index.path / "manifest.json").exists():
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
