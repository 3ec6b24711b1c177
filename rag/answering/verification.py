"""Every citation checked against its source before anyone sees it, and every answer
sentence marked supported or not by the quotes it cites."""

from __future__ import annotations

import re
from dataclasses import replace

from rag.answering.support import is_supported, split_claims
from rag.types import Answer, Sentence

_MARKER = re.compile(r"(?<!\s)\s*+\[(\d++)\]")


def verify_citations(answer: Answer) -> Answer:
    """Keep only citations whose quote is exactly the source text at their offsets.

    A marker whose citation fails, or that names no citation, is removed from the answer's
    words, so nothing is shown as supported that the source does not say. Markers are read
    from the words only: a lead-in is metadata, whatever brackets it holds.
    """
    valid = {
        c.n: c
        for c in answer.citations
        if 0 <= c.start < c.end <= len(c.document.text) and c.document.text[c.start : c.end] == c.quote
    }
    if len(valid) == len(answer.citations) and all(
        int(m.group(1)) in valid for g in answer.parts for m in _MARKER.finditer(g.text)
    ):
        return answer

    def kept(text: str) -> str:
        return _MARKER.sub(lambda m: m.group(0) if int(m.group(1)) in valid else "", text)

    checked = replace(answer, citations=tuple(valid.values()))
    if not answer.groups:
        return replace(checked, text=kept(answer.text))
    return checked.grouped(
        [
            replace(g, text=kept(g.text), citations=tuple(n for n in g.citations if n in valid))
            for g in answer.groups
        ]
    )


def check_sentences(answer: Answer) -> Answer:
    """Mark each sentence of the answer's words supported or not by the quotes it cites
    (rag.answering.support); lead-ins are metadata, not sentences."""
    if answer.refused:
        return replace(answer, sentences=())
    quotes = {c.n: c.quote for c in answer.citations}
    sentences = tuple(
        Sentence(c.text, c.cites, is_supported(c.text, [quotes[n] for n in c.cites if n in quotes]))
        for g in answer.parts
        for c in split_claims(g.text)
    )
    return replace(answer, sentences=sentences)
