"""Reading statements from files into Documents, with metadata and skip reasons."""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import io
import json
import os
import posixpath
import re
import stat
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from rag import countries
from rag.archives import Entry, Reader, is_archive
from rag.errors import InputError, NoDocumentsError
from rag.settings import UPLOADS
from rag.types import Document

SUPPORTED = {".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx"}
# ``NAME.meta.json`` beside ``NAME.txt`` gives metadata the text does not (country, speaker,
# date): values there win over what is read from the text.
SIDECAR = ".meta.json"
_SIDECAR_KEYS = {"country", "speaker", "date", "year", "session", "venue", "title"}

# What one file may expand to when read: a small file can unpack to gigabytes (a Word file is
# a zip of XML) or hold a million tags. Past a limit the file is skipped, and the skip line
# names the limit.
MAX_XML_MB = 50  # uncompressed XML read from one Word file
MAX_XML_TAGS = 2_000_000  # XML tags held at once: one paragraph or table, or what sits between two
MAX_PARAGRAPHS = 100_000
MAX_CELLS = 100_000  # table cells of one Word file
MAX_CHARACTERS = 10_000_000  # text of one Word, HTML or PDF file
MAX_HTML_MB = 100
MAX_TAGS = 100_000  # elements of one HTML page
MAX_PAGES = 2_000
MAX_INSTRUCTIONS = 2_000_000  # drawing instructions of one PDF, over all its pages
MAX_TITLE = 300  # characters of a title, cut at a word
MAX_METADATA_VALUE = 200  # characters of a metadata value (a title: MAX_TITLE)
MAX_METADATA_KB = 64
# A member of a tar archive is read whole into memory, as a file's bytes are: one claiming
# more (a gzip-compressed archive holds gigabytes of zeros in a few megabytes) is skipped.
MAX_MEMBER_MB = 100

# UN General Debate Corpus: ``CHN_79_2024.txt`` = country, session, year.
UNGDC_NAME = re.compile(r"^(?P<country>[A-Z]{3})_(?P<session>\d{1,3})_(?P<year>(19|20)\d\d)$")

# Lines of web-page furniture that frame a statement but are not its words. Leading and
# trailing spaces are taken possessively: a line of a million spaces is read once.
_FURNITURE = [
    re.compile(r"^\s*+home\b.*(>|»|›)", re.I),  # breadcrumb trail
    re.compile(r"^\s*+home(\s++[\w&'’-]++){3,}\s*+$", re.I),  # navigation bar
    re.compile(
        r"^\s*+(suggest to a friend|print( this page)?|close( window)?|share( this)?|"
        r"back to top|e-?mail( this)?|related (news|articles)|\[?\s*+print\s*+\]?)\s*+$",
        re.I,
    ),
]
_DATE_ISO = re.compile(r"\b((19|20)\d\d)[-/.](0?[1-9]|1[0-2])[-/.]([0-2]?\d|3[01])\b")
_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_DATE_WORDS = re.compile(
    rf"\b(?:([0-3]?\d)\s+({_MONTHS})\s+((?:19|20)\d\d)|({_MONTHS})\s+([0-3]?\d),?\s+((?:19|20)\d\d))\b",
    re.I,
)
# "Statement by SPEAKER at VENUE", read from a title whose spaces are single: the speaker
# ends at the first " at ", " to " … (two fixed patterns, so a long title costs one pass).
_SPEAKER = re.compile(
    r"(?:remarks|statement|speech|address|briefing|keynote speech|explanation of vote) by (?=\S)", re.I
)
_VENUE_WORD = re.compile(r" (?:at|to|on|before|during|in) (?=\S)", re.I)


@dataclass(frozen=True)
class Skipped:
    """A file the loader passed over, and why, for the user to read."""

    path: Path
    reason: str


