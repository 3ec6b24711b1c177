"""Cited answers from the seeds: right passage, exact quotes, refusals, verification."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rag.answering import REFUSAL, verify_citations
from tests.conftest import ARCTIC, WANG_YI


def _assert_citations_exact(answer):
    assert answer.citations
    for c in answer.citations:
        assert c.quote == c.document.text[c.start : c.end]
        assert f"[{c.n}]" in answer.text


def test_wang_yi_question_names_both_co_chairs_with_a_citation(pipeline):
    answer = pipeline.ask(WANG_YI)
    assert not answer.refused
    assert "Alya Ahmed Saif Al-Thani" in answer.text and "Martin Bille Hermann" in answer.text
    _assert_citations_exact(answer)
    quotes = " ".join(c.quote for c in answer.citations)
    assert "Alya Ahmed Saif Al-Thani" in quotes and "Martin Bille Hermann" in quotes


@pytest.mark.parametrize(
    "question, expected",
    [
        ("What does China see as the priority of Security Council reform?", "increasing representation"),
        ("How should security sector reform be funded?", "big gaps of funding"),
        ("Who should own and lead security sector reform?", "owned and led by countries concerned"),
        ("What did the co-chairs congratulate China on?", "Beijing Winter Olympics"),
    ],
)
def test_answers_quote_the_sentence_that_answers(pipeline, question, expected):
    answer = pipeline.ask(question)
    assert not answer.refused
    _assert_citations_exact(answer)
    assert any(expected in c.quote for c in answer.citations)


@pytest.mark.parametrize(
    "question",
    [ARCTIC, "What did China say about climate change?", "What is the capital of Australia?"],
)
def test_questions_the_statements_do_not_address_are_refused(pipeline, question):
    answer = pipeline.ask(question)
    assert answer.refused
    assert answer.text == REFUSAL
    assert not answer.citations
    assert answer.passages  # the closest passages stay available for the reader to judge


def test_every_answer_sentence_is_a_cited_source_sentence(pipeline):
    answer = pipeline.ask("What did Zhang Jun say about the role of regional organizations?")
    _assert_citations_exact(answer)
    for c in answer.citations:
        assert f"{' '.join(c.quote.split())} [{c.n}]" in answer.text


def test_a_citation_whose_quote_is_not_the_source_text_is_dropped(pipeline):
    answer = pipeline.ask(WANG_YI)
    bad = replace(answer.citations[0], quote="Wang Yi met the Secretary-General.")
    checked = verify_citations(replace(answer, citations=(bad,)))
    assert not checked.citations
    assert "[1]" not in checked.text
    assert verify_citations(answer) == answer


def test_the_langchain_chain_gives_the_pipelines_answer(pipeline):
    from rag.integrations.langchain import build_chain
    from rag.retrieval import Filters

    chain = build_chain(pipeline)
    by_chain = chain.invoke(WANG_YI)
    direct = pipeline.ask(WANG_YI)
    assert (by_chain.text, by_chain.citations) == (direct.text, direct.citations)
    funded = "How should security sector reform be funded?"
    only = chain.invoke(
        {"question": funded, "k": 2, "filters": Filters(sources=("003_3b78ed55776d1c96.txt",))}
    )
    assert {p.document.source.rsplit("/", 1)[-1] for p in only.passages} == {"003_3b78ed55776d1c96.txt"}
    assert len(only.passages) <= 2 and not only.refused
    # A filter that excludes the speaker the question names: one sentence, not an error.
    apart = chain.invoke({"question": WANG_YI, "filters": Filters(sources=("003_3b78ed55776d1c96.txt",))})
    assert apart.refused and apart.text.startswith("No statement the filters allow (source 003_")
    assert apart.text.endswith("matches all the question names (Wang Yi).") and apart.passages
    # A speaker and a year the index holds, but never together: the same kind of sentence.
    never = pipeline.ask("What did Wang Yi say about reform in 2020?")
    assert never.refused
    assert never.text == "No statement in the index matches all the question names (Wang Yi, 2020)."


FORUM = (
    "Ruritania is a firm believer in multilateral organizations, in international cooperation and "
    "in the United Nations. Ruritania will further contribute to and participate in those efforts. "
    "In doing that, Ruritania is convinced, the United Nations will play a very important role. "
    "I want to thank all peacekeepers and peacebuilders of the United Nations for their efforts "
    "and sacrifices. The conflict must be handled within the United Nations system.\n"
)


def test_what_was_said_about_a_topic_is_quoted_from_the_sentence_naming_it(embedder):
    # The real model finds the sentences about the United Nations closer to the question than
    # the one sentence that names peacekeeping: that one is the answer.
    from rag.answering.extractive import ExtractiveGenerator
    from rag.question import Question
    from rag.types import Chunk, Document, Passage

    doc = Document("f1", "RUR_68_2013.txt", FORUM, {"title": "Statement", "country": "RUR", "year": 2013})
    passages = [Passage(1, Chunk("f1:0", "f1", 0, len(FORUM), FORUM), doc, 0.03, 0.6)]
    question = Question.of("And what did it say about peacekeeping in its 2013 statement? (Ruritania)")
    answer = ExtractiveGenerator(embedder).generate(question, passages)
    assert "peacekeepers" in answer.text
    assert "firm believer" not in answer.text and "very important role" not in answer.text
