"""The library every session shares: the indexes under the home, their documents as a
table, and the changes a user makes to them (uploads, removals, embedding a document
again), each run by a worker process so questions meanwhile never wait (rag/library.py)."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rag import details
from rag.errors import InputError, RagError
from rag.library import Change, apply, source_file
from rag.loading import SUPPORTED, country_name, display_source, load_file, printable, sidecar_of
from rag.pipeline import Pipeline
from rag.storage import Index
from rag.types import Document
from ui.render import escape, holding, safe_name, shown_source

CHOOSE = "Choose a statement in the table first."
GONE = "That statement is no longer in the index (another page removed it); search the table again."
NOT_UPLOADED = (
    "Only an upload's details are set here; a statement added with rag ingest takes them from "
    "the NAME.meta.json file beside its own file."
)
COLUMNS = ["Title", "Country", "Date", "Speaker", "Passages", "Added", "Source"]


class Indexes:
    """The index the app was started on and the others under ``$RAG_HOME/index/``, each
    opened on first use and then shared by every session."""

    def __init__(self, pipeline: Pipeline):
        self.default = pipeline.settings.index_dir.name
        self.folder = pipeline.settings.home / "index"
        self._open = {self.default: pipeline}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        found = {p.name for p in self.folder.iterdir() if Index.exists(p)} if self.folder.is_dir() else set()
        return [self.default, *sorted(found - {self.default})]

    def get(self, name: str | None = None) -> Pipeline:
        name = name or self.default
        with self._lock:
            if name not in self._open:
                if name not in self.names():
                    raise InputError(f"There is no index called {name} here; choose one from the Index list.")
                first = self._open[self.default]
                settings = first.settings.with_overrides(index_dir=self.folder / name)
                self._open[name] = Pipeline.open(settings, first.embedder, build_default=False)
            return self._open[name]


class Library:
    """What the Library view and the upload tab do, as plain methods."""

    def __init__(self, indexes: Indexes):
        self.indexes = indexes

    def rows(self, index: str | None, query: str | None = "") -> tuple[list[list[Any]], list[str]]:
        """The documents as table rows (newest first), those matching ``query`` in any
        column, and their ids in the same order."""
        snapshot = self.indexes.get(index).snapshot()
        words = (query or "").lower().split()
        rows, ids = [], []
        for doc in sorted(snapshot.documents(), key=lambda d: (snapshot.added.get(d.doc_id, ""), d.title)):
            meta = doc.metadata
            row = [
                doc.title,
                str(meta.get("country") or ""),
                str(meta.get("date") or meta.get("year") or ""),
                str(meta.get("speaker") or ""),
                snapshot.chunk_counts.get(doc.doc_id, 0),
                snapshot.added.get(doc.doc_id, "")[:16].replace("T", " "),
                shown_source(doc.source) + (" (uploaded)" if meta.get("uploaded") else ""),
            ]
            if all(w in " ".join(map(str, row)).lower() for w in words):
                rows.append(row)
                ids.append(doc.doc_id)
        return rows[::-1], ids[::-1]

    def add(
        self,
        index: str | None,
        files: list[Any] | None,
        progress: Callable[[int, int], None] | None = None,
        country: str | None = None,
    ) -> str:
        """Copy uploads under the home (by base name only, never over another file) and
        add them to the index, each marked as by ``country`` when one is given; the report
        as HTML lines."""
        if not files:
            return "Choose one or more files first."
        pipeline = self.indexes.get(index)
        settings = pipeline.settings
        try:
            chosen = _within_limits(files, settings.upload_max_files, settings.upload_max_mb)
        except InputError as exc:
            return escape(str(exc))
        try:
            entries = details.checked(country=country or "")
        except InputError as exc:
            return escape(f"{exc} Nothing was added.")
        settings.uploads_dir.mkdir(parents=True, exist_ok=True)
        targets, created, notes = [], [], []
        for src, given in chosen:
            name = safe_name(given)
            if name is None or Path(name).suffix.lower() not in SUPPORTED:
                notes.append(f"skipped {escape(given)}: only {', '.join(sorted(SUPPORTED))} files are read")
                continue
            target = _free_name(settings.uploads_dir / name, src)
            if target.name != name:
                notes.append(
                    f"saved {escape(name)} as {escape(target.name)}: another file of that name is "
                    "already in the library, and an upload never replaces it"
                )
            if not target.exists():
                try:
                    _copy_whole(src, target)
                except OSError as exc:
                    _forget(pipeline, created)
                    kept = (
                        f"; {len(created)} earlier files of this upload were not kept either"
                        if created
                        else ""
                    )
                    return escape(
                        f"Could not keep {name} ({exc.strerror or 'write failed'}){kept}; nothing was added."
                    )
                created.append(target)
            if entries:
                details.keep(target, entries, fields=("country",))
            targets.append(target)
        if not targets:
            return "<br>".join(notes) or "Nothing to add."
        report = self._change(pipeline, Change(add=tuple(targets)), progress)
        _forget(pipeline, created)  # a copy the index did not take (a duplicate, a skipped file)
        return "<br>".join([*notes, report])

    def remove(self, index: str | None, doc_id: str | None) -> str:
        return self._on_one(index, doc_id) or self._change(self.indexes.get(index), Change(remove=(doc_id,)))

    def renew(self, index: str | None, doc_id: str | None) -> str:
        """Read a document again from its file: embedded again only if its text or details
        changed (the report says so when neither did)."""
        return self._on_one(index, doc_id) or self._change(self.indexes.get(index), Change(renew=(doc_id,)))

    def details(self, index: str | None, doc_id: str | None) -> tuple[str, str, str, bool]:
        """The chosen statement's country (by name), speaker and date as a user may edit them,
        and whether they may: an upload's details are kept beside it; a statement added by
        `rag ingest` takes them from its own NAME.meta.json, which the app never writes."""
        doc = self.indexes.get(index).document(doc_id or "")
        if doc is None:
            return "", "", "", False
        meta = doc.metadata
        country = str(meta.get("country") or "")
        return (
            country_name(country) if country else "",
            str(meta.get("speaker") or ""),
            str(meta.get("date") or meta.get("year") or ""),
            bool(meta.get("uploaded")),
        )

    def set_details(
        self, index: str | None, doc_id: str | None, country: str = "", speaker: str = "", date: str = ""
    ) -> str:
        """Keep a user's country, speaker and date beside the upload and index it again with
        them (an empty field: what its text says); the report."""
        return self.save_details(index, doc_id, country, speaker, date)[0]

    def save_details(
        self, index: str | None, doc_id: str | None, country: str = "", speaker: str = "", date: str = ""
    ) -> tuple[str, bool]:
        """``set_details``, and whether the details were kept (False: refused, nothing changed)."""
        if problem := self._on_one(index, doc_id):
            return problem, False
        pipeline = self.indexes.get(index)
        doc = pipeline.document(doc_id or "")
        if doc is None or not doc.metadata.get("uploaded"):
            return NOT_UPLOADED, False
        try:
            entries = details.checked(country, speaker, date)
            details.keep(source_file(pipeline.settings, doc.source), entries)
        except InputError as exc:
            return escape(f"{exc} Nothing was changed."), False
        except OSError as exc:
            why = exc.strerror or "write failed"
            return escape(f"Could not keep the details ({why}); nothing was changed."), False
        report = self._change(pipeline, Change(renew=(doc.doc_id,)))
        return f"{escape(printable(f'{doc.title}: {_described(entries)}.'))}<br>{report}", True

    def suggest(self, files: list[Any] | None) -> str | None:
        """The country the chosen files name (one for all of them), for the user to confirm."""
        found = set()
        for item in files or []:
            doc = load_file(Path(getattr(item, "name", None) or str(item)), uploaded=True)
            found.add(details.suggested_country(doc) if isinstance(doc, Document) else None)
        code = found.pop() if len(found) == 1 else None
        return country_name(code) if code else None

    def _on_one(self, index: str | None, doc_id: str | None) -> str:
        """Why the chosen statement cannot be changed, or "" when it can."""
        if not doc_id:
            return CHOOSE
        if self.indexes.get(index).document(doc_id) is None:
            return GONE
        return ""

    def _change(
        self, pipeline: Pipeline, change: Change, progress: Callable[[int, int], None] | None = None
    ) -> str:
        try:
            lines = apply(pipeline.settings, change, progress)
        except RagError as exc:
            return escape(str(exc))
        stats = pipeline.stats()  # opens what the worker committed, for the next question
        lines.append(f"The index now holds {holding(stats.documents, stats.chunks)}.")
        return "<br>".join(escape(printable(line)) for line in lines)

    def title(self, index: str | None, doc_id: str | None) -> str:
        doc = self.indexes.get(index).document(doc_id or "")
        return f"{doc.title} ({shown_source(doc.source)})" if doc else ""


def _described(entries: dict[str, Any]) -> str:
    """What a user set, as a sentence's words: "country Kenya, speaker X, year 2021"."""
    shown = {**entries, "country": country_name(entries["country"])} if "country" in entries else entries
    if "date" in shown:
        shown.pop("year", None)
    said = ", ".join(f"{key} {shown[key]}" for key in ("country", "speaker", "date", "year") if key in shown)
    return f"set {said}" if said else "nothing set; its text says who spoke and when"


