"""File primitives of the index folder: checksums, durable writes, JSON lines."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_durably(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` by a temporary file and one rename, both on disk first."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, "utf-8")
    fsync(tmp)
    os.replace(tmp, path)
    fsync(path.parent)


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """The rows of a JSON-lines file, parsed as one array (a third quicker than line by
    line, which matters when a large index opens: docs/scaling.md)."""
    lines = [line for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]
    yield from json.loads("[" + ",".join(lines) + "]")
