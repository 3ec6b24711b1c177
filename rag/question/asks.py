"""What a question asks for, read once: the kind of answer (a figure, a person, a date, a
place, a list of N, a reason, yes or no), the focus terms (what the answer must be about),
the things it names, and for "why did X say that P" the premise P."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from rag.countries import DEMONYMS
from rag.question.lexicon import DENIALS, GENERIC_WORDS, NUMBER_WORDS, SPEECH_NOUN, SPEECH_VERB, TURNS
from rag.question.scope import country_named, speaker_countries, subject_countries
from rag.question.text import without_context
from rag.question.years import speech_years
from rag.terms import tokenize

GENERIC = frozenset(tokenize(GENERIC_WORDS))
TURN = {kind: re.compile(rf"\b(?:{words})\b", re.I) for kind, words in TURNS.items()}
DENIAL = re.compile(rf"\b(?:{DENIALS})\b", re.I)

_FIGURE = re.compile(
    r"\bhow\s+(?:many|much)\b|\bwhat\s+(?:(?:was|were|is|are|will\s+be)\s+)?(?:the\s+|its\s+|their\s+)?"
    r"(?:[a-z]+\s+)?(?:share|percentage|proportion|amount|number|sum|total|"
    r"figure|toll|budget|cost|target)s?\b",
    re.I,
)
_LIST = re.compile(
    r"\b(?:which|what|name|list)\s+(?:are\s+)?(?:the\s+)?(two|three|four|five|six|seven|eight|nine|ten|\d{1,2})\s+"
    r"((?:[a-z-]+\s+){0,2}[a-z-]+s)\b",
    re.I,
)
_PREMISE = re.compile(
    r"^\s*(?:why|how(?:\s+come)?)\s+(?:did|does|do|has|had|would|was|were)\b[^?]{0,200}?\b"
    r"(?:say|said|announce[ds]?|admit(?:ted|s)?|claim(?:ed|s)?|state[ds]?|declare[ds]?|insist(?:ed|s)?|"
    r"argue[ds]?|decide[ds]?|explain(?:ed|s)?|acknowledge[ds]?|concede[ds]?)\b[^?]{0,40}?\bthat\s+"
    r"(?P<premise>[^?]{3,300})",
    re.I,
)
# "Why did Ghana refuse to sign …", "How come Peru pulled out of …": a deed presumed done,
# read only when it is turned (a refusal, a withdrawal, a negation …).
_PRESUMED = re.compile(
    r"^\s*(?:why|how\s+come)\s+(?:did|does|do|has|had|would|was|were|is|are)?\s*(?P<premise>[^?]{3,300})",
    re.I,
)
# "Where …", "Did it say where …", "In which city …": a place is asked for.
_PLACE = re.compile(
    r"^\s*where\b|\b(?:say|said|tell|told|mention|mentioned|announce|announced)\s+where\b|"
    r"\b(?:which|what)\s+(?:city|capital|town|venue|place|location)\b",
    re.I,
)
_YES_NO = re.compile(r"^\s*(?:did|does|do|is|are|was|were|has|have|had|will|would|can|could)\b", re.I)


@dataclass(frozen=True)
class Asks:
    """What one question (or one part of it) asks for."""

    text: str
    kind: str = ""  # "figure", "person", "date", "place", "list", "reason", "yes/no" or ""
    focus: tuple[str, ...] = ()  # its terms naming what it asks about (not the speaker, not a number)
    named: frozenset[str] = frozenset()  # terms of what it names with a capital inside the sentence
    count: int = 0  # a list of N: N
    noun: str = ""  # a list of N: what is listed ("major issues")
    listed: str = ""  # a list of N, as the question words it ("five major issues")
    premise: str = ""  # "why did X say that P": P
    turns: tuple[str, ...] = ()  # how the premise is turned ("negation", "withdrawal" ...)
    said: bool = True  # the premise is what was said ("why did X say that P"), not a deed
    speakers: frozenset[str] = frozenset()  # terms of the speakers it names
    acronyms: frozenset[str] = frozenset()  # terms of what it names in capitals ("ICJ", "NATO")
    phrases: tuple[tuple[str, str], ...] = ()  # names of several words: (as written, their terms joined)

    @property
    def figure(self) -> bool:
        return self.kind == "figure"


@functools.lru_cache(maxsize=4096)
def asks_of(text: str) -> Asks:
    """What the text asks for (read once per text: a question and each of its parts), from
    its own words: a follow-up's earlier names in brackets are who and when, not what."""
    searched, text = text, without_context(text)
    listed = _LIST.search(text)
    speaking = speaker_countries(text) or subject_countries(text)
    speakers = set(tokenize(" ".join([*(written for _, written in speaking), *_speaking_people(text)])))
    presumed = _PREMISE.match(text)
    premise = presumed.group("premise").strip() if presumed else ""
    said = bool(premise)
    if not premise and (deed := _PRESUMED.match(text)):
        premise = deed.group("premise").strip()  # a deed presumed done: "why did Ghana refuse to sign …"
    return Asks(
        searched,
        _kind(text, bool(listed)),
        _focus(text, speakers),
        frozenset(_named(text) - speakers),
        (NUMBER_WORDS.get(listed.group(1).lower()) or int(listed.group(1))) if listed else 0,
        listed.group(2) if listed else "",
        f"{listed.group(1)} {listed.group(2)}" if listed else "",
        premise,
        tuple(kind for kind, pattern in TURN.items() if pattern.search(premise)) if premise else (),
        said,
        frozenset(speakers),
        frozenset(t for w in re.findall(r"\b[A-Z]{2,}s?\b", text) for t in tokenize(w)),
        _phrases(text, speakers),
    )


