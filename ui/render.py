"""What the page shows, as HTML built from plain values: every piece of document text
escaped, every [n] a link to the exact cited span."""

from __future__ import annotations

import html
import re
from typing import Any

from rag.retrieval import Filters
from rag.scope import searched_line
from rag.types import Answer, Document


def escape(text: str) -> str:
    return html.escape(text, quote=True)


def meta_line(doc: Document) -> str:
    meta = doc.metadata
    parts = [str(meta[k]) for k in ("date", "speaker", "venue") if meta.get(k)]
    if not meta.get("date") and meta.get("year"):
        parts.insert(0, str(meta["year"]))
    parts.append(doc.source)
    return " · ".join(escape(p) for p in parts)


def marker(turn: int, kind: str, n: int, label: str) -> str:
    # The chat's HTML sanitiser keeps class and href only, so the fragment carries the reference.
    return f'<a href="#cite-{turn}-{kind}-{n}" class="cite-marker">{label}</a>'


def answer_html(answer: Answer, turn: int) -> str:
    """The answer as the chat shows it: document words escaped, [n] markers clickable,
    sentences its citations do not support marked, and any note on how it was written."""
    if answer.refused:
        return (
            f'<div class="refusal"><strong>{escape(answer.text)}</strong> '
            "The closest passages are listed beside the chat for you to judge.</div>"
        )
    parts = []
    for sentence in answer.sentences or ():
        markers = "".join(f" {marker(turn, 'c', n, f'[{n}]')}" for n in sentence.citations)
        text = escape(sentence.text) + markers
        if not sentence.supported:
            text = (
                f'<span class="unsupported" title="Its citations do not support this sentence">'
                f"⚠ {text}</span>"
            )
        parts.append(text)
    body = " ".join(parts) if parts else escape(answer.text)
    note = f'<div class="note">{escape(answer.note)}</div>' if answer.note else ""
    searched = searched_line(answer.scope)
    if searched:
        # The chip: what the search was kept to, and how to search everything instead.
        note += (
            f'<div class="scope-chip">{escape(searched)} <span class="chip-hint">Untick "Keep to the '
            'speakers and years the question names" under Search settings to search every statement.'
            "</span></div>"
        )
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
                f'<div class="cite-card"><b>{p.rank}. {escape(p.document.title)}</b>'
                f'<div class="meta">{meta_line(p.document)} · similarity {p.similarity:.2f}</div>'
                f"<blockquote>{escape(snippet[:400])}{'…' if len(snippet) > 400 else ''}</blockquote>"
                f"{marker(turn, 'p', p.rank, 'Open in source ↗')}</div>"
            )
        return "".join(cards)
    for c in answer.citations:
        cards.append(
            f'<div class="cite-card">{marker(turn, "c", c.n, f"[{c.n}]")} '
            f"<b>{escape(c.document.title)}</b>"
            f'<div class="meta">{meta_line(c.document)} · characters {c.start}–{c.end}</div>'
            f"<blockquote>{escape(' '.join(c.quote.split()))}</blockquote>"
            f"{marker(turn, 'c', c.n, 'Open in source ↗')}</div>"
        )
    return "".join(cards)


def source_html(doc: Document, start: int, end: int, label: str) -> str:
    """The whole document, escaped, with exactly ``text[start:end]`` highlighted."""
    text = doc.text
    return (
        f"<div class='source-head'><b>{escape(doc.title)}</b><div class='meta'>{meta_line(doc)}</div>"
        f"<p class='panel-note'>{escape(label)}: characters {start}–{end} highlighted.</p></div>"
        f"<div class='source-text'>{escape(text[:start])}<mark class='cited'>{escape(text[start:end])}"
        f"</mark>{escape(text[end:])}</div>"
    )


def turn_record(answer: Answer) -> dict[str, Any]:
    """What the page keeps of an answer: its text, and where each [n] and passage points."""
    return {
        "answer": answer.text,
        "refused": answer.refused,
        "c": {c.n: (c.doc_id, c.start, c.end) for c in answer.citations},
        "p": {p.rank: (p.doc_id, p.start, p.end) for p in answer.passages},
    }


def filters_from(
    documents: list[str] | None, countries: list[str] | None, year_from: Any, year_to: Any
) -> Filters:
    def year(value: Any) -> int | None:
        return int(value) if value not in (None, "") else None

    return Filters(tuple(documents or ()), tuple(countries or ()), year(year_from), year(year_to))


def safe_name(name: str) -> str | None:
    """A plain file name from an uploaded one: no folders, no "..", no hidden files."""
    base = re.split(r"[\\/]", name)[-1].strip()
    base = re.sub(r"[^\w.\- ]", "_", base)
    if not base or base.startswith(".") or base in {".", ".."}:
        return None
    return base
