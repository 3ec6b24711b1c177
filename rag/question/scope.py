"""What a question is scoped to (whose statements: a country or a person as speaker; when:
years, ranges, sessions; where: a venue), and whether the index holds it. "What did Kenya say in 2021 …" asks
about Kenya's 2021 words only: when the index has none, the answer says so in one sentence
instead of quoting someone else."""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rag.countries import DEMONYMS
from rag.countries import WITH_THE as _WITH_THE
from rag.countries import names as country_names
from rag.question.coverage import country_label, no_country, no_year, not_then
from rag.question.lexicon import COMPARING, SPEAKER_NOUN, SPEECH_VERB
from rag.question.text import context_names, without_context
from rag.question.years import Years, read_years, speech_years
from rag.terms import tokenize

_FILLERS = {"the", "a", "an", "former", "late", "then", "new", "current", "its", "their", "whole"}
# Words before "by" or "from" that make the country after it the speaker.
_BY_SPEAKER = re.compile(
    r"speech|speeches|statement|statements|address|remarks|intervention|words|made|delivered|given|"
    r"said|proposed|proposal|position|view|views|call|calls|pledge|stance|message"
)
# A country named after one of these is what the statement is about, not who made it.
_TOPIC_BEFORE = {
    "about",
    "on",
    "regarding",
    "concerning",
    "towards",
    "toward",
    "against",
    "with",
    "into",
    "to",
    "of",
    "for",
    "between",
    "and",
    "or",
    "in",
    "at",
    "over",
    "across",
    "within",
}
# Where a statement was made, when a question says so ("at the General Debate", "in the
# Security Council"), as document metadata names it.
VENUES = ("general debate", "security council", "general assembly", "human rights council")


@dataclass(frozen=True)
class Part:
    """One thing the question is scoped to, and whether the index holds it (None: the
    index records nothing of that kind, so it cannot be checked)."""

    kind: str  # "country", "speaker", "year" or "venue"
    value: Any
    label: str
    held: bool | None = None
    # Whether the words leave no doubt that this is who spoke, when or where: only a sure
    # part may refuse; an unsure one is searched when held and let go when it finds nothing.
    sure: bool = True


@dataclass(frozen=True)
class Scope:
    parts: tuple[Part, ...] = ()
    missing: str = ""  # one sentence when the index lacks what the question is about

    @property
    def kept_to_speakers(self) -> bool:
        """Whether the search is kept to speakers the index holds (a country or a person)."""
        return any(p.held and p.kind in ("country", "speaker") for p in self.parts)

    def to_json(self) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {"countries": [], "speakers": [], "years": [], "venues": []}
        keys = {"country": "countries", "speaker": "speakers", "year": "years", "venue": "venues"}
        for p in self.parts:
            key = "code" if p.kind == "country" else "value"
            out[keys[p.kind]].append({"name": p.label, key: p.value, "held": p.held, "sure": p.sure})
        return out


@dataclass
class Coverage:
    """What the index holds: the countries that speak in it, the years, and which years
    each country speaks in."""

    countries: dict[str, set[int]] = field(default_factory=dict)
    years: set[int] = field(default_factory=set)
    speakers: set[str] = field(default_factory=set)  # people, as the documents name them
    venues: set[str] = field(default_factory=set)  # "General Debate", "Security Council" ...

    @classmethod
    def of(cls, metadata: Iterable[dict[str, Any]]) -> Coverage:
        coverage = cls()
        for meta in metadata:
            year = meta.get("year")
            if isinstance(year, int):
                coverage.years.add(year)
            code = meta.get("country")
            if isinstance(code, str) and code:
                coverage.countries.setdefault(code, set())
                if isinstance(year, int):
                    coverage.countries[code].add(year)
            person = _person(str(meta.get("speaker") or ""))
            if person:
                coverage.speakers.add(person)
            venue = str(meta.get("venue") or "").lower()
            coverage.venues.update(v for v in VENUES if v in venue)
        return coverage

    def span(self) -> str:
        if not self.years:
            return ""
        first, last = min(self.years), max(self.years)
        return str(first) if first == last else f"{first}–{last}"


_TITLES = re.compile(
    r"^(?:(?:h\.?e\.?|mr\.?|mrs\.?|ms\.?|dr\.?|ambassador|state\s+councilor|foreign\s+minister|"
    r"minister|president|prime\s+minister|permanent\s+representative|and|,)\s+)+",
    re.I,
)