@dataclass(frozen=True)
class Member:
    """A statement's file inside a tar archive, with what the folder it unpacks to would
    give: its name there, and the metadata file beside it (read as the archive was listed)."""

    archive: Path
    name: str  # "ungdc/Session 79 - 2024/CHN_79_2024.txt"
    offset: int  # where its header is: the archive is read once, in its own order
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)
    problem: str = ""  # why its metadata file cannot be used

    @property
    def path(self) -> Path:
        """The path it would have if the archive were unpacked where it is."""
        return self.archive / self.name


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


class _PastLimit(Exception):
    """A file past one of the limits above; its message is the skip reason."""


def _past(what: str) -> _PastLimit:
    return _PastLimit(f"{what} (the limit)")


_TAG_START = re.compile(r"<[A-Za-z]")


def _html_text(raw: str) -> tuple[str, str | None]:
    if len(raw) > MAX_HTML_MB * 1_000_000:
        raise _past(f"HTML file is longer than {MAX_HTML_MB} million characters")
    for count, _ in enumerate(_TAG_START.finditer(raw), start=1):
        if count > MAX_TAGS:  # counted before parsing: the parser holds every tag as an object
            raise _past(f"HTML file has more than {MAX_TAGS:,} tags")
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(raw, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else None
    for tag in soup(["script", "style", "noscript", "template", "nav", "header", "footer", "head"]):
        tag.decompose()
    body = soup.body or soup
    blocks = [line.strip() for line in body.get_text("\n").split("\n")]
    text = "\n\n".join(re.sub(r"[ \t]+", " ", b) for b in blocks if b)
    if len(text) > MAX_CHARACTERS:
        raise _past(f"HTML file has more than {MAX_CHARACTERS:,} characters of text")
    h1 = soup.find("h1")
    return text, (h1.get_text(" ", strip=True) if h1 else None) or title


def _pdf_text(path: Path | IO[bytes]) -> tuple[str | None, str | None]:
    from pypdf import PdfReader

    used = {"characters": 0, "instructions": 0}

    def count_text(text: str, *_: Any) -> None:
        used["characters"] += len(text)
        if used["characters"] > MAX_CHARACTERS:
            raise _past(f"PDF has more than {MAX_CHARACTERS:,} characters of text")

    def count_instruction(*_: Any) -> None:
        used["instructions"] += 1
        if used["instructions"] > MAX_INSTRUCTIONS:
            raise _past(f"PDF has more than {MAX_INSTRUCTIONS:,} drawing instructions")

    try:
        reader = PdfReader(str(path) if isinstance(path, Path) else path)
        if reader.is_encrypted:
            return None, "encrypted PDF (decrypt it first)"
        if len(reader.pages) > MAX_PAGES:
            return None, f"PDF has more than {MAX_PAGES:,} pages (the limit)"
        pages = [
            page.extract_text(visitor_text=count_text, visitor_operand_before=count_instruction) or ""
            for page in reader.pages
        ]
    except _PastLimit as exc:
        return None, str(exc)
    except Exception as exc:  # noqa: BLE001 - a hostile PDF makes pypdf raise almost anything
        return None, f"unreadable PDF ({_reason(exc)})"
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text:
        return None, "PDF has no extractable text (scanned images need OCR first)"
    return text, None


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_RELATIONSHIP = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_DC_TITLE = "{http://purl.org/dc/elements/1.1/}title"
_ON = {"1", "true", "on"}


def _docx_text(path: Path | IO[bytes]) -> tuple[str | None, str | None, str | None]:
    """A Word file's paragraphs (list items as "- item", table rows as "a | b" lines after
    them) and its title property; or the reason it cannot be read.

    The XML is streamed, never held whole: each top-level paragraph or table is read and
    then let go, a style's name is looked up once per style, and every part read counts
    against the limits on what a Word file may expand to."""
    import zipfile

    try:
        import lxml.etree  # noqa: F401 - python-docx's XML library, used by _xml_ends
    except ImportError:
        return None, "Word files need lxml: pip install lxml", None
    try:
        with zipfile.ZipFile(path) as archive:
            document, styles, core = _word_parts(archive)
            if document is None:
                return None, "unreadable Word file (it holds no Word document)", None
            declared = sum(archive.getinfo(name).file_size for name in (document, styles, core) if name)
            if declared > MAX_XML_MB * 1_000_000:
                raise _past(f"Word file expands to more than {MAX_XML_MB} MB of XML")
            budget = _XmlBudget()
            style_names = _paragraph_styles(archive, styles, budget) if styles else {}
            blocks = _word_blocks(archive, document, style_names, budget)
            title = _word_title(archive, core, budget) if core else None
    except _PastLimit as exc:
        return None, str(exc), None
    except zipfile.BadZipFile as exc:
        if "CRC" in str(exc):
            return None, "damaged Word file (a part fails its checksum)", None
        return None, f"unreadable Word file ({_reason(exc)})", None
    except Exception as exc:  # noqa: BLE001 - a damaged or hostile file makes the reader raise anything
        return None, f"unreadable Word file ({_reason(exc)})", None
    if not blocks:
        return None, "Word file has no text", None
    return "\n\n".join(blocks), None, title


class _XmlBudget:
    """What the parts of one Word file have expanded to so far: bytes in all, and tags
    since the reader last let go of what it had read."""

    def __init__(self) -> None:
        self.bytes = 0
        self.tags = 0

    def spend(self, data: bytes) -> None:
        self.bytes += len(data)
        self.tags += data.count(b"<")
        if self.bytes > MAX_XML_MB * 1_000_000:
            raise _past(f"Word file expands to more than {MAX_XML_MB} MB of XML")
        if self.tags > MAX_XML_TAGS:
            raise _past(f"Word file has a paragraph or table of more than {MAX_XML_TAGS:,} XML tags")


class _Counted:
    """A part of the archive, read through the budget (the parser asks for it in pieces)."""

    def __init__(self, stream: Any, budget: _XmlBudget):
        self._stream = stream
        self._budget = budget

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size if size > 0 else 1 << 16)
        self._budget.spend(data)
        return data


