"""Tar archives (.tar, .tar.gz, .tgz) read member by member, in their own order, never unpacked."""

from __future__ import annotations

import contextlib
import lzma
import posixpath
import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.errors import InputError

SUFFIXES = (".tar", ".tar.gz", ".tgz")

_KINDS = {
    tarfile.DIRTYPE: "folder",
    tarfile.SYMTYPE: "link",
    tarfile.LNKTYPE: "hard link",
    tarfile.CHRTYPE: "a character device",
    tarfile.BLKTYPE: "a block device",
    tarfile.FIFOTYPE: "a FIFO",
}


def is_archive(path: Path) -> bool:
    """Whether the name says tar archive: ``.tar``, ``.tar.gz`` or ``.tgz``."""
    return path.name.lower().endswith(SUFFIXES)


@dataclass(frozen=True)
class Entry:
    """One member as the archive lists it."""

    name: str  # "/"-separated, without a leading "./" or "/": the path unpacking gives it
    kind: str  # "file", "folder", "link", "hard link", or what else it is ("a FIFO" …)
    offset: int  # where its header starts: tells two members of one name apart
    size: int  # bytes of a file
    target: str = ""  # where a link points, as the archive says

    @property
    def outside(self) -> bool:
        """Whether the name climbs out of the archive ("../x"): unpacking refuses it."""
        return self.name == ".." or self.name.startswith("../")

    def link_target(self) -> str | None:
        """The member a link leads to, or None when it leads outside the archive."""
        if self.kind == "hard link":
            target = posixpath.normpath(self.target.lstrip("/"))
        elif self.target.startswith("/"):
            return None
        else:
            target = posixpath.normpath(posixpath.join(posixpath.dirname(self.name), self.target))
        return None if target == ".." or target.startswith("../") else target


class _Cut(Exception):
    """The archive ends without its end-of-archive block: it was cut short."""


class _Header(tarfile.TarInfo):
    """A member's header that leaves on its archive why the last one read was no header:
    a block of zeros is the archive's end; a short or garbled block is damage, which
    ``tarfile`` itself takes for the end past the first member."""

    @classmethod
    def fromtarfile(cls, archive: tarfile.TarFile) -> tarfile.TarInfo:
        try:
            return super().fromtarfile(archive)
        except Exception as exc:
            archive.rag_end = exc  # type: ignore[attr-defined]
            raise


class Reader:
    """One pass through an archive in its own order: each member's entry as it comes, and
    the bytes of the file just listed. The compressed stream is decompressed as it is read,
    one member at a time, so memory stays bounded however large the archive; at the end
    the rest of the stream is read too, so a compressed archive's own check (its length
    and checksum) runs. A damaged archive raises an ``InputError`` naming it."""

    def __init__(self, path: Path):
        self.path = path
        self._tar: tarfile.TarFile | None = None
        self._current: tarfile.TarInfo | None = None

    def __enter__(self) -> Reader:
        try:
            self._tar = tarfile.open(self.path, "r:*", tarinfo=_Header)
        except tarfile.ReadError:
            raise InputError(
                f"{self.path} is not a tar archive, though its name says so; give a .tar, .tar.gz "
                "or .tgz file, or the folder of statements itself."
            ) from None
        except EOFError:
            raise self._cut_short() from None
        except OSError as exc:
            raise InputError(f"Cannot read the archive {self.path} ({exc.strerror or exc}).") from None
        return self

    def __exit__(self, *_: Any) -> None:
        if self._tar is not None:
            self._tar.close()

    def __iter__(self) -> Iterator[Entry]:
        tar = self._tar
        assert tar is not None, "use the reader in a with block"
        while True:
            with self._damage():
                info = tar.next()
            tar.members.clear()  # one member held at a time, however many the archive lists
            if info is None:
                break
            self._current = info
            yield _entry(info)
        with self._damage():
            end = getattr(tar, "rag_end", None)
            if not isinstance(end, tarfile.EOFHeaderError):  # a block of zeros ends an archive
                if isinstance(end, tarfile.InvalidHeaderError):
                    raise tarfile.ReadError(f"a member's header is garbled: {end}")
                raise _Cut
            while tar.fileobj.read(1 << 20):
                pass

    def read(self) -> bytes:
        """The bytes of the file last listed."""
        assert self._tar is not None and self._current is not None and self._current.isreg()
        with self._damage():
            member = self._tar.extractfile(self._current)
            assert member is not None
            return member.read()

    @contextlib.contextmanager
    def _damage(self) -> Iterator[None]:
        """A damaged archive as one sentence."""
        try:
            yield
        except (_Cut, EOFError):
            raise self._cut_short() from None
        except (tarfile.TarError, zlib.error, lzma.LZMAError, OSError) as exc:
            if "unexpected end" in str(exc):
                raise self._cut_short() from None
            why = " ".join(str(exc).split())[:120] or type(exc).__name__
            raise InputError(
                f"The archive {self.path} is damaged ({why}); download it again, or ingest the "
                "folder it unpacks to."
            ) from None

    def _cut_short(self) -> InputError:
        return InputError(
            f"The archive {self.path} is cut short (it ends part-way through its members); "
            "download it again, or ingest the folder it unpacks to."
        )


def _entry(info: tarfile.TarInfo) -> Entry:
    name = posixpath.normpath(info.name).lstrip("/")
    kind = "file" if info.isreg() else _KINDS.get(info.type, "not a file")
    return Entry("" if name == "." else name, kind, info.offset, info.size, info.linkname)
