"""A country that is only the subject of the question's verb ("What role did Poland give
…", "How did Mexico and Chile each describe …") is searched as the likely speaker but never
refused for; and a name of several words must stand whole in the statements asked about.
Generated over every plain country name of the table; invented questions."""

from __future__ import annotations

import itertools

from rag.answering.answerability import Scoped, not_answered
from rag.countries import names
from rag.question.asks import asks_of
from rag.question.scope import Coverage, scope_of, subject_countries

SUBJECT_TEMPLATES = [
    "What role did {C} give the regional partnership in 2014?",
    "Why did {C} refuse to sign the fisheries accord?",
    "Which instruments did {C} ratify on the eve of its 2012 speech?",
]
PAIR_TEMPLATES = [
    "How did {C} and {D} each describe the euro crisis in 2012?",
    "How did {C}, {D} and Peru each engage on sexual violence in conflict?",
]
NOT_SUBJECT = [
    "What did Brazil say about {C} in 2014?",
    "Why did Brazil criticise the sanctions on {C}?",
]


def _plain_names() -> list[tuple[str, str]]:
    out = []
    for name, code in sorted(names().items()):
        if "," in name or "(" in name or code == "PER" or name.startswith("the "):
            continue
        out.append((" ".join(w[:1].upper() + w[1:] for w in name.split()), code))
    return out


NAMES = _plain_names()


def test_the_subject_of_the_verb_is_read_for_every_country_and_never_refused():
    assert len(NAMES) * len(SUBJECT_TEMPLATES) >= 500
    wrong = []
    for (written, code), template in itertools.product(NAMES, SUBJECT_TEMPLATES):
        question = template.format(C=written)
        got = [c for c, _ in subject_countries(question)]
        scope = scope_of(question, Coverage(countries={"ZZZ": {2014}}, years={2012, 2014}))
        parts = [(p.value, p.sure) for p in scope.parts if p.kind == "country"]
        if got != [code] or parts != [(code, False)] or "No statement by" in scope.missing:
            wrong.append(f"{question!r}: {got} {parts} {scope.missing!r}")
    assert not wrong, f"{len(wrong)} misread, e.g.:\n" + "\n".join(wrong[:10])


def test_countries_joined_as_one_subject_are_all_read():
    wrong = []
    pairs = list(zip(NAMES[::7], NAMES[3::7], strict=False))
    for ((c, cc), (d, dc)), template in itertools.product(pairs, PAIR_TEMPLATES):
        question = template.format(C=c, D=d)
        got = [code for code, _ in subject_countries(question)]
        expected = [cc, dc] + (["PER"] if "Peru" in template else [])
        if got != expected:
            wrong.append(f"{question!r}: {got}")
    assert not wrong, f"{len(wrong)} misread, e.g.:\n" + "\n".join(wrong[:10])


def test_a_country_spoken_about_is_not_the_subject():
    for (written, _), template in itertools.product(NAMES[::5], NOT_SUBJECT):
        question = template.format(C=written)
        assert [c for c, _ in subject_countries(question)] == ["BRA"], question


def test_a_name_of_several_words_must_stand_whole_in_the_statements_asked_about():
    asks = asks_of("What role did Poland give the EU's Eastern Partnership in its 2014 speech?")
    apart = "Poland looks east. Our partnership with Ukraine matters to the EU; Eastern Europe is free."
    whole = "Poland supports the Eastern Partnership of the EU."
    idf = lambda term: 1.0  # noqa: E731
    assert "Eastern Partnership" in not_answered(asks, [apart], [apart], idf, Scoped([apart]))
    assert not_answered(asks, [whole], [whole], idf, Scoped([whole])) == ""
    # A country's name is not such a name: it is read as who spoke or what is spoken of.
    assert asks_of("What did Brazil say about South Sudan in 2014?").phrases == ()
