"""Every citation checked against its source before anyone sees it, and every answer
sentence marked supported or not by the quotes it cites."""

from __future__ import annotations

import re
from dataclasses import replace

from rag.answering.support import is_supported, split_claims
from rag.types import Answer, Sentence

_MARKER = re.compile(r"\s*\[(\d+)\]")


def verify_citations(answer: Answer) -> Answer:
    """Keep only citations whose quote is exactly the source text at their offsets.

    A marker whose citation fails, or that names no citation, is removed from the text,
    so nothing is shown as supported that the source does not say.
    """
    valid = {
        c.n: c
        for c in answer.citations
        if 0 <= c.start < c.end <= len(c.document.text) and c.document.text[c.start : c.end] == c.quote
    }
    if len(valid) == len(answer.citations) and all(
        int(m.group(1)) in valid for m in _MARKER.finditer(answer.text)
    ):
        return answer
    text = _MARKER.sub(lambda m: m.group(0) if int(m.group(1)) in valid else "", answer.text)
    return replace(answer, text=text, citations=tuple(valid.values()))


def check_sentences(answer: Answer) -> Answer:
    """Mark each answer sentence supported or not by the quotes it cites (rag.answering.support)."""
    if answer.refused:
        return replace(answer, sentences=())
    quotes = {c.n: c.quote for c in answer.citations}
    sentences = tuple(
        Sentence(c.text, c.cites, is_supported(c.text, [quotes[n] for n in c.cites if n in quotes]))
        for c in split_claims(answer.text)
    )
    return replace(answer, sentences=sentences)