def _xml_ends(archive: Any, name: str, budget: _XmlBudget, tags: tuple[str, ...]) -> Iterator[Any]:
    """Elements of one XML part with these tags, each as it ends. The parser fetches nothing
    from outside the file and expands no entity (no XXE, no billion laughs)."""
    from lxml import etree

    with archive.open(name) as raw:
        for _, element in etree.iterparse(
            _Counted(raw, budget),
            events=("end",),
            tag=tags,
            resolve_entities=False,
            load_dtd=False,
            no_network=True,
            huge_tree=False,
        ):
            yield element


def _let_go(element: Any) -> None:
    """Free an element that has been read, and its siblings read before it."""
    element.clear()
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def _word_parts(archive: Any) -> tuple[str | None, str | None, str | None]:
    """The archive's names of the main document, its styles and the core properties, as its
    relationships give them (``word/document.xml`` … when they say nothing)."""
    names = set(archive.namelist())

    def targets(rels: str, base: str) -> dict[str, str]:
        if rels not in names or archive.getinfo(rels).file_size > 1_000_000:
            return {}
        from lxml import etree

        parser = etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True)
        root = etree.fromstring(archive.read(rels), parser)
        found = {}
        for rel in root.iter(_RELATIONSHIP):
            kind, target = rel.get("Type", "").rsplit("/", 1)[-1], rel.get("Target", "")
            found.setdefault(kind, posixpath.normpath(posixpath.join(base, target)).lstrip("/"))
        return found

    package = targets("_rels/.rels", "")
    document = package.get("officeDocument", "word/document.xml")
    folder, leaf = posixpath.split(document)
    styles = targets(posixpath.join(folder, "_rels", leaf + ".rels"), folder).get("styles", "word/styles.xml")
    core = package.get("core-properties", "docProps/core.xml")
    return tuple(name if name in names else None for name in (document, styles, core))  # type: ignore[return-value]


