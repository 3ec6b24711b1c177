"""Emphasis written into a statement's text (Markdown ``**bold**``, ``*italic*``, ``__x__``,
``_x_``, and the HTML tags ``<b> <strong> <i> <em>``), read as styled runs of the text with
their exact offsets, so a view can show bold words instead of asterisks while a highlight
still covers exactly the characters cited. Nothing else in a statement is markup."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

_DELIMITER = re.compile(r"\*{1,3}|_{1,3}|</?(?:b|strong|i|em)>", re.I)
_PARAGRAPH = re.compile(r"\n[ \t]*\n")
_TAG_KIND = {"b": "**", "strong": "**", "i": "*", "em": "*"}


# Small tuples rather than dataclasses: a long statement has hundreds of thousands of them.
class Run(NamedTuple):
    """Visible characters ``text[start:end]`` and how they are styled."""

    start: int
    end: int
    bold: bool = False
    italic: bool = False


class _Mark(NamedTuple):
    start: int
    end: int
    kind: str  # "**", "*", "***" (Markdown or HTML), or "__" / "_"
    opens: bool
    closes: bool


def _marks(text: str) -> list[_Mark]:
    out = []
    last = len(text) - 1
    for m in _DELIMITER.finditer(text):
        start, end = m.span()
        token = m.group()
        if token[0] == "<":
            closing = token[1] == "/"
            kind = "html" + _TAG_KIND[token[1 + closing : -1].lower()]
            out.append(_Mark(start, end, kind, not closing, closing))
            continue
        before = text[start - 1] if start else " "
        after = text[end] if end <= last else " "
        if token[0] == "_":
            opens = not after.isspace() and not before.isalnum()
            closes = not before.isspace() and not after.isalnum()
        else:
            opens, closes = not after.isspace(), not before.isspace()
        if opens and closes:  # inside a word: "a**b**c" opens and closes by position
            opens, closes = not before.isalnum(), not after.isalnum()
        out.append(_Mark(start, end, token, opens, closes))
    return out


def _pairs(text: str) -> tuple[list[tuple[_Mark, _Mark]], list[_Mark]]:
    """Matched (opener, closer) pairs within a paragraph, and delimiters to hide although
    unmatched (a double or triple delimiter, or a tag, is never literal text).

    A closer takes the nearest open delimiter of its kind, and those opened after that one
    stay unmatched; a paragraph end leaves every open one unmatched. One pass: the open
    delimiters are kept in order, with a stack of places per kind, so a closer finds its
    opener at once and every delimiter is pushed and dropped once."""
    breaks = [m.start() for m in _PARAGRAPH.finditer(text)]
    breaks.append(len(text) + 1)
    next_break = 0  # the first paragraph break at or after the mark being read
    last_break = -1  # the last one before it
    pairs: list[tuple[_Mark, _Mark]] = []
    hidden: list[_Mark] = []
    stack: list[_Mark] = []  # open delimiters, in order
    places: dict[str, list[int]] = {}  # kind -> its open delimiters' places in ``stack``
    for mark in _marks(text):
        while breaks[next_break] < mark.start:
            last_break = breaks[next_break]
            next_break += 1
        if stack and last_break >= stack[-1].end:  # a paragraph ended since the last open one
            hidden += [m for m in stack if len(m.kind) > 1]
            stack, places = [], {}
        open_of_kind = places.get(mark.kind) if mark.closes else None
        if open_of_kind:
            i = open_of_kind.pop()
            for dropped in stack[i + 1 :]:
                places[dropped.kind].pop()
                if len(dropped.kind) > 1:
                    hidden.append(dropped)
            pairs.append((stack[i], mark))
            del stack[i:]
        elif mark.opens:
            places.setdefault(mark.kind, []).append(len(stack))
            stack.append(mark)
        elif len(mark.kind) > 1:
            hidden.append(mark)
    hidden += [m for m in stack if len(m.kind) > 1]
    return pairs, hidden


def runs(text: str, cuts: Iterable[int] = ()) -> list[Run]:
    """The text's visible runs in order, delimiters left out, also cut at ``cuts``: one
    sweep over the text between the delimiters hidden."""
    pairs, hidden = _pairs(text)
    delimiters = sorted([*(m for pair in pairs for m in pair), *hidden], key=_start)
    # Emphasis starts after an opener and ends before its closer: both edges of the text
    # between delimiters, so a run's style is fixed where it starts.
    styles = []
    for o, c in pairs:
        kind = o.kind.removeprefix("html")
        bold, italic = kind in ("**", "__", "***"), kind in ("*", "_", "***")
        styles += [(o.end, bold, italic), (c.start, -bold, -italic)]
    styles.sort(key=_start)
    places = sorted({c for c in cuts if 0 < c < len(text)})
    out: list[Run] = []
    bolds = italics = style = place = 0
    start = 0
    for delimiter in [*delimiters, _Mark(len(text), len(text), "", False, False)]:
        end = delimiter.start
        while start < end:
            while style < len(styles) and styles[style][0] <= start:
                bolds, italics = bolds + styles[style][1], italics + styles[style][2]
                style += 1
            while place < len(places) and places[place] <= start:
                place += 1
            stop = min(end, places[place]) if place < len(places) else end
            out.append(Run(start, stop, bolds > 0, italics > 0))
            start = stop
        start = max(start, delimiter.end)
    return out


def _start(item: tuple) -> int:
    return item[0]


def plain(text: str) -> str:
    """The text as read aloud: emphasis delimiters left out."""
    return "".join(text[r.start : r.end] for r in runs(text))
