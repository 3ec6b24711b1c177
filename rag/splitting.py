"""Splitting documents into sentence spans and overlapping chunks with exact offsets."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.types import Chunk, Document

# Tokens that end with a full stop without ending a sentence.
_ABBREVIATIONS = {
    "mr",
    "mrs",
    "ms",
    "dr",
    "prof",
    "st",
    "no",
    "nos",
    "art",
    "arts",
    "para",
    "paras",
    "vol",
    "gen",
    "lt",
    "col",
    "capt",
    "sgt",
    "gov",
    "sen",
    "rep",
    "rev",
    "hon",
    "jr",
    "sr",
    "messrs",
    "mme",
    "mlle",
    "amb",
    "h.e",
    "e.g",
    "i.e",
    "etc",
    "cf",
    "vs",
    "viz",
    "approx",
    "fig",
    "p",
    "pp",
    "u.n",
    "u.s",
    "u.k",
    "u.s.a",
    "u.s.s.r",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "inc",
    "ltd",
    "co",
    "corp",
    "dept",
    "est",
    "op",
    "ibid",
}
_END = re.compile(r"[.!?…。！？]+[\"'”’)\]]*")
_NEXT_STARTS = re.compile(r"\s+(?=[\"'“‘(\[]?[A-Z0-9À-ÖØ-Þ\u0400-\u042f\u4e00-\u9fff])")
_PARAGRAPH = re.compile(r"\n[ \t]*\n\s*")
_WORD_BEFORE = re.compile(r"([\w.]+)[.!?…]*$")


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    paragraph_start: bool  # first sentence of a paragraph


def _is_sentence_end(text: str, end_match: re.Match[str]) -> bool:
    mark = end_match.group(0)
    if mark[0] != ".":
        return True
    word = _WORD_BEFORE.search(text, max(0, end_match.start() - 30), end_match.start() + 1)
    token = (word.group(1) if word else "").lower().rstrip(".")
    if token in _ABBREVIATIONS:
        return False
    # A single initial ("Martin A. Smith") or a list number at a paragraph start.
    return not (len(token) == 1 and token.isalpha())


def _paragraphs(text: str) -> list[tuple[int, int]]:
    """Paragraph spans: blank lines separate, except a page break inside a sentence."""
    spans = []
    start = 0
    for m in _PARAGRAPH.finditer(text):
        before = text[start : m.start()].rstrip()
        after = text[m.end() : m.end() + 1]
        if (
            before
            and not re.search(r"[.!?:;,\"”’)…]$|^\S.{0,80}$", before.split("\n")[-1])
            and after.islower()
        ):
            continue  # "we are\n\nalso embracing": a page break, not a paragraph end
        if before:
            spans.append((start, start + len(before)))
        start = m.end()
    tail = text[start:].rstrip()
    if tail:
        spans.append((start, start + len(tail)))
    return spans


def split_sentences(text: str) -> list[Span]:
    """Sentence spans of a text; hard-wrapped lines stay inside their sentence."""
    spans: list[Span] = []
    for p_start, p_end in _paragraphs(text):
        first = True
        start = p_start
        pos = p_start
        while pos < p_end:
            m = _END.search(text, pos, p_end)
            if not m:
                break
            gap = _NEXT_STARTS.match(text, m.end(), p_end)
            if gap and _is_sentence_end(text, m):
                spans.append(Span(start, m.end(), first))
                first = False
                start = gap.end()
            pos = m.end()
        if start < p_end:
            spans.append(Span(start, p_end, first))
    return _merge_fragments(text, spans)


def _merge_fragments(text: str, spans: list[Span]) -> list[Span]:
    """Join numbering like "61." to the sentence it opens."""
    merged: list[Span] = []
    pending: Span | None = None
    for span in spans:
        if pending is not None:
            span = Span(pending.start, span.end, pending.paragraph_start)
            pending = None
        if re.fullmatch(r"\(?[\dIVXivx]{1,4}[.)]?", text[span.start : span.end].strip()):
            pending = span
            continue
        merged.append(span)
    if pending is not None:
        merged.append(pending)
    return merged


def _pieces(text: str, span: Span, size: int) -> list[Span]:
    """A sentence longer than a chunk, cut at whitespace into pieces that fit."""
    if span.end - span.start <= size:
        return [span]
    out = []
    start = span.start
    first = span.paragraph_start
    while span.end - start > size:
        cut = text.rfind(" ", start + size // 2, start + size)
        if cut <= start:
            cut = start + size
        out.append(Span(start, cut, first))
        first = False
        start = cut
        while start < span.end and text[start].isspace():
            start += 1
    if start < span.end:
        out.append(Span(start, span.end, first))
    return out


def split_document(document: Document, size: int = 800, overlap: int = 200) -> list[Chunk]:
    """Chunks of whole sentences, preferring paragraph ends, overlapping by up to ``overlap``.

    Every chunk is a span of the document: ``document.text[c.start:c.end] == c.text``.
    """
    if size < 50 or not 0 <= overlap < size:
        raise ValueError("chunk size must be at least 50 and overlap smaller than it")
    text = document.text
    units = [p for s in split_sentences(text) for p in _pieces(text, s, size)]
    chunks: list[Chunk] = []
    i = 0
    while i < len(units):
        j = i + 1
        while j < len(units) and units[j].end - units[i].start <= size:
            # Close at a paragraph end once the chunk is reasonably full.
            if units[j].paragraph_start and units[j - 1].end - units[i].start >= size * 0.6:
                next_para_end = j + 1
                while next_para_end < len(units) and not units[next_para_end].paragraph_start:
                    next_para_end += 1
                if units[next_para_end - 1].end - units[i].start > size:
                    break
            j += 1
        start, end = units[i].start, units[j - 1].end
        chunks.append(Chunk(f"{document.doc_id}:{len(chunks)}", document.doc_id, start, end, text[start:end]))
        if j >= len(units):
            break
        # Step back over whole sentences that fit in the overlap, always moving forward.
        back = j
        while back - 1 > i and end - units[back - 1].start <= overlap:
            back -= 1
        i = back
    return chunks
