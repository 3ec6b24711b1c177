"""A question's passages and its quoted answer, from one snapshot: searched within the
question's scope, and for a follow-up, answered with what the answers before it did not
quote (docs/conversations.md)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from rag.answering.extractive import ExtractiveGenerator
from rag.question import Question
from rag.question.scope import Scope
from rag.retrieval import Filters, Reading
from rag.types import Answer, Passage


@dataclass(frozen=True)
class Quoted:
    """What the search found and what the statements' own words answer: the scope as
    searched (``missing`` says what the index lacks), the passages, and the quoted answer
    (None when the scope is missing)."""

    question: Question  # as searched: its scope the one the search applied
    passages: list[Passage]
    answer: Answer | None

    @property
    def scope(self) -> Scope:
        return self.question.scope


def quote(
    question: Question,
    snapshot: Reading,
    quoting: ExtractiveGenerator,
    k: int,
    filters: Filters | None = None,
    scoped: bool = True,
) -> Quoted:
    """Search, then quote. A follow-up that points back ("What did he say about X?") looks
    first in the statements the answer before it quoted, where the question's own words
    decide; any follow-up never quotes exactly what the answer before it quoted. A
    follow-up with another reading ("And Ukraine?": speaker or topic) is answered by
    that one when this one finds nothing."""
    found = _quote(question, snapshot, quoting, k, filters, scoped)
    other = question.alternative
    if other is not None and (found.answer is None or found.answer.refused):
        second = _quote(other, snapshot, quoting, k, filters, scoped)
        if second.answer is not None and not second.answer.refused:
            return second
    return found


def _quote(
    question: Question,
    snapshot: Reading,
    quoting: ExtractiveGenerator,
    k: int,
    filters: Filters | None,
    scoped: bool,
) -> Quoted:
    before = question.before
    if question.refers and before and before.cited:
        cited = tuple(dict.fromkeys(doc_id for doc_id, _, _ in before.cited))
        scope, passages = snapshot.search(question, k, filters, scoped, sources=cited)
        if not scope.missing:
            own = replace(question.own_words(), scope=scope)
            answer = _not_again(quoting, own, passages, snapshot)
            if not answer.refused:
                return Quoted(own, passages, answer)
    scope, passages = snapshot.search(question, k, filters, scoped)
    searched = replace(question, scope=scope)
    if scope.missing:
        return Quoted(searched, passages, None)
    if question.refers and before:
        return Quoted(searched, passages, _not_again(quoting, searched, passages, snapshot))
    return Quoted(searched, passages, quoting.generate(searched, passages, snapshot))


def _not_again(
    quoting: ExtractiveGenerator, question: Question, passages: list[Passage], snapshot: Reading
) -> Answer:
    """The answer, unless it would quote exactly what the answer before it quoted: then the
    one sentence that best answers this question, if that is not the same again; else the
    answer without those words, or that the statements found hold nothing more."""
    assert question.before is not None
    again = set(question.before.cited)
    answer = quoting.generate(question, passages, snapshot, earlier=())
    if {(c.doc_id, c.start, c.end) for c in answer.citations} != again:
        return answer
    brief = quoting.generate(question, passages, snapshot, earlier=(), brief=True)
    if {(c.doc_id, c.start, c.end) for c in brief.citations} != again:
        return brief
    return quoting.generate(question, passages, snapshot, earlier=list(again))
