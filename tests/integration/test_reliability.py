"""Faults and hostile input: killed ingestion, damaged or unwritable indexes, full disks,
strange questions and files, no unsafe deserialisation, and many clients at once."""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.cli import cli
from rag.errors import IndexCorruptError
from rag.ingest import ingest
from rag.pipeline import Pipeline
from rag.settings import PROJECT_ROOT, SEEDS_DIR, load_settings
from rag.storage import Index
from rag.storage import manifest as storage_manifest
from tests.conftest import WANG_YI, wait_for_progress
from ui.app import App

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error", "PYTHONUNBUFFERED": "1"}


@pytest.fixture
def index_copy(seed_index_dir, tmp_path) -> Path:
    shutil.copytree(seed_index_dir, tmp_path / "index")
    return tmp_path / "index"


def _snapshot(path: Path) -> tuple[list[str], int]:
    index = Index.open(path)
    return sorted(index.documents), len(index.chunks)


def _many_statements(folder: Path, count: int) -> Path:
    folder.mkdir()
    base = (SEEDS_DIR / "003_3b78ed55776d1c96.txt").read_text(encoding="utf-8")
    for i in range(count):
        (folder / f"statement_{i:03d}.txt").write_text(f"Statement number {i}\n\n{base}\nClosing remark {i}.")
    return folder


def _rag(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "rag.cli", *args],
        env=ENV,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kw,
    )


def test_killed_ingestion_keeps_what_it_saved_and_the_next_run_continues(index_copy, tmp_path):
    before_docs, before_chunks = _snapshot(index_copy)
    folder = _many_statements(tmp_path / "many", 40)
    child = _rag("ingest", str(folder), "--index", str(index_copy), "--batch", "40")
    # Kill it for real (SIGKILL) part-way through, once it has saved a batch or more.
    wait_for_progress(child, rb"Embedding:\s+\d+%\|[^|]*\|\s+[1-9]\d*/.*\b[1-9][\d,]* chunks")
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    # The index opens (checksums intact) with everything it had plus the saved batches.
    docs, chunks = _snapshot(index_copy)
    assert set(before_docs) < set(docs) and len(docs) < 42
    partial = len(Index.open(index_copy).incomplete)  # cut off between batches: continued next
    settings = load_settings().with_overrides(home=tmp_path, index_dir=index_copy)
    answer = Pipeline.open(settings).ask(WANG_YI)
    assert "Alya Ahmed Saif Al-Thani" in answer.text
    # The next run embeds only the statements the killed one had not saved.
    done = _rag("ingest", str(folder), "--index", str(index_copy))
    out, err = done.communicate(timeout=600)
    assert done.returncode == 0, err
    saved = len(docs) - len(before_docs)
    continued = f"{partial} continued, " if partial else ""
    assert f"{40 - saved} added, 0 replaced, {continued}{saved - partial} unchanged" in err.decode()
    assert len(Index.open(index_copy).documents) == 42


def test_a_writer_killed_before_its_manifest_switch_leaves_the_index_as_it_was(
    index_copy, embedder, monkeypatch
):
    before = _snapshot(index_copy)
    # A writer that dies after writing a batch's files, before the manifest names them.
    index = Index.open(index_copy)
    index.remove({next(iter(index.documents))})

    def die(path, manifest):
        raise SystemExit("killed")

    with monkeypatch.context() as patched:
        patched.setattr(storage_manifest, "write_manifest", die)
        with pytest.raises(SystemExit):
            index.save()
    assert {p.name.split(".")[0] for p in index_copy.glob("seg-*")} > _named(index_copy)
    assert _snapshot(index_copy) == before
    # A file of the same shape that no journal names is not ours, and stays.
    (index_copy / "seg-999999.chunks.jsonl").write_text("someone else's file")
    # The next change clears what the dead writer left, and only that.
    index = Index.open(index_copy)
    index.remove({next(iter(index.documents))})
    index.save()
    left = {p.name.split(".")[0] for p in index_copy.glob("seg-*")} - {"seg-999999"}
    assert left == _named(index_copy)
    assert (index_copy / "seg-999999.chunks.jsonl").read_text() == "someone else's file"
    assert not (index_copy / ".pending.json").exists()


def _named(index_dir: Path) -> set[str]:
    return {s["name"] for s in json.loads((index_dir / "manifest.json").read_text())["segments"]}


