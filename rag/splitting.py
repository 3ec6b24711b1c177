"""Splitting documents into sentence spans and overlapping chunks with exact offsets."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
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
# Each pattern reads a run of spaces or a word once (possessive repeats, and a run is only
# entered at its start), so a megabyte of spaces or one long word costs one pass.
_END = re.compile(r"[.!?…。！？]++[\"'”’)\]]*+")
_NEXT_STARTS = re.compile(r"(?<!\s)\s++(?=[\"'“‘(\[]?[A-Z0-9À-ÖØ-Þ\u0400-\u042f\u4e00-\u9fff])")
_PARAGRAPH = re.compile(r"\n[ \t]*+\n\s*+")
_WORD_BEFORE = re.compile(r"(?<![\w.])([\w.]+)[.!?…]*$")
# A line that ends a paragraph before a blank line: it ends with a stop, or is a short heading.
_ENDS_A_PARAGRAPH = re.compile(r"[.!?:;,\"”’)…]$|^\S.{0,80}$")


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


def iter_paragraphs(text: str) -> Iterator[tuple[int, int]]:
    """Paragraph spans: blank lines separate, except a page break inside a sentence."""
    start = 0
    for m in _PARAGRAPH.finditer(text):
        # Only the last line before the break is read (the paragraph can be long and grow
        # over many page breaks): a paragraph never ends in a blank line, as the break
        # pattern takes every blank line there is.
        line_start = max(start, text.rfind("\n", start, m.start()) + 1)
        last_line = text[line_start : m.start()].rstrip()
        after = text[m.end() : m.end() + 1]
        if last_line and not _ENDS_A_PARAGRAPH.search(last_line) and after.islower():
            continue  # "we are\n\nalso embracing": a page break, not a paragraph end
        if last_line:
            yield start, line_start + len(last_line)
        start = m.end()
    tail = text[start:].rstrip()
    if tail:
        yield start, start + len(tail)


def iter_sentences(text: str) -> Iterator[Span]:
    """Sentence spans of a text, one at a time; hard-wrapped lines stay inside their sentence."""
    return _merge_fragments(text, _raw_sentences(text))


def split_sentences(text: str) -> list[Span]:
    """Sentence spans of a text; hard-wrapped lines stay inside their sentence."""
    return list(iter_sentences(text))


def _raw_sentences(text: str) -> Iterator[Span]:
    for p_start, p_end in iter_paragraphs(text):
        first = True
        start = p_start
        pos = p_start
        while pos < p_end:
            m = _END.search(text, pos, p_end)
            if not m:
                break
            gap = _NEXT_STARTS.match(text, m.end(), p_end)
            if gap and _is_sentence_end(text, m):
                yield Span(start, m.end(), first)
                first = False
                start = gap.end()
            pos = m.end()
        if start < p_end:
            yield Span(start, p_end, first)


def _merge_fragments(text: str, spans: Iterable[Span]) -> Iterator[Span]:
    """Join numbering like "61." to the sentence it opens."""
    pending: Span | None = None
    for span in spans:
        if pending is not None:
            span = Span(pending.start, span.end, pending.paragraph_start)
            pending = None
        if re.fullmatch(r"\(?[\dIVXivx]{1,4}[.)]?", text[span.start : span.end].strip()):
            pending = span
            continue
        yield span
    if pending is not None:
        yield pending


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
    return list(iter_chunks(document, size, overlap))


def iter_chunks(document: Document, size: int = 800, overlap: int = 200) -> Iterator[Chunk]:
    """The chunks of ``split_document`` one at a time, holding only a chunk's worth of
    sentences, so a document of any length is split in bounded memory."""
    if size < 50 or not 0 <= overlap < size:
        raise ValueError("chunk size must be at least 50 and overlap smaller than it")
    text = document.text
    units = _Window(p for s in iter_sentences(text) for p in _pieces(text, s, size))
    number = 0
    i = 0
    while units.has(i):
        j = i + 1
        while units.has(j) and units[j].end - units[i].start <= size:
            # Close at a paragraph end once the chunk is reasonably full.
            if units[j].paragraph_start and units[j - 1].end - units[i].start >= size * 0.6:
                if _paragraph_overflows(units, i, j, size):
                    break
            j += 1
        start, end = units[i].start, units[j - 1].end
        yield Chunk(f"{document.doc_id}:{number}", document.doc_id, start, end, text[start:end])
        number += 1
        if not units.has(j):
            break
        # Step back over whole sentences that fit in the overlap, always moving forward.
        back = j
        while back - 1 > i and end - units[back - 1].start <= overlap:
            back -= 1
        i = back
        units.forget_before(i)


def _paragraph_overflows(units: _Window, i: int, j: int, size: int) -> bool:
    """Whether the paragraph opening at unit ``j`` ends more than ``size`` past unit ``i``'s
    start; the scan stops at the first unit past that line (ends only grow)."""
    k = j
    while True:
        if units[k].end - units[i].start > size:
            return True
        if not units.has(k + 1) or units[k + 1].paragraph_start:
            return False
        k += 1


class _Window:
    """Random access to the recent items of an iterator, by absolute position."""

    def __init__(self, items: Iterable[Span]):
        self._items = iter(items)
        self._buffer: list[Span] = []
        self._offset = 0

    def has(self, position: int) -> bool:
        while position - self._offset >= len(self._buffer):
            nxt = next(self._items, None)
            if nxt is None:
                return False
            self._buffer.append(nxt)
        return True

    def __getitem__(self, position: int) -> Span:
        if not self.has(position):
            raise IndexError(position)
        return self._buffer[position - self._offset]

    def forget_before(self, position: int) -> None:
        drop = position - self._offset
        if drop > 0:
            del self._buffer[:drop]
            self._offset = position