def _kind(text: str, listed: bool) -> str:
    q = text.lower().lstrip()
    if q.startswith(("who", "whom")) or " who " in q:
        return "person"
    if q.startswith("when") or "what year" in q or "what date" in q:
        return "date"
    if _FIGURE.search(text):
        return "figure"
    if listed:
        return "list"
    if q.startswith(("why", "how come")):
        return "reason"
    if _PLACE.search(text):
        return "place"
    return "yes/no" if _YES_NO.match(text) else ""


def _focus(text: str, names: set[str]) -> tuple[str, ...]:
    """The terms that name what the text asks about: not its question words, not the
    speaker it names (``names``), not a number, not when the speech was made ("in the
    early 2010s", "its 2018 address")."""
    when: set[str] = set()
    for y in speech_years(text):
        noun = _SPEECH_NOUN_AFTER.match(text[y.end : y.end + 40])
        when.update(tokenize(text[y.start : y.end + (noun.end() if noun else 0)]))
    return tuple(
        t
        for t in dict.fromkeys(tokenize(text))
        if t not in GENERIC and t not in names and t not in when and not t.isdigit() and len(t) > 1
    )


_SPEECH_NOUN_AFTER = re.compile(rf"^\s*+(?:general\s++debate\s++)?{SPEECH_NOUN}\b", re.I)


_NAME_RUN = r"[A-Z][a-z]++(?:\s++[A-Z][a-z]++)++"
# Capitalised words in a row inside the sentence, "of", "for", "the" and "and" between them
# ("the Eastern Partnership", "Programme for Infrastructure Development"); a possessive or
# a word in capitals ends one ("the EU's Eastern Partnership": "Eastern Partnership").
_PHRASE = re.compile(r"(?<=[\w,;:(] )[A-Z][a-z][\w-]*+(?:\s++(?:(?:of|for|the|and)\s++)?[A-Z][a-z][\w-]*+)++")


def _phrases(text: str, speakers: set[str]) -> tuple[tuple[str, str], ...]:
    """Names of two or more words (less the words of asking) the question gives."""
    out = []
    for m in _PHRASE.finditer(text):
        terms = [t for t in tokenize(m.group(0)) if t not in GENERIC and len(t) > 1]
        # A country, or one's people ("Costa Rican"), is read as the country, not as a name.
        if (
            len(terms) >= 2
            and country_named(m.group(0)) is None
            and m.group(0).lower() not in DEMONYMS
            and not set(terms) <= speakers
        ):
            out.append((m.group(0), " ".join(terms)))
    return tuple(out)


# A person named as who spoke: "according to King Abdullah", "What did President Santos
# say", "King Abdullah's speech". A statement rarely names its own speaker, so such a name
# is never a thing the statement must mention.
_SPEAKING_PERSON = re.compile(
    rf"(?:\baccording\s+to\s+(?:the\s+)?(?P<a>{_NAME_RUN}))|(?P<b>{_NAME_RUN})(?:\s+(?:also\s+|ever\s+)?{SPEECH_VERB}\b|"
    rf"(?:'s|’s)\s+{SPEECH_NOUN}\b)"
)


def _speaking_people(text: str) -> list[str]:
    return [m.group("a") or m.group("b") for m in _SPEAKING_PERSON.finditer(text)]


def _named(text: str) -> set[str]:
    """Terms of what the text names with a capital letter inside the sentence (a treaty, a
    place, a person, a plan)."""
    words = re.findall(r"(?<=[\w,;:(] )[A-Z][\w'’-]*", text)
    return {t for w in words for t in tokenize(w) if len(t) > 1} - GENERIC
