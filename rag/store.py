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
import re
import time
from collections.abc import Iterable, Iterator
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
JOURNAL = ".pending.json"  # names the files a commit may write before its manifest names them
PARTS = ("documents.jsonl", "chunks.jsonl", "vectors.npy", "terms.npz")
# Each segment also carries its own record (checksums, model, place in the vocabulary), so
# a lost manifest can be rebuilt from the segments alone (rag/repair.py).
RECORD = "record.json"
STORES = ("faiss", "qdrant")
SEGMENT_NAME = re.compile(r"seg-\d{6}")
LEGACY_FILES = ("documents.jsonl", "chunks.jsonl", "vectors.faiss")  # format 1, one set per index


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

    def persist(self, folder: Path, tag: str) -> dict[str, Any]:
        """Write what the store keeps beside the segments, naming any new file with ``tag``
        (see ``store_file``); returns its manifest record."""

    def files(self) -> set[str]:
        """Names in the index folder that this store owns (its saved files or folder)."""


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


def store_file(tag: str) -> str:
    """The one file name a vector store may write during the commit tagged ``tag``: the
    journal names it in advance, so a killed writer's file is found and removed later."""
    return f"ann-{tag}.faiss"


def owned_names(kind: str, options: dict[str, Any] | None) -> set[str]:
    """What a vector store of this kind makes in a new index folder before its first commit."""
    return {"qdrant"} if kind == "qdrant" and not (options or {}).get("url") else set()


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


def validate_manifest(manifest: Any, path: Path) -> dict[str, Any]:
    """The manifest, checked for every key and type a reader relies on."""
    fix = (
        f"rebuild its manifest with: rag verify --repair --index {path}, "
        f"or rebuild the index with: rag ingest PATH --index {path} --rebuild"
    )

    def fail(what: str) -> IndexCorruptError:
        return IndexCorruptError(f"The index manifest at {path} is damaged ({what}); {fix}.")

    def need(mapping: Any, key: str, kind: type | tuple[type, ...], where: str = "") -> Any:
        value = mapping.get(key) if isinstance(mapping, dict) else None
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
            raise fail(f"'{where}{key}' is missing or not a {getattr(kind, '__name__', 'value')}")
        return value

    if not isinstance(manifest, dict):
        raise fail("not a JSON object")
    if manifest.get("format_version") != FORMAT_VERSION:
        return manifest  # another format: the caller says which and what to do
    need(manifest, "embedding_model", str)
    if need(manifest, "dimension", int) <= 0:
        raise fail("'dimension' is not positive")
    chunking = need(manifest, "chunking", dict)
    need(chunking, "size", int, "chunking.")
    need(chunking, "overlap", int, "chunking.")
    store = need(manifest, "store", dict)
    if store.get("kind") not in STORES:
        raise fail(f"'store.kind' is not one of {', '.join(STORES)}")
    need(need(manifest, "counts", dict), "chunks", int, "counts.")
    need(manifest, "generation", int)
    need(manifest, "next_segment", int)
    for segment in need(manifest, "segments", list):
        name = need(segment, "name", str, "segments[].")
        if not SEGMENT_NAME.fullmatch(name):
            raise fail(f"segment name '{name}' is not of the form seg-NNNNNN")
        checksums = need(segment, "checksums", dict, "segments[].")
        if set(checksums) != set(PARTS) or not all(isinstance(v, str) for v in checksums.values()):
            raise fail(f"segment {name} does not list a checksum for each of its files")
    incomplete = manifest.get("incomplete", {})
    if not isinstance(incomplete, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) for k, v in incomplete.items()
    ):
        raise fail("'incomplete' is not a table of document ids and chunk counts")
    return manifest


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of the index at ``path``, validated; damage is one sentence."""
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(
            f"The index manifest at {path} is unreadable ({exc}); rebuild the index with: "
            f"rag ingest PATH --index {path} --rebuild."
        ) from None
    return validate_manifest(manifest, path)


def check_new_index_folder(path: Path, ours: Iterable[str] = ()) -> None:
    """Refuse to start an index in a folder that holds anything but a (new) index: cleanup
    would otherwise meet files that are not ours, and segments without a manifest are a
    damaged index to repair, not a place to start over."""
    if (path / MANIFEST).is_file():
        return
    if path.exists() and not path.is_dir():
        raise InputError(f"{path} is a file, not a folder; give --index a new or empty folder.")
    try:
        names = {p.name for p in path.iterdir()} if path.is_dir() else set()
    except OSError as exc:
        raise InputError(f"Cannot read the index folder {path} ({exc.strerror or exc}).") from None
    names -= {LOCK, JOURNAL, f"{JOURNAL}.tmp", f".{MANIFEST}.tmp", *ours}
    names -= _journal_names(path)  # files of a first commit that was killed: ours to replace
    if _orphan_segments(path):
        raise _no_manifest(path)
    if names:
        raise InputError(
            f"{path} is not empty and holds no index; give --index a new or empty folder "
            "(nothing in it was changed)."
        )


def _write_document_row(fh: Any, doc: Document) -> None:
    """One JSON line per document, its text encoded a slice at a time: a 200 MB statement
    is never held a second time as one JSON string."""
    head = {"doc_id": doc.doc_id, "source": doc.source, "metadata": doc.metadata}
    fh.write(json.dumps(head, ensure_ascii=False)[:-1] + ', "text": "')
    step = 1 << 20
    for start in range(0, len(doc.text), step):
        fh.write(json.dumps(doc.text[start : start + step], ensure_ascii=False)[1:-1])
    fh.write('"}\n')


def _orphan_segments(folder: Path) -> list[str]:
    """Segment files in a folder without a manifest, other than a killed first commit's."""
    try:
        names = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
    except OSError:
        return []
    return sorted(n for n in names - _journal_names(folder) if SEGMENT_NAME.match(n))


