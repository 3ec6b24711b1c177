"""Questions over an index held whole in Qdrant (``rag/storage/qdrant.py``).

Hybrid search runs in Qdrant: one Query API call prefetches the dense and the BM25
(sparse, IDF applied by Qdrant) candidates, and the mentioned-statements ranking when a
question names a year or country, and fuses them by reciprocal rank with the same
constant as the FAISS index. Filters are payload conditions; passages and documents are
read back from payloads. The process keeps each document's metadata (for what the index
covers and the filters' choices), never a chunk, vector or term count, and notices
another process's commit at the next question by the index record's generation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from rag.embedding import Embedder
from rag.errors import NoMatchError
from rag.question.scope import Coverage
from rag.question.text import check_question
from rag.retrieval.filters import Filters, check_k
from rag.retrieval.hybrid import Mentions
from rag.retrieval.snapshot import Reading, Stats
from rag.storage.qdrant import (
    DENSE,
    SPARSE,
    Collections,
    Place,
    QdrantIndex,
    State,
    chunk_of,
    document_of,
    idf_ceiling,
    talking,
    term_id,
)
from rag.terms import tokenize
from rag.types import Document, Passage

IDF_CACHE = 50_000  # terms whose IDF one state of the index remembers


def conditions(filters: Filters | None, models: Any, documents: Iterable[Document] = ()) -> list[Any]:
    """``Filters.matches`` as Qdrant payload conditions on a chunk's payload; a venue, which
    chunks do not carry, as the ids of the ``documents`` delivered there."""
    if filters is None or filters.empty:
        return []
    m, out = models, []
    if filters.venues:
        there = [d.doc_id for d in documents if filters.venue_matches(d)] or [""]  # "": no document
        out.append(m.FieldCondition(key="doc_id", match=m.MatchAny(any=there)))
    if filters.sources:
        folders = [s.rstrip("/") for s in filters.sources]
        out.append(
            m.Filter(
                should=[
                    m.FieldCondition(key="names", match=m.MatchAny(any=list(filters.sources))),
                    m.FieldCondition(key="folders", match=m.MatchAny(any=folders)),
                ]
            )
        )
    if filters.countries:
        out.append(m.FieldCondition(key="keys", match=m.MatchAny(any=[c.lower() for c in filters.countries])))
    if filters.speakers:
        phrases = [
            m.FieldCondition(key="speaker", match=m.MatchPhrase(phrase=p.lower())) for p in filters.speakers
        ]
        out.append(m.Filter(should=phrases))
    if filters.year_from or filters.year_to:
        out.append(
            m.FieldCondition(
                key="year", range=m.Range(gte=filters.year_from or None, lte=filters.year_to or None)
            )
        )
    return out


class QdrantRetriever:
    """Dense and BM25 rankings fused by reciprocal rank, in Qdrant, over one generation."""

    def __init__(
        self,
        db: Collections,
        record: dict[str, Any],
        documents: list[Document],
        embedder: Embedder,
        candidates: int = 50,
        rrf_k: int = 60,
    ):
        self.db, self.models, self.embedder = db, db.models, embedder
        self.state = State.of(record)
        self.documents = documents
        self.candidates, self.rrf_k = candidates, rrf_k
        self.mentions = Mentions(documents)
        self._idf: dict[str, float] = {}
        self._chunks: int | None = None

    def _where(self, extra: list[Any]) -> Any:
        return self.db.visible(self.state, extra)

    def _wordings(self, question: str, also: Sequence[str], where: Any, n: int) -> list[Any]:
        """The sparse ranking of the question, and the dense and sparse ones of each other
        wording of it (``also``), under the same conditions."""
        m, out = self.models, []
        for text in (question, *also):
            if text != question:
                alike = np.asarray(self.embedder.embed_query(text), dtype=np.float32).ravel().tolist()
                out.append(m.Prefetch(query=alike, using=DENSE, limit=n, filter=where))
            terms = sorted({term_id(t) for t in tokenize(text)})
            if terms:
                sparse = m.SparseVector(indices=terms, values=[1.0] * len(terms))
                out.append(m.Prefetch(query=sparse, using=SPARSE, limit=n, filter=where))
        return out

    def retrieve(
        self, question: str, k: int = 5, filters: Filters | None = None, also: Sequence[str] = ()
    ) -> list[Passage]:
        question = check_question(question)
        k = check_k(k)
        if not self.documents:
            return []
        allowed = [d.doc_id for d in self.documents if filters is None or filters.matches(d)]
        if not allowed:
            raise NoMatchError(f"No statements in the index match the filters ({filters.describe()}).")
        m, n = self.models, max(self.candidates, k)
        query = self.embedder.embed_query(question)
        dense = np.asarray(query, dtype=np.float32).ravel().tolist()
        where = self._where(conditions(filters, m, self.documents))
        prefetch = [m.Prefetch(query=dense, using=DENSE, limit=n, filter=where)]
        prefetch += self._wordings(question, also, where, n)
        named = self.mentions.named(question)
        if named is not None and not set(allowed) <= named and named & set(allowed):
            mentioned = m.FieldCondition(key="doc_id", match=m.MatchAny(any=sorted(named)))
            prefetch.append(
                m.Prefetch(
                    query=dense,
                    using=DENSE,
                    limit=n,
                    filter=self._where([*conditions(filters, m, self.documents), mentioned]),
                )
            )
        with talking(self.db.place):
            fused = self.db.client.query_points(
                self.db.place.collection,
                prefetch=prefetch,
                query=m.RrfQuery(rrf=m.Rrf(k=self.rrf_k + 1)),  # 1 / (k + rank), rank from 1
                query_filter=where,
                limit=n,
                with_payload=m.PayloadSelectorInclude(include=["generation", "seq"]),
            ).points
            # Equal fused scores in the order chunks were committed, as the FAISS index's rows.
            best = sorted(
                fused, key=lambda h: (-round(h.score, 12), h.payload["generation"], h.payload["seq"])
            )[:k]
            points = self.db.client.retrieve(
                self.db.place.collection, ids=[h.id for h in best], with_payload=True, with_vectors=[DENSE]
            )
        found = {p.id: p for p in points}
        documents = self.db.documents_by_id(list(dict.fromkeys(p.payload["doc_id"] for p in points)))
        passages: list[Passage] = []
        for hit in best:
            point = found.get(hit.id)
            if point is None or point.payload["doc_id"] not in documents:
                continue  # removed by a commit since this question began
            similarity = float(np.dot(np.asarray(point.vector[DENSE], dtype=np.float32), query))
            chunk = chunk_of(point.payload)
            document = documents[chunk.doc_id]
            passages.append(Passage(len(passages) + 1, chunk, document, float(hit.score), similarity))
        return passages

    def idf(self, term: str) -> float:
        """The IDF Qdrant gives a term: a one-term query's best score over that chunk's
        stored weight (unseen terms count as rarest)."""
        if term in self._idf:
            return self._idf[term]
        m = self.models
        with talking(self.db.place):
            hits = self.db.client.query_points(
                self.db.place.collection,
                query=m.SparseVector(indices=[term_id(term)], values=[1.0]),
                using=SPARSE,
                limit=1,
                with_vectors=[SPARSE],
            ).points
        if hits:
            stored = hits[0].vector[SPARSE]
            weight = dict(zip(stored.indices, stored.values, strict=True))[term_id(term)]
            value = float(hits[0].score) / weight
        else:
            if self._chunks is None:
                self._chunks = self.db.count(self._where([]))
            value = idf_ceiling(self._chunks)
        if len(self._idf) >= IDF_CACHE:
            self._idf.clear()
        self._idf[term] = value
        return value


class CollectionSnapshot(Reading):
    """One committed generation of a Qdrant-native index, as a question reads it."""

    def __init__(self, db: Collections, record: dict[str, Any], embedder: Embedder, candidates: int):
        self.db = db
        self.stamp = State.of(record)
        table = db.documents_table(self.stamp)
        self._documents = {doc_id: document_of(payload) for doc_id, payload in table.items()}
        self.chunk_counts = {doc_id: int(p.get("chunks", 0)) for doc_id, p in table.items()}
        self.added = {doc_id: str(p.get("added", "")) for doc_id, p in table.items()}
        self.coverage = Coverage.of(d.metadata for d in self._documents.values())
        self.engine = QdrantRetriever(db, record, list(self._documents.values()), embedder, candidates)

    def documents(self, whole: bool = False) -> list[Document]:
        if not whole:
            return list(self._documents.values())
        ids = list(self._documents)
        found: dict[str, Document] = {}
        for start in range(0, len(ids), 256):
            found.update(self.db.documents_by_id(ids[start : start + 256]))
        return [found[d] for d in ids if d in found]

    def document(self, doc_id: str) -> Document | None:
        if doc_id not in self._documents:
            return None
        return self.db.documents_by_id([doc_id]).get(doc_id)

    def stats(self) -> Stats:
        return Stats(len(self._documents), sum(self.chunk_counts.values()), self.db.place.folder)


class CollectionSource:
    """Where a pipeline reads a Qdrant-native index's committed states from: the index
    record's generation is the stamp; a new one means another state was committed."""

    def __init__(self, place: Place, embedder: Embedder, candidates: int):
        self.place, self.embedder, self.candidates = place, embedder, candidates
        self.db = Collections(place)
        self.db.checked_record(embedder.name)  # refuse a missing index or another model now
        self.folder = place.folder

    def stamp(self) -> State:
        return State.of(self.db.record() or {})

    def open(self, earlier: Reading | None = None) -> CollectionSnapshot:
        record = self.db.checked_record(self.embedder.name)
        return CollectionSnapshot(self.db, record, self.embedder, self.candidates)

    def writer(self) -> QdrantIndex:
        return QdrantIndex.open(self.place, self.embedder.name)
