"""The app's logic without a server: streaming, citations, sources, refusals, uploads."""

from __future__ import annotations

import html
import shutil

import pytest

from rag.answering import available_generators
from rag.pipeline import Pipeline
from rag.question.followup import standalone_question
from rag.storage import Index
from tests.conftest import ARCTIC, WANG_YI
from ui.app import App
from ui.render import safe_name

HOSTILE = (
    "Statement of the delegation of Freedonia\n\n"
    "The delegation of Freedonia proposed <script>alert(1)</script> a moratorium on deep-sea mining "
    "in international waters. <img src=x onerror=alert(2)> It asked all states to support it.\n"
)


@pytest.fixture
def app(pipeline, tmp_path):
    """An app over its own copy of the seed index, so uploads do not leak into other tests."""
    shutil.copytree(pipeline.settings.index_dir, tmp_path / "index")
    settings = pipeline.settings.with_overrides(home=tmp_path, index_dir=tmp_path / "index")
    return App(Pipeline(settings, Index.open(tmp_path / "index"), pipeline.embedder), tmp_path / "reports")


def _final(app, question, turns=None, history=None, **kw):
    steps = list(app.respond(question, history or [], turns or [], **kw))
    return steps, steps[-1]


def test_a_quoted_answer_comes_whole_with_clickable_markers(app):
    steps, (history, turns, panel, box) = _final(app, WANG_YI)
    # Quotes are ready at once: shown whole, never played out word by word (a model's
    # answer streams as it is written: test_generative.py).
    assert steps[:-1] == []
    assert history[0] == {"role": "user", "content": WANG_YI}
    final = history[-1]["content"]
    assert 'href="#cite-0-c-1" class="cite-marker"' in final
    assert "Alya Ahmed Saif Al-Thani" in final and box == ""
    assert "FM meets with UN officials on Security Council reform" in panel
    assert "Open in source" in panel and "characters 56–529" in panel


def test_opening_a_citation_highlights_exactly_the_cited_span(app):
    _, (_, turns, _, _) = _final(app, WANG_YI)
    view = app.open_span("0:c:1", turns)
    doc = next(
        d for d in app.pipeline.index.documents.values() if d.source.endswith("000_f2b96bbd7d06bdb1.txt")
    )
    doc_id, start, end = turns[0]["c"][1]
    assert f"<mark class='cited'>{doc.text[start:end]}</mark>" in view
    assert "Citation [1]: characters 56–529 highlighted" in html.unescape(view)
    assert "no longer available" in app.open_span("7:c:1", turns)


def test_refusal_reads_as_such_and_lists_the_closest_passages(app):
    _, (history, turns, panel, _) = _final(app, ARCTIC)
    assert 'class="refusal turn-0"' in history[-1]["content"]
    assert "The statements do not address this question." in history[-1]["content"]
    assert "The closest ones" in panel and 'href="#cite-0-p-1"' in panel
    assert "<mark class='cited'>" in app.open_span("0:p:1", turns)


def test_follow_up_question_uses_the_conversation(app):
    _, (history, turns, _, _) = _final(app, WANG_YI)
    _, (history, turns, _, _) = _final(app, "What did they congratulate China for?", turns, history)
    assert "Beijing Winter Olympics" in history[-1]["content"]
    assert standalone_question("What did they congratulate China for?", [WANG_YI]) == (
        "What did they congratulate China for? (Wang Yi, Security Council)"
    )
    assert standalone_question("How should reform be funded?", [WANG_YI]) == "How should reform be funded?"


def test_bad_input_shows_one_message_in_the_chat(app):
    _, (history, turns, _, _) = _final(app, "   ")
    assert 'class="error"' in history[-1]["content"] and "The question is empty" in history[-1]["content"]
    assert len(history) == 1  # the message alone: no empty bubble for the empty question
    _, (history, _, _, _) = _final(app, "reform", countries=["XYZ"])
    assert "No statements in the index match the filters" in history[-1]["content"]
    _, (history, _, _, _) = _final(app, "reform", year_from="twenty")
    assert "A year is a whole number like 2015; &#x27;twenty&#x27; is not one." in history[-1]["content"]
    _, (history, _, _, _) = _final(app, "reform", year_from=" 2020 ", year_to="")
    assert "cite-marker" in history[-1]["content"]  # a year typed as text filters as a year
    assert turns == []