def _no_manifest(path: Path) -> IndexCorruptError:
    return IndexCorruptError(
        f"The folder {path} holds index segments but no {MANIFEST}, so the index is damaged; "
        f"rebuild its manifest with: rag verify --repair --index {path}."
    )


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
    replaces: tuple[str, ...] = ()  # the saved segments this one is a rewrite of


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
        # Documents whose chunks are only partly saved (a long one split over batches):
        # doc_id -> chunks saved so far, so an interrupted ingestion continues from there.
        self.incomplete: dict[str, int] = {}
        # Every file the manifest on disk names: the only files a commit may delete.
        self._on_disk: set[str] = set()

    # -- reading -----------------------------------------------------------------------

    @classmethod
    def exists(cls, path: Path) -> bool:
        return (path / MANIFEST).is_file()

    @classmethod
    def format_of(cls, path: Path) -> int | None:
        try:
            manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        version = manifest.get("format_version") if isinstance(manifest, dict) else None
        return version if isinstance(version, int) and not isinstance(version, bool) else None

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
            if _orphan_segments(path):
                raise _no_manifest(path)
            raise IndexNotFoundError(
                f"There is no index at {path}; build one with: rag ingest PATH --index {path}"
            )
        fix = f"rebuild it with: rag ingest PATH --index {path} --rebuild"
        manifest = read_manifest(path)
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
            {**(record.get("options") or {}), **(store_options or {})},
            record,
        )
        index._generation = manifest["generation"]
        index._next_segment = manifest["next_segment"]
        index.incomplete = dict(manifest.get("incomplete", {}))
        index._on_disk = referenced_files(manifest)
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
        partial_known = index.incomplete.keys() <= index.documents.keys()
        if len(index.chunks) != manifest["counts"]["chunks"] or not partial_known:
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
        # A long document's later chunks sit in later segments than the document itself.
        texts = {doc_id: doc.text for doc_id, doc in self.documents.items()}
        texts.update((d.doc_id, d.text) for d in documents)
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
        if vectors.shape != (len(chunks), self.dimension):
            raise ValueError("one vector per chunk, of the index's dimension")
        known = self.documents.keys() | {d.doc_id for d in documents}
        if any(c.doc_id not in known for c in chunks):
            raise ValueError("every chunk's document is in the index or in the batch")
        counts, new_terms = self.vocabulary.count(c.text for c in chunks)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self._attach(Block(list(documents), list(chunks), vectors, counts, new_terms), counted=True)
        self.vectors.append(vectors)
        for doc_id, saved in (incomplete or {}).items():
            if saved is None:
                self.incomplete.pop(doc_id, None)
            else:
                self.incomplete[doc_id] = saved
        self._version += 1

    def add_rows(self, block: Block) -> None:
        """Add a prepared, unsaved segment whose term counts use this index's vocabulary."""
        self._attach(block)
        self.vectors.append(np.ascontiguousarray(block.vectors, dtype=np.float32))
        self._version += 1

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
                replaces=(block.name,) if block.name else block.replaces,
            )
        for doc_id in doc_ids:
            del self.documents[doc_id]
            self.incomplete.pop(doc_id, None)
        self.chunks = [c for b in self.blocks for c in b.chunks]
        self.vectors.sync([b.vectors for b in self.blocks], renumbered=True)
        self._stale_store = True
        self._version += 1
        return removed

    def commit(self, persist_store: bool = False) -> None:
        """Write the unsaved segments and switch the manifest to them, in one rename;
        ``persist_store`` also brings the vector store's own files up to date.

        Before writing, a journal names every file this commit may create; afterwards only
        files that the previous manifest or a journal named, and the new manifest does not,
        are deleted. Nothing else in the folder is ever touched.
        """
        check_new_index_folder(self.path, self.vectors.files())
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
                leftovers = self._read_journal()
                unsaved = [b for b in self.blocks if b.name is None]
                names = [f"seg-{self._next_segment + i:06d}" for i in range(len(unsaved))]
                tag = f"g{self._generation + 1:06d}"
                planned = {f"{n}.{p}" for n in names for p in (*PARTS, RECORD)} | {store_file(tag)}
                self._write_journal(leftovers | planned)
                terms_before, total = {}, 0
                for block in self.blocks:
                    terms_before[id(block)] = total
                    total += len(block.new_terms)
                for block, name in zip(unsaved, names, strict=True):
                    self._write_block(block, name, written, terms_before[id(block)])
                if persist_store or self._stale_store or self._store_record is None:
                    self._store_record = self.vectors.persist(self.path, tag)
                manifest = self._write_manifest()
                written.clear()
                self._stale_store = False
                now = referenced_files(manifest)
                for name in (self._on_disk | leftovers | planned) - now:
                    with contextlib.suppress(OSError):
                        (self.path / name).unlink()
                self._on_disk = now
                with contextlib.suppress(OSError):
                    (self.path / JOURNAL).unlink()
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

    def _read_journal(self) -> set[str]:
        return _journal_names(self.path)

    def _write_journal(self, names: set[str]) -> None:
        tmp = self.path / f"{JOURNAL}.tmp"
        tmp.write_text(json.dumps(sorted(names)), "utf-8")
        _fsync(tmp)
        os.replace(tmp, self.path / JOURNAL)
        _fsync(self.path)

    def save(self) -> None:
        """Commit, with the vector store's own files (an approximate index) up to date."""
        self.commit(persist_store=True)

    def _check_generation(self) -> None:
        manifest = self.path / MANIFEST
        if not manifest.is_file():
            return
        try:
            found = json.loads(manifest.read_text(encoding="utf-8"))
            on_disk = found.get("generation", 0) if isinstance(found, dict) else -1
        except (OSError, ValueError):
            on_disk = -1
        if on_disk != self._generation:
            raise InputError(
                f"The index at {self.path} was changed by another process while this one was "
                "working; run the command again."
            )

    def start_afresh(self) -> None:
        """Let the next commit replace whatever index is on disk (``--rebuild``); the old
        index's files, as its manifest names them, go once the new manifest is in place."""
        check_new_index_folder(self.path, self.vectors.files())
        with contextlib.suppress(OSError, ValueError):
            manifest = json.loads((self.path / MANIFEST).read_text(encoding="utf-8"))
            if isinstance(manifest, dict):
                generation, following = manifest.get("generation"), manifest.get("next_segment")
                self._generation = generation if isinstance(generation, int) else 0
                self._next_segment = following if isinstance(following, int) else 1
                self._on_disk = referenced_files(manifest)

    def _write_block(self, block: Block, name: str, written: list[Path], terms_before: int) -> None:
        """Write a segment's four files and its record, noting each in ``written`` first."""
        self._next_segment = int(name[4:]) + 1
        paths = [self.path / f"{name}.{part}" for part in PARTS]
        docs, chunks, vectors, terms = paths
        written.append(docs)
        with docs.open("w", encoding="utf-8") as fh:
            for d in block.documents:
                _write_document_row(fh, d)
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
        record = self.path / f"{name}.{RECORD}"
        written.append(record)
        record.write_text(
            json.dumps(
                {
                    "format_version": FORMAT_VERSION,
                    "name": name,
                    "checksums": block.checksums,
                    "embedding_model": self.model,
                    "dimension": self.dimension,
                    "chunking": self.chunking,
                    "store": self.vectors.kind,
                    "terms_before": terms_before,
                    "new_terms": len(block.new_terms),
                    "replaces": list(block.replaces),
                    "incomplete": dict(self.incomplete),
                },
                indent=1,
            ),
            "utf-8",
        )
        _fsync(record)

    def _write_manifest(self) -> dict[str, Any]:
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
            "incomplete": dict(self.incomplete),
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
        return manifest



