"""The one reading of a question: made once, when it is asked, from the words, the
conversation before it and what the index covers; every later step (the search, the
generators, the checks, the refusals) takes this reading instead of reading the words again."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from rag.question.asks import GENERIC, Asks, asks_of
from rag.question.followup import Turn, as_turns, follow_up, other_reading, readable
from rag.question.parts import Part, compared, question_parts
from rag.question.scope import Coverage, Scope, scope_of, speaker_countries, subject_countries
from rag.question.text import without_context
from rag.terms import tokenize

Span = tuple[str, int, int]  # (doc_id, start, end)


@dataclass(frozen=True)
class Question:
    """What was asked, read once.

    ``text`` is what is searched and answered: the question itself, or a follow-up made
    standalone from the turn before it. ``scope``: whose statements, when, where, each part
    with its role, whether the index holds it and whether the reading is sure. ``asks``:
    the kind of answer, the focus terms, the premise. ``parts``: the several questions of a
    several-part one, each with what it asks for."""

    asked: str
    text: str
    asks: Asks
    scope: Scope = field(default_factory=Scope)
    parts: tuple[Part, ...] = ()
    follow: str = ""  # "" (a question of its own), "more", "instead", "refers" or "shift"
    before: Turn | None = None  # the turn a follow-up follows
    cited: tuple[Span, ...] = ()  # what earlier answers quoted, not to be quoted again ("What else?")
    shown: str = ""  # a follow-up as a person would write it standalone ("Understood as")
    # The follow-up read the other way it can be ("And Ukraine?": the new topic rather than
    # the new speaker), answered from when this reading finds nothing.
    alternative: Question | None = None

    @classmethod
    def read(
        cls,
        asked: str,
        history: Sequence[Turn | str] = (),
        coverage: Coverage | None = None,
        rewritten: str | None = None,
    ) -> Question:
        """The reading of ``asked`` after the ``history`` of the conversation, over an index
        covering ``coverage``; ``rewritten``: the follow-up as a model made it standalone."""
        turns = as_turns(history)
        coverage = coverage or Coverage()
        speaks = coverage.countries.__contains__ if coverage.countries else None
        follow, text = follow_up(asked, turns, speaks)
        text = rewritten or text
        before = turns[-1] if follow else None
        # A follow-up keeps the earlier turn's speaker, years and venue unless it names its own.
        # The earlier turn's names in brackets are searched with, never read as who spoke.
        scope = (
            scope_of(without_context(text), coverage, before.searched, before.speakers)
            if before
            else scope_of(text, coverage)
        )
        cited = tuple(span for t in turns for span in t.cited) if follow == "more" else ()
        speakers = [p.label for p in scope.parts if p.kind in ("country", "speaker") and p.held]
        shown = rewritten or readable(asked, follow, text, before, speakers[0] if len(speakers) == 1 else "")
        parts = _parts(text, scope, coverage)
        other = other_reading(asked, turns, speaks) if follow == "instead" and not rewritten else ""
        alternative = cls.read(other, (), coverage) if other and other != text else None
        if alternative is not None:
            alternative = replace(alternative, asked=asked, follow=follow, before=before, shown=other)
        return cls(asked, text, asks_of(text), scope, parts, follow, before, cited, shown, alternative)

    @classmethod
    def of(cls, text: str) -> Question:
        """A question read on its own, over an index whose coverage is not known."""
        return cls.read(text)

    @property
    def refers(self) -> bool:
        """It points back ("What did he say about X?"): the statements the answer before it
        quoted are searched first."""
        return self.follow == "refers"

    @property
    def again(self) -> bool:
        """A bare "What else?", "Anything else on that?": the earlier question asked again,
        for what its answers did not quote."""
        return self.follow == "more" and self.before is not None and self.text == self.before.searched

    @property
    def understood(self) -> str:
        """The question as a person would write it standalone, when it is not what was typed."""
        return self.shown if self.shown != self.asked else ""

    @property
    def searched(self) -> str:
        """The question as searched, when that differs from what was typed."""
        return self.text if self.text != self.asked else ""

    def own_words(self) -> Question:
        """This question without the earlier turn's names in brackets: what it asks, to
        answer from statements already chosen."""
        text = without_context(self.text)
        # Searched only in the statements already quoted: its parts need no scopes of their own.
        return replace(self, text=text, asks=asks_of(text), parts=tuple(question_parts(text)))


def _parts(text: str, scope: Scope, coverage: Coverage) -> tuple[Part, ...]:
    """The question's parts: one per speaker of a comparison ("How did Mexico and Chile each
    …"), else its several questions, clauses or listed topics; each searched within its own
    scope where it names its own speaker or year, the question's roles filling the rest."""
    text = without_context(text)  # a follow-up's earlier names in brackets are no part of it
    speaking = speaker_countries(text) or subject_countries(text)
    located = []
    for code, written in speaking:
        at = text.lower().find(written.lower())
        if at < 0:
            written = written.removeprefix("the ")
            at = text.lower().find(written.lower())
        if at >= 0:
            located.append((code, text[at : at + len(written)], at, at + len(written)))
    parts = compared(text, sorted(located, key=lambda s: s[2]))
    sides = len(parts) > 1  # one part per speaker compared: each part's speaker is sure
    elliptic: set[int] = set()
    if not parts:
        parts, elliptic = _elliptic(question_parts(text))
    if len(parts) < 2:
        return tuple(parts)
    whole = {(p.kind, str(p.value)) for p in scope.parts}
    out = []
    for i, part in enumerate(parts):
        own = scope_of(part.query, coverage)
        if own.missing:
            out.append(part)
            continue
        # Unsure: no narrowing; but the year is all an ellipsis says, so it is the speech's,
        # and one side of a comparison is by its speaker whatever the verb.
        kept = tuple(
            p
            for p in own.parts
            if p.sure or (i in elliptic and p.kind == "year") or (sides and p.kind == "country")
        )
        own = _filled(replace(own, parts=kept), scope)
        differs = {(p.kind, str(p.value)) for p in own.parts} != whole
        out.append(replace(part, scope=own) if differs else part)
    return tuple(out)


def _elliptic(parts: list[Part]) -> tuple[list[Part], set[int]]:
    """A part that only changes the year ("…, and how many in 2024?", "and according to its
    2024 statement?") asks the part before it again of that year: searched with its words.
    The parts, and which of them are such ellipses."""
    out: list[Part] = []
    elliptic = set()
    for part in parts:
        years = _YEAR.findall(part.query)
        own = {t for t in tokenize(part.query) if not t.isdigit()} - GENERIC - {"one", "ones"}
        if out and len(years) == 1 and not own and not part.topic:
            before = out[-1].query
            query = (
                _YEAR.sub(years[0], before)
                if _YEAR.search(before)
                else f"{before.rstrip('?')} in {years[0]}?"
            )
            part = replace(part, query=query)
            elliptic.add(len(out))
        out.append(part)
    return out, elliptic


_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_ROLES = (("country", "speaker"), ("year",), ("venue",))  # who, when, where


def _filled(own: Scope, whole: Scope) -> Scope:
    """A part's scope, each role it leaves empty taken from the whole question's."""
    parts = list(own.parts)
    for kinds in _ROLES:
        if not any(p.kind in kinds for p in own.parts):
            parts += [p for p in whole.parts if p.kind in kinds]
    return replace(own, parts=tuple(parts))
