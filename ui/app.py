"""The Gradio app: ask, read the cited answer, open every citation in its full source."""

from __future__ import annotations

import html
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rag.countries import called, country_name
from rag.errors import InputError, RagError
from rag.evaluation.report import latest_report
from rag.pipeline import Pipeline
from rag.question.followup import MAX_TURNS, Turn
from rag.question.text import check_question
from rag.types import Answer
from ui.conversations import clean_turns, text_chat
from ui.library import Indexes, Library
from ui.render import (
    answer_html,
    citations_html,
    escape,
    filters_from,
    holding,
    shown_source,
    source_html,
    turn_record,
)

STATIC = Path(__file__).parent / "static"


# Questions to try on the seed statements (``App.examples`` makes them for any other index).
SEED_EXAMPLES = (
    "Who did Wang Yi meet to discuss Security Council reform?",
    "What does China see as the priority of Security Council reform?",
    "How should security sector reform be funded?",
)


def gradio_module() -> Any:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home, ever
    import gradio

    return gradio


class App:
    """The page's logic as plain methods (testable without a server) and its layout."""

    def __init__(self, pipeline: Pipeline, reports_dir: Path | None = None):
        self.pipeline = pipeline  # the index the app was started on
        self.indexes = Indexes(pipeline)
        self.library = Library(self.indexes)
        self.reports_dir = reports_dir or pipeline.settings.home / "eval" / "reports"

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
        scoped: bool = True,
        index: str | None = None,
    ) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]], str, str]]:
        """Yield (chat, turns, citations panel, input box) as the answer streams in.

        Earlier questions of the conversation go with the new one, so follow-ups work;
        ``index``: which of the home's indexes to ask (default: the one started on).
        """
        empty_panel = citations_html(None, 0)
        history, turns = text_chat(history), clean_turns(turns)
        if not history:
            # No chat sent: a new conversation, whatever this session asked before (an API
            # client's follow-ups come from the history it sends, not from server state).
            turns = []
        try:
            message = check_question(message)  # as searched: text the page can send back
            k = passages_asked(k)
            filters = filters_from(documents, countries, year_from, year_to)
            pipeline = self.indexes.get(index)
        except RagError as exc:  # the message alone, not an empty bubble above it
            yield [*history, _error(exc)], turns, empty_panel, ""
            return
        history = [*history, {"role": "user", "content": escape(message)}]
        previous = [Turn.from_json(t) for t in turns[-MAX_TURNS:]]
        history.append({"role": "assistant", "content": ""})
        written, answer = "", None
        try:
            for item in pipeline.answer_stream(
                message, k=k, filters=filters, generator=generator, history=previous, scoped=bool(scoped)
            ):
                if isinstance(item, Answer):
                    answer = item
                    break
                written += item
                history[-1] = {"role": "assistant", "content": escape(written) + " …"}
                yield list(history), turns, empty_panel, ""
        except RagError as exc:
            history[-1] = _error(exc)
            yield list(history), turns, empty_panel, ""
            return
        assert answer is not None
        turn = len(turns)
        # The turn is kept with its final answer only: one stopped short is not a turn.
        turns = [*turns, {**turn_record(message, answer), "index": pipeline.settings.index_dir.name}]
        history[-1] = {"role": "assistant", "content": answer_html(answer, turn)}
        yield list(history), turns, citations_html(answer, turn), ""

    def take_back(
        self, history: list[dict[str, Any]], turns: list[dict[str, Any]], box: str = ""
    ) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
        """For Regenerate: the last question back in the box, and the chat and turns as they
        were before it was asked (its answer, whole, stopped short or failed, is gone). With
        no question in the chat (one stopped before its first word) the box is left as it
        is, so Regenerate asks what it holds."""
        history, turns = text_chat(history), clean_turns(turns)
        asked = [i for i, m in enumerate(history) if m.get("role") == "user"]
        if not asked:
            return box or "", history, turns
        last = asked[-1]
        answered = " ".join(m["content"] for m in history[last + 1 :])
        if turns and f'turn-{len(turns) - 1}"' in answered:
            turns = turns[:-1]
        return html.unescape(history[last]["content"]), history[:last], turns

    def open_span(self, request: str, turns: list[dict[str, Any]]) -> str:
        """The source view for a "turn:kind:n" request from a clicked marker."""
        turns = clean_turns(turns)
        try:
            turn, kind, n = str(request).split(":")
            if kind not in ("c", "p"):
                raise KeyError(kind)
            doc_id, start, end = turns[int(turn)][kind][int(n)]
        except (ValueError, IndexError, KeyError):
            return "<p class='panel-note'>That citation is no longer available; ask again.</p>"
        try:
            doc = self.indexes.get(turns[int(turn)].get("index")).document(doc_id)
        except RagError:
            doc = None
        if doc is None:
            return "<p class='panel-note'>That document has been removed from the index.</p>"
        label = f"Citation [{n}]" if kind == "c" else f"Passage {n}"
        return source_html(doc, start, end, label)

    def document_choices(self, index: str | None = None) -> list[tuple[str, str]]:
        """(label, doc_id) of each statement for the "Only these statements" filter: the
        label names the file as the page shows sources, so no client learns the server's
        folders."""
        return sorted(
            (f"{d.title} ({shown_source(d.source)})", d.doc_id) for d in self.indexes.get(index).documents()
        )

    def country_choices(self, index: str | None = None) -> list[tuple[str, str]]:
        """Each country whose statements the index holds, once, by its name ("China"), never
        by a speaker's ("Wang Yi" and "Ambassador Zhang Jun" both speak for China)."""
        codes = {
            str(d.metadata["country"])
            for d in self.indexes.get(index).documents()
            if d.metadata.get("country")
        }
        return sorted((country_name(code), code) for code in codes)

    def examples(self, index: str | None = None) -> list[str]:
        """Questions to try on the index shown: about the countries whose General Debate
        speeches it holds most of (subjects every such speech takes up), in years it holds
        them; the seeds' own questions where it holds the seeds and room is left. An upload
        says nothing of what it is about, so it gives no example."""
        docs = self.indexes.get(index).documents()
        spoke: dict[str, set[int]] = {}
        for d in docs:
            country, year = d.metadata.get("country"), d.metadata.get("year")
            debate = "General Debate" in str(d.metadata.get("venue") or "")
            if debate and country and isinstance(year, int):
                spoke.setdefault(str(country), set()).add(year)
        out = _asking(spoke)
        if any(_seed(d) for d in docs):
            out += SEED_EXAMPLES
        return out[:3] or ["What do the statements say about climate change?"]

    def summary(self, index: str | None = None) -> str:
        stats = self.indexes.get(index).stats()
        return f"{holding(stats.documents, stats.chunks)} · index `{stats.index_dir.name}`"

    def latest_report(self) -> tuple[str, str | None, str | None]:
        """The newest evaluation report: its table as Markdown and its two plots."""
        found = latest_report(self.reports_dir)
        if found is None:
            return "No evaluation report yet: run `rag eval` to write one.", None, None
        table, metrics, curve = found
        return table, (str(metrics) if metrics else None), (str(curve) if curve else None)