def _paragraph_styles(archive: Any, name: str, budget: _XmlBudget) -> dict[str | None, str]:
    """Paragraph style ids to names, read once; ``None`` gives the default style's name."""
    names: dict[str | None, str] = {}
    for style in _xml_ends(archive, name, budget, (_W + "style",)):
        if style.get(_W + "type") == "paragraph":
            label = style.find(_W + "name")
            names[style.get(_W + "styleId")] = label.get(_W + "val", "") if label is not None else ""
            if style.get(_W + "default") in _ON:
                names[None] = names[style.get(_W + "styleId")]  # the last default wins, as in Word
        _let_go(style)
        budget.tags = 0
    return names


def _word_blocks(archive: Any, name: str, styles: dict[str | None, str], budget: _XmlBudget) -> list[str]:
    """The body's paragraphs, then its tables' rows, read as each ends."""
    body = _W + "body"
    paragraphs, rows = [], []
    counts = {"paragraphs": 0, "cells": 0, "characters": 0}
    for element in _xml_ends(archive, name, budget, (_W + "p", _W + "tbl", _W + "tc", _W + "sectPr")):
        tag = element.tag
        if tag == _W + "p":
            counts["paragraphs"] += 1
            if counts["paragraphs"] > MAX_PARAGRAPHS:
                raise _past(f"Word file has more than {MAX_PARAGRAPHS:,} paragraphs")
        elif tag == _W + "tc":
            counts["cells"] += 1
            if counts["cells"] > MAX_CELLS:
                raise _past(f"Word file has more than {MAX_CELLS:,} table cells")
        parent = element.getparent()
        if parent is None or parent.tag != body:
            continue
        if tag == _W + "p":
            text = _paragraph_text(element)
            if text:
                properties = element.find(_W + "pPr")
                style = properties.find(_W + "pStyle") if properties is not None else None
                style_id = style.get(_W + "val") if style is not None else None
                listed = styles.get(style_id, styles.get(None, "")).startswith("List")
                paragraphs.append(f"- {text}" if listed else text)
                counts["characters"] += len(text)
        elif tag == _W + "tbl":
            for row in _table_rows(element):
                rows.append(row)
                counts["characters"] += len(row)
        if counts["characters"] > MAX_CHARACTERS:
            raise _past(f"Word file has more than {MAX_CHARACTERS:,} characters of text")
        _let_go(element)
        budget.tags = 0
    return paragraphs + rows


def _paragraph_text(paragraph: Any) -> str:
    """A paragraph's words as Word shows them: its runs and links' runs (a text box inside
    it is a paragraph of its own), spaces made single."""
    pieces = []
    for child in paragraph:
        if child.tag == _W + "r":
            runs = [child]
        elif child.tag == _W + "hyperlink":
            runs = child.findall(_W + "r")
        else:
            continue
        for run in runs:
            for item in run:
                tag = item.tag
                if tag == _W + "t":
                    pieces.append(item.text or "")
                elif tag in (_W + "tab", _W + "ptab"):
                    pieces.append("\t")
                elif tag == _W + "cr" or (
                    tag == _W + "br" and item.get(_W + "type", "textWrapping") == "textWrapping"
                ):
                    pieces.append("\n")
                elif tag == _W + "noBreakHyphen":
                    pieces.append("-")
    return " ".join("".join(pieces).split())


def _table_rows(table: Any) -> Iterator[str]:
    """A table's rows as "a | b" lines, read row by row (never recursively): a merged cell
    is read once, where it starts; the places it covers are empty."""
    for row in table.iterfind(_W + "tr"):
        cells = []
        for cell in row.iterfind(_W + "tc"):
            properties = cell.find(_W + "tcPr")
            merged = None
            if properties is not None:
                merged = properties.find(_W + "vMerge")
                if merged is None:
                    merged = properties.find(_W + "hMerge")
            if merged is not None and merged.get(_W + "val", "continue") != "restart":
                cells.append("")
                continue
            cells.append(" ".join(t for t in map(_paragraph_text, cell.iterfind(_W + "p")) if t))
        if any(cells):
            yield " | ".join(cells).strip()


def _word_title(archive: Any, name: str, budget: _XmlBudget) -> str | None:
    for element in _xml_ends(archive, name, budget, (_DC_TITLE,)):
        return (element.text or "").strip() or None
    return None


