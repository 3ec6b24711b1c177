"""What the page shows, as HTML built from plain values: every piece of document text
escaped, every [n] a link to the exact cited span."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from rag.answering.readability import is_list_item, without_bullet
from rag.answering.support import MARKERS, split_claims
from rag.errors import InputError
from rag.markup import runs
from rag.question.followup import Turn
from rag.question.scope import searched_line
from rag.retrieval import Filters
from rag.splitting import split_sentences
from rag.types import Answer, Document, Group

# Characters the chat's Markdown would read as markup in a document's words: written as
# entities, so "**", "_", "[x](url)" or "![x](url)" in a statement stay its words.
# One pass with HTML's own characters, so an entity is never escaped twice.
_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"}
    | {c: f"&#{ord(c)};" for c in "*_`[]!~#|"}
)


def holding(documents: int, chunks: int) -> str:
    """What an index holds, as the app words it: "1 statement, 13 passages"."""

    def counted(n: int, noun: str) -> str:
        return f"{n} {noun}" if n == 1 else f"{n} {noun}s"

    return f"{counted(documents, 'statement')}, {counted(chunks, 'passage')}"


def escape(text: str) -> str:
    return text.translate(_ESCAPES)


def emphasis_html(text: str, start: int | None = None, end: int | None = None) -> str:
    """A document's words escaped, its emphasis shown as emphasis (never as asterisks), and
    with ``start``/``end`` the characters ``text[start:end]`` marked: the mark covers exactly
    those characters, whatever emphasis begins or ends inside them."""
    cuts = () if start is None else (start, end)
    out = []
    for run in runs(text, cuts):
        piece = escape(text[run.start : run.end])
        if run.italic:
            piece = f"<em>{piece}</em>"
        if run.bold:
            piece = f"<strong>{piece}</strong>"
        if start is not None and start <= run.start and run.end <= end:  # type: ignore[operator]
            piece = f"<mark class='cited'>{piece}</mark>"
        out.append(piece)
    return "".join(out)


def meta_line(doc: Document) -> str:
    meta = doc.metadata
    parts = [str(meta[k]) for k in ("date", "speaker", "venue") if meta.get(k)]
    if not meta.get("date") and meta.get("year"):
        parts.insert(0, str(meta["year"]))
    parts.append(shown_source(doc.source))
    if meta.get("uploaded"):
        parts.append("uploaded in the app")
    return " · ".join(escape(p) for p in parts)


def shown_source(source: str) -> str:
    """A document's source as the page shows it: relative to the app's home as stored, but
    a path outside it only by its file name (a shared page never shows the server's folders)."""
    return Path(source).name if Path(source).is_absolute() else source


def marker(turn: int, kind: str, n: int, label: str) -> str:
    # The chat's HTML sanitiser keeps class and href only, so the fragment carries the reference.
    return f'<a href="#cite-{turn}-{kind}-{n}" class="cite-marker">{label}</a>'


def answer_html(answer: Answer, turn: int) -> str:
    """The answer as the chat shows it: document words escaped, [n] markers clickable,
    sentences its citations do not support marked, and any note on how it was written."""
    understood = (
        f'<p class="understood">Understood as: {escape(answer.understood)}</p>' if answer.understood else ""
    )
    if answer.refused:
        return (
            f'<div class="refusal turn-{turn}"><strong>{escape(answer.text)}</strong> '
            f"The closest passages are listed beside the chat for you to judge.</div>{understood}"
        )
    supported = {(s.text, s.citations): s.supported for s in answer.sentences}
    body = "".join(_group_html(group, turn, supported) for group in answer.parts if group.text.strip())
    body += understood
    if answer.unaddressed:
        body += (
            '<p class="unaddressed">Not addressed in the statements found: '
            f"{escape(', '.join(answer.unaddressed))}.</p>"
        )
    note = f'<div class="note">{escape(answer.note)}</div>' if answer.note else ""
    searched = searched_line(answer.scope)
    if searched:
        # The chip: what the search was kept to, and how to search everything instead.
        note += (
            f'<div class="scope-chip">{escape(searched)} <span class="chip-hint">Untick "Keep to the '
            'speakers and years the question names" under Search settings to search every statement.'
            "</span></div>"
        )
    return f'<div class="answer turn-{turn}">{body}</div>{_checked_notes(answer)}{note}'


def _checked_notes(answer: Answer) -> str:
    """What the check of a model's sentences found: why each marked one is not supported,
    and which citations were moved to the passage that says the sentence."""
    out = ""
    if answer.unsupported:
        reasons = "; ".join(dict.fromkeys(s.why for s in answer.unsupported if s.why))
        why = f" ({escape(reasons)})" if reasons else ""
        out += f'<div class="note">⚠ marks a sentence that its citations do not support{why}.</div>'
    moved = [s.text for s in answer.sentences if s.repointed]
    if moved:
        quoted = "; ".join(f"“{escape(t)}”" for t in moved)
        out += (
            '<div class="note">↪ The model cited another passage for '
            f"{quoted}: its citation now points to the passage that says it.</div>"
        )
    return out


def _group_html(group: Group, turn: int, supported: dict[tuple[str, tuple[int, ...]], bool]) -> str:
    """One source's quotes: a heading naming whose words and when (its metadata, escaped:
    never a marker), then the quotes, each with its markers; list items as a list; sentences
    their citations do not support marked."""
    head = f'<div class="source-lead">{escape(group.lead_in)}</div>' if group.lead_in else ""
    words = group.text
    blocks: list[list[str]] = []  # [kind ("p" or "li"), html]
    pos = 0
    for m in [*MARKERS.finditer(words), None]:
        end = m.end() if m else len(words)
        cites = tuple(int(n) for n in re.findall(r"\d+", m.group(0))) if m else ()
        claims = split_claims(words[pos:end])
        flagged = {c.text for c in claims if not supported.get((c.text, c.cites), True)}
        _add_lines(blocks, words[pos : m.start() if m else end], flagged)
        if cites and blocks:
            blocks[-1][1] += "".join(f" {marker(turn, 'c', n, f'[{n}]')}" for n in cites)
        pos = end
    return f'<div class="answer-group">{head}{_blocks_html(blocks)}</div>'


def _add_lines(blocks: list[list[str]], text: str, flagged: set[str]) -> None:
    """A quote's lines as blocks: a list item is an item of its own, any other line a
    paragraph, except that a quote on the line of the one before it (a generated answer's
    next sentence) goes on that paragraph. ``flagged``: the sentences its citations do not
    support."""
    same_line = "\n" not in text[: len(text) - len(text.lstrip())]
    lines = [line.strip() for line in text.strip().split("\n") if line.strip()]
    pieces = [_line_html(without_bullet(line), flagged) for line in lines]
    if flagged and not any("unsupported" in piece for piece in pieces):
        pieces = [_unsupported(piece) for piece in pieces]  # a sentence split another way: mark the quote
    for i, (line, piece) in enumerate(zip(lines, pieces, strict=True)):
        item = is_list_item(line)
        if i == 0 and same_line and not item and blocks and blocks[-1][0] == "p":
            blocks[-1][1] += " " + piece
        else:
            blocks.append(["li" if item else "p", piece])


def _line_html(line: str, flagged: set[str]) -> str:
    """One line, sentence by sentence, each one its citations do not support marked."""
    out = []
    for span in split_sentences(line):
        sentence = line[span.start : span.end]
        piece = emphasis_html(sentence)
        out.append(_unsupported(piece) if " ".join(sentence.split()) in flagged else piece)
    return " ".join(out) or emphasis_html(line)


def _unsupported(piece: str) -> str:
    return f'<span class="unsupported" title="Its citations do not support this sentence">⚠ {piece}</span>'


def _blocks_html(blocks: list[list[str]]) -> str:
    out, in_list = "", False
    for kind, piece in blocks:
        if (kind == "li") != in_list:
            out += "<ul>" if kind == "li" else "</ul>"
            in_list = kind == "li"
        out += f"<li>{piece}</li>" if kind == "li" else f"<p>{piece}</p>"
    return out + ("</ul>" if in_list else "")


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
            f"<blockquote>{emphasis_html(' '.join(c.quote.split()))}</blockquote>"
            f"{marker(turn, 'c', c.n, 'Open in source ↗')}</div>"
        )
    return "".join(cards)


