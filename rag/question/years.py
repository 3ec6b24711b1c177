"""The years a question names, each with its role: the year of the speech asked about ("in
2019", "its 2019 statement", "the 74th session", "in the early 1990s", "since 2020") or a
year the speech talks about ("by 2030", "the 2030 Agenda", "what it had given in 2012",
"a seat for 2031–2032"), and whether the reading is sure. Only a sure reading of a speech's
year may refuse; an unsure one is searched as a preference. Every pattern here is linear:
no nested or adjacent unbounded repeats."""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass

from rag.question.lexicon import SPEECH_NOUN, SPEECH_VERB

FIRST_SESSION_YEAR = 1945  # session N of the General Assembly opened in 1945 + N
OPEN = 9999  # "since 2020": no last year

_Y = r"(?:19\d\d|20\d\d)"
_DECADE = re.compile(
    r"\b(?:(?P<part>early|mid|late)[\s-]+)?(?P<decade>(?:19\d|20\d)0)'?s\b",
    re.I,
)
_RANGE = re.compile(
    rf"\b(?:(?P<word>between|from)\s+)?(?P<a>{_Y})\s*(?:–|—|-|to|and|until|through)\s*(?P<b>{_Y})\b",
    re.I,
)
_SESSION = re.compile(r"\b(?P<n>\d{1,2})(?:st|nd|rd|th)\s+(?:regular\s+)?session\b", re.I)
_YEAR = re.compile(rf"\b{_Y}\b")
# Words right before a year that make it a year the speech talks about, not its own.
_CONTENT_BEFORE = re.compile(
    r"\b(?:by|towards?|agenda|for|of|about|on|regarding|concerning|than|vision|plan|goals?|"
    r"until|till|deadline|target|beyond|ending|end\s+of|horizon)\s+(?:the\s+)?$",
    re.I,
)
_CONTENT_AFTER = re.compile(
    r"^\s*(?:agenda|goals?|targets?|deadline|elections?|world\s+cup|olympics)\b", re.I
)
_SPEECH_AFTER = re.compile(rf"^\s*(?:un\s+|general\s+assembly\s+)?{SPEECH_NOUN}\b", re.I)
# "a 1963 speech by an Ethiopian leader": a speech, perhaps one the statement quotes.
_SPEECH_BY = re.compile(rf"^\s*(?:un\s+|general\s+assembly\s+)?{SPEECH_NOUN}\s+by\b", re.I)


@functools.cache
def _speech_before() -> re.Pattern[str]:
    """Words right before a year that make it the speech's ("said in", "in its", "at the
    session of"). Only ever matched against the 60 characters before a year, so it is
    bounded however long the question; ``read_years`` as a whole is timed on 100 KB inputs
    in tests/unit/test_patterns.py."""
    return re.compile(
        rf"(?:\b{SPEECH_VERB}\s+(?:(?:in|during|at)\s+(?:the\s+)?)?$|"
        rf"\b{SPEECH_VERB}\b[^.?!;,]{{0,40}}\b(?:in|during|at)\s+(?:the\s+)?$|"
        rf"\b(?:in|during|at)\s+(?:its|their|his|her|the)\s+$|^\s*(?:in|during)\s+$|"
        rf"\b(?:speech|statement|address|remarks|debate)\s+(?:of|in|from)\s+$)",
        re.I,
    )


# "said it created in 2008", "say they signed in 1995": the year of a deed the speech
# recalls, done by whoever the speech verb's clause names (matched only against the few
# words between a speech verb and the year).
_DONE_THEN = re.compile(
    r"\b(?:it|they|we|he|she)\s++(?:had\s++|first\s++|also\s++)?"
    r"(?:[a-z]{2,}ed|began|made|gave|took|won|held|set|built|became|joined|led|hosted|sent|paid)"
    r"\s++(?:[a-z]+\s++){0,4}(?:in|during)\s++(?:the\s++)?$",
    re.I,
)
_HAD_BEFORE = re.compile(r"\bhad\s+(?:[a-z]+\s+){0,6}(?:in|by|since)\s+$", re.I)
# "What had it said in 2011?": a speech of its own, earlier than another (a follow-up's
# "the previous year"), not a deed the speech looks back on.
_HAD_SAID = re.compile(
    r"\bhad\s+(?:[a-z]+\s+){0,2}(?:said|stated|told|spoken|declared|argued|announced)\b[^.?!;,]{0,40}?"
    r"\s(?:in|during|at)\s+$",
    re.I,
)
_SINCE = re.compile(r"\b(?P<w>since|after|before|until|prior\s+to)\s+$", re.I)


@dataclass(frozen=True)
class Years:
    """Years a question names: ``first``–``last`` (``OPEN`` for no end), ``speech`` when
    they are when the statement was made (else a year it talks about), ``sure`` when the
    words leave no doubt."""

    first: int
    last: int
    speech: bool
    sure: bool
    start: int  # where in the question
    end: int

    @property
    def label(self) -> str:
        if self.last >= OPEN:
            return f"since {self.first}"
        if self.first <= 1946 and self.last < OPEN:
            return f"before {self.last + 1}"
        if self.first % 10 == 0 and self.last == self.first + 9:
            return f"the {self.first}s"
        return str(self.first) if self.first == self.last else f"{self.first}–{self.last}"


