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


# "did he say", "does it propose": the speaker as the subject of the question's verb.
_SUBJECT = re.compile(
    r"\b(?P<verb>did|does|do|has|had|was|is|were|would|will|could|can)\s+(?P<who>he|she|it|they)\b", re.I
)
# "its 2013 statement", "his speech": the speaker's statement.
_OWNER = re.compile(
    r"\b(?:its|his|her|their)(?=\s+(?:(?:19|20)\d\d\s+)?(?:speech|statement|address|remarks)\b)", re.I
)


def with_speaker(question: str, who: str) -> str:
    """The question with the speaker (``who``) written for its first "did he" or "its
    statement": a follow-up as a person would write it on its own."""
    if who and who not in question:  # "did it propose in its 2013 statement": "did Chile propose in its …"
        subject = _SUBJECT.sub(lambda m: f"{m['verb']} {who}", question, count=1)
        question = subject if subject != question else _OWNER.sub(f"{who}’s", question, count=1)
    return question
