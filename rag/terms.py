"""Word tokens for BM25 and the lexical checks, and per-chunk term counts as sparse rows."""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable

import numpy as np
import snowballstemmer
from scipy import sparse

STOPWORDS = set(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves
    said say says also""".split()
)
TOKEN = re.compile(r"\w+", re.UNICODE)

BM25_K1, BM25_B = 1.5, 0.75
# BM25's length of a chunk is its number of terms plus a millionth of its offset in
# its document (one term a million characters in): two passages of a statement
# with the same counts of a question's terms then rank the earlier one first, as an index
# folder's row order always ranked them, instead of tying and going in whatever order a
# store keeps them. So rankings depend on neither the store nor the order of ingestion.
OFFSET_WEIGHT = 1e-6

_STEMMER = snowballstemmer.stemmer("english")


@functools.lru_cache(maxsize=200_000)
def _stem(token: str) -> str:
    return _STEMMER.stemWord(token)


def tokenize(text: str) -> list[str]:
    """Lower-case, stemmed word tokens without stop words ("funded", "funding" -> "fund")."""
    return [_stem(tok) for tok in TOKEN.findall(text.lower()) if tok not in STOPWORDS]


class Vocabulary:
    """Term -> column, append-only: a batch of chunks records only the terms it introduced,
    so the rows of every batch ever written share one column numbering."""

    def __init__(self, terms: Iterable[str] = ()):
        self.terms: list[str] = []
        self.ids: dict[str, int] = {}
        self.extend(terms)

    def extend(self, terms: Iterable[str]) -> None:
        for term in terms:
            self.ids[term] = len(self.terms)
            self.terms.append(term)

    def __len__(self) -> int:
        return len(self.terms)

    def count(self, texts: Iterable[str]) -> tuple[sparse.csr_matrix, list[str]]:
        """Term counts of ``texts`` (one row each) and the terms they added, in column order."""
        first_new = len(self.terms)
        indptr, indices, counts = [0], [], []
        for text in texts:
            for term, tf in Counter(tokenize(text)).items():
                col = self.ids.get(term)
                if col is None:
                    col = self.ids[term] = len(self.terms)
                    self.terms.append(term)
                indices.append(col)
                counts.append(tf)
            indptr.append(len(indices))
        matrix = sparse.csr_matrix(
            (
                np.array(counts, dtype=np.float32),
                np.array(indices, dtype=np.int32),
                np.array(indptr, dtype=np.int64),
            ),
            shape=(len(indptr) - 1, len(self.terms)),
        )
        return matrix, self.terms[first_new:]


def stack_rows(blocks: list[sparse.csr_matrix], columns: int) -> sparse.csr_matrix:
    """Rows of several count blocks, each widened to ``columns`` (later blocks know more terms)."""
    if not blocks:
        return sparse.csr_matrix((0, columns), dtype=np.float32)
    widened = [sparse.csr_matrix((b.data, b.indices, b.indptr), shape=(b.shape[0], columns)) for b in blocks]
    return sparse.vstack(widened, format="csr", dtype=np.float32)
