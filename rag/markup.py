"""Emphasis written into a statement's text (Markdown ``**bold**``, ``*italic*``, ``__x__``,
``_x_``, and the HTML tags ``<b> <strong> <i> <em>``), read as styled runs of the text with
their exact offsets, so a view can show bold words instead of asterisks while a highlight
still covers exactly the characters cited. Nothing else in a statement is markup."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass

_DELIMITER = re.compile(r"\*{1,3}|_{1,3}|</?(?:b|strong|i|em)>", re.I)
_PARAGRAPH = re.compile(r"\n[ \t]*\n")
_TAG_KIND = {"b": "**", "strong": "**", "i": "*", "em": "*"}


@dataclass(frozen=True)
class Run:
    """Visible characters ``text[start:end]`` and how they are styled."""

    start: int
    end: int
    bold: bool = False
    italic: bool = False


@dataclass(frozen=True)
class _Mark:
    start: int
    end: int
    kind: str  # "**", "*", "***" (Markdown or HTML), or "__" / "_"
    opens: bool
    closes: bool


def _marks(text: str) -> list[_Mark]:
    out = []
    for m in _DELIMITER.finditer(text):
        token = m.group(0)
        if token.startswith("<"):
            name = token.strip("</>").lower()
            closing = token.startswith("</")
            out.append(_Mark(m.start(), m.end(), "html" + _TAG_KIND[name], not closing, closing))
            continue
        before = text[m.start() - 1] if m.start() else " "
        after = text[m.end()] if m.end() < len(text) else " "
        opens = not after.isspace() and not (token[0] == "_" and before.isalnum())
        closes = not before.isspace() and not (token[0] == "_" and after.isalnum())
        if opens and closes:  # inside a word: "a**b**c" opens and closes by position
            opens, closes = not before.isalnum(), not after.isalnum()
        out.append(_Mark(m.start(), m.end(), token, opens, closes))
    return out


def _pairs(text: str) -> tuple[list[tuple[_Mark, _Mark]], list[_Mark]]:
    """Matched (opener, closer) pairs within a paragraph, and delimiters to hide although
    unmatched (a double or triple delimiter, or a tag, is never literal text)."""
    breaks = [m.start() for m in _PARAGRAPH.finditer(text)]
    pairs: list[tuple[_Mark, _Mark]] = []
    stack: list[_Mark] = []
    hidden: list[_Mark] = []
    for mark in _marks(text):
        after = bisect.bisect_left(breaks, stack[-1].end) if stack else len(breaks)
        if after < len(breaks) and breaks[after] < mark.start:  # a paragraph ended since
            hidden += [m for m in stack if len(m.kind) > 1]
            stack = []
        opener = next((o for o in reversed(stack) if o.kind == mark.kind), None) if mark.closes else None
        if opener is not None:
            i = stack.index(opener)
            hidden += [m for m in stack[i + 1 :] if len(m.kind) > 1]
            stack = stack[:i]
            pairs.append((opener, mark))
        elif mark.opens:
            stack.append(mark)
        elif len(mark.kind) > 1:
            hidden.append(mark)
    hidden += [m for m in stack if len(m.kind) > 1]
    return pairs, hidden


def runs(text: str, cuts: Iterable[int] = ()) -> list[Run]:
    """The text's visible runs in order, delimiters left out, also cut at ``cuts``: one
    sweep over the places where something starts or ends."""
    pairs, hidden = _pairs(text)
    change: dict[int, list[int]] = {}  # place -> [delimiters, bold, italic] opening (+) or closing (-)

    def mark(start: int, end: int, slot: int) -> None:
        change.setdefault(start, [0, 0, 0])[slot] += 1
        change.setdefault(end, [0, 0, 0])[slot] -= 1

    for m in [m for pair in pairs for m in pair] + hidden:
        mark(m.start, m.end, 0)
    for o, c in pairs:
        kind = o.kind.removeprefix("html")
        if kind in ("**", "__", "***"):
            mark(o.end, c.start, 1)
        if kind in ("*", "_", "***"):
            mark(o.end, c.start, 2)
    for place in (0, len(text), *(c for c in cuts if 0 <= c <= len(text))):
        change.setdefault(place, [0, 0, 0])
    edges = sorted(change)
    out, state = [], [0, 0, 0]
    for a, b in zip(edges, edges[1:], strict=False):
        state = [x + d for x, d in zip(state, change[a], strict=True)]
        if state[0] == 0:
            out.append(Run(a, b, state[1] > 0, state[2] > 0))
    return out


def plain(text: str) -> str:
    """The text as read aloud: emphasis delimiters left out."""
    return "".join(text[r.start : r.end] for r in runs(text))
