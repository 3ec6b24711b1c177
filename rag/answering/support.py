"""Which answer sentences the cited passages support: one deterministic test, shared by
answer verification and the evaluation suite."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rag.splitting import split_sentences
from rag.terms import tokenize

# A sentence is supported when at least this share of its distinct content words
# (lower-cased, stemmed, stop words removed) occurs in the quotes it cites.
SUPPORT_THRESHOLD = 0.75

# A run of citation markers ("[1]", " [2][3]"): what ends a quote in an answer.
# Entered only where a run of spaces begins, each run taken whole: linear on any text.
MARKERS = re.compile(r"(?<!\s)\s*+\[\d++\](?:\s*+\[\d++\])*+")
_NUMBER = re.compile(r"\d+")


@dataclass(frozen=True)
class Claim:
    """One answer sentence and the citation numbers that follow it (or its group)."""

    text: str
    cites: tuple[int, ...]


def split_claims(answer_text: str) -> list[Claim]:
    """Answer sentences with their markers: "A. B. [1] C. [2][3]" -> A,B cite 1; C cites 2,3."""
    claims: list[Claim] = []
    pos = 0
    for m in MARKERS.finditer(answer_text):
        cites = tuple(int(n) for n in _NUMBER.findall(m.group(0)))
        claims += _sentences(answer_text[pos : m.start()], cites)
        pos = m.end()
    claims += _sentences(answer_text[pos:], ())
    return claims


def _sentences(text: str, cites: tuple[int, ...]) -> list[Claim]:
    out = []
    for s in split_sentences(text):
        sentence = " ".join(text[s.start : s.end].split())
        if tokenize(sentence):
            out.append(Claim(sentence, cites))
    return out


def support(sentence: str, quotes: list[str]) -> float:
    """Share of the sentence's distinct content words found in the quotes (0 without quotes).
    An answer's lead-ins are never given here: they are its groups' metadata, not its words."""
    words = set(tokenize(sentence))
    if not words or not quotes:
        return 0.0
    found = set(tokenize(" ".join(quotes)))
    return len(words & found) / len(words)


def is_supported(sentence: str, quotes: list[str], speakers: Sequence[str] = ()) -> bool:
    """Whether the quotes support the sentence as a careful reader checks it (``judge``)."""
    return judge(sentence, quotes, speakers).supported


def named_as_speakers(documents: Iterable[Any]) -> list[str]:
    """Whose words the documents are, as a sentence about them may name the speaker: the
    speaker field as written and the country ("Ambassador Zhang Jun", "China"). Not
    ``rag.question.followup.speakers_of``, which gives one name a document each."""
    from rag.countries import country_name

    names = []
    for doc in documents:
        meta = doc.metadata
        if meta.get("speaker"):
            names.append(str(meta["speaker"]))
        if meta.get("country"):
            names.append(country_name(str(meta["country"])))
    return list(dict.fromkeys(names))


# How a careful reader checks a sentence against the words it cites (``judge``): most of
# its words are there, and every number, name and negation in it agrees with them.
REPORTING = frozenset(
    tokenize(
        "said say says stated state states noted note notes added add stressed stress told "
        "according declared declare emphasised emphasized underlined highlighted pointed out "
        "argued argue explained explain affirmed reaffirmed recalled observed remarked"
    )
)
JUDGED_SHARE = 0.4  # share of a sentence's own words the cited words must hold (claims dev half)
_NUMBER_WORDS = {
    "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40,
    "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100,
    "thousand": 1000, "dozen": 12,
}  # fmt: skip
_SCALES = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_AMOUNT = re.compile(
    r"(?<![\w.,])(\d{1,3}(?:[,.]\d{3})++|\d++(?:\.\d++)?)(?:\s*+(?:per\s*+cent|percent|%))?"
    r"(?:\s++(thousand|million|billion|trillion)s?\b)?",
    re.I,
)
_WORDS = re.compile(r"[A-Za-z][\w'’-]*+")
_ORDINAL = re.compile(r"\b(?:second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth)\b", re.I)
# Fractions and spans in words, as the numbers a sentence may write for them.
_FRACTIONS = {
    "half": (0.5, 50), "third": (1 / 3, 33, 33.3), "quarter": (0.25, 25), "fifth": (0.2, 20),
    "tenth": (0.1, 10), "twentieth": (20,), "thirtieth": (30,), "fortieth": (40,), "fiftieth": (50,),
    "sixtieth": (60,), "seventieth": (70,), "hundredth": (100,),
}  # fmt: skip
_NEGATION = re.compile(
    r"\b(?:not|no|never|cannot|nor|neither|none|nothing|without|refus(?:e|es|ed|ing)|"
    r"reject(?:s|ed|ing)?|oppos(?:e|es|ed|ing)|den(?:y|ies|ied)|discourag\w*|(?:fail|declin)(?:e|es|s|ed|ing)?\s+to)\b|n't\b",
    re.I,
)
# What is hoped, planned, urged or possible, not done: "should be designated", "we plan to
# host", "could reach", "we urge … to fulfil", "commenced the process of lifting".
_UNDONE = re.compile(
    r"\b(?:should|could|may|might|would(?!\s+like)|ought|will|shall|plan(?:s|ned|ning)?\s+to|intend\w*|"
    r"hope\w*|urg(?:e|es|ed|ing)|aim(?:s|ed|ing)?\s+(?:to|at)|predict\w*|expect\w*|wish\w*|seek\w*|"
    r"sought|propos(?:e|es|ed|ing)|commenc\w*|going\s+to|possib\w*|prepared\s+to|ready\s+to)\b",
    re.I,
)
# A sentence that keeps it hoped or asked for: its own modal, or a verb of asking, offering
# or promising ("pledged to keep", "called for", "asked all States to support").
_KEEPS_UNDONE = re.compile(
    rf"{_UNDONE.pattern}|\b(?:pledg\w*|vow\w*|promis\w*|commit\w*|call(?:s|ed|ing)?\s+(?:for|on|upon)|"
    r"ask\w*|request\w*|appeal\w*|invit\w*|offer\w*|want\w*|candida\w*|bid|running\s+for)\b",
    re.I,
)
# Words that make a claim whole: "all of the goals", "the single largest donor".
_WHOLE = re.compile(r"\b(?:all|every|entire|whole|single|sole|only|always|fully|completely|each)\b", re.I)
# Words that say the same whole: "every" for "all", "the only" for "the single".
_SAME_WHOLE = {"every": "all", "each": "all", "entire": "all", "whole": "all", "completely": "fully",
               "single": "only", "sole": "only"}  # fmt: skip
# Words a sentence opens with that are capitalised only because they open it.
_OPENERS = frozenset(
    "the a an in on at for to it its this that these those he she they we our his her their "
    "as by with from after before while when since however also and but both each all".split()
)
_LINK = frozenset({"of", "the", "for", "and", "on", "to", "de"})
_INSTITUTIONAL = frozenset(
    tokenize(
        "security general united nations un assembly council secretary organization secretariat "
        "government president minister prime delegation ambassador representative"
    )
)


@dataclass(frozen=True)
class Judgement:
    """Whether cited words support a sentence; ``why`` says what they do not bear out."""

    supported: bool
    why: str = ""


def judge(sentence: str, quotes: list[str], speakers: Sequence[str] = ()) -> Judgement:
    """Whether ``quotes`` support ``sentence`` as a careful reader checks it: most of the
    sentence's own words (not the speaker's name nor "said") are in the quotes; every number
    in it is one they give (in any writing: "5%", "five per cent"); every name and country
    in it is one they name (or the speaker, ``speakers``: "Colombia said …" for "we"); and it
    is negated or opposed where the quote sentence it rests on is, and only there."""
    if not quotes:
        return Judgement(False, "it cites nothing")
    cited = " ".join(quotes)
    if " ".join(sentence.split()).rstrip(".").lower() in " ".join(cited.split()).lower():
        return Judgement(True)  # the cited words say it word for word (a quote opens with a capital)
    own = set(_normal_tokens(sentence)) - REPORTING - set(_normal_tokens(" ".join(speakers)))
    found = set(_normal_tokens(cited))
    if own and len(own & found) / len(own) < JUDGED_SHARE:
        return Judgement(False, "the cited words say little of it")
    # A small number in words is often a paraphrase ("the two Koreas"): it counts where the
    # cited words give small numbers too ("five major issues"); digits always count.
    given = _amounts(cited)
    small = any(n <= 12 for n in given) or bool(_ORDINAL.search(cited))
    claimed = _digits(sentence) + [n for n in _amounts(sentence) if n > 12 or small]
    missing = [f"{n:g}" for n in claimed if not _amounts_hold(n, given)]
    missing += [f"the {w}" for w in _ORDINAL.findall(sentence) if small and w.lower() not in cited.lower()]
    if missing:
        return Judgement(False, f"the cited words give no {missing[0]}")
    unnamed = _unnamed(sentence, cited, speakers)
    if unnamed:
        return Judgement(False, f"the cited words do not name {unnamed}")
    rest, touched = _resting_on(sentence, quotes)
    negated = bool(_NEGATION.search(sentence))
    if negated != any(_NEGATION.search(c) for c in touched):
        return Judgement(False, "it is negated where the cited words are not, or the reverse")
    if any(_UNDONE.search(c) for c in touched) and not _KEEPS_UNDONE.search(sentence):
        return Judgement(False, "it says done what the cited words say is hoped, planned or possible")
    whole = _wholes(sentence) - _wholes(cited)
    if whole:
        return Judgement(False, f"the cited words do not say {sorted(whole)[0]}")
    return Judgement(True)


def _wholes(text: str) -> set[str]:
    return {_SAME_WHOLE.get(w.lower(), w.lower()) for w in _WHOLE.findall(text)}


def _normal_tokens(text: str) -> list[str]:
    """Tokens with hyphens and spelling variants made one ("peace-keeping", "organisation")."""
    text = re.sub(r"(?<=\w)[-‐‑–](?=\w)", "", text)
    return [_variant(t) for t in tokenize(text)]


def _variant(token: str) -> str:
    """British and American spellings as one stem ("organis", "organiz"; "centr", "center")."""
    for british, american in (("is", "iz"), ("our", "or"), ("tre", "ter"), ("ence", "ens"), ("amm", "am")):
        if len(token) > 4 and british in token[2:]:
            token = token[:2] + token[2:].replace(british, american)
    return token


def _amounts(text: str) -> list[float]:
    """The numbers a text gives: digits (with thousands separators, a scale word after
    them), numbers in words ("twenty-five", "six decades": 60, "tenfold": 10) and fractions
    ("one-tenth": 0.1 and 10 per cent, "a quarter of a million"); "one" is no number (it is
    a pronoun as often)."""
    values = _digits(text)
    words = [w.lower().removesuffix("fold") for w in _WORDS.findall(text.replace("-", " "))]
    for i, word in enumerate(words):
        after = words[i + 1 : i + 4]
        scale = next((_SCALES[w] for w in after if w in _SCALES), 1.0)
        if word in _FRACTIONS:
            values += [v * scale for v in _FRACTIONS[word]]
        elif word in _NUMBER_WORDS and word != "hundred" and (i == 0 or words[i - 1] not in _NUMBER_WORDS):
            values += _spelled(words[i:])
    return values


def _spelled(words: list[str]) -> list[float]:
    """The number spelled by the words a text starts with ("twenty five thousand"), and as
    many decades when "decades" follows."""
    value, i = float(_NUMBER_WORDS[words[0]]), 0
    while i + 1 < len(words) and words[i + 1] in _NUMBER_WORDS and _NUMBER_WORDS[words[i + 1]] < 100:
        i += 1
        value += _NUMBER_WORDS[words[i]]
    while i + 1 < len(words) and words[i + 1] in {"hundred", "thousand", "million", "billion"}:
        i += 1
        value *= _SCALES.get(words[i], 100)
    return [value, value * 10] if i + 1 < len(words) and words[i + 1] in {"decade", "decades"} else [value]


def _digits(text: str) -> list[float]:
    return [_read(m.group(1)) * _SCALES.get((m.group(2) or "").lower(), 1) for m in _AMOUNT.finditer(text)]


def _read(digits: str) -> float:
    """ "1,200" and "1.200" (a thousands separator, as many statements write it) are 1200;
    "1.5" is 1.5."""
    if re.fullmatch(r"\d{1,3}(?:[,.]\d{3})+", digits) and not re.fullmatch(r"\d\.\d{3}", digits):
        return float(re.sub(r"[,.]", "", digits))
    return float(digits.replace(",", ""))


def _amounts_hold(value: float, given: list[float]) -> bool:
    return any(abs(value - g) <= 1e-9 * max(1.0, abs(g)) for g in given)


def _unnamed(sentence: str, cited: str, speakers: Sequence[str]) -> str:
    """The first name the sentence gives that neither the cited words nor the speakers'
    names hold (a country counts under any of its names: "Chilean" names Chile); ""."""
    held = f"{cited} {' '.join(speakers)}"
    known = set(_normal_tokens(held)) | _country_terms(held)
    initials, acronyms = _initials(cited), _acronyms(cited)
    for name in _names(sentence):
        if _acronym(name) in acronyms:  # "the United Nations" for "the UN"
            continue
        # Every word of the name, less the words a writer adds to a body's name ("the Security
        # Council" for "the Council", "Ghana's President" for "I"); an acronym for words the
        # cited text spells out ("MDGs", "NPT").
        unknown = [
            word
            for word in name.split()
            if not all(t in known for t in _normal_tokens(word) if t not in _INSTITUTIONAL)
            and not (word.removesuffix("s").isupper() and word.removesuffix("s") in initials)
        ]
        if unknown:
            return " ".join(unknown)
    return ""


def _names(sentence: str) -> list[str]:
    """Capitalised words and runs of them ("Martin Bille Hermann", "Denmark"), less a
    sentence's capitalised opening word that is no name; punctuation ends a run."""
    found = list(_WORDS.finditer(sentence))
    words = [re.sub(r"[’']s$", "", m.group(0)) for m in found]
    out: list[str] = []
    run: list[str] = []
    for i, word in enumerate(words):
        apart = i > 0 and sentence[found[i - 1].end() : found[i].start()].strip() != ""
        if run and apart:  # "Hermann, Kuwait's": two names
            out.append(" ".join(run))
            run = []
        # The opening word is capitalised anyway: a name only as a country or with a name after it.
        opening = i == 0 and (
            word.lower() in _OPENERS
            or word.endswith("ing")
            or not (_is_country(word) or (len(words) > 1 and words[1][:1].isupper()))
        )
        if word[0].isupper() and not opening:
            run.append(word)
        elif run and word.lower() in _LINK and i + 1 < len(words) and words[i + 1][0].isupper():
            run.append(word)  # "Organization of American States": one name
        elif run:
            out.append(" ".join(run))
            run = []
    if run:
        out.append(" ".join(run))
    return out


