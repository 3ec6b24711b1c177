"""Changes to an index made by a worker process at a lower priority, so that an upload
being embedded never takes the processor, the memory or the interpreter from the
questions being answered meanwhile. The worker commits batch by batch like `rag ingest`;
the app's next question opens what it committed (``Pipeline.snapshot``)."""

from __future__ import annotations

import multiprocessing
import os
import queue
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.errors import ChangedElsewhereError, InputError, RagError
from rag.ingest import qdrant_place
from rag.settings import Settings

NICENESS = 10  # the worker yields the processor to the questions being answered
RETRIES = 3  # times an upload goes on after another process committed to the index


@dataclass(frozen=True)
class Change:
    """What to do to the index: documents to remove (doc_id or source), files to add,
    and documents to embed again from their files (``renew``)."""

    add: tuple[Path, ...] = ()
    remove: tuple[str, ...] = ()
    renew: tuple[str, ...] = ()


def apply(
    settings: Settings, change: Change, progress: Callable[[int, int], None] | None = None
) -> list[str]:
    """Run the change in a worker process and return its report's lines; a failure is one
    sentence (``InputError``), and whatever the worker committed before it stays. An index
    on Qdrant's local mode, which admits one process at a time, is changed in this one."""
    if _one_process_only(settings):
        return _change(settings, change, progress or (lambda done, total: None))
    context = multiprocessing.get_context("spawn")  # the app's threads are never forked
    messages: Any = context.Queue()
    worker = context.Process(target=_work, args=(settings, change, messages), daemon=True)
    worker.start()
    try:
        while True:
            try:
                kind, payload = messages.get(timeout=0.2)
            except queue.Empty:
                if not worker.is_alive():
                    break
                continue
            if kind == "progress" and progress:
                progress(*payload)
            elif kind == "done":
                return list(payload)
            elif kind == "error":
                raise InputError(str(payload))
    finally:
        worker.join(timeout=30)
        messages.close()
    raise InputError(
        f"The worker adding the files stopped (exit status {worker.exitcode}) before it finished; "
        "what it saved is in the index, and adding the same files again continues."
    )


def _one_process_only(settings: Settings) -> bool:
    """An index on Qdrant's local mode (no server) admits one process at a time."""
    place = qdrant_place(settings)
    return place is not None and not place.url


def _work(settings: Settings, change: Change, messages: Any) -> None:
    os.nice(NICENESS)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    try:
        messages.put(("done", _change(settings, change, lambda *done: messages.put(("progress", done)))))
    except RagError as exc:
        messages.put(("error", str(exc)))
    except Exception as exc:  # noqa: BLE001 - the app shows one sentence, never a traceback
        messages.put(("error", f"Changing the index failed ({type(exc).__name__}: {exc})."))


def _change(settings: Settings, change: Change, progress: Callable[[int, int], None]) -> list[str]:
    from rag.embedding import embedder_from
    from rag.ingest import create_index, ingest, open_index, remove_documents

    lines: list[str] = []
    if change.remove:
        index = open_index(settings)
        lines += [f"removed {d.title} ({d.source})" for d in remove_documents(index, change.remove)]
    if not (change.add or change.renew):
        return lines
    embedder = embedder_from(settings)
    renewed: list[Path] | None = None
    for attempt in range(RETRIES):
        index = create_index(settings, embedder)
        if renewed is None:
            renewed = [
                source_file(settings, index.documents[d].source) for d in change.renew if d in index.documents
            ]
        # Embedded again from its file (on every attempt, so a retry never finds it
        # "unchanged"): the old chunks go in the same commit as the new ones come, so a
        # failure leaves the document as it was.
        index.remove(set(change.renew))
        files = [*change.add, *renewed]
        try:
            report = ingest(
                files, index, embedder, settings.home, progress=progress, batch=settings.ingest_batch
            )
        except ChangedElsewhereError:
            # Another process (`rag ingest`, say) committed meanwhile: open what it saved and
            # go on from what this one had saved, as running the same ingest again would.
            if attempt == RETRIES - 1:
                raise
            lines.append("The index was changed by another process meanwhile; went on from what was saved.")
            continue
        return lines + report.lines(chunks="passages")
    raise AssertionError("unreachable")


def source_file(settings: Settings, source: str) -> Path:
    """The file a document was read from (sources are recorded relative to the home)."""
    path = Path(source)
    path = path if path.is_absolute() else settings.home / path
    if not path.is_file():
        raise InputError(f"The file of {source} is gone, so it cannot be read again; remove it instead.")
    return path
