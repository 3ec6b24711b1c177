"""Reading statements from files into Documents, with metadata and skip reasons."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.errors import InputError, NoDocumentsError
from rag.types import Document

SUPPORTED = {".txt", ".md", ".markdown", ".html", ".htm", ".pdf"}

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


def normalise_text(text: str) -> str:
    """Line endings to LF, no BOM, controls and non-breaking spaces to plain spaces."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    text = "".join(
        " " if (ch != "\n" and (unicodedata.category(ch) == "Cc" or ch in "\u00a0\u2028\u2029")) else ch
        for ch in text
    )
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    text = re.sub(r"\n{4,}", "\n\n\n", text)
    return text.strip("\n ")


def strip_furniture(text: str) -> str:
    """Drop site navigation and sharing lines at the top and bottom of a page."""
    lines = text.split("\n")

    def is_furniture(line: str) -> bool:
        return any(p.search(line) for p in _FURNITURE) or line.strip() in {"中文", "English"}

    head = 0
    while head < len(lines) and (not lines[head].strip() or is_furniture(lines[head])):
        head += 1
    tail = len(lines)
    while tail > head and (not lines[tail - 1].strip() or is_furniture(lines[tail - 1])):
        tail -= 1
    return "\n".join(lines[head:tail])


def _decode(data: bytes) -> tuple[str | None, str | None]:
    """Text of the bytes, or the reason they are not text."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), None
        except UnicodeDecodeError:
            return None, "not valid UTF-16 despite its byte-order mark"
    if b"\x00" in data[:8192]:
        return None, "binary content, not text"
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    text = data.decode("cp1252", errors="replace")
    controls = sum(1 for ch in text[:8192] if unicodedata.category(ch) == "Cc" and ch not in "\n\r\t\f")
    if controls > 8:
        return None, "binary content, not text"
    return text, None


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
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            return None, "encrypted PDF (decrypt it first)"
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, OSError, TypeError) as exc:
        return None, f"unreadable PDF ({str(exc).strip() or type(exc).__name__})"
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text:
        return None, "PDF has no extractable text (scanned images need OCR first)"
    return text, None


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


def describe(text: str, path: Path, title: str | None = None) -> dict[str, Any]:
    """Metadata a reader needs to cite the statement, from its name and opening lines."""
    meta: dict[str, Any] = {}
    if m := UNGDC_NAME.match(path.stem):
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


def load_file(path: Path, source: str | None = None) -> Document | Skipped:
    """One file as a Document, or the reason it is skipped."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        return Skipped(path, f"unsupported file type '{suffix or path.name}'")
    title = None
    if suffix == ".pdf":
        raw, reason = _pdf_text(path)
    else:
        try:
            data = path.read_bytes()
        except OSError as exc:
            return Skipped(path, f"unreadable ({exc.strerror or exc})")
        raw, reason = _decode(data)
        if raw is not None and suffix in {".html", ".htm"}:
            raw, title = _html_text(raw)
    if raw is None:
        return Skipped(path, reason or "unreadable")
    text = normalise_text(raw)
    if suffix in {".txt", ".html", ".htm", ".md", ".markdown"}:
        text = strip_furniture(text)
    if not text.strip():
        return Skipped(path, "empty: no text to index")
    return Document(
        doc_id=content_id(text),
        source=source or str(path),
        text=text,
        metadata=describe(text, path, title),
    )


def find_files(paths: Iterable[Path]) -> Iterator[Path | Skipped]:
    """Every candidate file under the paths, in a stable order; hidden ones reported."""
    for root in paths:
        if not root.exists():
            raise InputError(f"{root} does not exist; give a file or a folder of statements.")
        if root.is_file():
            yield root
            continue
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root)
            if any(part.startswith(".") for part in rel.parts):
                if path.is_file():
                    yield Skipped(path, "hidden file")
                continue
            if path.is_file():
                yield path


def display_source(path: Path, home: Path) -> str:
    """The path as users will see it: relative to the project home when inside it."""
    resolved = path.resolve()
    try:
        return str(resolved.relative_to(home.resolve()))
    except ValueError:
        return str(resolved)


def load_documents(paths: Iterable[Path], home: Path) -> Iterator[Document | Skipped]:
    """Documents from files and folder trees; raises when nothing at all is loadable."""
    paths = list(paths)
    found = False
    for item in find_files(paths):
        if isinstance(item, Skipped):
            yield item
            continue
        loaded = load_file(item, display_source(item, home))
        found = found or isinstance(loaded, Document)
        yield loaded
    if not found:
        names = ", ".join(str(p) for p in paths)
        raise NoDocumentsError(
            f"No statements found in {names}: give .txt, .md, .html or .pdf files with text in them."
        )
