"""The real app in real headless Chromium: ask, click a citation, read it in its source."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from rag.answering.readability import leans_back
from rag.evaluation.gold import load_gold
from rag.evaluation.report import write_report
from rag.evaluation.runner import evaluate
from rag.markup import runs
from rag.pipeline import Pipeline
from rag.settings import PROJECT_ROOT
from rag.storage import Index
from tests.conftest import ARCTIC, WANG_YI
from tests.integration.test_app import HOSTILE

CHROMIUM = "/usr/bin/chromium"
# The README's screenshots are retaken only when asked (RAG_SCREENSHOTS=docs/screenshots):
# a test run leaves the checkout as it found it.
SHOTS = Path(os.environ.get("RAG_SCREENSHOTS") or Path(tempfile.gettempdir()) / "rag-screenshots")
SHOTS.mkdir(parents=True, exist_ok=True)

if not Path(CHROMIUM).exists():
    # CI installs it (scripts/setup --test); elsewhere a missing browser only skips.
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: scripts/setup --test installs Debian's chromium")
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(pipeline, tmp_path_factory):
    from ui.app import launch

    home = tmp_path_factory.mktemp("app-home")
    shutil.copytree(pipeline.settings.index_dir, home / "index")
    settings = pipeline.settings.with_overrides(home=home, index_dir=home / "index")
    app_pipeline = Pipeline(settings, Index.open(home / "index"), pipeline.embedder)
    gold = load_gold(PROJECT_ROOT / "eval" / "gold" / "seeds.jsonl")
    write_report(evaluate(app_pipeline, gold, "seeds", progress=False), home / "eval" / "reports")
    port = _free_port()
    demo = launch(app_pipeline, host="127.0.0.1", port=port, block=False)
    yield f"http://127.0.0.1:{port}/", home
    demo.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server, capsys):
    page = browser.new_page(viewport={"width": 1400, "height": 950})
    page.dialogs = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    started = time.perf_counter()
    page.goto(server[0])
    page.locator("#question textarea").wait_for()
    with capsys.disabled():
        print(f"\n[browser] page ready in {time.perf_counter() - started:.2f} s")
    yield page
    page.close()


def _ask(page, question: str):
    before = page.locator("#chat .message-row, #chat [data-testid='bot']").count()
    page.locator("#question textarea").fill(question)
    page.locator("#ask").click()
    bot = page.locator("#chat [data-testid='bot']")
    page.wait_for_function(
        "([n]) => { const bots = document.querySelectorAll(\"#chat [data-testid='bot']\");"
        " return bots.length > 0 && !bots[bots.length-1].innerText.trim().endsWith('…')"
        " && document.querySelectorAll(\"#chat .message-row, #chat [data-testid='bot']\").length > n; }",
        arg=[before],
        timeout=60_000,
    )
    page.wait_for_timeout(300)
    return bot.last


def test_citation_click_opens_the_source_with_the_span_highlighted(page):
    answer = _ask(page, WANG_YI)
    assert "Alya Ahmed Saif Al-Thani" in answer.inner_text()
    marker = answer.locator("a.cite-marker").first
    assert marker.inner_text() == "[1]"
    card = page.locator("#citations .cite-card").first
    assert "FM meets with UN officials on Security Council reform" in card.inner_text()
    page.screenshot(path=str(SHOTS / "answer.png"))
    marker.click()
    mark = page.locator("#source-view mark.cited")
    mark.wait_for(timeout=15_000)
    page.wait_for_timeout(400)
    assert mark.inner_text().startswith("State Councilor and Foreign Minister Wang Yi met with the co-chairs")
    assert mark.inner_text().rstrip().endswith("permanent representative of Denmark to the UN.")
    # Scrolled into view inside the source pane.
    inside = page.evaluate(
        "() => { const m = document.querySelector('#source-view mark.cited').getBoundingClientRect();"
        " const box = document.querySelector('#source-view .source-text').getBoundingClientRect();"
        " return m.top >= box.top - 1 && m.top < box.bottom; }"
    )
    assert inside
    page.screenshot(path=str(SHOTS / "source.png"))


def test_follow_up_and_refusal(page):
    _ask(page, WANG_YI)
    follow = _ask(page, "What did they congratulate China for?")
    assert "Beijing Winter Olympics" in follow.inner_text()
    refusal = _ask(page, ARCTIC)
    assert "The statements do not address this question." in refusal.inner_text()
    assert "The closest ones" in page.locator("#citations").inner_text()
    page.screenshot(path=str(SHOTS / "refusal.png"))
    page.locator("#citations a.cite-marker").first.click()
    page.locator("#source-view mark.cited").wait_for(timeout=15_000)


def test_upload_makes_a_document_searchable_and_its_markup_stays_text(page, tmp_path):
    upload = tmp_path / "freedonia.txt"
    upload.write_text(HOSTILE)
    page.get_by_role("tab", name="Add statements").click()
    page.locator("#upload-files input[type=file]").set_input_files(str(upload))
    page.locator("#upload-go").click()
    page.wait_for_function(
        "() => document.querySelector('#upload-status')?.innerText.includes('1 added')", timeout=60_000
    )
    _wait_for_summary(page, "3 statements")
    page.screenshot(path=str(SHOTS / "upload.png"))
    answer = _ask(page, "What did Freedonia propose about deep-sea mining?")
    text = answer.inner_text()
    assert "moratorium on deep-sea mining" in text
    assert "<script>alert(1)</script>" in text
    answer.locator("a.cite-marker").first.click()
    page.locator("#source-view mark.cited").wait_for(timeout=15_000)
    assert "<img src=x onerror=alert(2)>" in page.locator("#source-view").inner_text()
    assert page.locator("#source-view img, #chat img[src='x'], #citations script").count() == 0
    page.wait_for_timeout(300)
    assert page.dialogs == []  # no script from the document ever ran


def test_evaluation_view_shows_the_latest_report(page):
    page.get_by_role("tab", name="Evaluation").click()
    page.get_by_text("retrieval hit@5").first.wait_for(timeout=15_000)
    assert page.locator("img").count() >= 2
    page.screenshot(path=str(SHOTS / "evaluation.png"), full_page=True)


@pytest.fixture(scope="module")
def speeches_server(pipeline, speeches_2024, tmp_path_factory):
    """The app over the seeds and Brazil's and Canada's 2024 speeches."""
    from ui.app import launch

    home = tmp_path_factory.mktemp("speeches-home")
    shutil.copytree(pipeline.settings.index_dir, home / "index")
    settings = pipeline.settings.with_overrides(home=home, index_dir=home / "index")
    app_pipeline = Pipeline(settings, Index.open(home / "index"), pipeline.embedder)
    app_pipeline.ingest([speeches_2024], progress=False)
    port = _free_port()
    demo = launch(app_pipeline, host="127.0.0.1", port=port, block=False)
    yield f"http://127.0.0.1:{port}/", app_pipeline
    demo.close()


def plain_within(text: str, start: int, end: int) -> str:
    """The characters of ``text[start:end]`` a reader sees: emphasis delimiters left out."""
    return "".join(
        text[max(r.start, start) : min(r.end, end)] for r in runs(text) if r.start < end and r.end > start
    )


def _quotes(answer) -> list[str]:
    """The answer's quotes as a reader sees them: paragraphs and list items, markers removed."""
    texts = answer.locator(".answer-group p, .answer-group li").all_inner_texts()
    return [re.sub(r"\s*\[\d+\]", "", t).strip() for t in texts]


