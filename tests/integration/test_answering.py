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


@pytest.fixture(scope="module")
def sweden_2013(tmp_path_factory):
    from rag.loading import load_file
    from tests.conftest import _unpack

    folder = _unpack({"SWE_68_2013.txt"}, tmp_path_factory.mktemp("swe"))
    return load_file(folder / "SWE_68_2013.txt")


@pytest.mark.parametrize(
    "question",
    [
        "And what did it say about peacekeeping in its 2013 statement? (Sweden)",
        "What did Sweden say about peacekeeping in 2013?",
    ],
)
def test_what_was_said_about_a_topic_is_quoted_from_the_sentence_naming_it(embedder, sweden_2013, question):
    # Sentences about the United Nations come closer to the question, for the real model,
    # than the one sentence of the speech that names peacekeeping: that one is the answer.
    from rag.answering.extractive import ExtractiveGenerator
    from rag.question import Question
    from rag.types import Chunk, Passage

    doc = sweden_2013
    passages = [Passage(1, Chunk(f"{doc.doc_id}:0", doc.doc_id, 0, len(doc.text), doc.text), doc, 0.03, 0.6)]
    answer = ExtractiveGenerator(embedder).generate(Question.of(question), passages)
    assert "thank all peacekeepers" in answer.text


def test_one_side_of_a_comparison_is_never_answered_by_the_other_sides_words(embedder):
    from rag.answering.extractive import ExtractiveGenerator
    from rag.question import Question
    from rag.question.scope import Coverage
    from rag.types import Chunk, Document, Passage

    ours = Document(
        "n1",
        "NOR_68_2013.txt",
        "Norway calls once again for the embargo against Cuba to be lifted.\n",
        {"title": "Statement", "country": "NOR", "year": 2013},
    )
    theirs = Document(
        "k1",
        "KEN_68_2013.txt",
        "Kenya welcomes the new members of the Assembly and their delegations.\n",
        {"title": "Statement", "country": "KEN", "year": 2013},
    )
    coverage = Coverage(countries={"NOR": {2013}, "KEN": {2013}}, years={2013})
    question = Question.read(
        "Did Norway and Kenya both call for lifting the Cuba embargo in 2013?", (), coverage
    )
    assert len(question.parts) == 2
    passages = [
        Passage(n, Chunk(f"{d.doc_id}:0", d.doc_id, 0, len(d.text), d.text), d, 0.03, 0.6)
        for n, d in enumerate((ours, theirs), 1)
    ]
    answer = ExtractiveGenerator(embedder).generate(question, passages)
    assert "embargo against Cuba" in answer.text
    assert [p.split()[0] for p in answer.unaddressed] == ["Kenya"]