def test_truncated_index_file_is_reported_with_the_fix(index_copy):
    vectors = index_copy / "seg-000001.vectors.npy"
    vectors.write_bytes(vectors.read_bytes()[:100])
    with pytest.raises(IndexCorruptError, match="vectors.npy is missing or does not match its checksum"):
        Index.open(index_copy)
    result = CliRunner().invoke(cli, ["ask", WANG_YI, "--index", str(index_copy)])
    assert result.exit_code == 1
    assert result.stderr.strip().endswith(f"rebuild it with: rag ingest PATH --index {index_copy} --rebuild.")


@pytest.mark.parametrize("damage", ["truncated", "one byte changed"])
def test_damaged_stored_postings_are_reported_with_the_fix(index_copy, damage):
    """BM25's stored counts (a new kind of index file) are checked like the segments."""
    postings = next(index_copy.glob("postings-*.bin"))
    data = postings.read_bytes()
    postings.write_bytes(data[:100] if damage == "truncated" else data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(
        IndexCorruptError, match=r"postings-g\d+\.bin is missing or does not match its checksum"
    ):
        Index.open(index_copy)
    result = CliRunner().invoke(cli, ["ask", WANG_YI, "--index", str(index_copy)])
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().endswith(f"rebuild it with: rag ingest PATH --index {index_copy} --rebuild.")


def test_unwritable_index_location_is_a_clear_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = CliRunner().invoke(cli, ["ingest", str(SEEDS_DIR), "--index", str(blocker / "index"), "-q"])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: Cannot write the index folder {blocker / 'index'}")
    assert "Traceback" not in result.stderr


def test_full_disk_while_saving_keeps_the_previous_index(index_copy, tmp_path):
    before = _snapshot(index_copy)
    big = tmp_path / "big"
    big.mkdir()
    (big / "long.txt").write_text("The Council met again to discuss reform. " * 5000)

    def small_disk() -> None:
        # Files may not grow past 64 KB: writes fail as on a full disk (EFBIG, not a signal).
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64_000, 64_000))

    child = _rag("ingest", str(big), "--index", str(index_copy), "-q", preexec_fn=small_disk)
    _, err = child.communicate(timeout=300)
    assert child.returncode == 1
    message = err.decode().strip().splitlines()[-1]
    assert message.startswith(f"Error: Could not write the index at {index_copy} (File too large)")
    assert message.endswith("everything saved before this batch is intact.")
    assert _snapshot(index_copy) == before
    referenced = {
        f"{s['name']}.{part}"
        for s in json.loads((index_copy / "manifest.json").read_text())["segments"]
        for part in [*s["checksums"], "record.json"]
    }
    assert {p.name for p in index_copy.glob("seg-*")} == referenced  # no half-written batch left


@pytest.mark.parametrize(
    "question",
    [
        "安理会改革的优先事项是什么？",
        "ما هي أولوية إصلاح مجلس الأمن؟",
        "🌍🕊️ reform?",
        "What\x00 about\x1b[31m reform\x07?",
    ],
)
def test_any_script_or_control_character_gets_an_answer_or_a_refusal(pipeline, question):
    answer = pipeline.ask(question)
    assert answer.refused or answer.citations
    for c in answer.citations:
        assert c.quote == c.document.text[c.start : c.end]


def test_a_100_kb_question_is_refused_in_one_sentence():
    result = CliRunner().invoke(cli, ["ask", "reform " * 15_000])
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: The question is 104,999 characters long; keep it under 5,000."


def test_huge_single_line_file_is_indexed_in_bounded_chunks(pipeline, tmp_path):
    folder = tmp_path / "huge"
    folder.mkdir()
    (folder / "one-line.txt").write_text("word " * 60_000)  # 300 KB, no line break, no full stop
    index = Index(
        tmp_path / "idx", pipeline.embedder.name, pipeline.embedder.dimension, {"size": 800, "overlap": 200}
    )
    ingest([folder], index, pipeline.embedder, tmp_path, progress=False, batch=1024)
    assert len(index.chunks) > 300
    doc = next(iter(index.documents.values()))
    assert all(len(c.text) <= 800 and doc.text[c.start : c.end] == c.text for c in index.chunks)


