"""The page's layout and wiring: the chat beside its citations, sources, uploads and the
evaluation view. All behaviour lives in ``App``; this module only places and connects."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from rag.answering import available_generators
from rag.loading import SUPPORTED
from ui import conversations
from ui.app import STATIC, App, gradio_module
from ui.render import citations_html

TITLE = "Ask the statements"
EXAMPLES = [
    "Who did Wang Yi meet to discuss Security Council reform?",
    "What does China see as the priority of Security Council reform?",
    "How should security sector reform be funded?",
]


def build(app: App) -> Any:
    gr = gradio_module()
    with gr.Blocks(title=TITLE, fill_width=True) as demo:
        # The conversation: its turns here, and every conversation in the reader's browser.
        w = SimpleNamespace(
            turns=gr.State([]),
            current=gr.State(""),
            saved=gr.BrowserState({}, storage_key="rag-conversations"),
        )
        gr.Markdown(
            f"## {TITLE}\nEvery sentence of an answer quotes a statement; click a "
            "**[n]** to read it highlighted in its source."
        )
        w.summary = gr.Markdown(app.summary(), elem_id="corpus-summary")
        with gr.Row():
            with gr.Column(scale=3):
                _chat(gr, app, w)
            with gr.Column(scale=2):
                _side(gr, app, w)
        w.request = gr.Textbox(elem_id="cite-request", elem_classes="offscreen-control", show_label=False)
        w.go = gr.Button("open", elem_id="cite-go", elem_classes="offscreen-control")
        w.demo = demo
        _wire(gr, app, w)
    return demo


def _chat(gr: Any, app: App, w: SimpleNamespace) -> None:
    w.chat = gr.Chatbot(
        label="Conversation", height=520, elem_id="chat", placeholder="Ask a question about the statements."
    )
    with gr.Row():
        w.box = gr.Textbox(
            placeholder="Ask a question, e.g. " + EXAMPLES[0],
            show_label=False,
            scale=5,
            elem_id="question",
            autofocus=True,
        )
        w.send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
    gr.Examples(EXAMPLES, inputs=w.box, label="Try")
    with gr.Accordion("Search settings and filters", open=False):
        settings = app.pipeline.settings
        w.k = gr.Slider(1, 20, value=settings.k, step=1, label="Passages to retrieve")
        w.documents = gr.Dropdown(app.document_choices(), multiselect=True, label="Only these statements")
        places = app.country_choices()
        w.countries = gr.Dropdown(places, multiselect=True, label="Countries", visible=bool(places))
        with gr.Row():
            # Text, not numbers: an empty number field shows 0, which reads as a year.
            w.year_from = gr.Textbox(label="From year", placeholder="any", max_lines=1, elem_id="year-from")
            w.year_to = gr.Textbox(label="To year", placeholder="any", max_lines=1, elem_id="year-to")
        w.scoped = gr.Checkbox(
            True,
            label="Keep to the speakers and years the question names",
            info='"What did Brazil say in 2024?" searches Brazil\'s 2024 statements only',
            elem_id="scoped",
        )
        writers = available_generators(settings)
        w.generator = gr.Dropdown(
            writers,
            value=settings.generator,
            label="Answer written by",
            info="extractive quotes the statements; a model writes fluent answers that "
            "are checked against their citations",
            visible=len(writers) > 1,
        )
    with gr.Row():
        w.clear = gr.Button("New conversation", size="sm", scale=1)
        w.past = gr.Dropdown(
            [],
            value=None,
            label="Past conversations",
            info="kept in this browser",
            elem_id="past-conversations",
            scale=2,
        )


def _side(gr: Any, app: App, w: SimpleNamespace) -> None:
    with gr.Tabs(selected="citations") as w.tabs:
        with gr.Tab("Citations", id="citations"):
            w.panel = gr.HTML(citations_html(None, 0), elem_id="citations")
        with gr.Tab("Source", id="source"):
            w.source = gr.HTML(
                "<p class='panel-note'>Click a citation to open its source.</p>", elem_id="source-view"
            )
        with gr.Tab("Add statements", id="upload"):
            w.files = gr.File(
                file_count="multiple",
                label="Statements (.txt .md .html .pdf .docx)",
                file_types=sorted(SUPPORTED),
                elem_id="upload-files",
            )
            w.add = gr.Button("Add to the index", elem_id="upload-go")
            w.status = gr.HTML(elem_id="upload-status")
        with gr.Tab("Evaluation", id="evaluation"):
            report, plot_bars, plot_curve = app.latest_report()
            w.report = gr.Markdown(report)
            # No report yet: no empty image frames, just the sentence saying how to make one.
            w.bars = gr.Image(plot_bars, label="Ours vs baseline", type="filepath", visible=bool(plot_bars))
            w.curve = gr.Image(plot_curve, label="hit@k", type="filepath", visible=bool(plot_curve))
            w.refresh = gr.Button("Show the latest report", size="sm")


def _wire(gr: Any, app: App, w: SimpleNamespace) -> None:
    inputs = [
        w.box,
        w.chat,
        w.turns,
        w.k,
        w.documents,
        w.countries,
        w.year_from,
        w.year_to,
        w.generator,
        w.scoped,
    ]
    outputs = [w.chat, w.turns, w.panel, w.box]
    # One public endpoint, /ask, for API clients; Enter in the box does the same.
    for trigger, name, visibility in (
        (w.send.click, "ask", "public"),
        (w.box.submit, "ask_enter", "private"),
    ):
        trigger(
            app.respond, inputs, outputs, concurrency_limit=8, api_name=name, api_visibility=visibility
        ).then(lambda: gr.Tabs(selected="citations"), None, w.tabs, api_visibility="private").then(
            remember,
            [w.saved, w.chat, w.turns, w.current],
            [w.saved, w.current, w.past],
            api_visibility="private",
        )
    scroll = (STATIC / "scroll-to-mark.js").read_text(encoding="utf-8")
    w.go.click(app.open_span, [w.request, w.turns], w.source, api_name="open_citation").then(
        lambda: gr.Tabs(selected="source"), None, w.tabs
    ).then(None, None, None, js=scroll)
    _wire_conversations(gr, w)

    def upload(chosen: list[Any] | None, progress: gr.Progress = gr.Progress(track_tqdm=True)) -> Any:  # noqa: B008
        # gr.Progress(track_tqdm=True) shows the ingestion's own progress bar.
        message = app.add_files(chosen)
        found = app.country_choices()
        return (
            message,
            app.summary(),
            gr.Dropdown(choices=app.document_choices()),
            gr.Dropdown(choices=found, visible=bool(found)),
        )

    w.add.click(
        upload,
        w.files,
        [w.status, w.summary, w.documents, w.countries],
        concurrency_limit=1,
        api_name="upload",
    )

    def report() -> tuple[Any, Any, Any]:
        table, bars, curve = app.latest_report()
        return table, gr.Image(bars, visible=bool(bars)), gr.Image(curve, visible=bool(curve))

    w.refresh.click(report, None, [w.report, w.bars, w.curve])


def _user(request: Any) -> str:
    """Whose conversations: the logged-in name, or the browser's own when there is no login."""
    return str(getattr(request, "username", None) or "")


