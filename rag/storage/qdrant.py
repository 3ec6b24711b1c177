"""An index held whole in Qdrant, so that no app process holds any of it.

Every chunk is a point of the collection NAME: its dense vector ("dense"), its BM25 term
weights as a sparse vector ("bm25", which Qdrant multiplies by each term's IDF over the
live collection at query time), and a payload with its text, offsets and the fields of
its document that filters read. Every document is a point of NAME_documents with its
metadata, its whole text and how many of its chunks are saved; one more point there
records the index itself: the embedding model, the chunking, the committed generation,
the documents being removed and those only partly saved.

A commit writes a batch's points with the next generation, then moves the record to that
generation. Readers search only points of a generation they have seen committed and skip
documents being removed, so a killed writer's half-written batch is never cited and the
next writer deletes it. With a URL this is a Qdrant server or cluster; without one,
Qdrant's in-process local mode in the index folder (one process at a time).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import math
import re
import time
import uuid
import warnings
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import (
    ChangedElsewhereError,
    IndexCorruptError,
    IndexNotFoundError,
    InputError,
    ModelMismatchError,
    StoreUnavailableError,
)
from rag.storage.manifest import MANIFEST
from rag.storage.segments import check_batch, progressed
from rag.terms import BM25_B, BM25_K1, OFFSET_WEIGHT, tokenize
from rag.types import Chunk, Document

POINTER = "qdrant.json"  # in an index folder: this index lives in Qdrant, in this collection
FORMAT = 1
DENSE, SPARSE = "dense", "bm25"
# When the collection's average chunk length has moved this far from the one its sparse
# vectors were weighted with, the end of an ingestion weighs them again (docs/scaling.md).
REWEIGH = 0.005
# A writer holding the index record's lease refreshes it with every commit; another writer
# on a server waits this long for it before taking the lease of a writer presumed dead.
LEASE_S = 60
UPLOAD_BATCH = 256
_NAMESPACE = uuid.UUID("6f1d2c3e-8a4b-5c6d-9e0f-a1b2c3d4e5f6")
# One client per server or local folder and process (local mode allows no second one).
_CLIENTS: dict[tuple[str, str | None] | Path, Any] = {}


def point_id(key: str) -> str:
    """A point's id: the same chunk or document always lands on the same point."""
    return str(uuid.uuid5(_NAMESPACE, key))


RECORD_ID = point_id("\x00index")


def term_id(term: str) -> int:
    """A term's dimension in the sparse vector: its CRC-32, so no vocabulary is kept
    anywhere (two terms sharing one in a few billion count as one word)."""
    return zlib.crc32(term.encode("utf-8"))


def bm25_weights(text: str, offset: int, average_length: float) -> tuple[list[int], list[float], float]:
    """BM25's term-frequency part for each term of a chunk at ``offset`` in its document,
    and the chunk's BM25 length (its terms and ``OFFSET_WEIGHT`` of its offset, as
    rag/retrieval/hybrid.py measures it); Qdrant multiplies each weight by the term's IDF
    (``Modifier.IDF``) when a query asks. The length normalisation uses the average length
    the index records, which ``QdrantIndex.save`` keeps within ``REWEIGH`` of the
    collection's own."""
    counts = Counter(tokenize(text))
    length = float(np.float32(sum(counts.values())) + np.float32(OFFSET_WEIGHT) * np.float32(offset))
    norm = BM25_K1 * (1 - BM25_B + BM25_B * length / max(average_length, 1e-9))
    weights: dict[int, float] = {}
    for term, tf in counts.items():
        dim = term_id(term)
        weights[dim] = weights.get(dim, 0.0) + tf * (BM25_K1 + 1) / (tf + norm)
    return list(weights), list(weights.values()), length


@atexit.register
def _close_clients() -> None:
    for client in _CLIENTS.values():
        with contextlib.suppress(Exception):
            client.close()
    _CLIENTS.clear()


