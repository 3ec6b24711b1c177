"""The extractive answer and citation checks, with a keyword embedder."""

from __future__ import annotations

from dataclasses import replace

from rag.answering import REFUSAL, ExtractiveGenerator, check_sentences, verify_citations
from rag.types import Chunk, Document, Passage

TEXT = (
    "Statement on reform.\n\nThe veto should be limited to grave cases. Africa deserves permanent "
    "seats on the Council. Peacekeeping needs predictable funding from all members."
)
DOC = Document("doc1", "statement.txt", TEXT, {"title": "Statement on reform."})


def _passages() -> list[Passage]:
    start = TEXT.index("The veto")
    return [Passage(1, Chunk("doc1:0", "doc1", start, len(TEXT), TEXT[start:]), DOC, 0.03, 0.6)]


def test_the_answer_quotes_the_sentence_that_answers_with_exact_offsets(embedder):
    answer = ExtractiveGenerator(embedder, min_relevance=0.5).generate("What about the veto?", _passages())
    assert not answer.refused and "The veto should be limited to grave cases." in answer.text
    for c in answer.citations:
        assert TEXT[c.start : c.end] == c.quote


def test_a_question_nothing_answers_is_refused(embedder):
    answer = ExtractiveGenerator(embedder, min_relevance=0.5).generate("Arctic shipping lanes?", _passages())
    assert answer.refused and answer.text == REFUSAL and not answer.citations


def test_a_citation_that_is_not_the_source_is_dropped_with_its_marker(embedder):
    answer = ExtractiveGenerator(embedder, min_relevance=0.5).generate("What about the veto?", _passages())
    bad = replace(answer.citations[0], quote="The veto must be abolished.")
    checked = check_sentences(verify_citations(replace(answer, citations=(bad,))))
    assert not checked.citations and "[1]" not in checked.text
    assert all(not s.supported for s in checked.sentences)
