"""A country that is only the subject of the question's verb ("What role did Poland give
…", "How did Mexico and Chile each describe …") is searched as the likely speaker but never
refused for; a name of several words must stand together in the statements asked about; a
country is mentioned under any of its names.
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


def test_a_name_of_several_words_must_stand_together_in_the_statements_asked_about():
    asks = asks_of("What role did Poland give the EU's Eastern Partnership in its 2014 speech?")
    apart = (
        "Our partnership with Ukraine matters to the EU. Poland remembers the long years of "
        "dictatorship, censorship and economic hardship that ended in 1989. Eastern Europe is free."
    )
    whole = "Poland supports the Eastern Partnership of the EU."
    reordered = "Poland supports the partnership of the EU with its eastern neighbours."
    idf = lambda term: 1.0  # noqa: E731
    assert "Eastern Partnership" in not_answered(asks, [apart], [apart], idf, Scoped([apart]))
    assert not_answered(asks, [whole], [whole], idf, Scoped([whole])) == ""
    assert not_answered(asks, [reordered], [reordered], idf, Scoped([reordered])) == ""
    # A country's name is not such a name: it is read as who spoke or what is spoken of.
    assert asks_of("What did Brazil say about South Sudan in 2014?").phrases == ()


def test_a_country_is_mentioned_under_any_of_its_names_or_demonyms():
    """Every demonym in the table, asked of a statement that names the country instead, and
    the other way round: never "The statements found do not mention …"."""
    from rag.countries import DEMONYMS, country_name

    idf = lambda term: 5.0  # noqa: E731
    wrong = []
    for demonym, code in sorted(DEMONYMS.items()):
        name = country_name(code)
        cases = [
            (
                f"What did Brazil say in 2014 about {demonym.title()} refugees?",
                f"Brazil welcomes refugees from {name}.",
            ),
            (
                f"What did Brazil say in 2014 about refugees from {name}?",
                f"Brazil welcomes {demonym.title()} refugees.",
            ),
        ]
        for question, statement in cases:
            why = not_answered(asks_of(question), [statement], [statement], idf, Scoped([statement]))
            if why:
                wrong.append(f"{question!r} / {statement!r}: {why}")
    assert not wrong, f"{len(wrong)} wrong, e.g.:\n" + "\n".join(wrong[:10])
