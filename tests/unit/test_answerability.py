"""Answerability inside the question's scope: a named thing the statements asked about
never use is not answered by words only other statements use; a country is named by its
demonym too; a figure must be about what was asked. Invented statements and questions."""

from __future__ import annotations

from rag.answering.answerability import unmentioned
from rag.question.asks import asks_of

RURITANIA_2019 = (
    "Peru has long supported regional cooperation on water. We continue to invest in "
    "irrigation and in the sharing of river data with our neighbours."
)
OTHERS = "Freedonia welcomed the Zambezi dam agreement and the Mattei Plan."


def rarity(known: str):
    """An index's word rarity: words of ``known`` are common (1.0), every other word rare."""
    from rag.terms import tokenize

    common = set(tokenize(known))
    return lambda term: 1.0 if term in common else 5.0


def test_a_named_thing_the_scoped_statement_never_uses_is_unmentioned_though_others_use_it():
    idf = rarity(RURITANIA_2019 + " " + OTHERS)  # the index knows "Zambezi": others said it
    question = "What did Peru say in 2019 about the Zambezi dam and river data?"
    passages = [RURITANIA_2019]
    assert unmentioned(asks_of(question), passages, idf) == []  # index-wide: the word exists somewhere
    assert unmentioned(asks_of(question), passages, idf, scope=[RURITANIA_2019]) == ["Zambezi"]


def test_words_the_scoped_statement_does_use_are_answered_from_it():
    idf = rarity(RURITANIA_2019)
    question = "What did Peru say in 2019 about sharing river data?"
    assert unmentioned(asks_of(question), [RURITANIA_2019], idf, scope=[RURITANIA_2019]) == []


def test_a_country_is_named_by_its_demonym():
    statement = "We will not waver in our support of the Chilean presidency of the conference."
    idf = rarity(statement)
    question = "What did Peru say about Chile in its 2019 statement?"
    assert unmentioned(asks_of(question), [statement], idf, scope=[statement]) == []


def test_a_premise_turned_one_way_must_be_met_by_a_statement_turned_that_way():
    from rag.answering.answerability import premise_denied

    question = asks_of("Why did Peru announce in 2018 that it would withdraw from the fisheries accord?")
    assert question.premise == "it would withdraw from the fisheries accord"
    # The statement says the opposite: the premise is false, the question is not answered.
    assert premise_denied(question, ["Peru will remain a committed party to the fisheries accord."])
    # It says so: answered.
    assert not premise_denied(question, ["Peru has decided to withdraw from the fisheries accord."])
    # A premise that is not turned either way is left to the other checks.
    assert not premise_denied(asks_of("Why did Peru say in 2018 that fisheries were at risk?"), ["Nothing."])
    assert asks_of("What did Peru say about fisheries?").premise == ""


def test_a_negation_elsewhere_in_the_statement_does_not_meet_the_premise():
    from rag.answering.answerability import premise_denied

    question = asks_of("Why did Peru say in 2018 that it would not ratify the ocean treaty?")
    assert premise_denied(
        question, ["Peru is committed to ratifying the ocean treaty, and we are not complacent about fish."]
    )
    assert not premise_denied(question, ["Peru will not ratify the ocean treaty in its present form."])
