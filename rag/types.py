"""The small plain types every part of the pipeline passes around."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class Document:
    """A statement as read: normalised text, a content-hash id, where it came from."""

    doc_id: str
    source: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return str(self.metadata.get("title") or self.source)


class Chunk:
    """A span of one document: ``document.text[start:end] == text`` always holds.

    A chunk read from an index keeps a reference to its document's text and cuts its own
    out when asked (``Chunk.within``), so an index opened for questions holds no second
    copy of every passage."""

    __slots__ = ("chunk_id", "doc_id", "start", "end", "_text", "_base")

    def __init__(self, chunk_id: str, doc_id: str, start: int, end: int, text: str):
        self.chunk_id, self.doc_id, self.start, self.end = chunk_id, doc_id, start, end
        self._text, self._base = text, start  # _text begins at the document's _base

    @classmethod
    def within(cls, chunk_id: str, doc_id: str, start: int, end: int, document_text: str) -> Chunk:
        chunk = cls(chunk_id, doc_id, start, end, document_text)
        chunk._base = 0
        return chunk

    @property
    def text(self) -> str:
        return self._text[self.start - self._base : self.end - self._base]

    def _key(self) -> tuple[str, str, int, int, str]:
        return (self.chunk_id, self.doc_id, self.start, self.end, self.text)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Chunk) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Chunk({self.chunk_id!r}, {self.doc_id!r}, {self.start}, {self.end}, {self.text[:40]!r}…)"


@dataclass(frozen=True)
class Passage:
    """A chunk as retrieved for one question, with its rank and scores."""

    rank: int
    chunk: Chunk
    document: Document
    score: float  # fused reciprocal-rank score
    similarity: float  # cosine similarity of question and chunk

    @property
    def doc_id(self) -> str:
        return self.chunk.doc_id

    @property
    def start(self) -> int:
        return self.chunk.start

    @property
    def end(self) -> int:
        return self.chunk.end

    @property
    def text(self) -> str:
        return self.chunk.text

    def to_json(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "doc_id": self.doc_id,
            "source": self.document.source,
            "title": self.document.title,
            "start": self.start,
            "end": self.end,
            "score": round(self.score, 6),
            "similarity": round(self.similarity, 6),
            "text": self.text,
        }


@dataclass(frozen=True)
class Citation:
    """The exact words of one source that back one ``[n]`` marker of an answer."""

    n: int
    document: Document
    start: int
    end: int
    quote: str
    passage_rank: int

    @property
    def doc_id(self) -> str:
        return self.document.doc_id

    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "doc_id": self.doc_id,
            "source": self.document.source,
            "title": self.document.title,
            "start": self.start,
            "end": self.end,
            "quote": self.quote,
        }


@dataclass(frozen=True)
class Sentence:
    """One sentence of an answer, the citations after it, and whether they support it."""

    text: str
    citations: tuple[int, ...]
    supported: bool
    # Why its citations do not support it ("the cited words give no 5"), or, supported, that
    # the model cited another passage and the citation was moved to the one that says it.
    why: str = ""
    repointed: bool = False

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"text": self.text, "citations": list(self.citations)}
        out["supported"] = self.supported
        if self.why:
            out["why"] = self.why
        if self.repointed:
            out["repointed"] = True
        return out


@dataclass(frozen=True)
class Group:
    """One source's run of an answer: the answer's words from it with their ``[n]`` markers,
    under a lead-in naming whose words they are and when, made from the cited document's
    metadata. The lead-in is shown, never checked as a claim nor read for markers."""

    text: str
    citations: tuple[int, ...] = ()
    lead_in: str = ""  # "Wang Yi (China), 2021-05-04"; empty when there is no source to name
    speaker: str = ""
    country: str = ""  # the country's name
    date: str = ""  # the date or year as the metadata gives it; empty when undated

    @property
    def shown(self) -> str:
        """The group as the answer's text has it: "lead-in: words [n]"."""
        return f"{self.lead_in}: {self.text}" if self.lead_in else self.text

    def to_json(self) -> dict[str, Any]:
        return {
            "lead_in": self.lead_in,
            "speaker": self.speaker,
            "country": self.country,
            "date": self.date,
            "text": self.text,
            "citations": list(self.citations),
        }


@dataclass(frozen=True)
class Answer:
    """An answer whose ``[n]`` markers index ``citations``; refused when nothing fits.

    Once attributed, ``groups`` hold its words source by source, each under its lead-in, and
    ``text`` is the groups as shown (``Answer.grouped``); ``words`` is what it claims."""

    question: str
    text: str
    refused: bool
    citations: tuple[Citation, ...] = ()
    passages: tuple[Passage, ...] = ()
    generator: str = "extractive"
    sentences: tuple[Sentence, ...] = ()
    note: str = ""  # e.g. why a generative answer fell back to quoting
    # What the question was understood to be about (countries, years, sessions), each
    # with whether the index holds it: see rag/question/scope.py.
    scope: dict[str, Any] = field(default_factory=dict)
    # Parts of a several-part question that the statements found do not address.
    unaddressed: tuple[str, ...] = ()
    # A follow-up as a person would write it standalone ("Understood as"), and as searched
    # (with the earlier turn's names): each only when it differs from what was asked.
    understood: str = ""
    searched: str = ""
    groups: tuple[Group, ...] = ()

    @property
    def unsupported(self) -> tuple[Sentence, ...]:
        return tuple(s for s in self.sentences if not s.supported)

    @property
    def parts(self) -> tuple[Group, ...]:
        """The groups; an answer not (yet) attributed is one group without a lead-in."""
        return self.groups or ((Group(self.text),) if self.text else ())

    @property
    def words(self) -> str:
        """The answer's own words and markers, without lead-ins: what is checked."""
        return "\n\n".join(g.text for g in self.parts)

    def grouped(self, groups: Sequence[Group]) -> Answer:
        """The answer made of these groups: its text is theirs, lead-ins included."""
        return replace(self, groups=tuple(groups), text="\n\n".join(g.shown for g in groups))

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.text,
            "refused": self.refused,
            "generator": self.generator,
            "note": self.note,
            "scope": self.scope,
            "unaddressed": list(self.unaddressed),
            "understood": self.understood or self.question,
            "searched": self.searched or self.question,
            "groups": [g.to_json() for g in self.groups],
            "sentences": [s.to_json() for s in self.sentences],
            "citations": [c.to_json() for c in self.citations],
            "passages": [p.to_json() for p in self.passages],
        }
