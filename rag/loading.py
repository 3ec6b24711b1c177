"""Reading statements from files into Documents, with metadata and skip reasons."""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.errors import InputError, NoDocumentsError
from rag.settings import UPLOADS
from rag.types import Document

SUPPORTED = {".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx"}
# ``NAME.meta.json`` beside ``NAME.txt`` gives metadata the text does not (country, speaker,
# date): values there win over what is read from the text.
SIDECAR = ".meta.json"
_SIDECAR_KEYS = {"country", "speaker", "date", "year", "session", "venue", "title"}

# UN General Debate Corpus: ``CHN_79_2024.txt`` = country, session, year.
UNGDC_NAME = re.compile(r"^(?P<country>[A-Z]{3})_(?P<session>\d{1,3})_(?P<year>(19|20)\d\d)$")

# Lines of web-page furniture that frame a statement but are not its words.
_FURNITURE = [
    re.compile(r"^\s*home\b.*(>|»|›)", re.I),  # breadcrumb trail
    re.compile(r"^\s*home(\s+[\w&'’-]+){3,}\s*$", re.I),  # navigation bar
    re.compile(
        r"^\s*(suggest to a friend|print( this page)?|close( window)?|share( this)?|"
        r"back to top|e-?mail( this)?|related (news|articles)|\[?\s*print\s*\]?)\s*$",
        re.I,
    ),
]
_DATE_ISO = re.compile(r"\b((19|20)\d\d)[-/.](0?[1-9]|1[0-2])[-/.]([0-2]?\d|3[01])\b")
_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_DATE_WORDS = re.compile(
    rf"\b(?:([0-3]?\d)\s+({_MONTHS})\s+((?:19|20)\d\d)|({_MONTHS})\s+([0-3]?\d),?\s+((?:19|20)\d\d))\b",
    re.I,
)
_SPEAKER = re.compile(
    r"^(?:remarks|statement|speech|address|briefing|keynote speech|explanation of vote)\s+"
    r"by\s+(?P<speaker>.+?)(?:\s+(?:at|to|on|before|during|in)\s+(?P<venue>.+))?$",
    re.I,
)


@dataclass(frozen=True)
class Skipped:
    """A file the loader passed over, and why, for the user to read."""

    path: Path
    reason: str


