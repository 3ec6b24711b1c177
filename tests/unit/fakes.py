"""Small real implementations of the project's protocols, for unit tests that must run in
seconds with no model: a keyword one-hot embedder and an in-memory vector store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.terms import tokenize

KEYWORDS = ("council", "reform", "veto", "africa", "peacekeep", "fund", "china", "secur", "sector", "climat")


class KeywordEmbedder:
    """One dimension per keyword stem (counts), plus a small constant one so that no vector
    is zero; normalised. "Council reform" and "reform of the Council" get the same vector,
    and a text without keywords is close to nothing but another such text."""

    name = "keyword-one-hot"
    dimension = len(KEYWORDS) + 1

    def __init__(self) -> None:
        self.embedded = 0

    def embed(self, texts: list[str], progress: bool = False) -> np.ndarray:
        self.embedded += len(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for term in tokenize(text):
                for i, keyword in enumerate(KEYWORDS):
                    if term.startswith(keyword):
                        out[row, i] += 1.0
                        break
            out[row, -1] = 0.01
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


@dataclass(frozen=True)
class MemoryOptions:
    pass


class MemoryVectors:
    """Exact inner-product search over vectors held in memory; nothing written to disk."""

    kind = "memory"
    Options = MemoryOptions

    def __init__(self, dimension: int, folder: Path, record: Any = None, options: Any = None):
        self.dimension = dimension
        self.matrix = np.zeros((0, dimension), dtype=np.float32)

    @property
    def ntotal(self) -> int:
        return len(self.matrix)

    def sync(self, blocks: list[np.ndarray], renumbered: bool = False) -> None:
        self.matrix = np.concatenate([np.zeros((0, self.dimension), np.float32), *blocks]).astype(np.float32)

    def append(self, vectors: np.ndarray) -> None:
        self.matrix = np.concatenate([self.matrix, vectors]).astype(np.float32)

    def search(
        self, query: np.ndarray, n: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        rows = np.arange(self.ntotal) if allowed is None else np.asarray(allowed)
        scores = self.matrix[rows] @ query
        order = np.argsort(-scores, kind="stable")[:n]
        return scores[order], rows[order]

    def vectors_of(self, rows: np.ndarray) -> np.ndarray:
        return self.matrix[rows]

    def persist(self, folder: Path, tag: str) -> dict[str, Any]:
        return {"kind": self.kind, "rows": self.ntotal}

    def files(self) -> set[str]:
        return set()


class Interrupted(KeyboardInterrupt):
    pass


class StopsAfter(KeywordEmbedder):
    """Raises (as Ctrl-C would) on its ``calls``-th batch."""

    def __init__(self, calls: int):
        super().__init__()
        self.calls = calls

    def embed(self, texts, progress=False):
        self.calls -= 1
        if self.calls < 0:
            raise Interrupted
        return super().embed(texts, progress)
