"""The citation check measured on the labelled (sentence, cited words) pairs of
eval/gold/claims.jsonl: precision and recall of "unsupported" stay at what docs/answers.md
reports (its dev half calibrated the check; its test half was scored once)."""

from __future__ import annotations

from rag.evaluation.claims import GOLD, load_pairs, score


def test_the_pairs_are_enough_and_of_every_kind():
    pairs = load_pairs(GOLD)
    assert len(pairs) >= 200
    assert {p.kind for p in pairs} >= {
        "faithful_rewrite", "partial_but_true", "changed_number", "swapped_name", "swapped_country",
        "added_negation", "dropped_negation", "other_passage", "overstated",
    }  # fmt: skip


def test_unsupported_precision_and_recall_hold_on_each_half():
    dev, test = score(load_pairs(GOLD, "dev")), score(load_pairs(GOLD, "test"))
    assert dev["precision"] >= 0.95 and dev["recall"] >= 0.92, (dev["precision"], dev["recall"])
    assert test["precision"] >= 0.87 and test["recall"] >= 0.9, (test["precision"], test["recall"])
