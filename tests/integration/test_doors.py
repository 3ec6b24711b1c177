"""Doors an adversarial run found open in the app, each shut and tested through the real
server over plain HTTP: what any web client can send, the app must never turn into a file,
a stall or a traceback."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from rag.pipeline import Pipeline
from rag.storage import Index
from tests.conftest import WANG_YI
from tests.integration.test_reliability import ENV, _free_port

SECRET = "api_key = 'sk-the-operators-own-key'"


@pytest.fixture(scope="module")
def served(pipeline, tmp_path_factory):
    """The real app on 127.0.0.1, on its own home with a copy of the seed index, and a file
    beside it in the temp folder (where Gradio would serve files from) that holds a key."""
    from ui.app import launch

    home = tmp_path_factory.mktemp("doors")
    shutil.copytree(pipeline.settings.index_dir, home / "index" / "default")
    (home / "rag.toml").write_text(SECRET + "\n")
    settings = pipeline.settings.with_overrides(home=home, index_dir=home / "index" / "default")
    port = _free_port()
    demo = launch(
        Pipeline(settings, Index.open(settings.index_dir), pipeline.embedder), port=port, block=False
    )
    yield f"http://127.0.0.1:{port}", home
    demo.close()


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _call(base: str, fn_index: int, data: list[Any]) -> dict[str, Any]:
    """One event, as a page (or any HTTP client) calls it: join the queue, read the stream
    until the event completes; its output message."""
    session = uuid.uuid4().hex
    body = json.dumps({"data": data, "fn_index": fn_index, "session_hash": session, "event_data": None})
    join = urllib.request.Request(
        f"{base}/gradio_api/queue/join", body.encode(), {"Content-Type": "application/json"}
    )
    urllib.request.urlopen(join, timeout=30).read()
    with urllib.request.urlopen(f"{base}/gradio_api/queue/data?session_hash={session}", timeout=60) as stream:
        for line in stream:
            if line.startswith(b"data:"):
                message = json.loads(line[5:])
                if message.get("msg") == "process_completed":
                    return message
    raise AssertionError("the event never completed")


def _restore_event(config: dict[str, Any]) -> tuple[int, int]:
    """The page-load event that restores the conversation from the browser's storage: its
    fn_index, and the place of the chat among its outputs."""
    kinds = {c["id"]: c["type"] for c in config["components"]}
    for i, dep in enumerate(config["dependencies"]):
        inputs = [kinds[c] for c in dep["inputs"]]
        outputs = [kinds[c] for c in dep["outputs"]]
        if (
            inputs == ["browserstate"]
            and "chatbot" in outputs
            and any(t[1] == "load" for t in dep["targets"])
        ):
            return i, outputs.index("chatbot")
    raise AssertionError("no restore event found")


def _paths(value: Any) -> list[str]:
    """Every file reference anywhere in a JSON value."""
    if isinstance(value, dict):
        found = [str(value[k]) for k in ("path", "url") if isinstance(value.get(k), str)]
        return found + [p for v in value.values() for p in _paths(v)]
    if isinstance(value, list):
        return [p for v in value for p in _paths(v)]
    return []


def test_a_stored_conversation_naming_a_file_never_makes_the_server_serve_it(served):
    """A client restores a "conversation" whose messages are {"path": …} to the operator's
    rag.toml: the chat comes back as text only, and no URL of the server gives the file."""
    base, home = served
    status, raw = _get(f"{base}/config")
    assert status == 200
    config = json.loads(raw)
    fn_index, chat_at = _restore_event(config)
    secret_file = str(home / "rag.toml")
    forged = [
        {"role": "assistant", "content": {"path": secret_file}},
        {"role": "assistant", "content": {"file": {"path": secret_file}, "alt_text": None}},
        {
            "role": "user",
            "content": [{"type": "file", "file": {"path": secret_file}}, {"type": "text", "text": "hi"}],
        },
        {"role": "assistant", "content": "An ordinary answer."},
    ]
    saved = {
        "": {
            "current": "a",
            "conversations": {"a": {"title": "t", "updated": 1, "chat": forged, "turns": []}},
        }
    }
    done = _call(base, fn_index, [saved])
    assert done["success"], done
    assert _paths(done["output"]) == []
    chat = done["output"]["data"][chat_at]
    shown = [[part.get("text") for part in m["content"]] for m in chat]
    assert shown == [["hi"], ["An ordinary answer."]], chat
    # Nor can any served-file route give it out.
    for url in (f"{base}/gradio_api/file={secret_file}", f"{base}/file={secret_file}"):
        status, body = _get(url)
        assert SECRET.encode() not in body, url


def test_an_api_request_carrying_a_file_in_its_chat_gets_text_back(served):
    """/ask called over HTTP with a chat whose earlier message names a file: the answer
    comes back, the chat as text, and nothing names the file."""
    base, home = served
    config = json.loads(_get(f"{base}/config")[1])
    kinds = {c["id"]: c["type"] for c in config["components"]}
    ask = next(i for i, d in enumerate(config["dependencies"]) if d.get("api_name") == "ask")
    dep = config["dependencies"][ask]
    values: list[Any] = []
    for c in dep["inputs"]:
        component = next(x for x in config["components"] if x["id"] == c)
        values.append(component.get("props", {}).get("value"))
    at = {kinds[c]: n for n, c in enumerate(dep["inputs"])}
    ids = {c["id"]: c.get("props", {}).get("elem_id") for c in config["components"]}
    values[[ids[c] for c in dep["inputs"]].index("question")] = (
        "Who did Wang Yi meet to discuss Security Council reform?"
    )
    secret_file = {"path": str(home / "rag.toml"), "meta": {"_type": "gradio.FileData"}}
    earlier = [{"role": "user", "content": [{"type": "text", "text": "earlier"}]}]
    values[at["chatbot"]] = [
        *earlier,
        {"role": "assistant", "content": [{"type": "file", "file": secret_file}]},
    ]
    refused = _call(base, ask, values)  # Gradio refuses a file the client did not upload
    assert _paths(refused.get("output")) == [] and SECRET not in json.dumps(refused)
    values[at["chatbot"]] = earlier
    done = _call(base, ask, values)
    assert done["success"], done
    assert _paths(done["output"]) == []
    # A lone surrogate in the question (JSON's "\udcff"): an answer, not a TypeError.
    values[[ids[c] for c in dep["inputs"]].index("question")] = "Who did Wang Yi meet \udcff about reform?"
    odd = _call(base, ask, values)
    assert odd["success"] and "Al-Thani" in json.dumps(odd["output"]), odd
    assert "Al-Thani" in json.dumps(done["output"]), json.dumps(done["output"])[:3000]


# -- the terminal: a history file and a question are input like any other ----------------


def _cli(*args: str | bytes, home: Path) -> subprocess.CompletedProcess:
    env = {**ENV, "RAG_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], env=env, capture_output=True, timeout=300)


@pytest.fixture(scope="module")
def cli_home(pipeline, tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("cli")
    shutil.copytree(pipeline.settings.index_dir, home / "index" / "default")
    return home


def _one_sentence(done: subprocess.CompletedProcess, says: str) -> None:
    err = done.stderr.decode("utf-8", "replace")
    assert done.returncode == 1, err
    assert "Traceback" not in err and err.strip().count("\n") == 0 and says in err, err


@pytest.mark.parametrize(
    "content, says",
    [
        (b"[" * 100_000 + b"]" * 100_000, "nests its JSON too deeply"),
        (b'{"question": "\xff\xfe caf\xe9"}', "is not UTF-8 text"),
        (b'{"question": 12}', "is not a list of earlier answers"),
        (b"[1, 2]", "is not a list of earlier answers"),
    ],
)
def test_a_bad_history_file_is_one_sentence(cli_home, tmp_path, content, says):
    history = tmp_path / "history.json"
    history.write_bytes(content)
    _one_sentence(_cli("ask", "And in 2021?", "--history", str(history), home=cli_home), says)


def test_a_long_history_is_read_in_one_pass_and_a_huge_earlier_question_stalls_nothing(cli_home, tmp_path):
    """14 MB of accumulated `rag ask --json` output (before: 148 s to read), its last turn
    a 220 KB question (before: 39 s in the follow-up's scope reading)."""
    earlier = _cli("ask", WANG_YI, "--json", home=cli_home)
    assert earlier.returncode == 0, earlier.stderr
    small = json.dumps({"question": "And in 2018?", "understood": "And in 2018?", "cited": []}).encode()
    huge = json.dumps({"question": "What was said from 2019 on " * 8_000 + "?", "citations": []}).encode()
    history = tmp_path / "history.json"
    history.write_bytes(small * (14_000_000 // len(small)) + earlier.stdout + huge)
    started = time.perf_counter()
    done = _cli("ask", "What did he say their priority should be?", "--history", str(history), home=cli_home)
    took = time.perf_counter() - started
    print(f"\n[history] {history.stat().st_size / 1e6:.1f} MB history, follow-up answered in {took:.1f} s")
    assert done.returncode == 0, done.stderr
    assert took < 30  # a cold `rag ask` is a few seconds here; before the fix, minutes


def test_a_question_that_is_not_valid_utf8_gets_an_answer_or_a_refusal(cli_home):
    """Bytes that are not UTF-8 in the question (a lone surrogate once decoded): before, a
    TypeError traceback from the tokenizer."""
    done = _cli("ask", b"Who did Wang Yi meet \xff\xfe to discuss Security Council reform?", home=cli_home)
    assert done.returncode == 0, done.stderr
    assert b"Traceback" not in done.stderr and b"Al-Thani" in done.stdout


def test_the_statement_filter_names_files_without_the_servers_folders(pipeline, tmp_path):
    """A statement ingested from outside the app's home: its choice in "Only these
    statements" shows its file name only (every client receives the choices), and
    choosing it still keeps the answer to it."""
    from ui.app import App

    home = tmp_path / "home"
    shutil.copytree(pipeline.settings.index_dir, home / "index" / "default")
    outside = tmp_path / "private" / "folders" / "freedonia.txt"
    outside.parent.mkdir(parents=True)
    outside.write_text("Statement of Freedonia\n\nFreedonia proposed a moratorium on deep-sea mining.\n")
    added = _cli("ingest", str(outside), "-q", home=home)
    assert added.returncode == 0, added.stderr
    settings = pipeline.settings.with_overrides(home=home, index_dir=home / "index" / "default")
    app = App(Pipeline(settings, Index.open(settings.index_dir), pipeline.embedder), tmp_path / "reports")
    choices = app.document_choices()
    assert not any(str(tmp_path) in label or str(tmp_path) in value for label, value in choices)
    (value,) = [v for label, v in choices if "freedonia.txt" in label]
    *_, (chat, _, panel, _) = app.respond("What did Freedonia propose?", [], [], documents=[value])
    assert "moratorium on deep-sea mining" in chat[-1]["content"]


# -- uploads ----------------------------------------------------------------------------


@pytest.fixture
def app_home(pipeline, tmp_path):
    from ui.app import App

    home = tmp_path / "home"
    shutil.copytree(pipeline.settings.index_dir, home / "index" / "default")
    settings = pipeline.settings.with_overrides(home=home, index_dir=home / "index" / "default")
    return App(Pipeline(settings, Index.open(settings.index_dir), pipeline.embedder), tmp_path / "reports")


def test_an_upload_on_a_full_disk_is_one_sentence_and_leaves_nothing_behind(app_home, tmp_path):
    """The disk fills while an upload is copied: one sentence without the server's folders,
    no truncated copy under the name, and the same upload later keeps its own name."""
    import resource
    import signal

    upload = tmp_path / "given" / "freedonia.txt"
    upload.parent.mkdir()
    upload.write_text(
        "Statement of Freedonia\n\n" + "Freedonia proposed a moratorium on deep-sea mining. " * 3000
    )
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    old = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64_000, hard))  # writes past 64 KB fail as on a full disk
    try:
        status = app_home.library.add(None, [str(upload)])
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old)
    assert status == "Could not keep freedonia.txt (File too large); nothing was added.", status
    uploads = app_home.pipeline.settings.uploads_dir
    assert list(uploads.iterdir()) == []
    again = app_home.library.add(None, [str(upload)])
    assert "1 added" in again and "(2)" not in again
    assert [p.name for p in uploads.iterdir()] == ["freedonia.txt"]