@dataclass(frozen=True)
class Place:
    """Where a Qdrant-native index lives: a collection on a server, or in local mode
    under the index folder."""

    folder: Path
    collection: str
    url: str | None = None
    api_key: str | None = None

    @property
    def documents(self) -> str:
        return f"{self.collection}_documents"

    @property
    def where(self) -> str:
        server = f"on the Qdrant server at {self.url}" if self.url else f"in {self.folder / 'qdrant'}"
        return f"the Qdrant collection '{self.collection}' {server}"

    @property
    def what(self) -> str:
        """``where``, to begin a sentence."""
        return self.where[:1].upper() + self.where[1:]

    def pointer(self) -> dict[str, Any]:
        return {"store": "qdrant", "collection": self.collection, "url": self.url}


def locate(
    folder: Path, store: str = "faiss", url: str | None = None, api_key: str | None = None
) -> Place | None:
    """The Qdrant-native index an index folder names (its ``qdrant.json``), or the one a
    setting asks for (``store`` "qdrant": the collection named after the folder, on the
    server at ``url`` or in local mode); None for a folder index (FAISS)."""
    pointer = folder / POINTER
    if pointer.is_file():
        try:
            record = json.loads(pointer.read_text(encoding="utf-8"))
            name = str(record["collection"])
        except (OSError, ValueError, KeyError, TypeError):
            raise InputError(f"{pointer} is damaged; it should name a Qdrant collection.") from None
        return Place(folder, name, url or record.get("url") or None, api_key)
    if (folder / MANIFEST).is_file() or store != "qdrant":
        return None
    return Place(folder, collection_name(folder), url or None, api_key)


