"""A follow-up as it is searched and as it is shown: one that asks in light words ("What
numbers did he give?") is searched with the earlier question's topic; "Understood as" reads
as a question a person would write (the speaker for "its statement", the year counted, "What
else" spelled out), never a list of words in brackets. Generated over countries of the
table, years and phrasings; invented questions."""

from __future__ import annotations

import itertools
import re

from rag.question import Question
from rag.question.asks import asks_of
from rag.question.followup import Turn
from rag.question.scope import Coverage

COUNTRIES = [("Norway", "NOR"), ("Kenya", "KEN"), ("Chile", "CHL"), ("Viet Nam", "VNM"), ("Ghana", "GHA")]
YEARS = [1988, 2013, 2021]
COVERAGE = Coverage(
    countries={code: set(range(1980, 2025)) for _, code in COUNTRIES},
    years=set(range(1980, 2025)),
)
# (earlier question, the word of its topic)
FIRST = [
    ("How many refugees had {C} taken in according to its {Y} speech?", "refugees"),
    ("What did {C} say about ocean plastics in {Y}?", "plastics"),
    ("In its {Y} speech, how did {C} describe the debt crisis?", "debt"),
    ("Besides the two guarantors, who backed {C}'s peace talks in {Y}?", "peace"),
]
# Follow-ups that ask about the earlier topic in light words only.
THIN = [
    "And a year later, what numbers did it give?",
    "What figures did they give?",
    "How far had that got by the following year?",
    "How did things go two years later?",
    "What did it say its priority was?",
]
# Follow-ups that name their own topic: the earlier one's words are not searched.
OWN = [
    "What did it say about fisheries subsidies?",
    "Did they mention migrant workers' remittances?",
]
RELATIVE = [
    ("And what did it propose the following year?", 1),
    ("What did it say about this two years later?", 2),
    ("What had it said the previous year?", -1),
]


def _turn(country: str, year: int, template: str) -> Turn:
    return Turn(template.format(C=country, Y=year), speakers=(country,))


def _read(follow: str, country: str, year: int, first: str) -> Question:
    return Question.read(follow, [_turn(country, year, first)], COVERAGE)


def test_the_generated_cases_are_many():
    assert len(list(itertools.product(COUNTRIES, YEARS, FIRST, THIN))) >= 250


def test_a_follow_up_in_light_words_is_searched_with_the_earlier_topic():
    wrong = []
    for (country, _), year, (first, topic), follow in itertools.product(COUNTRIES, YEARS, FIRST, THIN):
        read = _read(follow, country, year, first)
        if topic not in read.text:
            wrong.append(f"{first.format(C=country, Y=year)!r} + {follow!r}: {read.text!r}")
    assert not wrong, f"{len(wrong)} lost the topic, e.g.:\n" + "\n".join(wrong[:10])


def test_a_follow_up_naming_its_own_topic_is_not_searched_with_the_earlier_one():
    for (country, _), year, (first, topic), follow in itertools.product(COUNTRIES, YEARS, FIRST, OWN):
        read = _read(follow, country, year, first)
        assert topic not in read.text, (first, follow, read.text)


def test_understood_as_reads_as_a_question_not_a_list_of_words():
    wrong = []
    for (country, _), year, (first, _), (follow, shift) in itertools.product(
        COUNTRIES, YEARS, FIRST, RELATIVE
    ):
        shown = _read(follow, country, year, first).understood
        # The speaker for "it", the year counted, no names in brackets (only the question it
        # follows, in quotes), a capital first.
        own = shown.split(" (following “")[0]
        written = f"did {country}" in own or f"had {country}" in own or f"{country}’s" in own
        ok = written and f"{year + shift} statement" in own and "(" not in own and shown[0].isupper()
        if not ok:
            wrong.append(f"{first.format(C=country, Y=year)!r} + {follow!r}: {shown!r}")
    assert not wrong, f"{len(wrong)} unreadable, e.g.:\n" + "\n".join(wrong[:10])


def test_understood_as_names_the_question_a_follow_up_in_light_words_follows():
    for (country, _), year, (first, _) in itertools.product(COUNTRIES, YEARS, FIRST):
        shown = _read("What figures did they give?", country, year, first).understood
        assert shown.startswith(f"What figures did {country} give?"), shown
        assert shown.endswith(f"(following “{first.format(C=country, Y=year)}”)"), shown


def test_what_else_is_spelled_out_and_no_opening_word_is_taken_for_a_name():
    for (country, _), year, (first, _) in itertools.product(COUNTRIES, YEARS, FIRST):
        earlier = first.format(C=country, Y=year)
        read = _read("What else?", country, year, first)
        assert read.understood == f"What else, beyond the earlier answers, on: {earlier}"
        context = _read("What did it say about fisheries subsidies?", country, year, first).text.split("(")[
            -1
        ]
        assert not re.search(r"\bBesides\b", context) and country in context, context


def test_a_place_is_what_where_questions_ask_for():
    templates = [
        "Where did {C} say the talks would be held in {Y}?",
        "Did {C} say where the summit would take place?",
        "In which city did {C} propose to host the conference in {Y}?",
        "where will {C}'s negotiations continue?",
    ]
    for (country, _), year, template in itertools.product(COUNTRIES, YEARS, templates):
        question = template.format(C=country, Y=year)
        assert asks_of(question).kind == "place", question


