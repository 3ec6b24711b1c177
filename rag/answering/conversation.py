"""Follow-up questions made standalone before retrieval, so "they" and "it" find passages."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.terms import STOPWORDS, tokenize

_REFERS_BACK = {
    "it",
    "its",
    "they",
    "them",
    "their",
    "theirs",
    "this",
    "that",
    "these",
    "those",
    "he",
    "him",
    "his",
    "she",
    "her",
    "hers",
    "there",
    "such",
    "same",
    "former",
    "latter",
}
_CONTINUES = ("and ", "also ", "what about", "how about", "what else", "why", "how so", "anything else")


_ENTITY = re.compile(r"\b[A-Z][\w'-]*(?:\s+(?:of\s+|the\s+)?[A-Z][\w'-]*)*")
_QUESTION_WORDS = {
    "Who",
    "What",
    "When",
    "Where",
    "Why",
    "How",
    "Which",
    "Did",
    "Does",
    "Do",
    "Is",
    "Are",
    "Was",
}


def _context_of(question: str) -> str:
    """The names a question is about ("Wang Yi", "Security Council"), else its content words."""
    names = [n for n in _ENTITY.findall(question) if n not in _QUESTION_WORDS]
    names = [
        re.sub(r"^(?:Who|What|When|Where|Why|How|Which|Did|Does|Do|Is|Are|Was)\s+", "", n) for n in names
    ]
    if names:
        return ", ".join(names)
    return " ".join(w for w in re.findall(r"[\w'-]+", question) if w.lower() not in STOPWORDS)


def standalone_question(question: str, previous: Sequence[str]) -> str:
    """The question, with what the previous one was about when it leans on it.

    A question leans on the previous one when it refers back ("What did they promise?"),
    continues it ("And Denmark?", "Why?") or has at most one content word of its own;
    then the names of the previous question are added in brackets, so retrieval finds
    them while the new question keeps its own words and question type.
    """
    if not previous:
        return question
    words = set(re.findall(r"[\w'-]+", question.lower()))
    leans = (
        bool(words & _REFERS_BACK)
        or question.lower().lstrip().startswith(_CONTINUES)
        or len(tokenize(question)) <= 1
    )
    return f"{question} ({_context_of(previous[-1])})" if leans else question
