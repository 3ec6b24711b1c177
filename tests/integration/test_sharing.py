"""An app a team shares: questions in parallel on snapshots, a library that follows the
disk (the app's own changes and `rag ingest` / `rag remove` elsewhere), the Library view's
operations, upload limits, regenerate, and the load test with an upload running."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rag.pipeline import Pipeline
from rag.storage import Index
from tests.conftest import WANG_YI
from tests.integration.test_reliability import ENV, LOAD_QUESTIONS, _free_port, _text
from ui.app import App

FREEDONIA = (
    "Statement of the delegation of Freedonia\n\n"
    "The delegation of Freedonia proposed a moratorium on deep-sea mining in international waters. "
    "It asked all states to support the moratorium at the next session.\n"
)
MINING = "What did Freedonia propose about deep-sea mining?"


@pytest.fixture
def home_app(pipeline, seed_index_dir, tmp_path) -> App:
    """The app on its own home with a copy of the seed index as its default."""
    home = tmp_path / "home"
    shutil.copytree(seed_index_dir, home / "index" / "default")
    settings = pipeline.settings.with_overrides(home=home, index_dir=home / "index" / "default")
    return App(Pipeline(settings, Index.open(settings.index_dir), pipeline.embedder), tmp_path / "reports")


def _answer(app: App, question: str, **kw) -> str:
    *_, (history, turns, _, _) = app.respond(question, [], [], **kw)
    return history[-1]["content"]


def _rag(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**ENV, "RAG_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "rag.cli", *args], env=env, capture_output=True, text=True, timeout=300
    )


def test_documents_added_and_removed_on_the_command_line_are_seen_by_the_next_question(home_app, tmp_path):
    """`rag ingest` and `rag remove` in another process while the app runs: its next
    question cites the new statement, then no longer does, without a restart."""
    home = home_app.pipeline.settings.home
    assert "Freedonia" not in _answer(home_app, MINING)
    (tmp_path / "freedonia.txt").write_text(FREEDONIA)
    done = _rag("ingest", str(tmp_path / "freedonia.txt"), "-q", home=home)
    assert done.returncode == 0, done.stderr
    answer = _answer(home_app, MINING)
    assert "moratorium on deep-sea mining" in answer
    assert "3 statements" in home_app.summary()
    source = next(d.source for d in home_app.pipeline.documents() if "Freedonia" in d.text)
    gone = _rag("remove", source, home=home)
    assert gone.returncode == 0, gone.stderr
    assert "moratorium" not in _answer(home_app, MINING)
    assert "2 statements" in home_app.summary()


def test_the_library_lists_searches_removes_and_indexes_again(home_app, tmp_path):
    library = home_app.library
    upload = tmp_path / "freedonia.txt"
    upload.write_text(FREEDONIA)
    assert "1 added" in library.add(None, [str(upload)])
    rows, ids = library.rows(None)
    assert len(rows) == 3 and rows[0][0] == "Statement of the delegation of Freedonia"  # newest first
    title, country, date, speaker, passages, added, source = rows[0]
    assert passages == 1 and source == "uploads/freedonia.txt (uploaded)" and added[:4].isdigit()
    china = [r for r in rows if r[1] == "CHN"]
    assert len(china) == 2 and all(r[3] for r in china)  # the seeds name their speakers
    found, found_ids = library.rows(None, "freedonia")
    assert [r[0] for r in found] == [title] and found_ids == ids[:1]
    assert library.rows(None, "no such words anywhere")[0] == []

    added = home_app.pipeline.snapshot().added[ids[0]]
    renewed = library.renew(None, ids[0])
    # The same text and details: said so, and nothing embedded again.
    assert renewed.startswith(
        "Statement of the delegation of Freedonia is unchanged since it was indexed (the same text and "
        "details): nothing was embedded again."
    ), renewed
    assert "3 statements" in renewed and home_app.pipeline.snapshot().added[ids[0]] == added
    # Its file changed on disk: read again, and the old passages replaced by the new.
    kept = home_app.pipeline.settings.home / "uploads" / "freedonia.txt"
    kept.write_text(FREEDONIA.replace("deep-sea mining", "deep-sea trawling"))
    renewed = library.renew(None, ids[0])
    assert "0 added, 1 replaced" in renewed and "3 statements" in renewed
    assert "moratorium on deep-sea trawling" in _answer(home_app, MINING)
    rows, ids = library.rows(None)

    removed = library.remove(None, ids[0])
    assert "removed Statement of the delegation of Freedonia" in removed and "2 statements" in removed
    assert "moratorium" not in _answer(home_app, MINING)
    assert library.remove(None, "") == "Choose a statement in the table first."
    upload.unlink()
    assert "1 added" in library.add(None, [str(_copy(tmp_path, "again.txt"))])
    rows, ids = library.rows(None)
    (tmp_path / "home" / "uploads" / "again.txt").unlink()
    assert "is gone, so it cannot be read again" in library.renew(None, ids[0])
    assert len(library.rows(None)[0]) == 3  # nothing lost by the refusal


def _copy(folder: Path, name: str) -> Path:
    (folder / name).write_text(FREEDONIA.replace("Freedonia", "Sylvania"))
    return folder / name


def test_another_index_under_the_home_is_asked_by_the_page_that_chooses_it(home_app, tmp_path):
    home = home_app.pipeline.settings.home
    (tmp_path / "only").mkdir()
    (tmp_path / "only" / "freedonia.txt").write_text(FREEDONIA)
    built = _rag("ingest", str(tmp_path / "only"), "--index", str(home / "index" / "other"), "-q", home=home)
    assert built.returncode == 0, built.stderr
    assert home_app.indexes.names() == ["default", "other"]
    assert "moratorium" in _answer(home_app, MINING, index="other")
    assert "1 statement, 1 passage" in home_app.summary("other") and "2 statements" in home_app.summary()
    assert "moratorium" not in _answer(home_app, MINING)  # other pages still ask the default
    *_, (history, turns, _, _) = home_app.respond(MINING, [], [], index="other")
    view = home_app.open_span("0:c:1", turns)  # opened from its own index
    assert "<mark class='cited'>The delegation of Freedonia proposed" in view
    *_, (history, _, _, _) = home_app.respond(MINING, [], [], index="../../etc")
    assert (
        "There is no index called ../../etc here; choose one from the Index list." in history[-1]["content"]
    )


def test_upload_limits_are_one_clear_sentence_and_store_nothing(home_app, tmp_path):
    settings = home_app.pipeline.settings
    big = tmp_path / "big.txt"
    big.write_text("The delegation spoke at length. " * 400_000)  # 12.8 MB
    status = home_app.library.add(None, [str(big)])
    assert status == (
        "big.txt is 12.8 MB, over the 10 MB an upload may be; the operator can add it with rag ingest."
    )
    many = [str(_copy(tmp_path, f"s{i}.txt")) for i in range(settings.upload_max_files + 1)]
    assert "21 files is more than one upload takes (20); add them in parts." == home_app.library.add(
        None, many
    )
    assert not settings.uploads_dir.exists() and "2 statements" in home_app.summary()


def test_regenerate_asks_the_last_question_again_in_place_of_its_answer(home_app):
    *_, (history, turns, _, _) = home_app.respond(WANG_YI, [], [])
    *_, (history, turns, _, _) = home_app.respond(
        "How should security sector reform be funded?", history, turns
    )
    question, before, kept = home_app.take_back(history, turns)
    assert question == "How should security sector reform be funded?"
    assert before == history[:2] and kept == turns[:1]
    # An answer stopped before it finished left no turn: only the chat is cut.
    stopped = [*history[:2], {"role": "user", "content": "Why?"}, {"role": "assistant", "content": "It … "}]
    assert home_app.take_back(stopped, turns[:1]) == ("Why?", history[:2], turns[:1])
    assert home_app.take_back([], []) == ("", [], [])
    # Stopped before its first word, a question never reached the chat: the box keeps it.
    assert home_app.take_back([], [], WANG_YI) == (WANG_YI, [], [])
    # Markup typed in a question comes back as typed, not as entities.
    *_, (history, turns, _, _) = home_app.respond("What about <b>*reform*</b>?", [], [])
    assert home_app.take_back(history, turns)[0] == "What about <b>*reform*</b>?"


def test_questions_answered_in_parallel_while_an_upload_is_embedded(home_app, tmp_path):
    """Questions do not wait for an upload: several are answered, right, while it runs."""
    upload, result = _uploading(home_app, tmp_path, 200_000)
    answers = []
    while upload.is_alive() and len(answers) < 5:
        answers.append(_answer(home_app, WANG_YI))
    assert upload.is_alive(), "the upload ended before questions could be asked during it"
    assert all("Alya Ahmed Saif Al-Thani" in a for a in answers) and len(answers) == 5
    upload.join(300)
    assert "1 added" in result[0]


def _uploading(app: App, folder: Path, size: int) -> tuple[threading.Thread, list[str]]:
    """A long statement being uploaded in the background, once its worker has begun;
    the upload's report lands in the list when it ends."""
    big = folder / "long.txt"
    big.write_text(_long_statement(size))
    started = threading.Event()
    result: list[str] = []
    upload = threading.Thread(
        target=lambda: result.append(app.library.add(None, [str(big)], lambda *_: started.set()))
    )
    upload.start()
    assert started.wait(120)
    return upload, result


