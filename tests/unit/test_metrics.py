"""Evaluation metrics on small fixed inputs, each expected value worked out by hand."""

from __future__ import annotations

import math

import pytest

from rag.answering.support import Claim, split_claims, support
from rag.evaluation import metrics as m

# Gold evidence: two spans in document "a".
E1 = ("a", 100, 200)
E2 = ("a", 500, 600)
HIT1 = ("a", 90, 210)  # covers E1 entirely
HIT2 = ("a", 550, 900)  # shares 50 of E2's 100 characters: half of the shorter span, a hit
NEAR = ("a", 560, 900)  # shares 40 of 100: not a hit
OTHER = ("b", 100, 200)  # right offsets, wrong document


def test_overlap_needs_half_of_the_shorter_span_in_the_same_document():
    assert m.overlaps(HIT1, E1) and m.overlaps(HIT2, E2)
    assert not m.overlaps(NEAR, E2)
    assert not m.overlaps(OTHER, E1)


def test_retrieval_metrics_by_hand():
    ranked = [OTHER, HIT2, HIT1]
    # First relevant passage at rank 2: hit@1 = 0, hit@2 = 1, MRR = 1/2.
    assert m.hit_at_k(ranked, [E1, E2], 1) == 0.0
    assert m.hit_at_k(ranked, [E1, E2], 2) == 1.0
    assert m.mrr(ranked, [E1, E2]) == 0.5
    # recall@2 = 1 of 2 spans; recall@3 = 2 of 2.
    assert m.recall_at_k(ranked, [E1, E2], 2) == 0.5
    assert m.recall_at_k(ranked, [E1, E2], 3) == 1.0
    # nDCG@3: gains at ranks 2 and 3 -> 1/log2(3) + 1/log2(4); ideal 1 + 1/log2(3).
    expected = (1 / math.log2(3) + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert m.ndcg_at_k(ranked, [E1, E2], 3) == pytest.approx(expected)  # 0.8597


def test_repeated_passages_cannot_push_scores_above_one():
    ranked = [HIT1, HIT1, HIT1]
    # Only one of the two gold spans is ever found: recall 0.5; nDCG 1 / (1 + 1/log2(3)).
    assert m.recall_at_k(ranked, [E1, E2], 3) == 0.5
    assert m.ndcg_at_k(ranked, [E1, E2], 3) == pytest.approx(1 / (1 + 1 / math.log2(3)))
    assert m.ndcg_at_k(ranked, [E1], 3) == 1.0


def test_retrieval_metrics_are_undefined_without_gold_evidence():
    assert m.hit_at_k([HIT1], [], 5) is None
    assert m.recall_at_k([HIT1], [], 5) is None
    assert m.mrr([HIT1], []) is None
    assert m.ndcg_at_k([HIT1], [], 5) is None
    assert m.mrr([], [E1]) == 0.0


def test_key_facts_and_token_f1_by_hand():
    answer = "The co-chairs were Al-Thani of Qatar and Hermann of Denmark. [1]"
    # Facts: "Qatar" present, "Denmark" present, "Martin Bille Hermann" missing "martin", "bill".
    assert m.key_fact_recall(answer, ["Qatar", "Denmark", "Martin Bille Hermann"], True, False) == (
        pytest.approx(2 / 3)
    )
    # Content words: answer {co, chair, al, thani, qatar, hermann, denmark} (7);
    # gold "Qatar and Denmark" -> {qatar, denmark} (2); common 2.
    # precision 2/7, recall 1, F1 = 2 * (2/7) / (2/7 + 1) = 4/9.
    assert m.token_f1(answer, "Qatar and Denmark", True, False) == pytest.approx(4 / 9)


def test_refusals_score_one_when_right_and_zero_when_wrong():
    refusal = "The statements do not address this question."
    assert m.key_fact_recall(refusal, [], answerable=False, refused=True) == 1.0
    assert m.token_f1(refusal, "", answerable=False, refused=True) == 1.0
    assert m.key_fact_recall(refusal, ["Qatar"], answerable=True, refused=True) == 0.0
    assert m.token_f1("Qatar. [1]", "", answerable=False, refused=False) == 0.0
    assert m.refusal_correct(answerable=False, refused=True) == 1.0
    assert m.refusal_correct(answerable=True, refused=True) == 0.0
    assert m.faithfulness(refusal, {}, refused=True) is None


def test_empty_answer_scores_zero_and_makes_no_claims():
    assert m.key_fact_recall("", ["Qatar"], True, False) == 0.0
    assert m.token_f1("", "Qatar", True, False) == 0.0
    assert m.faithfulness("", {}, refused=False) is None
    assert m.citation_validity([], {}) is None
    assert m.citation_precision([], [E1]) is None


def test_claims_carry_the_markers_that_follow_them():
    claims = split_claims("China supports reform. It wants consensus. [1] Qatar agreed. [2][3] Unsourced.")
    assert claims == [
        Claim("China supports reform.", (1,)),
        Claim("It wants consensus.", (1,)),
        Claim("Qatar agreed.", (2, 3)),
        Claim("Unsourced.", ()),
    ]


def test_faithfulness_by_hand():
    quotes = {1: "China has always supported reasonable reform.", 2: "The meeting was held by video."}
    answer = "China supported reform. [1] The meeting was in Geneva with ten envoys. [2] It rained. "
    # Claim 1 words {china, support, reform} all in quote 1: supported.
    # Claim 2 words {meet, geneva, ten, envoy}: only "meet" in quote 2 -> 1/4 < 0.75.
    # Claim 3 cites nothing: unsupported. Faithfulness = 1/3.
    assert support("The meeting was in Geneva with ten envoys.", [quotes[2]]) == 0.25
    assert m.faithfulness(answer, quotes, refused=False) == pytest.approx(1 / 3)
    # A marker naming no citation supports nothing.
    assert m.faithfulness("China supported reform. [9]", quotes, refused=False) == 0.0


def test_citation_metrics_by_hand():
    texts = {"a": "x" * 100 + "Reform is needed." + "y" * 900}
    good = ("a", 100, 117, "Reform is needed.")
    bad = ("a", 100, 117, "Reform is not needed.")
    assert m.citation_validity([good, bad], texts) == 0.5
    # Citations: HIT1 matches E1, OTHER matches nothing -> precision 1/2; recall: E1 yes, E2 no -> 1/2.
    assert m.citation_precision([HIT1, OTHER], [E1, E2]) == 0.5
    assert m.citation_recall([HIT1, OTHER], [E1, E2]) == 0.5
    assert m.citation_recall([HIT1], []) is None


def test_mean_skips_undefined_and_percentile_is_nearest_rank():
    assert m.mean([1.0, None, 0.0]) == 0.5
    assert m.mean([None]) is None
    assert m.percentile([10, 20, 30, 40], 50) == 20
    assert m.percentile([10, 20, 30, 40], 95) == 40


def test_dangling_openings_by_hand():
    # A quote opening with a word that points back at what the answer does not give.
    assert m.dangling_opening("It will be one of the outcomes. [1]", False) == 1.0
    assert m.dangling_opening("The veto must go. [1]\nThese resources were wasted. [2]", False) == 1.0
    assert m.dangling_opening("The veto must go. [1]\nFourth, reform is due. [2]", False) == 1.0
    # Within one quote the antecedent is there; "It is time to…" points ahead.
    assert m.dangling_opening("Funds are scarce. These gaps must close. [1]", False) == 0.0
    assert m.dangling_opening("It is time to act. [1]", False) == 0.0
    assert m.dangling_opening("The statements do not address this question.", True) is None


def test_part_coverage_by_hand():
    parts = [
        ("hunger", ["Global Alliance"], True),
        ("Gaza", ["collective punishment"], True),
        ("Mars", [], False),
    ]
    answer = "The Global Alliance Against Hunger is open to the world. [1]"
    assert m.part_coverage(answer, ["Mars"], parts, False) == pytest.approx(2 / 3)
    assert m.part_coverage(answer, [], parts, False) == pytest.approx(1 / 3)
    assert m.part_coverage("Nothing.", [], parts, True) == pytest.approx(1 / 3)  # a refusal covers only Mars
    assert m.part_coverage(answer, [], [], False) is None


def test_a_metric_where_lower_is_better_has_a_maximum(tmp_path):
    from rag.evaluation.runner import EvalResult, SystemRun, check_thresholds

    run = SystemRun("ours", aggregate={"dangling_openings": 0.05, "key_facts": 0.8})
    result = EvalResult("seeds", "index", "extractive", 5, {"ours": run}, "now")
    limits = tmp_path / "thresholds.toml"
    limits.write_text('[seeds]\n"dangling_openings" = 0.02\n"key_facts" = 0.7\n')
    assert check_thresholds(result, limits) == ["dangling_openings is 0.050, above 0.02"]
    run.aggregate["dangling_openings"] = 0.0
    assert check_thresholds(result, limits) == []


def test_a_sample_of_a_gold_set_is_spread_over_it_and_keeps_conversations_whole():
    from rag.evaluation.gold import GoldQuestion, spread

    def q(i: str) -> GoldQuestion:
        return GoldQuestion(i, "?", True, "", (), ())

    questions = [q(f"a{i}") for i in range(10)] + [q("c1.1"), q("c1.2"), q("c1.3")]
    sample = spread(questions, 4)
    assert [x.id for x in sample] == ["a0", "a2", "a5", "a8"]
    assert [x.id for x in spread(questions, 11)][-3:] == ["c1.1", "c1.2", "c1.3"]
    assert spread(questions, 50) == questions
