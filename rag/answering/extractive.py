"""The extractive generator: the retrieved sentences that best answer the question, each
cited by its exact offsets."""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from rag.answering.answerability import CLOSE, asks_for_figure, has_figure, list_not_given, unmentioned
from rag.embedding import Embedder
from rag.splitting import split_sentences
from rag.terms import tokenize
from rag.types import Answer, Citation, Document, Passage

REFUSAL = "The statements do not address this question."
SENTENCE_CACHE = 20_000  # candidate sentence vectors kept between answers (about 30 MB)

_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+(?:[- ][A-Z][a-z]+)+")
_DATE = re.compile(
    r"\b(1[89]\d\d|20\d\d)\b|\b(january|february|march|april|may|june|july|august|"
    r"september|october|november|december|monday|tuesday|wednesday|thursday|friday)\b",
    re.I,
)
_NUMBER = re.compile(
    r"\b\d[\d,.]*\b|\b(one|two|three|four|five|six|seven|eight|nine|ten|dozen|"
    r"hundred|thousand|million|billion)\b",
    re.I,
)


class Generator(Protocol):
    name: str

    def generate(self, question: str, passages: list[Passage]) -> Answer: ...


@dataclass(frozen=True)
class _Candidate:
    document: Document
    start: int
    end: int
    passage_rank: int
    similarity: float = 0.0
    score: float = 0.0

    @property
    def text(self) -> str:
        return self.document.text[self.start : self.end]


def _answer_type_bonus(question: str, sentence: str) -> float:
    """Reward sentences holding the kind of thing the question asks for."""
    q = question.lower().lstrip()
    asked = set(tokenize(question))
    if q.startswith(("who", "whom")) or " who " in q:
        names = [n for n in _NAME.findall(sentence) if not set(tokenize(n)) <= asked]
        return 0.08 * min(len(names), 2)
    if q.startswith("when") or "what year" in q or "what date" in q:
        return 0.1 if _DATE.search(sentence) else 0.0
    if q.startswith(("how many", "how much")):
        return 0.1 if _NUMBER.search(sentence) else 0.0
    return 0.0


