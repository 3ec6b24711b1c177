"""File primitives of the index folder: checksums, durable writes, JSON lines."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

_HASH_BLOCK = 16 << 20


def sha256(path: Path) -> str:
    """The file's SHA-256, read in blocks of up to 16 MB into one reused buffer."""
    digest = hashlib.sha256()
    buffer = bytearray(min(_HASH_BLOCK, max(path.stat().st_size, 1)))
    view = memoryview(buffer)
    with path.open("rb", buffering=0) as fh:
        while n := fh.readinto(buffer):
            digest.update(view[:n])
    return digest.hexdigest()


# A child interpreter that hashes the NUL-separated paths on its standard input and
# prints one line per path, in order: the hex digest, or "-" for a missing file.
_HASHER = r"""
import hashlib, sys
buf = bytearray(1 << 24)
view = memoryview(buf)
for name in sys.stdin.buffer.read().split(b"\0"):
    if not name:
        continue
    try:
        digest = hashlib.sha256()
        with open(name, "rb", buffering=0) as fh:
            while n := fh.readinto(buf):
                digest.update(view[:n])
        sys.stdout.buffer.write(digest.hexdigest().encode() + b"\n")
    except FileNotFoundError:
        sys.stdout.buffer.write(b"-\n")
"""
_ELSEWHERE = 64 << 20  # bytes past which hashing in another process pays for starting it


class Digests:
    """The SHA-256 of many files, worked out while the caller does something else.

    A large set is hashed by a child interpreter on another core (a thread in this one
    would wait for the interpreter lock between every read); a small set, or one the
    child could not finish, is hashed here when asked for."""

    def __init__(self, paths: list[Path]):
        self._paths = list(paths)
        self._found: dict[Path, str | None] = {}
        self._reader: threading.Thread | None = None
        if sum(_size(p) for p in self._paths) >= _ELSEWHERE:
            self._start()

    def _start(self) -> None:
        try:
            child = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _HASHER],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except OSError:
            return
        names = b"\0".join(os.fsencode(p) for p in self._paths)

        def collect() -> None:
            out, _ = child.communicate(names)
            lines = out.decode("ascii", "replace").split("\n")
            if child.returncode == 0 and len(lines) == len(self._paths) + 1:
                self._found.update(
                    (p, None if line == "-" else line) for p, line in zip(self._paths, lines, strict=False)
                )

        self._reader = threading.Thread(target=collect, name="rag-digests", daemon=True)
        self._reader.start()

    def of(self, path: Path) -> str:
        """The file's digest; FileNotFoundError when it was not there to hash."""
        if self._reader is not None:
            self._reader.join()
            self._reader = None
        if path not in self._found:
            self._found[path] = sha256(path) if path.is_file() else None
        digest = self._found[path]
        if digest is None:
            raise FileNotFoundError(path)
        return digest


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # missing: said when its digest is asked for


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


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The rows of a JSON-lines file, parsed as one array (a third quicker than line by
    line, which matters when a large index opens: docs/scaling.md); blank lines are skipped."""
    text = path.read_text(encoding="utf-8").strip()
    if not text:
        return []
    try:
        return json.loads("[" + text.replace("\n", ",") + "]")
    except json.JSONDecodeError:  # blank lines between rows (or damage, which raises again)
        return json.loads("[" + ",".join(line for line in text.split("\n") if line.strip()) + "]")
