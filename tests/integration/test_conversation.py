"""Conversations on the real seed index: follow-ups answered with what they ask, never with
the earlier answer again; `rag chat` driven through a pseudo-terminal."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pexpect

from rag.question.followup import NOTHING_NEW, Turn

CO_CHAIRS = "Which countries do the two co-chairs represent?"
PRIORITY = "What did he say their priority should be?"


def test_a_pronoun_follow_up_gets_the_priority_sentence_not_the_first_answer(pipeline):
    first = pipeline.ask(CO_CHAIRS)
    assert "Qatar" in first.text and "Denmark" in first.text
    second = pipeline.ask(PRIORITY, history=[Turn.of(CO_CHAIRS, first)])
    assert "priority of Council reform lies in increasing representation" in second.text
    # Shown as a question a person would write; searched with the speaker the answer quoted.
    assert second.understood == f"What did Wang Yi say their priority should be? (following “{CO_CHAIRS}”)"
    assert second.searched.startswith(PRIORITY) and "Wang Yi" in second.searched
    before = {(c.doc_id, c.start) for c in first.citations}
    assert not any((c.doc_id, c.start) in before for c in second.citations)
    assert second.to_json()["understood"] == second.understood


def test_what_else_until_nothing_is_new(pipeline):
    turns: list[Turn] = []
    answer = pipeline.ask(CO_CHAIRS)
    turns.append(Turn.of(CO_CHAIRS, answer))
    seen = {(c.doc_id, c.start, c.end) for c in answer.citations}
    for _ in range(12):
        answer = pipeline.ask("What else?", history=turns)
        if answer.refused:
            break
        spans = {(c.doc_id, c.start, c.end) for c in answer.citations}
        assert not any(d == d2 and s < e2 and s2 < e for d, s, e in spans for d2, s2, e2 in seen)
        seen |= spans
        turns.append(Turn.of("What else?", answer))
    assert answer.refused and answer.text == NOTHING_NEW


def test_rag_chat_in_a_terminal(pipeline, tmp_path):
    rag = Path(sys.executable).with_name("rag")
    env = {**os.environ, "RAG_HOME": str(tmp_path), "HF_HUB_OFFLINE": "1", "TERM": "dumb"}
    child = pexpect.spawn(
        str(rag),
        ["chat", "--index", str(pipeline.settings.index_dir)],
        env=env,
        encoding="utf-8",
        timeout=120,
    )
    try:
        child.expect("Asking 2 statements")
        child.expect("> ")
        child.sendline(CO_CHAIRS)
        child.expect(r"\[1\] FM meets with UN officials")
        child.expect("> ")
        assert "Qatar" in child.before
        child.sendline(PRIORITY)
        child.expect("Understood as: What did Wang Yi say their priority should be\\? \\(following")
        child.expect("> ")
        assert "priority of Council reform lies in increasing representation" in child.before
        # Broken between words to the terminal's 80 columns, not mid-word at its edge.
        assert max(len(line) for line in child.before.splitlines()) <= 80
        child.sendline(":show 1")
        child.expect(">>>Wang said the priority of Council reform")
        child.expect("> ")
        child.sendline(":sources")
        child.expect(r"Wang Yi \(China\), undated: FM meets with UN officials on Security Council reform")
        child.expect("> ")
        child.sendline("help")  # the word alone is the command, not a question
        child.expect(":show N")
        child.expect("> ")
        child.sendline("clear")
        child.expect("A new conversation")
        child.expect("> ")
        child.sendline("What else?")  # nothing earlier to go on: a question of its own
        child.expect("> ")
        assert "Understood as" not in child.before
        child.sendline("quit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    assert CO_CHAIRS in (tmp_path / "chat_history").read_text()  # the line history is kept


def test_rag_ask_history_continues_a_conversation_from_json(pipeline, tmp_path):
    from click.testing import CliRunner

    from rag.cli import cli

    index = ["--index", str(pipeline.settings.index_dir)]
    first = CliRunner().invoke(cli, ["ask", CO_CHAIRS, "--json", *index], catch_exceptions=False)
    history = tmp_path / "history.json"
    history.write_text(first.stdout)  # `rag ask --json … >> history.json`
    second = CliRunner().invoke(
        cli, ["ask", PRIORITY, "--json", "--history", str(history), *index], catch_exceptions=False
    )
    answer = json.loads(second.stdout)
    assert answer["understood"] == f"What did Wang Yi say their priority should be? (following “{CO_CHAIRS}”)"
    assert answer["searched"].startswith(f"{PRIORITY} (Wang Yi")
    assert "priority of Council reform lies in increasing representation" in answer["answer"]
    history.write_text("not json")
    bad = CliRunner().invoke(cli, ["ask", PRIORITY, "--history", str(history), *index])
    assert (
        bad.exit_code == 1
        and bad.output.startswith("Error: The history file")
        and "Traceback" not in bad.output
    )