def test_quoted_answers_read_as_a_person_would_write_them(browser, speeches_server):
    url, app_pipeline = speeches_server
    page = browser.new_page(viewport={"width": 1400, "height": 1150})
    page.goto(url)
    page.locator("#question textarea").wait_for()

    # The Security Council: the announced list comes whole, as a list, opening with what
    # "This reform" refers to; no sentence leans on one the answer leaves out.
    answer = _ask(page, "What did Brazil say about reform of the Security Council in 2024?")
    assert answer.locator(".source-lead").first.inner_text() == "Brazil, 2024"
    assert answer.locator(".answer-group li").count() >= 4
    assert "**" not in answer.inner_text()
    assert not any(leans_back(q) for q in _quotes(answer) if not q.startswith("The "))
    # Its source: emphasis shown bold, never as asterisks; the highlight is exactly the
    # cited characters, as read.
    card = page.locator("#citations .cite-card").first.inner_text()
    start, end = map(int, re.search(r"characters (\d+)–(\d+)", card).groups())
    answer.locator("a.cite-marker").first.click()
    page.locator("#source-view mark.cited").first.wait_for(timeout=15_000)
    page.wait_for_timeout(400)
    source = page.locator("#source-view .source-text")
    assert "**" not in source.inner_text()
    assert "Mr President, Ladies and Gentlemen," in page.locator("#source-view strong").all_inner_texts()
    marked = page.evaluate(
        "() => [...document.querySelectorAll('#source-view mark.cited')].map(m => m.textContent).join('')"
    )
    doc = next(d for d in app_pipeline.documents() if d.source.endswith("BRA_79_2024.txt"))
    assert marked == plain_within(doc.text, start, end)
    # The screenshot: from the bold salutation before the highlight, down through the list.
    page.evaluate(
        "() => { const box = document.querySelector('#source-view .source-text');"
        " const mark = document.querySelector('#source-view mark.cited');"
        " const before = [...box.querySelectorAll('strong')].filter("
        "   s => s.compareDocumentPosition(mark) & Node.DOCUMENT_POSITION_FOLLOWING).pop();"
        " box.scrollTop += before.getBoundingClientRect().top - box.getBoundingClientRect().top - 8; }"
    )
    page.screenshot(path=str(SHOTS / "source-emphasis-list.png"))

    # The app's own example: the sentence after the funding gap is the answer.
    funding = _ask(page, "How should security sector reform be funded?")
    assert "bilateral and multilateral partners" in funding.inner_text()
    assert not any(leans_back(q) for q in _quotes(funding))

    # Five topics: each answered, or named as not addressed; no quote opens with "These…".
    several = _ask(
        page, "What did Brazil say in 2024 about hunger, climate, Gaza, Ukraine and global governance?"
    )
    text = several.inner_text()
    for topic in ("hunger", "climate", "Gaza", "Ukrain"):
        assert topic in text
    assert "global governance" in text  # quoted, or "Not addressed in the statements found"
    assert not any(leans_back(q) for q in _quotes(several))
    several.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "multi-part.png"))
    page.close()


