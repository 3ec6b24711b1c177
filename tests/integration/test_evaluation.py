"""The evaluation suite on the real seed index: gold sets, report folder, the gate."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.cli import cli
from rag.errors import InputError
from rag.evaluation.gold import load_gold, relabel
from rag.evaluation.runner import check_thresholds, evaluate
from rag.loading import load_file
from rag.settings import PROJECT_ROOT, SEEDS_DIR
from tests.conftest import CORPUS

GOLD = PROJECT_ROOT / "eval" / "gold"


def test_seed_gold_set_is_large_and_has_unanswerable_questions():
    gold = load_gold(GOLD / "seeds.jsonl")
    assert len(gold) >= 40
    assert sum(not q.answerable for q in gold) >= 8
    assert len({q.id for q in gold}) == len(gold)
    for q in gold:
        assert q.answerable == bool(q.evidence) == bool(q.key_facts), q.id


def test_every_seed_gold_quote_occurs_verbatim_in_its_source():
    texts = {p.name: load_file(p).text for p in SEEDS_DIR.glob("*.txt")}
    for q in load_gold(GOLD / "seeds.jsonl"):
        for source, quote in q.evidence:
            assert quote in texts[source], f"{q.id}: {quote[:60]!r} is not in {source}"


def test_every_china_gold_quote_occurs_verbatim_in_its_speech(tmp_path):
    if not CORPUS.is_file():
        pytest.skip("the UN General Debate Corpus is not available")
    gold = load_gold(GOLD / "ungdc-china.jsonl")
    needed = {source for q in gold for source, _ in q.evidence}
    with tarfile.open(CORPUS) as tar:
        for member in tar.getmembers():
            if Path(member.name).name in needed:
                member.name = Path(member.name).name
                tar.extract(member, tmp_path, filter="data")
    for q in gold:
        for source, quote in q.evidence:
            assert quote in load_file(tmp_path / source).text, f"{q.id}: {quote[:60]!r}"


def test_corpus_gold_set_is_split_and_every_quote_occurs_verbatim(tmp_path):
    gold = load_gold(GOLD / "corpus.jsonl")
    assert len(gold) >= 80 and sum(not q.answerable for q in gold) >= 30
    for answerable in (True, False):
        halves = [q.split for q in gold if q.answerable is answerable]
        assert set(halves) == {"dev", "test"} and abs(halves.count("dev") - halves.count("test")) <= 1
    if not CORPUS.is_file():
        pytest.skip("the UN General Debate Corpus is not available")
    subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "scripts" / "corpus-slice"), str(tmp_path), str(CORPUS)],
        check=True,
    )
    texts = {p.name: load_file(p).text for p in [*tmp_path.glob("*.txt"), *SEEDS_DIR.glob("*.txt")]}
    for q in gold:
        assert q.answerable == bool(q.evidence), q.id
        for source, quote in q.evidence:
            assert quote in texts[source], f"{q.id}: {quote[:60]!r} is not in {source}"


def test_whole_corpus_labels_turn_slice_refusals_into_answers_with_verbatim_evidence(tmp_path):
    """``--relabel eval/gold/whole-corpus.jsonl``: the questions the whole corpus answers
    though their slice could not; each was unanswerable in its gold set, and each quote
    and key fact stands in the speech as the index loads it."""
    sets = {
        q.id: q
        for name in ("corpus", "corpus2", "corpus3", "corpus4")
        for q in load_gold(GOLD / f"{name}.jsonl")
    }
    labels = GOLD / "whole-corpus.jsonl"
    rows = [json.loads(line) for line in labels.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) >= 20 and len({r["id"] for r in rows}) == len(rows)
    assert all(r["id"] in sets and not sets[r["id"]].answerable for r in rows)
    relabelled = {q.id: q for q in relabel(list(sets.values()), labels)}
    for r in rows:
        q = relabelled[r["id"]]
        assert q.answerable and q.key_facts == tuple(r["key_facts"]) and q.evidence
    assert all(relabelled[i] == q for i, q in sets.items() if i not in {r["id"] for r in rows})
    if not CORPUS.is_file():
        pytest.skip("the UN General Debate Corpus is not available")
    wanted = {source for r in rows for source in (e["source"] for e in r["evidence"])}
    with tarfile.open(CORPUS) as tar:
        for member in tar:
            if member.isfile() and Path(member.name).name in wanted:
                member.name = Path(member.name).name
                tar.extract(member, tmp_path, filter="data")
    texts = {name: load_file(tmp_path / name).text for name in wanted}
    for r in rows:
        speech = " ".join(texts[e["source"]] for e in r["evidence"]).lower()
        for e in r["evidence"]:
            assert e["quote"] in texts[e["source"]], f"{r['id']}: {e['quote'][:60]!r}"
        assert all(fact.lower() in speech for fact in r["key_facts"]), r["id"]


@pytest.fixture(scope="module")
def seed_eval(seed_index_dir, tmp_path_factory):
    reports = tmp_path_factory.mktemp("reports")
    result = CliRunner().invoke(
        cli,
        ["eval", "--index", str(seed_index_dir), "--reports", str(reports), "--json"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), reports


def test_eval_reports_ours_beside_the_baseline(seed_eval):
    data, _ = seed_eval
    ours, base = data["systems"]["ours"]["aggregate"], data["systems"]["baseline"]["aggregate"]
    assert ours["questions"] == base["questions"] == len(load_gold(GOLD / "seeds.jsonl"))
    for name, value in ours.items():
        if name in {"hit@1", "hit@5", "mrr", "key_facts", "faithfulness", "refusal_accuracy"}:
            assert 0.0 <= value <= 1.0
    assert ours["citation_validity"] == 1.0
    # The plain recipe never refuses, so it answers every unanswerable question.
    assert base["missed_refusals"] == sum(1 for q in load_gold(GOLD / "seeds.jsonl") if not q.answerable)
    assert ours["refusal_accuracy"] > base["refusal_accuracy"]
    assert ours["key_facts"] > base["key_facts"]


def test_eval_writes_a_report_folder_with_rows_and_plots(seed_eval):
    data, reports = seed_eval
    folder = Path(data["report"])
    assert folder.parent == reports
    report = (folder / "report.md").read_text()
    assert "| metric | ours | baseline | margin |" in report and "seeds-01" in report
    rows = [json.loads(line) for line in (folder / "questions.jsonl").read_text().splitlines()]
    assert {r["system"] for r in rows} == {"ours", "baseline"}
    assert all("retrieved" in r and "missed_facts" in r for r in rows)
    for plot in ("metrics.png", "hit_at_k.png"):
        assert (folder / plot).read_bytes().startswith(b"\x89PNG")


def test_gate_passes_on_the_thresholds_and_fails_a_worse_pipeline(seed_index_dir, tmp_path):
    run = CliRunner().invoke
    ok = run(
        cli,
        ["eval", "--index", str(seed_index_dir), "--reports", str(tmp_path), "--no-baseline", "--check"],
        catch_exceptions=False,
    )
    assert ok.exit_code == 0, ok.output
    assert "All metrics meet their thresholds." in ok.stderr
    # One passage per answer is a worse pipeline: the same thresholds reject it.
    worse = run(
        cli,
        [
            "eval",
            "--index",
            str(seed_index_dir),
            "--reports",
            str(tmp_path),
            "--no-baseline",
            "--check",
            "--k",
            "1",
        ],
        catch_exceptions=False,
    )
    assert worse.exit_code == 1
    assert worse.stderr.strip().splitlines()[-1].startswith("Error: Below threshold: key_facts is")


def test_gate_reads_its_minimums_from_the_thresholds_file(pipeline, tmp_path):
    result = evaluate(pipeline, load_gold(GOLD / "seeds.jsonl")[:6], "seeds", baseline=False, progress=False)
    strict = tmp_path / "thresholds.toml"
    strict.write_text('[seeds]\n"hit@5" = 1.01\n"faithfulness" = 0.5\n')
    assert check_thresholds(result, strict) == ["hit@5 is 1.000, below 1.01"]
    strict.write_text('[seeds]\n"accuracy" = 0.5\n')
    with pytest.raises(InputError, match="unknown metric 'accuracy'"):
        check_thresholds(result, strict)
    strict.write_text('[other]\n"hit@5" = 0.5\n')
    with pytest.raises(InputError, match=r"no \[seeds\] table"):
        check_thresholds(result, strict)


@pytest.mark.parametrize(
    "line",
    [
        '{"id": "corpus-u04"}',
        '{"answerable": true}',
        "[1, 2]",
        '{"id": "x", "answerable": true, "evidence": [1]}',
        "{",
    ],
)
def test_a_damaged_relabelling_file_is_one_sentence(seed_index_dir, tmp_path, line):
    labels = tmp_path / "labels.jsonl"
    labels.write_text(line + "\n", encoding="utf-8")
    result = CliRunner().invoke(
        cli,
        ["eval", "--index", str(seed_index_dir), "--relabel", str(labels), "--no-baseline", "--json"],
    )
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Line 1 of" in result.output and "is not a relabelled question" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
