"""The on-disk index: append-only segments of documents, chunks, vectors and term counts
under one manifest. Each ingestion batch is one segment, committed by replacing the
manifest, so a killed writer loses at most the batch it was writing."""

from __future__ import annotations

import contextlib
import fcntl
import gc
import hashlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from scipy import sparse

from rag.errors import IndexCorruptError, IndexNotFoundError, InputError, ModelMismatchError
from rag.terms import Vocabulary, stack_rows
from rag.types import Chunk, Document

FORMAT_VERSION = 2
MANIFEST = "manifest.json"
LOCK = ".lock"
PARTS = ("documents.jsonl", "chunks.jsonl", "vectors.npy", "terms.npz")
STORES = ("faiss", "qdrant")


class VectorStore(Protocol):
    """One vector per chunk row, searched by inner product; rebuilt from the segments when
    its own files are missing, stale or damaged, since the segments hold every vector."""

    kind: str
    ntotal: int

    def sync(self, blocks: list[np.ndarray], renumbered: bool = False) -> None:
        """Take the rows of ``blocks`` (every vector, in row order) as the contents;
        ``renumbered``: rows were removed, so nothing saved earlier still lines up."""

    def append(self, vectors: np.ndarray) -> None: ...

    def search(
        self, query: np.ndarray, n: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]: ...

    def vectors_of(self, rows: np.ndarray) -> np.ndarray: ...

    def persist(self, folder: Path) -> dict[str, Any]:
        """Write what the store keeps beside the segments; returns its manifest record."""

    def files(self) -> set[str]:
        """Names of the files in the index folder this store's record refers to."""


def make_vector_store(
    kind: str, dimension: int, folder: Path, record: dict[str, Any] | None, options: dict[str, Any]
) -> VectorStore:
    """The vector store a setting (or an existing index's manifest) names."""
    if kind == "faiss":
        from rag.faiss_store import FaissVectors

        return FaissVectors(dimension, folder, record, **options)
    if kind == "qdrant":
        from rag.qdrant_store import QdrantVectors

        return QdrantVectors(dimension, folder, record, **options)
    raise InputError(f"Unknown store '{kind}'; available: {', '.join(STORES)}.")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


@dataclass
class Block:
    """The rows one segment holds (or will hold, once written: ``name`` is None until then)."""

    documents: list[Document]
    chunks: list[Chunk]
    vectors: np.ndarray
    counts: sparse.csr_matrix
    new_terms: list[str]
    name: str | None = None
    checksums: dict[str, str] = field(default_factory=dict)