def _reason(exc: BaseException) -> str:
    """An exception as a few words for a skip line."""
    message = " ".join(str(exc).split())[:120]
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _title_of(text: str) -> str | None:
    """The first line with words, when it is short enough to be a heading."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        if end - start > 10_000:  # a line this long is no heading
            return None
        line = text[start:end].strip().lstrip("#").strip()
        if line:
            return line if len(line) <= 200 else None
        start = end + 1
    return None


def clip_title(title: str, limit: int = MAX_TITLE) -> str:
    """A title on one line with single spaces, cut at a word to at most ``limit`` characters
    ("…" marks the cut); done before any pattern reads it."""
    title = " ".join(title[: limit * 4].split()) if len(title) > limit * 4 else " ".join(title.split())
    if len(title) <= limit:
        return title
    cut = title.rfind(" ", 0, limit)
    return title[: cut if cut > limit // 2 else limit - 1].rstrip() + "…"


def speaker_and_venue(title: str) -> tuple[str | None, str | None]:
    """Who spoke and where, from a title "Statement by SPEAKER at VENUE"; (None, None) when
    the title does not say."""
    title = " ".join(title.split())
    head = _SPEAKER.match(title)
    if not head:
        return None, None
    rest = title[head.end() :]
    venue = _VENUE_WORD.search(rest, 1)
    if not venue:
        return rest, None
    return rest[: venue.start()], re.sub(r"^(?:at|on) (?=\S)", "", rest[venue.end() :], flags=re.I)


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


def parse_date(value: str) -> dict[str, Any]:
    """A date a person typed ("2024-09-24", "24 September 2024", "September 24, 2024") as
    metadata, or a year alone ("2024"); anything else is one sentence (``InputError``)."""
    value = " ".join(value.split())
    if re.fullmatch(r"\d{4}", value):
        return {"year": int(value)}
    whole = len(value) <= 40 and (_DATE_ISO.fullmatch(value) or _DATE_WORDS.fullmatch(value))
    date = _date_of(value) if whole else None
    try:
        datetime.date.fromisoformat(date or "")
    except ValueError:
        raise InputError(
            f"{value[:40]!r} is not a date such as 2024-09-24 or 24 September 2024, nor a year such as 2024."
        ) from None
    return {"date": date, "year": int(str(date)[:4])}


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
    meta["title"] = clip_title(title or "") or clip_title(_title_of(text) or "") or clip_title(path.stem)
    if date := _date_of(text):
        meta["date"] = date
        meta["year"] = int(date[:4])
    speaker, venue = speaker_and_venue(meta["title"])
    if speaker:
        meta["speaker"] = speaker
        if venue:
            meta["venue"] = venue
    return meta


def country_name(code: str) -> str:
    """The name a sentence gives a country code ("KOR" -> "South Korea"): rag/countries.py."""
    return countries.country_name(code)


def load_file(path: Path, source: str | None = None, uploaded: bool = False) -> Document | Skipped:
    """One file as a Document, or the reason it is skipped. An ``uploaded`` file (one the
    app received) is marked so in its metadata, and its name says nothing about who spoke."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        return Skipped(path, _unsupported(path))
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            return Skipped(path, f"not a regular file ({_kind(path)})")
    except OSError as exc:
        return Skipped(path, f"unreadable ({exc.strerror or exc})")
    if suffix == ".pdf":
        raw, reason = _pdf_text(path)
        title = None
    elif suffix == ".docx":
        raw, reason, title = _docx_text(path)
    else:
        try:
            data = path.read_bytes()
        except OSError as exc:
            return Skipped(path, f"unreadable ({exc.strerror or exc})")
        raw, reason, title = _text_of(data, suffix)
        del data
    return _document(raw, reason, title, path, source or str(path), uploaded, lambda: _sidecar(path))


def _unsupported(path: Path) -> str:
    if is_archive(path):
        return "an archive inside a folder (name it on the command line to ingest its statements)"
    return f"unsupported file type '{path.suffix.lower() or path.name}'"


