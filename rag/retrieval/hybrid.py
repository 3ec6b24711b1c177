"""Hybrid retrieval over an index folder: dense FAISS search and BM25, fused by reciprocal
rank, with filters."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np
from scipy import sparse

from rag.embedding import Embedder
from rag.errors import NoMatchError
from rag.loading import country_name
from rag.question.text import check_question
from rag.retrieval.filters import Filters, check_k
from rag.storage import Index
from rag.storage.postings import Postings
from rag.terms import BM25_B, BM25_K1, OFFSET_WEIGHT, TOKEN, Vocabulary, tokenize
from rag.types import Document, Passage

_YEAR = re.compile(r"\b(19[4-9]\d|20\d\d)\b")


class BM25:
    """Okapi BM25 from per-chunk term counts, scored per query over just the query's columns.

    ``stored``: the counts of the first rows as saved with the index (memory-mapped); then
    ``counts`` holds only the rows after them (batches committed since it was saved).
    ``offsets``: every row's offset in its document (``OFFSET_WEIGHT`` in rag/terms.py)."""

    def __init__(
        self,
        counts: sparse.csr_matrix,
        terms: list[str],
        stored: Postings | None = None,
        offsets: np.ndarray | None = None,
        k1: float = BM25_K1,
        b: float = BM25_B,
    ):
        self.vocab = {t: i for i, t in enumerate(terms)}
        self.k1 = k1
        self.matrix = counts.tocsc()
        self.stored = stored
        self.offset = stored.rows if stored else 0  # the rows of ``counts`` come after these
        n = self.offset + counts.shape[0]
        self.rows = n
        lengths = np.asarray(counts.sum(axis=1), dtype=np.float32).ravel()
        if stored is not None:
            lengths = np.concatenate([stored.lengths, lengths])
        if offsets is not None:
            lengths = lengths + np.float32(OFFSET_WEIGHT) * np.asarray(offsets, dtype=np.float32)
        avg = float(lengths.mean()) if n else 1.0
        self._norm = (k1 * (1 - b + b * lengths / max(avg, 1e-9))).astype(np.float32)
        df = np.diff(self.matrix.indptr).astype(np.float32)
        if stored is not None:
            df[: stored.terms] += np.diff(stored.indptr).astype(np.float32)
        self._idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
        self._max_idf = float(np.log1p((n + 0.5) / 0.5))

    @classmethod
    def from_texts(cls, texts: list[str], offsets: list[int] | None = None) -> BM25:
        counts, terms = Vocabulary().count(texts)
        return cls(counts, terms, offsets=None if offsets is None else np.array(offsets))

    def idf(self, term: str) -> float:
        """Inverse document frequency of a token; unseen tokens count as rarest."""
        col = self.vocab.get(term)
        return self._max_idf if col is None else float(self._idf[col])

    def scores(self, query: str) -> np.ndarray:
        out = np.zeros(self.rows, dtype=np.float32)
        parts = [(self.matrix.indptr, self.matrix.indices, self.matrix.data, self.offset)]
        if self.stored is not None:
            parts.append((self.stored.indptr, self.stored.indices, self.stored.data, 0))
        for col in {self.vocab[t] for t in tokenize(query) if t in self.vocab}:
            for indptr, indices, data, offset in parts:
                if col + 1 >= len(indptr):
                    continue  # a term that came after these rows were saved
                rows = indices[indptr[col] : indptr[col + 1]] + offset
                tf = data[indptr[col] : indptr[col + 1]]
                out[rows] += self._idf[col] * tf * (self.k1 + 1) / (tf + self._norm[rows])
        return out


class Mentions:
    """The statements a question names by year or country ("in 2023", "Brazil"): a
    preference fused as a third ranking, not a filter, since a question about "the 2008
    Olympics" may be answered by a 2007 speech."""

    def __init__(self, documents: Iterable[Document]):
        self.by_year: dict[int, set[str]] = {}
        self.by_country: dict[str, set[str]] = {}
        self.every: set[str] = set()
        for doc in documents:
            self.every.add(doc.doc_id)
            meta = doc.metadata
            if isinstance(meta.get("year"), int):
                self.by_year.setdefault(meta["year"], set()).add(doc.doc_id)
            if meta.get("country"):
                # The country's code and name (a UN General Debate file's speaker is its
                # country), not a person: people are scope filters (rag/question/scope.py).
                code = str(meta["country"])
                for name in {code.lower(), country_name(code).lower()}:
                    self.by_country.setdefault(name, set()).add(doc.doc_id)

    def named(self, question: str) -> set[str] | None:
        """The documents of the years and countries the question names; None when it names
        none, or they are none or all of the documents (no preference to give)."""
        lower = question.lower()
        words = set(TOKEN.findall(lower))
        by_year = [self.by_year[int(y)] for y in _YEAR.findall(question) if int(y) in self.by_year]
        by_country = [
            ids for name, ids in self.by_country.items() if (name in lower if " " in name else name in words)
        ]
        if not by_year and not by_country:
            return None
        docs = set().union(*by_year) if by_year else set(self.every)
        if by_country:
            docs &= set().union(*by_country)
        return docs if docs and len(docs) < len(self.every) else None


