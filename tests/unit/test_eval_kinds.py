"""Scores per kind of question, and refusals checked against what the index holds: worked
out by hand on small fixed inputs."""

from __future__ import annotations

import pytest

from rag.evaluation.runner import by_kind, misstates
from rag.types import Answer, Document

ITALY = [
    Document(f"it{y}", f"ITA_{y - 1945}_{y}.txt", "x", {"country": "ITA", "year": y})
    for y in range(2015, 2025)
]
KENYA = [Document("ke", "KEN_76_2021.txt", "x", {"country": "KEN", "year": 2021})]
UNDATED = [Document("it", "italy.txt", "x", {"country": "ITA"})]  # a statement with no year


def _refusal(text: str, countries=(), years=()) -> Answer:
    return Answer("q", text, True, scope={"countries": list(countries), "years": list(years)})


def test_scores_per_kind_are_counted_by_hand():
    rows = [
        # not_named: two unanswerable, one refused (right), one answered (wrong): 0.5
        {
            "kind": "not_named",
            "answerable": False,
            "refused": True,
            "refusal_accuracy": 1.0,
            "key_facts": 1.0,
        },
        {
            "kind": "not_named",
            "answerable": False,
            "refused": False,
            "refusal_accuracy": 0.0,
            "key_facts": 0.0,
        },
        # plain: three answerable, one refused: false refusal rate 1/3; key facts (1 + 0.5 + 0) / 3
        {"kind": "plain", "answerable": True, "refused": False, "refusal_accuracy": 1.0, "key_facts": 1.0},
        {"kind": "plain", "answerable": True, "refused": False, "refusal_accuracy": 1.0, "key_facts": 0.5},
        {"kind": "plain", "answerable": True, "refused": True, "refusal_accuracy": 0.0, "key_facts": 0.0},
        {"kind": "", "answerable": True, "refused": False, "refusal_accuracy": 1.0, "key_facts": 1.0},
    ]
    rows[0]["misstates"] = True
    kinds = by_kind(rows)
    assert list(kinds) == ["not_named", "plain"]  # unnamed kinds are not a kind
    assert kinds["not_named"] == {
        "questions": 2,
        "refusal_accuracy": 0.5,
        "false_refusal_rate": None,
        "key_facts": None,
        "misstated_refusals": 1,
    }
    assert kinds["plain"]["false_refusal_rate"] == pytest.approx(1 / 3)
    assert kinds["plain"]["key_facts"] == pytest.approx(0.5)


ITALY_HELD = {"name": "Italy", "code": "ITA", "held": True}


@pytest.mark.parametrize(
    "answer, wrong",
    [
        # "No statement by Italy from 2013": true, Italy spoke 2015-2024 only.
        (
            _refusal(
                "No statement by Italy from 2013 is in the index.",
                [ITALY_HELD],
                [{"value": 2013, "held": False}],
            ),
            False,
        ),
        # The same sentence about 2016, marked as not held: false, 2016 is there.
        (
            _refusal(
                "No statement from 2016 is in the index.", [ITALY_HELD], [{"value": 2016, "held": False}]
            ),
            True,
        ),
        # Italy and 2021 each held, the pair claimed missing: false (ITA 2021 is held).
        (
            _refusal(
                "No statement by Italy from 2021 is in the index.",
                [ITALY_HELD],
                [{"value": 2021, "held": True}],
            ),
            True,
        ),
        # Kenya and 2016 each held, never together: true.
        (
            _refusal(
                "No statement by Kenya from 2016 is in the index.",
                [{"name": "Kenya", "code": "KEN", "held": True}],
                [{"value": 2016, "held": True}],
            ),
            False,
        ),
        # A country claimed missing that is there: false.
        (
            _refusal(
                "No statement by Kenya is in the index.", [{"name": "Kenya", "code": "KEN", "held": False}]
            ),
            True,
        ),
        # A range: "since 2023" held by Italy.
        (
            _refusal(
                "No statement by Italy since 2023 is in the index.",
                [ITALY_HELD],
                [{"value": [2023, 9999], "held": True}],
            ),
            True,
        ),
        # The exact sentence, and one that lists the wrong years.
        (
            _refusal(
                "The index holds Italy's statements from 2015–2024, none from 2013.",
                [ITALY_HELD],
                [{"value": 2013, "held": False}],
            ),
            False,
        ),
        (
            _refusal(
                "The index holds Italy's statements from 2022, 2023 and 2024, none from 2013.",
                [ITALY_HELD],
                [{"value": 2013, "held": True}],
            ),
            True,
        ),
        # Italy 2021 at the Security Council: none (its statements are the General Debate's).
        (
            Answer(
                "q",
                "No statement in the index matches all the question names (Security Council, Italy, 2021).",
                True,
                scope={
                    "countries": [ITALY_HELD],
                    "years": [{"value": 2021, "held": True}],
                    "venues": [{"value": "security council", "held": True}],
                },
            ),
            False,
        ),
        # Not a claim about the index: never a misstatement.
        (
            _refusal(
                "The statements do not address this question.", [ITALY_HELD], [{"value": 2021, "held": True}]
            ),
            False,
        ),
    ],
)
def test_a_refusal_misstates_the_index_only_when_the_documents_hold_what_it_denies(answer, wrong):
    assert misstates(answer, ITALY + KENYA + UNDATED) is wrong
