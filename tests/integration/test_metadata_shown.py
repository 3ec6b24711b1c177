"""A statement's metadata as the operator gave it (``NAME.meta.json``): shown above its
quotes, never checked as a claim, never read for citation markers, and never acting on the
terminal. Each test ingests a statement through the real CLI and asks through it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.cli import cli

STATEMENT = (
    "Statement on Security Council reform.\n\n"
    "The veto should never be used to block action on genocide or crimes against humanity. "
    "Africa deserves two permanent seats on the Security Council. "
    "Peacekeeping operations need predictable funding from all members.\n"
)
QUESTION = "When should the veto not be used?"


def _index(folder: Path, metadata: dict[str, str]) -> Path:
    """A new index holding one statement with this metadata, ingested by `rag ingest`."""
    statements = folder / "statements"
    statements.mkdir(parents=True)
    (statements / "statement.txt").write_text(STATEMENT, encoding="utf-8")
    (statements / "statement.meta.json").write_text(json.dumps(metadata), encoding="utf-8")
    index = folder / "index"
    result = CliRunner().invoke(cli, ["ingest", str(statements), "--index", str(index), "-q"])
    assert result.exit_code == 0 and "1 documents" in result.stdout, result.output
    return index


def _run(*args: str, given: str | None = None) -> str:
    result = CliRunner().invoke(cli, list(args), input=given, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_a_quote_under_a_speaker_with_a_colon_and_a_spelled_out_date_is_supported(tmp_path):
    index = _index(
        tmp_path,
        {"speaker": "Ambassador: Jane Doe [7] [8]", "country": "KEN", "date": "3 December 2020"},
    )
    data = json.loads(_run("ask", QUESTION, "--index", str(index), "--json"))
    assert not data["refused"] and data["citations"], data["answer"]
    assert [s for s in data["sentences"] if not s["supported"]] == []
    numbers = {c["n"] for c in data["citations"]}
    assert {n for s in data["sentences"] for n in s["citations"]} <= numbers
    [group] = data["groups"]
    assert "Jane Doe [7] [8]" in group["lead_in"] and group["country"] == "Kenya"
    assert {int(n) for n in re.findall(r"\[(\d+)\]", group["text"])} <= numbers
    assert data["answer"] == f"{group['lead_in']}: {group['text']}"
    printed = _run("ask", QUESTION, "--index", str(index))
    assert "Not supported by its citations" not in printed
    assert printed.startswith(group["lead_in"] + ": The veto should never be used")


@pytest.mark.parametrize(
    "metadata",
    [
        {
            "speaker": "\x1b]0;pwned\x07Jane Doe\x1b[2J\x1b[8m",
            "country": "KEN",
            "date": "\x1b[2J2021-05-04",
            "title": "Reform \x1b]0;pwned\x07statement",
        }
    ],
)
def test_escape_sequences_in_metadata_never_reach_the_terminal(tmp_path, metadata):
    index = _index(tmp_path, metadata)
    asked = _run("ask", QUESTION, "--index", str(index))
    assert "The veto should never be used" in asked
    listed = _run("docs", "--index", str(index))
    assert "statement.txt" in listed
    refused = _run("ask", "What did they say about Arctic shipping routes?", "--index", str(index))
    chatted = _run("chat", "--index", str(index), given=f"{QUESTION}\n:sources\n:show 1\n:quit\n")
    assert ">>>The veto should never be used" in chatted
    for output in (asked, listed, refused, chatted):
        assert "\x1b" not in output and "\x07" not in output, output
    # Read at ingestion, the escapes are dropped from the metadata (rag/loading.py); what
    # reaches the terminal from any older index is escaped by rag.chat.shown (unit test).
    assert "Jane Doe" in asked
