"""Quotes that stand alone: a chosen sentence widened to the sentences it leans on or
announces, or trimmed of a connector it does not need, always as exact offsets into its
source, and written into the answer with the source's lists kept as lists."""

from __future__ import annotations

from dataclasses import dataclass, replace

from rag.answering.readability import announces, connector_length, is_list_item, is_salutation, leans_back
from rag.splitting import split_sentences
from rag.types import Document

MAX_QUOTE = 1200  # characters a widened quote may reach
MAX_ANTECEDENTS = 2  # sentences a quote may reach back for what it refers to
_WINDOW = 1500


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
    it leans on (at most two); an opening "Fourth," or "Moreover," is left out; a sentence
    that announces what follows brings it. None when it cannot stand alone."""
    doc, original = c.document, c
    if is_list_item(c.text):
        prev = previous_sentence(doc, c.start)
        if prev and announces(doc.text[prev[0] : prev[1]]) and c.end - prev[0] <= MAX_QUOTE:
            c = replace(c, start=prev[0])
    reached = 0
    while leans_back(c.text):
        cut = connector_length(c.text)
        if cut:
            c = replace(c, start=c.start + cut)
            break
        prev = previous_sentence(doc, c.start)
        if (
            prev is None
            or reached == MAX_ANTECEDENTS
            or is_salutation(doc.text[prev[0] : prev[1]])
            or c.end - prev[0] > MAX_QUOTE
        ):
            return None
        c = replace(c, start=prev[0])
        reached += 1
    if announces(original.text):
        following = next_sentence(doc, c.end)
        if following and following[1] - c.start <= MAX_QUOTE:
            c = replace(c, end=following[1])
    return c


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
    """A quote as the answer writes it: whitespace within lines collapsed, each list item on
    a line of its own, the first letter a capital (after a connector left out)."""
    out = ""
    for line in text.splitlines():
        line = " ".join(line.split())
        if not line:
            continue
        out += ("\n" if is_list_item(line) else " ") + line if out else line
    return out[:1].upper() + out[1:]


def joiner(quote: str) -> str:
    """What goes between the previous quote and this one: a list item starts a line."""
    return "\n" if is_list_item(quote) else " "
