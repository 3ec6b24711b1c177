"""The question as text: one line, characters the tokenizer takes, within the limit."""

from __future__ import annotations

import re
from typing import Any

from rag.errors import InputError

MAX_QUESTION_CHARS = 5000

_SURROGATE = re.compile("[\ud800-\udfff]")


def check_question(question: Any) -> str:
    """The question as searched: one line of text, every character one the tokenizer takes
    (a lone surrogate, from bytes that were not UTF-8, becomes U+FFFD), within the limit."""
    if not isinstance(question, str):
        raise InputError("The question must be text; type a question about the statements.")
    text = " ".join(_SURROGATE.sub("\ufffd", question).split())
    if not text:
        raise InputError("The question is empty; type a question about the statements.")
    if len(text) > MAX_QUESTION_CHARS:
        raise InputError(
            f"The question is {len(text):,} characters long; keep it under {MAX_QUESTION_CHARS:,}."
        )
    return text


# The earlier turn's names and years a follow-up is searched with, in brackets at its end:
# "What did he say about fisheries? (Norway, 2018)".
_CONTEXT = re.compile(r"(?<!\s)\s*+\([^()]*+\)\s*+$")


def without_context(standalone: str) -> str:
    """A rewritten follow-up without the earlier turn's names in brackets: what it asks."""
    return _CONTEXT.sub("", standalone)


def context_names(standalone: str) -> list[str]:
    """The earlier turn's names a rewritten follow-up carries in brackets, one by one."""
    m = _CONTEXT.search(standalone)
    return [n.strip() for n in m.group(0).strip(" ()").split(",") if n.strip()] if m else []