def collection_name(folder: Path) -> str:
    """The collection an index folder's name stands for (``index/un`` -> ``un``)."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", folder.resolve().name).strip("_")
    return name or "statements"


def connect(place: Place) -> Any:
    """A client for the place, checked to answer: one sentence when the package is
    missing, the server cannot be reached, or it refuses the API key."""
    try:
        from qdrant_client import QdrantClient
    except ImportError:
        raise InputError(
            "The Qdrant store needs the qdrant extra; install it with: pip install 'rag-statements[qdrant]'"
        ) from None
    key = _client_key(place)
    if key in _CLIENTS:
        return _CLIENTS[key]
    if place.url:
        with warnings.catch_warnings():  # a key over plain http: docs/scaling.md says use https
            warnings.filterwarnings("ignore", "Api key is used with an insecure connection")
            client = QdrantClient(url=place.url, api_key=place.api_key or None, timeout=30)
        with talking(place):
            client.get_collections()
    else:
        where = (place.folder / "qdrant").resolve()
        where.mkdir(parents=True, exist_ok=True)
        try:
            client = QdrantClient(path=str(where))
        except RuntimeError as exc:
            raise StoreUnavailableError(
                f"The Qdrant store at {where} is open in another process ({exc}); local mode "
                "serves one process at a time: use a Qdrant server (RAG_QDRANT_URL) to share it."
            ) from None
    _CLIENTS[key] = client
    return client


def _client_key(place: Place) -> tuple[str, str | None] | Path:
    return (place.url, place.api_key) if place.url else (place.folder / "qdrant").resolve()


@contextlib.contextmanager
def talking(place: Place) -> Iterator[None]:
    """Turn what the Qdrant client raises into one sentence naming the server."""
    from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

    try:
        yield
    except UnexpectedResponse as exc:
        if exc.status_code in (401, 403):
            raise StoreUnavailableError(
                f"The Qdrant server at {place.url} refused the API key (HTTP {exc.status_code}); "
                "set RAG_QDRANT_API_KEY to the server's key."
            ) from None
        raise StoreUnavailableError(
            f"The Qdrant server at {place.url} answered HTTP {exc.status_code} "
            f"({_reason(exc)}) for {place.where}."
        ) from None
    except (ResponseHandlingException, ConnectionError, OSError) as exc:
        raise StoreUnavailableError(
            f"The Qdrant server at {place.url} cannot be reached ({_reason(exc)}); start it, or set "
            "RAG_QDRANT_URL to one that runs."
        ) from None


def _reason(exc: BaseException) -> str:
    text = " ".join(str(getattr(exc, "reason_phrase", "") or exc).split())
    return text[:160] or type(exc).__name__


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def chunk_payload(chunk: Chunk, doc: Document, generation: int, seq: int) -> dict[str, Any]:
    """A chunk's payload: its words and place, and the document fields filters read
    (the same tests as ``Filters.matches``, as Qdrant conditions: rag/retrieval/collection.py)."""
    meta = doc.metadata
    country, speaker = str(meta.get("country") or ""), str(meta.get("speaker") or "")
    parts = doc.source.split("/")
    year = meta.get("year")
    return {
        "chunk_id": chunk.chunk_id,
        "doc_id": chunk.doc_id,
        "start": chunk.start,
        "end": chunk.end,
        "text": chunk.text,
        "generation": generation,
        "seq": seq,  # its place in the batch: (generation, seq) orders chunks as committed
        "year": year if isinstance(year, int) and not isinstance(year, bool) else None,
        "country": country,
        "keys": sorted({country.lower(), speaker.lower()}),
        "speaker": speaker.lower(),
        "names": sorted({doc.doc_id, doc.source, parts[-1]}),
        "folders": ["/".join(parts[:i]) for i in range(1, len(parts))],
    }


def document_of(payload: dict[str, Any]) -> Document:
    return Document(
        payload["doc_id"], payload["source"], payload.get("text", ""), payload.get("metadata") or {}
    )


def chunk_of(payload: dict[str, Any]) -> Chunk:
    return Chunk(payload["chunk_id"], payload["doc_id"], payload["start"], payload["end"], payload["text"])


@dataclass(frozen=True)
class State:
    """A committed state as a question reads it: its generation, the documents being
    removed, and whether a writer may have points of a later generation in the collection
    (a commit under way, or one killed before it finished)."""

    generation: int
    removing: tuple[str, ...] = ()
    writing: bool = False

    @classmethod
    def of(cls, record: dict[str, Any]) -> State:
        return cls(
            int(record.get("generation", -1)),
            tuple(record.get("removing") or ()),
            bool(record.get("writing", True)),
        )


class Collections:
    """The two collections of one index and the record point: what readers and writers
    both ask of them."""

    def __init__(self, place: Place, client: Any | None = None):
        self.client = client or connect(place)  # one sentence when qdrant-client is missing
        from qdrant_client import models

        self.place, self.models = place, models

    @staticmethod
    def forget(place: Place) -> None:
        """Close this process's client of the place (in local mode, so another process may open it)."""
        client = _CLIENTS.pop(_client_key(place), None)
        if client is not None:
            client.close()

    def exists(self) -> bool:
        return self.record() is not None

    def record(self) -> dict[str, Any] | None:
        """The index record (one request, before every question); None without an index."""
        from qdrant_client.http.exceptions import UnexpectedResponse

        with talking(self.place):
            try:
                found = self.client.retrieve(self.place.documents, ids=[RECORD_ID], with_payload=True)
            except UnexpectedResponse as exc:
                if exc.status_code != 404:
                    raise
                return None  # a server without the collection
            except ValueError:
                return None  # local mode without the collection
        return dict(found[0].payload) if found else None

    def checked_record(self, model: str | None) -> dict[str, Any]:
        """The index record, refusing in one sentence a missing index or another model."""
        record = self.record()
        if record is None:
            raise IndexNotFoundError(
                f"There is no index in {self.place.where}; build one with: "
                f"rag ingest PATH --index {self.place.folder} --store qdrant"
            )
        if record.get("format") != FORMAT:
            raise InputError(
                f"{self.place.what} holds index format {record.get('format')}, this version reads "
                f"{FORMAT}; rebuild it with: rag ingest PATH --index {self.place.folder} --rebuild."
            )
        if model is not None and record.get("embedding_model") != model:
            raise ModelMismatchError(
                f"The index in {self.place.where} was built with the embedding model "
                f"'{record.get('embedding_model')}', not '{model}'; query it with that model "
                "or build a new index with this one."
            )
        return record

    def visible(self, state: State, extra: list[Any] | None = None) -> Any:
        """Points a question may read in ``state``: of committed batches only while a writer
        may have later ones in the collection, never of documents being removed."""
        m = self.models
        must = list(extra or [])
        if state.writing:
            must.append(m.FieldCondition(key="generation", range=m.Range(lte=state.generation)))
        gone = [m.FieldCondition(key="doc_id", match=m.MatchAny(any=list(state.removing)))]
        return m.Filter(must=must, must_not=gone if state.removing else [])

    def points(self, name: str, where: Any = None, payload: Any = True, limit: int = 1024) -> Iterator[Any]:
        """Every point of a collection (``where``: those matching), page by page."""
        offset = None
        with talking(self.place):
            while True:
                page, offset = self.client.scroll(
                    name, scroll_filter=where, limit=limit, offset=offset, with_payload=payload
                )
                yield from page
                if offset is None:
                    return

    def documents_table(self, state: State) -> dict[str, dict[str, Any]]:
        """Every committed document's record, without its text: doc_id -> payload."""
        where = self.visible(state, [self._is_document()])
        without_text = self.models.PayloadSelectorExclude(exclude=["text"])
        return {
            p.payload["doc_id"]: dict(p.payload)
            for p in self.points(self.place.documents, where, without_text)
        }

    def _is_document(self) -> Any:
        return self.models.FieldCondition(key="kind", match=self.models.MatchValue(value="document"))

    def documents_by_id(self, doc_ids: list[str]) -> dict[str, Document]:
        """Whole documents (with their text), read back from their records."""
        if not doc_ids:
            return {}
        with talking(self.place):
            points = self.client.retrieve(
                self.place.documents, ids=[point_id(d) for d in doc_ids], with_payload=True
            )
        return {p.payload["doc_id"]: document_of(p.payload) for p in points}

    def check(self, model: str | None = None) -> tuple[int, int]:
        """Documents and chunks, having checked that every committed document has the
        chunks its record counts and every chunk its document (``rag verify``)."""
        state = State.of(self.checked_record(model))
        table = self.documents_table(state)
        chunks = self.points(self.place.collection, self.visible(state), ["doc_id"], limit=2048)
        counts = Counter(p.payload["doc_id"] for p in chunks)
        short = sorted(d for d, p in table.items() if counts.get(d, 0) != int(p.get("chunks", 0)))
        orphans = sorted(set(counts) - set(table))
        if short or orphans:
            raise IndexCorruptError(
                f"{self.place.what} is damaged: {len(short)} of "
                f"{len(table)} documents lack chunks "
                f"their records count, and chunks of {len(orphans)} more have no record; rebuild it with: "
                f"rag ingest PATH --index {self.place.folder} --rebuild."
            )
        return len(table), sum(counts.values())

    def count(self, where: Any) -> int:
        with talking(self.place):
            return int(self.client.count(self.place.collection, count_filter=where, exact=True).count)

    # -- writing -------------------------------------------------------------------------

    def create(self, dimension: int) -> None:
        """Both collections made afresh (any earlier ones of that name dropped)."""
        m = self.models
        with talking(self.place):
            for name in (self.place.collection, self.place.documents):
                if self.client.collection_exists(name):
                    self.client.delete_collection(name)
            self.client.create_collection(
                self.place.collection,
                vectors_config={DENSE: m.VectorParams(size=dimension, distance=m.Distance.DOT)},
                sparse_vectors_config={SPARSE: m.SparseVectorParams(modifier=m.Modifier.IDF)},
            )
            self.client.create_collection(self.place.documents, vectors_config={})
            if self.place.url:  # local mode keeps no payload indexes
                for name, kind in _payload_index_kinds():
                    self.client.create_payload_index(self.place.collection, name, kind)
                for name, kind in _payload_index_kinds()[:2] + [("kind", m.PayloadSchemaType.KEYWORD)]:
                    self.client.create_payload_index(self.place.documents, name, kind)

    def clear(self, generation: int, removing: list[str]) -> None:
        """Delete points of batches after ``generation`` (never committed) and of the
        documents ``removing`` names."""
        m = self.models
        later = m.Filter(must=[m.FieldCondition(key="generation", range=m.Range(gt=generation))])
        gone = m.Filter(must=[m.FieldCondition(key="doc_id", match=m.MatchAny(any=removing))])
        with talking(self.place):
            for name in (self.place.collection, self.place.documents):
                for where in [later, gone] if removing else [later]:
                    self.client.delete(name, points_selector=m.FilterSelector(filter=where), wait=True)

    def write_documents(
        self, docs: list[Document], generation: int, counts: dict[str, dict[str, int]]
    ) -> None:
        """Records for new documents, then the chunk counts of every document touched."""
        m, added = self.models, now()
        records = [
            m.PointStruct(id=point_id(d.doc_id), vector={}, payload=_document_payload(d, generation, added))
            for d in docs
        ]
        if records:
            self.client.upsert(self.place.documents, points=records, wait=True)
        for doc_id, values in counts.items():
            self.client.set_payload(self.place.documents, values, points=[point_id(doc_id)], wait=True)

    def mark_writing(self, token: str) -> None:
        """Take the writer's lease, and tell readers points of a later generation may come."""
        lease = {"writing": True, "writer": token, "heartbeat": now()}
        with talking(self.place):
            self.client.set_payload(self.place.documents, lease, points=[RECORD_ID], wait=True)

    def write_record(self, payload: dict[str, Any]) -> None:
        point = self.models.PointStruct(id=RECORD_ID, vector={}, payload=payload)
        with talking(self.place):
            self.client.upsert(self.place.documents, points=[point], wait=True)

    def reweigh(self, average: float) -> None:
        """Every chunk's BM25 weights again, with ``average`` as the average length."""
        m, updates = self.models, []
        for point in self.points(self.place.collection, payload=["text", "start"], limit=UPLOAD_BATCH):
            indices, values, _ = bm25_weights(point.payload["text"], point.payload["start"], average)
            updates.append(
                m.PointVectors(id=point.id, vector={SPARSE: m.SparseVector(indices=indices, values=values)})
            )
            if len(updates) == UPLOAD_BATCH:
                self._update(updates)
        self._update(updates)

    def _update(self, updates: list[Any]) -> None:
        if updates:
            with talking(self.place):
                self.client.update_vectors(self.place.collection, points=updates, wait=True)
            updates.clear()


