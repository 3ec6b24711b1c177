"""Ingesting a tar archive (.tar.gz, .tgz, .tar) without unpacking it: the documents,
metadata and skips its unpacked folder gives, sources naming the member, resumable and
incremental runs, pruning inside the archive only, and one sentence for a damaged one."""

from __future__ import annotations

import gzip
import io
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from rag import loading
from rag.errors import InputError
from rag.ingest import IngestReport, ingest, open_or_create
from rag.loading import Skipped, load_documents
from rag.storage import Index
from rag.types import Document
from tests.unit.fakes import Interrupted, KeywordEmbedder, StopsAfter

PARAGRAPH = (
    "The reform of the Security Council is the priority. Africa must have seats. The veto "
    "should be limited. Peacekeeping needs sustained funding from every member."
)
STATEMENTS = {
    "ungdc/Session 79 - 2024/CHN_79_2024.txt": f"China on Council reform.\n\n{PARAGRAPH}",
    "ungdc/Session 79 - 2024/BRA_79_2024.txt": "Brazil: climate funding and the veto.\n\nA fair Council.",
    "ungdc/Session 78 - 2023/KEN_78_2023.txt": "Kenya: Africa's seats on the Security Council.",
    "ungdc/notes/address.txt": "Remarks on peacekeeping funding, 24 September 2024.",
    "ungdc/notes/address.meta.json": '{"country": "Kenya", "speaker": "William Ruto"}',
    "ungdc/Session 79 - 2024/.DS_Store": "\x00\x01Bud1\x00\x00",
    "ungdc/Session 78 - 2023/.Rhistory": "library(readtext)",
    "ungdc/.git/notes.txt": "Not a statement: inside a hidden folder.",
    "ungdc/table.csv": "a,b\n1,2\n",
}