def source_html(doc: Document, start: int, end: int, label: str) -> str:
    """The whole document, escaped, with exactly ``text[start:end]`` highlighted."""
    text = doc.text
    return (
        f"<div class='source-head'><b>{escape(doc.title)}</b><div class='meta'>{meta_line(doc)}</div>"
        f"<p class='panel-note'>{escape(label)}: characters {start}–{end} highlighted.</p></div>"
        f"<div class='source-text'>{emphasis_html(text, start, end)}</div>"
    )


def turn_record(question: str, answer: Answer) -> dict[str, Any]:
    """What the page keeps of a turn: the question as asked and as understood, what its
    answer cited and whose words (the next follow-up's context), its text, and where each
    [n] and passage points."""
    return {
        **Turn.of(question, answer).to_json(),
        "answer": answer.text,
        "refused": answer.refused,
        "c": {c.n: (c.doc_id, c.start, c.end) for c in answer.citations},
        "p": {p.rank: (p.doc_id, p.start, p.end) for p in answer.passages},
    }


def filters_from(
    documents: list[str] | None, countries: list[str] | None, year_from: Any, year_to: Any
) -> Filters:
    def year(value: Any) -> int | None:
        text = str(value).strip() if value is not None else ""
        if not text:
            return None
        if not re.fullmatch(r"\d{1,4}", text):
            raise InputError(f"A year is a whole number like 2015; '{text[:20]}' is not one.")
        return int(text)

    return Filters(tuple(documents or ()), tuple(countries or ()), year(year_from), year(year_to))


def safe_name(name: str) -> str | None:
    """A plain file name from an uploaded one: no folders, no "..", no hidden files."""
    base = re.split(r"[\\/]", name)[-1].strip()
    base = re.sub(r"[^\w.\- ]", "_", base)
    if not base or base.startswith(".") or base in {".", ".."}:
        return None
    return base
