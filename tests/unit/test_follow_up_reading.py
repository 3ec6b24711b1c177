"""Follow-ups read once, into the ``Question`` every later step takes: a year counted from
the earlier turn's ("the following year"), "what else" with new words of its own, a turn to
another subject, and the earlier speaker carried where a follow-up names none. Generated
over countries of the table, years and phrasings; invented questions."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from rag.question import Question
from rag.question.followup import Turn
from rag.question.scope import Coverage

COUNTRIES = [
    ("Norway", "NOR"),
    ("Kenya", "KEN"),
    ("the Philippines", "PHL"),
    ("Chile", "CHL"),
    ("Viet Nam", "VNM"),
]
YEARS = [1985, 2012, 2019]
COVERAGE = Coverage(
    countries={code: set(range(1980, 2025)) for _, code in COUNTRIES},
    years=set(range(1980, 2025)),
)
FIRST = [
    "What did {C} say about ocean plastics in {Y}?",
    "In its {Y} speech, how did {C} describe the debt crisis?",
    "What was {C}'s position on nuclear disarmament in {Y}?",
]
# (follow-up, how many years on from the earlier turn's)
RELATIVE = [
    ("And what did it propose the following year?", 1),
    ("What did it say about this the next year?", 1),
    ("And a year later?", 1),
    ("What did they say on it two years later?", 2),
    ("And the year before?", -1),
    ("What had it said the previous year?", -1),
    ("And three years earlier?", -3),
]
MORE = [
    ("What else did it say about fisheries?", "fisheries"),
    ("What else did they say that reform should create conditions for?", "conditions"),
    ("And what else did the delegation say about migrant workers?", "migrant"),
    ("Anything else about youth unemployment?", "unemployment"),
]
SHIFT = [
    "On a different subject: what did {C2} say about whaling?",
    "Separately, did {C2} ever mention whaling?",
    "Changing the subject, how did {C2} describe whaling?",
    "On another topic: what was {C2}'s view of whaling?",
]


def _turn(country: str, year: int, template: str) -> Turn:
    return Turn(template.format(C=country, Y=year), speakers=(country.removeprefix("the "),))


def _scope(question: Question) -> tuple[list[str], list[object]]:
    parts = question.scope.parts
    return [p.value for p in parts if p.kind == "country"], [p.value for p in parts if p.kind == "year"]


def _cases(follow_ups, *more):
    return list(itertools.product(COUNTRIES, YEARS, FIRST, follow_ups, *more))


@pytest.mark.parametrize("group", ["relative", "more", "shift"])
def test_the_generated_follow_ups_are_many(group):
    sizes = {"relative": _cases(RELATIVE), "more": _cases(MORE), "shift": _cases(SHIFT)}
    assert len(sizes[group]) >= 150


def test_a_year_counted_from_the_earlier_turn_is_that_year_with_the_same_speaker():
    wrong = []
    for (country, code), year, first, (follow, shift) in _cases(RELATIVE):
        read = Question.read(follow, [_turn(country, year, first)], COVERAGE)
        if _scope(read) != ([code], [year + shift]) or read.scope.missing:
            wrong.append(
                f"{first.format(C=country, Y=year)!r} + {follow!r}: {_scope(read)} {read.scope.missing}"
            )
    assert not wrong, f"{len(wrong)} misread, e.g.:\n" + "\n".join(wrong[:10])


def test_what_else_with_words_of_its_own_asks_about_them_of_the_same_speaker():
    wrong = []
    for (country, code), year, first, (follow, topic) in _cases(MORE):
        read = Question.read(follow, [_turn(country, year, first)], COVERAGE)
        ok = topic in read.text and _scope(read) == ([code], [year]) and read.follow == "more"
        if not ok:
            wrong.append(f"{follow!r} after {country} {year}: {read.text!r} {_scope(read)} {read.follow}")
    assert not wrong, f"{len(wrong)} misread, e.g.:\n" + "\n".join(wrong[:10])


def test_a_turn_to_another_subject_keeps_nothing_of_the_earlier_topic_or_speaker():
    wrong = []
    for (country, code), year, first, template in _cases(SHIFT):
        other, other_code = next(c for c in COUNTRIES if c[1] != code)
        read = Question.read(template.format(C2=other), [_turn(country, year, first)], COVERAGE)
        earlier_words = {"plastics", "debt", "nuclear", country.split()[-1]}
        if _scope(read) != ([other_code], []) or any(w in read.text for w in earlier_words):
            wrong.append(f"{template.format(C2=other)!r} after {country}: {read.text!r} {_scope(read)}")
    assert not wrong, f"{len(wrong)} misread, e.g.:\n" + "\n".join(wrong[:10])


def test_a_bare_what_else_asks_the_earlier_question_again_without_what_was_quoted():
    earlier = Turn(
        "What did Kenya say about debt in 2019?", cited=(("KEN_74_2019", 10, 90),), speakers=("Kenya",)
    )
    read = Question.read("What else?", [earlier], COVERAGE)
    assert read.text == earlier.question and read.cited == earlier.cited
    assert _scope(read) == (["KEN"], [2019])


def test_a_follow_up_pointing_back_keeps_the_speaker_whose_words_the_answer_quoted():
    # The earlier question names no speaker its words make sure of; its answer quoted Chile.
    earlier = Turn("Who talked about lithium in 2019?", speakers=("Chile",))
    read = Question.read("What did it say about prices?", [earlier], COVERAGE)
    assert _scope(read)[0] == ["CHL"]


def test_the_reading_is_frozen():
    read = Question.read("What did Kenya say about debt in 2019?", (), COVERAGE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        read.text = "something else"  # type: ignore[misc]
    assert read.asks.focus and read.asks.kind == ""
    assert Question.read("How much did Kenya pledge in 2019?", (), COVERAGE).asks.kind == "figure"


MORE_RELATIVE = [("And two years on?", 2), ("How far had the talks got by the following year?", 1)]
OPENINGS = [
    "And {C2} - what did it say on climate that year?",
    "And {C2}: how did it describe climate finance?",
    "{C2}, what did it propose on climate?",
]


def test_more_ways_of_counting_years_from_the_earlier_turn():
    for (country, code), year, first, (follow, shift) in _cases(MORE_RELATIVE):
        read = Question.read(follow, [_turn(country, year, first)], COVERAGE)
        assert _scope(read) == ([code], [year + shift]), (follow, country, year, _scope(read))


def test_a_country_opening_a_follow_up_is_the_new_speaker_with_the_earlier_year():
    wrong = []
    for (country, code), year, first, template in _cases(OPENINGS):
        other, other_code = next(c for c in COUNTRIES if c[1] != code)
        read = Question.read(template.format(C2=other), [_turn(country, year, first)], COVERAGE)
        if _scope(read) != ([other_code], [year]):
            wrong.append(f"{template.format(C2=other)!r} after {country} {year}: {_scope(read)}")
    assert not wrong, f"{len(wrong)} misread, e.g.:\n" + "\n".join(wrong[:10])


def test_words_that_only_ask_are_never_what_the_answer_must_mention():
    for question in (
        "And a year later, what numbers did he give?",
        "How far had those talks got?",
        "How did things go?",
    ):
        assert not {"give", "got", "far", "thing", "go"} & set(Question.of(question).asks.focus), question


def test_a_follow_up_pointing_at_something_the_answer_named_is_searched_with_that_name():
    from rag.question.followup import with_speakers
    from rag.types import Document

    text = "Sweden led the European Union's Operation Atalanta off the coast of Somalia this year."
    doc = Document("swe", "SWE_65_2010.txt", text, {"country": "SWE", "year": 2010})
    earlier = with_speakers(
        Turn("What did Sweden say about piracy in 2010?", cited=(("swe", 0, len(text)),)), {"swe": doc}.get
    )
    read = Question.read("What does that operation protect?", [earlier], COVERAGE)
    assert "Operation Atalanta" in read.text and "Sweden" in read.text
    # A follow-up that points at nothing the answer named does not carry those names.
    plain = Question.read("What did it say about fisheries?", [earlier], COVERAGE)
    assert "Atalanta" not in plain.text


def test_a_follow_up_carries_the_names_it_points_at_and_each_name_once():
    # "those two guarantor governments" points at "the Governments of Norway and Cuba", not
    # at every name the answer quoted ("Oslo", "October"): those only blur the search.
    from rag.question.followup import with_speakers
    from rag.types import Document

    text = (
        "The talks will begin in Oslo in October and continue in Havana, thanks to the Governments "
        "of Norway and Cuba, which will serve as guarantors."
    )
    doc = Document("col", "COL_67_2012.txt", text, {"country": "COL", "year": 2012})
    earlier = with_speakers(
        Turn("Where did Colombia say its peace talks would be held in 2012?", cited=(("col", 0, len(text)),)),
        {"col": doc}.get,
    )
    read = Question.read(
        "Besides those two guarantor governments, who else backed the talks?", [earlier], COVERAGE
    )
    assert "Governments of Norway" in read.text and "Oslo" not in read.text and "October" not in read.text
    # Pointing at a kind the names do not say ("that city"): every name the answer quoted.
    city = Question.read("Why were the talks held in that city?", [earlier], COVERAGE)
    assert "Oslo" in city.text and "Havana" in city.text
    # Each name once: not "King" and "Abdullah" again after "King Abdullah".
    king = Question.read(
        "and a year later what numbers did he give?",
        [Turn("How many refugees had Jordan taken in according to King Abdullah in 2012?")],
        COVERAGE,
    )
    carried = king.text[king.text.rindex("(") + 1 : -1].split(", ")
    assert "King Abdullah" in carried and "King" not in carried and "Abdullah" not in carried, carried


PLACES = [("Palestine", "PSE"), ("Ukraine", "UKR"), ("Sudan", "SDN"), ("Haiti", "HTI")]
BARE = ["And {N}?", "What about {N}?", "And what about {N}?"]


def test_a_bare_country_after_a_question_on_a_country_is_read_both_ways():
    """ "What did China say about Palestine in 2024?" + "And Ukraine?": Ukraine speaks in
    the index, so it is read as the new speaker first; the like-for-like reading (China
    on Ukraine) is kept beside it, to answer from when the first finds nothing."""
    speakers = [*COUNTRIES, *PLACES]
    coverage = Coverage(
        countries={code: set(range(1980, 2025)) for _, code in speakers}, years=set(range(1980, 2025))
    )
    for (speaker, _), (topic, _), (new, _), template, year in itertools.product(
        COUNTRIES, PLACES, PLACES, BARE, YEARS
    ):
        if topic == new:
            continue
        first = f"What did {speaker} say about {topic} in {year}?"
        read = Question.read(template.format(N=new), [Turn(first)], coverage)
        assert read.text == f"What did {new} say about {topic} in {year}?", read.text
        assert read.alternative is not None, template
        assert read.alternative.text == f"What did {speaker} say about {new} in {year}?"
        assert read.alternative.understood == read.alternative.text
        assert read.alternative.before is not None and read.alternative.follow == "instead"


def test_a_bare_country_after_a_question_on_a_subject_is_only_the_new_speaker():
    for (speaker, _), (new, _), template in itertools.product(COUNTRIES, COUNTRIES, BARE):
        if speaker == new:
            continue
        read = Question.read(
            template.format(N=new), [Turn(f"What did {speaker} say about ocean plastics?")], COVERAGE
        )
        assert read.text == f"What did {new} say about ocean plastics?" and read.alternative is None
