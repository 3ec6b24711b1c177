"""Answers in the terminal: how `rag ask` prints one, and `rag chat`, a conversation with
line editing and history, follow-ups read in the light of the turns before them."""

from __future__ import annotations

import json
import re
import shutil
import stat
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from rag.answering.attribution import heading
from rag.errors import InputError, RagError
from rag.loading import printable
from rag.markup import plain
from rag.question.followup import MAX_TURNS, Turn
from rag.question.scope import searched_line
from rag.types import Answer

HELP = """Ask a question; a follow-up ("And Canada?", "What else?", "in 2019?") is read in the
light of the conversation. Commands:
  :show N    the passage of citation [N] in its source, in context
  :sources   the sources cited so far
  :new       start a new conversation
  :help      this text
  :quit      leave (or Ctrl-D)
The words quit, exit, help, clear (a new conversation) and sources alone do the same."""
CONTEXT = 300  # characters shown either side of a citation by :show
# A line that is one of these words is the command it names, not a question.
WORDS = {
    "quit": ":quit",
    "exit": ":quit",
    "bye": ":quit",
    "q": ":quit",
    "help": ":help",
    "?": ":help",
    "clear": ":new",
    "new": ":new",
    "reset": ":new",
    "sources": ":sources",
}


def shown(text: object, lines: bool = False) -> str:
    """Words from a document (its metadata or its text) as the terminal gets them: every
    control character (escape sequences, bells, carriage returns) written out as an escape
    (``rag.loading.printable``), never acting on the terminal; with ``lines``, line breaks
    stay line breaks."""
    if not lines:
        return printable(str(text))
    return "\n".join(printable(line) for line in str(text).split("\n"))


def wrapped(text: str, width: int | None = None, indent: str = "") -> str:
    """Text for a terminal: each line broken between words to the terminal's width (at most
    100 columns), the lines it is broken into begun with ``indent``; unchanged when output
    goes to a file or a pipe and no width is given."""
    if width is None:
        if not sys.stdout.isatty():
            return text
        width = min(shutil.get_terminal_size().columns, 100)
    return "\n".join(
        textwrap.fill(line, width, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False)
        if line
        else line
        for line in text.split("\n")
    )


def print_answer(answer: Answer) -> None:
    """An answer as `rag ask` prints it: each source's words under its lead-in, what the
    question was understood as and what was searched, then the citations (or, for a
    refusal, the closest passages with whose words they are)."""
    click.echo(
        wrapped(
            "\n\n".join(
                f"{shown(g.lead_in)}: {shown(plain(g.text), lines=True)}"
                if g.lead_in
                else shown(plain(g.text), lines=True)
                for g in answer.parts
            )
        )
    )
    if answer.unaddressed:
        parts = shown(", ".join(answer.unaddressed))
        click.echo(wrapped(f"\nNot addressed in the statements found: {parts}."))
    if answer.understood:
        click.echo(wrapped(f"\nUnderstood as: {shown(answer.understood)}"))
    searched = searched_line(answer.scope)
    if searched:
        click.echo(wrapped(f"\n{shown(searched)}"))
    if answer.note:
        click.echo(wrapped(f"\nNote: {shown(answer.note)}"))
    for sentence in answer.unsupported:
        why = f" ({shown(sentence.why)})" if sentence.why else ""
        click.echo(wrapped(f"\nNot supported by its citations{why}: {shown(sentence.text)}"))
    for sentence in answer.sentences:
        if sentence.repointed:
            click.echo(wrapped(f"\nCitation moved to the passage that says it: {shown(sentence.text)}"))
    if answer.citations:
        click.echo()
        for c in answer.citations:
            click.echo(
                wrapped(
                    f"[{c.n}] {shown(c.document.title)} ({shown(c.document.source)}, "
                    f"characters {c.start}-{c.end})",
                    indent="    ",
                )
            )
            click.echo(wrapped(f'    "{shown(" ".join(c.quote.split()))}"', indent="    "))
    elif answer.passages:
        click.echo("\nClosest passages, for you to judge:")
        for p in answer.passages[:3]:
            snippet = " ".join(p.text.split())
            more = "..." if len(snippet) > 160 else ""
            who = shown(heading(p.document).lead_in)
            line = f"  {p.rank}. {who}, {shown(p.document.title)}: {shown(snippet[:160])}{more}"
            click.echo(wrapped(line, indent="     "))


MAX_HISTORY_BYTES = 64 * 1024 * 1024  # about 4,000 answers as `rag ask --json` prints them
_SPACE = re.compile(r"\s*")


