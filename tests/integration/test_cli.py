"""The `rag` command line as users and scripts call it: JSON contract, errors, first run."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.cli import cli
from rag.loading import load_file
from rag.settings import SEEDS_DIR
from tests.conftest import ARCTIC, WANG_YI


@pytest.fixture
def run():
    def invoke(*args):
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    return invoke


def test_first_ask_builds_the_seed_index_and_prints_the_json_contract(run, tmp_path):
    result = run("ask", WANG_YI, "--json")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "home" / "index" / "default" / "manifest.json").is_file()
    data = json.loads(result.stdout)
    assert set(data) >= {"question", "answer", "refused", "citations", "passages"}
    assert data["question"] == WANG_YI and data["refused"] is False
    assert "Alya Ahmed Saif Al-Thani" in data["answer"] and "Martin Bille Hermann" in data["answer"]
    texts = {p.name: p.read_text(encoding="utf-8") for p in SEEDS_DIR.glob("*.txt")}
    for c in data["citations"]:
        assert set(c) >= {"n", "doc_id", "source", "title", "start", "end", "quote"}
        assert isinstance(c["n"], int) and isinstance(c["start"], int)
        # The quote is the exact text of the source between start and end.
        doc = load_file(SEEDS_DIR / c["source"].rsplit("/", 1)[-1])
        assert doc.text[c["start"] : c["end"]] == c["quote"]
        assert c["quote"] in texts[c["source"].rsplit("/", 1)[-1]]
    for rank, p in enumerate(data["passages"], start=1):
        assert set(p) >= {"rank", "doc_id", "source", "title", "start", "end", "score", "text"}
        assert p["rank"] == rank and isinstance(p["score"], float)


def test_unaddressed_question_is_refused_in_json(run):
    data = json.loads(run("ask", ARCTIC, "--json").stdout)
    assert data["refused"] is True and data["citations"] == []


def test_plain_answer_lists_each_citation_with_its_quote(run):
    out = run("ask", WANG_YI).stdout
    assert "[1] FM meets with UN officials on Security Council reform" in out
    assert '"State Councilor and Foreign Minister Wang Yi met with the co-chairs' in out


def test_ingest_reports_and_is_incremental(run, tmp_path):
    index = tmp_path / "idx"
    first = run("ingest", str(SEEDS_DIR), "--index", str(index), "--quiet")
    assert first.exit_code == 0 and "2 added" in first.stderr
    second = run("ingest", str(SEEDS_DIR), "--index", str(index), "--quiet")
    assert "0 added, 0 replaced, 2 unchanged" in second.stderr and "0 chunks embedded" in second.stderr
    listing = run("docs", "--index", str(index)).stdout
    assert "2 documents" in listing and "2020-12-03" in listing
    # Whose each statement is, and a count that reads as English.
    assert "Ambassador Zhang Jun (China)" in listing and "Wang Yi (China)" in listing
    assert not re.search(r"\b1 chunks\b", listing) and "13 chunks in" in listing


@pytest.mark.parametrize(
    "args, message",
    [
        (["ask", "   "], "The question is empty"),
        (["ask", "reform", "--k", "0"], "between 1 and 50"),
        (["ask", "reform", "--k", "10000"], "between 1 and 50"),
        (["ask", "reform", "--index", "{tmp}/missing"], "There is no index at"),
        (["ask", "reform", "--country", "XYZ"], "No statements in the index match"),
        (["ask", "reform", "--generator", "oracle"], "Unknown generator 'oracle'"),
        (["ingest", "{tmp}/nowhere", "--index", "{tmp}/idx"], "does not exist"),
        (["ingest", "{tmp}", "--index", "{tmp}/idx2"], "No statements found"),
        (["remove", "nothing.txt", "--index", "{tmp}/missing"], "There is no index at"),
    ],
)
def test_bad_input_is_one_sentence_and_a_nonzero_exit(run, tmp_path, args, message):
    (tmp_path / "empty").mkdir()
    args = [a.replace("{tmp}", str(tmp_path / "empty") if a == "{tmp}" else str(tmp_path)) for a in args]
    result = run(*args)
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and message in errors[0]
    assert result.stderr.strip().splitlines()[-1] == errors[0]
    assert "Traceback" not in result.output + result.stderr


def test_serving_on_a_busy_port_is_one_sentence(run):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run("serve", "--port", str(port))
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"Error: Cannot listen on 127.0.0.1:{port} (Address already in use); choose another --port."
    )


def test_bad_setting_in_the_environment_is_one_sentence(run, monkeypatch):
    monkeypatch.setenv("RAG_K", "abc")
    result = run("ask", "reform")
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: Setting 'k' must be a whole number, not 'abc'."


def test_installed_command_exits_cleanly_on_bad_input():
    proc = subprocess.run(
        [sys.executable, "-m", "rag.cli", "ask", ""], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 1
    assert proc.stderr.strip() == "Error: The question is empty; type a question about the statements."


_HEAVY = (
    "import json, sys\n"
    "from rag.cli import main\n"
    "sys.argv = ['rag', 'ask', sys.argv[1], '--index', sys.argv[2], '--json']\n"
    "try:\n    main()\nexcept SystemExit:\n    pass\n"
    "heavy = [m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules]\n"
    "print(json.dumps(heavy))\n"
)


def _ask_twice(env: dict[str, str], index: str) -> tuple[list[str], dict]:
    """``rag ask`` in two fresh processes: the first exports the model for ONNX Runtime
    (and says so), the second finds it; the modules the second imported, and its answer."""
    args = [sys.executable, "-c", _HEAVY, WANG_YI, index]
    first = subprocess.run(args, capture_output=True, text=True, env=env, check=True)
    assert "Exporting the embedding model for ONNX Runtime" in first.stderr
    done = subprocess.run(args, capture_output=True, text=True, env=env, check=True)
    assert "Exporting" not in done.stderr
    *answer_lines, heavy = done.stdout.strip().split("\n")
    return json.loads(heavy), json.loads("\n".join(answer_lines))


def test_rag_ask_answers_without_torch_and_gives_the_same_answer(pipeline, tmp_path):
    """The question path runs on ONNX Runtime alone: torch, transformers and
    sentence-transformers are never imported, and the answer is the in-process one."""
    env = {**os.environ, "RAG_HOME": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    heavy, printed = _ask_twice(env, str(pipeline.settings.index_dir))
    assert heavy == []
    assert printed["answer"] == pipeline.ask(WANG_YI).text


def test_an_int8_index_is_asked_without_torch(tmp_path):
    """With ``RAG_EMBEDDING_BACKEND=onnx-int8`` (the whole-corpus index) a question
    imports no torch either: the device is ONNX Runtime's to tell."""
    env = {
        **os.environ,
        "RAG_HOME": str(tmp_path / "home"),
        "HF_HUB_OFFLINE": "1",
        "RAG_EMBEDDING_BACKEND": "onnx-int8",
    }
    index = str(tmp_path / "index")
    ingest = [sys.executable, "-m", "rag.cli", "ingest", str(SEEDS_DIR), "--index", index, "--quiet"]
    subprocess.run(ingest, capture_output=True, text=True, env=env, check=True)
    # The ingestion exported the int8 model; a fresh home makes the first question export it.
    env["RAG_HOME"] = str(tmp_path / "fresh")
    heavy, printed = _ask_twice(env, index)
    assert heavy == []
    assert printed["refused"] is False and printed["citations"]
    # Without the setting, the index's own record picks the int8 model, to ask and to add.
    del env["RAG_EMBEDDING_BACKEND"]
    args = [sys.executable, "-m", "rag.cli", "ask", WANG_YI, "--index", index, "--json"]
    again = subprocess.run(args, capture_output=True, text=True, env=env)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["answer"] == printed["answer"]
    more = tmp_path / "more"
    more.mkdir()
    (more / "note.txt").write_text("China supports the peaceful settlement of disputes.\n", encoding="utf-8")
    added = subprocess.run([*ingest[:4], str(more), *ingest[5:]], capture_output=True, text=True, env=env)
    assert added.returncode == 0, added.stderr
    assert json.loads(Path(index, "manifest.json").read_text())["embedding_model"].endswith("@int8")


@pytest.mark.parametrize(
    "module, args, extra",
    [
        (
            "qdrant_client",
            ["ingest", str(SEEDS_DIR), "--store", "qdrant", "--quiet"],
            "rag-statements[qdrant]",
        ),
        ("ray", ["ingest", str(SEEDS_DIR), "--ray", "--quiet"], "rag-statements[ray]"),
    ],
)
def test_a_missing_extra_is_one_sentence_naming_it(run, tmp_path, monkeypatch, module, args, extra):
    monkeypatch.setitem(sys.modules, module, None)  # as if the extra were not installed
    result = CliRunner().invoke(cli, [*args, "--index", str(tmp_path / "idx")])
    assert result.exit_code != 0
    assert f"pip install '{extra}'" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