def test_one_word_of_its_own_after_about_is_the_follow_ups_own_topic():
    for (country, _), year, (first, topic) in itertools.product(COUNTRIES, YEARS, FIRST):
        for follow in (
            "And what did it say about fisheries the following year?",
            "What did they say on whaling?",
        ):
            read = _read(follow, country, year, first)
            assert topic not in read.text and "(following" not in read.understood, (follow, read.text)


def test_a_follow_up_after_one_that_found_nothing_keeps_its_speaker():
    # The turn before found nothing (its answer quoted no one): whose statements it was
    # searched in are in its brackets, and the next follow-up keeps them.
    for (country, code), year, (first, _) in itertools.product(COUNTRIES, YEARS, FIRST):
        found_nothing = Turn(
            "What else did it say about whaling?", f"What else did it say about whaling? ({country}, {year})"
        )
        read = Question.read(
            "And what did it say about fisheries the following year?",
            [_turn(country, year, first), found_nothing],
            COVERAGE,
        )
        parts = [(p.kind, p.value) for p in read.scope.parts]
        assert parts == [("country", code), ("year", year + 1)], (country, year, parts)


def test_a_follow_up_is_one_part_whatever_names_it_carries():
    # The earlier turn's names in brackets ("(Norway, 2013)") are no list of topics.
    for (country, _), year, (first, _) in itertools.product(COUNTRIES, YEARS, FIRST):
        for follow in ("What else did it say about Syria?", "What did it say on debt relief?"):
            read = _read(follow, country, year, first)
            assert len(read.parts) <= 1, (follow, read.text, read.parts)


def test_names_an_answer_quoted_are_searched_with_never_read_as_who_spoke():
    # The earlier answer quoted "the European Union's operation": a follow-up pointing at it
    # is still asked of the country whose statement that was.
    for (country, code), year, (first, _) in itertools.product(COUNTRIES, YEARS, FIRST):
        earlier = Turn(
            first.format(C=country, Y=year),
            speakers=(country,),
            quoted=("European Union’s", "African Union", "World Food Programme"),
        )
        read = Question.read("What does that operation protect?", [earlier], COVERAGE)
        assert "European Union" in read.text
        assert [(p.kind, p.value) for p in read.scope.parts] == [("country", code), ("year", year)]
        assert not read.scope.missing
        again = Question.read(
            "And what did it say about fisheries?", [earlier, Turn(read.asked, read.text)], COVERAGE
        )
        assert [(p.kind, p.value) for p in again.scope.parts] == [("country", code), ("year", year)], (
            again.text
        )


def test_a_follow_up_naming_its_own_speaker_is_not_searched_with_the_earlier_ones_names():
    for (country, _), year, (first, _) in itertools.product(COUNTRIES, YEARS, FIRST):
        other, other_code = next(c for c in COUNTRIES if c[0] != country)
        for follow in (
            f"And {other} - what did it say on climate that year?",
            f"And what did {other} say about climate the same year?",
        ):
            read = _read(follow, country, year, first)
            assert country not in read.text, (follow, read.text)
            assert f"{year} statement" in read.text, read.text  # "that year": the earlier turn's
            assert [(p.kind, p.value) for p in read.scope.parts] == [("country", other_code), ("year", year)]


def test_a_target_is_a_figure():
    for (country, _), year in itertools.product(COUNTRIES, YEARS):
        for question in (
            f"What emissions target did {country} mention in {year}?",
            f"What targets did {country} set for renewable energy in {year}?",
        ):
            assert asks_of(question).kind == "figure", question


MORE_WORDS = [
    "anything more on that?",
    "Any more?",
    "anything further?",
    "What more did it say?",
    "And anything more?",
]


def test_asking_for_more_in_other_words_is_what_else():
    for (country, _), year, (first, _), follow in itertools.product(COUNTRIES, YEARS, FIRST, MORE_WORDS):
        read = _read(follow, country, year, first)
        assert read.follow == "more", (follow, read.follow, read.text)


def test_another_year_or_country_after_a_turn_that_carried_them_in_brackets():
    for (country, code), year, (first, _) in itertools.product(COUNTRIES, YEARS, FIRST):
        # The turn before named its speaker and year only in its brackets.
        carried = Turn(
            "What did it say about that?",
            f"What did it say about that? ({country}, {year})",
            speakers=(country,),
        )
        later = _read_after([_turn(country, year, first), carried], "And in 2016?")
        assert [(p.kind, p.value) for p in later.scope.parts] == [("country", code), ("year", 2016)], (
            later.text
        )
        other, other_code = next(c for c in COUNTRIES if c[0] != country)
        figures = Turn(
            f"What figures did {country} give at the {year} General Assembly?", speakers=(country,)
        )
        swapped = _read_after([figures], f"And {other}?")
        who_when = [(p.kind, p.value) for p in swapped.scope.parts if p.kind in ("country", "year")]
        assert who_when == [("country", other_code), ("year", year)], swapped.text


def _read_after(turns: list[Turn], follow: str) -> Question:
    return Question.read(follow, turns, COVERAGE)
