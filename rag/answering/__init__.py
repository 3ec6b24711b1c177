"""Answering: generators that turn a question and its passages into an Answer, and the
checks every answer passes (citations are the source's exact words; sentences supported)."""

from rag.answering.extractive import REFUSAL, ExtractiveGenerator, Generator
from rag.answering.generators import (
    GENERATORS,
    available_generators,
    check_generator,
    make_generator,
)
from rag.answering.verification import check_sentences, verify_citations

__all__ = [
    "GENERATORS",
    "REFUSAL",
    "ExtractiveGenerator",
    "Generator",
    "available_generators",
    "check_generator",
    "check_sentences",
    "make_generator",
    "verify_citations",
]
