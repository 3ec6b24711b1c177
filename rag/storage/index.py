"""The on-disk index: append-only segments of documents, chunks, vectors and term counts
under one manifest. Each ingestion batch is one segment, committed by replacing the
manifest, so a killed writer loses at most the batch it was writing."""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from rag.errors import IndexCorruptError
from rag.storage import manifest as mf
from rag.storage.files import Digests
from rag.storage.ledger import Ledger
from rag.storage.postings import Postings, read_postings
from rag.storage.rows import ChunkTable, doc_ids_of
from rag.storage.segments import (
    Block,
    check_batch,
    check_segment,
    progressed,
    read_checked_segment,
    segment_files,
)
from rag.storage.vectors import VectorStore, make_vector_store
from rag.terms import Vocabulary, stack_rows
from rag.types import Chunk, Document


class Index:
    """Documents, their chunks and one vector per chunk; row ``i`` is ``chunks[i]``."""

    def __init__(
        self,
        path: Path,
        model: str,
        dimension: int,
        chunking: dict[str, int],
        store: str = "faiss",
        store_settings: dict[str, Any] | None = None,
        store_record: dict[str, Any] | None = None,
    ):
        self.path, self.model, self.dimension, self.chunking = path, model, dimension, chunking
        self.documents: dict[str, Document] = {}
        self.chunks = ChunkTable()  # row i is chunks[i]; made from the segments' columns
        self.blocks: list[Block] = []
        self.vocabulary = Vocabulary()
        self.vectors: VectorStore = make_vector_store(
            store, dimension, path, store_record, store_settings or {}
        )
        self.ledger = Ledger(path, store_record)
        self._version = 0  # bumps on every change, so derived tables know to rebuild
        # Documents whose chunks are only partly saved (a long one split over batches):
        # doc_id -> chunks saved so far, so an interrupted ingestion continues from there.
        self.incomplete: dict[str, int] = {}
        self.postings: Postings | None = None  # BM25's counts as saved (rag/storage/postings.py)

    # -- reading -----------------------------------------------------------------------

    @staticmethod
    def exists(path: Path) -> bool:
        return (path / mf.MANIFEST).is_file()

    @staticmethod
    def recorded_model(path: Path) -> str | None:
        """The embedding model the index at ``path`` records (None: no index there)."""
        model = mf.peek(path).get("embedding_model")
        return model if isinstance(model, str) else None

    @staticmethod
    def format_of(path: Path) -> int | None:
        version = mf.peek(path).get("format_version")
        return version if isinstance(version, int) and not isinstance(version, bool) else None

    @classmethod
    def open(
        cls,
        path: Path,
        model: str | None = None,
        earlier: Index | None = None,
    ) -> Index:
        """Open an index (reusing segments ``earlier`` read); refuse other models, damage."""
        for attempt in range(3):
            try:
                return cls._open(path, model, earlier)
            except FileNotFoundError:
                # A writer replaced a segment between our reading the manifest and its files.
                if attempt == 2 or not cls.exists(path):
                    raise IndexCorruptError(
                        f"The index at {path} lost files while being read; "
                        f"rebuild it with: rag ingest PATH --index {path} --rebuild."
                    ) from None
        raise AssertionError("unreachable")

    @classmethod
    def _open(cls, path: Path, model: str | None, earlier: Index | None) -> Index:
        manifest = mf.read_for_opening(path, model)
        record = manifest["store"]
        settings = dict(record.get("options") or {})
        shape = (manifest["embedding_model"], manifest["dimension"], manifest["chunking"])
        index = cls(path, *shape, record["kind"], settings, record)
        index.ledger.follow(manifest)
        index.incomplete = dict(manifest.get("incomplete", {}))
        for block in _segments(index, manifest["segments"], earlier):
            index._attach(block)
        if (
            len(index.chunks) != manifest["counts"]["chunks"]
            or not index.incomplete.keys() <= index.documents.keys()
        ):
            raise IndexCorruptError(
                f"The index at {path} has segments that do not match its manifest; {mf.rebuild_hint(path)}."
            )
        index.postings = _postings(index, manifest.get("postings"))
        index.vectors.sync([b.vectors for b in index.blocks])
        # The tables live as long as the process: keep the collector from walking them
        # again and again (at 200,000 chunks a full collection pauses a question ~50 ms).
        gc.freeze()
        return index

    def _attach(self, block: Block, counted: bool = False) -> None:
        if not counted:
            self.vocabulary.extend(block.new_terms)
        self.blocks.append(block)
        for doc in block.documents:
            self.documents[doc.doc_id] = doc
        self.chunks.extend(block.chunks)

    def by_source(self) -> dict[str, str]:
        return {doc.source: doc_id for doc_id, doc in self.documents.items()}

    def search(
        self, query: np.ndarray, n: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Inner-product search; ``allowed`` restricts it to those chunk rows."""
        n = min(n, len(self.chunks) if allowed is None else len(allowed))
        if n <= 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        return self.vectors.search(np.asarray(query, dtype=np.float32).ravel(), n, allowed)

    def vectors_of(self, rows: np.ndarray) -> np.ndarray:
        return self.vectors.vectors_of(np.asarray(rows, dtype=np.int64))

    def term_counts(self) -> tuple[sparse.csr_matrix, list[str], Postings | None]:
        """Term counts: the stored postings' rows (memory-mapped), the others' stacked."""
        blocks, stored = _after(self.blocks, self.postings)
        counts = stack_rows([b.term_counts(self.path) for b in blocks], len(self.vocabulary))
        return counts, self.vocabulary.terms, stored

    @property
    def saved(self) -> bool:
        return Index.exists(self.path)

    @property
    def chunk_total(self) -> int:
        return len(self.chunks)

    @property
    def chunk_counts(self) -> dict[str, int]:
        return dict(Counter(self.chunks.doc_ids()))

    @property
    def version(self) -> int:
        return self._version

    @property
    def store(self) -> str:
        return self.vectors.kind

    # -- changing ----------------------------------------------------------------------

    def add_batch(
        self,
        documents: list[Document],
        chunks: list[Chunk],
        vectors: np.ndarray,
        incomplete: dict[str, int | None] | None = None,
    ) -> None:
        """Add chunks and their vectors as one new (unsaved) segment, with the documents
        that start in it; ``incomplete`` records, per document, how many of its chunks are
        saved when it continues in a later batch (None once it is whole)."""
        check_batch(documents, chunks, vectors, self.dimension, self.documents)
        counts, new_terms = self.vocabulary.count(c.text for c in chunks)
        self.add_rows(Block(list(documents), list(chunks), vectors, counts, new_terms), counted=True)
        self.incomplete = progressed(self.incomplete, incomplete)

    def add_rows(self, block: Block, counted: bool = False) -> None:
        """Add a prepared, unsaved segment; ``counted``: its terms are in the vocabulary."""
        block.vectors = np.ascontiguousarray(block.vectors, dtype=np.float32)
        self._attach(block, counted)
        self.vectors.append(block.vectors)
        self._version += 1

    def remove(self, doc_ids: set[str]) -> int:
        """Drop documents and their chunks; returns how many chunks went."""
        doc_ids = doc_ids & self.documents.keys()
        if not doc_ids:
            return 0
        before = len(self.chunks)
        self.blocks = [_without(block, doc_ids, self.path) for block in self.blocks]
        for doc_id in doc_ids:
            del self.documents[doc_id]
            self.incomplete.pop(doc_id, None)
        self.chunks = ChunkTable(b.chunks for b in self.blocks)
        self.vectors.sync([b.vectors for b in self.blocks], renumbered=True)
        self.ledger.stale_store = True
        self.postings = None  # rows renumbered: the saved postings no longer line up
        self._version += 1
        return before - len(self.chunks)

    def commit(self, persist_store: bool = False) -> None:
        """Write the unsaved segments and switch the manifest to them (see ``Ledger``);
        ``persist_store`` also brings the vector store's own files up to date."""
        self.ledger.commit(self, persist_store)

    def save(self) -> None:
        """Commit, with the vector store's own files (an approximate index) up to date."""
        self.commit(persist_store=True)

    def start_afresh(self) -> None:
        """Let the next commit replace whatever index is on disk (``--rebuild``); the old
        index's files, as its manifest names them, go once the new manifest is in place."""
        mf.check_new_index_folder(self.path, self.vectors.files())
        self.ledger.follow(mf.peek(self.path))
        self.ledger.on_disk |= mf.replaced_files(self.path)


def _without(block: Block, doc_ids: set[str], folder: Path) -> Block:
    """The segment without those documents' chunks (itself when it holds none of them)."""
    keep = np.array([d not in doc_ids for d in doc_ids_of(block.chunks)], dtype=bool)
    if keep.all() and not any(d.doc_id in doc_ids for d in block.documents):
        return block
    # A rewritten segment keeps the terms it introduced, so column numbers stay put.
    return Block(
        [d for d in block.documents if d.doc_id not in doc_ids],
        [c for c, k in zip(block.chunks, keep, strict=True) if k],
        np.ascontiguousarray(block.vectors[keep]),
        block.term_counts(folder)[keep],
        block.new_terms,
        replaces=(block.name,) if block.name else block.replaces,
        added=block.added,
    )


def _segments(index: Index, segments: list[dict[str, Any]], earlier: Index | None) -> Iterator[Block]:
    """The manifest's segments in order: taken from ``earlier`` when it read the same file
    (same name and checksums), else read and checked (after the ones before it attach).

    The files are hashed elsewhere while this parses the tables (``Digests``), and every
    one has passed before the last segment is given: no index is used unchecked."""
    known = {b.name: b for b in earlier.blocks if b.name} if earlier and earlier.path == index.path else {}
    fresh = [s for s in segments if not (s["name"] in known and known[s["name"]].checksums == s["checksums"])]
    to_read = {s["name"] for s in fresh}
    digests = Digests([f for s in fresh for f in segment_files(index.path, s)])

    def checked(segment: dict[str, Any]) -> Callable[[], None]:
        return lambda: check_segment(index.path, segment, digests.of)

    for segment in segments:
        if segment["name"] in to_read:
            block = read_checked_segment(
                index.path, segment, index.documents, len(index.vocabulary), index.dimension, checked(segment)
            )
        else:
            block = known[segment["name"]]
        if segment is segments[-1]:
            for each in fresh:
                checked(each)()
        yield block


def _after(blocks: list[Block], stored: Postings | None) -> tuple[list[Block], Postings | None]:
    """The segments whose rows the stored postings do not hold (all, without postings)."""
    if stored is None:
        return blocks, None
    sizes = np.cumsum([0] + [len(b.chunks) for b in blocks])
    after = int(np.searchsorted(sizes, stored.rows))
    if after < len(sizes) and sizes[after] == stored.rows:
        return blocks[after:], stored
    return blocks, None  # not at a segment's end: never the case for a file we wrote


def _postings(index: Index, record: dict[str, Any] | None) -> Postings | None:
    """The stored postings the manifest names, checked (None when it names none)."""
    if not record or record["rows"] > len(index.chunks) or record["terms"] > len(index.vocabulary):
        return None
    return read_postings(index.path, record)