def test_a_conversation_survives_a_reload_and_reopens_from_the_list(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(server[0])
    page.locator("#question textarea").wait_for()
    _ask(page, "Which countries do the two co-chairs represent?")
    second = _ask(page, "What did he say their priority should be?").inner_text()
    assert "priority of Council reform lies in increasing representation" in second
    assert "Understood as: What did Wang Yi say their priority should be? (following" in second
    page.screenshot(path=str(SHOTS / "conversation.png"))
    third = _ask(page, "What else?").inner_text()
    assert "priority of Council reform lies" not in third  # something new, not the answer again

    page.reload()
    page.locator("#question textarea").wait_for()
    bots = page.locator("#chat [data-testid='bot']")
    bots.nth(2).wait_for(timeout=15_000)
    assert bots.count() == 3 and "priority of Council reform" in bots.nth(1).inner_text()
    # The restored conversation goes on: a follow-up still knows what came before.
    follow = _ask(page, "What did they congratulate China for?")
    assert "Beijing Winter Olympics" in follow.inner_text()

    page.get_by_role("button", name="New conversation").click()
    page.wait_for_function("() => !document.querySelector(\"#chat [data-testid='bot']\")")
    page.wait_for_function("() => document.querySelectorAll(\"#chat [data-testid='bot']\").length === 0")
    _ask(page, "How should security sector reform be funded?")  # a newer conversation
    page.locator("#past-conversations input").click()
    page.get_by_role("option", name=re.compile("Which countries do the two co-chairs represent")).click()
    bots.nth(3).wait_for(timeout=15_000)
    assert "Beijing Winter Olympics" in bots.nth(3).inner_text()
    # The one reopened is the one a reload shows, named in the list while it is open.
    page.wait_for_timeout(1000)
    page.reload()
    page.locator("#question textarea").wait_for()
    bots.nth(3).wait_for(timeout=15_000)
    assert "Beijing Winter Olympics" in bots.nth(3).inner_text()
    opened = page.locator("#past-conversations input").input_value()
    assert opened.startswith("Which countries do the two co-chairs represent"), opened

    # Another reader (another browser) sees none of it.
    other = browser.new_context().new_page()
    other.goto(server[0])
    other.locator("#question textarea").wait_for()
    other.wait_for_timeout(1500)
    assert other.locator("#chat [data-testid='bot']").count() == 0
    other.locator("#past-conversations input").click()
    assert other.get_by_role("option").count() == 0
    other.context.close()
    context.close()


def test_a_fresh_install_evaluation_tab_says_how_to_make_a_report_with_no_empty_frames(
    browser, speeches_server
):
    page = browser.new_page(viewport={"width": 1400, "height": 950})
    page.goto(speeches_server[0])
    page.locator("#question textarea").wait_for()
    page.get_by_role("tab", name="Evaluation").click()
    page.get_by_text("No evaluation report yet").wait_for(timeout=15_000)
    assert not page.get_by_text("Ours vs baseline").is_visible()
    assert not page.get_by_text("hit@k", exact=True).is_visible()
    page.close()


def test_keyboard_order_narrow_screens_and_filters_read_right(browser, speeches_server):
    page = browser.new_page(viewport={"width": 1400, "height": 950})
    page.goto(speeches_server[0])
    page.locator("#question textarea").wait_for()
    page.wait_for_timeout(500)
    # Tab never lands on the hidden plumbing the citation links use.
    visited = []
    for _ in range(20):
        page.keyboard.press("Tab")
        visited.append(page.evaluate("() => (document.activeElement.closest('[id]') || {}).id || ''"))
    assert "cite-request" not in visited and "cite-go" not in visited
    assert "question" in visited and "ask" in visited
    # With an answer on the page, Tab still reaches the question box before any [n].
    _ask(page, "What did Brazil say about hunger in 2024?")
    page.evaluate("() => document.activeElement.blur()")
    page.locator("h2").first.click()
    order = []
    for _ in range(12):
        page.keyboard.press("Tab")
        order.append(
            page.evaluate(
                "() => document.activeElement.classList.contains('cite-marker') ? 'marker'"
                " : ((document.activeElement.closest('[id]') || {}).id || '')"
            )
        )
    assert "question" in order and "marker" in order[order.index("question") :]
    assert "marker" not in order[: order.index("question")]
    # An empty year filter reads "any", not 0.
    page.get_by_text("Search settings and filters").click()
    year = page.get_by_label("From year")
    assert year.input_value() == "" and year.get_attribute("placeholder") == "any"
    page.close()
    narrow = browser.new_page(viewport={"width": 420, "height": 900})
    narrow.goto(speeches_server[0])
    box = narrow.locator("#question textarea")
    box.wait_for()
    narrow.wait_for_timeout(500)
    assert box.bounding_box()["width"] > 300 and box.bounding_box()["height"] < 90  # a line or two, not four
    narrow.close()


def _open(context, url: str):
    page = context.new_page()
    page.console = []
    page.on("console", lambda m: page.console.append(f"{m.type}: {m.text}"))
    page.goto(url)
    page.locator("#question textarea").wait_for()
    page.wait_for_timeout(500)
    return page


def _wait_for_summary(page, text: str) -> None:
    page.wait_for_function(
        "([t]) => document.querySelector('#corpus-summary')?.innerText.includes(t)",
        arg=[text],
        timeout=30_000,
    )


def _document_options(page) -> list[str]:
    """The "Only these statements" filter's choices, as the page offers them."""
    page.locator("#only-docs input").click()
    options = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    return options


def test_one_library_for_every_page_upload_and_removal_reach_the_other_tab(browser, server, tmp_path):
    """Upload a Word file in one tab: the other tab's header, filter and answers have it
    after its next question; remove it in the Library view: neither tab cites it again."""
    from docx import Document as WordDocument

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    first, second = _open(context, server[0]), _open(context, server[0])
    first.get_by_text("Search settings and filters").click()
    second.get_by_text("Search settings and filters").click()
    count = int(second.locator("#corpus-summary").inner_text().split()[0])
    assert not any("Sylvania" in o for o in _document_options(second))
    word = WordDocument()
    word.core_properties.title = "Statement by Sylvania on glacier monitoring"
    word.add_paragraph("Mr President,")
    word.add_paragraph("Sylvania proposes a regional network of glacier monitoring stations in the Alps.")
    word.save(tmp_path / "glaciers.docx")

    first.get_by_role("tab", name="Add statements").click()
    first.locator("#upload-files input[type=file]").set_input_files(str(tmp_path / "glaciers.docx"))
    first.locator("#upload-go").click()
    first.wait_for_function(
        "() => document.querySelector('#upload-status')?.innerText.includes('1 added')", timeout=120_000
    )
    _wait_for_summary(first, f"{count + 1} statements")
    assert not [m for m in first.console if "Method not implemented" in m]

    answer = _ask(second, "What did Sylvania propose about glacier monitoring?")
    assert "network of glacier monitoring stations" in answer.inner_text()
    assert f"{count + 1} statements" in second.locator("#corpus-summary").inner_text()
    assert any("Statement by Sylvania on glacier monitoring" in o for o in _document_options(second))
    answer.locator("a.cite-marker").first.click()
    mark = second.locator("#source-view mark.cited")
    mark.wait_for(timeout=15_000)
    assert mark.inner_text().startswith("Sylvania proposes a regional network")

    first.get_by_role("tab", name="Library").click()
    first.locator("#library-search input, #library-search textarea").fill("glacier")
    first.locator("#library-table").get_by_text("Statement by Sylvania on glacier monitoring").first.wait_for(
        timeout=15_000
    )
    row = first.locator("#library-table").get_by_test_id("cell-0-0")  # the one row the search leaves
    first.wait_for_timeout(500)
    first.screenshot(path=str(SHOTS / "library.png"))
    row.click()
    first.get_by_text("Chosen: Statement by Sylvania").wait_for(timeout=15_000)
    first.locator("#library-remove").click()
    first.locator("#library-confirm-remove").wait_for()
    assert (
        "Remove Statement by Sylvania on glacier monitoring" in first.locator("#library-status").inner_text()
    )
    first.screenshot(path=str(SHOTS / "library-remove.png"))
    first.locator("#library-confirm-remove").click()
    first.wait_for_function(
        "() => document.querySelector('#library-status')?.innerText.includes('removed')", timeout=60_000
    )
    for page in (first, second):
        again = _ask(page, "What did Sylvania propose about glacier monitoring?").inner_text()
        assert "network of glacier monitoring stations" not in again
        _wait_for_summary(page, f"{count} statements")  # read again once the answer is in
    assert not [m for m in first.console + second.console if "Method not implemented" in m]
    context.close()


def test_regenerate_and_stop(page):
    _ask(page, WANG_YI)
    page.locator("#regenerate").click()
    page.wait_for_timeout(500)
    page.wait_for_function(
        "() => { const bots = document.querySelectorAll(\"#chat [data-testid='bot']\");"
        " return bots.length === 1 && !bots[0].innerText.trim().endsWith('…'); }",
        timeout=60_000,
    )
    assert page.locator("#chat [data-testid='user']").count() == 1  # the same question, answered again
    assert "Alya Ahmed Saif Al-Thani" in page.locator("#chat [data-testid='bot']").last.inner_text()
    page.locator("#question textarea").fill("How should security sector reform be funded?")
    page.locator("#ask").click()
    page.locator("#stop").click()
    page.wait_for_timeout(1500)
    # Stopped or finished, the page goes on: the next question is answered as usual.
    follow = _ask(page, "Who should own security sector reform?")
    assert "owned and led by countries concerned" in follow.inner_text()


@pytest.fixture(scope="module")
def model_server(pipeline, tmp_path_factory):
    """The app answering with a model (a fake OpenAI-compatible server on 127.0.0.1)."""
    from tests.fake_llm import FakeLLM, passage_containing
    from ui.app import launch

    home = tmp_path_factory.mktemp("model-home")
    shutil.copytree(pipeline.settings.index_dir, home / "index")
    with FakeLLM() as llm:
        llm.default = lambda r: (
            "Wang Yi met the co-chairs Alya Ahmed Saif Al-Thani and Martin Bille Hermann "
            f"[{passage_containing(r, 'Co-chairs were')}]."
        )
        settings = pipeline.settings.with_overrides(
            home=home,
            index_dir=home / "index",
            generator="openai",
            openai_base_url=llm.url,
            llm_max_retries=0,
        )
        port = _free_port()
        demo = launch(
            Pipeline(settings, Index.open(home / "index"), pipeline.embedder), port=port, block=False
        )
        yield f"http://127.0.0.1:{port}/", llm
        demo.close()


def test_stop_ends_an_answer_under_way_and_regenerate_asks_it_again(browser, model_server):
    """A slow model: Stop ends the answer before it comes (it never appears), the question
    stays in the box, and Regenerate asks it, then asks it again in place of its answer."""
    url, llm = model_server
    page = browser.new_page(viewport={"width": 1400, "height": 950})
    page.goto(url)
    box = page.locator("#question textarea")
    box.wait_for()
    page.wait_for_timeout(500)
    llm.delay = 4.0
    box.fill(WANG_YI)
    page.locator("#ask").click()
    page.wait_for_timeout(800)
    page.locator("#stop").click()
    page.wait_for_timeout(5000)  # past the model's delay: an answer not stopped would be here
    bots = page.locator("#chat [data-testid='bot']")
    assert bots.count() == 0 and box.input_value() == WANG_YI
    llm.delay = 0.0
    for _ in range(2):
        page.locator("#regenerate").click()
        page.wait_for_timeout(500)
        page.wait_for_function(
            "() => { const bots = document.querySelectorAll(\"#chat [data-testid='bot']\");"
            " return bots.length === 1 && bots[0].innerText.includes('Alya Ahmed Saif Al-Thani')"
            " && !bots[0].innerText.trim().endsWith('…'); }",
            timeout=60_000,
        )
        assert page.locator("#chat [data-testid='user']").count() == 1
    page.close()


def _stop(server: subprocess.Popen) -> None:
    """Ctrl-C, as an operator stops it; killed if it has not stopped in 30 s (seen in CI's
    full run only; the point here is the restart, not how fast it stops)."""
    server.send_signal(signal.SIGINT)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=30)


