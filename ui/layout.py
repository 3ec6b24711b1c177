"""The page's layout and wiring: the chat beside its citations, sources, uploads and the
evaluation view. All behaviour lives in ``App``; this module only places and connects."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from rag.answering import available_generators
from rag.countries import names as country_names
from rag.loading import SUPPORTED, country_name
from ui import conversations
from ui.app import STATIC, App, gradio_module
from ui.library import CHOOSE, COLUMNS
from ui.limits import CACHE_S
from ui.render import citations_html, escape

TITLE = "Ask the statements"


def build(app: App) -> Any:
    gr = gradio_module()
    # Files Gradio received for an upload are deleted from its cache an hour after they came.
    with gr.Blocks(title=TITLE, fill_width=True, delete_cache=(CACHE_S, CACHE_S)) as demo:
        # The conversation: its turns here, and every conversation in the reader's browser.
        w = SimpleNamespace(
            turns=gr.State([]),
            current=gr.State(""),
            # Kept under a key made once per home: conversations survive a server restart.
            saved=gr.BrowserState(
                {}, storage_key="rag-conversations", secret=conversations.secret(app.pipeline.settings.home)
            ),
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


def _placeholder(examples: list[str]) -> str:
    return f"Ask a question, e.g. {examples[0]}" if examples else "Ask a question about the statements."


def _chat(gr: Any, app: App, w: SimpleNamespace) -> None:
    # The question box comes first in the page (and in the Tab order), the conversation is
    # drawn above it (app.css: #chat has order -1), so Tab reaches the box before any [n].
    with gr.Row(elem_id="ask-row"):
        w.box = gr.Textbox(
            placeholder=_placeholder(app.examples()),
            show_label=False,
            scale=5,
            elem_id="question",
            autofocus=True,
        )
        w.send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
    w.chat = gr.Chatbot(
        label="Conversation", height=520, elem_id="chat", placeholder="Ask a question about the statements."
    )
    with gr.Row():
        w.stop = gr.Button("Stop", size="sm", elem_id="stop", scale=1)
        w.again = gr.Button("Regenerate", size="sm", elem_id="regenerate", scale=1)
    # Drawn from the index shown, and drawn again when another one is chosen (``_wire``).
    w.examples = gr.Examples(app.examples(), inputs=w.box, label="Try").dataset
    with gr.Accordion("Search settings and filters", open=False):
        settings = app.pipeline.settings
        w.k = gr.Slider(1, 20, value=settings.k, step=1, label="Passages to retrieve")
        # Choices are read when the page opens and after every answer (see _wire_library).
        w.documents = gr.Dropdown([], multiselect=True, label="Only these statements", elem_id="only-docs")
        w.countries = gr.Dropdown(
            [], multiselect=True, label="Countries", visible=False, elem_id="only-countries"
        )
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
            limits = app.pipeline.settings
            w.files = gr.File(
                file_count="multiple",
                label="Statements (.txt .md .html .pdf .docx)",
                file_types=sorted(SUPPORTED),
                elem_id="upload-files",
            )
            gr.Markdown(
                f"Up to {limits.upload_max_files} files of {limits.upload_max_mb} MB each at a time. "
                "An upload is marked as one in its citations.",
                elem_classes="panel-note",
            )
            w.upload_country = gr.Dropdown(
                COUNTRY_NAMES,
                value="",  # none: and optional for an API client of /upload
                allow_custom_value=True,
                label="Country (optional)",
                info=COUNTRY_INFO,
                elem_id="upload-country",
            )
            w.add = gr.Button("Add to the index", elem_id="upload-go")
            w.status = gr.HTML(elem_id="upload-status")
        with gr.Tab("Library", id="library") as w.library_tab:
            _library(gr, app, w)
        with gr.Tab("Evaluation", id="evaluation") as w.evaluation_tab:
            report, plot_bars, plot_curve = app.latest_report()
            w.report = gr.Markdown(report, elem_id="eval-report")
            # No report yet: no empty image frames, just the sentence saying how to make one.
            w.bars = gr.Image(plot_bars, label="Ours vs baseline", type="filepath", visible=bool(plot_bars))
            w.curve = gr.Image(plot_curve, label="hit@k", type="filepath", visible=bool(plot_curve))
            w.refresh = gr.Button("Show the latest report", size="sm")


def _library(gr: Any, app: App, w: SimpleNamespace) -> None:
    """Which index this page asks, its statements as a table to search, and removal (after
    a confirmation) or a fresh embedding of the one clicked."""
    names = app.indexes.names()
    w.index = gr.Dropdown(
        names,
        value=app.indexes.default,
        label="Index",
        info="the statements this page asks; each page chooses its own",
        elem_id="index-choice",
        visible=len(names) > 1,
    )
    w.find = gr.Textbox(
        label="Search the library",
        placeholder="title, country, speaker, year…",
        max_lines=1,
        elem_id="library-search",
    )
    w.table = gr.Dataframe(
        headers=COLUMNS,
        value=[],
        interactive=False,
        wrap=True,
        elem_id="library-table",
        max_height=420,
        # Wide enough for one-line headers and whole file names: the table scrolls sideways
        # in a narrow column rather than break "Country" or "USA_79_2024.txt" mid-word.
        column_widths=["220px", "90px", "100px", "130px", "90px", "150px", "160px"],
    )
    w.table_ids = gr.State([])
    w.picked = gr.State("")
    w.picked_line = gr.Markdown(NOTHING_PICKED, elem_id="library-picked")
    with gr.Row(elem_id="library-details"):
        w.meta_country = gr.Dropdown(
            COUNTRY_NAMES,
            value=None,
            allow_custom_value=True,
            label="Country",
            interactive=False,
            elem_id="details-country",
        )
        w.meta_speaker = gr.Textbox(
            label="Speaker", max_lines=1, interactive=False, elem_id="details-speaker"
        )
        w.meta_date = gr.Textbox(
            label="Date",
            placeholder="2024-09-24 or 2024",
            max_lines=1,
            interactive=False,
            elem_id="details-date",
        )
    w.save_details = gr.Button("Save details", size="sm", interactive=False, elem_id="library-save-details")
    with gr.Row():
        w.remove = gr.Button("Remove…", size="sm", elem_id="library-remove")
        w.renew = gr.Button("Index again", size="sm", elem_id="library-renew")
    with gr.Row(visible=False, elem_id="library-confirm") as w.confirm_row:
        w.confirm = gr.Button("Remove it", variant="stop", size="sm", elem_id="library-confirm-remove")
        w.cancel = gr.Button("Cancel", size="sm", elem_id="library-cancel")
    w.library_status = gr.HTML(elem_id="library-status")


NOTHING_PICKED = "Click a statement in the table to remove it, index it again or set its details."
COUNTRY_NAMES = sorted({country_name(code) for code in country_names().values()})
COUNTRY_INFO = "Who spoke, for every file of this upload; left empty, none is set."
WRITING = {"concurrency_limit": 1, "concurrency_id": "library"}  # one change at a time, app-wide
ASKING = 16  # questions answered at once: each reads its own snapshot (docs/reliability.md)


def _wire(gr: Any, app: App, w: SimpleNamespace) -> None:
    def refresh(index: str, documents: list[str] | None, countries: list[str] | None) -> tuple[Any, ...]:
        """The header and filter choices as the index is now (another page may have added
        or removed statements); a chosen filter that is gone is dropped."""
        docs, places, examples = app.document_choices(index), app.country_choices(index), app.examples(index)
        return (
            app.summary(index),
            gr.Dataset(samples=[[q] for q in examples]),
            gr.Textbox(placeholder=_placeholder(examples)),
            gr.Dropdown(choices=docs, value=[d for d in documents or [] if d in {v for _, v in docs}]),
            gr.Dropdown(
                choices=places,
                value=[c for c in countries or [] if c in {v for _, v in places}],
                visible=bool(places),
            ),
        )

    w.shown = ([w.index, w.documents, w.countries], [w.summary, w.examples, w.box, w.documents, w.countries])
    w.refresh_shown = refresh
    w.demo.load(refresh, *w.shown, api_visibility="private")
    _wire_asking(gr, app, w)
    scroll = (STATIC / "scroll-to-mark.js").read_text(encoding="utf-8")
    w.go.click(app.open_span, [w.request, w.turns], w.source, api_name="open_citation").then(
        lambda: gr.Tabs(selected="source"), None, w.tabs
    ).then(None, None, None, js=scroll)
    _wire_conversations(gr, w)
    _wire_library(gr, app, w)

    def report() -> tuple[Any, Any, Any]:
        table, bars, curve = app.latest_report()
        return table, gr.Image(bars, visible=bool(bars)), gr.Image(curve, visible=bool(curve))

    # Read again when a page opens and when the tab is chosen: a report `rag eval` wrote
    # after the server started is there without asking.
    for event in (w.refresh.click, w.evaluation_tab.select, w.demo.load):
        event(report, None, [w.report, w.bars, w.curve], api_visibility="private")


def _wire_asking(gr: Any, app: App, w: SimpleNamespace) -> None:
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
        w.index,
    ]
    outputs = [w.chat, w.turns, w.panel, w.box]

    def something_to_ask(chat: Any, turns: Any, box: str) -> None:
        # Said in a notice (changing no component, so none is marked as failed), never
        # posted as an answer.
        if not app.take_back(chat, turns, box)[0].strip():
            raise gr.Error(
                "There is nothing to regenerate yet: ask a question first.",
                title="Regenerate",
                print_exception=False,
            )

    again = w.again.click(something_to_ask, [w.chat, w.turns, w.box], None, api_visibility="private").success(
        app.take_back, [w.chat, w.turns, w.box], [w.box, w.chat, w.turns], api_visibility="private"
    )

    # A question to try is asked when clicked, not only put in the box.
    def tried_text(evt: gr.SelectData) -> str:
        value = evt.value
        return str(value[0] if isinstance(value, list | tuple) and value else value or "")

    tried_text.__annotations__["evt"] = gr.SelectData  # Gradio finds the selection by its class
    tried = w.examples.select(tried_text, None, w.box, api_visibility="private")
    # One public endpoint, /ask, for API clients; Enter in the box and Regenerate do the same.
    asking = []
    for trigger, name, visibility in (
        (w.send.click, "ask", "public"),
        (w.box.submit, "ask_enter", "private"),
        (again.success, "ask_again", "private"),
        (tried.success, "ask_example", "private"),
    ):
        event = trigger(
            app.respond, inputs, outputs, concurrency_limit=ASKING, api_name=name, api_visibility=visibility
        )
        asking.append(event)
        event.then(lambda: gr.Tabs(selected="citations"), None, w.tabs, api_visibility="private").then(
            remember,
            [w.saved, w.chat, w.turns, w.current],
            [w.saved, w.current, w.past],
            api_visibility="private",
        ).then(w.refresh_shown, *w.shown, api_visibility="private")
    # Stop: the answer as far as it got stays on the page.
    w.stop.click(None, None, None, cancels=asking, api_visibility="private")


def _wire_library(gr: Any, app: App, w: SimpleNamespace) -> None:
    """Uploads, the table, removal and a fresh embedding: one change at a time, app-wide."""
    table = ([w.index, w.find], [w.table, w.table_ids])

    def shown_details(index: str, doc_id: str) -> tuple[Any, ...]:
        return _details_shown(gr, app, index, doc_id)

    def pick(ids: list[str], index: str, evt: gr.SelectData) -> tuple[Any, ...]:
        row = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
        doc_id = ids[row] if isinstance(row, int) and 0 <= row < len(ids) else ""
        title = app.library.title(index, doc_id)
        return (
            doc_id,
            (f"Chosen: **{escape(title)}**" if title else NOTHING_PICKED),
            *shown_details(index, doc_id),
        )

    def ask_first(doc_id: str, index: str) -> tuple[Any, str]:
        title = app.library.title(index, doc_id)
        if not title:
            return gr.Row(visible=False), CHOOSE
        return gr.Row(visible=True), (
            f"Remove <b>{escape(title)}</b>? Its passages leave this index for everyone who asks it."
        )

    details = [w.meta_country, w.meta_speaker, w.meta_date, w.save_details]

    def changed(event: Any) -> None:
        event.then(w.refresh_shown, *w.shown).then(app.library.rows, *table).then(
            lambda index: ("", NOTHING_PICKED, *shown_details(index, "")),
            w.index,
            [w.picked, w.picked_line, *details],
        )

    pick.__annotations__["evt"] = gr.SelectData  # Gradio finds the selection by its class

    _wire_uploads(gr, app, w, changed)
    # Filled when the page opens too: a Library chosen at once is never an empty table.
    for event in (w.library_tab.select, w.demo.load):
        event(app.library.rows, *table, api_visibility="private")
    w.find.change(app.library.rows, *table, api_visibility="private")
    w.table.select(
        pick, [w.table_ids, w.index], [w.picked, w.picked_line, *details], api_visibility="private"
    )
    w.remove.click(ask_first, [w.picked, w.index], [w.confirm_row, w.library_status])
    w.cancel.click(lambda: (gr.Row(visible=False), ""), None, [w.confirm_row, w.library_status])
    changed(
        w.confirm.click(lambda: gr.Row(visible=False), None, w.confirm_row).then(
            app.library.remove, [w.index, w.picked], w.library_status, api_name="remove", **WRITING
        )
    )
    changed(w.renew.click(app.library.renew, [w.index, w.picked], w.library_status, **WRITING))
    # Another index: its statements, and a new conversation (citations are per index).
    w.index.change(w.refresh_shown, *w.shown).then(app.library.rows, *table).then(
        lambda: ([], [], citations_html(None, 0), ""), None, [w.chat, w.turns, w.panel, w.current]
    )


def _wire_uploads(gr: Any, app: App, w: SimpleNamespace, changed: Any) -> None:
    """What a user says of uploads: the files, the country confirmed on the form, the
    country, speaker and date saved in the Library."""

    def upload(
        chosen: list[Any] | None,
        index: str,
        country: str | None,
        progress: gr.Progress = gr.Progress(),  # noqa: B008
    ) -> str:
        def tell(done: int, total: int) -> None:
            progress((done, total), desc="Embedding", unit="files")

        return app.library.add(index, chosen, tell, country=country)

    def suggest(chosen: list[Any] | None) -> Any:
        """The country the chosen files name, offered first: set only when the user chooses it."""
        name = app.library.suggest(chosen)
        if not name:
            return gr.Dropdown(choices=COUNTRY_NAMES, info=COUNTRY_INFO)
        return gr.Dropdown(
            choices=[name, *(c for c in COUNTRY_NAMES if c != name)],
            info=f"The text names {name}: choose it if {name} spoke (nothing is set unless you choose).",
        )

    changed(w.add.click(upload, [w.files, w.index, w.upload_country], w.status, api_name="upload", **WRITING))
    w.files.change(suggest, w.files, w.upload_country, api_visibility="private")
    w.saved = gr.State(False)

    def kept(index: str, doc_id: str, saved: bool) -> tuple[Any, ...]:
        """After a save: the statement still chosen, its details as now indexed; after a
        refusal, the form as the user left it, to mend the one entry named."""
        if not saved:
            return tuple(gr.update() for _ in range(6))
        title = app.library.title(index, doc_id)
        return doc_id, f"Chosen: **{escape(title)}**", *_details_shown(gr, app, index, doc_id)

    w.save_details.click(
        app.library.save_details,
        [w.index, w.picked, w.meta_country, w.meta_speaker, w.meta_date],
        [w.library_status, w.saved],
        api_name="set_details",
        **WRITING,
    ).then(w.refresh_shown, *w.shown).then(app.library.rows, [w.index, w.find], [w.table, w.table_ids]).then(
        kept,
        [w.index, w.picked, w.saved],
        [w.picked, w.picked_line, w.meta_country, w.meta_speaker, w.meta_date, w.save_details],
    )


def _details_shown(gr: Any, app: App, index: str, doc_id: str) -> tuple[Any, ...]:
    """The chosen statement's country, speaker and date, editable only for an upload."""
    country, speaker, date, editable = app.library.details(index, doc_id)
    why = None if editable or not doc_id else "set by its file's NAME.meta.json (added with rag ingest)"
    return (
        gr.Dropdown(value=country or None, interactive=editable, info=why),
        gr.Textbox(value=speaker, interactive=editable),
        gr.Textbox(value=date, interactive=editable),
        gr.Button(interactive=editable),
    )


