"""Hybrid retrieval over the real seed index, filters, and the LangChain retriever contract."""

from __future__ import annotations

import numpy as np
import pytest
from langchain_tests.integration_tests import RetrieversIntegrationTests

from rag.errors import InputError
from rag.ingest import ingest, open_or_create
from rag.integrations.langchain import StatementRetriever
from rag.retrieval import BM25, Filters, HybridRetriever
from rag.storage import Index
from rag.terms import tokenize

NEWS = "seeds/000_f2b96bbd7d06bdb1.txt"
REMARKS = "seeds/003_3b78ed55776d1c96.txt"


def test_bm25_scores_match_a_hand_computation():
    # Two documents; "veto" occurs once in the first only. With n=2, df=1:
    # idf = ln(1 + (2 - 1 + 0.5) / (1 + 0.5)) = ln 2. Both documents have 2 tokens
    # (stop words dropped), so the length norm is 1 and tf=1 gives weight idf * 2.5 / 2.5.
    bm25 = BM25.from_texts(["the veto power", "council reform"])
    scores = bm25.scores("veto")
    assert scores[0] == pytest.approx(0.693147, abs=1e-5)
    assert scores[1] == 0
    assert tokenize("Funding and funded councils") == ["fund", "fund", "council"]


def test_passages_alike_in_their_terms_rank_alike_whatever_order_they_were_stored_in():
    """Two passages with the same counts of every term would tie on BM25 and be ranked in
    the order a store keeps them; the earlier one in its statement ranks first instead."""
    first, later = ("Veto reform council.", 0), ("Veto reform, councils!", 800)
    assert tokenize(first[0]) == tokenize(later[0])
    for stored in ([first, later], [later, first]):
        texts, offsets = zip(*stored, strict=True)
        scores = BM25.from_texts([*texts, "budget"], [*offsets, 0]).scores("veto")
        ranked = [stored[i] for i in np.argsort(-scores[:2], kind="stable")]
        assert ranked == [first, later] and scores[0] != scores[1]


def test_the_passage_that_answers_ranks_first(pipeline):
    passages = pipeline.engine.retrieve("Who were the co-chairs of the intergovernmental negotiations?", k=3)
    assert "Alya Ahmed Saif Al-Thani" in passages[0].text
    assert [p.rank for p in passages] == [1, 2, 3]
    for p in passages:
        assert p.document.text[p.start : p.end] == p.text


def test_filters_by_source_restrict_results(pipeline):
    only = Filters(sources=(REMARKS,))
    passages = pipeline.engine.retrieve("Security Council reform", k=5, filters=only)
    assert passages and {p.document.source for p in passages} == {REMARKS}
    by_name = Filters(sources=("000_f2b96bbd7d06bdb1.txt",))
    assert {p.document.source for p in pipeline.engine.retrieve("reform", k=3, filters=by_name)} == {NEWS}


def test_year_filter_keeps_dated_documents_only(pipeline):
    passages = pipeline.engine.retrieve("reform", k=5, filters=Filters(year_from=2020, year_to=2020))
    assert {p.document.source for p in passages} == {REMARKS}


def test_filters_that_match_nothing_say_so(pipeline):
    with pytest.raises(InputError, match="No statements in the index match the filters"):
        pipeline.engine.retrieve("reform", filters=Filters(countries=("BRA",)))
    with pytest.raises(InputError, match="year range 2021-2019 is empty"):
        Filters(year_from=2021, year_to=2019)


@pytest.mark.parametrize("k", [0, 10_000])
def test_k_out_of_range_is_a_clear_error(pipeline, k):
    with pytest.raises(InputError, match="between 1 and 50"):
        pipeline.engine.retrieve("reform", k=k)


@pytest.mark.parametrize("question", ["", "   \n\t", "x" * 100_000])
def test_unusable_questions_are_clear_errors(pipeline, question):
    with pytest.raises(InputError, match="question"):
        pipeline.engine.retrieve(question)


def test_mixed_scripts_and_control_characters_are_searched(pipeline):
    passages = pipeline.engine.retrieve(
        "安理会改革 إصلاح مجلس الأمن 🌍 Security\x00 Council\x07 reform?", k=2
    )
    assert len(passages) == 2


def test_country_and_year_filters_cite_that_years_speech(china_speeches, embedder, tmp_path):
    index = open_or_create(tmp_path / "chn", embedder, 800, 200)
    ingest([china_speeches], index, embedder, china_speeches, progress=False)
    engine = HybridRetriever(index, embedder)
    for year in (2015, 2019, 2021):
        passages = engine.retrieve(
            "What did China say about the United Nations?",
            k=5,
            filters=Filters(countries=("China",), year_from=year, year_to=year),
        )
        assert passages and {p.document.metadata["year"] for p in passages} == {year}


class TestStatementRetrieverStandard(RetrieversIntegrationTests):
    """LangChain's own retriever suite: k in the constructor and per call, sync and async."""

    @pytest.fixture(autouse=True)
    def _engine(self, seed_index_dir, embedder):
        self.engine = HybridRetriever(Index.open(seed_index_dir), embedder)

    @property
    def retriever_constructor(self) -> type[StatementRetriever]:
        return StatementRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return {"engine": self.engine, "k": 2}

    @property
    def retriever_query_example(self) -> str:
        return "What is the priority of Security Council reform?"


def test_a_year_named_in_the_question_is_preferred_without_a_filter(china_speeches, embedder, tmp_path):
    index = open_or_create(tmp_path / "chn", embedder, 800, 200)
    ingest([china_speeches], index, embedder, china_speeches, progress=False)
    engine = HybridRetriever(index, embedder)
    for year in (2015, 2019, 2021):
        top = engine.retrieve(f"What did China say about development in {year}?", k=3)
        assert top[0].document.metadata["year"] == year
    # Only a preference: other years still appear when they match better.
    assert engine.mentioned_rows("What about 1999?", None) is None