def test_upload_names_cannot_leave_the_upload_folder(pipeline, index_copy, tmp_path):
    settings = pipeline.settings.with_overrides(home=tmp_path / "home", index_dir=index_copy)
    app = App(Pipeline(settings, Index.open(index_copy), pipeline.embedder))
    src = tmp_path / "incoming.txt"
    src.write_text("Statement on uploads. The delegation supports safe file handling in every system.")

    class Upload:
        name = str(src)
        orig_name = "../../../../etc/evil.txt"

    status = app.library.add(None, [Upload()])
    assert "1 added" in status
    assert (tmp_path / "home" / "uploads" / "evil.txt").is_file()
    assert not Path("/etc/evil.txt").exists()


def test_no_pickle_eval_or_exec_on_anything_read():
    """What we read from disk or the page is parsed as JSON, text or FAISS's own format only."""
    unsafe = re.compile(r"\bpickle\b|\beval\(|\bexec\(|allow_pickle\s*=\s*True|torch\.load\(|yaml\.load\(")
    offenders = [
        f"{path.relative_to(PROJECT_ROOT)}:{no}"
        for folder in ("rag", "ui")
        for path in (PROJECT_ROOT / folder).rglob("*.py")
        for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if unsafe.search(line) and not line.lstrip().startswith("#")
    ]
    assert offenders == []


@pytest.mark.parametrize(
    "question",
    [WANG_YI, "What did Kenya say about security sector reform?"],
    ids=["answered", "refused for its scope"],
)
def test_an_unfinished_answer_stream_does_not_block_other_questions(pipeline, question):
    """A client that goes away mid-answer leaves its stream suspended; nobody may wait on it."""
    stream = pipeline.answer_stream(question)
    next(stream)
    answered: list[str] = []
    other = threading.Thread(
        target=lambda: answered.append(pipeline.ask("How should security sector reform be funded?").text),
        daemon=True,
    )
    other.start()
    other.join(timeout=60)
    assert answered and "funding" in answered[0]
    stream.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


LOAD_QUESTIONS = {
    "Who did Wang Yi meet to discuss Security Council reform?": "Alya Ahmed Saif Al-Thani",
    "How should security sector reform be funded?": "big gaps of funding",
    "Which sporting event did the co-chairs congratulate China on?": "Beijing Winter Olympics",
    "Who should own security sector reform?": "owned and led by countries concerned",
    "What did China say about Arctic shipping routes?": "do not address this question",
    "What security threats do post-conflict countries face?": "violent extremism",
}


def _text(message: dict) -> str:
    """A chat message's text as the API returns it (a string, or a list of typed parts)."""
    content = message["content"]
    return content if isinstance(content, str) else "".join(part.get("text", "") for part in content)


# -- every damaged index has one way out -------------------------------------------------


@pytest.fixture(scope="module")
def segmented_index_dir(embedder, tmp_path_factory) -> Path:
    """The seeds in several segments, so segments can be lost or disagree."""
    path = tmp_path_factory.mktemp("segmented") / "index"
    index = Index(path, embedder.name, embedder.dimension, {"size": 800, "overlap": 200})
    ingest([SEEDS_DIR], index, embedder, SEEDS_DIR.parent, progress=False, batch=4)
    assert len(index.blocks) >= 3
    return path


def _edit_manifest(path: Path, **changes) -> None:
    manifest = json.loads((path / "manifest.json").read_text())
    for key, value in changes.items():
        if value is None:
            del manifest[key]
        else:
            manifest[key] = value
    (path / "manifest.json").write_text(json.dumps(manifest))


def _edit_record(path: Path, name: str, **changes) -> None:
    record = json.loads((path / f"{name}.record.json").read_text())
    record.update(changes)
    (path / f"{name}.record.json").write_text(json.dumps(record))


def _unlink(path: Path, *patterns: str) -> None:
    for pattern in patterns:
        for file in path.glob(pattern):
            file.unlink()


def _truncate(file: Path) -> None:
    file.write_bytes(file.read_bytes()[:100])


