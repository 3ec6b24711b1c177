"""The manifest: the one file that says which segments make the index, read and validated,
written in one rename; the journal a commit writes first; the files cleanup may touch."""

from __future__ import annotations

import contextlib
import fcntl
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from rag.errors import (
    ChangedElsewhereError,
    IndexCorruptError,
    IndexNotFoundError,
    InputError,
    ModelMismatchError,
)
from rag.storage import vectors
from rag.storage.files import replace_durably

FORMAT_VERSION = 2
MANIFEST = "manifest.json"
LOCK = ".lock"
JOURNAL = ".pending.json"  # names the files a commit may write before its manifest names them
PARTS = ("documents.jsonl", "chunks.jsonl", "vectors.npy", "terms.npz")
# Each segment also carries its own record (checksums, model, place in the vocabulary), so
# a lost manifest can be rebuilt from the segments alone (rag/storage/repair.py).
RECORD = "record.json"
SEGMENT_NAME = re.compile(r"seg-\d{6}")
POSTINGS_NAME = re.compile(r"postings-[\w-]+\.bin")  # BM25's stored counts (storage/postings.py)
LEGACY_FILES = ("documents.jsonl", "chunks.jsonl", "vectors.faiss")  # format 1, one set per index
OURS = (LOCK, JOURNAL, f".{JOURNAL}.tmp", f".{MANIFEST}.tmp")  # fixed names only we write


def repair_hint(path: Path) -> str:
    """The two ways out of a damaged manifest: from the segments' records (no source files
    needed), or from the sources; each works, or says why and what then works."""
    return (
        f"rebuild its manifest with: rag verify --repair --index {path}, "
        f"or rebuild the index with: rag ingest PATH --index {path} --rebuild"
    )


def validate_manifest(manifest: Any, path: Path) -> dict[str, Any]:
    """The manifest, checked for every key and type a reader relies on."""

    def fail(what: str) -> IndexCorruptError:
        return IndexCorruptError(f"The index manifest at {path} is damaged ({what}); {repair_hint(path)}.")

    def need(mapping: Any, key: str, kind: type, where: str = "") -> Any:
        value = mapping.get(key) if isinstance(mapping, dict) else None
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
            raise fail(f"'{where}{key}' is missing or not a {kind.__name__}")
        return value

    if not isinstance(manifest, dict):
        raise fail("not a JSON object")
    if manifest.get("format_version") != FORMAT_VERSION:
        return manifest  # another format: the caller says which and what to do
    need(manifest, "embedding_model", str)
    if need(manifest, "dimension", int) <= 0:
        raise fail("'dimension' is not positive")
    chunking = need(manifest, "chunking", dict)
    need(chunking, "size", int, "chunking.")
    need(chunking, "overlap", int, "chunking.")
    if need(manifest, "store", dict).get("kind") not in vectors.BACKENDS:
        raise fail(f"'store.kind' is not one of {', '.join(vectors.BACKENDS)}")
    need(need(manifest, "counts", dict), "chunks", int, "counts.")
    need(manifest, "generation", int)
    need(manifest, "next_segment", int)
    for segment in need(manifest, "segments", list):
        name = need(segment, "name", str, "segments[].")
        if not SEGMENT_NAME.fullmatch(name):
            raise fail(f"segment name '{name}' is not of the form seg-NNNNNN")
        checksums = need(segment, "checksums", dict, "segments[].")
        if set(checksums) != set(PARTS) or not all(isinstance(v, str) for v in checksums.values()):
            raise fail(f"segment {name} does not list a checksum for each of its files")
    postings = manifest.get("postings")
    if postings is not None:
        if not POSTINGS_NAME.fullmatch(need(postings, "file", str, "postings.")):
            raise fail("'postings.file' is not a postings file name")
        for key in ("rows", "terms", "nnz"):
            need(postings, key, int, "postings.")
        need(postings, "sha256", str, "postings.")
    incomplete = manifest.get("incomplete", {})
    if not isinstance(incomplete, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) for k, v in incomplete.items()
    ):
        raise fail("'incomplete' is not a table of document ids and chunk counts")
    return manifest


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of the index at ``path``, validated; damage is one sentence."""
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(
            f"The index manifest at {path} is unreadable ({exc}); {repair_hint(path)}."
        ) from None
    return validate_manifest(manifest, path)


def rebuild_hint(path: Path) -> str:
    return f"rebuild it with: rag ingest PATH --index {path} --rebuild"


def read_for_opening(path: Path, model: str | None) -> dict[str, Any]:
    """The manifest of an index to open, refusing in one sentence a missing or damaged
    index, another format, or (``model`` given) another embedding model."""
    if not (path / MANIFEST).is_file():
        if orphan_segments(path):
            raise no_manifest(path)
        raise IndexNotFoundError(
            f"There is no index at {path}; build one with: rag ingest PATH --index {path}"
        )
    manifest = read_manifest(path)
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexCorruptError(
            f"The index at {path} has format {manifest.get('format_version')}, "
            f"this version reads {FORMAT_VERSION}; {rebuild_hint(path)}."
        )
    if model is not None and manifest["embedding_model"] != model:
        raise ModelMismatchError(
            f"The index at {path} was built with the embedding model "
            f"'{manifest['embedding_model']}', not '{model}'; query it with that model "
            "or build a new index with this one."
        )
    return manifest


def peek(path: Path) -> dict[str, Any]:
    """The manifest as found, unvalidated, or {} (for format checks and a rebuild)."""
    with contextlib.suppress(OSError, ValueError):
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        if isinstance(manifest, dict):
            return manifest
    return {}


def write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    replace_durably(path / MANIFEST, json.dumps(manifest, indent=1, ensure_ascii=False))


@contextlib.contextmanager
def commit_lock(path: Path) -> Iterator[None]:
    """Held for a whole commit, so two writers never interleave their files."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        lock_file = open(path / LOCK, "w")  # noqa: SIM115 - held for the whole commit
    except OSError as exc:
        raise InputError(f"Cannot write the index folder {path} ({exc.strerror}).") from None
    with lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        yield


