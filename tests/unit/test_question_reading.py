"""Each way a question was misread, with invented questions of that kind (countries and
years no gold set uses): what is asked about is searched, only a sure reading refuses, and a
refusal says exactly what the index holds."""

from __future__ import annotations

import pytest

from rag.question.scope import Coverage, scope_of

# Ghana spoke 2014-2018 and 1983; Peru 2018 only; no statement anywhere from 2000-2009.
COVERAGE = Coverage.of(
    [
        {"country": "GHA", "year": y, "venue": "UN General Assembly, General Debate"}
        for y in (1983, 2014, 2015, 2016, 2017, 2018)
    ]
    + [{"country": "PER", "year": 2018, "venue": "UN General Assembly, General Debate"}]
)


def _read(question: str) -> tuple[str, list[tuple[str, object, bool | None, bool]]]:
    scope = scope_of(question, COVERAGE)
    return scope.missing, [(p.kind, p.value, p.held, p.sure) for p in scope.parts]


@pytest.mark.parametrize(
    "question",
    [
        "In its 2016 speech, how much did Ghana say it spent on schools, and what had it spent in 2011?",
        "What did Ghana say in 2015 about its bid for a Council seat for 2022–2023?",
        "What did Ghana say in 2017 it would achieve by 2040?",
        "How did Ghana describe progress on the 2063 Agenda in 2014?",
        "What did Ghana recall in 2018 about the events of 1957?",
    ],
)
def test_a_year_the_speech_talks_about_is_not_the_year_it_was_made(question):
    missing, parts = _read(question)
    assert missing == ""
    assert [p for p in parts if p[0] == "year" and p[2] is False] == []


@pytest.mark.parametrize(
    "question",
    [
        "What did Ghana say in 2016 about families separated by North Korea?",
        "What did Ghana say in 2015 about refugees from Syria?",
        "What did Ghana say in 2014 about the former Afghan president?",
        "What did Ghana say in 2017 about the return of Macao to China?",
        "How did Ghana describe relations with Japan in 2018?",
    ],
)
def test_a_country_that_is_the_topic_is_not_the_speaker(question):
    missing, parts = _read(question)
    assert missing == ""
    assert [p[1] for p in parts if p[0] == "country"] == ["GHA"]


@pytest.mark.parametrize(
    "question, years",
    [
        ("What did Ghana say in the mid-2010s about cocoa?", (2014, 2016)),
        ("What has Ghana said since 2016 about cocoa?", (2016, 9999)),
        ("What did Ghana say in the 1980s about apartheid?", (1980, 1989)),
        ("What did Ghana say in the early 1980s about apartheid?", (1980, 1983)),
        ("What did Ghana say before 1990 about apartheid?", (1946, 1989)),
        ("What did Ghana say after 2016 about cocoa?", (2017, 9999)),
    ],
)
def test_time_expressions_are_read_as_the_years_of_the_speech(question, years):
    missing, parts = _read(question)
    assert missing == ""
    assert [p[1] for p in parts if p[0] == "year"] == [list(years)]


@pytest.mark.parametrize(
    "question, sentence",
    [
        (
            "What did Ghana say in 2012 about cocoa?",
            "The index holds Ghana's statements from 1983 and 2014–2018, none from 2012.",
        ),
        (
            "What did Peru say in the 1990s about mining?",
            "The index holds Peru's statements from 2018, none from the 1990s.",
        ),
        (
            "What did Peru say in 2016 about mining?",
            "The index holds Peru's statements from 2018, none from 2016.",
        ),
        (
            "What did the Bolivian delegation say in 2018 about lithium?",
            "No statement by Bolivia is in the index.",
        ),
        ("What did the Philippines say in 2018?", "No statement by the Philippines is in the index."),
        (
            "What has Ghana said since 2020 about cocoa?",
            "The index holds Ghana's statements from 1983 and 2014–2018, none since 2020.",
        ),
    ],
)
def test_a_sure_reading_the_index_lacks_refuses_saying_exactly_what_it_holds(question, sentence):
    assert _read(question)[0] == sentence


@pytest.mark.parametrize(
    "question",
    [
        "Which of its 1961 statements did Ghana quote in its 2016 speech?",  # two readings of when
        "Which Ghanaian leader's 1960 speech to the Assembly did Ghana quote in 2016?",
        "What did Ghana say in 2016 about peacekeeping in the Security Council?",  # a topic, not where
        "Why did Ghana argue in 2016 for adding new members to the Security Council?",
        "What did Ghana, in 2016 or so, say about cocoa?",
    ],
)
def test_an_unsure_reading_never_refuses(question):
    assert _read(question)[0] == ""


@pytest.mark.parametrize(
    "question, year",
    [
        ("Why did Ghana say in 2017 that it had joined the treaty on the high seas back in 2015?", 2017),
        ("What did Ghana announce in its 2018 statement about the reforms of 2016?", 2018),
        ("In 2015, what did Ghana promise to finish in 2017?", 2015),
    ],
)
def test_beside_a_sure_year_of_the_speech_an_unsure_one_is_what_it_talks_about(question, year):
    _, parts = _read(question)
    assert [p[1] for p in parts if p[0] == "year"] == [year]
