"""Whether the passages found can answer what was asked, beyond being on its topic: a
question about cryptocurrencies is not answered by passages that never mention them, and
"how many" is not answered without a figure. Thresholds are set on the corpus gold set's
dev half (docs/refusal.md)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable

from rag.countries import demonym_names
from rag.question.scope import speaker_countries
from rag.terms import tokenize

# Share of the question's distinctive terms (idf-weighted) that no passage contains, from
# which the answer is that the statements do not mention them (corpus dev: the questions
# it should refuse score 0.95-1.0; the highest answerable one, a synonym, 0.65).
UNMENTIONED_SHARE = 0.9
# Above this cosine similarity the best sentence says the same thing in other words, so
# words the question uses and the statements do not are a paraphrase, not a sign that the
# topic is absent (corpus dev: the topics never raised had 0.52 and 0.59).
CLOSE = 0.6
# Words that ask rather than name what is asked about.
_GENERIC = set(
    tokenize(
        "say said says speech statement general debate session assembly united nations un country "
        "countries government president minister describe call propose announce mention according "
        "what year talk speak discuss position view think see much many given take list lack count "
        "kingdom state states way kind share number figure"
    )
)
_COUNT_QUESTION = re.compile(
    r"\bhow\s+(many|much)\b|\bwhat\s+(share|percentage|proportion|amount|number)\b", re.I
)
_YEAR_ONLY = re.compile(r"^(1[89]|20)\d\d$")
# A figure: digits or an amount in words, standing alone ("COVID-19", "two-State" and
# "third" are not figures).
_FIGURE = re.compile(
    r"(?<![\w-])\d[\d,.]*(?![\w-])|(?<![\w-])(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"dozens?|hundreds?|thousands?|millions?|billions?|half)(?![\w-])",
    re.I,
)


def focus_terms(question: str) -> list[str]:
    """The question's terms that name what it asks about: not its question words, not the
    speaker it names, not a number."""
    names = set(tokenize(" ".join(written for _, written in speaker_countries(question))))
    return [
        t
        for t in dict.fromkeys(tokenize(question))
        if t not in _GENERIC and t not in names and not t.isdigit()
    ]


def unmentioned(
    question: str, texts: Iterable[str], idf: Callable[[str], float], scope: Iterable[str] | None = None
) -> list[str]:
    """The question's words naming what it asks about that the statements do not use, or []
    when they may answer it. Scoped to some statements (``scope``: their whole texts), a
    named thing (a plan, a place, a person) those statements never use is not answered by
    words other speeches use. Otherwise: words none of ``texts`` contains, weighing at
    least ``UNMENTIONED_SHARE`` of the question's distinctive terms, one of them never used
    where the question was asked (in the scoped statements, or anywhere in the index)."""
    return _unmentioned(question, words_of(texts), idf, words_of(scope) if scope is not None else None)


def _unmentioned(
    question: str, present: set[str], idf: Callable[[str], float], used: set[str] | None
) -> list[str]:
    """``unmentioned`` on the terms already read: ``present`` in the passages, ``used`` in
    the scoped statements (None: not scoped)."""
    terms = focus_terms(question)
    if not terms:
        return []
    if used is not None:
        named = _named_things(question)
        unnamed = [t for t in terms if t in named and t not in used]
        if unnamed:
            return _as_written(question, unnamed)
    weight = {t: idf(t) for t in terms}
    absent = [t for t in terms if t not in present]
    if not absent or sum(weight[t] for t in absent) < UNMENTIONED_SHARE * sum(weight.values()):
        return []
    # On a small index the weights alone would count ordinary words ("place", "hold") as
    # distinctive: one of them must be one the statements asked about never use.
    if used is not None:
        return [] if all(t in used for t in absent) else _as_written(question, absent)
    never = idf("\x00")  # the weight of a term no statement contains
    return _as_written(question, absent) if any(weight[t] >= never for t in absent) else []


def _as_written(question: str, terms: list[str]) -> list[str]:
    """The question's words for these terms, as it writes them (three at most)."""
    words = re.findall(r"[\w’'-]+", question)
    return [w for w in words if tokenize(w) and tokenize(w)[0] in terms][:3]


def words_of(texts: Iterable[str]) -> set[str]:
    """The terms of the texts, a country's name counted where its demonym stands."""
    words = set(tokenize(" ".join(texts)))
    return words | {t for d, name in _demonym_terms().items() if d in words for t in name}


@functools.cache
def _demonym_terms() -> dict[str, tuple[str, ...]]:
    """A demonym's term to its country's name's terms ("chilean" -> ("chile",))."""
    return {
        tokenize(d)[0]: tuple(tokenize(name)) for d, name in demonym_names().items() if len(tokenize(d)) == 1
    }


def _named_things(question: str) -> set[str]:
    """Terms of what the question names with a capital letter inside the sentence (a
    treaty, a place, a person, a plan): when the statement asked about never uses one, it
    does not address the question, whatever else it shares with it."""
    words = re.findall(r"(?<=[\w,;:(] )[A-Z][\w'’-]*", question)
    return {t for w in words for t in tokenize(w)} - _GENERIC


def asks_for_figure(question: str) -> bool:
    return bool(_COUNT_QUESTION.search(question))


def has_figure(text: str) -> bool:
    """A number or an amount in words; a year alone is a date, not a figure."""
    return any(not _YEAR_ONLY.match(m.group(0).strip(".,")) for m in _FIGURE.finditer(text))


