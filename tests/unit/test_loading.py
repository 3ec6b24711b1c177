"""Loading statements: formats, metadata, page furniture, files that must be skipped."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from rag.errors import InputError, NoDocumentsError
from rag.loading import Skipped, load_documents, load_file
from rag.settings import SEEDS_DIR
from rag.types import Document

NEWS = SEEDS_DIR / "000_f2b96bbd7d06bdb1.txt"
REMARKS = SEEDS_DIR / "003_3b78ed55776d1c96.txt"


def _pdf(text: str) -> bytes:
    """A minimal one-page PDF with the given line of text."""
    return _pdf_pages(1, text.encode())


def _pdf_pages(pages: int, line: bytes) -> bytes:
    """A PDF of ``pages`` pages that all draw the same content (one object, so small)."""
    stream = b"BT /F1 12 Tf 72 720 Td (" + line + b") Tj ET"
    kids = b" ".join(b"3 0 R" for _ in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % pages,
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_seed_metadata_has_title_date_and_speaker():
    remarks = load_file(REMARKS)
    assert remarks.metadata["title"].startswith("Remarks by Ambassador Zhang Jun")
    assert remarks.metadata["date"] == "2020-12-03"
    assert remarks.metadata["year"] == 2020
    assert remarks.metadata["speaker"] == "Ambassador Zhang Jun"
    news = load_file(NEWS)
    assert news.metadata["title"] == "FM meets with UN officials on Security Council reform"
    assert "date" not in news.metadata  # the news item states no date
    # What the texts do not say comes from the metadata files beside them (seeds/*.meta.json).
    assert remarks.metadata["country"] == news.metadata["country"] == "CHN"
    assert news.metadata["speaker"] == "Wang Yi"


def test_a_metadata_file_beside_a_statement_adds_to_its_metadata_or_is_named_when_bad(tmp_path):
    (tmp_path / "speech.txt").write_text("Statement on reform.\n\nThe veto must go.")
    (tmp_path / "speech.meta.json").write_text('{"country": "KEN", "date": "2021-09-22"}')
    doc = load_file(tmp_path / "speech.txt")
    assert doc.metadata["country"] == "KEN" and doc.metadata["year"] == 2021
    (tmp_path / "speech.meta.json").write_text('{"country": ["KEN"]}')
    skipped = load_file(tmp_path / "speech.txt")
    assert "its metadata file speech.meta.json must be one JSON object" in skipped.reason


def test_site_furniture_is_not_content():
    text = load_file(REMARKS).text
    assert "Suggest to a friend" not in text
    assert "Meetings & Statements" not in text
    assert "Home >" not in text
    assert text.startswith("Remarks by Ambassador Zhang Jun")
    assert text.endswith("Thank you, Madam President.")


def test_doc_id_is_a_content_hash(tmp_path):
    copy = tmp_path / "renamed.txt"
    copy.write_bytes(NEWS.read_bytes())
    assert load_file(copy).doc_id == load_file(NEWS).doc_id
    copy.write_text(NEWS.read_text() + "\nOne more line.")
    assert load_file(copy).doc_id != load_file(NEWS).doc_id


def test_general_debate_file_name_gives_country_session_year(tmp_path):
    path = tmp_path / "BRA_78_2023.txt"
    path.write_text("Mr. President,\n\nBrazil supports reform of the Security Council.\n")
    doc = load_file(path)
    assert doc.metadata["country"] == "BRA"
    assert doc.metadata["session"] == 78
    assert doc.metadata["year"] == 2023
    assert doc.metadata["speaker"] == "Brazil"


def test_html_keeps_visible_text_only(tmp_path):
    page = tmp_path / "statement.html"
    page.write_text(
        "<html><head><title>Statement on reform</title><style>p{color:red}</style></head>"
        "<body><nav>Home About Contact</nav><h1>Statement on reform</h1>"
        "<p>The Council must be more representative.</p>"
        "<script>var secret = 'do not index';</script></body></html>"
    )
    doc = load_file(page)
    assert "The Council must be more representative." in doc.text
    assert "secret" not in doc.text and "color" not in doc.text and "About Contact" not in doc.text
    assert doc.metadata["title"] == "Statement on reform"


def test_markdown_and_pdf_are_read(tmp_path):
    md = tmp_path / "note.md"
    md.write_text("# Statement on peacekeeping\n\nPeacekeepers need clear mandates.\n")
    assert load_file(md).metadata["title"] == "Statement on peacekeeping"
    pdf = tmp_path / "statement.pdf"
    pdf.write_bytes(_pdf("Development is the master key to all problems."))
    assert "Development is the master key" in load_file(pdf).text


def test_encrypted_and_truncated_pdfs_are_skipped_with_reason(tmp_path):
    from pypdf import PdfReader, PdfWriter

    plain = tmp_path / "plain.pdf"
    plain.write_bytes(_pdf("Secret text."))
    writer = PdfWriter(clone_from=PdfReader(plain))
    writer.encrypt("password", algorithm="RC4-40")
    locked = tmp_path / "locked.pdf"
    with locked.open("wb") as fh:
        writer.write(fh)
    skipped = load_file(locked)
    assert isinstance(skipped, Skipped) and "encrypted" in skipped.reason
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type")
    assert isinstance(load_file(broken), Skipped)


def test_text_in_other_encodings_is_decoded(tmp_path):
    latin = tmp_path / "latin.txt"
    latin.write_bytes("Déclaration de la République française sur la réforme.".encode("latin-1"))
    assert "République" in load_file(latin).text
    utf16 = tmp_path / "utf16.txt"
    utf16.write_bytes("Statement in UTF-16 on reform.".encode("utf-16"))
    assert load_file(utf16).text == "Statement in UTF-16 on reform."


def test_folder_skips_hidden_binary_empty_and_unsupported_files_saying_why(tmp_path):
    (tmp_path / "good.txt").write_text("A statement on Security Council reform.")
    (tmp_path / ".DS_Store").write_bytes(b"\x00\x01Bud1\x00\x00")
    (tmp_path / ".Rhistory").write_text("library(readtext)")
    (tmp_path / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (tmp_path / "empty.txt").write_text("   \n")
    (tmp_path / "data.csv").write_text("a,b\n1,2\n")
    items = list(load_documents([tmp_path], tmp_path))
    loaded = [i for i in items if not isinstance(i, Skipped)]
    reasons = {i.path.name: i.reason for i in items if isinstance(i, Skipped)}
    assert [d.source for d in loaded] == ["good.txt"]
    assert reasons[".DS_Store"] == "hidden file" and reasons[".Rhistory"] == "hidden file"
    assert "binary" in reasons["image.txt"]
    assert "empty" in reasons["empty.txt"]
    assert "unsupported" in reasons["data.csv"]


def test_empty_folder_and_missing_path_are_clear_errors(tmp_path):
    with pytest.raises(NoDocumentsError, match="No statements found"):
        list(load_documents([tmp_path], tmp_path))
    with pytest.raises(InputError, match="does not exist"):
        list(load_documents([tmp_path / "nope"], tmp_path))


def test_real_general_debate_speeches_load(china_speeches: Path):
    docs = [d for d in load_documents([china_speeches], china_speeches) if not isinstance(d, Skipped)]
    years = sorted(d.metadata["year"] for d in docs)
    assert years == [1975, 2015, 2019, 2021]
    assert all(d.metadata["country"] == "CHN" and d.metadata["speaker"] == "China" for d in docs)


def _word_file(path: Path) -> Path:
    from docx import Document as WordDocument

    word = WordDocument()
    word.core_properties.title = "Statement by Freedonia on ocean governance"
    word.add_paragraph("Mr President,")
    word.add_paragraph("Freedonia proposes a moratorium on deep-sea mining until the science is settled.")
    word.add_paragraph("We ask for three things:")
    word.add_paragraph("A global register of mining licences;", style="List Bullet")
    word.add_paragraph("Independent review of every licence.", style="List Bullet")
    table = word.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Budget"
    table.rows[0].cells[1].text = "$40 million"
    word.save(path)
    return path


def test_a_word_file_is_read_with_its_lists_tables_and_title(tmp_path):
    doc = load_file(_word_file(tmp_path / "freedonia.docx"))
    assert isinstance(doc, Document)
    assert "Freedonia proposes a moratorium on deep-sea mining" in doc.text
    assert "We ask for three things:\n\n- A global register of mining licences;" in doc.text
    assert "Budget | $40 million" in doc.text
    assert doc.metadata["title"] == "Statement by Freedonia on ocean governance"


def test_a_damaged_word_file_is_skipped_with_its_reason(tmp_path):
    good = _word_file(tmp_path / "good.docx").read_bytes()
    (tmp_path / "cut.docx").write_bytes(good[: len(good) // 2])
    (tmp_path / "fake.docx").write_text("not a zip at all")
    for name in ("cut.docx", "fake.docx"):
        skipped = load_file(tmp_path / name)
        assert isinstance(skipped, Skipped) and skipped.reason.startswith("unreadable Word file"), skipped


def test_a_file_name_speaks_for_the_operator_not_for_an_upload(tmp_path):
    text = "We support reform of the Security Council and a larger role for Africa.\n"
    (tmp_path / "uploads").mkdir()
    for folder in (tmp_path, tmp_path / "uploads"):
        (folder / "CHN_79_2024.txt").write_text(text)
    operator, upload = (
        d
        for d in load_documents(
            [tmp_path / "CHN_79_2024.txt", tmp_path / "uploads" / "CHN_79_2024.txt"], tmp_path
        )
    )
    assert operator.metadata["country"] == "CHN" and "uploaded" not in operator.metadata
    assert "country" not in upload.metadata and "year" not in upload.metadata
    assert upload.metadata["uploaded"] is True


# Files that are small on disk but expand when read: each is read or skipped with one
# sentence naming the limit, in a child process timed and measured as a user's would be.
_MEASURE = """
import json, resource, sys, time
from pathlib import Path
from rag.loading import Skipped, load_file

