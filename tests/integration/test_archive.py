"""`rag ingest` of a .tar.gz archive as users run it, with the real model: a question
answered citing a member, a second run that embeds nothing, a member removed by its
source, a damaged archive as one sentence, and a killed run continued."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.cli import cli
from rag.loading import Skipped, load_documents
from rag.settings import PROJECT_ROOT
from rag.storage import Index
from tests.conftest import CORPUS, wait_for_progress

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error", "PYTHONUNBUFFERED": "1"}
CHINA_2024 = "ungdc/Session 79 - 2024/CHN_79_2024.txt"
MEMBERS = {
    "ungdc/Session 78 - 2023/CHN_78_2023.txt",
    "ungdc/Session 79 - 2024/.DS_Store",
    "ungdc/Session 79 - 2024/BRA_79_2024.txt",
    CHINA_2024,
    "ungdc/Session 79 - 2024/FRA_79_2024.txt",
}


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    """Four speeches and a .DS_Store, with their folders, taken from the real corpus as it
    lays them out, in a small .tar.gz (skips without the corpus)."""
    if not CORPUS.is_file():
        pytest.skip(f"the UN General Debate Corpus is not at {CORPUS}")
    out = tmp_path_factory.mktemp("archive") / "ungdc-slice.tar.gz"
    folders = {"ungdc", "ungdc/Session 78 - 2023", "ungdc/Session 79 - 2024"}
    with tarfile.open(CORPUS) as tar, tarfile.open(out, "w:gz") as slice_:
        for m in tar:
            if m.name in folders or m.name in MEMBERS:
                slice_.addfile(m, tar.extractfile(m) if m.isfile() else None)
    return out


@pytest.fixture
def run():
    def invoke(*args):
        return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)

    return invoke


def test_an_ingested_archive_answers_citing_a_member_and_a_second_run_embeds_nothing(run, tmp_path, archive):
    index = tmp_path / "index"
    first = run("ingest", archive, "--index", index, "--quiet")
    assert first.exit_code == 0, first.output
    assert f"skipped {archive}/ungdc/Session 79 - 2024/.DS_Store: hidden file" in first.stderr
    assert "4 added, 0 replaced, 0 unchanged, 0 removed" in first.stderr
    answer = json.loads(
        run(
            "ask", "What did China say about artificial intelligence in 2024?", "--index", index, "--json"
        ).stdout
    )
    assert not answer["refused"] and answer["citations"], answer["answer"]
    member = f"{archive.resolve()}/{CHINA_2024}"
    assert {c["source"] for c in answer["citations"]} == {member}
    texts = {
        d.source: d.text for d in load_documents([archive.resolve()], tmp_path) if not isinstance(d, Skipped)
    }
    for c in answer["citations"]:
        assert texts[member][c["start"] : c["end"]] == c["quote"]
    assert any("AI" in c["quote"] for c in answer["citations"])
    again = run("ingest", archive, "--index", index, "--quiet")
    assert "0 added, 0 replaced, 4 unchanged, 0 removed; 0 chunks embedded" in again.stderr
    # A member is removed by its source as any file is, and comes back with the archive.
    removed = run("remove", member, "--index", index)
    assert removed.exit_code == 0 and "removed" in removed.stdout
    back = run("ingest", archive, "--index", index, "--quiet")
    assert "1 added, 0 replaced, 3 unchanged, 0 removed" in back.stderr


def test_a_cut_archive_is_one_sentence_and_the_index_keeps_what_it_had(run, tmp_path, archive):
    index = tmp_path / "index"
    assert run("ingest", archive, "--index", index, "--quiet").exit_code == 0
    before = sorted(Index.open(index).documents)
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    result = run("ingest", archive, cut, "--index", index, "--prune", "--quiet")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"Error: The archive {cut} is cut short (it ends part-way through its members); "
        "download it again, or ingest the folder it unpacks to."
    )
    assert "Traceback" not in result.output
    assert sorted(Index.open(index).documents) == before


def test_a_killed_archive_ingest_shows_time_left_and_the_next_run_continues(tmp_path, archive):
    index = tmp_path / "index"
    args = [sys.executable, "-m", "rag.cli", "ingest", str(archive), "--index", str(index), "--batch", "10"]
    child = subprocess.Popen(args, env=ENV, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # The bar counts the archive's 5 members and shows the time left, once a batch is saved.
    wait_for_progress(
        child, rb"Embedding:\s+\d+%\|[^|]*\|\s+[1-4]/5 \[\d\d:\d\d<\d\d:\d\d,.*\b[1-9][\d,]* chunks"
    )
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    kept = Index.open(index)
    saved, partial = len(kept.documents), len(kept.incomplete)
    assert 0 < saved < 4
    done = subprocess.run(args + ["-q"], env=ENV, cwd=PROJECT_ROOT, capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    continued = f"{partial} continued, " if partial else ""
    assert f"{4 - saved} added, 0 replaced, {continued}{saved - partial} unchanged" in done.stderr.decode()
    assert len(Index.open(index).documents) == 4