def _past(gr: Any, saved: Any, user: str) -> Any:
    return gr.Dropdown(choices=conversations.choices(saved, user), value=None)


def remember(saved: Any, chat: Any, turns: Any, key: str, request: Any = None) -> tuple[Any, str, Any]:
    """After an answer: the conversation saved in the browser as the current one."""
    gr = gradio_module()
    saved, key = conversations.remember(saved, _user(request), key, chat, turns)
    return saved, key, _past(gr, saved, _user(request))


def _wire_conversations(gr: Any, w: SimpleNamespace) -> None:
    """A reload finds the conversation; "New conversation" starts one; earlier ones reopen."""
    empty = citations_html(None, 0)

    def restore(saved: Any, request: Any = None) -> tuple[Any, ...]:
        key, chat, turns = conversations.current(saved, _user(request))
        return chat, turns, key, _past(gr, saved, _user(request))

    def reopen(saved: Any, key: str | None, request: Any = None) -> tuple[Any, ...]:
        if not key:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        key, chat, turns = conversations.opened(saved, _user(request), key)
        return chat, turns, empty, key

    for handler in (restore, reopen, remember):
        # Gradio passes the request to a parameter annotated gr.Request (a class, not a string).
        handler.__annotations__["request"] = gr.Request
    w.demo.load(restore, w.saved, [w.chat, w.turns, w.current, w.past], api_visibility="private")
    w.clear.click(lambda: ([], [], empty, ""), None, [w.chat, w.turns, w.panel, w.current])
    w.past.input(reopen, [w.saved, w.past], [w.chat, w.turns, w.panel, w.current], api_visibility="private")
