"""Changes to an index made by a worker process at a lower priority, so that an upload
being embedded never takes the processor, the memory or the interpreter from the
questions being answered meanwhile. The worker is kept between changes with its model
loaded (`rag serve` starts it), so a small upload is searchable in about a second; it
commits batch by batch like `rag ingest`; the app's next question opens what it committed
(``Pipeline.snapshot``)."""

from __future__ import annotations

import multiprocessing
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.errors import ChangedElsewhereError, InputError, RagError
from rag.ingest import qdrant_place
from rag.settings import Settings

NICENESS = 10  # the worker yields the processor to the questions being answered
UNCHANGED = "is unchanged since it was indexed (the same text and details): nothing was embedded again."
RETRIES = 3  # times an upload goes on after another process committed to the index


@dataclass(frozen=True)
class Change:
    """What to do to the index: documents to remove (doc_id or source), files to add,
    and documents to read again from their files (``renew``: embedded again only when
    their text or details changed)."""

    add: tuple[Path, ...] = ()
    remove: tuple[str, ...] = ()
    renew: tuple[str, ...] = ()


def apply(
    settings: Settings, change: Change, progress: Callable[[int, int], None] | None = None
) -> list[str]:
    """Run the change in the worker process and return its report's lines; a failure is one
    sentence (``InputError``), and whatever the worker committed before it stays. An index
    on Qdrant's local mode, which admits one process at a time, is changed in this one."""
    if _one_process_only(settings):
        return _change(settings, change, progress or (lambda done, total: None))
    return _WORKER.run(settings, change, progress)


class _Worker:
    """One worker process kept between changes, its embedding model loaded once: a small
    upload is searchable in about a second, not after a process start and a model load
    (several seconds, tens on a busy machine). Started on the first change; started again
    when it has died; one change at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: Any = None
        self._jobs: Any = None
        self._messages: Any = None
        self._job = 0

    def run(
        self, settings: Settings, change: Change | None, progress: Callable[[int, int], None] | None
    ) -> list[str]:
        with self._lock:
            if self._process is None or not self._process.is_alive():
                self._start()
            # Each job numbered: what a job left behind (its caller gone while it ran) is
            # never taken for the next one's report.
            self._job += 1
            self._jobs.put((self._job, settings, change))
            while True:
                try:
                    job, kind, payload = self._messages.get(timeout=0.2)
                except queue.Empty:
                    if not self._process.is_alive():
                        break
                    continue
                if job != self._job:
                    continue
                if kind == "progress" and progress:
                    progress(*payload)
                elif kind == "done":
                    return list(payload)
                elif kind == "error":
                    raise InputError(str(payload))
            code, self._process = self._process.exitcode, None
        raise InputError(
            f"The worker adding the files stopped (exit status {code}) before it finished; "
            "what it saved is in the index, and adding the same files again continues."
        )

    def prepare(self, settings: Settings) -> None:
        """Start the worker and load its model now, in the background, so that the first
        upload waits for neither."""
        if not _one_process_only(settings):
            threading.Thread(target=self._ready, args=(settings,), daemon=True).start()

    def _ready(self, settings: Settings) -> None:
        try:
            self.run(settings, None, None)
        except RagError:
            pass  # the first upload starts it again and says what went wrong

    def _start(self) -> None:
        context = multiprocessing.get_context("spawn")  # the app's threads are never forked
        self._jobs, self._messages = context.Queue(), context.Queue()
        self._process = context.Process(target=_serve, args=(self._jobs, self._messages), daemon=True)
        self._process.start()


_WORKER = _Worker()


def prepare(settings: Settings) -> None:
    """Have the worker ready for the first change (the app calls this when it starts)."""
    _WORKER.prepare(settings)


def _one_process_only(settings: Settings) -> bool:
    """An index on Qdrant's local mode (no server) admits one process at a time."""
    place = qdrant_place(settings)
    return place is not None and not place.url


def _serve(jobs: Any, messages: Any) -> None:
    """The worker: each change as it comes, at a lower priority, every model it loads kept."""
    os.nice(NICENESS)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    while True:
        job, settings, change = jobs.get()
        try:
            if change is None:  # made ready: the model loaded before the first upload
                _embedder(settings)
                messages.put((job, "done", []))
                continue
            lines = _change(settings, change, lambda *done, job=job: messages.put((job, "progress", done)))
            messages.put((job, "done", lines))
        except RagError as exc:
            messages.put((job, "error", str(exc)))
        except Exception as exc:  # noqa: BLE001 - the app shows one sentence, never a traceback
            messages.put((job, "error", f"Changing the index failed ({type(exc).__name__}: {exc})."))


_EMBEDDERS: dict[tuple[Any, ...], Any] = {}  # in the worker: each model loaded once


def _embedder(settings: Settings) -> Any:
    from rag.embedding import embedder_from

    key = (settings.embedding_model, settings.device, settings.batch_size, settings.embedding_backend)
    if key not in _EMBEDDERS:
        _EMBEDDERS[key] = embedder_from(settings)
    return _EMBEDDERS[key]


def _change(settings: Settings, change: Change, progress: Callable[[int, int], None]) -> list[str]:
    from rag.ingest import create_index, ingest, open_index, remove_documents

    lines: list[str] = []
    if change.remove:
        index = open_index(settings)
        lines += [f"removed {d.title} ({d.source})" for d in remove_documents(index, change.remove)]
    if not (change.add or change.renew):
        return lines
    embedder = _embedder(settings)
    for attempt in range(RETRIES):
        index = create_index(settings, embedder)
        # Read again from its file: a changed text or changed details replace the indexed
        # copy in one commit (a failure leaves it as it was); the same ones embed nothing.
        renewed = [
            source_file(settings, index.documents[d].source) for d in change.renew if d in index.documents
        ]
        try:
            report = ingest(
                [*change.add, *renewed],
                index,
                embedder,
                settings.home,
                progress=progress,
                batch=settings.ingest_batch,
            )
        except ChangedElsewhereError:
            # Another process (`rag ingest`, say) committed meanwhile: open what it saved and
            # go on from what this one had saved, as running the same ingest again would.
            if attempt == RETRIES - 1:
                raise
            lines.append("The index was changed by another process meanwhile; went on from what was saved.")
            continue
        same = [d for d in report.unchanged if d.doc_id in change.renew]
        if same and not change.add and not report.changed:
            return lines + [f"{d.title} {UNCHANGED}" for d in same]
        return lines + report.lines(chunks="passages")
    raise AssertionError("unreachable")


def source_file(settings: Settings, source: str) -> Path:
    """The file a document was read from (sources are recorded relative to the home)."""
    path = Path(source)
    path = path if path.is_absolute() else settings.home / path
    if not path.is_file():
        raise InputError(f"The file of {source} is gone, so it cannot be read again; remove it instead.")
    return path
