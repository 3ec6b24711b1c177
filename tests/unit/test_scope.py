"""What a question is scoped to, and what the index holds: worked out on fixed questions
and a small fixed coverage, no model."""

from __future__ import annotations

import pytest

from rag.answering.attribution import attribute, attribution
from rag.question.scope import Coverage, asked_years, scope_of, speaker_countries
from rag.retrieval import Filters
from rag.retrieval.snapshot import within
from rag.types import Answer, Citation, Document

ZHANG = {"country": "CHN", "year": 2020, "speaker": "Ambassador Zhang Jun", "title": "Remarks by Zhang Jun"}
COVERAGE = Coverage.of(
    [{"country": "CHN", "year": y, "speaker": "China"} for y in range(1971, 2025)]
    + [{"country": "BRA", "year": 2024, "speaker": "Brazil"}, {"country": "CAN", "year": 2018}, ZHANG]
)


@pytest.mark.parametrize(
    "question, speakers",
    [
        ("What did Kenya say in its 2021 General Debate speech?", [("KEN", "Kenya")]),
        ("What is Brazil's position on the veto?", [("BRA", "Brazil")]),
        ("What did the Brazilian president say about hunger?", [("BRA", "Brazilian")]),
        ("How did Nigeria's president describe terrorism?", [("NGA", "Nigeria")]),
        ("According to Canada, what should peacekeeping do?", [("CAN", "Canada")]),
        ("What did the United States say about reform?", [("USA", "the United States")]),
        # The country a statement is about is not its speaker.
        ("What did China say about Afghanistan?", [("CHN", "China")]),
        ("What did China say about relations with the United States?", [("CHN", "China")]),
        ("Which countries do the two co-chairs represent?", []),
    ],
)
def test_the_speaking_country_is_recognised_and_a_topic_country_is_not(question, speakers):
    assert speaker_countries(question) == speakers


@pytest.mark.parametrize(
    "question, years",
    [
        ("What did Kenya say in 2021?", [(2021, 2021)]),
        ("What did China say at the General Debate of the 80th session?", [(2025, 2025)]),
        ("What did Nigeria say between 2015 and 2018?", [(2015, 2018)]),
        ("What did Nigeria say between 2018 and 2015?", [(2015, 2018)]),
        ("What has China said since 2020 about climate?", [(2020, 9999)]),
        ("What did China say about the 2030 Agenda in 2016?", [(2016, 2016)]),
        # A target or a plan is not when the statement was made.
        ("What does China plan to achieve by 2060?", []),
        ("What did China pledge to reach by 2060?", []),
    ],
)
def test_the_years_asked_about_are_recognised_and_a_target_year_is_not(question, years):
    assert asked_years(question) == years


def test_scope_the_index_lacks_is_one_sentence_naming_what_is_missing():
    kenya = scope_of("What did Kenya say in its 2021 General Debate speech?", COVERAGE)
    assert kenya.missing == "No statement by Kenya is in the index."
    late = scope_of("What did China propose at the General Debate of the 80th session in 2025?", COVERAGE)
    assert late.missing == "The index holds China's statements from 1971–2024, none from 2025."
    pair = scope_of("What did Brazil say in 2019 about hunger?", COVERAGE)
    assert pair.missing == "The index holds Brazil's statements from 2024, none from 2019."
    held = scope_of("What did Brazil say in 2024 about hunger?", COVERAGE)
    assert held.missing == ""
    assert held.to_json()["countries"] == [{"name": "Brazil", "code": "BRA", "held": True, "sure": True}]
    assert held.to_json()["years"] == [{"name": "2024", "value": 2024, "held": True, "sure": True}]


def test_an_index_without_country_metadata_cannot_refuse_by_country():
    bare = Coverage.of([{"title": "A statement"}])
    scope = scope_of("What did Kenya say about the veto?", bare)
    assert scope.missing == "" and scope.to_json()["countries"][0]["held"] is None


def test_held_scope_becomes_a_filter_and_a_user_filter_is_kept():
    scope = scope_of("What did Zhang Jun say, and what did Brazil say in 2024?", COVERAGE)
    expected = Filters(countries=("BRA",), year_from=2024, year_to=2024, speakers=("Zhang Jun",))
    assert within(None, scope) == expected
    mine = Filters(countries=("CAN",))
    assert within(mine, scope).countries == ("CAN",)
    assert within(None, scope_of("What is the veto?", COVERAGE)) is None


def _doc(doc_id, **meta):
    return Document(doc_id, f"{doc_id}.txt", "The veto must go. Africa needs seats.", meta)


def test_every_run_of_sentences_opens_with_its_speaker_and_date():
    kenya = _doc("k", country="KEN", speaker="Kenya", year=2021)
    zhang = _doc("z", country="CHN", speaker="Ambassador Zhang Jun", date="2020-12-03")
    undated = _doc("u", country="CHN", speaker="Wang Yi")
    assert attribution(kenya) == "Kenya, 2021: "
    assert attribution(zhang) == "Ambassador Zhang Jun (China), 2020-12-03: "
    assert attribution(undated) == "Wang Yi (China), undated: "
    citations = (
        Citation(1, kenya, 0, 17, "The veto must go.", 1),
        Citation(2, kenya, 18, 37, "Africa needs seats.", 1),
        Citation(3, zhang, 0, 17, "The veto must go.", 2),
    )
    plain = "The veto must go. [1] Africa needs seats. [2] The veto must go. [3]"
    answer = Answer("q", plain, False, citations)
    text = attribute(answer).text
    assert text == (
        "Kenya, 2021: The veto must go. [1] Africa needs seats. [2]\n\n"
        "Ambassador Zhang Jun (China), 2020-12-03: The veto must go. [3]"
    )
    groups = attribute(answer).groups
    assert [(g.lead_in, g.text, g.citations) for g in groups] == [
        ("Kenya, 2021", "The veto must go. [1] Africa needs seats. [2]", (1, 2)),
        ("Ambassador Zhang Jun (China), 2020-12-03", "The veto must go. [3]", (3,)),
    ]
    assert attribute(attribute(answer)).text == text  # applied twice, still one lead-in


def test_a_venue_named_as_where_the_statement_was_made_is_scope_and_a_topic_is_not():
    from rag.question.scope import asked_venues

    assert asked_venues("What did Kenya say in its 2021 General Debate speech?") == ["general debate"]
    assert asked_venues("What did China say in the Security Council on peacekeeping?") == ["security council"]
    assert asked_venues("What did Brazil say about Security Council reform?") == []
    coverage = Coverage.of([{"country": "CHN", "year": 2020, "venue": "UN General Assembly, General Debate"}])
    scope = scope_of("What did China say in the Security Council in 2020?", coverage)
    assert scope.missing == "No statement made at the Security Council is in the index."
    held = scope_of("What did China say at the General Debate in 2020?", coverage)
    assert within(None, held).venues == ("general debate",)
