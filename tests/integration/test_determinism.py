"""An answer is a function of the index, the question and the settings: never of what was
asked before it in the same process, nor of which process asks."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import pytest

from rag.evaluation.gold import load_gold
from rag.settings import PROJECT_ROOT
from tests.conftest import WANG_YI

GOLD = PROJECT_ROOT / "eval" / "gold"
# A broad question over many passages fills the sentence-vector cache with sentences that
# were embedded together: what once changed 8 of the next 60 answers.
BROAD = "Tell me everything about security sector reform, Security Council reform and peacekeeping"

# Run in a child process: the same questions, in an order of its own, as JSON lines.
CHILD = """
import json, random, sys
from pathlib import Path
from rag.pipeline import Pipeline
from rag.settings import load_settings
questions = json.loads(sys.stdin.read())
random.Random(11).shuffle(questions)
pipeline = Pipeline.open(load_settings().with_overrides(index_dir=Path(sys.argv[1])))
for q in questions:
    a = pipeline.ask(q)
    print(json.dumps([q, a.text, a.refused, [(c.doc_id, c.start, c.end) for c in a.citations]]))
"""


def _key(answer) -> tuple:
    return answer.text, answer.refused, [(c.doc_id, c.start, c.end) for c in answer.citations]


@pytest.fixture(scope="module")
def questions() -> list[str]:
    gold = (
        load_gold(GOLD / "seeds.jsonl")
        + load_gold(GOLD / "ungdc-china.jsonl")
        + load_gold(GOLD / "corpus.jsonl")
    )
    return [q.question for q in gold]


def test_answers_do_not_depend_on_the_order_of_questions(mixed, questions):
    def answers(order: list[str], after: str | None = None) -> dict[str, tuple]:
        if after:
            # As in a long-running app once its sentence cache has evicted these sentences.
            mixed.generator().clear_cache()
            mixed.ask(after, k=20)
        return {q: _key(mixed.ask(q)) for q in order}

    shuffled = questions[:]
    random.Random(3).shuffle(shuffled)
    forward = answers(questions)
    for order in (questions[::-1], shuffled):
        again = answers(order, after=BROAD)
        changed = [q for q in questions if again[q] != forward[q]]
        assert not changed, f"{len(changed)} of {len(questions)} answers changed, e.g. {changed[:3]}"


def test_answers_are_the_same_in_another_process(mixed, questions):
    here = {q: _key(mixed.ask(q)) for q in questions}
    env = {**os.environ, "RAG_HOME": str(mixed.settings.home), "HF_HUB_OFFLINE": "1"}
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(mixed.settings.index_dir)],
        input=json.dumps(questions),
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=600,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    there = {}
    for line in child.stdout.splitlines():
        q, text, refused, citations = json.loads(line)
        there[q] = (text, refused, [tuple(c) for c in citations])
    assert there.keys() == here.keys()
    changed = [q for q in questions if there[q] != here[q]]
    assert not changed, f"{len(changed)} of {len(questions)} answers differ, e.g. {changed[:3]}"


def test_an_answer_weighs_words_by_the_snapshot_it_started_on(pipeline, monkeypatch):
    """Another process commits while a question is answered: the answer's word rarity is
    read from the snapshot its passages came from, never from the newer one."""
    started = pipeline.snapshot()
    asked: list[str] = []
    real = started.engine.idf

    def counted(term: str) -> float:
        asked.append(term)
        return real(term)

    class Newer:
        def idf(self, term: str) -> float:
            raise AssertionError("read the rarity of words from a snapshot the answer did not start on")

    monkeypatch.setattr(started.engine, "idf", counted)
    calls = iter([started])
    newer = type("Snapshot", (), {"engine": Newer()})()
    monkeypatch.setattr(pipeline, "snapshot", lambda: next(calls, newer))
    answer = pipeline.ask(WANG_YI)
    assert "Al-Thani" in answer.text and asked
