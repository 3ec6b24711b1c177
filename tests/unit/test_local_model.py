"""The local generator's default model file: joined from its installed parts once, loaded
only with the digest Qwen publishes; anything else is one sentence. Small stand-in parts:
the real ones are 1.1 GB (checked by the documented command in docs/answers.md)."""

from __future__ import annotations

import pytest

from rag.answering import models
from rag.answering.grounded import for_prompt
from rag.errors import ModelLoadError
from rag.types import Answer, Chunk, Citation, Document, Passage


def test_parts_that_do_not_join_into_qwens_file_are_refused_and_leave_nothing(tmp_path, monkeypatch):
    parts = []
    for i in range(1, models.QWEN_PARTS + 1):
        part = tmp_path / "parts" / f"part{i:02d}.bin"
        part.parent.mkdir(exist_ok=True)
        part.write_bytes(bytes([i]) * 1000)
        parts.append(part)
    monkeypatch.setattr(models, "_part", lambda i: parts[i - 1])
    with pytest.raises(ModelLoadError) as refused:
        models.packaged_qwen(tmp_path / "models")
    assert "do not join into the file Qwen publishes" in str(refused.value)
    assert "\n" not in str(refused.value)
    assert list((tmp_path / "models").iterdir()) == []  # no half-joined file left behind


def test_a_damaged_joined_file_is_one_sentence_naming_it(tmp_path):
    target = tmp_path / models.QWEN_FILE
    target.write_bytes(b"GGUF" + b"\0" * 4096)
    with pytest.raises(ModelLoadError) as refused:
        models.packaged_qwen(tmp_path)
    message = str(refused.value)
    assert str(target) in message and "damaged" in message and "\n" not in message
    assert not target.with_name(target.name + ".checked").exists()


def test_missing_parts_say_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(models.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelLoadError, match=r"pip install -e '\.\[llm\]'"):
        models.packaged_qwen(tmp_path)


def test_without_llama_cpp_the_default_model_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setattr(models, "llama_cpp_installed", lambda: False)
    assert models.local_gguf(models.QWEN, tmp_path) is None
    with pytest.raises(ModelLoadError, match=r"runs on llama\.cpp: pip install -e '\.\[llm\]'"):
        models.load_local(models.QWEN, tmp_path)


def _passage(doc: Document, start: int, end: int, rank: int) -> Passage:
    chunk = Chunk(f"{doc.doc_id}-{rank}", doc.doc_id, start, end, doc.text[start:end])
    return Passage(rank, chunk, doc, 0.5, 0.5)


def test_a_local_models_prompt_keeps_the_quoted_passage_within_its_budget():
    doc = Document("d", "d.txt", "x" * 5000, {})
    passages = [_passage(doc, i * 1000, i * 1000 + 1000, i) for i in range(5)]
    quoted = Answer("q", "…", False, (Citation(1, doc, 4100, 4200, "x" * 100, 4),))
    kept = for_prompt(passages, quoted, 2500)
    assert [p.rank for p in kept] == [4, 0]  # the quoted passage first, then the best ranked
    assert for_prompt(passages, quoted, None) == passages
