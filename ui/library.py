"""The library every session shares: the indexes under the home, their documents as a
table, and the changes a user makes to them (uploads, removals, embedding a document
again), each run by a worker process so questions meanwhile never wait (rag/library.py)."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rag.errors import InputError, RagError
from rag.library import Change, apply
from rag.loading import SUPPORTED, display_source, printable
from rag.pipeline import Pipeline
from rag.storage import Index
from ui.render import escape, holding, safe_name, shown_source

CHOOSE = "Choose a statement in the table first."
GONE = "That statement is no longer in the index (another page removed it); search the table again."
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
        self, index: str | None, files: list[Any] | None, progress: Callable[[int, int], None] | None = None
    ) -> str:
        """Copy uploads under the home (by base name only, never over another file) and
        add them to the index; the report as HTML lines."""
        if not files:
            return "Choose one or more files first."
        pipeline = self.indexes.get(index)
        settings = pipeline.settings
        try:
            chosen = _within_limits(files, settings.upload_max_files, settings.upload_max_mb)
        except InputError as exc:
            return escape(str(exc))
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
            targets.append(target)
        if not targets:
            return "<br>".join(notes) or "Nothing to add."
        report = self._change(pipeline, Change(add=tuple(targets)), progress)
        _forget(pipeline, created)  # a copy the index did not take (a duplicate, a skipped file)
        return "<br>".join([*notes, report])

    def remove(self, index: str | None, doc_id: str | None) -> str:
        return self._on_one(index, doc_id) or self._change(self.indexes.get(index), Change(remove=(doc_id,)))

    def renew(self, index: str | None, doc_id: str | None) -> str:
        """Embed a document again from its file (changed chunking, a damaged segment)."""
        return self._on_one(index, doc_id) or self._change(self.indexes.get(index), Change(renew=(doc_id,)))

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


def _free_name(target: Path, src: Path) -> Path:
    """Where an upload goes: its own name, unless a different file already has it (then
    "name (2).txt", …); the same file again keeps its name (and changes nothing)."""
    candidate, n = target, 1
    while candidate.exists() and candidate.read_bytes() != src.read_bytes():
        n += 1
        candidate = target.with_name(f"{target.stem} ({n}){target.suffix}")
    return candidate
