"""Sentence and chunk spans: exact offsets into the document, on seeds and OCR'd text."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.loading import Skipped, content_id, load_documents, load_file
from rag.settings import SEEDS_DIR
from rag.splitting import split_document, split_sentences
from rag.types import Document

OCR = (
    "60. Profound changes have taken place in the international situation since the\n"
    "twenty-ninth session of the General Assembly. A serious economic crisis plagues\n"
    "most parts of the world. Mr. Smith and the U.N. delegation met on 3 May.\n"
    "61.\tFirst of all, the great victory of the peoples has shaken the world. Meanwhile, we are\n"
    "\n"
    "also embracing a world full of hope.\n\n"
    "62. The peoples of Asia are strongly against interference.\n"
)


def _doc(text: str) -> Document:
    return Document(content_id(text), "test.txt", text, {})


def _assert_exact(doc: Document, size: int = 800, overlap: int = 200) -> None:
    chunks = split_document(doc, size, overlap)
    assert chunks, "a non-empty document has chunks"
    for c in chunks:
        assert doc.text[c.start : c.end] == c.text
        assert len(c.text) <= size
        assert c.text == c.text.strip()
    # Together the chunks cover every sentence.
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    for s in split_sentences(doc.text):
        assert s.start in covered and s.end - 1 in covered


@pytest.mark.parametrize("name", sorted(p.name for p in SEEDS_DIR.glob("*.txt")))
def test_seed_chunks_are_exact_spans(name):
    _assert_exact(load_file(SEEDS_DIR / name))


def test_ocr_text_sentences_keep_hard_wraps_and_page_breaks_inside():
    doc = _doc(OCR)
    sentences = [" ".join(doc.text[s.start : s.end].split()) for s in split_sentences(doc.text)]
    assert sentences[0].startswith("60. Profound changes") and sentences[0].endswith("General Assembly.")
    assert "Mr. Smith and the U.N. delegation met on 3 May." in sentences
    assert "Meanwhile, we are also embracing a world full of hope." in sentences
    assert sentences[3].startswith("61. First of all")  # paragraph number stays with its sentence
    _assert_exact(doc, size=120, overlap=40)


def test_abbreviations_do_not_end_sentences():
    doc = load_file(SEEDS_DIR / "003_3b78ed55776d1c96.txt")
    sentences = [doc.text[s.start : s.end] for s in split_sentences(doc.text)]
    assert any(
        s.startswith("I welcome Foreign Minister Pandor") and s.endswith("their briefings.")
        for s in sentences
    )


def test_consecutive_chunks_overlap_by_whole_sentences():
    doc = load_file(SEEDS_DIR / "003_3b78ed55776d1c96.txt")
    chunks = split_document(doc, 400, 150)
    starts = {s.start for s in split_sentences(doc.text)}
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert b.start > a.start
        assert b.start in starts
        assert b.start <= a.end or not doc.text[a.end : b.start].strip()  # no text falls between


def test_a_huge_single_line_is_cut_into_chunks_that_fit():
    doc = _doc(("word " * 5000).strip())
    _assert_exact(doc, size=500, overlap=100)


def test_real_ocr_speeches_have_exact_offsets(china_speeches: Path):
    for doc in load_documents([china_speeches], china_speeches):
        assert not isinstance(doc, Skipped)
        _assert_exact(doc)
