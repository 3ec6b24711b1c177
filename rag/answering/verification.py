"""Every citation checked against its source before anyone sees it, and every answer
sentence marked supported or not by the quotes it cites."""

from __future__ import annotations

import re
from dataclasses import replace

from rag.answering.support import judge, named_as_speakers, split_claims
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


def check_sentences(answer: Answer, repointed: frozenset[str] = frozenset()) -> Answer:
    """Mark each sentence of the answer's words supported or not by the quotes it cites, as
    a careful reader checks it (rag.answering.support.judge: its words, numbers, names and
    negations), saying why not; lead-ins are metadata, not sentences. ``repointed``: the
    sentences whose citation was moved from the passage a model named to the one saying it."""
    if answer.refused:
        return replace(answer, sentences=())
    cited = {c.n: c for c in answer.citations}
    repointed = repointed | {s.text for s in answer.sentences if s.repointed}  # checked again: kept
    sentences = []
    for g in answer.parts:
        for c in split_claims(g.text):
            own = [cited[n] for n in c.cites if n in cited]
            verdict = judge(c.text, [x.quote for x in own], named_as_speakers(x.document for x in own))
            moved = verdict.supported and c.text in repointed
            sentences.append(Sentence(c.text, c.cites, verdict.supported, verdict.why, moved))
    return replace(answer, sentences=tuple(sentences))