class QdrantIndex:
    """The writer's view of a Qdrant-native index, with the interface ``rag.ingest``
    drives: the documents (metadata only), batches added and removals, then ``commit``."""

    store = "qdrant"

    def __init__(self, place: Place, record: dict[str, Any], collections: Collections, fresh: bool = False):
        self.place, self.path, self.db = place, place.folder, collections
        self.model = record["embedding_model"]
        self.dimension = int(record["dimension"])
        self.chunking = dict(record["chunking"])
        self.generation = int(record.get("generation", 0))
        self.average_length = float(record.get("average_length") or 0.0)
        self.incomplete: dict[str, int] = dict(record.get("incomplete") or {})
        self.fresh = fresh  # --rebuild: the first commit starts the collections over
        self.documents: dict[str, Document] = {}
        self.chunk_counts: dict[str, int] = {}
        self.tokens: dict[str, float] = {}  # each document's chunks' BM25 lengths, summed
        self._pending: list[tuple[list[Document], list[Chunk], np.ndarray]] = []
        self._removals: set[str] = set()
        self._saved = not fresh  # an opened index is saved; a new one once it commits
        self.token = uuid.uuid4().hex  # this writer, in the index record's lease
        # --rebuild: the generation of the index it replaces (None: there is none yet).
        self._replacing = (collections.record() or {}).get("generation") if fresh else None

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def create(cls, place: Place, model: str, dimension: int, chunking: dict[str, int]) -> QdrantIndex:
        """A new (or, at the first commit, rebuilt) index at ``place``."""
        record = {"format": FORMAT, "embedding_model": model, "dimension": dimension, "chunking": chunking}
        return cls(place, record, Collections(place), fresh=True)

    @classmethod
    def open(cls, place: Place, model: str | None = None) -> QdrantIndex:
        """The index to write to (another model refused). Opening changes nothing: what a
        killed writer left is cleared by the next commit, under its lease."""
        db = Collections(place)
        record = db.checked_record(model)
        index = cls(place, record, db)
        state = State(index.generation, tuple(record.get("removing") or ()), writing=True)
        for doc_id, payload in db.documents_table(state).items():
            index.documents[doc_id] = document_of(payload)
            index.chunk_counts[doc_id] = int(payload.get("chunks", 0))
            index.tokens[doc_id] = float(payload.get("tokens", 0))
        return index

    # -- reading ---------------------------------------------------------------------------

    @property
    def saved(self) -> bool:
        return self._saved

    @property
    def chunk_total(self) -> int:
        return sum(self.chunk_counts.values())

    def by_source(self) -> dict[str, str]:
        return {doc.source: doc_id for doc_id, doc in self.documents.items()}

    # -- changing --------------------------------------------------------------------------

    def add_batch(
        self,
        documents: list[Document],
        chunks: list[Chunk],
        vectors: np.ndarray,
        incomplete: dict[str, int | None] | None = None,
    ) -> None:
        """Queue a batch for the next commit (see ``Index.add_batch``)."""
        check_batch(documents, chunks, vectors, self.dimension, self.documents)
        self._pending.append((list(documents), list(chunks), np.asarray(vectors, dtype=np.float32)))
        # The same text again with new metadata: its points are overwritten, not removed.
        self._removals -= {d.doc_id for d in documents}
        for doc in documents:
            self.documents[doc.doc_id] = doc
        for chunk in chunks:
            self.chunk_counts[chunk.doc_id] = self.chunk_counts.get(chunk.doc_id, 0) + 1
        self.incomplete = progressed(self.incomplete, incomplete)

    def remove(self, doc_ids: set[str]) -> int:
        """Drop documents (at the next commit); returns how many chunks go."""
        doc_ids = doc_ids & self.documents.keys()
        removed = sum(self.chunk_counts.pop(d, 0) for d in doc_ids)
        for doc_id in doc_ids:
            self.tokens.pop(doc_id, None)
            del self.documents[doc_id]
            self.incomplete.pop(doc_id, None)
        self._removals |= doc_ids
        self._pending = [
            (
                [d for d in docs if d.doc_id not in doc_ids],
                [c for c in chunks if c.doc_id not in doc_ids],
                vectors[[c.doc_id not in doc_ids for c in chunks]],
            )
            for docs, chunks, vectors in self._pending
        ]
        return removed

    def commit(self) -> None:
        """Write the queued batches as the next generation, then the record that makes them
        visible, then delete what was removed."""
        # The state this writer started from must still be the one there: another writer's
        # commit meanwhile (even a first one, into a new collection) is never overwritten.
        left = take_lease(self.db, self.token, self._replacing if self.fresh else self.generation)
        if self.fresh:
            self._start_over()
            self._write_record(removing=[], writing=True)
        elif left is not None:
            # Points of a writer that never committed, and documents a killed one was removing.
            self.db.clear(self.generation, left)
        generation = self.generation + 1
        with talking(self.place):
            first = 0
            for docs, chunks, vectors in self._pending:
                self._write_batch(docs, chunks, vectors, generation, first)
                first += len(chunks)
        removing = sorted(self._removals)
        self.generation = generation
        self._write_record(removing=removing)  # the commit: readers see the new state
        if removing:
            self.db.clear(self.generation, removing)
            self._write_record(removing=[])
        self._pending.clear()
        self._removals.clear()
        self._saved = True

    def save(self) -> None:
        """Commit, then weigh the sparse vectors again if the average chunk length moved."""
        self.commit()
        chunks = self.chunk_total
        live = sum(self.tokens.values()) / chunks if chunks else 0.0
        if live and abs(live - self.average_length) > REWEIGH * live:
            self.db.reweigh(live)
            self.average_length = live
            self._write_record(removing=[])

    def start_afresh(self) -> None:
        self.fresh = True

    def _start_over(self) -> None:
        self.db.create(self.dimension)
        # The folder names the collection, so commands given --index find it (replicas
        # elsewhere find it by RAG_STORE=qdrant and the folder's name).
        self.path.mkdir(parents=True, exist_ok=True)
        (self.path / POINTER).write_text(json.dumps(self.place.pointer()) + "\n", encoding="utf-8")
        self.generation, self.fresh = 0, False

    def _write_batch(
        self, docs: list[Document], chunks: list[Chunk], vectors: np.ndarray, generation: int, first: int
    ) -> None:
        """Points for the chunks (numbered from ``first`` within the commit), then records
        for the documents that start in the batch, and every touched document's counts."""
        if not self.average_length and chunks:
            self.average_length = float(np.mean([bm25_weights(c.text, c.start, 1.0)[2] for c in chunks]))
        for start in range(0, len(chunks), UPLOAD_BATCH):
            points = []
            for seq, chunk, vector in zip(
                range(first + start, first + len(chunks)),
                chunks[start : start + UPLOAD_BATCH],
                vectors[start : start + UPLOAD_BATCH],
                strict=False,
            ):
                doc = self.documents[chunk.doc_id]
                point, length = _chunk_point(
                    self.db.models, chunk, vector, doc, (generation, seq), self.average_length
                )
                self.tokens[chunk.doc_id] = self.tokens.get(chunk.doc_id, 0) + length
                points.append(point)
            self.db.client.upsert(self.place.collection, points=points, wait=True)
        counts = {
            d: {"chunks": self.chunk_counts.get(d, 0), "tokens": self.tokens.get(d, 0)}
            for d in {c.doc_id for c in chunks}
        }
        self.db.write_documents(docs, generation, counts)

    def _write_record(self, removing: list[str], writing: bool = False) -> None:
        self.db.write_record(
            {
                "kind": "index",
                "format": FORMAT,
                "embedding_model": self.model,
                "dimension": self.dimension,
                "chunking": self.chunking,
                "generation": self.generation,
                "average_length": self.average_length,
                "incomplete": self.incomplete,
                "removing": removing,
                "writing": writing,  # a commit under way: readers see committed points only
                "writer": self.token if writing else None,
                "heartbeat": now(),
                "committed": now(),
            }
        )


