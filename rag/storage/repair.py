"""Checking an index end to end, and rebuilding a lost or damaged manifest from the records
each segment carries (its checksums, model and place in the vocabulary)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import IndexCorruptError, IndexNotFoundError, InputError, RagError
from rag.storage import vectors
from rag.storage.files import sha256
from rag.storage.index import Index
from rag.storage.manifest import (
    FORMAT_VERSION,
    MANIFEST,
    PARTS,
    RECORD,
    SEGMENT_NAME,
    commit_lock,
    index_files,
    journal_names,
    peek,
    referenced_files,
    write_journal,
    write_manifest,
)


@dataclass
class Repair:
    """What ``repair_manifest`` found and did, for the user to read."""

    kept: list[str] = field(default_factory=list)
    left_out: list[tuple[str, str]] = field(default_factory=list)  # (segment, why)
    documents: int = 0
    chunks: int = 0
    unnamed: int = 0  # files the new manifest does not name, cleared by the next commit

    def lines(self) -> list[str]:
        out = [f"left out {name}: {why}" for name, why in self.left_out]
        out.append(
            f"Rebuilt {MANIFEST} from {len(self.kept)} segments: "
            f"{self.documents} documents, {self.chunks} chunks."
        )
        if self.unnamed:
            out.append(
                f"{self.unnamed} files the new manifest does not name go with the next change to the index."
            )
        return out


def verify(path: Path) -> Index:
    """Open the index reading every file and checking every checksum; damage raises."""
    return Index.open(path)


def repair_manifest(path: Path) -> Repair:
    """Write a new manifest naming the intact segments whose records agree with each other.

    A segment rewritten by a removal names the one it replaces, so an old copy left by an
    interrupted run never brings removed documents back. Refuses, in one sentence, when
    the index is intact or when what is left cannot make a consistent index.
    """
    if not path.is_dir():
        raise IndexNotFoundError(f"There is no index at {path}; nothing to repair.")
    if (path / MANIFEST).is_file():
        try:
            Index.open(path)
        except RagError:
            pass
        else:
            raise InputError(f"The index at {path} is intact; nothing to repair.")
    records, report = _segment_records(path)
    if not records:
        raise _beyond_repair(path, "no segment in it carries a record to rebuild its manifest from")
    replaced = {old for r in records.values() for old in r["replaces"]}
    live = [r for name, r in sorted(records.items()) if name not in replaced]
    first = live[0]
    for r in live:
        for key in ("embedding_model", "dimension", "chunking", "store"):
            if r[key] != first[key]:
                raise _beyond_repair(path, f"its segments disagree on their {key.replace('_', ' ')}")
    live.sort(key=lambda r: (r["terms_before"], r["name"]))
    terms = 0
    for r in live:
        if r["new_terms"] and r["terms_before"] != terms:
            raise _beyond_repair(path, f"segments are missing (the vocabulary has a gap before {r['name']})")
        terms = max(terms, r["terms_before"] + r["new_terms"])
    latest = max(live, key=lambda r: r["name"])
    write_manifest(path, _manifest(first, live, latest["incomplete"], path))
    try:
        index = Index.open(path)
    except RagError as exc:
        (path / MANIFEST).unlink(missing_ok=True)
        raise _beyond_repair(path, f"its segments do not make a consistent index ({exc})") from None
    report.kept = [r["name"] for r in live]
    report.unnamed = _mark_for_replacement(path, referenced_files(peek(path)))
    report.documents, report.chunks = len(index.documents), len(index.chunks)
    return report


def _beyond_repair(path: Path, why: str) -> IndexCorruptError:
    """The sentence for an index no manifest can be rebuilt for, its files first marked as
    a killed commit's leftovers: without that, ``--rebuild`` would refuse the folder (its
    segments have no manifest) and send the user back here."""
    _mark_for_replacement(path)
    return IndexCorruptError(
        f"The index at {path} cannot be repaired: {why}; its files are now marked to be "
        f"replaced, so build it again with: rag ingest PATH --index {path} --rebuild."
    )


def _mark_for_replacement(path: Path, keep: set[str] | frozenset[str] = frozenset()) -> int:
    """Name the folder's index files other than ``keep`` in the journal, as a killed
    commit's leftovers: the next commit (or ``--rebuild``) clears them, nothing before."""
    with commit_lock(path):
        marked = index_files(path) - keep
        if marked:
            write_journal(path, journal_names(path) | marked)
    return len(marked)


def _segment_records(path: Path) -> tuple[dict[str, dict[str, Any]], Repair]:
    """Each segment's record whose four files match the checksums it lists."""
    report = Repair()
    records: dict[str, dict[str, Any]] = {}
    for file in sorted(path.glob(f"seg-*.{RECORD}")):
        name = file.name.split(".", 1)[0]
        if not SEGMENT_NAME.fullmatch(name):
            continue
        try:
            record = json.loads(file.read_text(encoding="utf-8"))
            _check_record(record, name)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            report.left_out.append((name, f"its record is unreadable ({exc})"))
            continue
        damaged = [
            part
            for part in PARTS
            if not (path / f"{name}.{part}").is_file()
            or sha256(path / f"{name}.{part}") != record["checksums"][part]
        ]
        if damaged:
            report.left_out.append((name, f"{', '.join(damaged)} missing or not matching its checksum"))
            continue
        records[name] = record
    return records, report


def _check_record(record: Any, name: str) -> None:
    if not isinstance(record, dict) or record.get("format_version") != FORMAT_VERSION:
        raise ValueError("not a record of this format")
    if record.get("name") != name or record.get("store") not in vectors.BACKENDS:
        raise ValueError("names another segment or store")
    if set(record.get("checksums") or {}) != set(PARTS):
        raise ValueError("no checksum for each file")
    for key in ("terms_before", "new_terms", "dimension"):
        if not isinstance(record.get(key), int):
            raise TypeError(f"'{key}' is not a number")
    if not isinstance(record.get("replaces"), list) or not isinstance(record.get("incomplete"), dict):
        raise TypeError("'replaces' or 'incomplete' has the wrong type")


def _manifest(
    first: dict[str, Any], live: list[dict[str, Any]], incomplete: dict[str, int], path: Path
) -> dict[str, Any]:
    segments = []
    doc_ids: set[str] = set()
    chunks = 0
    for r in live:
        with (path / f"{r['name']}.documents.jsonl").open(encoding="utf-8") as fh:
            ids = [json.loads(line)["doc_id"] for line in fh if line.strip()]
        rows = int(np.load(path / f"{r['name']}.vectors.npy", mmap_mode="r", allow_pickle=False).shape[0])
        segments.append(
            {"name": r["name"], "documents": len(ids), "chunks": rows, "checksums": r["checksums"]}
        )
        doc_ids.update(ids)
        chunks += rows
    documents = len(doc_ids)
    incomplete = {doc_id: saved for doc_id, saved in incomplete.items() if doc_id in doc_ids}
    return {
        "format_version": FORMAT_VERSION,
        "embedding_model": first["embedding_model"],
        "dimension": first["dimension"],
        "normalized": True,
        "metric": "inner_product",
        "chunking": first["chunking"],
        # No saved approximate index is trusted after a repair: the store rebuilds its own.
        "store": {"kind": first["store"], "options": {}},
        "counts": {"documents": documents, "chunks": chunks, "segments": len(segments)},
        "segments": segments,
        "incomplete": incomplete,
        "generation": 1,
        "next_segment": max(int(r["name"][4:]) for r in live) + 1,
        "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "repaired": True,
    }
