"""The Gradio app: ask, read the cited answer, open every citation in its full source."""

from __future__ import annotations

import html
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rag.answering import available_generators
from rag.errors import RagError
from rag.evaluation.report import latest_report
from rag.loading import SUPPORTED
from rag.pipeline import Pipeline
from rag.retrieval import Filters
from rag.types import Answer, Document

TITLE = "Ask the statements"
EXAMPLES = [
    "Who did Wang Yi meet to discuss Security Council reform?",
    "What does China see as the priority of Security Council reform?",
    "How should security sector reform be funded?",
]

CSS = """
.answer, .refusal, .error { line-height: 1.55; }
.refusal { border-left: 4px solid #b7791f; padding: 4px 10px; background: #fffaf0; color: #5f370e; }
.error { border-left: 4px solid #c53030; padding: 4px 10px; background: #fff5f5; color: #742a2a; }
a.cite-marker { font-weight: 600; text-decoration: none; color: #1d4ed8; cursor: pointer; padding: 0 1px; }
a.cite-marker:hover { text-decoration: underline; }
.cite-card { border: 1px solid #d9dee7; border-radius: 8px; padding: 10px 12px; margin: 0 0 10px 0; }
.cite-card .meta { color: #555; font-size: 0.88em; margin: 2px 0 6px 0; }
.cite-card blockquote { margin: 4px 0 6px 0; padding-left: 10px; border-left: 3px solid #93c5fd;
  font-family: Georgia, 'Times New Roman', serif; }
.panel-note { color: #555; font-size: 0.9em; }
.unsupported { background: #fee2e2; text-decoration: underline dotted #b91c1c; }
.note { color: #6b7280; font-size: 0.85em; margin-top: 6px; }
#source-view .source-text { white-space: pre-wrap; max-height: 62vh; overflow-y: auto; padding: 10px 14px;
  border: 1px solid #d9dee7; border-radius: 8px; font-family: Georgia, 'Times New Roman', serif;
  line-height: 1.6; }
#source-view mark.cited { background: #fde68a; box-shadow: 0 2px 0 #f59e0b; padding: 1px 0; }
.offscreen-control { position: absolute !important; left: -10000px !important; width: 1px; height: 1px; }
"""

# Clicking any [n] marker or "open in source" link asks the server for that span.
HEAD = """
<script>
document.addEventListener('click', (event) => {
  const link = event.target.closest('a.cite-marker');
  if (!link) return;
  event.preventDefault();
  const box = document.querySelector('#cite-request textarea, #cite-request input');
  const go = document.querySelector('#cite-go');
  if (!box || !go) return;
  const ref = (link.getAttribute('href') || '').replace(/^#cite-/, '').replace(/-/g, ':');
  box.value = ref;
  box.dispatchEvent(new Event('input', { bubbles: true }));
  setTimeout(() => go.click(), 60);
});
</script>
"""

SCROLL_TO_MARK = """
() => { setTimeout(() => {
  const mark = document.querySelector('#source-view mark.cited');
  if (mark) mark.scrollIntoView({ block: 'center' });
}, 150); }
"""


def _escape(text: str) -> str:
    return html.escape(text, quote=True)


def _meta_line(doc: Document) -> str:
    meta = doc.metadata
    parts = [str(meta[k]) for k in ("date", "speaker", "venue") if meta.get(k)]
    if not meta.get("date") and meta.get("year"):
        parts.insert(0, str(meta["year"]))
    parts.append(doc.source)
    return " · ".join(_escape(p) for p in parts)


def _marker(turn: int, kind: str, n: int, label: str) -> str:
    # The chat's HTML sanitiser keeps class and href only, so the fragment carries the reference.
    return f'<a href="#cite-{turn}-{kind}-{n}" class="cite-marker">{label}</a>'


def answer_html(answer: Answer, turn: int) -> str:
    """The answer as the chat shows it: document words escaped, [n] markers clickable,
    sentences its citations do not support marked, and any note on how it was written."""
    if answer.refused:
        return (
            f'<div class="refusal"><strong>{_escape(answer.text)}</strong> '
            "The closest passages are listed beside the chat for you to judge.</div>"
        )
    parts = []
    for sentence in answer.sentences or ():
        markers = "".join(f" {_marker(turn, 'c', n, f'[{n}]')}" for n in sentence.citations)
        text = _escape(sentence.text) + markers
        if not sentence.supported:
            text = (
                f'<span class="unsupported" title="Its citations do not support this sentence">'
                f"⚠ {text}</span>"
            )
        parts.append(text)
    body = " ".join(parts) if parts else _escape(answer.text)
    note = f'<div class="note">{_escape(answer.note)}</div>' if answer.note else ""
    flagged = (
        '<div class="note">⚠ marks a sentence that its citations do not support.</div>'
        if answer.unsupported
        else ""
    )
    return f'<div class="answer">{body}</div>{flagged}{note}'