def _folder(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def _archive(path: Path, files: dict[str, str], extra: list[tarfile.TarInfo] = ()) -> Path:
    """An archive of ``files`` (name: text) with their folders, then the ``extra`` members."""
    mode = "w" if path.name.endswith(".tar") else "w:gz"
    with tarfile.open(path, mode) as tar:
        folders = sorted({str(Path(n).parent) for n in files} | {"ungdc"})
        for folder in folders:
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for name, text in files.items():
            data = text.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info in extra:
            tar.addfile(info)
    return path


def _special(name: str, kind: bytes, target: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


def _by_name(items, root: str) -> tuple[dict[str, Document], dict[str, str]]:
    """Documents and skip reasons by their name inside ``root`` (a folder or an archive)."""
    docs = {d.source.split(root + "/", 1)[1]: d for d in items if isinstance(d, Document)}
    skipped = {str(s.path).split(root + "/", 1)[1]: s.reason for s in items if isinstance(s, Skipped)}
    return docs, skipped


@pytest.mark.parametrize("suffix", [".tar.gz", ".tgz", ".tar"])
def test_an_archive_gives_the_documents_metadata_and_skips_of_its_unpacked_folder(tmp_path, suffix):
    archive = _archive(tmp_path / f"corpus{suffix}", STATEMENTS)
    unpacked = _folder(tmp_path / "unpacked", STATEMENTS)
    from_archive, archive_skips = _by_name(list(load_documents([archive], tmp_path)), f"corpus{suffix}")
    from_folder, folder_skips = _by_name(list(load_documents([unpacked], tmp_path)), "unpacked")
    assert (
        sorted(from_archive)
        == sorted(from_folder)
        == [
            "ungdc/Session 78 - 2023/KEN_78_2023.txt",
            "ungdc/Session 79 - 2024/BRA_79_2024.txt",
            "ungdc/Session 79 - 2024/CHN_79_2024.txt",
            "ungdc/notes/address.txt",
        ]
    )
    for name, doc in from_archive.items():
        same = from_folder[name]
        assert (doc.doc_id, doc.text, doc.metadata) == (same.doc_id, same.text, same.metadata)
        assert doc.source == f"corpus{suffix}/{name}"  # the member, inside the archive
    china = from_archive["ungdc/Session 79 - 2024/CHN_79_2024.txt"].metadata
    assert (china["country"], china["session"], china["year"]) == ("CHN", 79, 2024)
    # The metadata file beside a statement in the archive is read with it.
    notes = from_archive["ungdc/notes/address.txt"].metadata
    assert notes["country"] == "KEN" and notes["speaker"] == "William Ruto"
    assert (
        archive_skips
        == folder_skips
        == {
            "ungdc/Session 79 - 2024/.DS_Store": "hidden file",
            "ungdc/Session 78 - 2023/.Rhistory": "hidden file",
            "ungdc/.git": "hidden folder",
            "ungdc/table.csv": "unsupported file type '.csv'",
        }
    )


def test_links_devices_and_archives_in_an_archive_are_skipped_saying_why(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET words that must never reach the index.")
    inside = "ungdc/Session 79 - 2024/CHN_79_2024.txt"
    extra = [
        _special("ungdc/passwd.txt", tarfile.SYMTYPE, "/etc/passwd"),
        _special("ungdc/secret.txt", tarfile.SYMTYPE, "../../secret.txt"),
        _special("ungdc/copy.txt", tarfile.SYMTYPE, "Session 79 - 2024/CHN_79_2024.txt"),
        _special("ungdc/hard.txt", tarfile.LNKTYPE, inside),
        _special("ungdc/pipe.txt", tarfile.FIFOTYPE),
        _special("ungdc/tty.txt", tarfile.CHRTYPE),
        _special("ungdc/inner.tgz", tarfile.REGTYPE),
    ]
    archive = _archive(tmp_path / "links.tar.gz", {inside: PARAGRAPH}, extra)
    with tarfile.open(archive) as tar:
        assert len(tar.getmembers()) == 10  # ungdc, its session folder, the statement, 7 others
    items = list(load_documents([archive], tmp_path))
    docs, skipped = _by_name(items, "links.tar.gz")
    assert list(docs) == [inside]
    assert skipped == {
        "ungdc/passwd.txt": "link to /etc/passwd, outside the archive (never followed)",
        "ungdc/secret.txt": "link to ../../secret.txt, outside the archive (never followed)",
        "ungdc/copy.txt": f"link to {inside} in the archive (its target is read where it is)",
        "ungdc/hard.txt": f"link to {inside} in the archive (its target is read where it is)",
        "ungdc/pipe.txt": "not a regular file (a FIFO)",
        "ungdc/tty.txt": "not a regular file (a character device)",
        "ungdc/inner.tgz": "an archive inside the archive (unpack the outer one to ingest it)",
    }
    assert not any("SECRET" in d.text for d in docs.values())


def test_a_member_named_out_of_the_archive_or_twice_is_read_as_unpacking_would(tmp_path):
    archive = tmp_path / "odd.tar"
    with tarfile.open(archive, "w") as tar:
        for name, text in [
            ("../escape.txt", "Climbing out of the archive."),
            ("./ungdc/a.txt", "The first copy of a."),
            ("ungdc/a.txt", "The later copy of a, which unpacking keeps."),
        ]:
            info = tarfile.TarInfo(name)
            info.size = len(text)
            tar.addfile(info, io.BytesIO(text.encode()))
    items = list(load_documents([archive], tmp_path))
    docs, skipped = _by_name(items, "odd.tar")
    assert {name: d.text for name, d in docs.items()} == {
        "ungdc/a.txt": "The later copy of a, which unpacking keeps."
    }
    assert skipped == {"../escape.txt": "its name leads outside the archive"}


def test_a_member_past_the_size_limit_is_skipped_naming_the_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(loading, "MAX_MEMBER_MB", 0.0001)  # 100 bytes
    archive = _archive(tmp_path / "big.tar.gz", {"ungdc/small.txt": "Short.", "ungdc/long.txt": PARAGRAPH})
    docs, skipped = _by_name(list(load_documents([archive], tmp_path)), "big.tar.gz")
    assert list(docs) == ["ungdc/small.txt"]
    assert skipped == {"ungdc/long.txt": "larger than 0.0001 MB (the limit for a file read from an archive)"}


# A member claiming 150 MB, a few hundred KB compressed: listed and skipped, never held.
_MEASURE = """
import json, sys, time
from pathlib import Path
from rag.loading import Skipped, load_documents

start = time.perf_counter()
items = list(load_documents([Path(sys.argv[1])], Path(sys.argv[1]).parent))
status = Path("/proc/self/status").read_text()
peak_kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM")))
print(json.dumps({
    "seconds": time.perf_counter() - start,
    "peak_mb": peak_kb / 1024,
    "skipped": {str(i.path.name): i.reason for i in items if isinstance(i, Skipped)},
    "loaded": [i.source for i in items if not isinstance(i, Skipped)],
}))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads its peak memory from /proc")
def test_a_member_claiming_150_mb_is_skipped_in_bounded_memory(tmp_path):
    import json

    from rag.settings import PROJECT_ROOT

    archive = tmp_path / "bomb.tar.gz"
    with tarfile.open(archive, "w:gz", compresslevel=1) as tar:
        info = tarfile.TarInfo("ungdc/zeros.txt")
        info.size = 150_000_000
        tar.addfile(info, io.BufferedReader(_Zeros(info.size)))
        text = PARAGRAPH.encode()
        info = tarfile.TarInfo("ungdc/CHN_79_2024.txt")
        info.size = len(text)
        tar.addfile(info, io.BytesIO(text))
    assert archive.stat().st_size < 2_000_000
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(archive)], capture_output=True, text=True, cwd=PROJECT_ROOT
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout)
    assert seen["loaded"] == ["bomb.tar.gz/ungdc/CHN_79_2024.txt"]
    assert seen["skipped"] == {"zeros.txt": "larger than 100 MB (the limit for a file read from an archive)"}
    assert seen["peak_mb"] < 100, seen


class _Zeros(io.RawIOBase):
    def __init__(self, size: int):
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


def test_an_archive_inside_a_folder_is_skipped_saying_how_to_ingest_it(tmp_path):
    folder = _folder(tmp_path / "downloads", {"note.txt": PARAGRAPH})
    _archive(folder / "corpus.tar.gz", STATEMENTS)
    _, skipped = _by_name(list(load_documents([folder], tmp_path)), "downloads")
    assert skipped == {
        "corpus.tar.gz": "an archive inside a folder (name it on the command line to ingest its statements)"
    }


def _open(path: Path, embedder):
    return open_or_create(path, embedder, 200, 50, store="memory")


def _ingest(paths, index_dir: Path, embedder, home: Path, **kw) -> IngestReport:
    return ingest(paths, _open(index_dir, embedder), embedder, home, progress=False, **kw)


def _long_statements(count: int) -> dict[str, str]:
    return {
        f"ungdc/Session 79 - 2024/C{i:02d}_79_2024.txt": "\n\n".join(
            f"Statement {i}, part {p}. {PARAGRAPH}" for p in range(6)
        )
        for i in range(count)
    }


def test_an_interrupted_archive_ingest_continues_and_a_second_run_finds_it_unchanged(tmp_path):
    files = _long_statements(6)
    archive = _archive(tmp_path / "corpus.tar.gz", files)
    stopping = StopsAfter(2)
    with pytest.raises(Interrupted):
        _ingest([archive], tmp_path / "idx", stopping, tmp_path, batch=8)
    kept = Index.open(tmp_path / "idx")
    assert 0 < len(kept.documents) < 6
    embedder = KeywordEmbedder()
    done = _ingest([archive], tmp_path / "idx", embedder, tmp_path, batch=8)
    saved, partial = len(kept.documents), len(kept.incomplete)
    assert (len(done.added), len(done.continued), len(done.unchanged)) == (
        6 - saved,
        partial,
        saved - partial,
    )
    # The same chunks as one uninterrupted run of the unpacked folder.
    whole = KeywordEmbedder()
    _ingest([_folder(tmp_path / "unpacked", files)], tmp_path / "folder-idx", whole, tmp_path, batch=8)
    assert embedder.embedded + 16 == whole.embedded  # two batches of 8 were saved before the stop
    by_id = {d.doc_id: d for d in Index.open(tmp_path / "idx").documents.values()}
    unpacked = Index.open(tmp_path / "folder-idx")
    assert set(by_id) == set(unpacked.documents)
    assert all(by_id[i].metadata == unpacked.documents[i].metadata for i in by_id)
    assert len(Index.open(tmp_path / "idx").chunks) == len(unpacked.chunks)
    again = KeywordEmbedder()
    report = _ingest([archive], tmp_path / "idx", again, tmp_path, batch=8)
    assert len(report.unchanged) == 6 and again.embedded == 0 and not report.changed
    assert report.lines()[-1] == "0 added, 0 replaced, 6 unchanged, 0 removed; 0 chunks embedded"


def test_prune_drops_members_gone_from_the_archive_and_nothing_outside_it(tmp_path, embedder):
    archive = _archive(tmp_path / "corpus.tar.gz", STATEMENTS)
    other = _folder(tmp_path / "other", {"note.txt": "Another statement on peacekeeping funding."})
    _ingest([archive, other], tmp_path / "idx", embedder, tmp_path)
    (tmp_path / "single.txt").write_text("A single statement on climate funding.")
    _ingest([tmp_path / "single.txt"], tmp_path / "idx", embedder, tmp_path)
    fewer = {k: v for k, v in STATEMENTS.items() if "BRA_79" not in k}
    _archive(archive, fewer)
    report = _ingest([archive], tmp_path / "idx", embedder, tmp_path, prune=True)
    assert [d.source for d in report.removed] == ["corpus.tar.gz/ungdc/Session 79 - 2024/BRA_79_2024.txt"]
    sources = sorted(d.source for d in Index.open(tmp_path / "idx").documents.values())
    assert "other/note.txt" in sources and "single.txt" in sources and len(sources) == 5


def test_skipped_members_are_reported_as_skipped_files_are(tmp_path, embedder):
    archive = _archive(tmp_path / "corpus.tar.gz", STATEMENTS)
    lines = _ingest([archive], tmp_path / "idx", embedder, tmp_path).lines()
    assert f"skipped {archive}/ungdc/Session 79 - 2024/.DS_Store: hidden file" in lines
    assert f"skipped {archive}/ungdc/.git: hidden folder" in lines
    assert lines[-1].startswith("4 added, 0 replaced, 0 unchanged")


def test_progress_counts_members_with_a_total_so_the_bar_shows_time_left(tmp_path, embedder, capsys):
    archive = _archive(tmp_path / "corpus.tar.gz", STATEMENTS)
    told: list[tuple[int, int]] = []
    ingest(
        [archive],
        _open(tmp_path / "idx", embedder),
        embedder,
        tmp_path,
        progress=lambda n, t: told.append((n, t)),
    )
    # 4 statements, 2 hidden files, a hidden folder and a .csv: 8 in all, each counted once.
    assert told[0] == (0, 8) and told[-1] == (8, 8)
    ingest([archive], _open(tmp_path / "idx2", embedder), embedder, tmp_path, progress=True)
    bar = capsys.readouterr().err
    assert re.search(r"Embedding: 100%\|[^|]*\| 8/8 \[\d\d:\d\d<\d\d:\d\d", bar), bar[-300:]


def _damaged(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """Archives that cannot be read, each with the words its sentence must hold."""
    whole = _archive(tmp_path / "whole.tar.gz", _long_statements(20)).read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    plain = _archive(tmp_path / "whole.tar", _long_statements(3))
    with tarfile.open(plain) as tar:
        second = tar.getmembers()[3].offset  # the second statement's header
    whole_tar = plain.read_bytes()
    at_member = tmp_path / "cut-at-a-member.tar"
    at_member.write_bytes(whole_tar[:second])  # ends after a whole member, without its zeros
    garbled = tmp_path / "garbled.tar"
    garbled.write_bytes(whole_tar[:second] + b"\xff" * 512 + whole_tar[second + 512 :])
    text = tmp_path / "notes.tar.gz"
    text.write_text("These are notes, not an archive.")
    gzipped_text = tmp_path / "text.tgz"
    gzipped_text.write_bytes(gzip.compress(b"Plain words, compressed, but no tar archive." * 20))
    return {
        "cut": (cut, "is cut short"),
        "cut at a member": (at_member, "is cut short"),
        "garbled": (garbled, "is damaged (a member's header is garbled"),
        "text": (text, "is not a tar archive"),
        "gzipped text": (gzipped_text, "is not a tar archive"),
    }


def test_a_damaged_or_false_archive_is_one_sentence_and_the_index_keeps_what_it_had(tmp_path, embedder):
    archive = _archive(tmp_path / "corpus.tar.gz", STATEMENTS)
    _ingest([archive], tmp_path / "idx", embedder, tmp_path)
    before = sorted(Index.open(tmp_path / "idx").documents)
    for kind, (bad, words) in _damaged(tmp_path).items():
        with pytest.raises(InputError) as caught:
            _ingest([archive, bad], tmp_path / "idx", embedder, tmp_path, prune=True)
        message = str(caught.value)
        assert words in message and str(bad) in message, kind
        assert "\n" not in message and message.endswith(".") and message.count(". ") == 0, message
        assert sorted(Index.open(tmp_path / "idx").documents) == before, kind
