"""A conversation's state, and follow-up questions made standalone before retrieval.

A follow-up inherits the subject and scope (speaker, country, year) of the turn before it
unless it names new ones: "And Denmark?", "What else?", "What did he say about X?", "in
2019?". A question that names its own subject starts afresh. The passages earlier answers
cited are remembered, so a follow-up answers with something new or says there is nothing."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from rag.countries import country_name
from rag.question.lexicon import GENERIC_WORDS
from rag.question.scope import country_named, speaker_countries, subject_countries
from rag.question.text import MAX_QUESTION_CHARS, context_names, with_speaker, without_context
from rag.question.years import speech_years
from rag.terms import STOPWORDS, tokenize
from rag.types import Answer, Document

_REFERS_BACK = {
    "it",
    "its",
    "they",
    "them",
    "their",
    "theirs",
    "this",
    "that",
    "these",
    "those",
    "he",
    "him",
    "his",
    "she",
    "her",
    "hers",
    "there",
    "such",
    "same",
    "former",
    "latter",
}
_MORE = re.compile(
    r"^\s*(?:and\s+)?(?:what|anything|something)\s+else\b.*|^\s*(?:tell me\s+)?more\b.*|^\s*go on\b.*|"
    r"^\s*(?:and\s+)?(?:anything|something|any|what)\s+(?:more|further)\b.*",
    re.I,
)
_INSTEAD = re.compile(
    r"^\s*(?:and\s+what\s+about|and\s+how\s+about|and|but|what\s+about|how\s+about|same\s+for|what\s+of)"
    r"\s+(?P<x>.+?)\s*\??\s*$",
    re.I,
)
_ONLY_WHEN = re.compile(
    r"^\s*(?:and\s+)?(?:in|for|at)\s+(?:its\s+)?(?P<x>(?:19|20)\d\d)(?:\s+statement)?\s*\??\s*$", re.I
)
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_ENTITY = re.compile(r"\b[A-Z][\w'-]*(?:\s+(?:of\s+|the\s+)?[A-Z][\w'-]*)*")
_QUESTION_WORD = re.compile(r"^(?:Who|What|When|Where|Why|How|Which|Did|Does|Do|Is|Are|Was|And|In)\b\s*")
_TOPIC = re.compile(
    r"\b(?:about|on|regarding|concerning)\s+(?P<topic>.+?)(?=\s+(?:in|at|during)\s+(?:19|20)\d\d\b|\s*\?|$)",
    re.I,
)
# "On a different subject: …", "Separately, …": what follows starts afresh; only who and
# when carry over when it points back.
_SHIFT = re.compile(
    r"^\s*(?:(?:on|to)\s+(?:a\s+|an\s+)?(?:different|another|other|new|separate|unrelated)\s+"
    r"(?:subject|topic|matter|note|point|question)|separately|changing\s+(?:the\s+)?(?:subject|topic)|"
    r"unrelated(?:ly)?|new\s+(?:subject|topic|question)|moving\s+on)\b\s*[:,;.\u2014-]*\s*",
    re.I,
)
# "the following year", "a year earlier", "two years later", "that year": a year counted
# from the earlier turn's.
_RELATIVE = re.compile(
    r"\b(?:in\s+|during\s+|by\s+)?(?:the\s+(?P<fwd>following|next|subsequent)\s+year|the\s+(?P<back>previous|preceding|prior)\s+year|"
    r"the\s+year\s+(?P<dir>after|before)|(?P<n>a|one|two|three|four|five)\s+years?\s+(?P<way>later|earlier|after|before|on|on\s+from)|"
    r"(?P<same>that|the\s+same)\s+year)\b",
    re.I,
)
_COUNTS = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
# Capitalised names inside the words an answer quoted ("the EU's Operation Atalanta").
_QUOTED_NAME = re.compile(r"(?<=[\w,;:(] )[A-Z][a-z][\w'’-]*+(?:\s++(?:of\s++|the\s++)?[A-Z][\w'’-]*+)*+")
# "that operation", "those countries", "this initiative": pointing at something the answer
# before named.
_POINTING = re.compile(
    r"\b(?:that|this|those|these|the\s+same)\s+(?!(?:year|years|day|time|session|speech|statement|address)\b)"
    r"[a-z]{3,}+\b",
    re.I,
)
# The words of asking for more ("Tell me more", "What else did he say?"): a "what else"
# question with other words asks about those.
_ASKING = frozenset(
    tokenize("tell more go else anything something say said mention mentioned told add added note noted")
    + tokenize("propose proposed stress stressed call called")
)
_LIGHT = frozenset(tokenize(GENERIC_WORDS)) | _ASKING | frozenset(tokenize(" ".join(_REFERS_BACK)))
NOTHING_NEW = "The statements found say nothing on this beyond the earlier answers."


@dataclass(frozen=True)
class Turn:
    """One exchange: the question as asked, as searched, and what its answer cited."""

    question: str
    standalone: str = ""
    cited: tuple[tuple[str, int, int], ...] = ()  # (doc_id, start, end)
    speakers: tuple[str, ...] = ()  # whose words the answer quoted
    # Names in the words the answer quoted ("Operation Atalanta"), read from the index when
    # a follow-up points at one of them ("What does that operation protect?").
    quoted: tuple[str, ...] = ()

    @property
    def searched(self) -> str:
        return self.standalone or self.question

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "understood": self.searched,
            "cited": [list(c) for c in self.cited],
            "speakers": list(self.speakers),
        }

    @classmethod
    def of(cls, question: str, answer: Answer) -> Turn:
        """The turn an answer makes: what it was understood as, what it cited, and whose words."""
        return cls(
            question,
            answer.searched or question,
            tuple((c.doc_id, c.start, c.end) for c in answer.citations),
            speakers_of(c.document for c in answer.citations),
        )

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> Turn:
        """A turn from `rag ask --json` output (or this class's own JSON)."""
        if not isinstance(row, dict) or not isinstance(row.get("question"), str):
            raise ValueError("an earlier turn is a JSON object with its question as text")
        cited = row.get("cited") or [[c["doc_id"], c["start"], c["end"]] for c in row.get("citations", ())]
        return cls(
            question=row["question"][:MAX_QUESTION_CHARS],
            standalone=str(row.get("searched") or row.get("understood") or row["question"])[
                :MAX_QUESTION_CHARS
            ],
            cited=tuple((str(d), int(s), int(e)) for d, s, e in list(cited)[:MAX_CITED]),
            speakers=tuple(str(s)[:MAX_NAME] for s in list(row.get("speakers", ()))[:20]),
        )


def speakers_of(documents: Iterable[Document]) -> tuple[str, ...]:
    """Whose words the documents are: speakers, else countries, each once."""
    names = []
    for doc in documents:
        meta = doc.metadata
        name = str(meta.get("speaker") or "").strip() or (
            country_name(str(meta["country"])) if meta.get("country") else ""
        )
        if name:
            names.append(name)
    return tuple(dict.fromkeys(names))


def with_speakers(turn: Turn, document: Callable[[str], Document | None]) -> Turn:
    """A turn with whose words its citations are (a turn read from JSON names no speakers)
    and the names in those words, from the documents the index holds."""
    if not turn.cited:
        return turn
    docs = {doc_id: document(doc_id) for doc_id in dict.fromkeys(d for d, _, _ in turn.cited)}
    # The spans come back from a client: each read for at most MAX_QUOTE_CHARS characters.
    words = " ".join(
        d.text[max(0, s) : max(0, s) + min(max(0, e - s), MAX_QUOTE_CHARS)]
        for doc_id, s, e in turn.cited
        if (d := docs[doc_id]) is not None
    )
    asked = turn.searched.lower()
    names = (" ".join(n.split()) for n in _QUOTED_NAME.findall(words))  # a name broken over lines
    quoted = [n for n in dict.fromkeys(names) if n.lower() not in asked]
    speakers = turn.speakers or speakers_of(d for d in docs.values() if d is not None)
    return replace(turn, speakers=speakers, quoted=tuple(quoted[:MAX_QUOTED]))


MAX_QUOTED = 4  # names of an earlier answer's quoted words a follow-up may point at
MAX_QUOTE_CHARS = 2000  # characters of one earlier span read for those names
MAX_TURNS = 20  # earlier turns a follow-up reads: the conversation's last ones
MAX_CITED = 100  # spans of one earlier turn
MAX_NAME = 200  # characters of one speaker's name


def as_turns(history: Iterable[Turn | str]) -> list[Turn]:
    """The last ``MAX_TURNS`` earlier turns, each bounded as a question is (earlier turns
    come back from a browser, a history file or an API client: never trusted to be short);
    a bare string is an earlier question."""
    turns = [t if isinstance(t, Turn) else Turn(str(t)) for t in list(history)[-MAX_TURNS:]]
    return [
        Turn(
            t.question[:MAX_QUESTION_CHARS],
            t.standalone[:MAX_QUESTION_CHARS],
            t.cited[:MAX_CITED],
            tuple(s[:MAX_NAME] for s in t.speakers[:20]),
            tuple(n[:MAX_NAME] for n in t.quoted[:MAX_QUOTED]),
        )
        for t in turns
    ]


def resolved(question: str, history: Sequence[Turn | str]) -> str:
    """The question with a year counted from the earlier turn's ("the following year",
    "two years earlier") written as that year, when the earlier turn names one year."""
    m = _RELATIVE.search(question)
    turns = as_turns(history)
    if not m or not turns:
        return question
    years = {(y.first, y.last) for y in speech_years(turns[-1].searched)}
    if len(years) != 1 or len({*next(iter(years))}) != 1:
        return question
    base = next(iter(years))[0]
    if m.group("same"):
        shift = 0  # "that year", "the same year"
    elif m.group("fwd") or m.group("back"):
        shift = 1 if m.group("fwd") else -1
    elif m.group("dir"):
        shift = 1 if m.group("dir").lower() == "after" else -1
    else:
        shift = _COUNTS[m.group("n").lower()] * (-1 if m.group("way").lower() in ("earlier", "before") else 1)
    return question[: m.start()] + f"in its {base + shift} statement" + question[m.end() :]


def shifts_topic(question: str) -> bool:
    """Whether the question says it turns to something else ("On a different subject: …")."""
    return bool(_SHIFT.match(question))


def leans_on_earlier(question: str) -> bool:
    """Whether a question needs the turn before it: it refers back ("What did they
    promise?"), continues ("And Denmark?", "What else?", "in 2019?") or has at most one
    content word of its own."""
    words = set(re.findall(r"[\w'-]+", question.lower()))
    return (
        bool(words & _REFERS_BACK)
        or bool(_MORE.match(question) or _INSTEAD.match(question) or _ONLY_WHEN.match(question))
        or len(tokenize(question)) <= 1
    )


def follow_up(
    question: str, history: Sequence[Turn | str], speaks: Callable[[str], bool] | None = None
) -> tuple[str, str]:
    """How a question follows the turns before it, and the question as it is searched, in
    one decision (docs/conversations.md). The kind: "" (a question of its own), "more"
    ("What else?", "What else did he say about X?": without what was cited), "instead" ("And
    Denmark?", "in 2019?", "the following year": the earlier question about something
    else), "refers" (it points back: "What did he say about X?") or "shift" ("On a
    different subject: what did it say about X?": something new, of the same speaker).
    The text:

    - "What else?", "Tell me more": the earlier question again (its answer is then kept to
      what was not cited before); "What else did he say about X?": about X, same speaker;
    - "the following year", "two years earlier": the earlier turn's year, counted on;
    - "On a different subject: …", "Separately, …": the question's own words, with only
      who and when from before where it points back;
    - "in 2019?": the earlier question with the year replaced;
    - "And Denmark?", "What about the veto?": the earlier question with its country, or its
      topic, replaced (a country is the new speaker when ``speaks`` says the index holds
      its statements, else the new topic);
    - "What did he say their priority should be?": the question, with the earlier one's
      names, years and the speakers its answer quoted in brackets.
    """
    turns = as_turns(history)
    if not turns:
        return "", question
    asked, question = question, resolved(question, turns)
    counted = question != asked
    if shifts_topic(asked):
        return _shifted(question, turns[-1])
    if counted and not leans_on_earlier(question):
        # A year counted from the earlier turn's, and nothing else of it named: the
        # question of that speaker in that year ("How far had the talks got by the
        # following year?"), not searched first in the earlier year's quoted words.
        context = _context_of(turns[-1], _names_own_topic(question), True)
        return "instead", f"{question} ({context})" if context else question
    if not leans_on_earlier(question):
        return "", question
    before = turns[-1].searched
    if _MORE.match(question):
        # "What else?" asks the earlier question again; "What else did he say about X?"
        # asks about X, of the same speaker.
        if not set(tokenize(question)) - _ASKING:
            return "more", before
        context = _context_of(turns[-1], own_words=True, own_year=bool(_YEAR.search(question)))
        return "more", f"{question} ({context})" if context else question
    when = _ONLY_WHEN.match(question)
    if when:
        return "instead", _with_year(before, when.group("x"))
    instead = _INSTEAD.match(question)
    if instead and len(instead.group("x").split()) <= 5:
        return "instead", _instead(before, instead.group("x"), speaks or (lambda code: True))
    # Another year's statement is not searched first in the words the earlier answer quoted.
    return ("instead" if counted else "refers"), _pointing_back(question, turns[-1])


def _pointing_back(question: str, before: Turn) -> str:
    """A follow-up that points back ("What did he say their priority should be?"), with
    the earlier turn's speakers, names and years in brackets; only its years and topic when
    it names a speaker of its own ("And Sweden - what did it say on climate?"); never "()"."""
    own_speaker = {code for code, _ in speaker_countries(question)}
    earlier = {code for name in before.speakers if (named := country_named(name)) for code in named[:1]}
    context = _context_of(
        before,
        _names_own_topic(question),
        bool(_YEAR.search(question)),
        _pointed_at(question),
        new_speaker=bool(own_speaker) and not own_speaker & earlier,
    )
    return f"{question} ({context})" if context else question


def _shifted(question: str, before: Turn) -> tuple[str, str]:
    """Something else: the question's own words, with who and when from before only where
    it points back ("Separately, what did it say about fisheries?")."""
    rest = _SHIFT.sub("", question) or question
    if not leans_on_earlier(rest):
        return "", rest
    context = ", ".join(dict.fromkeys([*before.speakers, *_YEAR.findall(before.searched)]))
    return "shift", f"{rest} ({context})" if context else rest


def standalone_question(
    question: str, history: Sequence[Turn | str], speaks: Callable[[str], bool] | None = None
) -> str:
    """The question as it is searched (``follow_up``'s text)."""
    return follow_up(question, history, speaks)[1]


def _with_year(question: str, year: str) -> str:
    """The question asked of another year: its own year replaced, or the year written into
    its own words (never only into the earlier turn's names in brackets)."""
    own, names = without_context(question), context_names(question)
    if _YEAR.search(own):
        own = _YEAR.sub(year, own)
    else:
        own = f"{own.rstrip(' ?')} in {year}?"
    kept = [n for n in names if not _YEAR.fullmatch(n)]
    return f"{own} ({', '.join(kept)})" if kept else own


def _instead(question: str, new: str, speaks: Callable[[str], bool]) -> str:
    """The earlier question about ``new`` instead: its year, its country, or its topic."""
    new = new.strip(" ?")
    if _YEAR.fullmatch(new.split()[-1]) and len(new.split()) == 1:
        return _with_year(question, new)
    topic = _TOPIC.search(question)
    named = country_named(new)
    # A country whose statements the index holds is the new speaker ("What did the US say
    # about Sudan?" + "And the UK?"); one it does not is the new topic ("What did China say
    # about Palestine?" + "And Ukraine?").
    if named and (speaks(named[0]) or not topic):
        # The earlier speaker, named as such or as the subject of its verb ("What figures
        # did Ghana give …" + "And Senegal?").
        before = speaker_countries(question) or subject_countries(question)
        if before:
            return question.replace(before[0][1], new, 1)
        return f"{question.rstrip(' ?')} ({new})?"
    if topic:
        return _as_topic(question, new, topic)
    return f"{question.rstrip(' ?')} ({new})?"


def _as_topic(question: str, new: str, topic: re.Match[str]) -> str:
    """The earlier question about ``new`` in place of its topic ("ownership of security
    sector reform" + "And funding?": funding of security sector reform)."""
    complement = re.search(r"\s+(?:of|in|for)\s+.+$", topic.group("topic"))
    new += complement.group(0) if complement and len(new.split()) <= 2 else ""
    return question[: topic.start("topic")] + new + question[topic.end("topic") :]


def other_reading(question: str, history: Sequence[Turn | str], speaks: Callable[[str], bool] | None) -> str:
    """The other way to read a bare country after a question with a topic: "What did China
    say about Palestine in 2024?" + "And Ukraine?" reads Ukraine as the new speaker when
    the index holds its statements, and may mean China on Ukraine. The question read that
    other way ("" when there is none), to answer from when the first reading finds nothing."""
    turns = as_turns(history)
    instead = _INSTEAD.match(question) if turns else None
    if instead is None or len(instead.group("x").split()) > 5:
        return ""
    new = instead.group("x").strip(" ?")
    before = turns[-1].searched
    topic = _TOPIC.search(before)
    named = country_named(new)
    if not (topic and named and (speaks or (lambda code: True))(named[0])):
        return ""
    # Like for like: only a country in place of a country (or a territory) the earlier
    # question asked about; "And Canada?" after "… about climate change?" is Canada's view.
    return _as_topic(before, new, topic) if country_named(topic.group("topic")) else ""


def _names_own_topic(question: str) -> bool:
    """Whether a follow-up names what it asks about: in two words of its own or more, or
    after "about" or "on"; one that asks only in light words ("What numbers did he give?",
    "How far had those talks got?") asks about the earlier question's topic."""
    own = [t for t in tokenize(question) if t not in _LIGHT and not t.isdigit()]
    about = _TOPIC.search(question)  # "what did it say about peacekeeping …"
    return len(own) >= 2 or bool(about and set(tokenize(about.group("topic"))) - _LIGHT)


def _names_in(question: str) -> list[str]:
    """The names a question gives: capitalised words in a row, less a question word and a
    capitalised opening word that is no name ("Besides those two governments, …")."""
    names = []
    for m in _ENTITY.finditer(question):
        name = re.sub(r"[’']s$", "", _QUESTION_WORD.sub("", m.group(0)))
        opening = not question[: m.start()].strip(" \"'“‘(")
        if opening and " " not in name and not country_named(name):
            continue  # the sentence's first word: capitalised because it opens the sentence
        if name and name.lower() not in STOPWORDS:
            names.append(name)
    return names


def _pointed_at(question: str) -> str:
    """What a follow-up points at in the earlier answer: "that operation", "those two
    guarantor governments" (its first words after the pointing one); "" when it points at
    nothing that way."""
    m = _POINTING.search(question)
    return " ".join(question[m.start() :].split()[1:4]) if m else ""


def _context_of(
    turn: Turn, own_words: bool, own_year: bool = False, pointing: str = "", new_speaker: bool = False
) -> str:
    """What the earlier turn was about: the speakers its answer quoted, and the names and
    years its question gave; its other words too when the follow-up has none of its own
    ("Why?"); only its years and topic when the follow-up names a speaker of its own."""
    question = turn.searched
    names = [] if new_speaker else _names_in(question)
    if not own_words:  # the earlier question's own words, not the names it carried
        names += [w for w in re.findall(r"[\w'-]+", without_context(question)) if w.lower() not in STOPWORDS]
    names = [n for n in names if not (own_year and _YEAR.fullmatch(n))]
    years = [] if own_year else _YEAR.findall(question)  # a follow-up naming its own year keeps it
    # "that operation": named in the answer; those of its names that share a word with what
    # is pointed at ("Operation Atalanta"), else all of them ("that city": "Nairobi").
    words = set(tokenize(pointing))
    pointed = [n for n in turn.quoted if words & set(tokenize(n))] or list(turn.quoted) if pointing else []
    speakers = () if new_speaker else turn.speakers
    return ", ".join(_distinct([*speakers, *names, *years, *pointed]))


def _distinct(names: list[str]) -> list[str]:
    """The names carried to a follow-up, each once: not a word of a name already there
    ("King" after "King Abdullah"), not a possessive of one ("Ghana's" after "Ghana")."""
    out: list[str] = []
    for name in dict.fromkeys(names):
        terms = set(tokenize(name))
        if terms and not any(terms <= set(tokenize(kept)) for kept in out):
            out.append(name)
    return out


def readable(asked: str, kind: str, text: str, before: Turn | None, who: str) -> str:
    """A follow-up as a person would write it standalone, for "Understood as": its own
    words with the relative year counted, the speaker (``who``) for "he" or "its", "What
    else" spelled out, and the question it follows where it asks about that one's topic in
    light words ("What numbers did he give?"); "" for a question of its own."""
    if not kind or before is None:
        return text if text != asked else ""
    # The earlier question as typed, or, a follow-up itself, as this one is written.
    earlier = (
        before.question
        if before.searched == before.question
        else _opening(with_speaker(without_context(before.searched), who))
    )
    if kind == "more" and text == before.searched:
        return f"What else, beyond the earlier answers, on: {earlier}"
    own = _opening(with_speaker(without_context(text), who))
    swapped = (m := _INSTEAD.match(asked)) is not None and len(m["x"].split()) <= 5  # "And Canada?"
    if kind in ("refers", "instead") and not swapped and not _names_own_topic(asked):
        return f"{own} (following “{earlier}”)"
    return own


def _opening(question: str) -> str:
    return question[:1].upper() + question[1:]