def citations_html(answer: Answer | None, turn: int) -> str:
    """The panel beside the chat: each citation's source, metadata and quoted words."""
    if answer is None:
        return (
            '<p class="panel-note">Citations appear here. Click a [n] marker or "Open in source" '
            "to read the cited words highlighted in the whole statement.</p>"
        )
    cards = []
    if answer.refused:
        cards.append('<p class="panel-note">No passage answers the question. The closest ones:</p>')
        for p in answer.passages:
            snippet = " ".join(p.text.split())
            cards.append(
                f'<div class="cite-card"><b>{p.rank}. {_escape(p.document.title)}</b>'
                f'<div class="meta">{_meta_line(p.document)} · similarity {p.similarity:.2f}</div>'
                f"<blockquote>{_escape(snippet[:400])}{'…' if len(snippet) > 400 else ''}</blockquote>"
                f"{_marker(turn, 'p', p.rank, 'Open in source ↗')}</div>"
            )
        return "".join(cards)
    for c in answer.citations:
        cards.append(
            f'<div class="cite-card">{_marker(turn, "c", c.n, f"[{c.n}]")} '
            f"<b>{_escape(c.document.title)}</b>"
            f'<div class="meta">{_meta_line(c.document)} · characters {c.start}–{c.end}</div>'
            f"<blockquote>{_escape(' '.join(c.quote.split()))}</blockquote>"
            f"{_marker(turn, 'c', c.n, 'Open in source ↗')}</div>"
        )
    return "".join(cards)


def source_html(doc: Document, start: int, end: int, label: str) -> str:
    """The whole document, escaped, with exactly ``text[start:end]`` highlighted."""
    text = doc.text
    return (
        f"<div class='source-head'><b>{_escape(doc.title)}</b><div class='meta'>{_meta_line(doc)}</div>"
        f"<p class='panel-note'>{_escape(label)}: characters {start}–{end} highlighted.</p></div>"
        f"<div class='source-text'>{_escape(text[:start])}<mark class='cited'>{_escape(text[start:end])}"
        f"</mark>{_escape(text[end:])}</div>"
    )


def _turn_record(answer: Answer) -> dict[str, Any]:
    return {
        "c": {c.n: (c.doc_id, c.start, c.end) for c in answer.citations},
        "p": {p.rank: (p.doc_id, p.start, p.end) for p in answer.passages},
    }


def _filters(
    documents: list[str] | None, countries: list[str] | None, year_from: Any, year_to: Any
) -> Filters:
    def year(value: Any) -> int | None:
        return int(value) if value not in (None, "") else None

    return Filters(tuple(documents or ()), tuple(countries or ()), year(year_from), year(year_to))


def _gradio() -> Any:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home, ever
    import gradio

    return gradio


