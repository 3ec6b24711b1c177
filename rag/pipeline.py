"""The assembled pipeline that the CLI, the app and the evaluation share: load once, ask
many, through one answer path."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from rag.answering import Generator, check_sentences, make_generator, verify_citations
from rag.answering.attribution import attribute
from rag.answering.quoted import quote
from rag.embedding import Embedder, embedder_from
from rag.ingest import IngestReport, create_index, ingest, qdrant_place, with_recorded_backend
from rag.question import Question, check_question
from rag.question.followup import Turn, as_turns, with_speakers
from rag.question.scope import Coverage
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

    Each question reads one snapshot of the index (``rag/retrieval/snapshot.py``) from start to
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
        if embedder is None:
            settings = with_recorded_backend(settings)
            embedder = embedder_from(settings)
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
                self._generators[name] = make_generator(name, self.embedder, self.settings)
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
        ``history``: the conversation's earlier turns (or questions). The question is read
        once (``Question.read``: a follow-up made standalone, its scope, what it asks for),
        searched in one snapshot, quoted, and written by the chosen generator."""
        asked = check_question(question)
        snapshot = self.snapshot()  # the whole answer reads this one committed state
        turns = [with_speakers(t, snapshot.document) for t in as_turns(history)]
        chosen = self.generator(generator)
        read = Question.read(asked, turns, snapshot.coverage, chosen.standalone(asked, turns))
        found = quote(read, snapshot, chosen.quoting, k or self.settings.k, filters, scoped)
        # What was understood and searched: this reading's, or the other one's when that
        # is what answered ("And Ukraine?": China on Ukraine).
        other = read.alternative
        told = other if other is not None and found.question.text == other.text else read
        understood = {
            "understood": told.understood,
            "searched": told.searched,
            "scope": found.scope.to_json(),
        }
        if found.answer is None:
            # Nothing by that speaker, or from then: say so, and show the closest passages
            # (each labelled with its own speaker and date) to judge.
            yield Answer(
                asked, found.scope.missing, True, (), tuple(found.passages), chosen.name, **understood
            )
            return
        for item in chosen.stream(found.question, found.passages, found.answer, snapshot):
            if isinstance(item, Answer):
                item = replace(
                    check_sentences(attribute(verify_citations(item))), question=asked, **understood
                )
            yield item

    def search(self, question: str, k: int | None = None, filters: Filters | None = None) -> list[Passage]:
        """The passages the answer path retrieves for a (standalone) question: within its
        scope when the index holds it, the closest ones when it does not."""
        snapshot = self.snapshot()
        read = Question.read(check_question(question), (), snapshot.coverage)
        return snapshot.search(read, k or self.settings.k, filters)[1]

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


def is_default_index(settings: Settings) -> bool:
    return settings.index_dir.resolve() == (settings.home / "index" / "default").resolve()