def take_lease(db: Collections, token: str, expected: int | None) -> list[str] | None:
    """Become the one writer of the index, or say why not: another process committed
    since this one read it (expected: the generation it read), or holds the lease (on a
    server: waited for up to ``LEASE_S`` while its heartbeat is fresh). Returns what a
    writer that never finished left to clear (the documents it was removing), or None
    when the last commit finished."""
    wait_until = time.monotonic() + LEASE_S
    while True:
        record = db.record() or {}
        holder, beat = record.get("writer"), record.get("heartbeat")
        busy = db.place.url and holder not in (None, token) and _fresh(beat)
        if not busy or time.monotonic() > wait_until:
            break
        time.sleep(0.5)
    changed = ChangedElsewhereError(
        f"The index in {db.place.where} was changed by another process while this one "
        "was working; run the command again."
    )
    if record.get("generation") != expected:
        raise changed
    if record:
        db.mark_writing(token)
        if (db.record() or {}).get("writer") != token:
            raise changed
    unfinished = record.get("writing", True) or record.get("removing")
    return list(record.get("removing") or []) if record and unfinished else None


def _fresh(heartbeat: Any) -> bool:
    try:
        age = datetime.now(UTC) - datetime.fromisoformat(str(heartbeat))
    except ValueError:
        return False
    return age.total_seconds() < LEASE_S