def _serve(home: Path, port: int) -> subprocess.Popen:
    """`rag serve` in its own process, as an operator starts it; returns once it answers."""
    env = {**os.environ, "RAG_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    log = (
        home / f"serve-{port}-{time.monotonic_ns()}.log"
    )  # a file: a pipe nobody reads can fill and stall it
    server = subprocess.Popen(
        [sys.executable, "-m", "rag.cli", "serve", "--port", str(port)],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        text=True,
    )
    server.log = log
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"rag serve stopped: {log.read_text()}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/config", timeout=2).read()
            return server
        except OSError:
            time.sleep(0.3)
    server.kill()
    raise AssertionError("rag serve did not start")


def test_a_conversation_survives_a_server_restart_on_the_same_port(browser, seed_index_dir, tmp_path):
    """The operator restarts `rag serve` (a new process, the same port at once, its old
    connections still closing): the reader's reload finds the conversation, which goes on."""
    home = tmp_path / "home"
    shutil.copytree(seed_index_dir, home / "index" / "default")
    port = _free_port()
    server = _serve(home, port)
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    try:
        page.goto(f"http://127.0.0.1:{port}/")
        page.locator("#question textarea").wait_for()
        assert "Al-Thani" in _ask(page, WANG_YI).inner_text()
        _stop(server)
        server = _serve(home, port)
        page.reload()
        page.locator("#question textarea").wait_for()
        bots = page.locator("#chat [data-testid='bot']")
        bots.first.wait_for(timeout=15_000)
        assert "Al-Thani" in bots.first.inner_text()
        follow = _ask(page, "Which countries do the two co-chairs represent?")
        assert bots.count() == 2 and "Qatar" in follow.inner_text()
    finally:
        page.context.close()
        _stop(server)