def test_an_upload_the_index_does_not_take_is_not_kept(app_home, pipeline, tmp_path):
    """A copy of a statement already indexed, and a file that cannot be read, uploaded:
    each is reported, and neither stays in uploads/."""
    seed = next(d for d in pipeline.documents())
    given = tmp_path / "given"
    given.mkdir()
    (given / "copy.txt").write_text(seed.text)
    (given / "empty.txt").write_text("   \n")
    status = app_home.library.add(None, [str(given / "copy.txt"), str(given / "empty.txt")])
    assert "same text as" in status and "empty" in status, status
    assert list(app_home.pipeline.settings.uploads_dir.iterdir()) == []


def _post_files(base: str, count: int, size: int = 10, name: str = 'filename="f{i}.txt"') -> tuple[int, str]:
    boundary = "rag-test-boundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; {name.format(i=i)}\r\n'
        f"Content-Type: text/plain\r\n\r\n{'x' * size}\r\n"
        for i in range(count)
    ]
    body = ("".join(parts) + f"--{boundary}--\r\n").encode()
    request = urllib.request.Request(
        f"{base}/gradio_api/upload", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_the_upload_endpoint_takes_no_more_than_one_upload_may_hold(served):
    """Gradio's own /gradio_api/upload, called over HTTP: more files than one upload may
    hold is refused with one sentence before any is stored; within the limit, stored."""
    base, _ = served
    status, text = _post_files(base, 2)
    assert status == 200 and len(json.loads(text)) == 2
    status, text = _post_files(base, 21)
    assert status == 413 and text == "An upload takes at most 20 files of 10 MB each; add them in parts."
    # However the parts name their files (found by an adversarial run: the count read names).
    for name in ("filename=f{i}.txt", 'FILENAME="f{i}.txt"', 'filename = "f{i}.txt"'):
        assert _post_files(base, 200, name=name)[0] == 413, name
    status, text = _post_files(base, 1, name="filename*=UTF-8''f{i}.txt")  # a 500 in Gradio before
    assert status == 400 and "plain" in text
    # A body that says it is larger than 20 files of 10 MB: refused on its size alone.
    import http.client

    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.putrequest("POST", "/gradio_api/upload")
    connection.putheader("Content-Type", "multipart/form-data; boundary=b")
    connection.putheader("Content-Length", str(201_000_000))
    connection.endheaders(b"--b\r\n")
    response = connection.getresponse()
    assert response.status == 413 and b"at most 20 files" in response.read()
    connection.close()


def test_odd_values_from_a_client_are_one_sentence_never_a_traceback(served):
    """/ask with NaN passages (JSON as Python reads it) and a citation request naming no
    citation: a message in the page, not an error from the server."""
    base, home = served
    config = json.loads(_get(f"{base}/config")[1])
    ids = {c["id"]: c.get("props", {}).get("elem_id") for c in config["components"]}
    kinds = {c["id"]: c["type"] for c in config["components"]}
    ask = next(i for i, d in enumerate(config["dependencies"]) if d.get("api_name") == "ask")
    dep = config["dependencies"][ask]
    values = [
        next(x for x in config["components"] if x["id"] == c).get("props", {}).get("value")
        for c in dep["inputs"]
    ]
    values[[ids[c] for c in dep["inputs"]].index("question")] = WANG_YI
    values[[kinds[c] for c in dep["inputs"]].index("slider")] = float("nan")
    done = _call(base, ask, values)
    assert done["success"], done
    assert "whole number" in json.dumps(done["output"])
    opening = next(i for i, d in enumerate(config["dependencies"]) if d.get("api_name") == "open_citation")
    for request in (None, "0:refused:0", "9:c:1", 7):
        done = _call(
            base, opening, [request, []] if len(config["dependencies"][opening]["inputs"]) == 2 else [request]
        )
        assert done["success"] and "no longer available" in json.dumps(done["output"]), (request, done)


def test_a_history_that_is_not_a_regular_file_is_one_sentence(cli_home):
    """`--history /dev/zero` read forever before."""
    done = _cli("ask", "And in 2021?", "--history", "/dev/zero", home=cli_home)
    _one_sentence(done, "is not a regular file")