def _person(speaker: str) -> str:
    """The person in a speaker field ("Ambassador Zhang Jun" -> "Zhang Jun"); none when
    the speaker is a country (as in the General Debate files)."""
    name = _TITLES.sub("", " ".join(speaker.split())).strip()
    if name.lower() in _pattern()[0]:
        return ""
    return name if len(name.split()) >= 2 else ""


@functools.cache
def _pattern() -> tuple[dict[str, str], re.Pattern[str]]:
    """Country names (lower case) to ISO codes, and one pattern finding any of them or a
    demonym, longest first; built on first use."""
    names = country_names()
    pattern = re.compile(r"(?<![\w-])(" + _alternation({*names, *DEMONYMS}) + r")(?![\w-])", re.I)
    return names, pattern


def _alternation(words: Iterable[str]) -> str:
    """A pattern matching any of the words, written as the tree of their shared beginnings
    ("k(?:enya|orea)"): a place in the text is tried against a few letters instead of every
    name (six hundred of them made 100 KB of spaces cost half a second). Longer words are
    tried first, as in an alternation sorted longest first."""
    tree: dict[str, dict] = {}
    for word in words:
        node = tree
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}  # a word ends here

    def written(node: dict[str, dict]) -> str:
        branches = [re.escape(ch) + written(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        if len(branches) == 1 and "" not in node:
            return branches[0]
        return "(?:" + "|".join(branches) + ")" + ("?" if "" in node else "")

    return written(tree)


def _words_before(text: str, end: int, count: int = 4) -> list[str]:
    """At least the last ``count`` words before ``end`` (all of them near the start), read
    from a window that reaches back only as far as they go, never the whole text before."""
    size = 200
    while True:
        start = max(0, end - size)
        words = text[start:end].split()
        if start == 0:
            return words
        if len(words) > count:
            return words[1:]  # the first may be cut by the window
        size *= 4


def speaker_countries(question: str) -> list[tuple[str, str]]:
    """(ISO code, name as written) for each country the question names as the speaker:
    "What did Kenya say", "Kenya's position", "the Brazilian delegation", "a speech by
    Nigeria"; not a country the statement is about ("what China said about Kenya")."""
    names, pattern = _pattern()
    found: list[tuple[str, str]] = []
    # "And Sweden - what did it say …": the country set off at the start speaks.
    opening = _OPENING.match(question)
    if opening and opening.group(1).lower() in names:
        found.append((names[opening.group(1).lower()], _written(opening)))
    for m in pattern.finditer(question):
        written = m.group(1)
        key = written.lower()
        before = _words_before(question, m.start())
        previous = before[-1].lower().strip("\"'(") if before else ""
        # The word that governs the name, past articles and the like: "about the former
        # Afghan president" is about Afghanistan's president, not by Afghanistan.
        governing = next(
            (w.lower().strip("\"'(") for w in reversed(before[-4:]) if w.lower() not in _FILLERS), ""
        )
        after = question[m.end() : m.end() + 60]
        if key in DEMONYMS and key not in names:
            if re.match(rf"\s+(?:\w+\s+)?{SPEAKER_NOUN}\b", after, re.I) and governing not in _TOPIC_BEFORE:
                found.append((DEMONYMS[key], written))
            continue
        code = names[key]
        # "a statement by Nigeria", "remarks from Kenya", "according to Canada": the speaker;
        # "refugees from Syria", "families separated by North Korea": what is talked about.
        by = (
            previous in {"by", "from"}
            and len(before) > 1
            and re.fullmatch(_BY_SPEAKER, before[-2].lower().strip("\"'(,"))
        ) or (len(before) > 1 and " ".join(before[-2:]).lower() == "according to")
        speaks = bool(
            re.match(rf"\s+(?:(?:also|ever|not|once|first|really)\s+)?{SPEECH_VERB}\b", after, re.I)
            or re.match(rf"(?:'s|’s)?\s+{SPEAKER_NOUN}\b", after, re.I)
            or re.match(r"\s+in\s+(?:its|their|her|his)\b", after, re.I)
            # "Brazil's" alone names the speaker only before anyone else is named as one
            # ("What did France say had stopped Iran's path" asks about France's words).
            or (not found and re.match(r"(?:'s|’s)", after))
        )
        if by or (speaks and governing not in _TOPIC_BEFORE):
            found.append((code, f"the {written}" if key in _WITH_THE else written))
    return list(dict.fromkeys(_joined_speakers(question, found)))


# "And Sweden - what did it say on climate?", "Kenya: what did it propose?": a country set
# off at the start of a question is who it asks about.
_OPENING = re.compile(
    r"^\s*+(?:(?:and|but|now|what\s+about|how\s+about)\s++)?(?:the\s++)?([A-Z][\w'’.-]*+(?:\s++[A-Z][\w'’.-]*+){0,3})"
    r"\s*+[-–—:,]\s*+(?:what|how|which|who|did|does|do|was|were|is|has|why|when|where)\b",
    re.I,
)
# "What role did Poland give …", "Why did Ghana refuse …": the country is the subject of
# the question's verb, most often its speaker, but nothing in the words says so.
_AUXILIARY = re.compile(r"\b(?:did|does|do|has|have|had|would|will|could|should)\s++(?:the\s++)?$", re.I)
# "Compare Jordan and Sweden on …", "Contrast how Peru and Chile …": those compared speak.
_COMPARING = re.compile(rf"\b{COMPARING}$", re.I)
_JOINED = re.compile(r"\s*+(?:,\s*+)?(?:and\s++|or\s++)?(?:the\s++)?", re.I)
_VERB_AFTER = re.compile(
    r"(?<!\s)(?:'s|’s)?\s++(?:(?:also|ever|not|first|really|each|both)\s++)?(?!and\b|or\b)[a-z]{3,}+\b"
)
_SPEAKS_AFTER = re.compile(
    rf"(?<=\w)(?:\s++(?:(?:also|ever|not|once|first|each|both)\s++)?{SPEECH_VERB}\b|(?:'s|’s)?\s++{SPEAKER_NOUN}\b)",
    re.I,
)


def _joined_speakers(question: str, found: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The speakers with the countries joined to one ("Norway and Kenya said", "Compare
    what Spain, Poland and Peru said"): a row of countries whose last one speaks all speak."""
    names = _pattern()[0]
    rows = _rows(question)
    joined = [m for row in rows if len(row) > 1 and _SPEAKS_AFTER.match(question, row[-1].end()) for m in row]
    if not joined:
        return found
    out = list(dict.fromkeys([*found, *((names[m.group(1).lower()], _written(m)) for m in joined)]))
    lower = question.lower()
    at = {w: lower.find(w.removeprefix("the ").lower()) for w in {w for _, w in out}}
    return sorted(out, key=lambda f: at[f[1]])


def _written(m: re.Match[str]) -> str:
    return f"the {m.group(1)}" if m.group(1).lower() in _WITH_THE else m.group(1)


def _rows(question: str) -> list[list[re.Match[str]]]:
    """The countries the question names, in rows joined by commas, "and" or "or"
    ("Mexico and Chile", "Spain, Poland and Peru"); a country alone is a row of one."""
    names, pattern = _pattern()
    rows: list[list[re.Match[str]]] = []
    for m in pattern.finditer(question):
        if m.group(1).lower() not in names:
            continue
        if rows and _JOINED.fullmatch(question, rows[-1][-1].end(), m.start()):
            rows[-1].append(m)
        else:
            rows.append([m])
    return rows


def subject_countries(question: str) -> list[tuple[str, str]]:
    """(ISO code, name as written) of each country that is the subject of an auxiliary and
    a verb ("did Poland give", "did Mexico and Chile each describe"), or one of several
    compared ("Compare Jordan and Sweden on …"), where no words make anyone the speaker."""
    names = _pattern()[0]
    found = []
    for chain in _rows(question):
        before = question[max(0, chain[0].start() - 20) : chain[0].start()]
        compared = len(chain) > 1 and _COMPARING.search(before)
        if compared or (_AUXILIARY.search(before) and _VERB_AFTER.match(question, chain[-1].end())):
            found += [(names[m.group(1).lower()], _written(m)) for m in chain]
    return list(dict.fromkeys(found))


def country_named(text: str) -> tuple[str, str] | None:
    """(ISO code, name as written) of a country a short text names, whatever role it plays
    ("Denmark", "the United Kingdom" as a follow-up's "And …?"); None when it names none."""
    names, pattern = _pattern()
    for m in pattern.finditer(text):
        key = m.group(1).lower()
        if key in names:
            return names[key], m.group(1)
    return None


def asked_years(question: str) -> list[tuple[int, int]]:
    """The years a question asks about the statements of, as (first, last) ranges: "in
    2021", "the 2021 General Debate", "between 2015 and 2018", "since 2020", "the 80th
    session", "the early 1990s". A year the statement talks about ("by 2030", "the 2030
    Agenda", "what it had given in 2012") is not (``rag.question.years``)."""
    return list(dict.fromkeys((y.first, y.last) for y in speech_years(question)))


def asked_venues(question: str) -> list[str]:
    """Venues named as where the statement was made ("at the General Debate", "in the
    Security Council", "its 2021 General Debate speech"); "Security Council reform" is a topic."""
    return [venue for venue, _ in read_venues(question)]


def read_venues(question: str) -> list[tuple[str, bool]]:
    """Each venue named as where a statement was made, and whether surely so: not when it
    follows what the statement is about ("about disarmament at the Security Council")."""
    found = []
    for venue in VENUES:
        # "at/in/before/during the Security Council"; "to" only after a speech ("its address
        # to the General Assembly"), never "adding members to the Security Council".
        at = re.search(
            rf"(?:\b(?:at|in|before|during)|\b(?:speech|statement|address|remarks|said|spoke|told)\s+to)"
            rf"\s+(?:the\s+|its\s+|their\s+)?(?:\d{{4}}\s+)?(?:UN\s+)?{venue}\b(?!\s+reform)",
            question,
            re.I,
        )
        named = re.search(rf"\b{venue}\s+(?:speech|statement|address)\b", question, re.I)
        if at or named:
            topic_first = at and re.search(
                r"\b(?:about|on|regarding|concerning)\b", question[: at.start()], re.I
            )
            found.append((venue, bool(named) or not topic_first))
    return found


def _title(venue: str) -> str:
    return " ".join(w.capitalize() for w in venue.split())


@dataclass
class _Reading:
    """Who spoke, when and where, as the words of a question say."""

    persons: list[str]
    venues: list[tuple[str, bool]]
    countries: list[tuple[str, str]]
    ranges: list[Years]
    # The countries are only the subject of the question's verb ("What role did Poland give
    # …"): a preference searched, never a refusal.
    unsure: bool = False


def _read(question: str, coverage: Coverage) -> _Reading:
    ranges = [y for y in read_years(question) if y.speech]
    if any(y.sure for y in ranges) and all(_holds(coverage, y) for y in ranges if y.sure):
        ranges = [y for y in ranges if y.sure]  # an unsure year beside a sure one the index holds
    lower = question.lower()
    persons = [
        p for p in sorted(coverage.speakers) if re.search(rf"(?<!\w){re.escape(p.lower())}(?!\w)", lower)
    ]
    countries = speaker_countries(question)
    subjects = [] if countries or persons else subject_countries(question)
    return _Reading(persons, read_venues(question), countries or subjects, ranges, bool(subjects))


def _carried(read: _Reading, earlier: str, quoted: Sequence[str], coverage: Coverage) -> _Reading:
    """A follow-up's reading, each role it leaves empty (who, when, where) taken from the
    turn before it: its question as searched, else whose words its answer quoted."""
    # Who spoke: from the earlier turn's own words, never from the names it was searched
    # with in brackets ("… (Sweden, European Union’s)"); when: from both.
    own, whole = _read(without_context(earlier), coverage), _read(earlier, coverage)
    before = _Reading(own.persons, whole.venues, own.countries, whole.ranges, own.unsure)
    # Whose words the earlier answer quoted, else (an earlier follow-up that found nothing)
    # the speakers it was searched with, in its brackets.
    named = (
        list(quoted) if quoted else list(itertools.takewhile(_speaker_like(coverage), context_names(earlier)))
    )
    if not before.countries and not before.persons and len(named) <= 2:
        before.countries = [c for c in map(country_named, named) if c is not None]
        before.persons = [_person(p) for p in named if _person(p) in coverage.speakers]
    who = bool(read.countries or read.persons)
    return _Reading(
        read.persons if who else before.persons,
        read.venues or before.venues,
        read.countries if who else before.countries,
        read.ranges or before.ranges,
        read.unsure if who else before.unsure,
    )


def _speaker_like(coverage: Coverage) -> Callable[[str], bool]:
    return lambda name: country_named(name) is not None or _person(name) in coverage.speakers


def scope_of(question: str, coverage: Coverage, earlier: str = "", quoted: Sequence[str] = ()) -> Scope:
    """The question's scope, each part marked held or not, and the one sentence to say
    when the index lacks it. A follow-up's ``earlier`` turn (as searched) and whose words
    its answer ``quoted`` fill the roles the question leaves empty."""
    read = _read(question, coverage)
    if earlier or quoted:
        read = _carried(read, earlier, quoted, coverage)
    parts = [Part("speaker", person, person, True) for person in read.persons]
    missing: list[str] = []
    for venue, sure in read.venues:
        held = venue in coverage.venues if coverage.venues else None
        parts.append(Part("venue", venue, _title(venue), held, sure))
        if held is False and sure:
            missing.append(f"No statement made at the {_title(venue)} is in the index.")
    for code, written in read.countries:
        held = code in coverage.countries if coverage.countries else None
        name = country_label(code, written, is_name=written.lower().removeprefix("the ") not in DEMONYMS)
        parts.append(Part("country", code, name, held, not read.unsure))
        if held is False and not read.unsure:
            missing.append(no_country(name))
    year_parts, when_missing = _when(read, coverage, bool(missing))
    return Scope(tuple(parts + year_parts), (missing + when_missing or [""])[0])


def _when(read: _Reading, coverage: Coverage, missing: bool) -> tuple[list[Part], list[str]]:
    """The years' parts, and what the index lacks of them (``missing``: something else is
    already missing, which is said first)."""
    parts: list[Part] = []
    lacking: list[str] = []
    held_of = {(y.first, y.last): _holds(coverage, y) for y in read.ranges}
    # Two readings of when the speech was made, one held and one not ("Germany quoted its
    # 1973 speech in 2016"): neither is sure enough to refuse.
    torn = len({held for (first, last), held in held_of.items()}) > 1
    for years in read.ranges:
        first, last = years.first, years.last
        held = held_of[(first, last)] if coverage.years else None
        sure = years.sure and not (torn and held is False)
        value = first if first == last else [first, last]
        parts.append(Part("year", value, years.label, held, sure))
        if not sure:
            continue  # an unsure reading is a preference: searched when held, never refused
        # A country the index holds, never in those years: which years it does hold says
        # more than which years the index holds.
        spoken = [(code, coverage.countries.get(code, set())) for code, _ in read.countries]
        silent = [(c, spoke) for c, spoke in spoken if spoke and not any(first <= y <= last for y in spoke)]
        if silent and not missing and not lacking:
            lacking += [not_then(code, years.label, spoke) for code, spoke in silent]
        elif held is False:
            lacking.append(no_year(years.label, coverage.years))
    return parts, lacking


def _holds(coverage: Coverage, years: Years) -> bool:
    return not coverage.years or any(years.first <= y <= years.last for y in coverage.years)


def searched_line(scope: dict[str, Any]) -> str:
    """ "Searched: statements by Brazil from 2024." for the parts of a question's scope the
    index holds and the search was kept to; "" when there are none."""

    def held(*kinds: str) -> str:
        return " or ".join(p["name"] for k in kinds for p in scope.get(k, []) if p.get("held"))

    who, when, where = held("speakers", "countries"), held("years"), held("venues")
    if not (who or when or where):
        return ""
    return (
        "Searched: statements"
        + (f" by {who}" if who else "")
        + (f" at the {where}" if where else "")
        + (f" from {when}" if when else "")
        + "."
    )


_LEAD_IN = re.compile(r"(?:\b(?:in|during|at|from|of|for)\s++)?(?:(?:its|their|the|his|her)\s++)?$", re.I)
_SPEECH_AFTER = re.compile(
    r"^(?:[’']s)?(?:\s++general\s++debate\b)?(?:\s++(?:speech|address|statement|remarks)\b)?", re.I
)


def without_scope(text: str, scope: Scope) -> str:
    """The question as searched once the search is kept to its scope: the names of the
    countries and the years it is surely kept to taken out, so that inside "Brazil's 2015
    statement" passages are ranked by what is asked ("enlarging the Security Council"),
    not by whether they repeat "Brazil" (at the whole corpus's size that ranked the
    passage on the Council sixth of the statement's). A demonym stays ("the Ghanaian
    killed" is what is asked about), and so does a year read without certainty; the text
    as given when nothing is left to search for."""
    codes = {p.value for p in scope.parts if p.kind == "country" and p.held and p.sure}
    years = {p.label for p in scope.parts if p.kind == "year" and p.held and p.sure}
    names, pattern = _pattern()
    spans = [m.span(1) for m in pattern.finditer(text) if names.get(m.group(1).lower()) in codes]
    spans += [(y.start, y.end) for y in speech_years(text) if y.label in years]
    if not spans:
        return text
    out, at = [], 0
    for start, end in sorted(spans):
        if start < at:
            continue
        lead = _LEAD_IN.search(text[at:start])
        out.append(text[at : at + lead.start()] if lead else text[at:start])
        at = end + _SPEECH_AFTER.match(text[end:]).end()
    out.append(text[at:])
    searched = re.sub(r"\s++([?,.!;:])", r"\1", re.sub(r"\s{2,}", " ", "".join(out)))
    searched = re.sub(r"([,;:])(?:\s*+[,;:])++", r"\1", searched).strip().lstrip(",;: ")
    return searched if tokenize(searched) else text