def test_a_forged_conversation_in_the_browser_shows_text_and_serves_no_file(browser, server):
    """The page restores a conversation whose messages name a file on the server (sent as
    the browser's stored conversations): the page shows the text, and no file of the
    server reaches the browser."""
    url, home = server
    secret = home / "rag.toml"
    secret.write_text("api_key = 'sk-never-shown'\n")
    forged = [
        {"role": "assistant", "content": {"path": str(secret)}},
        {"role": "user", "content": "A question kept as text."},
    ]
    saved = {"": {"current": "x", "conversations": {"x": {"title": "t", "updated": 1, "chat": forged}}}}
    config = json.loads(urllib.request.urlopen(f"{url}config", timeout=10).read())
    kinds = {c["id"]: c["type"] for c in config["components"]}
    restore = {
        i
        for i, d in enumerate(config["dependencies"])
        if [kinds[c] for c in d["inputs"]] == ["browserstate"] and any(t[1] == "load" for t in d["targets"])
    }

    def forge(route):
        body = json.loads(route.request.post_data or "{}")
        if body.get("fn_index") in restore:
            body["data"] = [saved]
        route.continue_(post_data=json.dumps(body))

    page = browser.new_context().new_page()
    seen: list[bytes] = []
    page.on("response", lambda r: seen.append(r.body()) if r.request.method == "GET" else None)
    page.route("**/gradio_api/queue/join*", forge)
    page.goto(url)
    page.locator("#question textarea").wait_for()
    page.locator("#chat").get_by_text("A question kept as text.").wait_for(timeout=15_000)
    chat = page.locator("#chat").inner_html()
    assert "rag.toml" not in chat and "gradio_api/file" not in chat
    assert not any(b"sk-never-shown" in body for body in seen)
    page.context.close()