SUBJECTS = ["fisheries", "forestry", "rail freight", "wheat harvests", "river dredging", "postal codes"]
PLACES = ["the northern coast", "the lake district", "the capital", "the southern valleys", "the islands"]


def _long_statement(size: int) -> str:
    """A statement of about ``size`` characters on subjects the seeds never touch (so the
    load test's questions keep their own answers), every paragraph a different one."""
    out, n = ["Statement of the delegation of Ruritania on domestic matters"], 0
    while sum(map(len, out)) < size:
        subject, place = SUBJECTS[n % len(SUBJECTS)], PLACES[(n // len(SUBJECTS)) % len(PLACES)]
        out.append(
            f"Paragraph {n + 1}. In {place}, the ministry reviewed {subject} for the {n + 1}th time. "
            f"Output of {subject} rose by {n % 17 + 2} per cent against the plan of year {1990 + n % 30}. "
            f"The committee on {subject} will report to the council of {place} in month {n % 12 + 1}."
        )
        n += 1
    return "\n\n".join(out) + "\n"


def test_sixteen_clients_with_a_500_kb_upload_running(pipeline, seed_index_dir, tmp_path, capsys):
    """The load test: 4, 8 and 16 concurrent `gradio_client` clients through /ask, first
    alone, then while a 500 KB upload is embedded; every answer must be its own question's.
    Latencies are printed (docs/reliability.md), never asserted."""
    from gradio_client import Client, handle_file

    from ui.app import launch

    home = tmp_path / "home"
    shutil.copytree(seed_index_dir, home / "index" / "default")
    settings = pipeline.settings.with_overrides(home=home, index_dir=home / "index" / "default")
    port = _free_port()
    demo = launch(
        Pipeline(settings, Index.open(settings.index_dir), pipeline.embedder), port=port, block=False
    )
    url = f"http://127.0.0.1:{port}/"
    lines, errors, wrong = [], [], []
    try:
        _phase(url, 2, 1, errors, wrong)  # warm: the answer's scorer loads with the first question
        for clients in (4, 8, 16):
            alone = _phase(url, clients, 2, errors, wrong)
            doc = tmp_path / f"upload-{clients}.txt"
            doc.write_text(_long_statement(500_000).replace("Ruritania", f"Ruritania {clients}"))
            upload = Client(url, verbose=False).submit([handle_file(str(doc))], api_name="/upload")
            _wait_for_embedding(upload)
            during = _phase(url, clients, 2, errors, wrong)
            still = not upload.done()
            status = upload.result(timeout=600)
            if "1 added" not in status:
                errors.append(f"upload: {status}")
            lines.append(_row(clients, alone, during, still))
    finally:
        demo.close()
    with capsys.disabled():
        print("\n[load] clients | p50 / p95 alone | p50 / p95 during a 500 KB upload | ratio of p95s")
        for line in lines:
            print("[load] " + line)
    assert errors == [] and wrong == []


def _phase(url: str, clients: int, rounds: int, errors: list[str], wrong: list[str]) -> list[float]:
    from gradio_client import Client

    questions = list(LOAD_QUESTIONS)
    latencies: list[float] = []

    def client(c: int) -> None:
        api = Client(url, verbose=False)
        for r in range(rounds):
            question = questions[(c + r) % len(questions)]
            started = time.perf_counter()
            try:
                chat, _, _ = api.predict(question, [], 5, [], [], None, None, "extractive", api_name="/ask")
            except Exception as exc:  # noqa: BLE001 - counted and reported
                errors.append(f"{question}: {exc}")
                continue
            latencies.append(time.perf_counter() - started)
            if LOAD_QUESTIONS[question] not in _text(chat[-1]) or _text(chat[0]) != question:
                wrong.append(question)

    threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in range(clients)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 300
    for t in threads:
        t.join(timeout=max(1.0, deadline - time.monotonic()))
    if len(latencies) + len(errors) < clients * rounds:
        errors.append(f"{clients} clients: {clients * rounds - len(latencies)} questions unanswered in 300 s")
    return latencies


def _wait_for_embedding(job) -> None:
    """Until the upload reports progress (the worker has started embedding)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not job.done():
        if job.status().progress_data:
            return
        time.sleep(0.2)


def _p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(0.95 * len(values)) - 1)] if values else float("nan")


def _row(clients: int, alone: list[float], during: list[float], still: bool) -> str:
    p50a, p95a = statistics.median(alone or [0]), _p95(alone)
    p50d, p95d = statistics.median(during or [0]), _p95(during)
    note = "" if still else " (the upload had finished before the last question)"
    return (
        f"{clients:>2} | {p50a:.2f} / {p95a:.2f} s | {p50d:.2f} / {p95d:.2f} s | "
        f"{p95d / max(p95a, 1e-9):.2f}{note}"
    )


def test_a_word_file_is_cited_with_exact_offsets_from_the_command_line_and_the_app(home_app, tmp_path):
    import json

    from rag.loading import load_file
    from tests.unit.test_loading import _word_file

    word = _word_file(tmp_path / "ocean.docx")
    text = load_file(word).text
    index = tmp_path / "word-index"
    assert _rag("ingest", str(word), "--index", str(index), "-q", home=tmp_path).returncode == 0
    asked = _rag("ask", MINING, "--index", str(index), "--json", home=tmp_path)
    cited = json.loads(asked.stdout)["citations"]
    assert cited and all(text[c["start"] : c["end"]] == c["quote"] for c in cited)
    assert any("moratorium on deep-sea mining" in c["quote"] for c in cited)

    assert "1 added" in home_app.library.add(None, [str(word)])
    *_, (history, turns, _, _) = home_app.respond(MINING, [], [])
    spans = [span for span in turns[0]["c"].values()]
    doc = home_app.pipeline.document(spans[0][0])
    assert doc.text == text and doc.source == "uploads/ocean.docx"
    assert any("moratorium on deep-sea mining" in doc.text[start:end] for _, start, end in spans)


def test_regenerate_reads_the_chat_as_the_page_sends_it_back(home_app):
    """The page returns each message's content as a list of typed parts."""
    *_, (history, turns, _, _) = home_app.respond(WANG_YI, [], [])
    parts = [{**m, "content": [{"type": "text", "text": m["content"]}]} for m in history]
    assert home_app.take_back(parts, turns) == (WANG_YI, [], [])


def test_a_follow_up_reads_the_conversation_the_request_sends(home_app):
    """An API client that sends no chat history starts afresh, even in the same session."""
    *_, (history, turns, _, _) = home_app.respond(WANG_YI, [], [])
    *_, (with_history, _, _, _) = home_app.respond("What did they congratulate China for?", history, turns)
    assert "Beijing Winter Olympics" in with_history[-1]["content"]
    assert "Understood as" in with_history[-1]["content"]
    *_, (alone, kept, _, _) = home_app.respond("What did they congratulate China for?", [], turns)
    assert "Understood as" not in alone[-1]["content"] and len(kept) == 1


def test_an_upload_goes_on_when_another_process_commits_meanwhile(home_app, tmp_path):
    """`rag ingest` commits while the app's worker embeds an upload: the upload picks up
    what was committed and finishes; both statements are cited, nothing is lost."""
    (tmp_path / "cli").mkdir()
    (tmp_path / "cli" / "freedonia.txt").write_text(FREEDONIA)
    upload, result = _uploading(home_app, tmp_path, 600_000)
    done = _rag("ingest", str(tmp_path / "cli"), "-q", home=home_app.pipeline.settings.home)
    assert done.returncode == 0, done.stderr
    assert upload.is_alive(), "the upload finished before the other process committed"
    upload.join(600)
    assert "changed by another process meanwhile; went on from what was saved" in result[0]
    assert "1 added" in result[0] and "4 statements" in result[0]
    assert "moratorium on deep-sea mining" in _answer(home_app, MINING)
    assert "Ruritania" in _answer(home_app, "What did the ministry review about fisheries in the islands?")


def test_an_app_over_a_qdrant_local_index_adds_uploads_in_its_own_process(pipeline, tmp_path):
    """Qdrant's local mode admits one process: the app makes such an index's changes itself
    (a worker process would be refused), and cites the upload at once."""
    home = tmp_path / "home"
    folder = home / "index" / "default"
    built = _rag("ingest", "--index", str(folder), "--store", "qdrant", "-q", home=home)
    assert built.returncode == 0, built.stderr
    settings = pipeline.settings.with_overrides(home=home, index_dir=folder)
    app = App(Pipeline.open(settings, pipeline.embedder))
    assert "Alya Ahmed Saif Al-Thani" in _answer(app, WANG_YI)
    (tmp_path / "freedonia.txt").write_text(FREEDONIA)
    status = app.library.add(None, [str(tmp_path / "freedonia.txt")])
    assert "1 added" in status and "3 statements" in status
    assert "moratorium on deep-sea mining" in _answer(app, MINING)


def test_indexing_a_statement_again_goes_on_when_another_process_commits_meanwhile(home_app, tmp_path):
    """ "Index again" on a changed file while `rag ingest` commits: the statement is still
    embedded again (not found "unchanged" on the retry), and nothing is lost."""
    from rag.library import Change, apply

    upload, result = _uploading(home_app, tmp_path, 600_000)
    upload.join(600)
    assert "1 added" in result[0]
    doc_id = next(d.doc_id for d in home_app.pipeline.documents() if "Ruritania" in d.title)
    (tmp_path / "cli").mkdir()
    (tmp_path / "cli" / "freedonia.txt").write_text(FREEDONIA)
    started, lines = threading.Event(), []
    settings = home_app.pipeline.settings
    kept = settings.home / "uploads" / "long.txt"
    kept.write_text(kept.read_text() + "\nThe ministry also reviewed rail freight in the islands.\n")
    renew = threading.Thread(
        target=lambda: lines.extend(apply(settings, Change(renew=(doc_id,)), lambda *_: started.set()))
    )
    renew.start()
    assert started.wait(120)
    done = _rag("ingest", str(tmp_path / "cli"), "-q", home=settings.home)
    assert done.returncode == 0, done.stderr
    assert renew.is_alive(), "indexing again finished before the other process committed"
    renew.join(600)
    assert any("changed by another process meanwhile" in line for line in lines)
    assert any(line.startswith("0 added, 1 replaced, 0 unchanged") for line in lines), lines
    assert "4 statements" in home_app.summary()
    assert "Ruritania" in _answer(home_app, "What did the ministry review about fisheries in the islands?")


def test_a_statement_another_page_removed_is_one_sentence_not_an_error_from_the_index(home_app):
    rows, ids = home_app.library.rows(None)
    assert "removed" in home_app.library.remove(None, ids[0])
    for again in (home_app.library.remove(None, ids[0]), home_app.library.renew(None, ids[0])):
        assert (
            again
            == "That statement is no longer in the index (another page removed it); search the table again."
        )
    assert len(home_app.library.rows(None)[0]) == len(rows) - 1


def test_uploads_share_one_worker_whose_death_costs_only_a_restart(home_app, tmp_path):
    """The worker is kept between uploads (its model loaded once); killed, the next upload
    starts another and goes through."""
    from rag import library

    assert "1 added" in home_app.library.add(None, [str(_copy(tmp_path, "first.txt"))])
    worker = library._WORKER._process
    assert worker is not None and worker.is_alive()
    (tmp_path / "second.txt").write_text(FREEDONIA.replace("Freedonia", "Ruritania"))
    assert "1 added" in home_app.library.add(None, [str(tmp_path / "second.txt")])
    assert library._WORKER._process is worker  # the same process, not one per upload
    worker.kill()
    worker.join(10)
    (tmp_path / "third.txt").write_text(FREEDONIA.replace("Freedonia", "Osterlich"))
    assert "1 added" in home_app.library.add(None, [str(tmp_path / "third.txt")])
    assert library._WORKER._process is not worker and library._WORKER._process.is_alive()
    assert "5 statements" in home_app.summary()


def test_a_change_whose_caller_left_never_answers_for_the_next_one(home_app, tmp_path):
    """The caller of one change goes (its progress callback fails) while the worker goes on;
    the next change gets its own report, not the one the first left behind."""
    from rag.library import Change, apply

    settings = home_app.pipeline.settings

    def gone(done: int, total: int) -> None:
        raise KeyboardInterrupt  # the page that asked is closed

    with pytest.raises(KeyboardInterrupt):
        apply(settings, Change(add=(_copy(tmp_path, "left.txt"),)), gone)
    doc_id = next(
        d.doc_id for d in home_app.pipeline.documents() if d.source.endswith("seeds/000_f2b96bbd7d06bdb1.txt")
    )
    lines = apply(settings, Change(remove=(doc_id,)))
    assert lines and all(line.startswith("removed ") for line in lines), lines
