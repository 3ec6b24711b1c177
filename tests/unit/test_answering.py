"""The extractive answer and citation checks, with a keyword embedder."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rag.answering import REFUSAL, ExtractiveGenerator, check_sentences, verify_citations
from rag.answering.attribution import attribute
from rag.question import Question
from rag.types import Answer, Chunk, Citation, Document, Passage

TEXT = (
    "Statement on reform.\n\nThe veto should be limited to grave cases. Africa deserves permanent "
    "seats on the Council. Peacekeeping needs predictable funding from all members."
)
DOC = Document("doc1", "statement.txt", TEXT, {"title": "Statement on reform."})


def _passages() -> list[Passage]:
    start = TEXT.index("The veto")
    return [Passage(1, Chunk("doc1:0", "doc1", start, len(TEXT), TEXT[start:]), DOC, 0.03, 0.6)]


def test_the_answer_quotes_the_sentence_that_answers_with_exact_offsets(embedder):
    answer = ExtractiveGenerator(embedder, min_relevance=0.5).generate(
        Question.of("What about the veto?"), _passages()
    )
    assert not answer.refused and "The veto should be limited to grave cases." in answer.text
    for c in answer.citations:
        assert TEXT[c.start : c.end] == c.quote


def test_a_question_nothing_answers_is_refused(embedder):
    answer = ExtractiveGenerator(embedder, min_relevance=0.5).generate(
        Question.of("Arctic shipping lanes?"), _passages()
    )
    assert answer.refused and answer.text == REFUSAL and not answer.citations


def test_a_citation_that_is_not_the_source_is_dropped_with_its_marker(embedder):
    answer = ExtractiveGenerator(embedder, min_relevance=0.5).generate(
        Question.of("What about the veto?"), _passages()
    )
    bad = replace(answer.citations[0], quote="The veto must be abolished.")
    checked = check_sentences(verify_citations(replace(answer, citations=(bad,))))
    assert not checked.citations and "[1]" not in checked.text
    assert all(not s.supported for s in checked.sentences)


# -- the lead-in: metadata shown above a source's quotes, never a claim or a marker ------

VETO = "The veto should be limited to grave cases."


def _checked_as_the_pipeline_does(metadata: dict) -> Answer:
    """A one-quote answer from a document with this metadata, checked as every answer is."""
    doc = replace(DOC, metadata={**DOC.metadata, **metadata})
    start = TEXT.index(VETO)
    citation = Citation(1, doc, start, start + len(VETO), VETO, 1)
    return check_sentences(attribute(verify_citations(Answer("q", f"{VETO} [1]", False, (citation,)))))


@pytest.mark.parametrize(
    "metadata",
    [
        {"speaker": "Ambassador Zhang Jun", "country": "CHN", "date": "3 December 2020"},
        {"speaker": "H.E. Mr. Smith: Permanent Representative", "country": "KEN", "year": 2021},
        {"speaker": "Jane Doe [7] [8]", "date": "2021-05-04"},
        {"speaker": "Dr. No. 1, the Chair", "date": "Tuesday, 4 May"},
        {"speaker": "\x1b]0;pwned\x07Jane\x1b[2J\nDoe", "date": "2021"},
    ],
)
def test_a_correct_quote_is_supported_whatever_its_speaker_and_date_say(metadata):
    answer = _checked_as_the_pipeline_does(metadata)
    assert [(s.text, s.citations, s.supported) for s in answer.sentences] == [(VETO, (1,), True)]
    assert not answer.unsupported
    [group] = answer.groups
    assert answer.text == f"{group.lead_in}: {VETO} [1]" and group.citations == (1,)


def test_each_source_of_an_answer_carries_its_lead_in_as_fields():
    answer = _checked_as_the_pipeline_does(
        {"speaker": "Ambassador Zhang Jun", "country": "CHN", "date": "3 December 2020"}
    )
    [group] = answer.groups
    assert (group.lead_in, group.speaker, group.country, group.date) == (
        "Ambassador Zhang Jun (China), 3 December 2020",
        "Ambassador Zhang Jun",
        "China",
        "3 December 2020",
    )
    shown = answer.to_json()
    assert shown["answer"] == "Ambassador Zhang Jun (China), 3 December 2020: " + VETO + " [1]"
    assert shown["groups"] == [
        {
            "lead_in": "Ambassador Zhang Jun (China), 3 December 2020",
            "speaker": "Ambassador Zhang Jun",
            "country": "China",
            "date": "3 December 2020",
            "text": VETO + " [1]",
            "citations": [1],
        }
    ]
    assert shown["sentences"] == [{"text": VETO, "citations": [1], "supported": True}]


def test_a_marker_in_a_speaker_name_names_no_citation():
    answer = _checked_as_the_pipeline_does({"speaker": "Jane Doe [7] [8]", "year": 2021})
    assert [c.n for c in answer.citations] == [1]
    assert {n for s in answer.sentences for n in s.citations} == {1}
    assert answer.groups[0].lead_in == "Jane Doe [7] [8], 2021"
    # Checked again (as a cached or re-verified answer would be), the lead-in is untouched.
    again = check_sentences(verify_citations(answer))
    assert again.text == answer.text and not again.unsupported
