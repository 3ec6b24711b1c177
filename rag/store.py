"""The on-disk index: FAISS vectors, document and chunk tables, a manifest; atomic writes."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from rag.errors import IndexCorruptError, IndexNotFoundError, InputError, ModelMismatchError
from rag.types import Chunk, Document

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DOCUMENTS = "documents.jsonl"
CHUNKS = "chunks.jsonl"
VECTORS = "vectors.faiss"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_jsonl(path: Path, rows: Iterator[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False))
            fh.write("\n")


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


class Index:
    """Documents, their chunks and one vector per chunk; row ``i`` of FAISS is ``chunks[i]``."""

    def __init__(
        self,
        path: Path,
        model: str,
        dimension: int,
        chunking: dict[str, int],
        documents: dict[str, Document] | None = None,
        chunks: list[Chunk] | None = None,
        vectors: faiss.Index | None = None,
    ):
        self.path = path
        self.model = model
        self.dimension = dimension
        self.chunking = chunking
        self.documents: dict[str, Document] = documents or {}
        self.chunks: list[Chunk] = chunks or []
        self.vectors = vectors if vectors is not None else faiss.IndexFlatIP(dimension)
        self._version = 0  # bumps on every change, so derived tables know to rebuild

    # -- reading -----------------------------------------------------------------------

    @classmethod
    def exists(cls, path: Path) -> bool:
        _recover(path)
        return (path / MANIFEST).is_file()

    @classmethod
    def open(cls, path: Path, model: str | None = None) -> Index:
        """Open an index; refuse, in one sentence, a different embedding model or damage."""
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
        for name, expected in manifest["checksums"].items():
            file = path / name
            if not file.is_file() or _sha256(file) != expected:
                raise IndexCorruptError(
                    f"The index file {file} is missing or does not match its checksum; {fix}."
                )
        try:
            documents = {}
            for row in _read_jsonl(path / DOCUMENTS):
                documents[row["doc_id"]] = Document(
                    row["doc_id"], row["source"], row["text"], row["metadata"]
                )
            chunks = []
            for row in _read_jsonl(path / CHUNKS):
                doc = documents[row["doc_id"]]
                chunks.append(
                    Chunk(
                        row["chunk_id"],
                        row["doc_id"],
                        row["start"],
                        row["end"],
                        doc.text[row["start"] : row["end"]],
                    )
                )
            vectors = faiss.read_index(str(path / VECTORS))
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise IndexCorruptError(f"The index at {path} is damaged ({exc}); {fix}.") from None
        if vectors.ntotal != len(chunks) or vectors.d != manifest["dimension"]:
            raise IndexCorruptError(f"The index at {path} has vectors that do not match its chunks; {fix}.")
        return cls(
            path,
            manifest["embedding_model"],
            manifest["dimension"],
            manifest["chunking"],
            documents,
            chunks,
            vectors,
        )

    def by_source(self) -> dict[str, str]:
        return {doc.source: doc_id for doc_id, doc in self.documents.items()}

    def search(
        self, query: np.ndarray, n: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Inner-product search; ``allowed`` restricts it to those chunk rows."""
        n = min(n, self.vectors.ntotal if allowed is None else len(allowed))
        if n <= 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        params = None
        if allowed is not None:
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed.astype(np.int64)))
        scores, ids = self.vectors.search(query.reshape(1, -1).astype(np.float32), n, params=params)
        keep = ids[0] >= 0
        return scores[0][keep], ids[0][keep]

    def vectors_of(self, rows: np.ndarray) -> np.ndarray:
        return (
            np.vstack([self.vectors.reconstruct(int(r)) for r in rows])
            if len(rows)
            else (np.zeros((0, self.dimension), dtype=np.float32))
        )

    @property
    def version(self) -> int:
        return self._version

    # -- changing ----------------------------------------------------------------------

    def add(self, document: Document, chunks: list[Chunk], vectors: np.ndarray) -> None:
        if vectors.shape != (len(chunks), self.dimension):
            raise ValueError("one vector per chunk, of the index's dimension")
        self.documents[document.doc_id] = document
        self.chunks.extend(chunks)
        self.vectors.add(np.ascontiguousarray(vectors, dtype=np.float32))
        self._version += 1

    def remove(self, doc_ids: set[str]) -> int:
        """Drop documents and their chunks; returns how many chunks went."""
        doc_ids = doc_ids & self.documents.keys()
        if not doc_ids:
            return 0
        keep = np.array([c.doc_id not in doc_ids for c in self.chunks], dtype=bool)
        kept_vectors = self.vectors_of(np.flatnonzero(keep))
        self.vectors = faiss.IndexFlatIP(self.dimension)
        if len(kept_vectors):
            self.vectors.add(kept_vectors)
        removed = int((~keep).sum())
        self.chunks = [c for c, k in zip(self.chunks, keep, strict=True) if k]
        for doc_id in doc_ids:
            del self.documents[doc_id]
        self._version += 1
        return removed

    def save(self) -> None:
        """Write a complete new copy beside the old one, then swap folders."""
        parent = self.path.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.tmp-", dir=parent))
        except OSError as exc:
            raise InputError(f"Cannot write the index folder {self.path} ({exc.strerror}).") from None
        try:
            _write_jsonl(
                tmp / DOCUMENTS,
                (
                    {"doc_id": d.doc_id, "source": d.source, "metadata": d.metadata, "text": d.text}
                    for d in self.documents.values()
                ),
            )
            _write_jsonl(
                tmp / CHUNKS,
                (
                    {"chunk_id": c.chunk_id, "doc_id": c.doc_id, "start": c.start, "end": c.end}
                    for c in self.chunks
                ),
            )
            faiss.write_index(self.vectors, str(tmp / VECTORS))
            manifest = {
                "format_version": FORMAT_VERSION,
                "embedding_model": self.model,
                "dimension": self.dimension,
                "normalized": True,
                "metric": "inner_product",
                "chunking": self.chunking,
                "counts": {"documents": len(self.documents), "chunks": len(self.chunks)},
                "documents": {
                    d.doc_id: {
                        "source": d.source,
                        "title": d.title,
                        "chunks": sum(1 for c in self.chunks if c.doc_id == d.doc_id),
                    }
                    for d in self.documents.values()
                },
                "checksums": {n: _sha256(tmp / n) for n in (DOCUMENTS, CHUNKS, VECTORS)},
                "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            }
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False), "utf-8")
            for name in (DOCUMENTS, CHUNKS, VECTORS, MANIFEST):
                with (tmp / name).open("rb") as fh:
                    os.fsync(fh.fileno())
            with _lock(parent, self.path.name):
                old = parent / f".{self.path.name}.old-{os.getpid()}-{time.time_ns()}"
                if self.path.exists():
                    os.rename(self.path, old)
                os.rename(tmp, self.path)
                shutil.rmtree(old, ignore_errors=True)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise InputError(
                f"Could not write the index at {self.path} ({exc.strerror or exc}); "
                "the previous index is unchanged."
            ) from None


@contextlib.contextmanager
def _lock(parent: Path, name: str) -> Iterator[None]:
    with open(parent / f".{name}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _recover(path: Path) -> None:
    """Put back the previous copy if a writer died between its two renames."""
    if path.exists() or not path.parent.is_dir():
        return
    olds = sorted(path.parent.glob(f".{path.name}.old-*"), key=lambda p: p.stat().st_mtime)
    if olds and (olds[-1] / MANIFEST).is_file():
        with contextlib.suppress(OSError):
            os.rename(olds[-1], path)
