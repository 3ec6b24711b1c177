"""`rag ingest --ray` against a real local Ray cluster that only this machine can reach (one
node on 127.0.0.1, two CPUs): the same documents, chunks and gold-set numbers as a
single-process ingestion, a killed run resumes, and every Ray process listens on 127.0.0.1."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rag.settings import PROJECT_ROOT, SEEDS_DIR
from rag.storage import Index
from tests.conftest import wait_for_progress

RAY = Path(sys.executable).with_name("ray")
LOCAL_ONLY = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
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
def ray_temp(tmp_path_factory) -> Path:
    """Where the test cluster keeps its sessions (its processes name it when started)."""
    return tmp_path_factory.mktemp("ray")


@pytest.fixture(scope="module")
def cluster(ray_temp):
    """A cluster only this machine can reach, stopped by stopping the process we started
    (`ray stop` would stop every Ray cluster of this user on the machine).

    Ray on Linux replaces 127.0.0.1 with the machine's network address, for the node and
    the servers of every Ray process, unless it runs as on macOS (LOCAL_ONLY): then it
    binds to 127.0.0.1, and refuses further nodes, so the cluster is one node with two
    CPUs (two workers), not a head with two worker nodes."""
    if not RAY.is_file():
        pytest.skip("Ray is not installed (pip install 'rag-statements[ray]')")
    port = _free_port()
    log = ray_temp / "head.log"
    head = [
        str(RAY),
        "start",
        "--head",
        "--block",
        f"--port={port}",
        "--node-ip-address=127.0.0.1",
        "--num-cpus=2",
        "--include-dashboard=false",
        "--disable-usage-stats",
    ]
    env = {**ENV, **LOCAL_ONLY, "RAY_TMPDIR": str(ray_temp)}
    with log.open("wb") as out:
        process = subprocess.Popen(
            head, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 180
        while b"Ray runtime started" not in log.read_bytes():
            assert process.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()  # it stops the node's processes itself, in a few seconds
        try:
            process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


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


def test_an_archive_ingested_on_ray_is_the_single_process_one(cluster, seed_index_dir, tmp_path):
    """The driver reads the archive's members (and their metadata files), in its order, and
    the workers embed them: the documents of the seed folder, under the members' names."""
    import tarfile

    archive = tmp_path / "seeds.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(SEEDS_DIR, arcname="seeds")
    ray, single = tmp_path / "ray", tmp_path / "single"
    done = _rag("ingest", str(archive), "--index", str(ray), "--ray", cluster, "-q")
    assert done.returncode == 0 and "13 chunks embedded" in done.stderr, done.stderr
    assert _rag("ingest", str(archive), "--index", str(single), "-q").returncode == 0
    ours, theirs = Index.open(ray), Index.open(single)
    sources = {x.source for x in ours.documents.values()}
    assert len(sources) == 2 and all(s.startswith(f"{archive}/seeds/") for s in sources)
    assert {d: (x.source, x.metadata) for d, x in ours.documents.items()} == {
        d: (x.source, x.metadata) for d, x in theirs.documents.items()
    }
    folder = Index.open(seed_index_dir).documents
    assert {d: x.metadata for d, x in ours.documents.items()} == {d: x.metadata for d, x in folder.items()}
    assert [(c.chunk_id, c.start, c.end) for c in ours.chunks] == [
        (c.chunk_id, c.start, c.end) for c in theirs.chunks
    ]


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


def _loopback(ip: str) -> bool:
    return ipaddress.ip_address(ip.removeprefix("::ffff:")).is_loopback


def test_every_ray_process_we_start_listens_on_127_0_0_1_only(cluster, ray_temp, capsys):
    """The cluster's nodes, every socket its processes listen on, and those of a driver
    joining it as `rag ingest --ray` does: none reachable from another machine."""
    psutil = pytest.importorskip("psutil")
    driver = (
        "import json, sys, psutil\n"
        "from rag.distributed import Cluster\n"
        "from rag.settings import load_settings\n"
        "ray = Cluster(load_settings(), sys.argv[1], workers=1).ray\n"
        "own = psutil.Process().net_connections('inet')\n"
        "print(json.dumps({'nodes': [n['NodeManagerAddress'] for n in ray.nodes()],\n"
        "    'driver': [c.laddr.ip for c in own if c.status == psutil.CONN_LISTEN]}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", driver, cluster],
        env=ENV,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.splitlines()[-1])
    ours = {p.pid: p.name() for p in psutil.process_iter() if _started_in(p, ray_temp)}
    listening = sorted(
        {
            (ours[c.pid], c.laddr.ip)
            for c in psutil.net_connections("inet")
            if c.status == psutil.CONN_LISTEN and c.pid in ours
        }
    )
    with capsys.disabled():
        print(f"\n[ray] nodes {seen['nodes']}; driver listens on {seen['driver']}; cluster on {listening}")
    assert seen["nodes"] and all(_loopback(ip) for ip in seen["nodes"])
    assert seen["driver"] and all(_loopback(ip) for ip in seen["driver"])
    assert listening and all(_loopback(ip) for _, ip in listening)


def _started_in(process, temp: Path) -> bool:
    """A process of the test cluster: every one inherits the cluster's RAY_TMPDIR."""
    try:
        return process.environ().get("RAY_TMPDIR") == str(temp)
    except Exception:  # noqa: BLE001 - gone, or not ours to read
        return False