def test_uploaded_document_is_searchable_and_its_markup_is_text(app, tmp_path):
    upload = tmp_path / "incoming" / "freedonia.txt"
    upload.parent.mkdir()
    upload.write_text(HOSTILE)
    status = app.library.add(None, [str(upload)])
    assert "1 added" in status and "3 statements" in status
    _, (history, turns, panel, _) = _final(app, "What did Freedonia propose about deep-sea mining?")
    final = history[-1]["content"]
    assert "moratorium on deep-sea mining" in final
    assert "<script>" not in final and "&lt;script&gt;alert(1)&lt;/script&gt;" in final
    assert "<img" not in panel and "<script>" not in panel
    view = app.open_span("0:c:1", turns)
    assert "<script>" not in view and "&lt;img src=x onerror=alert(2)&gt;" in view


def test_user_question_markup_is_shown_as_text(app):
    _, (history, _, _, _) = _final(app, "<b>Who</b> did Wang Yi meet?")
    assert history[0]["content"] == "&lt;b&gt;Who&lt;/b&gt; did Wang Yi meet?"


@pytest.mark.parametrize(
    "name, expected",
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("/abs/path/note.md", "note.md"),
        ("C:\\x\\a.pdf", "a.pdf"),
        (".hidden.txt", None),
        ("..", None),
        ("ok name (1).txt", "ok name _1_.txt"),
    ],
)
def test_upload_names_cannot_escape_the_upload_folder(name, expected):
    assert safe_name(name) == expected


def test_unsupported_upload_is_refused_with_a_reason(app, tmp_path):
    bad = tmp_path / "table.csv"
    bad.write_text("a,b\n")
    assert "only .docx, .htm, .html, .markdown, .md, .pdf, .txt files are read" in app.library.add(
        None, [str(bad)]
    )
    assert app.library.add(None, []) == "Choose one or more files first."


def test_an_upload_is_never_an_official_statement_and_never_replaces_one(app, tmp_path):
    claim = tmp_path / "CHN_79_2024.txt"
    claim.write_text(
        "Statement on the Antarctic\n\nChina announces that it will leave the Antarctic Treaty next year.\n"
    )
    status = app.library.add(None, [str(claim)])
    assert "1 added" in status
    _, (history, _, panel, _) = _final(app, "Who announced leaving the Antarctic Treaty?")
    answer = html.unescape(history[-1]["content"])
    assert "(uploaded file CHN_79_2024.txt)" in answer and "General Debate" not in answer
    assert "uploaded in the app" in panel
    # Not China's: a question scoped to China does not cite it.
    _, (history, _, _, _) = _final(app, "What did China say about the Antarctic Treaty in 2024?")
    assert "Antarctic Treaty next year" not in history[-1]["content"]
    # The same name again, other words: kept beside the first, never in its place.
    claim.write_text("Statement on football\n\nChina announces that it will host the 2030 World Cup.\n")
    status = app.library.add(None, [str(claim)])
    assert "saved CHN_79_2024.txt as CHN_79_2024 (2).txt" in html.unescape(status) and "1 added" in status
    sources = {d.source.rsplit("/", 1)[-1] for d in app.pipeline.documents()}
    assert {"CHN_79_2024.txt", "CHN_79_2024 (2).txt"} <= sources


def test_document_markdown_never_renders_and_requests_are_bounded(app, tmp_path):
    tracker = tmp_path / "tracker.md"
    tracker.write_text(
        "Statement on tracking\n\nThe delegation of Ruritania rejected surveillance "
        "![x](http://127.0.0.1:9/track.png) of delegates and asked for "
        "[a review](http://127.0.0.1:9/review) by all states.\n"
    )
    assert "1 added" in app.library.add(None, [str(tracker)])
    steps, (history, _, panel, _) = _final(app, "What did Ruritania say about surveillance?")
    for chat, *_ in steps:  # while streaming and after: the words, never an image or a link
        assert "![" not in chat[-1]["content"] and "](http" not in chat[-1]["content"]
    assert "rejected surveillance" in history[-1]["content"]
    # A request carrying megabytes of history gets back a bounded chat, not an echo.
    huge = [{"role": "user", "content": "x" * 5_000_000}] * 3
    _, (history, _, _, _) = _final(app, "What did Ruritania say about surveillance?", history=huge)
    assert sum(len(m["content"]) for m in history) < 200_000
    # No server folders in what the page shows: sources outside the app's home by name only.
    assert str(tmp_path) not in panel and str(tmp_path) not in app.summary()


def test_a_word_upload_is_read_and_answers_questions(app, tmp_path):
    from tests.unit.test_loading import _word_file

    status = app.library.add(None, [str(_word_file(tmp_path / "freedonia.docx"))])
    assert "1 added" in status, status
    _, (history, _, panel, _) = _final(app, "What did Freedonia propose about deep-sea mining?")
    assert "moratorium on deep-sea mining" in history[-1]["content"]
    assert "freedonia.docx" in panel