def read_history(path: Path) -> list[Turn]:
    """Earlier turns for `rag ask --history FILE`: the JSON objects `rag ask --json` printed,
    one after another (`rag ask --json … >> FILE`), or a JSON list of them; the last
    ``MAX_TURNS`` are the ones a follow-up reads."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise InputError(
                f"The history file {printable(str(path))} is not a regular file; give a file of JSON."
            )
        size = info.st_size
        if size > MAX_HISTORY_BYTES:
            raise InputError(
                f"The history file {printable(str(path))} is {size / 1e6:,.0f} MB, over the "
                f"{MAX_HISTORY_BYTES // 2**20} MB a history may be; keep the last answers in a new file."
            )
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise InputError(f"Cannot read the history file {printable(str(path))} ({exc.strerror}).") from None
    except UnicodeDecodeError:
        raise InputError(
            f"The history file {printable(str(path))} is not UTF-8 text; "
            "give it the JSON `rag ask --json` printed."
        ) from None
    decoder, rows, pos = json.JSONDecoder(), [], _SPACE.match(text).end()
    try:
        while pos < len(text):  # one pass: each object parsed where the last one ended
            value, pos = decoder.raw_decode(text, pos)
            rows += value if isinstance(value, list) else [value]
            rows = rows[-MAX_TURNS:]
            pos = _SPACE.match(text, pos).end()
        return [Turn.from_json(row) for row in rows]
    except RecursionError:
        raise InputError(
            f"The history file {printable(str(path))} nests its JSON too deeply to be earlier answers."
        ) from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(
            f"The history file {printable(str(path))} is not a list of earlier answers as `rag ask --json` "
            f"prints them ({printable(str(exc))[:200]})."
        ) from None


class Chat:
    """A conversation at the terminal: turns kept, answers printed as `rag ask` prints them."""

    def __init__(self, pipeline: Any, ask: Callable[[str, list[Turn]], Answer]):
        self.pipeline = pipeline
        self.ask = ask
        self.turns: list[Turn] = []
        self.answers: list[Answer] = []

    def run(self, history_file: Path | None) -> None:
        _line_editing(history_file)
        click.echo(f"Asking {self.pipeline.stats().documents} statements. :help lists the commands.")
        while True:
            try:
                line = input("\n> ").strip()
            except EOFError:
                click.echo()
                return
            except KeyboardInterrupt:
                click.echo()
                continue
            except UnicodeDecodeError:  # a terminal not sending UTF-8
                click.echo("That line is not UTF-8 text; type the question again.")
                continue
            line = WORDS.get(line.lower().strip(" .!"), line)
            if line in (":quit", ":q", ":exit"):
                return
            if not line:
                continue
            try:
                self.handle(line)
            except KeyboardInterrupt:  # Ctrl-C while answering: that answer only
                click.echo("\n(interrupted)")

    def handle(self, line: str) -> None:
        if line.startswith(":"):
            self.command(line)
            return
        try:
            answer = self.ask(line, self.turns)
        except RagError as exc:
            click.echo(f"Error: {exc}")
            return
        print_answer(answer)
        self.turns.append(Turn.of(line, answer))
        self.answers.append(answer)

    def command(self, line: str) -> None:
        name, _, arg = line.partition(" ")
        if name == ":new":
            self.turns, self.answers = [], []
            click.echo("A new conversation: earlier questions are forgotten.")
        elif name == ":sources":
            self.sources()
        elif name == ":show":
            self.show(arg.strip())
        elif name == ":help":
            click.echo(HELP)
        else:
            click.echo(f"Unknown command {name}; :help lists them.")

    def sources(self) -> None:
        cited: dict[str, tuple[Any, int]] = {}
        for answer in self.answers:
            for c in answer.citations:
                doc, n = cited.get(c.doc_id, (c.document, 0))
                cited[c.doc_id] = (doc, n + 1)
        if not cited:
            click.echo("Nothing cited yet.")
        for doc, n in cited.values():
            click.echo(
                f"  {shown(heading(doc).lead_in)}: {shown(doc.title)} ({shown(doc.source)}), cited {n}×"
            )

    def show(self, arg: str) -> None:
        """The last answer's citation [N] in its source, with the text around it."""
        last = self.answers[-1] if self.answers else None
        citation = next((c for c in last.citations if str(c.n) == arg.strip("[]")), None) if last else None
        if citation is None:
            click.echo("Give the number of a citation of the last answer: :show 1")
            return
        text = citation.document.text
        before = text[max(0, citation.start - CONTEXT) : citation.start]
        after = text[citation.end : citation.end + CONTEXT]
        click.echo(
            wrapped(f"[{citation.n}] {shown(citation.document.title)} ({shown(citation.document.source)})")
        )
        click.echo(wrapped(shown(f"…{before}>>>{citation.quote}<<<{after}…", lines=True)))


def _line_editing(history_file: Path | None) -> None:
    """Arrow keys, editing and a history kept between sessions, where the terminal has them."""
    try:
        import readline
    except ImportError:  # not every platform has it; input() still works
        return
    if history_file is None:
        return
    import atexit

    try:
        history_file.parent.mkdir(parents=True, exist_ok=True)
        if history_file.is_file():
            readline.read_history_file(history_file)
    except OSError:
        return
    readline.set_history_length(1000)
    atexit.register(_save_history, readline, history_file)


def _save_history(readline: Any, path: Path) -> None:
    try:
        readline.write_history_file(path)
    except OSError:
        pass
