"""One committed state of an index and the retrieval over it: what a question reads.

A snapshot never changes once opened. Writers (an ingestion in this process, the app's
upload worker, ``rag ingest`` or ``rag remove`` elsewhere) work on their own copy and
commit a new manifest; the next question notices and reads a new snapshot, while the
questions already under way finish on the one they started with. So questions never
wait for each other, nor for a writer.
"""

from __future__ import annotations

import os
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol, TypeVar

from rag.embedding import Embedder
from rag.errors import IndexCorruptError, NoMatchError
from rag.question import Question
from rag.question.scope import Coverage, Scope, without_scope
from rag.retrieval.filters import Filters
from rag.retrieval.hybrid import HybridRetriever
from rag.storage import Index
from rag.storage.manifest import MANIFEST
from rag.types import Document, Passage

PART_K = 3
MEMO_SIZE = 64  # values one snapshot remembers (``Reading.remembered``)
_MEMO_LOCK = threading.Lock()
T = TypeVar("T")  # passages retrieved for each part of a several-part question

Stamp = tuple[int, int, int] | None


def stamp_of(folder: Path) -> Stamp:
    """What identifies the manifest on disk: a commit replaces it (a new inode, time and
    usually size), so a changed stamp means another state was committed."""
    try:
        st = os.stat(folder / MANIFEST)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


@dataclass(frozen=True)
class Stats:
    documents: int
    chunks: int
    index_dir: Path


class Retriever(Protocol):
    """What both index kinds search with: ``HybridRetriever`` (an index folder) and
    ``QdrantRetriever`` (a Qdrant collection)."""

    def retrieve(
        self, question: str, k: int = 5, filters: Filters | None = None, also: Sequence[str] = ()
    ) -> list[Passage]:
        """The ``k`` passages that best answer the question (or one of its other wordings
        in ``also``), within the filters."""
        ...

    def idf(self, term: str) -> float:
        """How rare a term is in this state of the index (unseen terms count as rarest)."""
        ...


class Reading(ABC):
    """What a question reads: one committed state of an index, its ``Retriever``, what it
    covers, and its documents. ``Snapshot`` reads an index folder; ``CollectionSnapshot``
    (``rag/retrieval/collection.py``) a Qdrant one."""

    stamp: object
    engine: Retriever
    coverage: Coverage
    chunk_counts: dict[str, int]
    added: dict[str, str]

    def remembered(self, key: Hashable, make: Callable[[], T]) -> T:
        """A value derived from this state of the index, made once for it (the last
        ``MEMO_SIZE`` kept): what several attempts at one answer read alike."""
        with _MEMO_LOCK:
            memo = self.__dict__.setdefault("_memo", OrderedDict())
            if key in memo:
                memo.move_to_end(key)
                return memo[key]
        value = make()  # made outside the lock: other questions go on meanwhile
        with _MEMO_LOCK:
            memo[key] = value
            while len(memo) > MEMO_SIZE:
                memo.popitem(last=False)
        return value

    @abstractmethod
    def documents(self, whole: bool = False) -> list[Document]:
        """Every document; ``whole``: with its text, where a store keeps it apart."""

    @abstractmethod
    def document(self, doc_id: str) -> Document | None: ...

    @abstractmethod
    def stats(self) -> Stats: ...

    def search(
        self,
        question: Question,
        k: int,
        filters: Filters | None,
        scoped: bool = True,
        sources: tuple[str, ...] = (),
    ) -> tuple[Scope, list[Passage]]:
        """The question's scope and passages: within its scope when the index holds it, the
        closest ones (and the scope saying what is missing) when it does not. ``sources``:
        the statements to search first (a follow-up pointing back at what was quoted)."""
        if sources:
            filters = replace(filters or Filters(), sources=sources)
        scope = question.scope if scoped else Scope()
        searched = filters if scope.missing else within(filters, scope)
        try:
            # A question of its own is also searched without its speaker's name and years; a
            # follow-up's text is already the earlier turn's, with its context (dev: the
            # conversations lost 0.027 of key facts when it was).
            text = (
                without_scope(question.text, scope)
                if searched != filters and not question.follow
                else question.text
            )
            return scope, self.retrieve_parts(question, k, searched, text)
        except NoMatchError:
            if searched == filters:
                raise  # the user's own filters match nothing: their error to fix
        sure = replace(scope, parts=tuple(p for p in scope.parts if p.sure))
        if sure.parts != scope.parts:
            # Unsure parts narrowed the search to nothing: let them go, keep the sure ones.
            narrowed = within(filters, sure)
            try:
                kept = tuple(p if p.sure else replace(p, held=None) for p in scope.parts)
                text = (
                    without_scope(question.text, sure)
                    if narrowed != filters and not question.follow
                    else question.text
                )
                return replace(scope, parts=kept), self.retrieve_parts(question, k, narrowed, text)
            except NoMatchError:
                if narrowed == filters:
                    raise
            scope = sure
        # What the question names is held, but not together (or not within the user's
        # filters): say so, and show the closest passages the user's filters allow.
        named = ", ".join(p.label for p in scope.parts if p.held)
        where = (
            f"the filters allow ({filters.describe()})" if filters and not filters.empty else "in the index"
        )
        scope = replace(scope, missing=f"No statement {where} matches all the question names ({named}).")
        return scope, self.engine.retrieve(question.text, k, filters)

    def retrieve_parts(
        self, question: Question, k: int, filters: Filters | None, text: str | None = None
    ) -> list[Passage]:
        """The question's passages (searched for it and for ``text``: the question without
        the words naming the scope ``filters`` keep to, fused), then for a several-part
        question the best passages of each part not already among them."""
        also = (text,) if text and text != question.text else ()
        passages = self.engine.retrieve(question.text, k, filters, also)
        if len(question.parts) < 2:
            return passages
        seen = {(p.doc_id, p.start) for p in passages}
        for part in question.parts:
            # A part with a scope of its own (one side of a comparison, "… and in 2010?") is
            # searched in those statements; one they cannot hold is searched as the question.
            own = within(filters, part.scope) if part.scope is not None else filters
            try:
                found = self.engine.retrieve(part.query, PART_K, own)
            except NoMatchError:
                found = self.engine.retrieve(part.query, PART_K, filters)
            for p in found:
                if (p.doc_id, p.start) not in seen:
                    seen.add((p.doc_id, p.start))
                    passages.append(replace(p, rank=len(passages) + 1))
        return passages

    def scope_texts(self, scope: Scope, passages: list[Passage]) -> list[str] | None:
        """The whole texts of the statements a scoped search read (a Qdrant index's passages
        carry no statement text): where the words asked about must be for the question to
        be answered. None when the search was not kept to a speaker."""
        if not scope.kept_to_speakers:
            return None
        documents = [self.document(d) for d in dict.fromkeys(p.doc_id for p in passages)]
        texts = [d.text for d in documents if d is not None]
        return texts if texts and all(texts) else None


