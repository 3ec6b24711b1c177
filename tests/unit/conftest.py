"""Unit tests: the project's own logic on small real implementations of its protocols.
They load no model: a run of only these tests fails if one was loaded."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from rag.storage import vectors
from tests.unit.fakes import KeywordEmbedder

MODEL_LIBRARIES = ("sentence_transformers", "onnxruntime", "torch")
_only_unit = False


def pytest_collection_modifyitems(session, config, items):
    global _only_unit
    here = Path(__file__).parent
    _only_unit = bool(items) and all(Path(str(item.fspath)).is_relative_to(here) for item in items)


def pytest_sessionfinish(session, exitstatus):
    loaded = [name for name in MODEL_LIBRARIES if name in sys.modules]
    if _only_unit and loaded:
        print(f"\nUnit tests imported a model library: {', '.join(loaded)}", file=sys.stderr)
        session.exitstatus = 1


@pytest.fixture(autouse=True)
def memory_store(monkeypatch):
    """The in-memory vector store, registered as a backend like FAISS and Qdrant."""
    monkeypatch.setitem(vectors.BACKENDS, "memory", ("tests.unit.fakes", "MemoryVectors"))


@pytest.fixture
def embedder() -> KeywordEmbedder:
    return KeywordEmbedder()