def test_generator_choice_streams_model_text_and_marks_unsupported_sentences(app):
    from tests.fake_llm import FakeLLM, passage_containing

    with FakeLLM() as llm:
        app.pipeline.settings = app.pipeline.settings.with_overrides(
            openai_base_url=llm.url, llm_max_retries=0
        )
        assert "openai" in available_generators(app.pipeline.settings)
        llm.replies.append(
            lambda r: (
                f"Wang Yi met the co-chairs Alya Ahmed Saif Al-Thani and Martin Bille Hermann "
                f"[{passage_containing(r, 'Co-chairs were')}]. "
                "They also pledged a fund of ten billion dollars."
            )
        )
        steps, (history, turns, panel, _) = _final(app, WANG_YI, generator="openai")
    partial = [h[-1]["content"] for h, *_ in steps[:-1]]
    assert any(p.startswith("Wang Yi met the co-chairs") and p.endswith("…") for p in partial)
    final = history[-1]["content"]
    assert 'href="#cite-0-c-1" class="cite-marker"' in final
    assert '<span class="unsupported"' in final and "ten billion dollars" in final
    # The note under the answer says why: here, a sentence the model cited nothing for.
    assert "⚠ marks a sentence that its citations do not support (it cites nothing)." in final


def test_the_app_and_rag_ask_json_give_the_same_answer_for_every_seed_gold_question(pipeline):
    import json

    from click.testing import CliRunner

    from rag.cli import cli
    from rag.evaluation.gold import load_gold
    from rag.settings import PROJECT_ROOT

    app = App(pipeline)
    runner = CliRunner()
    index = str(pipeline.settings.index_dir)
    for gold in load_gold(PROJECT_ROOT / "eval" / "gold" / "seeds.jsonl"):
        *_, (history, turns, panel, box) = app.respond(gold.question, [], [])
        shown = turns[-1]
        result = runner.invoke(cli, ["ask", gold.question, "--index", index, "--json"])
        printed = json.loads(result.stdout)
        assert (shown["answer"], shown["refused"]) == (printed["answer"], printed["refused"]), gold.id
        cited = {c["n"]: (c["doc_id"], c["start"], c["end"]) for c in printed["citations"]}
        assert {n: tuple(span) for n, span in shown["c"].items()} == cited, gold.id
        passages = {p["rank"]: (p["doc_id"], p["start"], p["end"]) for p in printed["passages"]}
        assert {n: tuple(span) for n, span in shown["p"].items()} == passages, gold.id


def test_the_real_login_slows_and_locks_guessing(pipeline, tmp_path):
    import socket
    import urllib.error
    import urllib.parse
    import urllib.request

    from ui.app import launch
    from ui.auth import FAILURES

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo = launch(pipeline, host="127.0.0.1", port=port, auth=("analyst", "s3cret"), block=False)

    def login(password: str) -> int:
        data = urllib.parse.urlencode({"username": "analyst", "password": password}).encode()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", data, timeout=30) as reply:
                return reply.status
        except urllib.error.HTTPError as exc:
            return exc.code

    try:
        assert login("s3cret") == 200
        assert all(login("guess") != 200 for _ in range(FAILURES))
        assert login("s3cret") != 200  # locked for a while, even against the right password
    finally:
        demo.close()


def test_the_countries_filter_lists_countries_once_never_speakers(app, mixed):
    # The seeds: two speakers, both for China.
    assert app.country_choices() == [("China", "CHN")]
    # Every country of an index, by its name, each once.
    over_mixed = App(mixed, mixed.settings.home / "reports")
    assert over_mixed.country_choices() == [("China", "CHN")]
    labels = [label for label, _ in over_mixed.country_choices()]
    assert "Wang Yi" not in labels and "Ambassador Zhang Jun" not in labels


def test_questions_to_try_are_about_what_the_index_holds(app, mixed):
    from ui.app import SEED_EXAMPLES

    assert app.examples() == list(SEED_EXAMPLES)  # the seeds alone: their own questions
    over_mixed = App(mixed, mixed.settings.home / "reports").examples()
    # The seeds and China's General Debate speeches: about China in a year it spoke first.
    assert over_mixed[0] == "What did China say about climate change in 2021?"
    assert over_mixed[1] == "How did China see the UN's role in 1975?"  # and in another
    assert over_mixed[2] == SEED_EXAMPLES[0]  # then the seeds' own
