"""The assembled pipeline that the CLI, the app and the evaluation share: load once, ask
many, through one answer path."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rag.answering import ExtractiveGenerator, Generator, check_sentences, make_generator, verify_citations
from rag.answering.attribution import attribute
from rag.answering.grounded import LLMGenerator
from rag.embedding import Embedder, embedder_from
from rag.ingest import IngestReport, create_index, ingest, qdrant_place
from rag.question.followup import (
    Turn,
    as_turns,
    follow_up_kind,
    speakers_of,
    standalone_question,
    without_context,
)
from rag.question.scope import Coverage, Scope
from rag.question.text import check_question
from rag.retrieval import Filters
from rag.retrieval.collection import CollectionSource
from rag.retrieval.snapshot import FolderSource, Reading, Snapshot, Stats, stamp_of
from rag.settings import Settings
from rag.storage import FORMAT_VERSION, Index
from rag.storage.qdrant import Collections
from rag.types import Answer, Document, Passage

__all__ = ["Pipeline", "Stats", "is_default_index"]


class Pipeline:
    """The embedding model, the generators and the index, shared by every question.

    Each question reads one snapshot of the index (``rag/snapshot.py``) from start to
    finish, without a lock: an ingestion here or in another process commits a new state,
    which the next question opens. Writers take turns (``_writing`` here, the index's
    commit lock across processes) and never hold up a reader.
    """

    def __init__(
        self,
        settings: Settings,
        index: Index | None,
        embedder: Embedder,
        source: FolderSource | CollectionSource | None = None,
    ):
        """``index``: an index folder opened; or ``source``, where committed states come from."""
        self.settings = settings
        self.embedder = embedder
        if source is None:
            assert index is not None
            source = FolderSource(index.path, embedder, settings.candidates)
            self._snapshot: Reading = Snapshot(index, embedder, settings.candidates, stamp_of(index.path))
        else:
            self._snapshot = source.open()
        self.source = source
        self.folder = source.folder  # the index this pipeline follows
        self._generators: dict[str, Generator] = {}
        self._reopening = threading.Lock()
        self._making = threading.Lock()
        self._writing = threading.Lock()

    @classmethod
    def open(
        cls, settings: Settings, embedder: Embedder | None = None, build_default: bool = True
    ) -> Pipeline:
        """Open the index in the settings; build the seed index first if it is the default."""
        embedder = embedder or embedder_from(settings)
        default = build_default and is_default_index(settings)
        place = qdrant_place(settings)
        if place is not None:
            if default and not Collections(place).exists():
                index = create_index(settings, embedder)
                ingest([settings.seeds_dir], index, embedder, settings.home, progress=False)
            return cls(settings, None, embedder, CollectionSource(place, embedder, settings.candidates))
        found = Index.format_of(settings.index_dir) if Index.exists(settings.index_dir) else None
        older = isinstance(found, int) and found < FORMAT_VERSION
        if default and (older or not Index.exists(settings.index_dir)):
            # The seed index is ours to build; one in an older layout is rebuilt from the
            # seeds and the app's saved uploads rather than refused.
            index = create_index(settings, embedder, rebuild=older)
            uploads = settings.uploads_dir
            sources = [settings.seeds_dir] + ([uploads] if older and uploads.is_dir() else [])
            ingest(sources, index, embedder, settings.home, progress=False)
        index = Index.open(settings.index_dir, model=embedder.name)
        return cls(settings, index, embedder)

    def generator(self, name: str | None = None) -> Generator:
        name = name or self.settings.generator
        with self._making:  # the first questions at once build one generator, not one each
            if name not in self._generators:
                self._generators[name] = make_generator(name, self.embedder, self.idf, self.settings)
            return self._generators[name]

    # -- answering: one path -----------------------------------------------------------

    def answer_stream(
        self,
        question: str,
        k: int | None = None,
        filters: Filters | None = None,
        generator: str | None = None,
        history: Sequence[Turn | str] = (),
        scoped: bool = True,
    ) -> Iterator[str | Answer]:
        """The answer's text as a model writes it, then the checked Answer (always last).
        ``history``: the conversation's earlier turns (or questions). A follow-up is searched
        as a standalone question, within the scope of the turn before it unless it names
        its own, and answered with what the earlier answers did not cite."""
        asked = check_question(question)
        snapshot = self.snapshot()  # the whole answer reads this one committed state
        turns = [self._with_speakers(t, snapshot) for t in as_turns(history)]
        chosen = self.generator(generator)
        standalone = chosen.standalone(asked, turns) if isinstance(chosen, LLMGenerator) else None
        standalone = standalone or standalone_question(asked, turns, snapshot.coverage.countries.__contains__)
        kind = follow_up_kind(asked, turns)
        # "What else?" quotes nothing an earlier answer quoted; "What did he say about X?"
        # looks first in the statements the answer before it quoted.
        earlier = [span for t in turns for span in t.cited] if kind == "more" else []
        before = turns[-1] if kind else None
        search = _Search(snapshot, k or self.settings.k, filters, scoped)
        scope, passages, quoted = _quote(search, standalone, chosen, before, earlier, narrow=kind == "refers")
        understood = {"understood": standalone if standalone != asked else "", "scope": scope.to_json()}
        if scope.missing:
            # Nothing by that speaker, or from then: say so, and show the closest passages
            # (each labelled with its own speaker and date) to judge.
            yield Answer(asked, scope.missing, True, (), tuple(passages), chosen.name, **understood)
            return

        def checked(answer: Answer) -> Answer:
            return replace(check_sentences(attribute(verify_citations(answer))), question=asked, **understood)

        if not isinstance(chosen, LLMGenerator):
            yield checked(quoted)
            return
        for item in chosen.stream(standalone, passages, quoted):
            yield checked(item) if isinstance(item, Answer) else item

    def _with_speakers(self, turn: Turn, snapshot: Reading) -> Turn:
        """A turn read from JSON names no speakers: whose words its citations are."""
        if turn.speakers or not turn.cited:
            return turn
        docs = [snapshot.document(doc_id) for doc_id, _, _ in turn.cited]
        return replace(turn, speakers=speakers_of(d for d in docs if d is not None))

    def search(self, question: str, k: int | None = None, filters: Filters | None = None) -> list[Passage]:
        """The passages the answer path retrieves for a (standalone) question: within its
        scope when the index holds it, the closest ones when it does not."""
        return self.snapshot().search(check_question(question), k or self.settings.k, filters)[1]

    def ask(
        self,
        question: str,
        k: int | None = None,
        filters: Filters | None = None,
        generator: str | None = None,
        history: Sequence[Turn | str] = (),
        scoped: bool = True,
    ) -> Answer:
        """The checked Answer: the last item of ``answer_stream``."""
        *_, answer = self.answer_stream(question, k, filters, generator, history, scoped)
        assert isinstance(answer, Answer)
        return answer

    # -- the library ---------------------------------------------------------------------

    def snapshot(self) -> Reading:
        """The index as last committed: reopened when another state was committed since
        (here, by the app's upload worker, or by ``rag ingest`` elsewhere). Questions under
        way keep the snapshot they started with."""
        current = self._snapshot
        if current.stamp == self.source.stamp():
            return current
        with self._reopening:  # one reopens; the others wait for it, then read the new one
            current = self._snapshot
            if current.stamp != self.source.stamp():
                current = self._snapshot = self.source.open(current)
            return current

    @property
    def index(self) -> Index:
        """The index folder as last committed (an index in Qdrant has none in the process)."""
        return self.snapshot().index  # type: ignore[attr-defined]

    @property
    def engine(self) -> Any:
        return self.snapshot().engine

    def idf(self, term: str) -> float:
        return self.snapshot().engine.idf(term)

    def coverage(self) -> Coverage:
        """Which countries and years the index holds."""
        return self.snapshot().coverage

    def documents(self, whole: bool = False) -> list[Document]:
        return self.snapshot().documents(whole)

    def document(self, doc_id: str) -> Document | None:
        return self.snapshot().document(doc_id)

    def stats(self) -> Stats:
        return self.snapshot().stats()

    def ingest(self, paths: Iterable[Path], prune: bool = False, progress: bool = True) -> IngestReport:
        """Bring the index up to date with ``paths`` on a copy of it, committed batch by
        batch; questions meanwhile read the last committed state."""
        with self._writing:
            index = self.source.writer()
            report = ingest(paths, index, self.embedder, self.settings.home, prune=prune, progress=progress)
        self.snapshot()
        return report


@dataclass(frozen=True)
class _Search:
    """One question's search: the snapshot it reads, how many passages, the user's filters."""

    snapshot: Reading
    k: int
    filters: Filters | None
    scoped: bool

    def __call__(
        self, question: str, earlier: str, sources: tuple[str, ...] = ()
    ) -> tuple[Scope, list[Passage]]:
        filters = replace(self.filters or Filters(), sources=sources) if sources else self.filters
        return self.snapshot.search(question, self.k, filters, self.scoped, earlier)


def _quote(
    search: _Search,
    question: str,
    chosen: Generator,
    before: Turn | None,
    earlier: list[tuple[str, int, int]],
    narrow: bool = False,
) -> tuple[Scope, list[Passage], Answer | None]:
    """Scope, passages and the quoted answer (None when the scope is missing). A follow-up
    keeps the earlier turn's scope; one that points back tries the documents the earlier
    answer cited first."""
    quoting = (chosen.fallback if isinstance(chosen, LLMGenerator) else chosen).reading(
        search.snapshot.engine.idf
    )
    context = before.searched if before else ""
    if narrow and before and before.cited:
        cited = tuple(dict.fromkeys(doc_id for doc_id, _, _ in before.cited))
        scope, passages = search(question, context, cited)
        if not scope.missing:
            # Within the statements already quoted, the question's own words decide.
            quoted = _not_again(quoting, without_context(question), passages, before)
            if not quoted.refused:
                return scope, passages, quoted
    scope, passages = search(question, context)
    if scope.missing:
        return scope, passages, None
    quoting = quoting.reading(quoting.idf, _scope_texts(scope, passages, search.snapshot))
    if narrow and before:
        return scope, passages, _not_again(quoting, question, passages, before)
    return scope, passages, quoting.generate(question, passages, earlier)


def _scope_texts(scope: Scope, passages: list[Passage], snapshot: Reading) -> list[str] | None:
    """The whole texts of the statements a scoped search read, from the snapshot (a Qdrant
    index's passages carry no statement text): where the words asked about must be for the
    question to be answered. None when the search was not kept to a speaker."""
    if not any(p.held and p.kind in ("country", "speaker") for p in scope.parts):
        return None
    documents = [snapshot.document(d) for d in dict.fromkeys(p.doc_id for p in passages)]
    texts = [d.text for d in documents if d is not None]
    return texts if texts and all(texts) else None


def _not_again(quoting: ExtractiveGenerator, question: str, passages: list[Passage], before: Turn) -> Answer:
    """The answer, unless it would quote exactly what the answer before it quoted: then the
    one sentence that best answers this question, if that is not the same again; else the
    answer without those words, or that the statements found hold nothing more."""
    answer = quoting.generate(question, passages)
    again = set(before.cited)
    if {(c.doc_id, c.start, c.end) for c in answer.citations} != again:
        return answer
    brief = quoting.generate(question, passages, brief=True)
    if {(c.doc_id, c.start, c.end) for c in brief.citations} != again:
        return brief
    return quoting.generate(question, passages, list(again))


def is_default_index(settings: Settings) -> bool:
    return settings.index_dir.resolve() == (settings.home / "index" / "default").resolve()
