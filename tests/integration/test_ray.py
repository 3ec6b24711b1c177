"""`rag ingest --ray` against a real local Ray cluster started on 127.0.0.1 (a head with no
CPUs and two one-CPU workers): the same documents, chunks and gold-set numbers as a
single-process ingestion, and a killed run resumes."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rag.settings import PROJECT_ROOT, SEEDS_DIR
from rag.storage import Index
from tests.conftest import wait_for_progress

RAY = Path(sys.executable).with_name("ray")
ENV = {
    **os.environ,
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "RAY_USAGE_STATS_ENABLED": "0",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if not RAY.is_file():
        pytest.skip("Ray is not installed (pip install 'rag-statements[ray]')")
    temp = tmp_path_factory.mktemp("ray")
    port = _free_port()
    common = ["--node-ip-address=127.0.0.1", "--disable-usage-stats"]
    head = [str(RAY), "start", "--head", f"--port={port}", "--num-cpus=0", "--include-dashboard=false"]
    env = {**ENV, "RAY_TMPDIR": str(temp)}
    try:
        subprocess.run([*head, *common], env=env, check=True, capture_output=True, timeout=120)
        for _ in range(2):
            worker = [str(RAY), "start", f"--address=127.0.0.1:{port}", "--num-cpus=1", *common]
            subprocess.run(worker, env=env, check=True, capture_output=True, timeout=120)
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([str(RAY), "stop", "--force"], env=env, capture_output=True, timeout=120)


def _rag(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rag.cli", *args],
        env=ENV,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _eval(index: Path) -> dict:
    out = _rag("eval", "--index", str(index), "--json", "--no-baseline", "--reports", str(index.parent / "r"))
    assert out.returncode == 0, out.stderr
    numbers = json.loads(out.stdout)["systems"]["ours"]["aggregate"]
    return {k: v for k, v in numbers.items() if "latency" not in k}


def test_an_ingestion_on_ray_is_the_single_process_one(cluster, seed_index_dir, tmp_path):
    index = tmp_path / "index"
    done = _rag("ingest", str(SEEDS_DIR), "--index", str(index), "--ray", cluster, "-q")
    assert done.returncode == 0 and "13 chunks embedded" in done.stderr, done.stderr
    ours, single = Index.open(index), Index.open(seed_index_dir)
    assert {d: (x.source, x.metadata) for d, x in ours.documents.items()} == {
        d: (x.source, x.metadata) for d, x in single.documents.items()
    }
    assert [(c.chunk_id, c.start, c.end) for c in ours.chunks] == [
        (c.chunk_id, c.start, c.end) for c in single.chunks
    ]
    rows = np.arange(len(single.chunks))
    assert np.allclose(ours.vectors_of(rows), single.vectors_of(rows), atol=1e-5)
    assert _eval(index) == _eval(seed_index_dir)


def test_a_killed_ingestion_on_ray_resumes(cluster, tmp_path):
    """Killed once a first batch is saved (workers still embedding the next files), run
    again: it goes on from what was saved and ends as a single-process ingestion does."""
    paragraph = (SEEDS_DIR / "003_3b78ed55776d1c96.txt").read_text(encoding="utf-8")
    folder = tmp_path / "statements"
    folder.mkdir()
    for n in range(12):
        text = "\n\n".join(f"Statement {n}, part {i}.\n\n{paragraph}" for i in range(3))
        (folder / f"s{n:02d}.txt").write_text(text)
    index = tmp_path / "index"
    args = ["ingest", str(folder), "--index", str(index), "--batch", "32", "--ray", cluster]
    child = subprocess.Popen(
        [sys.executable, "-m", "rag.cli", *args], env=ENV, cwd=PROJECT_ROOT, stderr=subprocess.PIPE
    )
    wait_for_progress(child, rb"\b(3[2-9]|[4-9]\d|\d{3}) chunks")  # a batch of 32 saved
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    saved = Index.open(index)
    whole = tmp_path / "whole"
    single = _rag("ingest", str(folder), "--index", str(whole), "-q")
    assert single.returncode == 0, single.stderr
    expected = Index.open(whole)
    assert 0 < len(saved.chunks) < len(expected.chunks)
    done = _rag(*args, "-q")
    assert done.returncode == 0, done.stderr
    embedded = int(re.search(r"(\d+) chunks embedded", done.stderr).group(1))
    assert embedded == len(expected.chunks) - len(saved.chunks)  # nothing saved embedded again
    final = Index.open(index)
    assert not final.incomplete
    assert [(c.chunk_id, c.start, c.end) for c in final.chunks] == [
        (c.chunk_id, c.start, c.end) for c in expected.chunks
    ]


def test_a_ray_address_no_cluster_answers_at_is_one_sentence_and_exit_1(tmp_path):
    index = tmp_path / "index"
    for address in (f"127.0.0.1:{_free_port()}",):
        done = _rag("ingest", str(SEEDS_DIR), "--index", str(index), "--ray", address, "-q")
        err = done.stderr.strip()
        assert done.returncode == 1 and err.startswith("Error: No Ray cluster answers at") and "\n" not in err
    assert not index.exists()
