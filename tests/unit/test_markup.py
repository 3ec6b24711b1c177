"""Emphasis read from a statement's text: the same runs as a plain reading of the rules, and
in one pass however many delimiters a text holds."""

from __future__ import annotations

import bisect
import random
import time

from rag.markup import _PARAGRAPH, _marks, _pairs, plain, runs


def _pairs_by_the_rules(text: str):
    """The pairing rules read literally (a closer takes the nearest open delimiter of its
    kind, dropping those opened after it; a paragraph end drops every open one): the
    reading the one-pass version must agree with."""
    breaks = [m.start() for m in _PARAGRAPH.finditer(text)]
    pairs, stack, hidden = [], [], []
    for mark in _marks(text):
        after = bisect.bisect_left(breaks, stack[-1].end) if stack else len(breaks)
        if after < len(breaks) and breaks[after] < mark.start:
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


_PIECES = ["*", "**", "***", "_", "__", "<b>", "</b>", "<i>", "</i>", "<EM>", "</strong>"]
_PIECES += ["a", "word", " ", " ", "x_y", "\n", "\n\n", ",", "."]


def test_emphasis_pairs_as_the_rules_say_on_ten_thousand_random_texts():
    rng = random.Random(7)
    for _ in range(10_000):
        text = "".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 30)))
        pairs, hidden = _pairs(text)
        expected_pairs, expected_hidden = _pairs_by_the_rules(text)
        assert pairs == expected_pairs, text
        assert sorted(hidden, key=lambda m: m.start) == sorted(expected_hidden, key=lambda m: m.start), text


def _adversarial(size: int) -> str:
    """Openers that stay open, then closers: those that match none of them searched every
    open delimiter, those that match one copied all below it."""
    openers = "*a <b>x **z _y "
    closers = "</i>q r_ </b>s "
    half = size // 2
    return openers * (half // len(openers)) + closers * (half // len(closers))


def test_a_megabyte_of_unmatched_emphasis_renders_in_well_under_a_second():
    text = _adversarial(1_000_000)
    start = time.perf_counter()
    found = runs(text)
    seconds = time.perf_counter() - start
    assert seconds < 2, f"{seconds:.1f} s"
    assert found[0].start == 0 and found[-1].end == len(text)
    assert "</b>" not in plain(text[:50_000] + text[-50_000:])