def _text_of(data: bytes, suffix: str) -> tuple[str | None, str | None, str | None]:
    """The text of a file's bytes, the title its format gives (or None), or why it cannot
    be read (a PDF or Word file read from memory: an archive's member)."""
    if suffix == ".pdf":
        return (*_pdf_text(io.BytesIO(data)), None)
    if suffix == ".docx":
        return _docx_text(io.BytesIO(data))
    raw, reason = _decode(data)
    title = None
    if raw is not None and suffix in {".html", ".htm"}:
        try:
            raw, title = _html_text(raw)
        except _PastLimit as exc:
            raw, reason = None, str(exc)
        except Exception as exc:  # noqa: BLE001 - the parser on hostile markup
            raw, reason = None, f"unreadable HTML ({_reason(exc)})"
    return raw, reason, title


def _document(
    raw: str | None,
    reason: str | None,
    title: str | None,
    path: Path,
    source: str,
    uploaded: bool,
    sidecar: Callable[[], tuple[dict[str, Any], str]],
) -> Document | Skipped:
    """The Document of a file's text, with the metadata its name, its text and ``sidecar``
    (the metadata file beside it) give; or the reason it is skipped."""
    if raw is None:
        return Skipped(path, reason or "unreadable")
    suffix = path.suffix.lower()
    text = normalise_text(raw)
    if suffix in {".txt", ".html", ".htm", ".md", ".markdown", ".docx"}:
        text = strip_furniture(text)
    if not text.strip():
        return Skipped(path, "empty: no text to index")
    metadata = describe(text, path, title, trust_name=not uploaded)
    # Beside an upload, the file holds what its user confirmed in the app (rag/details.py).
    given, problem = sidecar()
    if problem:
        return Skipped(path, problem)
    if "year" in given and "date" not in given and _year_of(metadata.get("date")) != given["year"]:
        metadata.pop("date", None)  # the text's date is of another year than the one given
    metadata.update(given)
    if uploaded:
        metadata["uploaded"] = True
    if "date" in given and "year" not in given and (year := _year_of(given["date"])):
        metadata["year"] = year
    elif (year := _year_of(metadata.get("date"))) is not None:
        metadata.setdefault("year", year)
    return Document(doc_id=content_id(text), source=source, text=text, metadata=metadata)


def _year_of(date: Any) -> int | None:
    """The year of an ISO date ("2024-09-24"), or None."""
    return int(date[:4]) if isinstance(date, str) and re.match(r"\d{4}-", date) else None


def sidecar_of(path: Path) -> Path:
    """The metadata file beside a statement's file: ``NAME.meta.json``."""
    return path.with_name(path.stem + SIDECAR)


def _sidecar(path: Path) -> tuple[dict[str, Any], str]:
    """Metadata from ``NAME.meta.json`` beside the file, checked and made plain (a year as a
    number, a country as its code, no control characters), or why it cannot be used."""
    sidecar = sidecar_of(path)
    if not sidecar.is_file():
        return {}, ""
    try:
        with sidecar.open("rb") as fh:
            data = fh.read(MAX_METADATA_KB * 1024 + 1)
    except OSError as exc:
        return {}, f"its metadata file {printable(sidecar.name)} is unreadable ({_reason(exc)})"
    return sidecar_metadata(data, sidecar.name)


def sidecar_metadata(data: bytes, name: str) -> tuple[dict[str, Any], str]:
    """Metadata from the bytes of the metadata file ``name``, checked, or why it cannot be used."""
    about = f"its metadata file {printable(name)}"
    if len(data) > MAX_METADATA_KB * 1024:
        return {}, f"{about} is larger than {MAX_METADATA_KB} KB (the limit)"
    try:
        given = json.loads(data.decode("utf-8-sig"))
    except ValueError as exc:
        return {}, f"{about} is unreadable ({_reason(exc)})"
    return checked_metadata(given, about)