def _seed(doc: Any) -> bool:
    """One of the seed statements (in a folder named seeds, wherever it was ingested from)."""
    return Path(doc.source).parent.name == "seeds"


def _asking(spoke: dict[str, set[int]]) -> list[str]:
    """Questions about the two countries with the most statements, in years they spoke."""
    ranked = sorted(spoke, key=lambda code: (-len(spoke[code]), country_name(code)))
    if not ranked:
        return []
    first, year = called(ranked[0]), max(spoke[ranked[0]])
    out = [f"What did {first} say about climate change in {year}?"]
    if len(ranked) > 1:
        second = ranked[1]
        out.append(f"How did {called(second)} see the UN's role in {max(spoke[second])}?")
        both = spoke[ranked[0]] & spoke[second]
        if both:
            out.append(f"Compare {first} and {called(second)} on development in {max(both)}.")
    elif len(spoke[ranked[0]]) > 1:
        out.append(f"How did {first} see the UN's role in {min(spoke[ranked[0]])}?")
    return out


def passages_asked(k: Any) -> int:
    """The number of passages a request asks for, as a whole number (a client may send any
    JSON: NaN, text, a list); out of range is the library's one sentence."""
    try:
        return int(k)
    except (TypeError, ValueError, OverflowError):
        raise InputError("The number of passages must be a whole number, such as 5.") from None


def _error(exc: Exception) -> dict[str, str]:
    return {"role": "assistant", "content": f'<div class="error">{escape(str(exc))}</div>'}


def launch(
    pipeline: Pipeline,
    host: str = "127.0.0.1",
    port: int = 7860,
    share: bool = False,
    auth: tuple[str, str] | None = None,
    open_browser: bool = False,
    block: bool = True,
) -> Any:
    from ui.auth import LoginGuard, client_address
    from ui.layout import build
    from ui.limits import upload_limit

    gr = gradio_module()
    demo = build(App(pipeline))
    if block:  # `rag serve`: the upload worker and its model ready before the first upload
        from rag.library import prepare

        prepare(pipeline.settings)
    theme = gr.themes.Soft(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])
    demo.queue(default_concurrency_limit=8)
    demo.launch(
        server_name=host,
        server_port=port,
        share=share,
        auth=LoginGuard(*auth).login if auth else None,  # refusals wait off the event loop; runs lock
        inbrowser=open_browser,
        prevent_thread_lock=not block,
        css=(STATIC / "app.css").read_text(encoding="utf-8"),
        head=f"<script>{(STATIC / 'cite-click.js').read_text(encoding='utf-8')}</script>",
        theme=theme,
        # `rag serve` says where it serves (Gradio's own lines name its `share=True`, not
        # `--share`); with --share, Gradio's lines give the public link.
        quiet=not (block and share),
        footer_links=[],
        show_error=True,
        # Refused before it is even stored: the Library's own check names the limit too.
        max_file_size=f"{pipeline.settings.upload_max_mb}mb",
        app_kwargs={"middleware": [upload_limit(pipeline.settings), client_address()]},
    )
    return demo