class HybridRetriever:
    """Dense and BM25 rankings of the same chunks, fused by reciprocal rank."""

    def __init__(self, index: Index, embedder: Embedder, candidates: int = 50, rrf_k: int = 60):
        self.index = index
        self.embedder = embedder
        self.candidates = candidates
        self.rrf_k = rrf_k
        self._bm25: BM25 | None = None
        self._rows_of: dict[str, np.ndarray] = {}
        self._mentions = Mentions(())
        self._built_for = -1

    def _refresh(self) -> None:
        if self._built_for == self.index.version and self._bm25 is not None:
            return
        offsets = self.index.chunks.starts().astype(np.float32)
        self._bm25 = BM25(*self.index.term_counts(), offsets=offsets)
        doc_rows: dict[str, list[int]] = {}
        for row, doc_id in enumerate(self.index.chunks.doc_ids()):
            doc_rows.setdefault(doc_id, []).append(row)
        self._rows_of = {d: np.array(r, dtype=np.int64) for d, r in doc_rows.items()}
        self._mentions = Mentions(self.index.documents.values())
        self._built_for = self.index.version

    def rows_by_document(self) -> dict[str, np.ndarray]:
        """Each document's chunk rows."""
        self._refresh()
        return self._rows_of

    def idf(self, term: str) -> float:
        self._refresh()
        return self._bm25.idf(term)  # type: ignore[union-attr]

    def allowed_rows(self, filters: Filters | None) -> np.ndarray | None:
        if filters is None or filters.empty:
            return None
        self._refresh()
        docs = [d for d in self.index.documents.values() if filters.matches(d)]
        if not docs:
            raise NoMatchError(f"No statements in the index match the filters ({filters.describe()}).")
        return np.sort(np.concatenate([self._rows_of[d.doc_id] for d in docs if d.doc_id in self._rows_of]))

    def _sparse(self, text: str, n: int, allowed: np.ndarray | None) -> np.ndarray:
        """BM25's ``n`` best rows for the text (within ``allowed``), best first."""
        bm25 = self._bm25.scores(text)  # type: ignore[union-attr]
        if allowed is not None:
            masked = np.full_like(bm25, -1.0)
            masked[allowed] = bm25[allowed]
            bm25 = masked
        top = np.flatnonzero(bm25 > 0)
        if len(top) > n:
            top = top[np.argpartition(-bm25[top], n - 1)[:n]]
        return top[np.lexsort((top, -bm25[top]))]

    def mentioned_rows(self, question: str, allowed: np.ndarray | None) -> np.ndarray | None:
        """Rows of the statements whose year or country the question names ("in 2023",
        "Brazil"), fused as a third ranking (see ``Mentions``)."""
        self._refresh()
        docs = self._mentions.named(question)
        if docs is None:
            return None
        rows = np.sort(np.concatenate([self._rows_of[d] for d in docs if d in self._rows_of]))
        if allowed is not None:
            rows = np.intersect1d(rows, allowed)
            if len(rows) == len(allowed):
                return None  # the filter already holds only these: no preference left to give
        return rows if len(rows) else None

    def retrieve(
        self, question: str, k: int = 5, filters: Filters | None = None, also: Sequence[str] = ()
    ) -> list[Passage]:
        """The ``k`` passages, fusing the dense and BM25 rankings of the question and of each
        other wording of it in ``also`` (the question without the speaker it is kept to)."""
        question = check_question(question)
        k = check_k(k)
        if not self.index.chunks:
            return []
        self._refresh()
        allowed = self.allowed_rows(filters)
        n = max(self.candidates, k)
        query = self.embedder.embed_query(question)
        dense_scores, dense_rows = self.index.search(query, n, allowed)
        rankings = [dense_rows, self._sparse(question, n, allowed)]
        for text in also:
            rankings += [self.index.search(self.embedder.embed_query(text), n, allowed)[1]]
            rankings += [self._sparse(text, n, allowed)]
        mentioned = self.mentioned_rows(question, allowed)
        if mentioned is not None:
            rankings.append(self.index.search(query, n, mentioned)[1])

        fused: dict[int, float] = {}
        for ranking in rankings:
            for rank, row in enumerate(ranking):
                fused[int(row)] = fused.get(int(row), 0.0) + 1.0 / (self.rrf_k + rank + 1)
        best = sorted(fused, key=lambda r: (-fused[r], r))[:k]
        similarity = dict(zip(map(int, dense_rows), map(float, dense_scores), strict=True))
        missing = np.array([r for r in best if r not in similarity], dtype=np.int64)
        if len(missing):
            for row, vec in zip(missing, self.index.vectors_of(missing), strict=True):
                similarity[int(row)] = float(vec @ query)
        passages = []
        for rank, row in enumerate(best, start=1):
            chunk = self.index.chunks[row]
            passages.append(
                Passage(rank, chunk, self.index.documents[chunk.doc_id], fused[row], similarity[row])
            )
        return passages