def read_years(question: str) -> list[Years]:
    """Every year, range, decade and session the question names, in order, each read once."""
    taken: list[tuple[int, int]] = []  # spans read so far, in order (none overlap)
    found: list[Years] = []

    def free(a: int, b: int) -> bool:
        """Whether a..b overlaps no span read so far: only its neighbours can."""
        at = bisect.bisect_left(taken, (a, b))
        return all(not (a < e and s < b) for s, e in taken[max(0, at - 1) : at + 1])

    for m in _SESSION.finditer(question):
        year = FIRST_SESSION_YEAR + int(m.group("n"))
        found.append(Years(year, year, True, True, m.start(), m.end()))
        bisect.insort(taken, m.span())
    for m in _DECADE.finditer(question):
        if not free(*m.span()):
            continue
        first = int(m.group("decade"))
        part = (m.group("part") or "").lower()
        first, last = {
            "early": (first, first + 3),
            "mid": (first + 4, first + 6),
            "late": (first + 7, first + 9),
        }.get(part, (first, first + 9))
        found.append(_placed(question, m.start(), m.end(), first, last))
        bisect.insort(taken, m.span())
    for m in _RANGE.finditer(question):
        if not free(*m.span()):
            continue
        a, b = sorted((int(m.group("a")), int(m.group("b"))))
        if m.group("word") is None and re.search(r"\band\b", m.group(0), re.I):
            continue  # "2015 and 2018": two years, read one by one
        if m.group("word"):  # "between 2015 and 2018", "from 2016 to 2021": a time frame
            placed = _placed(question, m.start(), m.end(), a, b)
            found.append(placed if placed.speech else Years(a, b, True, False, m.start(), m.end()))
        else:
            found.append(_placed(question, m.start(), m.end(), a, b))
        bisect.insort(taken, m.span())
    for m in _YEAR.finditer(question):
        if not free(*m.span()):
            continue
        year = int(m.group(0))
        found.append(_placed(question, m.start(), m.end(), year, year))
        bisect.insort(taken, m.span())
    return _listed(question, sorted(found, key=lambda y: y.start))


def _listed(question: str, found: list[Years]) -> list[Years]:
    """ "in 2015 and 2018", "in 2015, 2018 or 2020": a year listed right after another is read
    as that one is."""
    out: list[Years] = []
    for years in found:
        if out and re.fullmatch(r"\s*(?:,|and|or|,\s*and|,\s*or)\s*", question[out[-1].end : years.start]):
            years = Years(years.first, years.last, out[-1].speech, out[-1].sure, years.start, years.end)
        out.append(years)
    return out


def _placed(question: str, start: int, end: int, first: int, last: int) -> Years:
    """A year or span with its role, read from the words around it."""
    before = question[max(0, start - 60) : start]
    after = question[end : end + 30]
    if _HAD_BEFORE.search(before) and not _HAD_SAID.search(before):
        return Years(first, last, False, True, start, end)  # "what it had given in 2012"
    if (since := _SINCE.search(before)) and not _CONTENT_AFTER.match(after):
        word = since.group("w").lower()
        clause = re.split(r"[,;.?!]", before[: since.start()])[-1]
        first, last = {
            "since": (first, OPEN),
            "after": (last + 1, OPEN),
            "before": (1946, first - 1),
            "prior to": (1946, first - 1),
            "until": (1946, last),
        }[word if word in {"since", "after", "before", "until"} else "prior to"]
        spoken = bool(re.search(rf"\b{SPEECH_VERB}\b", clause, re.I))  # "said since 2020"
        return Years(first, last, True, spoken, start, end)
    if _SPEECH_AFTER.match(after):
        return Years(first, last, True, not _SPEECH_BY.match(after), start, end)
    if spoken := _speech_before().search(before):
        # "said in 2019" is sure; "promised to finish in 2017", "said it would act in 2017"
        # may be when the thing is done: a year, but not surely the speech's.
        deferred = re.search(r"\b(?:to\s+[a-z]+|would|will|could|should)\b", spoken.group(0), re.I)
        if _DONE_THEN.search(spoken.group(0)):
            return Years(first, last, False, True, start, end)  # "say it created in 2008"
        return Years(first, last, True, not deferred, start, end)
    if _CONTENT_BEFORE.search(before) or _CONTENT_AFTER.match(after):
        return Years(first, last, False, True, start, end)
    if re.search(r"\bthe\s+$", before) and re.match(r"^\s+[A-Z]", after):
        return Years(first, last, False, False, start, end)  # "the 1995 Beijing Conference"
    return Years(first, last, True, False, start, end)


def speech_years(question: str) -> list[Years]:
    """The years the question asks the statements of: when one is sure, an unsure one
    beside it is a year the speech talks about ("what did Turkey say in 2021 it had done
    back in 2016")."""
    found = [y for y in read_years(question) if y.speech]
    if any(y.sure for y in found):
        return [y for y in found if y.sure]
    return found
