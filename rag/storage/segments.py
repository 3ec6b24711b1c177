"""Segments: the append-only files one ingestion batch is saved as (documents, chunks,
vectors, term counts) and the record each carries, read and written with checksums."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from rag.errors import IndexCorruptError
from rag.storage.files import fsync, read_jsonl, sha256
from rag.storage.manifest import PARTS, RECORD
from rag.storage.rows import SavedChunks
from rag.types import Chunk, Document


@dataclass
class Block:
    """The rows one segment holds (or will hold, once written: ``name`` is None until then)."""

    documents: list[Document]
    chunks: Sequence[Chunk]  # a list, or a saved segment's columns (SavedChunks)
    vectors: np.ndarray
    counts: sparse.csr_matrix | None  # None until asked for (``term_counts``): a read segment
    new_terms: list[str]
    name: str | None = None
    checksums: dict[str, str] = field(default_factory=dict)
    replaces: tuple[str, ...] = ()  # the saved segments this one is a rewrite of
    added: str = ""  # when its documents were added (kept by a rewrite), ISO 8601
    columns: int = 0  # terms in the vocabulary up to and including this segment's

    def term_counts(self, folder: Path | None = None) -> sparse.csr_matrix:
        """Its chunks' term counts: a saved segment's are read from its file when first
        needed (by a writer, or for rows the index's stored postings do not cover)."""
        if self.counts is None:
            assert folder is not None and self.name is not None
            with np.load(folder / f"{self.name}.terms.npz", allow_pickle=False) as terms:
                self.counts = sparse.csr_matrix(
                    (terms["data"], terms["indices"], terms["indptr"]), shape=(len(self.chunks), self.columns)
                )
        return self.counts


def read_segment(
    folder: Path, name: str, earlier: Mapping[str, Document], vocabulary: int, dimension: int
) -> Block:
    """A saved segment; ``earlier`` holds the documents saved in earlier segments
    (a long document's later chunks sit in later segments than the document itself), and
    ``vocabulary`` the number of terms the earlier segments introduced."""
    documents = [
        Document(row["doc_id"], row["source"], row["text"], row["metadata"])
        for row in read_jsonl(folder / f"{name}.documents.jsonl")
    ]
    here = {d.doc_id: d for d in documents}
    rows = read_jsonl(folder / f"{name}.chunks.jsonl")
    chunks = SavedChunks(
        [row["chunk_id"] for row in rows],
        [here.get(row["doc_id"]) or earlier[row["doc_id"]] for row in rows],
        np.fromiter((row["start"] for row in rows), np.int64, len(rows)),
        np.fromiter((row["end"] for row in rows), np.int64, len(rows)),
    )
    vectors = np.load(folder / f"{name}.vectors.npy", mmap_mode="r", allow_pickle=False)
    with np.load(folder / f"{name}.terms.npz", allow_pickle=False) as terms:
        new_terms = [str(t) for t in terms["new_terms"]]
        if len(terms["indptr"]) != len(chunks) + 1:
            raise ValueError(f"segment {name} has term counts for {len(terms['indptr']) - 1} chunks")
    if vectors.shape != (len(chunks), dimension):
        raise ValueError(f"segment {name} has {vectors.shape[0]} vectors for {len(chunks)} chunks")
    block = Block(documents, chunks, vectors, None, new_terms, name)
    block.columns = vocabulary + len(new_terms)
    return block


def segment_files(folder: Path, segment: dict[str, Any]) -> list[Path]:
    return [folder / f"{segment['name']}.{part}" for part in segment["checksums"]]


def check_segment(folder: Path, segment: dict[str, Any], digest: Callable[[Path], str] = sha256) -> None:
    """Each of a segment's files against the checksum the manifest gives it."""
    for part, expected in segment["checksums"].items():
        file = folder / f"{segment['name']}.{part}"
        if not file.is_file():
            raise FileNotFoundError(file)  # a writer replaced it while we read: try again
        if digest(file) != expected:
            raise IndexCorruptError(
                f"The index file {file} is missing or does not match its checksum; {_rebuild(folder)}."
            )


def read_checked_segment(
    folder: Path,
    segment: dict[str, Any],
    earlier: Mapping[str, Document],
    vocabulary: int,
    dimension: int,
    checked: Callable[[], None] | None = None,
) -> Block:
    """A segment the manifest names, after checking each file against its checksum;
    ``checked`` waits for a check already under way elsewhere (and raises what it found)."""
    wait = checked or (lambda: check_segment(folder, segment))
    if checked is None:
        wait()
    try:
        block = read_segment(folder, segment["name"], earlier, vocabulary, dimension)
    except FileNotFoundError:
        raise
    except (OSError, ValueError, KeyError) as exc:
        wait()  # a file that does not match its checksum says so, before what broke reading it
        raise IndexCorruptError(f"The index at {folder} is damaged ({exc}); {_rebuild(folder)}.") from None
    block.checksums = dict(segment["checksums"])
    block.added = str(segment.get("added") or "")
    return block


def _rebuild(folder: Path) -> str:
    return f"rebuild it with: rag ingest PATH --index {folder} --rebuild"


def write_segment(folder: Path, block: Block, name: str, written: list[Path], record: dict[str, Any]) -> None:
    """Write a segment's four files and its record (``record`` plus the checksums), noting
    each path in ``written`` before it is opened, so a failed commit can remove them."""
    paths = [folder / f"{name}.{part}" for part in PARTS]
    docs, chunks, vectors, terms = paths
    written.append(docs)
    with docs.open("w", encoding="utf-8") as fh:
        for d in block.documents:
            _write_document_row(fh, d)
    written.append(chunks)
    with chunks.open("w", encoding="utf-8") as fh:
        for c in block.chunks:
            fh.write(json.dumps({"chunk_id": c.chunk_id, "doc_id": c.doc_id, "start": c.start, "end": c.end}))
            fh.write("\n")
    written.append(vectors)
    with vectors.open("wb") as fh:
        np.save(fh, np.ascontiguousarray(block.vectors, dtype=np.float32), allow_pickle=False)
    written.append(terms)
    counts = block.term_counts(folder)
    with terms.open("wb") as fh:
        np.savez(
            fh,
            data=counts.data.astype(np.float32),
            indices=counts.indices.astype(np.int32),
            indptr=counts.indptr.astype(np.int64),
            new_terms=np.array(block.new_terms, dtype=str),
        )
    for path in paths:
        fsync(path)
    block.name = name
    block.checksums = {part: sha256(path) for part, path in zip(PARTS, paths, strict=True)}
    own = folder / f"{name}.{RECORD}"
    written.append(own)
    own.write_text(json.dumps({**record, "name": name, "checksums": block.checksums}, indent=1), "utf-8")
    fsync(own)


def _write_document_row(fh: Any, doc: Document) -> None:
    """One JSON line per document, its text encoded a slice at a time: a 200 MB statement
    is never held a second time as one JSON string."""
    head = {"doc_id": doc.doc_id, "source": doc.source, "metadata": doc.metadata}
    fh.write(json.dumps(head, ensure_ascii=False)[:-1] + ', "text": "')
    step = 1 << 20
    for start in range(0, len(doc.text), step):
        fh.write(json.dumps(doc.text[start : start + step], ensure_ascii=False)[1:-1])
    fh.write('"}\n')


def check_batch(
    documents: list[Document], chunks: list[Chunk], vectors: np.ndarray, dimension: int, held: Iterable[str]
) -> None:
    """A batch any index accepts: one vector per chunk, of the index's dimension, and every
    chunk's document among those ``held`` or in the batch."""
    if vectors.shape != (len(chunks), dimension):
        raise ValueError("one vector per chunk, of the index's dimension")
    known = set(held) | {d.doc_id for d in documents}
    if any(c.doc_id not in known for c in chunks):
        raise ValueError("every chunk's document is in the index or in the batch")


def progressed(incomplete: dict[str, int], marks: dict[str, int | None] | None) -> dict[str, int]:
    """Documents still partly saved, after a batch's ``marks`` (None: now whole)."""
    return {d: n for d, n in {**incomplete, **(marks or {})}.items() if n is not None}