def _within_limits(files: list[Any], most: int, megabytes: int) -> list[tuple[Path, str]]:
    """The uploaded files and the names they were given, if they are within the limits."""
    chosen = [
        (Path(getattr(f, "name", None) or str(f)), str(getattr(f, "orig_name", None) or "")) for f in files
    ]
    if len(chosen) > most:
        raise InputError(f"{len(chosen)} files is more than one upload takes ({most}); add them in parts.")
    for path, given in chosen:
        size = path.stat().st_size
        if size > megabytes * 1_000_000:
            raise InputError(
                f"{given or path.name} is {size / 1e6:.1f} MB, over the {megabytes} MB an upload may be; "
                "the operator can add it with rag ingest."
            )
    return [(path, given or path.name) for path, given in chosen]


def _copy_whole(src: Path, target: Path) -> None:
    """The file under its name only once it is whole: a full disk leaves no part of it."""
    partial = target.with_name(f".{target.name}.part")
    try:
        shutil.copyfile(src, partial)
        partial.rename(target)
    finally:
        partial.unlink(missing_ok=True)


def _forget(pipeline: Pipeline, copies: list[Path]) -> None:
    """Remove the upload's copies that no statement of the index is read from."""
    held = {d.source for d in pipeline.documents()}
    home = pipeline.settings.home
    for copy in copies:
        if display_source(copy, home) not in held:
            copy.unlink(missing_ok=True)
            sidecar_of(copy).unlink(missing_ok=True)


def _free_name(target: Path, src: Path) -> Path:
    """Where an upload goes: its own name, unless a different file already has it (then
    "name (2).txt", …); the same file again keeps its name (and changes nothing)."""
    candidate, n = target, 1
    while candidate.exists() and candidate.read_bytes() != src.read_bytes():
        n += 1
        candidate = target.with_name(f"{target.stem} ({n}){target.suffix}")
    return candidate