def _is_country(word: str) -> bool:
    from rag.countries import DEMONYMS, names

    return word.lower() in names() or word.lower() in DEMONYMS


def _acronym(name: str) -> str:
    return "".join(w[0] for w in name.split() if w.lower() not in _LINK).upper()


def _initials(text: str) -> set[str]:
    """The acronyms of the text's runs of two to five words ("United Nations": "UN", "gross
    national income": "GNI"), link words left out."""
    words = [w for w in _WORDS.findall(text.replace("-", " ")) if w.lower() not in _LINK]
    runs = ((i, n) for n in range(2, 6) for i in range(len(words) - n + 1))
    return {"".join(w[0] for w in words[i : i + n]).upper() for i, n in runs}


def _acronyms(text: str) -> set[str]:
    return set(re.findall(r"\b[A-Z]{2,6}\b", text))


def _country_terms(text: str) -> set[str]:
    """The terms of every name and demonym of each country the text names."""
    from rag.countries import DEMONYMS, names

    codes = set()
    lower = f" {' '.join(_WORDS.findall(text.lower()))} "
    for name, code in names().items():
        if f" {name} " in lower:
            codes.add(code)
    for demonym, code in DEMONYMS.items():
        if f" {demonym} " in lower:
            codes.add(code)
    terms: set[str] = set()
    for name, code in names().items():
        if code in codes:
            terms |= set(_normal_tokens(name))
    for demonym, code in DEMONYMS.items():
        if code in codes:
            terms |= set(_normal_tokens(demonym))
    return terms


def _resting_on(sentence: str, quotes: list[str]) -> tuple[str, list[str]]:
    """The clause of the quotes the sentence shares most words with, and every clause it
    shares two words or more with (a sentence may join several)."""
    words = set(_normal_tokens(sentence))
    clauses = [c for q in quotes for c in _CLAUSE.split(q) if c.strip()] or quotes
    shared = [len(words & set(_normal_tokens(c))) for c in clauses]
    best = max(range(len(clauses)), key=lambda i: shared[i])
    return clauses[best], [c for c, n in zip(clauses, shared, strict=True) if n >= 2] or [clauses[best]]


_CLAUSE = re.compile(r"[,;:()\u2013\u2014]|(?<=[.!?])\s")