def _is_index_file(name: str) -> bool:
    """A name a journal may list: a segment part or a store file, never a path."""
    stem, _, part = name.partition(".")
    return Path(name).name == name and (
        (SEGMENT_NAME.fullmatch(stem) is not None and part in (*PARTS, RECORD))
        or re.fullmatch(r"ann-[\w-]+\.faiss", name) is not None
    )


def _journal_names(folder: Path) -> set[str]:
    """Files a killed commit may have left: named by its journal, never guessed."""
    try:
        names = json.loads((folder / JOURNAL).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    if not isinstance(names, list):
        return set()
    return {n for n in names if isinstance(n, str) and _is_index_file(n)}


def referenced_files(manifest: Any) -> set[str]:
    """The files in the index folder that a manifest (of any format we wrote) names."""
    if not isinstance(manifest, dict):
        return set()
    names: set[str] = set()
    if manifest.get("format_version") == 1:
        names.update(LEGACY_FILES)
    for segment in manifest.get("segments") or []:
        name = segment.get("name") if isinstance(segment, dict) else None
        if isinstance(name, str) and SEGMENT_NAME.fullmatch(name):
            names.update(f"{name}.{p}" for p in (*PARTS, RECORD))
    store = manifest.get("store")
    ann = store.get("ann") if isinstance(store, dict) else None
    file = ann.get("file") if isinstance(ann, dict) else None
    if isinstance(file, str) and _is_index_file(file):
        names.add(file)
    return names
