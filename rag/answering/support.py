"""Which answer sentences the cited passages support: one deterministic test, shared by
answer verification and the evaluation suite."""

from __future__ import annotations

import re
from dataclasses import dataclass

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


def is_supported(sentence: str, quotes: list[str]) -> bool:
    return support(sentence, quotes) >= SUPPORT_THRESHOLD