def _user(request: Any) -> str:
    """Whose conversations: the logged-in name, or the browser's own when there is no login."""
    return str(getattr(request, "username", None) or "")


def _past(gr: Any, saved: Any, user: str, key: str = "") -> Any:
    """The saved conversations, the one open shown as chosen (none after "New conversation")."""
    choices = conversations.choices(saved, user)
    return gr.Dropdown(choices=choices, value=key if key in {k for _, k in choices} else None)


def remember(saved: Any, chat: Any, turns: Any, key: str, request: Any = None) -> tuple[Any, str, Any]:
    """After an answer: the conversation saved in the browser as the current one."""
    gr = gradio_module()
    saved, key = conversations.remember(saved, _user(request), key, chat, turns)
    return saved, key, _past(gr, saved, _user(request), key)


def _wire_conversations(gr: Any, w: SimpleNamespace) -> None:
    """A reload finds the conversation; "New conversation" starts one; earlier ones reopen."""
    empty = citations_html(None, 0)

    def restore(saved: Any, request: Any = None) -> tuple[Any, ...]:
        key, chat, turns = conversations.current(saved, _user(request))
        return chat, turns, key, _past(gr, saved, _user(request), key)

    def reopen(saved: Any, key: str | None, request: Any = None) -> tuple[Any, ...]:
        if not key:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        key, chat, turns = conversations.opened(saved, _user(request), key)
        # The one reopened is the current one: a reload shows it, not the newest.
        return chat, turns, empty, key, conversations.made_current(saved, _user(request), key)

    for handler in (restore, reopen, remember):
        # Gradio passes the request to a parameter annotated gr.Request (a class, not a string).
        handler.__annotations__["request"] = gr.Request
    w.demo.load(restore, w.saved, [w.chat, w.turns, w.current, w.past], api_visibility="private")
    w.clear.click(
        lambda: ([], [], empty, "", gr.Dropdown(value=None)),
        None,
        [w.chat, w.turns, w.panel, w.current, w.past],
    )
    w.past.input(
        reopen, [w.saved, w.past], [w.chat, w.turns, w.panel, w.current, w.saved], api_visibility="private"
    )