def checked_metadata(given: Any, about: str) -> tuple[dict[str, Any], str]:
    """Metadata given for a statement, checked and made plain, or why it cannot be used:
    ``about`` begins that sentence ("its metadata file X.meta.json")."""
    if not isinstance(given, dict) or not all(
        k in _SIDECAR_KEYS and isinstance(v, str | int) and not isinstance(v, bool) for k, v in given.items()
    ):
        keys = ", ".join(sorted(_SIDECAR_KEYS))
        return {}, f"{about} must be one JSON object of {keys} (text or numbers)"
    out: dict[str, Any] = {}
    for key, value in given.items():
        if key in ("year", "session"):
            number = _whole_number(value)
            if key == "year" and (number is None or not 1000 <= number <= 9999):
                return {}, f"{about} gives year {_shown(value)}, not a four-digit year such as 2020"
            if key == "session" and (number is None or not 1 <= number <= 999):
                return {}, f"{about} gives session {_shown(value)}, not a session number such as 76"
            out[key] = number
            continue
        text = plain_value(str(value))
        limit = MAX_TITLE if key == "title" else MAX_METADATA_VALUE
        if len(text) > limit:
            return {}, f"{about} gives a {key} of {len(text):,} characters, more than {limit} (the limit)"
        if key == "country":
            code = country_code(text)
            if code is None:
                return {}, (
                    f"{about} gives country {_shown(value)}, "
                    "neither a three-letter code (such as KEN) nor a country's name"
                )
            text = code
        if text:
            out[key] = text
    return out, ""


def _whole_number(value: str | int) -> int | None:
    if isinstance(value, int):
        return value
    value = value.strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 6 else None


def _shown(value: str | int) -> str:
    """A metadata value as a skip line quotes it: short, and its controls as escapes."""
    return repr(value if isinstance(value, int) or len(value) <= 40 else value[:40] + "…")


# Terminal escape sequences (CSI "ESC [ … m", OSC "ESC ] … BEL", their one-byte C1 forms,
# and two-character escapes), then every other control and direction-override character.
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]{0,64}[ -/]{0,16}[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]{0,1024}(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -~]?"
)
_INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]+")


def plain_value(value: str) -> str:
    """A metadata value on one line with single spaces: escape sequences removed, other
    control characters made spaces, so none reaches a terminal or a page raw."""
    return " ".join(_INVISIBLE.sub(" ", _ESCAPES.sub("", value)).split())


def country_code(name: str) -> str | None:
    """The three-letter code of a country given as a code or a name ("ken", "Kenya", "UK"),
    the corpus's codes of states that no longer exist included; None when it names none."""
    if countries.country_name(name.upper()) != name.upper():
        return name.upper()
    return countries.names().get(name.lower())


