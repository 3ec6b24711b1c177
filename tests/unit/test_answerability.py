"""Answerability inside the question's scope: a named thing the statements asked about
never use is not answered by words only other statements use; a country is named by its
demonym too; a figure must be about what was asked. Invented statements and questions."""

from __future__ import annotations

import itertools

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


def test_a_refusal_names_only_the_words_the_scoped_statement_never_uses():
    """The passages found may miss what the statement says elsewhere: "do not mention"
    then names only what the whole statement never says, never its "Security Council"."""
    statement = (
        "Peru welcomes the new development cycle and the rise in productivity. "
        "The Security Council must be expanded in both categories of members. "
        "We will also invest in low-carbon agriculture."
    )
    found = ["Peru welcomes the new development cycle and the rise in productivity."]
    idf = rarity("peru welcomes the new development cycle")
    for question in (
        "What did Peru say in 2015 about enlarging the Security Council?",
        "How did Peru describe enlarging the Security Council in its 2015 statement?",
        "In 2015, what was Peru's view on enlarging the Security Council?",
    ):
        absent = unmentioned(asks_of(question), found, idf, scope=[statement])
        assert absent == ["enlarging"], (question, absent)


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


# A premise presumed plainly ("that it had ratified P", "why did X praise P"): the statements
# that speak of P must not all deny it. Generated over countries, deeds, question forms.
DEEDS = [
    # (as done, as a question's verb, the thing)
    ("ratified", "ratify", "the Paris Agreement"),
    ("signed", "sign", "the Arms Trade Treaty"),
    ("joined", "join", "the Human Rights Council"),
    ("recognised", "recognise", "the State of Palestine"),
    ("endorsed", "endorse", "the Safe Schools Declaration"),
]
ASKED = [
    "Why did {c} say in {y} that it had {done} {thing}?",
    "Why did {c} {verb} {thing} in {y}?",
    "How come {c} {done} {thing}, according to its {y} speech?",
]
COUNTRIES = ["Uruguay", "Nepal", "the United Republic of Tanzania", "Finland", "Morocco", "Bangladesh"]


def _cases():
    for done, verb, thing in DEEDS:
        for country in COUNTRIES:
            for form in ASKED:
                yield form.format(c=country, y=2018, done=done, verb=verb, thing=thing), done, thing


def test_a_plain_premise_every_statement_found_denies_is_denied_and_one_stated_is_not():
    from rag.answering.answerability import premise_denied

    wrong = []
    for question, done, thing in _cases():
        asks = asks_of(question)
        stated = [f"We have {done} {thing} and call on others to do the same."]
        denied = [
            f"We have not yet {done} {thing}, as our parliament is still debating it.",
            "We note that it has been discussed at length.",  # names none of it: neither meets nor denies
        ]
        opposed = [f"Our Government rejects {thing} in its present form, and we will say why."]
        if (
            premise_denied(asks, stated)
            or not premise_denied(asks, denied)
            or not premise_denied(asks, opposed)
        ):
            wrong.append(question)
        # A negation about something else, or a negated turn ("will not abandon"), denies nothing.
        if premise_denied(
            asks, [f"We have {done} {thing}; we will not abandon it, and no one can doubt that."]
        ):
            wrong.append("abandon: " + question)
    assert len(list(_cases())) == 90 and not wrong, wrong[:5]


def test_a_premise_that_opposes_is_met_by_an_opposition_and_one_called_off_is_denied():
    from rag.answering.answerability import premise_denied

    condemn = asks_of("Why did Finland condemn the annexation of Crimea in 2016?")
    assert not premise_denied(condemn, ["Finland condemns the illegal annexation of Crimea."])
    praise = asks_of("Why did Nepal praise the family reunions held that week in its 2018 speech?")
    assert premise_denied(
        praise, ["The family reunions planned for this week were cancelled at the last minute."]
    )
    assert not premise_denied(praise, ["We praise the family reunions held this week at the border."])