class ExtractiveGenerator:
    """Answers with the retrieved sentences that best answer the question, each cited.

    Faithful by construction: every answer sentence is a verbatim span of a source.
    A sentence's score is its cosine similarity to the question, plus 0.3 times the
    share of the question's (idf-weighted) words it contains, plus a small bonus when
    it holds what a who/when/how-many question asks for. It refuses when no sentence
    scores ``min_relevance`` (calibrated in docs/refusal.md).
    """

    name = "extractive"

    def __init__(
        self,
        embedder: Embedder,
        min_relevance: float = 0.52,
        max_sentences: int = 3,
        margin: float = 0.12,
        idf: Callable[[str], float] | None = None,
    ):
        self.embedder = embedder
        self.min_relevance = min_relevance
        self.max_sentences = max_sentences
        self.margin = margin
        self.idf = idf or (lambda term: 1.0)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    def candidates(self, passages: list[Passage]) -> list[_Candidate]:
        seen: set[tuple[str, int]] = set()
        out = []
        for p in passages:
            title = str(p.document.metadata.get("title", "")).strip()
            for s in split_sentences(p.text):
                start, end = p.start + s.start, p.start + s.end
                text = p.document.text[start:end]
                # Headlines, salutations, fragments and questions are not claims; a date line is.
                short = len(text.split()) < 5 and not _DATE.search(text)
                asks = text.rstrip("\"'”’) ").endswith("?")
                if (p.doc_id, start) in seen or short or asks or text.strip() == title:
                    continue
                seen.add((p.doc_id, start))
                out.append(_Candidate(p.document, start, end, p.rank))
        return out

    def score(self, question: str, candidates: list[_Candidate]) -> list[_Candidate]:
        if not candidates:
            return []
        query = self.embedder.embed_query(question)
        sims = self._sentence_vectors([c.text for c in candidates]) @ query
        asked = set(tokenize(question))
        weight = {t: self.idf(t) for t in asked}
        total = sum(weight.values()) or 1.0
        scored = []
        for c, sim in zip(candidates, sims, strict=True):
            # Rare question words ("chaired") count for more than common ones ("security");
            # the speaker's name belongs to every sentence of their statement.
            context = f"{c.text} {c.document.metadata.get('speaker', '')}"
            overlap = sum(weight[t] for t in asked & set(tokenize(context))) / total
            score = float(sim) + 0.3 * overlap + _answer_type_bonus(question, c.text)
            scored.append(replace(c, similarity=float(sim), score=score))
        return scored

    def clear_cache(self) -> None:
        self._cache.clear()

    def _sentence_vectors(self, texts: list[str]) -> np.ndarray:
        """Vectors of candidate sentences; the ones met in earlier answers come from a cache
        (related questions retrieve the same passages)."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            for text, vector in zip(missing, self.embedder.embed(missing), strict=True):
                self._cache[text] = vector
        vectors = np.vstack([self._cache[t] for t in texts])
        for text in texts:
            self._cache.move_to_end(text)
        while len(self._cache) > SENTENCE_CACHE:
            self._cache.popitem(last=False)
        return vectors

    def generate(self, question: str, passages: list[Passage]) -> Answer:
        scored = self.score(question, self.candidates(passages))
        if not scored or max(c.score for c in scored) < self.min_relevance:
            return Answer(question, REFUSAL, True, (), tuple(passages), self.name)
        best = max(scored, key=lambda c: c.score)
        texts = [p.text for p in passages]
        absent = [] if best.similarity >= CLOSE else unmentioned(question, texts, self.idf)
        if absent:
            said = " or ".join(absent)
            return Answer(
                question, f"The statements found do not mention {said}.", True, (), tuple(passages), self.name
            )
        relevant = [c for c in scored if c.score >= self.min_relevance]
        if asks_for_figure(question) and not any(has_figure(c.text) for c in relevant):
            text = "The statements found touch on this but give no figure for it."
            return Answer(question, text, True, (), tuple(passages), self.name)
        unlisted = list_not_given(question, [c.text for c in relevant])
        if unlisted:
            return Answer(question, unlisted, True, (), tuple(passages), self.name)
        ranked = sorted(scored, key=lambda c: -c.score)
        top = ranked[0].score
        chosen = [c for c in ranked if c.score >= top - self.margin][: self.max_sentences]
        if _asks_for_type(question):
            chosen = _with_continuations(question, chosen)
        # Readable order: documents by their best sentence, sentences as the document has them.
        doc_order: dict[str, int] = {}
        for c in chosen:
            doc_order.setdefault(c.document.doc_id, len(doc_order))
        chosen.sort(key=lambda c: (doc_order[c.document.doc_id], c.start))
        citations: list[Citation] = []
        parts: list[str] = []
        for c in _merge_adjacent(chosen):
            n = len(citations) + 1
            citations.append(Citation(n, c.document, c.start, c.end, c.text, c.passage_rank))
            parts.append(f"{' '.join(c.text.split())} [{n}]")
        return Answer(question, " ".join(parts), False, tuple(citations), tuple(passages), self.name)


_BACK_REFERENCE = {"they", "he", "she", "it", "this", "these", "those", "both", "the"}


def _asks_for_type(question: str) -> bool:
    q = question.lower().lstrip()
    return q.startswith(("who", "whom", "when", "how many", "how much")) or " who " in q


def _with_continuations(question: str, chosen: list[_Candidate]) -> list[_Candidate]:
    """Add the sentence after a chosen one when it refers back to it and names what the
    question asks for ("... met with the co-chairs." + "Co-chairs were A and B.")."""
    out: list[_Candidate] = []
    taken = {(c.document.doc_id, c.start) for c in chosen}
    for c in chosen:
        out.append(c)
        text = c.document.text
        following = split_sentences(text[c.end : c.end + 600])
        if not following:
            continue
        start, end = c.end + following[0].start, c.end + following[0].end
        if (c.document.doc_id, start) in taken or text[c.end : start].count("\n") > 2:
            continue
        sentence = text[start:end]
        first = [w.lower() for w in re.findall(r"[\w-]+", sentence)[:2]]
        refers_back = bool(first) and (
            first[0] in _BACK_REFERENCE or bool(set(tokenize(" ".join(first))) & set(tokenize(c.text)))
        )
        if refers_back and _answer_type_bonus(question, sentence) > 0:
            out.append(replace(c, start=start, end=end))
            taken.add((c.document.doc_id, start))
    return out


def _merge_adjacent(chosen: list[_Candidate]) -> list[_Candidate]:
    """One citation for consecutive sentences of one document: a quote reads better whole."""
    merged: list[_Candidate] = []
    for c in chosen:
        last = merged[-1] if merged else None
        if (
            last
            and last.document.doc_id == c.document.doc_id
            and not c.document.text[last.end : c.start].strip()
        ):
            merged[-1] = replace(last, end=c.end, passage_rank=min(last.passage_rank, c.passage_rank))
        else:
            merged.append(c)
    return merged