def content_id(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


# Control characters and line/paragraph separators become plain spaces (newlines stay).
_TO_SPACE = {
    code: " " for code in [*range(0x00, 0x20), *range(0x7F, 0xA0), 0xA0, 0x2028, 0x2029] if code != 0x0A
}
_BLOCK = 1 << 20  # characters normalised at a time: a 200 MB file is never held as lines


def normalise_text(text: str) -> str:
    """Line endings to LF, no BOM, controls and non-breaking spaces to plain spaces.

    Works in blocks of whole lines and never builds a list of every line or character,
    so memory stays a small multiple of the text however long it is.
    """
    parts = []
    start = 0
    while start < len(text):
        end = text.find("\n", start + _BLOCK)
        end = len(text) if end < 0 else end
        block = text[start:end]
        if end < len(text) and block.endswith("\r"):
            block = block[:-1]  # the "\r" of a "\r\n" whose "\n" ends the block
        block = block.replace("\r\n", "\n").replace("\r", "\n").translate(_TO_SPACE)
        parts.append("\n".join(line.rstrip() for line in block.split("\n")))
        start = end + 1
    if parts:
        parts[0] = parts[0].lstrip("\ufeff")
    text = "\n".join(parts)
    del parts
    text = re.sub(r"\n{4,}", "\n\n\n", text)
    return text.strip("\n ")


def strip_furniture(text: str) -> str:
    """Drop site navigation and sharing lines at the top and bottom of a page (reading
    only those lines, however long the text)."""

    def is_furniture(line: str) -> bool:
        return any(p.search(line) for p in _FURNITURE) or line.strip() in {"中文", "English"}

    start = 0
    while start <= len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        line = text[start:end]
        if line.strip() and not is_furniture(line):
            break
        start = end + 1
    stop = len(text)
    while stop > start:
        begin = max(text.rfind("\n", start, stop) + 1, start)
        line = text[begin:stop]
        if line.strip() and not is_furniture(line):
            break
        stop = begin - 1
    return text[start:stop] if stop > start else ""


def _decode(data: bytes) -> tuple[str | None, str | None]:
    """Text of the bytes, or the reason they are not text."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), None
        except UnicodeDecodeError:
            return None, "not valid UTF-16 despite its byte-order mark"
    if b"\x00" in data[:8192]:
        return _utf16_without_bom(data)
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    text = data.decode("cp1252", errors="replace")
    if _controls(text[:8192]) > 8:
        return None, "binary content, not text"
    return text, None


def _controls(sample: str) -> int:
    """Control characters other than line and page breaks: many mean binary content."""
    return sum(1 for ch in sample if unicodedata.category(ch) == "Cc" and ch not in "\n\r\t\f")


def _utf16_without_bom(data: bytes) -> tuple[str | None, str | None]:
    """UTF-16 text saved without a byte-order mark: Latin-script text has a zero byte in
    every other position (odd ones for little-endian, even ones for big-endian)."""
    sample = data[:8192]
    even, odd = sample[0::2], sample[1::2]
    if len(sample) < 4 or len(sample) % 2:
        return None, "binary content, not text"
    for zeros, other, encoding in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if zeros.count(0) > 0.3 * len(zeros) and other.count(0) < 0.02 * len(other):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                return None, f"looks like {encoding.upper()} without a byte-order mark, but is not valid"
            if _controls(text[:4096]) <= 8:
                return text, None
    return None, "binary content, not text"


def _html_text(raw: str) -> tuple[str, str | None]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(raw, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else None
    for tag in soup(["script", "style", "noscript", "template", "nav", "header", "footer", "head"]):
        tag.decompose()
    body = soup.body or soup
    blocks = [line.strip() for line in body.get_text("\n").split("\n")]
    text = "\n\n".join(re.sub(r"[ \t]+", " ", b) for b in blocks if b)
    h1 = soup.find("h1")
    return text, (h1.get_text(" ", strip=True) if h1 else None) or title


def _pdf_text(path: Path) -> tuple[str | None, str | None]:
    from pypdf import PdfReader

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            return None, "encrypted PDF (decrypt it first)"
        pages = [page.extract_text() or "" for page in reader.pages]
    except Exception as exc:  # noqa: BLE001 - a hostile PDF makes pypdf raise almost anything
        return None, f"unreadable PDF ({_reason(exc)})"
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text:
        return None, "PDF has no extractable text (scanned images need OCR first)"
    return text, None


def _docx_text(path: Path) -> tuple[str | None, str | None, str | None]:
    """A Word file's paragraphs (list items as "- item", table rows as lines) and its
    title property; or the reason it cannot be read."""
    import zipfile

    try:
        from docx import Document as WordDocument
    except ImportError:
        return None, "Word files need python-docx: pip install python-docx", None
    try:
        if zipfile.ZipFile(path).testzip() is not None:
            return None, "damaged Word file (a part fails its checksum)", None
        word = WordDocument(str(path))
        blocks = []
        for paragraph in word.paragraphs:
            text = " ".join(paragraph.text.split())
            if text:
                listed = (paragraph.style.name if paragraph.style is not None else "").startswith("List")
                blocks.append(f"- {text}" if listed else text)
        for table in word.tables:
            for row in table.rows:
                cells = [" ".join(c.text.split()) for c in row.cells]
                if any(cells):
                    blocks.append(" | ".join(cells))
        title = (word.core_properties.title or "").strip() or None
    except Exception as exc:  # noqa: BLE001 - a damaged or hostile file makes the reader raise anything
        return None, f"unreadable Word file ({_reason(exc)})", None
    if not blocks:
        return None, "Word file has no text", None
    return "\n\n".join(blocks), None, title


def _reason(exc: BaseException) -> str:
    """An exception as a few words for a skip line."""
    message = " ".join(str(exc).split())[:120]
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _title_of(text: str) -> str | None:
    for line in text.split("\n"):
        line = line.strip().lstrip("#").strip()
        if line:
            return line if len(line) <= 200 else None
    return None


def _date_of(text: str) -> str | None:
    head = text[:600]
    if m := _DATE_ISO.search(head):
        return f"{m.group(1)}-{int(m.group(3)):02d}-{int(m.group(4)):02d}"
    if m := _DATE_WORDS.search(head):
        day, month, year = (
            (m.group(1), m.group(2), m.group(3)) if m.group(1) else (m.group(5), m.group(4), m.group(6))
        )
        month_no = _MONTHS.split("|").index(month.lower()) + 1
        return f"{year}-{month_no:02d}-{int(day):02d}"
    return None


def describe(text: str, path: Path, title: str | None = None, trust_name: bool = True) -> dict[str, Any]:
    """Metadata a reader needs to cite the statement, from its name and opening lines. A
    name is trusted ("CHN_79_2024.txt": China, session 79) only for files the operator
    ingests, never for an upload."""
    meta: dict[str, Any] = {}
    if trust_name and (m := UNGDC_NAME.match(path.stem)):
        code, session, year = m.group("country"), int(m.group("session")), int(m.group("year"))
        name = country_name(code)
        meta.update(
            country=code,
            session=session,
            year=year,
            speaker=name,
            venue="UN General Assembly, General Debate",
            title=f"{name}: General Debate statement, session {session} ({year})",
        )
        return meta
    meta["title"] = title or _title_of(text) or path.stem
    if date := _date_of(text):
        meta["date"] = date
        meta["year"] = int(date[:4])
    if m := _SPEAKER.match(meta["title"]):
        meta["speaker"] = m.group("speaker").strip()
        if m.group("venue"):
            meta["venue"] = re.sub(r"^(at|on)\s+", "", m.group("venue").strip(), flags=re.I)
    return meta


def country_name(code: str) -> str:
    try:
        import pycountry

        found = pycountry.countries.get(alpha_3=code)
    except (ImportError, KeyError, LookupError):
        found = None
    # The corpus uses a few codes of states that no longer exist.
    historic = {
        "YUG": "Yugoslavia",
        "CSK": "Czechoslovakia",
        "DDR": "German Democratic Republic",
        "YMD": "Democratic Yemen",
        "SUN": "USSR",
        "EU": "European Union",
    }
    return getattr(found, "name", None) or historic.get(code, code)


def load_file(path: Path, source: str | None = None, uploaded: bool = False) -> Document | Skipped:
    """One file as a Document, or the reason it is skipped. An ``uploaded`` file (one the
    app received) is marked so in its metadata, and its name says nothing about who spoke."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        return Skipped(path, f"unsupported file type '{suffix or path.name}'")
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            return Skipped(path, f"not a regular file ({_kind(path)})")
    except OSError as exc:
        return Skipped(path, f"unreadable ({exc.strerror or exc})")
    title = None
    if suffix == ".pdf":
        raw, reason = _pdf_text(path)
    elif suffix == ".docx":
        raw, reason, title = _docx_text(path)
    else:
        try:
            data = path.read_bytes()
        except OSError as exc:
            return Skipped(path, f"unreadable ({exc.strerror or exc})")
        raw, reason = _decode(data)
        del data
        if raw is not None and suffix in {".html", ".htm"}:
            try:
                raw, title = _html_text(raw)
            except Exception as exc:  # noqa: BLE001 - the parser on hostile markup
                raw, reason = None, f"unreadable HTML ({_reason(exc)})"
    if raw is None:
        return Skipped(path, reason or "unreadable")
    text = normalise_text(raw)
    if suffix in {".txt", ".html", ".htm", ".md", ".markdown", ".docx"}:
        text = strip_furniture(text)
    if not text.strip():
        return Skipped(path, "empty: no text to index")
    metadata = describe(text, path, title, trust_name=not uploaded)
    if uploaded:
        metadata["uploaded"] = True
    else:
        given, problem = _sidecar(path)
        if problem:
            return Skipped(path, problem)
        metadata.update(given)
    if isinstance(metadata.get("date"), str) and re.match(r"(19|20)\d\d-", metadata["date"]):
        metadata.setdefault("year", int(metadata["date"][:4]))
    return Document(doc_id=content_id(text), source=source or str(path), text=text, metadata=metadata)


def _sidecar(path: Path) -> tuple[dict[str, Any], str]:
    """Metadata from ``NAME.meta.json`` beside the file, or why it cannot be used."""
    sidecar = path.with_name(path.stem + SIDECAR)
    if not sidecar.is_file():
        return {}, ""
    try:
        given = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return {}, f"its metadata file {sidecar.name} is unreadable ({_reason(exc)})"
    if not isinstance(given, dict) or not all(
        k in _SIDECAR_KEYS and isinstance(v, str | int) and not isinstance(v, bool) for k, v in given.items()
    ):
        keys = ", ".join(sorted(_SIDECAR_KEYS))
        return {}, f"its metadata file {sidecar.name} must be one JSON object of {keys} (text or numbers)"
    return given, ""


def find_files(paths: Iterable[Path]) -> Iterator[Path | Skipped]:
    """Every candidate file under the paths, in a stable order, with a reason for each
    thing passed over.

    A file named on the command line is read wherever a link takes it: that is the user's
    choice. Inside a folder, links are followed only to files in the same folder tree, so
    a link to ``/etc/passwd`` in a shared folder never reaches the index; hidden files,
    FIFOs, devices and broken links are reported and skipped.
    """
    for root in paths:
        if not root.exists():
            if root.is_symlink():
                yield Skipped(root, f"broken link (to {os.readlink(root)})")
                continue
            raise InputError(f"{root} does not exist; give a file or a folder of statements.")
        if root.is_dir():
            yield from _walk(root, Path(os.path.realpath(root)))
        elif root.is_file():
            yield root
        else:
            yield Skipped(root, f"not a regular file ({_kind(root)})")


def _walk(root: Path, real_root: Path) -> Iterator[Path | Skipped]:
    found: list[Path | Skipped] = []
    folders = [root]
    while folders:
        folder = folders.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            found.append(Skipped(folder, f"unreadable folder ({exc.strerror or exc})"))
            continue
        for entry in entries:
            path = Path(entry.path)
            if entry.name.endswith(SIDECAR):
                continue  # read with the statement it describes
            if entry.name.startswith("."):
                found.append(Skipped(path, "hidden folder" if entry.is_dir() else "hidden file"))
            elif entry.is_symlink():
                found.append(_followed_link(path, real_root))
            elif entry.is_dir(follow_symlinks=False):
                folders.append(path)
            elif entry.is_file(follow_symlinks=False):
                found.append(path)
            else:
                found.append(Skipped(path, f"not a regular file ({_kind(path)})"))
    yield from sorted(found, key=lambda item: item.path if isinstance(item, Skipped) else item)


def _followed_link(path: Path, real_root: Path) -> Path | Skipped:
    """The link itself when it leads to a regular file inside the folder given."""
    target = Path(os.path.realpath(path))
    if not target.exists():
        return Skipped(path, f"broken link (to {os.readlink(path)})")
    if not target.is_relative_to(real_root):
        return Skipped(path, f"link to {target}, outside the folder given (name that file to index it)")
    if target.is_dir():
        return Skipped(path, "link to a folder in the same tree (its files are read where they are)")
    if not target.is_file():
        return Skipped(path, f"link to something that is not a regular file ({_kind(target)})")
    return path


def _kind(path: Path) -> str:
    try:
        mode = path.stat().st_mode
    except OSError:
        return "unreadable"
    for test, name in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a file"


def display_source(path: Path, home: Path) -> str:
    """The path as users will see it: relative to the project home when inside it."""
    resolved = path.resolve()
    try:
        return str(resolved.relative_to(home.resolve()))
    except ValueError:
        return str(resolved)


def is_upload(path: Path, home: Path) -> bool:
    """Whether a file is one the app received (it lives in ``home``'s uploads folder)."""
    try:
        return path.resolve().is_relative_to((home / UPLOADS).resolve())
    except OSError:
        return False


def load_documents(paths: Iterable[Path], home: Path) -> Iterator[Document | Skipped]:
    """Documents from files and folder trees; raises when nothing at all is loadable,
    naming why each file given was passed over."""
    paths = list(paths)
    found = False
    skipped: list[Skipped] = []
    for item in find_files(paths):
        loaded = (
            item
            if isinstance(item, Skipped)
            else load_file(item, display_source(item, home), uploaded=is_upload(item, home))
        )
        if isinstance(loaded, Skipped):
            skipped.append(loaded)
        found = found or isinstance(loaded, Document)
        yield loaded
    if not found:
        raise no_documents(paths, skipped)


def no_documents(paths: list[Path], skipped: list[Skipped]) -> NoDocumentsError:
    """Nothing at all loadable under ``paths``: one sentence naming why files were passed over."""
    names = ", ".join(printable(str(p)) for p in paths)
    why = "; ".join(f"{printable(s.path.name)}: {s.reason}" for s in skipped[:5])
    more = f" (and {len(skipped) - 5} more)" if len(skipped) > 5 else ""
    return NoDocumentsError(
        f"No statements found in {names}"
        + (f" ({why}{more})" if why else "")
        + ": give .txt, .md, .html, .pdf or .docx files with text in them."
    )


def printable(name: str) -> str:
    """A file name safe to print on one terminal line: control characters (newlines,
    escape sequences) shown as escapes instead of acting on the terminal."""
    if name.isprintable():
        return name
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in name)