class App:
    """The page's logic as plain methods (testable without a server) and its layout."""

    def __init__(self, pipeline: Pipeline, reports_dir: Path | None = None):
        self.pipeline = pipeline
        self.reports_dir = reports_dir or pipeline.settings.home / "eval" / "reports"
        self.uploads_dir = pipeline.settings.uploads_dir

    # -- logic ---------------------------------------------------------------------------

    def respond(
        self,
        message: str,
        history: list[dict[str, Any]],
        turns: list[dict[str, Any]],
        k: int = 5,
        documents: list[str] | None = None,
        countries: list[str] | None = None,
        year_from: Any = None,
        year_to: Any = None,
        generator: str | None = None,
    ) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]], str, str]]:
        """Yield (chat, turns, citations panel, input box) as the answer streams in.

        Earlier questions of the conversation go with the new one, so follow-ups work.
        """
        history = [*history, {"role": "user", "content": _escape(message)}]
        previous = [t["question"] for t in turns]
        empty_panel = citations_html(None, 0)
        try:
            stream = self.pipeline.answer_stream(
                message,
                k=int(k),
                filters=_filters(documents, countries, year_from, year_to),
                generator=generator,
                history=previous,
            )
            history.append({"role": "assistant", "content": ""})
            written = ""
            answer = None
            for item in stream:
                if isinstance(item, Answer):
                    answer = item
                    break
                written += item
                history[-1] = {"role": "assistant", "content": _escape(written) + " …"}
                yield list(history), turns, empty_panel, ""
        except RagError as exc:
            history[-1:] = [{"role": "assistant", "content": f'<div class="error">{_escape(str(exc))}</div>'}]
            yield list(history), turns, empty_panel, ""
            return
        assert answer is not None
        turn = len(turns)
        turns = [*turns, {"question": message, **_turn_record(answer)}]
        if not written and not answer.refused:
            # Quoted answers arrive whole; show them word by word all the same.
            words = answer.text.split(" ")
            step = max(1, len(words) // 12)
            for i in range(step, len(words), step):
                history[-1] = {"role": "assistant", "content": _escape(" ".join(words[:i])) + " …"}
                yield list(history), turns, empty_panel, ""
                time.sleep(0.02)
        history[-1] = {"role": "assistant", "content": answer_html(answer, turn)}
        yield list(history), turns, citations_html(answer, turn), ""

    def open_span(self, request: str, turns: list[dict[str, Any]]) -> str:
        """The source view for a "turn:kind:n" request from a clicked marker."""
        try:
            turn, kind, n = request.split(":")
            doc_id, start, end = turns[int(turn)][kind][int(n)]
        except (ValueError, IndexError, KeyError):
            return "<p class='panel-note'>That citation is no longer available; ask again.</p>"
        doc = self.pipeline.document(doc_id)
        if doc is None:
            return "<p class='panel-note'>That document has been removed from the index.</p>"
        label = f"Citation [{n}]" if kind == "c" else f"Passage {n}"
        return source_html(doc, start, end, label)

    def add_files(self, files: list[Any] | None) -> str:
        """Copy uploads under the app's home (by base name only) and index them."""
        if not files:
            return "Choose one or more files first."
        self.uploads_dir.mkdir(parents=True, exist_ok=True)
        targets, notes = [], []
        for f in files:
            src = Path(getattr(f, "name", None) or str(f))
            name = safe_name(getattr(f, "orig_name", None) or src.name)
            if name is None or Path(name).suffix.lower() not in SUPPORTED:
                notes.append(
                    f"skipped {_escape(src.name)}: only {', '.join(sorted(SUPPORTED))} files are read"
                )
                continue
            target = self.uploads_dir / name
            shutil.copyfile(src, target)
            targets.append(target)
        if not targets:
            return "<br>".join(notes) or "Nothing to add."
        try:
            report = self.pipeline.ingest(targets, progress=True)
        except RagError as exc:
            return "<br>".join([*notes, _escape(str(exc))])
        lines = [*notes, *(_escape(line) for line in report.lines())]
        stats = self.pipeline.stats()
        lines.append(f"The index now holds {stats.documents} documents, {stats.chunks} chunks.")
        return "<br>".join(lines)

    def document_choices(self) -> list[tuple[str, str]]:
        return sorted((f"{d.title} ({d.source})", d.source) for d in self.pipeline.documents())

    def country_choices(self) -> list[tuple[str, str]]:
        found = {
            (str(d.metadata.get("speaker") or d.metadata["country"]), str(d.metadata["country"]))
            for d in self.pipeline.documents()
            if d.metadata.get("country")
        }
        return sorted(found)

    def summary(self) -> str:
        stats = self.pipeline.stats()
        return f"{stats.documents} statements, {stats.chunks} passages · index `{stats.index_dir}`"

    def latest_report(self) -> tuple[str, str | None, str | None]:
        """The newest evaluation report: its table as Markdown and its two plots."""
        found = latest_report(self.reports_dir)
        if found is None:
            return "No evaluation report yet: run `rag eval` to write one.", None, None
        table, metrics, curve = found
        return table, (str(metrics) if metrics else None), (str(curve) if curve else None)

    # -- layout --------------------------------------------------------------------------

    def build(self) -> Any:
        gr = _gradio()

        with gr.Blocks(title=TITLE, fill_width=True) as demo:
            turns = gr.State([])
            gr.Markdown(
                f"## {TITLE}\nEvery sentence of an answer quotes a statement; click a "
                "**[n]** to read it highlighted in its source."
            )
            summary = gr.Markdown(self.summary(), elem_id="corpus-summary")
            with gr.Row():
                with gr.Column(scale=3):
                    chat = gr.Chatbot(
                        label="Conversation",
                        height=520,
                        elem_id="chat",
                        placeholder="Ask a question about the statements.",
                    )
                    with gr.Row():
                        box = gr.Textbox(
                            placeholder="Ask a question, e.g. " + EXAMPLES[0],
                            show_label=False,
                            scale=5,
                            elem_id="question",
                            autofocus=True,
                        )
                        send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                    gr.Examples(EXAMPLES, inputs=box, label="Try")
                    with gr.Accordion("Search settings and filters", open=False):
                        k = gr.Slider(
                            1, 20, value=self.pipeline.settings.k, step=1, label="Passages to retrieve"
                        )
                        documents = gr.Dropdown(
                            self.document_choices(), multiselect=True, label="Only these documents"
                        )
                        places = self.country_choices()
                        countries = gr.Dropdown(
                            places, multiselect=True, label="Countries", visible=bool(places)
                        )
                        with gr.Row():
                            year_from = gr.Number(None, label="From year", precision=0)
                            year_to = gr.Number(None, label="To year", precision=0)
                        writers = available_generators(self.pipeline.settings)
                        generator = gr.Dropdown(
                            writers,
                            value=self.pipeline.settings.generator,
                            label="Answer written by",
                            info="extractive quotes the statements; a model writes fluent answers that "
                            "are checked against their citations",
                            visible=len(writers) > 1,
                        )
                    clear = gr.Button("New conversation", size="sm")
                with gr.Column(scale=2):
                    with gr.Tabs(selected="citations") as tabs:
                        with gr.Tab("Citations", id="citations"):
                            panel = gr.HTML(citations_html(None, 0), elem_id="citations")
                        with gr.Tab("Source", id="source"):
                            source = gr.HTML(
                                "<p class='panel-note'>Click a citation to open its source.</p>",
                                elem_id="source-view",
                            )
                        with gr.Tab("Add documents", id="upload"):
                            files = gr.File(
                                file_count="multiple",
                                label="Statements (.txt .md .html .pdf)",
                                file_types=sorted(SUPPORTED),
                                elem_id="upload-files",
                            )
                            add = gr.Button("Add to the index", elem_id="upload-go")
                            status = gr.HTML(elem_id="upload-status")
                        with gr.Tab("Evaluation", id="evaluation"):
                            report, plot_bars, plot_curve = self.latest_report()
                            report_md = gr.Markdown(report)
                            bars = gr.Image(plot_bars, label="Ours vs baseline", type="filepath")
                            curve = gr.Image(plot_curve, label="hit@k", type="filepath")
                            refresh = gr.Button("Show the latest report", size="sm")
            request = gr.Textbox(elem_id="cite-request", elem_classes="offscreen-control", show_label=False)
            go = gr.Button("open", elem_id="cite-go", elem_classes="offscreen-control")

            inputs = [box, chat, turns, k, documents, countries, year_from, year_to, generator]
            outputs = [chat, turns, panel, box]
            # One public endpoint, /ask, for API clients; Enter in the box does the same.
            for trigger, name, visibility in (
                (send.click, "ask", "public"),
                (box.submit, "ask_enter", "private"),
            ):
                trigger(
                    self.respond,
                    inputs,
                    outputs,
                    concurrency_limit=8,
                    api_name=name,
                    api_visibility=visibility,
                ).then(lambda: gr.Tabs(selected="citations"), None, tabs, api_visibility="private")
            go.click(self.open_span, [request, turns], source, api_name="open_citation").then(
                lambda: gr.Tabs(selected="source"), None, tabs
            ).then(None, None, None, js=SCROLL_TO_MARK)
            clear.click(lambda: ([], [], citations_html(None, 0)), None, [chat, turns, panel])

            def upload(chosen: list[Any] | None, progress: gr.Progress = gr.Progress(track_tqdm=True)) -> Any:  # noqa: B008
                # gr.Progress(track_tqdm=True) shows the ingestion's own progress bar.
                message = self.add_files(chosen)
                found = self.country_choices()
                return (
                    message,
                    self.summary(),
                    gr.Dropdown(choices=self.document_choices()),
                    gr.Dropdown(choices=found, visible=bool(found)),
                )

            add.click(
                upload, files, [status, summary, documents, countries], concurrency_limit=1, api_name="upload"
            )
            refresh.click(self.latest_report, None, [report_md, bars, curve])
        return demo


def safe_name(name: str) -> str | None:
    """A plain file name from an uploaded one: no folders, no "..", no hidden files."""
    base = re.split(r"[\\/]", name)[-1].strip()
    base = re.sub(r"[^\w.\- ]", "_", base)
    if not base or base.startswith(".") or base in {".", ".."}:
        return None
    return base


def launch(
    pipeline: Pipeline,
    host: str = "127.0.0.1",
    port: int = 7860,
    share: bool = False,
    auth: tuple[str, str] | None = None,
    open_browser: bool = False,
    block: bool = True,
) -> Any:
    gr = _gradio()

    demo = App(pipeline).build()
    theme = gr.themes.Soft(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])
    demo.queue(default_concurrency_limit=8)
    demo.launch(
        server_name=host,
        server_port=port,
        share=share,
        auth=auth,
        inbrowser=open_browser,
        prevent_thread_lock=not block,
        css=CSS,
        head=HEAD,
        theme=theme,
        quiet=not block,
        footer_links=[],
        show_error=True,
    )
    return demo