start = time.perf_counter()
loaded = load_file(Path(sys.argv[1]))
seconds = time.perf_counter() - start
try:  # the peak of this process alone (ru_maxrss can carry the parent's over from fork)
    status = Path("/proc/self/status").read_text()
    peak_kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM")))
except OSError:
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
skipped = isinstance(loaded, Skipped)
print(json.dumps({
    "seconds": seconds,
    "peak_mb": peak_kb / 1024,
    "reason": loaded.reason if skipped else None,
    "text": None if skipped else loaded.text,
    "title": None if skipped else loaded.metadata.get("title"),
    "speaker": None if skipped else loaded.metadata.get("speaker"),
}))
"""


def _load_measured(path: Path, timeout: float = 60) -> dict:
    """``load_file`` in a child process: its seconds, peak memory (MB) and what it read."""
    import json
    import subprocess
    import sys

    from rag.settings import PROJECT_ROOT

    try:
        done = subprocess.run(
            [sys.executable, "-c", _MEASURE, str(path)],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=PROJECT_ROOT,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{path.name} was still loading after {timeout} s")
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


_W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _word_with_body(
    path: Path, body: Iterable[bytes], prolog: bytes = b"", parts: dict[str, bytes] | None = None
) -> Path:
    """A real Word file (python-docx's parts and styles) whose document body is ``body``,
    streamed into the archive, so a bomb of any size costs the test little memory; ``parts``
    replace others (``docProps/core.xml``)."""
    import io
    import zipfile

    from docx import Document as WordDocument

    base = io.BytesIO()
    WordDocument().save(base)
    with zipfile.ZipFile(base) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            if item.filename != "word/document.xml":
                out.writestr(item, (parts or {}).get(item.filename) or source.read(item.filename))
        with out.open("word/document.xml", "w") as xml:
            xml.write(prolog or b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n')
            xml.write(f'<w:document xmlns:w="{_W_NS}"><w:body>'.encode())
            for piece in body:
                xml.write(piece)
            xml.write(b"</w:body></w:document>")
    return path


def _repeated(piece: bytes, times: int, batch: int = 10_000) -> Iterator[bytes]:
    while times > 0:
        yield piece * min(batch, times)
        times -= batch


def test_a_word_file_expanding_to_60_mb_of_xml_is_skipped_in_seconds(tmp_path):
    paragraph = b"<w:p><w:r><w:t>a</w:t></w:r></w:p>"  # 34 bytes: 60 MB in a 200 KB file
    bomb = _word_with_body(tmp_path / "big.docx", _repeated(paragraph, 60_000_000 // len(paragraph)))
    assert bomb.stat().st_size < 1_000_000
    seen = _load_measured(bomb)
    assert seen["reason"] == "Word file expands to more than 50 MB of XML (the limit)"
    assert seen["seconds"] < 10 and seen["peak_mb"] < 500, seen


def test_a_word_file_of_150000_paragraphs_is_skipped_at_the_paragraph_limit(tmp_path):
    paragraph = b"<w:p><w:r><w:t>a</w:t></w:r></w:p>"
    bomb = _word_with_body(tmp_path / "many.docx", _repeated(paragraph, 150_000))
    seen = _load_measured(bomb)
    assert seen["reason"] == "Word file has more than 100,000 paragraphs (the limit)"
    assert seen["seconds"] < 10 and seen["peak_mb"] < 500, seen


def test_a_word_file_past_ten_million_characters_is_skipped_at_the_limit(tmp_path):
    paragraph = b"<w:p><w:r><w:t>" + b"word " * 200 + b"</w:t></w:r></w:p>"  # 999 characters read
    bomb = _word_with_body(tmp_path / "long.docx", _repeated(paragraph, 10_100, batch=1_000))
    seen = _load_measured(bomb)
    assert seen["reason"] == "Word file has more than 10,000,000 characters of text (the limit)"
    assert seen["seconds"] < 10 and seen["peak_mb"] < 500, seen


def test_fifty_thousand_styled_word_paragraphs_are_read_in_seconds_as_list_items(tmp_path):
    # python-docx looked the style up for every paragraph (2-3 ms each: over two minutes).
    item = b'<w:p><w:pPr><w:pStyle w:val="ListBullet"/></w:pPr><w:r><w:t>item</w:t></w:r></w:p>'
    intro = b"<w:p><w:r><w:t>We ask for these things:</w:t></w:r></w:p>"
    word = _word_with_body(tmp_path / "styled.docx", [intro, *_repeated(item, 50_000)])
    seen = _load_measured(word)
    assert seen["reason"] is None, seen["reason"]
    assert seen["text"].startswith("We ask for these things:\n\n- item\n\n- item")
    assert seen["text"].count("- item") == 50_000
    assert seen["seconds"] < 10 and seen["peak_mb"] < 500, {k: seen[k] for k in ("seconds", "peak_mb")}


def _cell(text: str, merge: str | None = None, span: int = 1) -> bytes:
    props = ""
    if merge is not None:
        props += '<w:vMerge w:val="restart"/>' if merge == "restart" else "<w:vMerge/>"
    if span > 1:
        props += f'<w:gridSpan w:val="{span}"/>'
    run = f"<w:r><w:t>{text}</w:t></w:r>" if text else ""
    return f"<w:tc><w:tcPr>{props}</w:tcPr><w:p>{run}</w:p></w:tc>".encode()


def test_a_3000_row_table_with_a_merged_column_is_read_once_in_seconds(tmp_path):
    # python-docx followed the vertical merge recursively: 61 s, then RecursionError (it
    # cannot even write such a table, so the XML is written here).
    rows = [b"<w:tr>" + _cell("Kenya", "restart") + _cell("row 0") + b"</w:tr>"]
    rows += [b"<w:tr>" + _cell("", "continue") + _cell(f"row {i}") + b"</w:tr>" for i in range(1, 3000)]
    heading = b"<w:tr>" + _cell("Speakers by row", span=2) + b"</w:tr>"
    table = [b"<w:tbl><w:tblGrid><w:gridCol/><w:gridCol/></w:tblGrid>", heading, *rows, b"</w:tbl>"]
    word = _word_with_body(tmp_path / "merged.docx", [b"<w:p><w:r><w:t>Speakers</w:t></w:r></w:p>", *table])
    seen = _load_measured(word)
    assert seen["reason"] is None, seen["reason"]
    lines = seen["text"].split("\n\n")
    # The merged cell is read once, where it starts; the rows it covers show an empty cell.
    assert lines[:4] == ["Speakers", "Speakers by row", "Kenya | row 0", "| row 1"]
    assert seen["text"].count("Kenya") == 1 and "row 2999" in seen["text"]
    assert seen["seconds"] < 10 and seen["peak_mb"] < 500, {k: seen[k] for k in ("seconds", "peak_mb")}


def test_a_word_file_never_reads_entities_from_outside_or_expands_them(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-LINE")
    outside = (
        f'<?xml version="1.0"?>\n<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'.encode()
    )
    body = [b"<w:p><w:r><w:t>Reform now. &xxe;</w:t></w:r></w:p>"]
    read = load_file(_word_with_body(tmp_path / "xxe.docx", body, prolog=outside))
    assert "TOP-SECRET" not in (read.text if isinstance(read, Document) else read.reason)
    laughs = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    bomb = f'<?xml version="1.0"?>\n<!DOCTYPE w:document [<!ENTITY l0 "ha">{laughs}]>\n'.encode()
    body = [b"<w:p><w:r><w:t>Reform now. &l9;</w:t></w:r></w:p>"]
    seen = _load_measured(_word_with_body(tmp_path / "laughs.docx", body, prolog=bomb))
    assert seen["reason"] is not None or "haha" not in seen["text"]
    assert seen["seconds"] < 10 and seen["peak_mb"] < 500, seen


def test_a_word_file_whose_text_fails_its_checksum_is_skipped_saying_so(tmp_path):
    import zipfile

    word = _word_file(tmp_path / "good.docx")
    stored = tmp_path / "stored.docx"
    with zipfile.ZipFile(word) as source, zipfile.ZipFile(stored, "w", zipfile.ZIP_STORED) as out:
        for item in source.infolist():
            out.writestr(item.filename, source.read(item.filename))
    data = bytearray(stored.read_bytes())
    place = data.index(b"Freedonia proposes")
    data[place : place + 9] = b"Ruritania"  # the bytes change, the checksum stays
    (tmp_path / "damaged.docx").write_bytes(bytes(data))
    skipped = load_file(tmp_path / "damaged.docx")
    assert isinstance(skipped, Skipped) and skipped.reason == "damaged Word file (a part fails its checksum)"


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        (
            "tags.html",
            lambda: ("<html><body>" + "<b>x" * 150_000 + "</body></html>").encode(),
            "HTML file has more than 100,000 tags (the limit)",
        ),
        (
            "long.html",
            lambda: ("<html><body><p>" + "word " * 2_000_001 + "</p></body></html>").encode(),
            "HTML file has more than 10,000,000 characters of text (the limit)",
        ),
        ("pages.pdf", lambda: _pdf_pages(3_000, b"Reform now."), "PDF has more than 2,000 pages (the limit)"),
    ],
    ids=["html-150000-tags", "html-past-ten-million-characters", "pdf-3000-pages"],
)
def test_a_file_past_a_reader_limit_is_skipped_at_the_limit_in_bounded_time_and_memory(
    tmp_path, name, content, reason
):
    path = tmp_path / name
    path.write_bytes(content())
    seen = _load_measured(path)
    assert seen["reason"] == reason
    assert seen["seconds"] < 10 and seen["peak_mb"] < 500, seen


def test_a_pdf_past_ten_million_characters_is_skipped_at_the_limit(tmp_path):
    pdf = tmp_path / "long.pdf"
    pdf.write_bytes(_pdf_pages(101, b"word " * 20_000))  # 100,000 characters a page
    seen = _load_measured(pdf)
    assert seen["reason"] == "PDF has more than 10,000,000 characters of text (the limit)"
    assert seen["seconds"] < 10 and seen["peak_mb"] < 500, seen


# A heading of 200 KB with many " at " and a line break took the speaker pattern ~100 s, and
# all of it became the title.
_HEADING = "Statement by Ambassador Kamau" + " at the meeting" * 14_000 + "\nof the Council"


def _cut_at_a_word(title: str, heading: str) -> bool:
    flat = " ".join(heading.split())
    kept = title.removesuffix("…")
    return len(title) <= 300 and flat.startswith(kept) and flat[len(kept)] == " "


def test_a_200_kb_html_heading_becomes_a_short_title_in_linear_time(tmp_path):
    page = tmp_path / "heading.html"
    page.write_text(
        f"<html><head><title>{_HEADING}</title></head>"
        f"<body><h1>{_HEADING}</h1><p>The Council must change.</p></body></html>"
    )
    seen = _load_measured(page)
    assert seen["reason"] is None and seen["seconds"] < 10, seen["seconds"]
    assert _cut_at_a_word(seen["title"], _HEADING), seen["title"][-40:]
    assert seen["speaker"] == "Ambassador Kamau"


def test_a_200_kb_word_title_property_becomes_a_short_title_in_linear_time(tmp_path):
    from xml.sax.saxutils import escape

    core = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<dc:title>{escape(_HEADING)}</dc:title></cp:coreProperties>"
    ).encode()
    body = [b"<w:p><w:r><w:t>The Council must change.</w:t></w:r></w:p>"]
    seen = _load_measured(_word_with_body(tmp_path / "title.docx", body, parts={"docProps/core.xml": core}))
    assert seen["reason"] is None and seen["seconds"] < 10, seen
    assert _cut_at_a_word(seen["title"], _HEADING), seen["title"][-40:]
    assert seen["speaker"] == "Ambassador Kamau"


@pytest.mark.parametrize(
    ("title", "speaker", "venue"),
    [
        ("Statement by H.E. Mr. Zhang Jun at the General Debate", "H.E. Mr. Zhang Jun", "the General Debate"),
        ("Remarks by Ambassador Dai Bing at at the UN", "Ambassador Dai Bing", "the UN"),
        ("Explanation of Vote by the Delegate of Kenya", "the Delegate of Kenya", None),
        ("Speech by in the hall", "in the hall", None),
        ("Address by  Wang Yi\nbefore   the Assembly", "Wang Yi", "the Assembly"),
    ],
)
def test_a_title_names_its_speaker_and_venue(tmp_path, title, speaker, venue):
    from rag.loading import describe

    meta = describe("The Council must change.", tmp_path / "speech.txt", title)
    assert meta.get("speaker") == speaker
    assert meta.get("venue") == venue


# Metadata files: values are checked and made plain at ingestion, so nothing a metadata
# file holds breaks a search or reaches a terminal raw.
def _with_metadata(tmp_path: Path, metadata: str | bytes) -> Document | Skipped:
    (tmp_path / "speech.txt").write_text("Statement on reform.\n\nThe veto must go.")
    sidecar = tmp_path / "speech.meta.json"
    sidecar.write_bytes(metadata if isinstance(metadata, bytes) else metadata.encode())
    return load_file(tmp_path / "speech.txt")


def test_a_year_or_session_written_as_text_becomes_a_number_that_filters_by_year(tmp_path):
    from rag.retrieval import Filters

    doc = _with_metadata(tmp_path, '{"year": "2020", "session": " 75 "}')
    assert doc.metadata["year"] == 2020 and doc.metadata["session"] == 75
    assert Filters(year_from=2019, year_to=2021).matches(doc)  # compared "2020" with 2019: TypeError


@pytest.mark.parametrize(
    ("metadata", "reason"),
    [
        (
            '{"year": "last year"}',
            "its metadata file speech.meta.json gives year 'last year', not a four-digit year such as 2020",
        ),
        (
            '{"year": 20201}',
            "its metadata file speech.meta.json gives year 20201, not a four-digit year such as 2020",
        ),
        (
            '{"session": "76th"}',
            "its metadata file speech.meta.json gives session '76th', not a session number such as 76",
        ),
        (
            '{"country": "Narnia"}',
            "its metadata file speech.meta.json gives country 'Narnia', "
            "neither a three-letter code (such as KEN) nor a country's name",
        ),
    ],
)
def test_a_metadata_value_of_the_wrong_kind_skips_the_statement_in_one_sentence(tmp_path, metadata, reason):
    skipped = _with_metadata(tmp_path, metadata)
    assert isinstance(skipped, Skipped) and skipped.reason == reason


@pytest.mark.parametrize(
    ("given", "code"), [("KEN", "KEN"), ("ken", "KEN"), ("Kenya", "KEN"), ("  kenya ", "KEN"), ("SUN", "SUN")]
)
def test_a_country_in_metadata_is_kept_as_its_three_letter_code(tmp_path, given, code):
    assert _with_metadata(tmp_path, f'{{"country": "{given}"}}').metadata["country"] == code


def test_a_metadata_file_saved_with_a_byte_order_mark_is_read(tmp_path):
    doc = _with_metadata(tmp_path, b'\xef\xbb\xbf{"country": "KEN", "speaker": "William Ruto"}')
    assert isinstance(doc, Document), doc
    assert doc.metadata["country"] == "KEN" and doc.metadata["speaker"] == "William Ruto"


def test_metadata_values_and_files_past_their_limits_skip_the_statement_naming_the_limit(tmp_path):
    long_date = _with_metadata(tmp_path, '{"date": "%s"}' % ("x" * 201))
    assert long_date.reason == (
        "its metadata file speech.meta.json gives a date of 201 characters, more than 200 (the limit)"
    )
    long_title = _with_metadata(tmp_path, '{"title": "%s"}' % ("word " * 61))
    assert long_title.reason == (
        "its metadata file speech.meta.json gives a title of 304 characters, more than 300 (the limit)"
    )
    assert (
        _with_metadata(tmp_path, '{"title": "%s"}' % ("word " * 59)).metadata["title"]
        == "word " * 58 + "word"
    )
    huge = _with_metadata(tmp_path, '{"date": "%s"}' % ("2" * 2_000_000))
    assert huge.reason == "its metadata file speech.meta.json is larger than 64 KB (the limit)"


def test_control_characters_and_escape_sequences_in_metadata_are_removed(tmp_path):
    import json
    import unicodedata

    evil = {
        "speaker": "Evil\x1b]0;owned\x07 \x1b[31mRed\x1b[0m\nLine\x9b2J\u202e",
        "venue": "General\tDebate\r\n\x00",
        "date": "2021-09-22\x1b[2K",
    }
    doc = _with_metadata(tmp_path, json.dumps(evil))
    assert doc.metadata["speaker"] == "Evil Red Line"
    assert doc.metadata["venue"] == "General Debate"
    assert doc.metadata["date"] == "2021-09-22" and doc.metadata["year"] == 2021
    for value in doc.metadata.values():
        assert not any(unicodedata.category(ch) in ("Cc", "Cf") for ch in str(value)), repr(value)