@pytest.fixture(scope="module")
def conversation_server(pipeline, tmp_path_factory):
    """The app over Sweden's 2012 and 2013 and Jordan's 2013 General Debate speeches."""
    from rag.ingest import ingest, open_or_create
    from tests.conftest import _unpack
    from ui.app import launch

    speeches = _unpack(
        {"SWE_67_2012.txt", "SWE_68_2013.txt", "JOR_68_2013.txt"}, tmp_path_factory.mktemp("ungdc-conv")
    )
    home = tmp_path_factory.mktemp("conversation-home")
    index = open_or_create(home / "index", pipeline.embedder, 800, 200)
    ingest([speeches], index, pipeline.embedder, home, progress=False)
    settings = pipeline.settings.with_overrides(home=home, index_dir=home / "index")
    app_pipeline = Pipeline.open(settings, pipeline.embedder)
    port = _free_port()
    demo = launch(app_pipeline, host="127.0.0.1", port=port, block=False)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


def test_a_comparison_and_a_three_turn_conversation_answer_everything_asked(browser, conversation_server):
    page = browser.new_page(viewport={"width": 1400, "height": 1150})
    page.goto(conversation_server)
    page.locator("#question textarea").wait_for()
    # Questions to try are about what this index holds, not the seeds' speakers.
    page.get_by_text("What did Sweden say about climate change in 2013?").wait_for()
    assert "Compare Sweden and Jordan on development in 2013." in page.locator("body").inner_text()
    placeholder = page.locator("#question textarea").get_attribute("placeholder")
    assert "Sweden" in placeholder and "Wang Yi" not in page.content()
    # A comparison: one group per side, in the order asked, each under its own lead-in.
    compared = _ask(page, "Compare Jordan and Sweden on taking in Syrian refugees in 2013.")
    leads = compared.locator(".source-lead").all_inner_texts()
    assert [lead.split(",")[0] for lead in leads] == ["Jordan", "Sweden"], leads
    text = compared.inner_text()
    assert "one-tenth of our own population" in text and "16,000 Syrians" in text
    page.screenshot(path=str(SHOTS / "comparison.png"))

    page.get_by_role("button", name="New conversation").click()
    page.wait_for_function("() => !document.querySelector(\"#chat [data-testid='bot']\")")
    first = _ask(page, "Which council was Sweden a candidate for in 2012?")
    assert "Human Rights Council" in first.inner_text()
    # "What else … about X": about X, of the same speaker and year.
    more = _ask(page, "What else did it say about Syria?").inner_text()
    assert "Syria is a society that is rich" in more and "Human Rights Council" not in more
    assert "Understood as: What else did Sweden say about Syria?" in more
    # "The following year": the same speaker's next statement, read as a person would write it.
    following = _ask(page, "And what did it say about peacekeeping the following year?").inner_text()
    assert "thank all peacekeepers" in following and "Sweden, 2013" in following
    assert "Understood as: And what did Sweden say about peacekeeping in its 2013 statement?" in following
    assert "Searched: statements by Sweden from 2013." in following
    page.screenshot(path=str(SHOTS / "three-turns.png"), full_page=True)


def test_regenerate_with_nothing_asked_says_so_and_posts_no_answer(page):
    page.locator("#regenerate").click()
    toast = page.get_by_text("There is nothing to regenerate yet: ask a question first.")
    toast.wait_for(timeout=15_000)
    page.wait_for_timeout(1000)
    assert page.locator("#chat [data-testid='bot']").count() == 0
    assert "The question is empty" not in page.locator("#chat").inner_text()
    # A notice only: neither the chat nor the question box is marked as failed.
    assert "Error" not in page.locator("#chat").inner_text()
    assert "Error" not in page.locator("#ask-row").inner_text()
    page.screenshot(path=str(SHOTS / "regenerate-nothing.png"))