def find_files(paths: Iterable[Path]) -> Iterator[Path | Member | Skipped]:
    """Every candidate file under the paths, in a stable order, with a reason for each
    thing passed over; a tar archive named (``.tar``, ``.tar.gz``, ``.tgz``) gives its
    members, in its own order, as the folder it unpacks to would give its files.

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
        elif root.is_file() and is_archive(root):
            yield from _archive_walk(root)
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


def _archive_walk(archive: Path) -> Iterator[Member | Skipped]:
    """The members of an archive under a folder walk's rules, listed in one pass before any
    is read: hidden names, links (never followed, so none reads outside the archive) and
    what is not a regular file reported and skipped; a metadata file read with the statement
    it describes; of two members of one name the later, as unpacking leaves it. Raises
    ``InputError`` for a damaged archive, before anything is ingested from it."""
    found: dict[str, Member | Skipped] = {}
    sidecars: dict[str, tuple[dict[str, Any], str]] = {}
    hidden: set[str] = set()  # hidden folders, each reported once
    with Reader(archive) as reader:
        for entry in reader:
            folder = "" if entry.outside else _hidden_folder(entry)
            if folder:
                if folder not in hidden:
                    hidden.add(folder)
                    found[folder] = Skipped(archive / folder, "hidden folder")
            elif entry.name.endswith(SIDECAR) and not entry.outside:
                if entry.kind == "file":
                    sidecars[entry.name] = _member_sidecar(reader, entry)
            elif entry.name and entry.kind != "folder":
                found.pop(entry.name, None)  # a later member of the name comes in its place
                found[entry.name] = _member(archive, entry)
    for item in found.values():
        given = sidecars.get(posixpath.splitext(item.name)[0] + SIDECAR) if isinstance(item, Member) else None
        yield item if given is None else dataclasses.replace(item, metadata=given[0], problem=given[1])


def _hidden_folder(entry: Entry) -> str:
    """The hidden folder (".git") the member is, or is inside; "" when none."""
    parts = entry.name.split("/")
    for depth, part in enumerate(parts if entry.kind == "folder" else parts[:-1], start=1):
        if part.startswith("."):
            return "/".join(parts[:depth])
    return ""


def _member(archive: Path, entry: Entry) -> Member | Skipped:
    """A member to read, or why it is passed over (the reasons a folder walk gives)."""
    path = archive / entry.name
    if entry.outside:
        return Skipped(path, "its name leads outside the archive")
    if posixpath.basename(entry.name).startswith("."):
        return Skipped(path, "hidden file")
    if entry.kind in ("link", "hard link"):
        target = entry.link_target()
        if target is None:
            return Skipped(path, f"link to {printable(entry.target)}, outside the archive (never followed)")
        return Skipped(path, f"link to {printable(target)} in the archive (its target is read where it is)")
    if entry.kind != "file":
        return Skipped(path, f"not a regular file ({entry.kind})")
    if entry.size > MAX_MEMBER_MB * 1_000_000:
        return Skipped(path, f"larger than {MAX_MEMBER_MB} MB (the limit for a file read from an archive)")
    return Member(archive, entry.name, entry.offset)


def _member_sidecar(reader: Reader, entry: Entry) -> tuple[dict[str, Any], str]:
    name = posixpath.basename(entry.name)
    if entry.size > MAX_METADATA_KB * 1024:
        return {}, f"its metadata file {printable(name)} is larger than {MAX_METADATA_KB} KB (the limit)"
    return sidecar_metadata(reader.read(), name)


def read_members(items: Iterable[Path | Member | Skipped], home: Path) -> Iterator[Path | Document | Skipped]:
    """The items, each archive member among them loaded (or skipped, saying why): each
    archive is read once more, in its own order, one member at a time."""
    reading: _ArchiveReading | None = None
    try:
        for item in items:
            if not isinstance(item, Member):
                yield item
                continue
            if reading is None or reading.archive != item.archive:
                if reading is not None:
                    reading.close()
                reading = _ArchiveReading(item.archive)
            yield reading.load(item, member_source(item, home))
    finally:
        if reading is not None:
            reading.close()


def member_source(member: Member, home: Path) -> str:
    """A member's source as users see it: the archive's, then the member's name in it
    ("corpora/ungdc-1946-2024.tar.gz/ungdc/Session 79 - 2024/CHN_79_2024.txt")."""
    return f"{display_source(member.archive, home)}/{member.name}"


class _ArchiveReading:
    """An archive read in its own order, for its members asked for in that order."""

    def __init__(self, archive: Path):
        self.archive = archive
        self.reader = Reader(archive).__enter__()
        self.entries = iter(self.reader)

    def close(self) -> None:
        self.reader.__exit__(None, None, None)

    def load(self, member: Member, source: str) -> Document | Skipped:
        path, suffix = member.path, member.path.suffix.lower()
        if is_archive(path):
            return Skipped(path, "an archive inside the archive (unpack the outer one to ingest it)")
        if suffix not in SUPPORTED:
            return Skipped(path, _unsupported(path))
        if not any(e.offset == member.offset and e.name == member.name for e in self.entries):
            return Skipped(path, "gone from the archive since it was listed (it changed meanwhile)")
        raw, reason, title = _text_of(self.reader.read(), suffix)
        return _document(raw, reason, title, path, source, False, lambda: (member.metadata, member.problem))


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
    for item in read_members(find_files(paths), home):
        loaded = (
            item
            if isinstance(item, Skipped | Document)
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