def test_the_numbers_of_a_document_symbol_or_a_span_of_years_are_no_figure():
    from rag.answering.answerability import has_figure

    for text in (
        "As I said in my first address (see A/65/PV.15), we sought a seat for the period 2011-2012.",
        "The Council adopted resolution S/RES/2334 in 2016.",
        "The General Assembly, in resolution 68/262, took the side of the weaker party.",
        "Document A/79/PV.4 records the debate of 2024.",
    ):
        assert not has_figure(text), text
    for text in (
        "The conflict has left 220,000 dead.",
        "Overall, the 51 priority projects will cost $68 billion between 2012 and 2020.",
        "Growth reached 14.4 per cent in 2011.",
        "We have pulled 51 people alive from the rubble.",
        "Some three million people were displaced.",
    ):
        assert has_figure(text), text


SPELLED = [
    ("IGN", "the Intergovernmental Negotiations on Security Council reform"),
    ("ICJ", "the International Court of Justice"),
    ("ICSID", "the International Centre for Settlement of Investment Disputes"),
    ("GNI", "its gross national income"),
    ("IAEA", "the International Atomic Energy Agency"),
    ("ATT", "the Arms Trade Treaty"),
    ("DDR", "disarmament, demobilization and reintegration"),
    ("SIDS", "small island developing States"),
    ("UNHCR", "the United Nations High Commissioner for Refugees"),
]
QUESTIONS = [
    "What did Peru say in 2019 about the {A}?",
    "How did Peru describe the work of the {A} in its 2019 statement?",
    "In 2019, what did Peru say the {A} should do?",
]


def test_an_acronym_the_statement_writes_out_is_mentioned_and_one_it_never_spells_is_not():
    # "The statements found do not mention IGN" would be false where the statement says
    # "Intergovernmental Negotiations": a refusal is a claim about the library.
    for (acronym, words), template in itertools.product(SPELLED, QUESTIONS):
        statement = f"Peru has long supported {words} and will keep working with all partners on it."
        asks = asks_of(template.format(A=acronym))
        idf = rarity(statement)
        assert unmentioned(asks, [statement], idf, scope=[statement]) == [], (acronym, template)
        other = SPELLED[(SPELLED.index((acronym, words)) + 1) % len(SPELLED)][0]
        assert unmentioned(asks_of(template.format(A=other)), [statement], idf, scope=[statement]) == [other]


def test_a_premise_of_a_cut_is_denied_by_a_statement_that_keeps_it_and_met_by_one_that_cuts():
    from rag.answering.answerability import premise_denied

    for verb, kept, cut in [
        ("was cutting its aid below", "continues to contribute", "will reduce its aid to"),
        ("would reduce its troops to", "will maintain its troops at", "is cutting its troops to"),
        ("had lowered its pledge to", "confirms its pledge of", "has lowered its pledge to"),
        (
            "would scale back its contribution to",
            "will keep its contribution at",
            "will scale back its contribution to",
        ),
    ]:
        asks = asks_of(f"Why did Peru say in 2013 that it {verb} 1 per cent of GNI?")
        assert premise_denied(asks, [f"Peru {kept} 1 per cent of its gross national income."]), verb
        assert not premise_denied(asks, [f"Peru {cut} 1 per cent of its gross national income."]), verb


PRESUMED_DONE = [  # (presumed done, not done yet, still to come, done)
    ("had ratified the fish treaty", "had not yet ratified it", "We plan to ratify the treaty", "ratified"),
    ("had signed the fisheries treaty", "has never signed it", "We will sign the treaty next year", "signed"),
    ("has joined the fisheries treaty", "had not joined it", "We intend to join the treaty", "joined"),
    ("had approved the fish treaty", "has not approved it", "We expect to approve the treaty", "approved"),
]


def test_a_deed_presumed_done_is_denied_where_every_sentence_using_it_says_not_yet():
    # "Why did Peru say it had ratified P?" where Peru says it had not yet, or will: the
    # question rests on something the statement denies. Where it says it did: answered.
    from rag.answering.answerability import premise_denied

    for deed, not_yet, to_come, did in PRESUMED_DONE:
        asks = asks_of(f"Why did Peru say in 2021 that it {deed}?")
        unrelated = "Peru is among the first countries to have supported the fisheries treaty."
        assert premise_denied(asks, [f"However, we {not_yet} because of its burdens.", unrelated]), deed
        assert premise_denied(asks, [f"{to_come} before the conference.", unrelated]), deed
        assert not premise_denied(asks, [f"Peru {did} the fisheries treaty in 2016.", unrelated]), deed
        assert not premise_denied(asks, [f"However, we {not_yet}.", f"Peru {did} the treaty in 2016."]), deed