def test_a_report_written_after_the_server_started_shows_on_a_fresh_page_unbroken(browser, speeches_server):
    url, app_pipeline = speeches_server
    reports = app_pipeline.settings.home / "eval" / "reports"
    gold = load_gold(PROJECT_ROOT / "eval" / "gold" / "seeds.jsonl")
    write_report(evaluate(app_pipeline, gold, "seeds", progress=False), reports)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 950})
        page.goto(url)
        page.locator("#question textarea").wait_for()
        page.get_by_role("tab", name="Evaluation").click()  # no "Show the latest report" click
        page.get_by_text("retrieval hit@5").first.wait_for(timeout=15_000)
        # Every cell of the table on one line: no figure broken mid-number.
        broken = page.evaluate(
            "() => [...document.querySelectorAll('#eval-report td')].filter(td => {"
            " const r = document.createRange(); r.selectNodeContents(td);"
            " return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size > 1;"
            "}).map(td => td.innerText)"
        )
        assert broken == []
        page.screenshot(path=str(SHOTS / "evaluation-fresh-page.png"), full_page=True)
        page.close()
    finally:
        shutil.rmtree(reports, ignore_errors=True)  # the fresh-install test expects none


def test_screen_readers_hear_an_answer_as_its_words_not_its_html(page):
    answer = _ask(page, WANG_YI)
    labels = page.locator("#chat [aria-label]").evaluate_all(
        "els => els.map(e => e.getAttribute('aria-label'))"
    )
    spoken = [label for label in labels if label.startswith("Answer: ")]
    assert spoken and "Alya Ahmed Saif Al-Thani" in spoken[-1]
    assert not any("<" in label for label in labels), labels
    assert "Alya Ahmed Saif Al-Thani" in answer.inner_text()


# How many lines each header and each cell takes: the rows of its words' text boxes.
LINES = (
    "() => [...document.querySelectorAll('#library-table th, #library-table [role=gridcell]')]"
    ".map(cell => { const walk = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);"
    " const tops = new Set();"
    " while (walk.nextNode()) { if (!walk.currentNode.textContent.trim()) continue;"
    " const r = document.createRange(); r.selectNodeContents(walk.currentNode);"
    " for (const box of r.getClientRects()) tops.add(Math.round(box.top)); }"
    " return [cell.innerText.trim(), tops.size]; })"
)


def test_the_library_table_reads_whole_words_at_a_laptops_width(browser, speeches_server):
    page = browser.new_page(viewport={"width": 1400, "height": 950})
    page.goto(speeches_server[0])
    page.locator("#question textarea").wait_for()
    page.get_by_role("tab", name="Library").click()
    page.locator("#library-table").get_by_text("BRA_79_2024.txt").first.wait_for(timeout=15_000)
    cells = page.evaluate(LINES)
    headers = {
        text: lines for text, lines in cells if text in ("Title", "Country", "Speaker", "Passages", "Source")
    }
    assert set(headers.values()) == {1}, headers  # never "Cou / ntr / y"
    names = [(text, lines) for text, lines in cells if text.endswith(".txt") or text.endswith(".md")]
    assert names and all(lines == 1 for _, lines in names), str(cells)  # a file name whole
    page.screenshot(path=str(SHOTS / "library.png"))
    page.close()


KENYA_DROUGHT = (
    "Statement by the delegation of Kenya on drought\n\n24 September 2019\n\n"
    "The delegation proposed a regional fund for drought resilience in the pastoral counties.\n"
)


def _library_row(page, words: str):
    """The first row the Library's search for ``words`` leaves."""
    page.get_by_role("tab", name="Library").click()
    page.locator("#library-search input, #library-search textarea").fill(words)
    page.wait_for_function(
        "([w]) => { const t = document.querySelector('#library-table'); return t &&"
        " t.querySelectorAll('[data-testid^=cell-]').length > 0 && t.innerText.includes(w); }",
        arg=[words],
        timeout=15_000,
    )
    page.wait_for_timeout(500)
    return page.locator("#library-table").get_by_test_id("cell-0-0")


def _status(page, where: str, words: str) -> str:
    page.wait_for_function(
        "([s, w]) => document.querySelector(s)?.innerText.includes(w)", arg=[where, words], timeout=120_000
    )
    return page.locator(where).inner_text()