def _chunk_point(
    models: Any, chunk: Chunk, vector: np.ndarray, doc: Document, order: tuple[int, int], average: float
) -> tuple[Any, int]:
    """A chunk's point (``order``: its generation and place in it) and its length in terms."""
    indices, values, length = bm25_weights(chunk.text, chunk.start, average)
    point = models.PointStruct(
        id=point_id(chunk.chunk_id),
        vector={DENSE: vector.tolist(), SPARSE: models.SparseVector(indices=indices, values=values)},
        payload=chunk_payload(chunk, doc, *order),
    )
    return point, length


def _document_payload(doc: Document, generation: int, added: str) -> dict[str, Any]:
    return {
        "kind": "document",
        "doc_id": doc.doc_id,
        "source": doc.source,
        "text": doc.text,
        "metadata": doc.metadata,
        "generation": generation,
        "added": added,
        "chunks": 0,
    }


def _payload_index_kinds() -> list[tuple[str, Any]]:
    from qdrant_client import models as m

    keyword, integer = m.PayloadSchemaType.KEYWORD, m.PayloadSchemaType.INTEGER
    return [
        ("generation", integer),
        ("doc_id", keyword),
        ("year", integer),
        ("country", keyword),
        ("keys", keyword),
        ("names", keyword),
        ("folders", keyword),
        ("speaker", m.TextIndexParams(type=m.TextIndexType.TEXT, phrase_matching=True, lowercase=True)),
    ]


def idf_ceiling(chunks: int) -> float:
    """The IDF of a term no chunk holds (Qdrant's formula with a document frequency of 0)."""
    return math.log((chunks + 0.5) / 0.5 + 1)