_NUMBER_WORDS = {
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}
_ASKS_LIST = re.compile(
    r"\b(?:which|what|name|list)\s+(?:are\s+)?(?:the\s+)?(two|three|four|five|six|seven|eight|nine|ten|\d+)\s+"
    r"((?:[a-z-]+\s+){0,2}[a-z-]+s)\b",
    re.I,
)


def list_not_given(question: str, sentences: list[str]) -> str:
    """When the question asks for N things ("Which five major issues …") and the answer's
    sentences name the N things without listing them, the sentence that says so; else ""."""
    m = _ASKS_LIST.search(question)
    if not m:
        return ""
    count = _NUMBER_WORDS.get(m.group(1).lower()) or int(m.group(1))
    noun = m.group(2).split()[-1].lower()
    for sentence in sentences:
        at = sentence.lower().find(noun)
        listed = sentence[at:].count(",") + sentence[at:].count(";") + (":" in sentence[at:]) * count
        if at >= 0 and listed >= count - 1:
            return ""
    if not any(noun in s.lower() for s in sentences):
        return ""
    return f"The statements mention {m.group(1)} {m.group(2)} but do not list them."


# "Why did X say (in 2019) that P?": the question presumes X said P. Words that turn a
# statement around: a premise holding one must be met by a statement holding one.
_PREMISE = re.compile(
    r"^\s*(?:why|how(?:\s+come)?)\s+(?:did|does|do|has|had|would|was|were)\b[^?]{0,200}?\b"
    r"(?:say|said|announce[ds]?|admit(?:ted|s)?|claim(?:ed|s)?|state[ds]?|declare[ds]?|insist(?:ed|s)?|"
    r"argue[ds]?|decide[ds]?|explain(?:ed|s)?|acknowledge[ds]?|concede[ds]?)\b[^?]{0,40}?\bthat\s+"
    r"(?P<premise>[^?]{3,300})",
    re.I,
)
# Ways a statement is turned: a premise turned one way must be met by a statement turned
# the same way, about the same thing.
_TURNS = {
    "negation": r"not|no|never|n[o']t|cannot|no\s+longer|neither|nor",
    "withdrawal": (
        r"withdr[ae]w\w*|pull(?:ed|ing|s)?\s+out|leav\w*|left|quit\w*|exit\w*|abandon\w*|denounc\w*"
    ),
    "failure": r"miss(?:ed|es|ing)?|fail\w*|fell\s+short|short\s+of",
    "opposition": r"refus\w*|reject\w*|oppos\w*|against|veto\w*|boycott\w*",
    "stop": r"halt\w*|suspend\w*|end(?:ed|ing|s)?|stop\w*|cease\w*",
}
_TURN = {kind: re.compile(rf"\b(?:{words})\b", re.I) for kind, words in _TURNS.items()}


def premise(question: str) -> str:
    """What a "why did X say that P" question presumes was said (P), or ""."""
    m = _PREMISE.match(question)
    return m.group("premise").strip() if m else ""


def premise_denied(question: str, sentences: list[str]) -> bool:
    """When the question presumes a statement was turned one way ("that it would not
    ratify", "that it would pull out", "that it had missed") and none of the statements
    found says anything turned that way about the same thing: they say the opposite, or
    something else."""
    presumed = premise(question)
    turns = [kind for kind, pattern in _TURN.items() if pattern.search(presumed)]
    if not presumed or not turns:
        return False
    unturned = presumed
    for pattern in _TURN.values():
        unturned = pattern.sub(" ", unturned)
    about = set(tokenize(unturned)) - _GENERIC  # what the premise is about, its turns left out
    return not any(_turned_about(s, turns, about) for s in sentences)


def _turned_about(sentence: str, turns: list[str], about: set[str]) -> bool:
    """Whether the sentence is turned one of these ways about one of these terms: a
    negation within a few words before it, any other turn anywhere beside it."""
    terms = set(tokenize(sentence))
    if not terms & about:
        return False
    for kind in turns:
        for m in _TURN[kind].finditer(sentence):
            if kind != "negation" or set(tokenize(" ".join(sentence[m.end() :].split()[:4]))) & about:
                return True
    return False


def not_answered(
    question: str,
    relevant: list[str],
    texts: list[str],
    idf: Callable[[str], float],
    used: set[str] | None = None,
    close: bool = False,
) -> str:
    """Why the sentences found (``relevant``: those past the relevance gate; ``texts``: the
    passages) do not answer the question, as the refusal says it; "" when they may.
    ``close``: the best sentence says the same thing in other words, so words the question
    uses and the statements do not are a paraphrase; ``used``: the terms of the statements
    the question is scoped to (``words_of``), read once for the whole answer."""
    present = words_of(texts)
    absent = [] if close else _unmentioned(question, present, idf, used)
    if absent:
        return f"The statements found do not mention {' or '.join(absent)}."
    # A figure must stand beside the rarest things asked about that the statements name:
    # a figure about something else in the same sentences is not the one asked for.
    named = present
    focus = sorted((t for t in focus_terms(question) if t in named), key=idf, reverse=True)[:2]
    about = [s for s in relevant if set(focus) & set(tokenize(s))] if focus else relevant
    if asks_for_figure(question) and not any(has_figure(s) for s in about):
        return "The statements found touch on this but give no figure for it."
    if premise_denied(question, relevant):
        return f"The statements found do not say that {premise(question)}."
    return list_not_given(question, relevant)