def test_an_upload_is_by_the_country_its_user_confirms_and_its_details_are_edited_in_the_library(
    browser, server, tmp_path
):
    """The upload form offers the country the text names (set only when chosen); in the
    Library, "Index again" on an unchanged file says so, and the details saved there are
    what the table shows and what the next question is scoped by."""
    (tmp_path / "drought.txt").write_text(KENYA_DROUGHT)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = _open(context, server[0])
    page.get_by_role("tab", name="Add statements").click()
    page.locator("#upload-files input[type=file]").set_input_files(str(tmp_path / "drought.txt"))
    _status(page, "#upload-country", "The text names Kenya: choose it if Kenya spoke")
    assert page.locator("#upload-country input").input_value() == ""  # offered, not set
    page.locator("#upload-country input").click()
    page.get_by_role("option", name="Kenya", exact=True).first.click()
    page.screenshot(path=str(SHOTS / "upload-country.png"))
    page.locator("#upload-go").click()
    _status(page, "#upload-status", "1 added")

    _library_row(page, "drought").click()
    page.get_by_text("Chosen: Statement by the delegation of Kenya").wait_for(timeout=15_000)
    assert page.locator("#library-table").inner_text().count("KEN") == 1
    assert page.locator("#details-country input").input_value() == "Kenya"
    assert page.locator("#details-date input, #details-date textarea").input_value() == "2019-09-24"
    page.locator("#library-renew").click()
    said = _status(page, "#library-status", "unchanged since it was indexed")
    assert "nothing was embedded again" in said
    page.screenshot(path=str(SHOTS / "library-index-again.png"))

    _library_row(page, "drought").click()
    page.get_by_text("Chosen: Statement by the delegation of Kenya").wait_for(timeout=15_000)
    speaker = page.locator("#details-speaker input, #details-speaker textarea")
    date = page.locator("#details-date input, #details-date textarea")
    speaker.fill("Amb. Jane Doe")
    date.fill("last spring")
    page.locator("#library-save-details").click()
    _status(page, "#library-status", "is not a date such as 2024-09-24")
    page.wait_for_timeout(500)
    # Refused: the form stays as typed, to mend the one entry named.
    assert speaker.input_value() == "Amb. Jane Doe" and date.input_value() == "last spring"
    assert "Chosen: Statement by the delegation of Kenya" in page.locator("#library-picked").inner_text()
    date.fill("2021")
    page.locator("#library-save-details").click()
    assert "1 replaced" in _status(page, "#library-status", "replaced")
    # Saved: still chosen, its details as now indexed.
    page.wait_for_function(
        "() => document.querySelector('#details-date input, #details-date textarea')?.value === '2021'"
        " && document.querySelector('#library-picked')?.innerText.includes('Chosen:')",
        timeout=15_000,
    )
    _library_row(page, "drought")
    assert "Amb. Jane Doe" in page.locator("#library-table").inner_text()
    assert "2021" in page.locator("#library-table").inner_text()
    page.screenshot(path=str(SHOTS / "library-details.png"))

    answer = _ask(page, "What did Kenya propose about drought in 2021?").inner_text()
    assert "regional fund for drought resilience" in answer and "Amb. Jane Doe (Kenya)" in answer

    # A statement `rag ingest` added: its details are shown, not editable here.
    _library_row(page, "Wang Yi").click()
    page.get_by_text("Chosen: FM meets with UN officials").wait_for(timeout=15_000)
    assert page.locator("#library-save-details").is_disabled()
    assert page.locator("#details-country input").input_value() == "China"
    assert "set by its file's NAME.meta.json" in page.locator("#library-details").inner_text()

    _library_row(page, "drought").click()
    page.get_by_text("Chosen: Statement by the delegation of Kenya").wait_for(timeout=15_000)
    page.locator("#library-remove").click()
    page.locator("#library-confirm-remove").click()
    _status(page, "#library-status", "removed")
    context.close()


def test_the_examples_and_the_countries_filter_are_the_index_own(browser, speeches_server):
    """On the seeds plus Brazil's and Canada's 2024 speeches: the questions to try ask about
    those countries in 2024, and the Countries filter lists countries, each once, never
    the seeds' speakers; a chosen country's chip reads as chosen."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(speeches_server[0])
    page.locator("#question textarea").wait_for()
    page.wait_for_timeout(800)
    tries = page.locator(".gallery-item, [data-testid='examples'] button, .examples button").all_inner_texts()
    joined = " ".join(tries)
    assert "2024" in joined and ("Brazil" in joined or "Canada" in joined), tries
    page.get_by_text("Search settings and filters").click()
    page.locator("#only-countries input").click()
    options = page.get_by_role("option").all_inner_texts()
    assert sorted(options) == ["Brazil", "Canada", "China"], options
    page.get_by_role("option", name="Canada").click()
    page.keyboard.press("Escape")
    page.get_by_text("From year").click()  # the list closed, the chip left
    assert "Canada" in page.locator("#only-countries").inner_text()
    assert "Wang Yi" not in page.locator("#only-countries").inner_text()
    page.wait_for_timeout(500)  # the list's closing fade
    page.screenshot(path=str(SHOTS / "examples-and-countries.png"))
    page.close()


def test_a_question_to_try_is_asked_when_clicked(page):
    from ui.app import SEED_EXAMPLES

    asked = SEED_EXAMPLES[0]  # the seeds' first question to try
    page.get_by_text(asked, exact=True).first.click()
    page.wait_for_function(
        "() => { const bots = document.querySelectorAll(\"#chat [data-testid='bot']\");"
        " return bots.length === 1 && bots[0].innerText.includes('[1]'); }",
        timeout=60_000,
    )
    assert page.locator("#chat [data-testid='user']").first.inner_text().strip() == asked
    assert page.locator("#chat [data-testid='user']").count() == 1  # asked once
