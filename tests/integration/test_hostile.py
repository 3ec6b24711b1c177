"""Defects an adversarial run found: folders that are not ours, a lost manifest, links out of
the folder, hostile PDFs, damaged manifests, one huge file, odd encodings and file names.
Each test drives the real CLI, the real model and a real index."""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.cli import cli
from rag.loading import load_file
from rag.settings import PROJECT_ROOT, SEEDS_DIR
from rag.splitting import split_document
from rag.storage import Index
from tests.conftest import WANG_YI, wait_for_progress

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error", "PYTHONUNBUFFERED": "1"}
SEED = SEEDS_DIR / "000_f2b96bbd7d06bdb1.txt"


def _rag(*args: str) -> subprocess.CompletedProcess:
    """The real command in a child process, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "rag.cli", *args], env=ENV, cwd=PROJECT_ROOT, capture_output=True, text=True
    )


def _one_sentence_error(result) -> str:
    assert result.exit_code == 1 if hasattr(result, "exit_code") else result.returncode == 1
    err = result.stderr.strip()
    assert err.startswith("Error: ") and "Traceback" not in err and "\n" not in err, err
    return err


def _fingerprint(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def index_copy(seed_index_dir, tmp_path) -> Path:
    shutil.copytree(seed_index_dir, tmp_path / "index")
    return tmp_path / "index"


def _add_then_remove(runner: CliRunner, index: Path, folder: Path, text: str) -> None:
    """Ingest one statement through the CLI, then remove it again: its segment is rewritten."""
    folder.mkdir()
    (folder / "added.txt").write_text(text)
    assert runner.invoke(cli, ["ingest", str(folder), "--index", str(index), "-q"]).exit_code == 0
    added = next(d.source for d in Index.open(index).documents.values() if d.source.endswith("added.txt"))
    assert runner.invoke(cli, ["remove", added, "--index", str(index)]).exit_code == 0


# -- 1. an existing folder given as --index ---------------------------------------------


def test_a_folder_that_is_not_an_index_is_refused_and_left_untouched(tmp_path):
    home = tmp_path / "user-home"
    home.mkdir()
    for name, text in {
        ".bashrc": "alias ll='ls -l'",
        ".gitconfig": "[user]\n name = me",
        ".env": "SECRET=1",
        "notes.txt": "my notes",
        "documents.jsonl": "{}",
        "ann-mine.faiss": "not an index",
    }.items():
        (home / name).write_text(text)
    before = _fingerprint(home)
    for extra in ([], ["--rebuild"]):
        result = CliRunner().invoke(cli, ["ingest", str(SEED), "--index", str(home), "-q", *extra])
        err = _one_sentence_error(result)
        assert "is not empty and holds no index" in err
        assert _fingerprint(home) == before


def test_cleanup_in_an_index_folder_only_touches_files_the_index_named(index_copy, tmp_path):
    strangers = {".env": "SECRET=1", "ann-notes.faiss": "mine", "documents.jsonl": "{}", "seg-notes.txt": "x"}
    for name, text in strangers.items():
        (index_copy / name).write_text(text)
    runner = CliRunner()
    _add_then_remove(
        runner, index_copy, tmp_path / "more", "A statement on the Council's veto, soon removed."
    )
    rebuild = ["ingest", str(SEEDS_DIR), "--index", str(index_copy), "-q", "--rebuild"]
    assert runner.invoke(cli, rebuild).exit_code == 0
    for name, text in strangers.items():
        assert (index_copy / name).read_text() == text
    # Nothing the index wrote earlier is left over either: every segment file is named.
    named = {s["name"] for s in json.loads((index_copy / "manifest.json").read_text())["segments"]}
    assert {p.name.split(".")[0] for p in index_copy.glob("seg-0*")} == named


# -- 2. a missing manifest ---------------------------------------------------------------


def test_a_lost_manifest_is_refused_with_the_repair_which_restores_the_index(index_copy, tmp_path):
    runner = CliRunner()
    _add_then_remove(
        runner, index_copy, tmp_path / "extra", "A statement on peacekeeping budgets, soon removed."
    )
    expected = sorted(Index.open(index_copy).documents)
    segments = _fingerprint(index_copy)
    (index_copy / "manifest.json").unlink()
    for args in (["ingest", str(SEED)], ["ask", WANG_YI], ["docs"]):
        err = _one_sentence_error(runner.invoke(cli, [*args, "--index", str(index_copy)]))
        assert "holds index segments but no manifest.json" in err
        assert f"rag verify --repair --index {index_copy}" in err
    assert _fingerprint(index_copy) == {k: v for k, v in segments.items() if k != "manifest.json"}
    repaired = runner.invoke(cli, ["verify", "--repair", "--index", str(index_copy)])
    assert repaired.exit_code == 0 and "Rebuilt manifest.json" in repaired.stdout
    assert sorted(Index.open(index_copy).documents) == expected  # the removed one stays removed
    answer = runner.invoke(cli, ["ask", WANG_YI, "--index", str(index_copy)])
    assert "Alya Ahmed Saif Al-Thani" in answer.stdout
    checked = runner.invoke(cli, ["verify", "--index", str(index_copy)])
    assert "every file matches its checksum" in checked.stdout


# -- 3. links, FIFOs, devices -----------------------------------------------------------


def test_links_out_of_the_folder_fifos_and_broken_links_are_skipped_with_a_reason(tmp_path):
    outside = tmp_path / "private" / "secret.txt"
    outside.parent.mkdir()
    outside.write_text("The launch code for the vault is 4471-XK, known only to the treasurer.")
    folder = tmp_path / "shared"
    folder.mkdir()
    shutil.copy(SEED, folder / "statement.txt")
    links = {"passwd.txt": "/etc/passwd", "status.txt": "/proc/self/status", "secret.txt": str(outside)}
    for name, target in links.items():
        (folder / name).symlink_to(target)
    (folder / "gone.txt").symlink_to(tmp_path / "nowhere.txt")
    os.mkfifo(folder / "pipe.txt")
    (folder / "same.txt").symlink_to(folder / "statement.txt")  # inside the folder: fine
    index = tmp_path / "index"
    result = _rag("ingest", str(folder), "--index", str(index), "-q")
    assert result.returncode == 0, result.stderr
    for name in links:
        assert re.search(rf"skipped .*{name}: link to .*, outside the folder given", result.stderr)
    assert re.search(r"skipped .*gone.txt: broken link", result.stderr)
    assert re.search(r"skipped .*pipe.txt: not a regular file \(a FIFO\)", result.stderr)
    assert sorted(Path(d.source).name for d in Index.open(index).documents.values()) == ["statement.txt"]
    answer = _rag("ask", "What is the launch code for the vault?", "--index", str(index), "--json")
    assert "4471" not in answer.stdout and "root:" not in answer.stdout
    # Named on the command line, a file is the user's choice, wherever a link points.
    named = _rag("ingest", str(folder / "secret.txt"), "--index", str(index), "-q")
    assert named.returncode == 0 and "1 added" in named.stderr


# -- 4. hostile PDFs ---------------------------------------------------------------------


def _pdf(content: bytes, flate: bool = False) -> bytes:
    """A one-page PDF whose page draws ``content`` (a content stream)."""
    stream = zlib.compress(content, 9) if flate else content
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        (b"<< /Filter /FlateDecode " if flate else b"<< ")
        + b"/Length %d >>\nstream\n" % len(stream)
        + stream
        + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def _mutations(good: bytes, count: int) -> list[bytes]:
    out = []
    for seed in range(count):
        rng = random.Random(seed)
        data = bytearray(good)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        out.append(bytes(data))
    return out


def test_good_files_are_indexed_beside_bad_pdfs_each_named_with_its_reason(tmp_path):
    folder = tmp_path / "statements"
    folder.mkdir()
    topics = ["the veto", "peacekeeping", "climate finance", "the Sustainable Development Goals", "Africa"]
    for i in range(20):
        (folder / f"speech_{i:02d}.txt").write_text(
            f"Statement {i} to the General Assembly.\n\nOur delegation spoke on {topics[i % 5]} "
            f"in meeting number {i}. We call for reform of the Security Council in session {i}."
        )
    (folder / "bomb.pdf").write_bytes(_pdf(b"0" * (200 << 20), flate=True))  # 200 MB inflated
    good = _pdf(b"BT /F1 12 Tf 72 720 Td (The Council must be reformed to represent Africa.) Tj ET")
    bad = folder / "mutated"
    bad.mkdir()
    for i, data in enumerate(_mutations(good, 400)):
        (bad / f"m{i:03d}.pdf").write_bytes(data)
    index = tmp_path / "index"
    result = _rag("ingest", str(folder), "--index", str(index), "-q")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert re.search(r"skipped .*bomb.pdf: unreadable PDF \(LimitReachedError", result.stderr)
    sources = {Path(d.source).name for d in Index.open(index).documents.values()}
    assert {f"speech_{i:02d}.txt" for i in range(20)} <= sources
    # Every mutated file is either read (its text survived) or named with a reason.
    skipped = set(re.findall(r"skipped .*/(m\d{3}\.pdf): ", result.stderr))
    assert {f"m{i:03d}.pdf" for i in range(400)} <= sources | skipped
    assert len(skipped) > 100


def test_a_single_bad_pdf_given_alone_reports_its_reason(tmp_path):
    bomb = tmp_path / "bomb.pdf"
    bomb.write_bytes(_pdf(b"0" * (200 << 20), flate=True))
    result = _rag("ingest", str(bomb), "--index", str(tmp_path / "index"), "-q")
    err = _one_sentence_error(result)
    assert "No statements found" in err and "bomb.pdf: unreadable PDF (LimitReachedError" in err


# -- 5. a manifest with missing keys or the wrong types ---------------------------------


@pytest.mark.parametrize(
    "damage",
    [
        {"store": None},
        {"segments": None},
        {"store": []},
        {"segments": "seg-000001"},
        {"counts": []},
        {"segments": [{"name": "../../etc/passwd", "checksums": {}}]},
        {"chunking": {"size": "800"}},
        {"incomplete": []},
    ],
    ids=lambda d: next(iter(d)) + "=" + json.dumps(d[next(iter(d))])[:20],
)
def test_a_damaged_manifest_is_one_sentence_on_every_command(index_copy, damage):
    path = index_copy / "manifest.json"
    manifest = json.loads(path.read_text())
    for key, value in damage.items():
        if value is None:
            del manifest[key]
        else:
            manifest[key] = value
    path.write_text(json.dumps(manifest))
    before = _fingerprint(index_copy)
    for args in (["ask", WANG_YI], ["docs"], ["ingest", str(SEED), "-q"], ["remove", "x"], ["verify"]):
        err = _one_sentence_error(CliRunner().invoke(cli, [*args, "--index", str(index_copy)]))
        assert "is damaged" in err, err
    assert _fingerprint(index_copy) == before


# -- 6. one huge file --------------------------------------------------------------------


def test_a_long_file_is_saved_in_bounded_batches_and_continues_after_a_kill(tmp_path):
    paragraph = SEED.read_text(encoding="utf-8")
    big = tmp_path / "big.txt"
    big.write_text("\n\n".join(f"Part {i}.\n\n{paragraph}" for i in range(40)))
    index = tmp_path / "index"
    args = [sys.executable, "-m", "rag.cli", "ingest", str(big), "--index", str(index), "--batch", "32"]
    child = subprocess.Popen(args, env=ENV, cwd=PROJECT_ROOT, stderr=subprocess.PIPE)
    wait_for_progress(child, rb"\b(3[2-9]|[4-9]\d|\d{3}) chunks")  # a batch of 32 saved
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    manifest = json.loads((index / "manifest.json").read_text())
    # Each saved segment holds one batch at most, even inside one document.
    assert manifest["segments"] and all(s["chunks"] <= 32 for s in manifest["segments"])
    kept = Index.open(index)
    (doc_id,) = kept.incomplete
    saved = kept.incomplete[doc_id]
    assert saved == len(kept.chunks) and "partly indexed" in _rag("docs", "--index", str(index)).stdout
    done = _rag("ingest", str(big), "--index", str(index), "-q")
    assert "1 continued" in done.stderr
    embedded = int(re.search(r"(\d+) chunks embedded", done.stderr).group(1))
    whole = split_document(load_file(big, str(big)), 800, 200)
    assert embedded == len(whole) - saved  # nothing saved was embedded twice
    final = Index.open(index)
    assert not final.incomplete
    assert [(c.chunk_id, c.start, c.end) for c in final.chunks] == [
        (c.chunk_id.replace(c.doc_id, doc_id), c.start, c.end) for c in whole
    ]


# -- 8. encodings and file names ---------------------------------------------------------


def test_utf16_without_a_byte_order_mark_is_read(tmp_path):
    text = "Statement on Security Council reform.\n\nWe support a larger Council."
    for encoding in ("utf-16-le", "utf-16-be"):
        path = tmp_path / f"{encoding}.txt"
        path.write_bytes(text.encode(encoding))
        assert load_file(path).text == text


def test_file_names_with_newlines_and_escapes_print_on_one_safe_line(tmp_path):
    folder = tmp_path / "odd"
    folder.mkdir()
    name = "evil\nname\x1b[31mred.txt"
    (folder / name).write_text(SEED.read_text(encoding="utf-8"))
    (folder / "empty\x1b]0;title\x07.txt").write_text("")
    index = tmp_path / "index"
    result = CliRunner().invoke(cli, ["ingest", str(folder), "--index", str(index), "-q"])
    assert result.exit_code == 0
    assert "\x1b" not in result.stderr and "skipped" in result.stderr
    listing = CliRunner().invoke(cli, ["docs", "--index", str(index)]).stdout
    assert "\x1b" not in listing and len(listing.strip().split("\n")) == 2
    assert "evil\\nname\\x1b[31mred.txt" in listing


def test_uploads_and_bench_output_are_not_tracked_by_git():
    ignored = (PROJECT_ROOT / ".gitignore").read_text().split()
    assert "/uploads/" in ignored and "/bench/" in ignored
    if shutil.which("git") and (PROJECT_ROOT / ".git").exists():
        # What `git status` would show: both are ignored where the app and bench write them.
        checked = subprocess.run(
            ["git", "check-ignore", "uploads/speech.txt", "bench/bench.json"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
        )
        assert checked.stdout.split() == ["uploads/speech.txt", "bench/bench.json"]


# -- 9. files that expand when read, metadata files that lie ------------------------------


def test_bombs_and_bad_metadata_are_one_skip_line_each_and_a_year_in_text_still_filters(tmp_path):
    from tests.unit.test_loading import _repeated, _word_with_body

    folder = tmp_path / "statements"
    folder.mkdir()
    text = "Statement on reform.\n\nWe call for reform of the Security Council and a seat for Africa.\n"
    for name, meta in {
        "kenya": '{"year": "2020", "country": "kenya", "speaker": "Evil\\u001b]0;owned\\u0007 Name"}',
        "brazil": '\ufeff{"country": "BRA", "year": 2021}',
        "lying": '{"year": "last year"}',
    }.items():
        (folder / f"{name}.txt").write_text(text.replace("Africa", f"Africa ({name})"))
        (folder / f"{name}.meta.json").write_text(meta, encoding="utf-8")
    paragraph = b"<w:p><w:r><w:t>a</w:t></w:r></w:p>"
    _word_with_body(folder / "big.docx", _repeated(paragraph, 60_000_000 // len(paragraph)))
    (folder / "tags.html").write_text("<html><body>" + "<b>x" * 150_000 + "</body></html>")
    index = tmp_path / "index"
    ingested = _rag("ingest", str(folder), "--index", str(index), "-q")
    assert ingested.returncode == 0 and "Traceback" not in ingested.stderr, ingested.stderr[-2000:]
    lines = ingested.stderr
    assert re.search(
        r"skipped \S*big\.docx: Word file expands to more than 50 MB of XML \(the limit\)", lines
    )
    assert re.search(r"skipped \S*tags\.html: HTML file has more than 100,000 tags \(the limit\)", lines)
    assert re.search(
        r"skipped \S*lying\.txt: its metadata file lying\.meta\.json gives year 'last year'", lines
    )
    documents = {Path(d.source).name: d.metadata for d in Index.open(index).documents.values()}
    assert set(documents) == {"kenya.txt", "brazil.txt"}  # the metadata file with a BOM is read
    assert documents["kenya.txt"]["year"] == 2020 and documents["kenya.txt"]["country"] == "KEN"
    assert documents["kenya.txt"]["speaker"] == "Evil Name"
    # A year filter over the whole index: "2020" as text ended every such question in a TypeError.
    asked = _rag("ask", "What did they say about a seat for Africa?", "--index", str(index), "--year", "2020")
    assert asked.returncode == 0 and "Traceback" not in asked.stderr, asked.stderr[-2000:]
    assert "Africa (kenya)" in asked.stdout and "Africa (brazil)" not in asked.stdout
    assert "\x1b" not in ingested.stderr + asked.stdout + asked.stderr