def generation_of(manifest: dict[str, Any]) -> int:
    """The manifest's generation, 0 when it has none usable: a damaged manifest that
    ``--rebuild`` replaces reads the same to the writer and to the check before its commit."""
    generation = manifest.get("generation")
    return generation if isinstance(generation, int) and not isinstance(generation, bool) else 0


def check_generation(path: Path, expected: int) -> None:
    """Refuse to commit over an index another process changed since this one read it."""
    if not (path / MANIFEST).is_file():
        return
    if generation_of(peek(path)) != expected:
        raise ChangedElsewhereError(
            f"The index at {path} was changed by another process while this one was "
            "working; run the command again."
        )


def check_new_index_folder(path: Path, ours: Iterable[str] = ()) -> None:
    """Refuse to start an index in a folder that holds anything but a (new) index: cleanup
    would otherwise meet files that are not ours, and segments without a manifest are a
    damaged index to repair, not a place to start over. ``ours``: names this index's
    vector store has already made there."""
    if (path / MANIFEST).is_file():
        return
    if path.exists() and not path.is_dir():
        raise InputError(f"{path} is a file, not a folder; give --index a new or empty folder.")
    try:
        names = {p.name for p in path.iterdir()} if path.is_dir() else set()
    except OSError as exc:
        raise InputError(f"Cannot read the index folder {path} ({exc.strerror or exc}).") from None
    names -= {*OURS, *ours}
    names -= journal_names(path)  # files of a first commit that was killed: ours to replace
    if orphan_segments(path):
        raise no_manifest(path)
    if names:
        raise InputError(
            f"{path} is not empty and holds no index; give --index a new or empty folder "
            "(nothing in it was changed)."
        )


def orphan_segments(folder: Path) -> list[str]:
    """Segment files in a folder without a manifest, other than a killed first commit's."""
    try:
        names = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
    except OSError:
        return []
    return sorted(n for n in names - journal_names(folder) if SEGMENT_NAME.match(n))


def no_manifest(path: Path) -> IndexCorruptError:
    return IndexCorruptError(
        f"The folder {path} holds index segments but no {MANIFEST}, so the index is damaged; "
        f"rebuild its manifest with: rag verify --repair --index {path}."
    )


def is_index_file(name: str) -> bool:
    """A name a journal may list: a segment part or a store file, never a path."""
    stem, _, part = name.partition(".")
    return Path(name).name == name and (
        (SEGMENT_NAME.fullmatch(stem) is not None and part in (*PARTS, RECORD))
        or re.fullmatch(r"ann-[\w-]+\.faiss", name) is not None
        or POSTINGS_NAME.fullmatch(name) is not None
    )


def index_files(folder: Path) -> set[str]:
    """The files in the folder named as an index names its own (segments, store files)."""
    try:
        return {p.name for p in folder.iterdir() if is_index_file(p.name)}
    except OSError:
        return set()


def replaced_files(path: Path) -> set[str]:
    """The files ``--rebuild`` replaces: those the manifest names or, when it is too
    damaged to say, every index file in the folder (kept, they could come back in a
    later repair)."""
    if not (path / MANIFEST).is_file():
        return set()
    manifest: dict[str, Any] | None = peek(path)
    try:
        validate_manifest(manifest, path)
    except IndexCorruptError:
        manifest = None
    return referenced_files(manifest) if manifest else index_files(path)


def journal_names(folder: Path) -> set[str]:
    """Files a killed commit may have left: named by its journal, never guessed."""
    try:
        names = json.loads((folder / JOURNAL).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    if not isinstance(names, list):
        return set()
    return {n for n in names if isinstance(n, str) and is_index_file(n)}


def write_journal(folder: Path, names: set[str]) -> None:
    replace_durably(folder / JOURNAL, json.dumps(sorted(names)))


def clear_journal(folder: Path) -> None:
    with contextlib.suppress(OSError):
        (folder / JOURNAL).unlink()


def referenced_files(manifest: Any) -> set[str]:
    """The files in the index folder that a manifest (of any format we wrote) names."""
    if not isinstance(manifest, dict):
        return set()
    names: set[str] = set()
    if manifest.get("format_version") == 1:
        names.update(LEGACY_FILES)
    for segment in manifest.get("segments") or []:
        name = segment.get("name") if isinstance(segment, dict) else None
        if isinstance(name, str) and SEGMENT_NAME.fullmatch(name):
            names.update(f"{name}.{p}" for p in (*PARTS, RECORD))
    store = manifest.get("store")
    ann = store.get("ann") if isinstance(store, dict) else None
    postings = manifest.get("postings")
    for record in (ann, postings):
        file = record.get("file") if isinstance(record, dict) else None
        if isinstance(file, str) and is_index_file(file):
            names.add(file)
    return names


def delete(folder: Path, names: Iterable[str]) -> None:
    for name in names:
        with contextlib.suppress(OSError):
            (folder / name).unlink()