DAMAGES = {
    "manifest deleted": lambda p: _unlink(p, "manifest.json"),
    "segments with no records": lambda p: _unlink(p, "manifest.json", "*.record.json"),
    "manifest deleted and a segment truncated": lambda p: (
        _unlink(p, "manifest.json"),
        _truncate(p / "seg-000001.vectors.npy"),
    ),
    "manifest deleted and a middle segment lost": lambda p: _unlink(p, "manifest.json", "seg-000002.*"),
    "manifest deleted and segments disagree on the model": lambda p: (
        _unlink(p, "manifest.json"),
        _edit_record(p, "seg-000002", embedding_model="another/model"),
    ),
    "manifest not JSON": lambda p: (p / "manifest.json").write_text("{"),
    "manifest empty": lambda p: (p / "manifest.json").write_text(""),
    "manifest without its generation": lambda p: _edit_manifest(p, generation=None),
    "manifest without its segments": lambda p: _edit_manifest(p, segments=None),
    "manifest without its store": lambda p: _edit_manifest(p, store=None),
    "manifest of another format": lambda p: _edit_manifest(p, format_version=1),
    "manifest counting chunks no segment has": lambda p: _edit_manifest(
        p, counts={"documents": 2, "chunks": 999, "segments": 9}
    ),
    "segment file truncated": lambda p: _truncate(p / "seg-000002.vectors.npy"),
    "segment file deleted": lambda p: _unlink(p, "seg-000002.chunks.jsonl"),
    "stored postings damaged": lambda p: _unlink(p, "postings-*.bin"),
    "segments with no records and a damaged manifest": lambda p: (
        _unlink(p, "*.record.json"),
        (p / "manifest.json").write_text("[]"),
    ),
}
ADVICE = re.compile(r"rag (?:verify --repair|ingest PATH) --index \S+?(?: --rebuild)?(?=[.,;]?(?:\s|$))")


def _advice(message: str) -> list[list[str]]:
    """The commands a message tells the user to run, as argument lists (PATH: the seeds)."""
    return [
        [str(SEEDS_DIR) if word == "PATH" else word for word in found.split()[1:]]
        for found in dict.fromkeys(ADVICE.findall(message))
    ]


def _follow(index: Path, message: str, tried: tuple[str, ...], keep: Path, trails: list[str]) -> None:
    """Run every command ``message`` advises, each from the same state of the folder, until
    ``rag ask`` answers; a message without advice, or advising a command already run on
    this path, fails."""
    advice = _advice(message)
    assert advice, f"no way out after {' -> '.join(tried)}: {message}"
    state = keep / f"state-{len(list(keep.iterdir()))}"
    shutil.copytree(index, state)
    for argv in advice:
        step = "rag " + " ".join(argv).replace(str(SEEDS_DIR), "PATH").replace(str(index), "DIR")
        assert step not in tried, f"a loop: {' -> '.join((*tried, step))}"
        assert len(tried) < 4, f"no way out in four steps: {' -> '.join((*tried, step))}"
        shutil.rmtree(index)
        shutil.copytree(state, index)
        run = CliRunner().invoke(cli, [*argv, *(["-q"] if argv[0] == "ingest" else [])])
        assert run.exit_code in (0, 1) and "Traceback" not in run.stderr, run.output
        if run.exit_code == 1:
            _follow(index, run.stderr, (*tried, step), keep, trails)
            continue
        asked = CliRunner().invoke(cli, ["ask", WANG_YI, "--index", str(index)])
        if asked.exit_code == 0:
            assert "Alya Ahmed Saif Al-Thani" in asked.stdout
            # Nothing of the damaged index stays that the new manifest does not name, or
            # (after a repair) the journal does not hand to the next commit to clear.
            named = storage_manifest.referenced_files(json.loads((index / "manifest.json").read_text()))
            named |= storage_manifest.journal_names(index)
            left = {p.name for p in index.iterdir()} - named
            assert left <= {"manifest.json", ".lock", ".pending.json"}, step
            trails.append(" -> ".join((*tried, step, "rag ask answers")))
        else:
            _follow(index, asked.stderr, (*tried, step, "rag ask"), keep, trails)


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_every_damaged_index_message_leads_to_a_command_that_fixes_it(
    segmented_index_dir, tmp_path, damage, capsys
):
    """From `rag ask` on the damaged folder, every command each message names is run in
    turn: each path ends with `rag ask` answering, never back at a command already run."""
    index = tmp_path / "index"
    shutil.copytree(segmented_index_dir, index)
    DAMAGES[damage](index)
    asked = CliRunner().invoke(cli, ["ask", WANG_YI, "--index", str(index)])
    assert asked.exit_code == 1 and "Traceback" not in asked.stderr, asked.output
    (tmp_path / "states").mkdir()
    trails: list[str] = []
    _follow(index, asked.stderr, ("rag ask",), tmp_path / "states", trails)
    with capsys.disabled():
        for trail in trails:
            print(f"\n[damage] {damage}: {trail}", end="")
