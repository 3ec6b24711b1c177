"""Shared fixtures: one real embedding model and one real seed index per test session."""

from __future__ import annotations

import os
import re
import subprocess
import tarfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import pytest  # noqa: E402

from rag.embedding import load_embedder  # noqa: E402
from rag.ingest import ingest, open_or_create  # noqa: E402
from rag.pipeline import Pipeline  # noqa: E402
from rag.settings import SEEDS_DIR, load_settings  # noqa: E402

CORPUS = Path(
    os.environ.get("RAG_UNGDC_ARCHIVE")
    or Path(__file__).resolve().parents[2] / "shared" / "corpora" / "ungdc-1946-2024.tar.gz"
)
WANG_YI = "Who did Wang Yi meet to discuss Security Council reform?"
ARCTIC = "What did China say about Arctic shipping routes?"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Every test gets its own RAG_HOME, so nothing touches the checkout's index/."""
    monkeypatch.setenv("RAG_HOME", str(tmp_path / "home"))
    for var in ("RAG_INDEX", "RAG_CONFIG", "RAG_EMBEDDING_MODEL", "RAG_K", "RAG_GENERATOR"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(scope="session")
def embedder():
    return load_embedder("all-MiniLM-L6-v2", device="cpu")


@pytest.fixture(scope="session")
def seed_index_dir(tmp_path_factory, embedder) -> Path:
    path = tmp_path_factory.mktemp("seed") / "index"
    index = open_or_create(path, embedder, 800, 200)
    ingest([SEEDS_DIR], index, embedder, SEEDS_DIR.parent, progress=False)
    return path


@pytest.fixture(scope="session")
def pipeline(seed_index_dir, embedder, tmp_path_factory) -> Pipeline:
    settings = load_settings().with_overrides(home=tmp_path_factory.mktemp("home"), index_dir=seed_index_dir)
    return Pipeline.open(settings, embedder)


def _unpack(wanted: set[str], out: Path) -> Path:
    """The named speeches, unpacked from the real corpus into ``out`` (skips without it)."""
    if not CORPUS.is_file():
        pytest.skip(f"the UN General Debate Corpus is not at {CORPUS}")
    with tarfile.open(CORPUS) as tar:
        for m in tar:
            if m.isfile() and Path(m.name).name in wanted:
                m.name = Path(m.name).name
                tar.extract(m, out, filter="data")
    assert {p.name for p in out.iterdir()} == wanted
    return out


@pytest.fixture(scope="session")
def china_speeches(tmp_path_factory) -> Path:
    """A few of China's General Debate speeches, unpacked from the real corpus."""
    wanted = {"CHN_70_2015.txt", "CHN_74_2019.txt", "CHN_76_2021.txt", "CHN_30_1975.txt"}
    return _unpack(wanted, tmp_path_factory.mktemp("ungdc"))


@pytest.fixture(scope="session")
def speeches_2024(tmp_path_factory) -> Path:
    """Brazil's and Canada's 2024 General Debate speeches: a Markdown list, bold and italics."""
    return _unpack({"BRA_79_2024.txt", "CAN_79_2024.txt"}, tmp_path_factory.mktemp("ungdc-2024"))


@pytest.fixture(scope="session")
def mixed(tmp_path_factory, embedder, china_speeches) -> Pipeline:
    """The seeds and four of China's General Debate speeches (1975, 2015, 2019, 2021),
    which repeat the seeds' words: scope, attribution and determinism are tested on it."""
    home = tmp_path_factory.mktemp("mixed-home")
    index_dir = home / "index" / "mixed"
    index = open_or_create(index_dir, embedder, 800, 200)
    ingest([SEEDS_DIR, china_speeches], index, embedder, home, progress=False)
    return Pipeline.open(load_settings().with_overrides(home=home, index_dir=index_dir), embedder)


def wait_for_progress(child: subprocess.Popen, pattern: bytes, seconds: float = 180) -> bytes:
    """What a child `rag ingest` wrote on stderr until its progress matched ``pattern``
    (a batch saved, say), so a test can interrupt it part-way; fails if it ended first."""
    seen = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not re.search(pattern, seen):
        seen += child.stderr.read1(4096)
        if child.poll() is not None:
            pytest.fail(f"ingestion ended before it could be interrupted: {seen[-300:]!r}")
    return seen