class Index:
    """Documents, their chunks and one vector per chunk; row ``i`` is ``chunks[i]``."""

    def __init__(
        self,
        path: Path,
        model: str,
        dimension: int,
        chunking: dict[str, int],
        store: str = "faiss",
        store_options: dict[str, Any] | None = None,
        store_record: dict[str, Any] | None = None,
    ):
        self.path = path
        self.model = model
        self.dimension = dimension
        self.chunking = chunking
        self.documents: dict[str, Document] = {}
        self.chunks: list[Chunk] = []
        self.blocks: list[Block] = []
        self.vocabulary = Vocabulary()
        self.store_options = store_options or {}
        self.vectors: VectorStore = make_vector_store(
            store, dimension, path, store_record, self.store_options
        )
        self._generation = 0
        self._next_segment = 1
        self._version = 0  # bumps on every change, so derived tables know to rebuild
        self._stale_store = False  # rows renumbered by a removal: rebuild the vector store
        self._store_record = store_record

    # -- reading -----------------------------------------------------------------------

    @classmethod
    def exists(cls, path: Path) -> bool:
        return (path / MANIFEST).is_file()

    @classmethod
    def format_of(cls, path: Path) -> int | None:
        try:
            return json.loads((path / MANIFEST).read_text(encoding="utf-8")).get("format_version")
        except (OSError, ValueError):
            return None

    @classmethod
    def open(cls, path: Path, model: str | None = None, store_options: dict[str, Any] | None = None) -> Index:
        """Open an index; refuse, in one sentence, a different embedding model or damage."""
        for attempt in range(3):
            try:
                return cls._open(path, model, store_options)
            except FileNotFoundError:
                # A writer replaced a segment between our reading the manifest and its files.
                if attempt == 2 or not cls.exists(path):
                    raise IndexCorruptError(
                        f"The index at {path} lost files while being read; "
                        f"rebuild it with: rag ingest PATH --index {path} --rebuild."
                    ) from None
        raise AssertionError("unreachable")

    @classmethod
    def _open(cls, path: Path, model: str | None, store_options: dict[str, Any] | None) -> Index:
        if not cls.exists(path):
            raise IndexNotFoundError(
                f"There is no index at {path}; build one with: rag ingest PATH --index {path}"
            )
        fix = f"rebuild it with: rag ingest PATH --index {path} --rebuild"
        try:
            manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise IndexCorruptError(f"The index manifest at {path} is unreadable ({exc}); {fix}.") from None
        if manifest.get("format_version") != FORMAT_VERSION:
            raise IndexCorruptError(
                f"The index at {path} has format {manifest.get('format_version')}, "
                f"this version reads {FORMAT_VERSION}; {fix}."
            )
        if model is not None and manifest["embedding_model"] != model:
            raise ModelMismatchError(
                f"The index at {path} was built with the embedding model "
                f"'{manifest['embedding_model']}', not '{model}'; query it with that model "
                "or build a new index with this one."
            )
        record = manifest["store"]
        index = cls(
            path,
            manifest["embedding_model"],
            manifest["dimension"],
            manifest["chunking"],
            record["kind"],
            {**record.get("options", {}), **(store_options or {})},
            record,
        )
        index._generation = manifest["generation"]
        index._next_segment = manifest["next_segment"]
        for segment in manifest["segments"]:
            for part, expected in segment["checksums"].items():
                file = path / f"{segment['name']}.{part}"
                if not file.is_file():
                    raise FileNotFoundError(file)
                if sha256(file) != expected:
                    raise IndexCorruptError(
                        f"The index file {file} is missing or does not match its checksum; {fix}."
                    )
            try:
                block = index._read_block(segment["name"])
            except (OSError, ValueError, KeyError) as exc:
                if isinstance(exc, FileNotFoundError):
                    raise
                raise IndexCorruptError(f"The index at {path} is damaged ({exc}); {fix}.") from None
            block.checksums = dict(segment["checksums"])
            index._attach(block)
        if len(index.chunks) != manifest["counts"]["chunks"]:
            raise IndexCorruptError(
                f"The index at {path} has segments that do not match its manifest; {fix}."
            )
        index.vectors.sync([b.vectors for b in index.blocks])
        # The tables live as long as the process: keep the collector from walking them
        # again and again (at 200,000 chunks a full collection pauses a question ~50 ms).
        gc.freeze()
        return index

    def _read_block(self, name: str) -> Block:
        folder = self.path
        documents = [
            Document(row["doc_id"], row["source"], row["text"], row["metadata"])
            for row in _read_jsonl(folder / f"{name}.documents.jsonl")
        ]
        texts = {d.doc_id: d.text for d in documents}
        chunks = [
            Chunk(
                row["chunk_id"],
                row["doc_id"],
                row["start"],
                row["end"],
                texts[row["doc_id"]][row["start"] : row["end"]],
            )
            for row in _read_jsonl(folder / f"{name}.chunks.jsonl")
        ]
        vectors = np.load(folder / f"{name}.vectors.npy", mmap_mode="r", allow_pickle=False)
        with np.load(folder / f"{name}.terms.npz", allow_pickle=False) as terms:
            new_terms = [str(t) for t in terms["new_terms"]]
            width = len(self.vocabulary) + len(new_terms)
            counts = sparse.csr_matrix(
                (terms["data"], terms["indices"], terms["indptr"]), shape=(len(chunks), width)
            )
        if vectors.shape != (len(chunks), self.dimension):
            raise ValueError(f"segment {name} has {vectors.shape[0]} vectors for {len(chunks)} chunks")
        return Block(documents, chunks, vectors, counts, new_terms, name)

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

    def term_counts(self) -> tuple[sparse.csr_matrix, list[str]]:
        """Every row's term counts (rows are chunks, columns the vocabulary's terms)."""
        return stack_rows([b.counts for b in self.blocks], len(self.vocabulary)), self.vocabulary.terms

    @property
    def version(self) -> int:
        return self._version

    @property
    def store(self) -> str:
        return self.vectors.kind

    # -- changing ----------------------------------------------------------------------

    def add_batch(self, items: list[tuple[Document, list[Chunk]]], vectors: np.ndarray) -> None:
        """Add whole documents and their chunks' vectors as one new (unsaved) segment."""
        chunks = [c for _, doc_chunks in items for c in doc_chunks]
        if vectors.shape != (len(chunks), self.dimension):
            raise ValueError("one vector per chunk, of the index's dimension")
        counts, new_terms = self.vocabulary.count(c.text for c in chunks)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self._attach(Block([d for d, _ in items], chunks, vectors, counts, new_terms), counted=True)
        self.vectors.append(vectors)
        self._version += 1

    def add_rows(self, block: Block) -> None:
        """Add a prepared, unsaved segment whose term counts use this index's vocabulary."""
        self._attach(block)
        self.vectors.append(np.ascontiguousarray(block.vectors, dtype=np.float32))
        self._version += 1

    def add(self, document: Document, chunks: list[Chunk], vectors: np.ndarray) -> None:
        self.add_batch([(document, chunks)], vectors)

    def remove(self, doc_ids: set[str]) -> int:
        """Drop documents and their chunks; returns how many chunks went."""
        doc_ids = doc_ids & self.documents.keys()
        if not doc_ids:
            return 0
        removed = 0
        for i, block in enumerate(self.blocks):
            keep = np.array([c.doc_id not in doc_ids for c in block.chunks], dtype=bool)
            if keep.all() and not any(d.doc_id in doc_ids for d in block.documents):
                continue
            removed += int((~keep).sum())
            # A rewritten segment keeps the terms it introduced, so column numbers stay put.
            self.blocks[i] = Block(
                [d for d in block.documents if d.doc_id not in doc_ids],
                [c for c, k in zip(block.chunks, keep, strict=True) if k],
                np.ascontiguousarray(block.vectors[keep]),
                block.counts[keep],
                block.new_terms,
            )
        for doc_id in doc_ids:
            del self.documents[doc_id]
        self.chunks = [c for b in self.blocks for c in b.chunks]
        self.vectors.sync([b.vectors for b in self.blocks], renumbered=True)
        self._stale_store = True
        self._version += 1
        return removed

    def commit(self, persist_store: bool = False) -> None:
        """Write the unsaved segments and switch the manifest to them, in one rename;
        ``persist_store`` also brings the vector store's own files up to date."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            lock_file = open(self.path / LOCK, "w")  # noqa: SIM115 - held for the whole commit
        except OSError as exc:
            raise InputError(f"Cannot write the index folder {self.path} ({exc.strerror}).") from None
        written: list[Path] = []
        with lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                self._check_generation()
                for block in self.blocks:
                    if block.name is None:
                        self._write_block(block, written)
                if persist_store or self._stale_store or self._store_record is None:
                    self._store_record = self.vectors.persist(self.path)
                self._write_manifest()
                written.clear()
                self._stale_store = False
                self._remove_unreferenced()
            except OSError as exc:
                for path in written:
                    path.unlink(missing_ok=True)
                for block in self.blocks:
                    if block.name and not (self.path / f"{block.name}.{PARTS[0]}").exists():
                        block.name = None
                raise InputError(
                    f"Could not write the index at {self.path} ({exc.strerror or exc}); "
                    "everything saved before this batch is intact."
                ) from None

    def save(self) -> None:
        """Commit, with the vector store's own files (an approximate index) up to date."""
        self.commit(persist_store=True)

    def _check_generation(self) -> None:
        manifest = self.path / MANIFEST
        if not manifest.is_file():
            return
        try:
            on_disk = json.loads(manifest.read_text(encoding="utf-8")).get("generation", 0)
        except ValueError:
            on_disk = -1
        if on_disk != self._generation:
            raise InputError(
                f"The index at {self.path} was changed by another process while this one was "
                "working; run the command again."
            )

    def start_afresh(self) -> None:
        """Let the next commit replace whatever index is on disk (``--rebuild``)."""
        with contextlib.suppress(OSError, ValueError):
            manifest = json.loads((self.path / MANIFEST).read_text(encoding="utf-8"))
            self._generation = manifest.get("generation", 0)
            self._next_segment = manifest.get("next_segment", 1)

    def _write_block(self, block: Block, written: list[Path]) -> None:
        """Write a segment's four files, noting each in ``written`` before it is opened."""
        name = f"seg-{self._next_segment:06d}"
        self._next_segment += 1
        paths = [self.path / f"{name}.{part}" for part in PARTS]
        docs, chunks, vectors, terms = paths
        written.append(docs)
        with docs.open("w", encoding="utf-8") as fh:
            for d in block.documents:
                row = {"doc_id": d.doc_id, "source": d.source, "metadata": d.metadata, "text": d.text}
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        written.append(chunks)
        with chunks.open("w", encoding="utf-8") as fh:
            for c in block.chunks:
                fh.write(
                    json.dumps({"chunk_id": c.chunk_id, "doc_id": c.doc_id, "start": c.start, "end": c.end})
                )
                fh.write("\n")
        written.append(vectors)
        with vectors.open("wb") as fh:
            np.save(fh, np.ascontiguousarray(block.vectors, dtype=np.float32), allow_pickle=False)
        written.append(terms)
        counts = block.counts
        with terms.open("wb") as fh:
            np.savez(
                fh,
                data=counts.data.astype(np.float32),
                indices=counts.indices.astype(np.int32),
                indptr=counts.indptr.astype(np.int64),
                new_terms=np.array(block.new_terms, dtype=str),
            )
        for path in paths:
            _fsync(path)
        block.name = name
        block.checksums = {part: sha256(path) for part, path in zip(PARTS, paths, strict=True)}

    def _write_manifest(self) -> None:
        manifest = {
            "format_version": FORMAT_VERSION,
            "embedding_model": self.model,
            "dimension": self.dimension,
            "normalized": True,
            "metric": "inner_product",
            "chunking": self.chunking,
            "store": self._store_record,
            "counts": {
                "documents": len(self.documents),
                "chunks": len(self.chunks),
                "segments": len(self.blocks),
            },
            "segments": [
                {
                    "name": b.name,
                    "documents": len(b.documents),
                    "chunks": len(b.chunks),
                    "checksums": b.checksums,
                }
                for b in self.blocks
            ],
            "generation": self._generation + 1,
            "next_segment": self._next_segment,
            "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        tmp = self.path / f".{MANIFEST}.tmp"
        tmp.write_text(json.dumps(manifest, indent=1, ensure_ascii=False), "utf-8")
        _fsync(tmp)
        os.replace(tmp, self.path / MANIFEST)
        _fsync(self.path)
        self._generation += 1

    def _remove_unreferenced(self) -> None:
        """Delete segment and store files the manifest no longer names (replaced segments,
        a killed writer's unfinished batch)."""
        keep = {MANIFEST, LOCK} | {f"{b.name}.{p}" for b in self.blocks for p in PARTS} | self.vectors.files()
        for path in self.path.iterdir():
            legacy = path.name in {"documents.jsonl", "chunks.jsonl", "vectors.faiss"}  # format 1
            if (
                path.is_file()
                and path.name not in keep
                and (legacy or path.name.startswith(("seg-", "ann-", ".")))
            ):
                with contextlib.suppress(OSError):
                    path.unlink()
