"""Each part of a question searched and answered within its own scope: one part per
speaker of a comparison, in the order asked; a part naming its own year searched in that
year. Generated over countries of the table; invented statements."""

from __future__ import annotations

import itertools

from rag.answering import ExtractiveGenerator
from rag.question import Question
from rag.question.scope import Coverage
from rag.types import Chunk, Document, Passage

PAIRS = [
    ("Norway", "NOR"),
    ("Kenya", "KEN"),
    ("Chile", "CHL"),
    ("Viet Nam", "VNM"),
    ("Poland", "POL"),
    ("Peru", "PER"),
]
COVERAGE = Coverage(countries={c: {2010, 2013, 2014} for _, c in PAIRS}, years={2010, 2013, 2014})
COMPARISONS = [
    "How did {A} and {B} each describe whaling in 2014?",
    "Compare what {A} and {B} said about whaling in 2014.",
    "Did {A} and {B} both mention whaling in 2014?",
    "How did {A}, {B} and {C} each describe whaling in 2014?",
    # Whatever the verb: each side is by its speaker ("refer to" makes no one a speaker).
    "How did {A} and {B} each refer to whaling in their 2014 speeches?",
    "How did {A} and {B} differ in 2014 on whaling?",
    "Did {A} and {B} contrast on whaling in 2014?",
    # The countries compared are the object of "compare": still the speakers.
    "Compare {A} and {B} on whaling in 2014.",
    "Compare how {A} and {B} talked about whaling in 2014.",
    "Contrast {A}, {B} and {C} on whaling in their 2014 speeches.",
    "compare the {A} and {B} positions on whaling in 2014",
]


def test_a_comparison_has_one_part_per_speaker_in_the_order_asked():
    wrong = []
    for (a, ac), (b, bc), (c, cc) in itertools.permutations(PAIRS, 3):
        for template in COMPARISONS:
            read = Question.read(template.format(A=a, B=b, C=c), (), COVERAGE)
            expected = [(a, ac), (b, bc)] + ([(c, cc)] if "{C}" in template else [])
            got = [
                (p.name, [x.value for x in p.scope.parts if x.kind == "country"] if p.scope else None)
                for p in read.parts
            ]
            if got != [(name, [code]) for name, code in expected]:
                wrong.append(f"{template.format(A=a, B=b, C=c)!r}: {got}")
    assert not wrong, f"{len(wrong)} misread, e.g.:\n" + "\n".join(wrong[:10])


def test_a_part_naming_its_own_year_is_searched_in_that_year():
    for name, code in PAIRS:
        read = Question.read(
            f"What did {name} say about piracy in 2013, and what had it said in 2010?", (), COVERAGE
        )
        scopes = [sorted((x.kind, x.value) for x in p.scope.parts) if p.scope else None for p in read.parts]
        assert scopes == [[("country", code), ("year", 2013)], [("country", code), ("year", 2010)]], scopes


def _doc(doc_id: str, code: str, text: str) -> Document:
    return Document(
        doc_id, f"{code}_69_2014.txt", text, {"title": "Statement", "country": code, "year": 2014}
    )


def test_a_comparison_is_answered_side_by_side_and_names_the_silent_side(embedder):
    docs = [
        _doc(
            "k", "KEN", "Kenya is concerned about debt. Kenya calls for a moratorium on commercial whaling.\n"
        ),
        _doc(
            "n",
            "NOR",
            "Norway supports sustainable whaling under strict quotas. Norway funds ocean research.\n",
        ),
        _doc("c", "CHL", "Chile welcomes the new climate agreement and will cut its emissions.\n"),
    ]
    passages = [
        Passage(i + 1, Chunk(f"{d.doc_id}:0", d.doc_id, 0, len(d.text), d.text), d, 0.03, 0.6)
        for i, d in enumerate(docs)
    ]
    read = Question.read("How did Norway, Kenya and Chile each describe whaling in 2014?", (), COVERAGE)
    answer = ExtractiveGenerator(embedder, min_relevance=0.5).generate(read, passages)
    assert answer.text.index("Norway supports sustainable whaling") < answer.text.index(
        "moratorium on commercial whaling"
    )
    assert answer.unaddressed == ("Chile",)


def test_a_year_said_after_a_comma_is_no_topic_of_its_own():
    templates = [
        "And what had {A} said on piracy, back in {Y}?",
        "What did {A} say about whaling, again in {Y}?",
        "What did {A} say about debt relief, way back in {Y}?",
        "What had {A} said on fisheries, earlier in {Y}?",
    ]
    for (name, code), year, template in itertools.product(PAIRS, (2010, 2013, 2014), templates):
        read = Question.read(template.format(A=name, Y=year), (), COVERAGE)
        assert len(read.parts) <= 1, (template, [p.name for p in read.parts])
        assert [(p.kind, p.value) for p in read.scope.parts] == [("country", code), ("year", year)]


# A part that only changes the year asks the part before it again, of that year.
ELLIPSES = [
    ("How many refugees did {A} say it was hosting in {Y1}, and how many in {Y2}?", "refugees"),
    (
        "How much aid had {A} given according to its {Y1} statement, and how much according to its {Y2} one?",
        "aid",
    ),
    ("What growth rate did {A} report in {Y1}, and what in {Y2}?", "growth rate"),
    (
        "How many peacekeepers had {A} lost, according to its {Y1} speech, and how many in {Y2}?",
        "peacekeepers",
    ),
]


def test_a_part_that_only_changes_the_year_is_the_part_before_asked_of_that_year():
    wrong = []
    for (a, code), (y1, y2), (template, topic) in itertools.product(
        PAIRS, [(2010, 2013), (2014, 2010), (2013, 2014)], ELLIPSES
    ):
        question = template.format(A=a, Y1=y1, Y2=y2)
        read = Question.read(question, (), COVERAGE)
        last = read.parts[-1] if len(read.parts) == 2 else None
        scope = [(x.kind, x.value) for x in last.scope.parts] if last and last.scope else []
        if not last or topic not in last.query or sorted(scope) != [("country", code), ("year", y2)]:
            wrong.append((question, last))
    assert not wrong, wrong[:3]
    # A part with words of its own keeps them: it is no ellipsis.
    read = Question.read(
        "What did Kenya say about drought in 2010, and what about floods in 2013?", (), COVERAGE
    )
    assert [p.query for p in read.parts][-1] == "what about floods in 2013?"


def test_a_side_of_a_comparison_is_still_a_question_when_the_verb_was_the_comparing_word():
    read = Question.read("How did Kenya and Peru differ in 2014 on whaling?", (), COVERAGE)
    assert [p.query for p in read.parts] == [
        "How did Kenya speak in 2014 on whaling?",
        "How did Peru speak in 2014 on whaling?",
    ]
    # "differ from" names whom one differs from: no comparison word is taken out of it.
    read = Question.read(
        "How did Kenya and Peru each say their view differed from Chile's in 2014?", (), COVERAGE
    )
    assert [p.name for p in read.parts] == ["Kenya", "Peru"]  # Chile is no side: it is spoken of
    assert all("differed from Chile's" in p.query for p in read.parts)
