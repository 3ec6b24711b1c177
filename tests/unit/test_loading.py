"""Loading statements: formats, metadata, page furniture, files that must be skipped."""

from __future__ import annotations

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
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
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
