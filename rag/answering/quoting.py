"""Quotes that stand alone: a chosen sentence widened to the sentences it leans on or
announces, or trimmed of a connector it does not need, always as exact offsets into its
source, and written into the answer with the source's lists kept as lists."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from rag.answering.readability import (
    announces,
    connector_length,
    is_list_item,
    is_salutation,
    leans_back,
    set_off_length,
)
from rag.splitting import split_sentences
from rag.types import Document

MAX_QUOTE = 1200  # characters a widened quote may reach
MAX_ANTECEDENTS = 2  # sentences a quote may reach back for what it refers to
_WINDOW = 1500
_SEPARATOR = re.compile(r"[*\-_=~•·#]+")
_PARAGRAPH_NUMBER = re.compile(r"\(?\d{1,3}[.)]\s+(?=[A-Z])")


@dataclass(frozen=True)
class Candidate:
    """A span of a document that may be quoted, and how well it answers the question."""

    document: Document
    start: int
    end: int
    passage_rank: int
    similarity: float = 0.0
    score: float = 0.0

    @property
    def text(self) -> str:
        return self.document.text[self.start : self.end]

    @property
    def key(self) -> tuple[str, int]:
        return self.document.doc_id, self.start


def previous_sentence(doc: Document, start: int) -> tuple[int, int] | None:
    """The sentence just before ``start``, with only whitespace between them."""
    lo = max(0, start - _WINDOW)
    spans = split_sentences(doc.text[lo:start])
    if not spans:
        return None
    a, b = lo + spans[-1].start, lo + spans[-1].end
    if doc.text[b:start].strip() or (a == lo and lo > 0):
        return None
    return a, b


def next_sentence(doc: Document, end: int, max_newlines: int = 2) -> tuple[int, int] | None:
    """The sentence just after ``end``, with only whitespace (and at most one blank line)
    between them."""
    hi = min(len(doc.text), end + _WINDOW)
    spans = split_sentences(doc.text[end:hi])
    if not spans:
        return None
    a, b = end + spans[0].start, end + spans[0].end
    gap = doc.text[end:a]
    if gap.strip() or gap.count("\n") > max_newlines or (b == hi and hi < len(doc.text)):
        return None
    return a, b


def stand_alone(c: Candidate) -> Candidate | None:
    """The candidate as a quote that reads on its own: a list brings the sentence that
    announces it; a sentence opening with "It", "These…" or "However" brings the sentences
    it leans on (at most two), or failing that leaves out a connector set off by a comma
    ("Therefore, "); an opening "Fourth," or "Moreover," is left out; a sentence that
    announces what follows brings it. None when it cannot stand alone."""
    doc, original = c.document, c
    if is_list_item(c.text):
        prev = previous_sentence(doc, c.start)
        if prev and announces(doc.text[prev[0] : prev[1]]) and c.end - prev[0] <= MAX_QUOTE:
            c = replace(c, start=prev[0])
    whole = _reach_back(replace(c, start=c.start + _numbering(c.text)))
    if whole is None:
        return None
    if announces(original.text):
        following = next_sentence(doc, whole.end)
        if following and following[1] - whole.start <= MAX_QUOTE:
            whole = replace(whole, end=following[1])
    return whole


def _reach_back(c: Candidate) -> Candidate | None:
    """The quote widened back to the sentences its opening leans on. When they are not there
    (a heading, a salutation, more than two sentences back, too long), the widest step that
    opens with a connector set off by a comma ("Therefore, "), without it; else None. A
    sentence of a few words ("I do not believe so.") answers what came before it: it is no
    antecedent."""
    steps = [c]
    while leans_back(c.text) or (len(steps) > 1 and len(c.text[: _first_end(c)].split()) < 6):
        cut = connector_length(c.text)
        if cut:
            return replace(c, start=c.start + cut)
        prev = previous_sentence(c.document, c.start)
        if (
            prev is None
            or len(steps) > MAX_ANTECEDENTS
            or is_salutation(c.document.text[prev[0] : prev[1]])
            or c.end - prev[0] > MAX_QUOTE
        ):
            for step in reversed(steps):
                cut = set_off_length(step.text)
                if cut:
                    return replace(step, start=step.start + cut)
            return None
        c = replace(c, start=prev[0])
        steps.append(c)
    return c


def _numbering(text: str) -> int:
    """The length of a paragraph number opening a single sentence ("22. "): not its words."""
    m = _PARAGRAPH_NUMBER.match(text)
    return m.end() if m and "\n" not in text[m.end() :].strip() else 0


def _first_end(c: Candidate) -> int:
    """Where the first sentence of a quote ends (relative to its start)."""
    spans = split_sentences(c.text)
    return spans[0].end if spans else len(c.text)


def merge(chosen: list[Candidate]) -> list[Candidate]:
    """One quote for overlapping or consecutive spans of one document (sorted by start
    within each document): a quote reads better whole."""
    merged: list[Candidate] = []
    for c in chosen:
        last = merged[-1] if merged else None
        if (
            last
            and last.document.doc_id == c.document.doc_id
            and (c.start <= last.end or not c.document.text[last.end : c.start].strip())
        ):
            merged[-1] = replace(
                last, end=max(last.end, c.end), passage_rank=min(last.passage_rank, c.passage_rank)
            )
        else:
            merged.append(c)
    return merged


def quote_text(text: str) -> str:
    """A quote as the answer writes it: whitespace within lines collapsed, each list item (and
    the paragraph after a list) on a line of its own, the first letter a capital (after a
    connector left out)."""
    out, in_list = "", False
    for line in text.splitlines():
        line = " ".join(line.split())
        if not line or _SEPARATOR.fullmatch(line):
            continue  # a separator line ("*", "---") is layout, not words
        item = is_list_item(line)
        out += ("\n" if item or in_list else " ") + line if out else line
        in_list = item
    return out[:1].upper() + out[1:]
