"""Retrieval: what a question reads. One committed state of an index (a ``Reading``),
searched by a ``Retriever`` that both index kinds meet: ``HybridRetriever`` over an index
folder (FAISS and BM25, fused here) and ``QdrantRetriever`` over a Qdrant collection (fused
there). A ``Source`` says when another state was committed and opens it."""

from __future__ import annotations

from rag.retrieval.filters import MAX_K, Filters, check_k, year_of
from rag.retrieval.hybrid import BM25, HybridRetriever, Mentions
from rag.retrieval.snapshot import FolderSource, Reading, Retriever, Snapshot, Source, Stats, stamp_of, within

__all__ = [
    "BM25",
    "MAX_K",
    "Filters",
    "FolderSource",
    "HybridRetriever",
    "Mentions",
    "Reading",
    "Retriever",
    "Snapshot",
    "Source",
    "Stats",
    "check_k",
    "stamp_of",
    "within",
    "year_of",
]