class Snapshot(Reading):
    """An index folder as committed, its retriever's tables built, and what it covers."""

    def __init__(self, index: Index, embedder: Embedder, candidates: int, stamp: Stamp = None):
        self.index = index
        self.stamp = stamp
        self.engine = HybridRetriever(index, embedder, candidates=candidates)
        self.engine.idf("")  # build BM25 and the filter tables now, not in a question
        self.coverage = Coverage.of(d.metadata for d in index.documents.values())
        self.chunk_counts = {d: len(rows) for d, rows in self.engine.rows_by_document().items()}
        # When each document came in: the time its first segment was written.
        self.added = {d.doc_id: b.added for b in index.blocks for d in b.documents}

    @classmethod
    def open(
        cls, folder: Path, embedder: Embedder, candidates: int, earlier: Snapshot | None = None
    ) -> Snapshot:
        """The index as committed now; segments an ``earlier`` snapshot read are reused."""
        for attempt in range(3):
            # The stamp is read first: a commit while opening makes the next question reopen.
            stamp = stamp_of(folder)
            index = Index.open(folder, model=embedder.name, earlier=earlier.index if earlier else None)
            try:
                return cls(index, embedder, candidates, stamp)
            except FileNotFoundError:
                # A segment's counts, read on demand, were rewritten by a commit meanwhile.
                if attempt == 2:
                    raise IndexCorruptError(
                        f"The index at {folder} kept changing while it was read."
                    ) from None
        raise AssertionError("unreachable")

    def documents(self, whole: bool = False) -> list[Document]:
        return list(self.index.documents.values())

    def document(self, doc_id: str) -> Document | None:
        return self.index.documents.get(doc_id)

    def stats(self) -> Stats:
        return Stats(len(self.index.documents), len(self.index.chunks), self.index.path)


class Source(Protocol):
    """Where a pipeline reads an index's committed states from (``FolderSource``,
    ``CollectionSource``)."""

    folder: Path

    def stamp(self) -> object:
        """What identifies the state committed now: another stamp, another state."""
        ...

    def open(self, earlier: Reading | None = None) -> Reading:
        """The state committed now; what ``earlier`` read may be reused."""
        ...

    def writer(self) -> Any:
        """The index to ingest into (committed as a new state)."""
        ...


class FolderSource:
    """Where a pipeline reads an index folder's committed states from: the manifest's
    stamp says when another was committed."""

    def __init__(self, folder: Path, embedder: Embedder, candidates: int):
        self.folder, self.embedder, self.candidates = folder, embedder, candidates

    def stamp(self) -> Stamp:
        return stamp_of(self.folder)

    def open(self, earlier: Reading | None = None) -> Snapshot:
        reuse = earlier if isinstance(earlier, Snapshot) else None
        return Snapshot.open(self.folder, self.embedder, self.candidates, reuse)

    def writer(self) -> Index:
        return Index.open(self.folder, model=self.embedder.name)


def within(filters: Filters | None, scope: Scope) -> Filters | None:
    """The user's filters, narrowed to what the question is scoped to and the index holds:
    "What did Brazil say in 2024" searches Brazil's 2024 statements only. A filter the user
    set is kept as it is."""
    countries = tuple(p.value for p in scope.parts if p.kind == "country" and p.held)
    years = [
        y
        for p in scope.parts
        if p.kind == "year" and p.held
        for y in (p.value if isinstance(p.value, list) else [p.value])
    ]
    speakers = tuple(p.value for p in scope.parts if p.kind == "speaker")
    venues = tuple(p.value for p in scope.parts if p.kind == "venue" and p.held)
    base = filters or Filters()
    narrowed = Filters(
        base.sources,
        base.countries or countries,
        base.year_from if base.year_from is not None else (min(years) if years else None),
        base.year_to if base.year_to is not None else (max(years) if years and max(years) < 9999 else None),
        base.speakers or speakers,
        base.venues or venues,
    )
    return None if narrowed.empty else narrowed
