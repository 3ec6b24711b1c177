"""The assembled pipeline that the CLI, the app and the evaluation share: load once, ask
many, through one answer path."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from rag.answering import ExtractiveGenerator, Generator, check_sentences, make_generator, verify_citations
from rag.answering.attribution import attribute
from rag.answering.conversation import (
    Turn,
    as_turns,
    follow_up_kind,
    speakers_of,
    standalone_question,
    without_context,
)
from rag.answering.grounded import LLMGenerator
from rag.answering.parts import question_parts
from rag.embedding import Embedder, embedder_from
from rag.errors import NoMatchError
from rag.ingest import IngestReport, ingest, open_or_create
from rag.retrieval import Filters, HybridRetriever, check_question
from rag.scope import Coverage, Scope, scope_of
from rag.settings import Settings
from rag.storage import FORMAT_VERSION, Index
from rag.types import Answer, Document, Passage

PART_K = 3  # passages retrieved for each part of a several-part question


@dataclass(frozen=True)
class Stats:
    documents: int
    chunks: int
    index_dir: Path


class Pipeline:
    """An index, the embedding model and the generators, opened once and shared.

    The one lock rule: ``lock`` is held while the index is read (retrieval, the quoted
    answer) or changed (ingestion), never across a yield or a model call, since a
    streaming caller may resume the answer on another thread, or never finish it.
    """

    def __init__(self, settings: Settings, index: Index, embedder: Embedder):
        self.settings = settings
        self.index = index
        self.embedder = embedder
        self.engine = HybridRetriever(index, embedder, candidates=settings.candidates)
        self._generators: dict[str, Generator] = {}
        self._coverage: tuple[int, Coverage] | None = None
        self.lock = threading.RLock()

    @classmethod
    def open(
        cls, settings: Settings, embedder: Embedder | None = None, build_default: bool = True
    ) -> Pipeline:
        """Open the index in the settings; build the seed index first if it is the default."""
        embedder = embedder or embedder_from(settings)
        default = build_default and is_default_index(settings)
        found = Index.format_of(settings.index_dir) if Index.exists(settings.index_dir) else None
        older = isinstance(found, int) and found < FORMAT_VERSION
        if default and (older or not Index.exists(settings.index_dir)):
            # The seed index is ours to build; one in an older layout is rebuilt from the
            # seeds and the app's saved uploads rather than refused.
            index = open_or_create(
                settings.index_dir,
                embedder,
                settings.chunk_size,
                settings.chunk_overlap,
                rebuild=older,
                store=settings.store,
                store_settings=settings.store_settings(),
            )
            uploads = settings.uploads_dir
            sources = [settings.seeds_dir] + ([uploads] if older and uploads.is_dir() else [])
            ingest(sources, index, embedder, settings.home, progress=False)
        secrets = {"api_key": settings.qdrant_api_key} if settings.qdrant_api_key else None
        index = Index.open(settings.index_dir, model=embedder.name, store_settings=secrets)
        return cls(settings, index, embedder)

    def generator(self, name: str | None = None) -> Generator:
        name = name or self.settings.generator
        if name not in self._generators:
            self._generators[name] = make_generator(name, self.engine, self.settings)
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
        turns = [self._with_speakers(t) for t in as_turns(history)]
        chosen = self.generator(generator)
        standalone = chosen.standalone(asked, turns) if isinstance(chosen, LLMGenerator) else None
        standalone = standalone or standalone_question(asked, turns, self.coverage().countries.__contains__)
        kind = follow_up_kind(asked, turns)
        # "What else?" quotes nothing an earlier answer quoted; "What did he say about X?"
        # looks first in the statements the answer before it quoted.
        earlier = [span for t in turns for span in t.cited] if kind == "more" else []
        before = turns[-1] if kind else None
        with self.lock:
            scope, passages, quoted = _quote(
                self, standalone, k, filters, scoped, chosen, before, earlier, narrow=kind == "refers"
            )
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

    def _with_speakers(self, turn: Turn) -> Turn:
        """A turn read from JSON names no speakers: whose words its citations are."""
        if turn.speakers or not turn.cited:
            return turn
        docs = [self.document(doc_id) for doc_id, _, _ in turn.cited]
        return replace(turn, speakers=speakers_of(d for d in docs if d is not None))

    def search(self, question: str, k: int | None = None, filters: Filters | None = None) -> list[Passage]:
        """The passages the answer path retrieves for a (standalone) question: within its
        scope when the index holds it, the closest ones when it does not."""
        with self.lock:
            return self._search(check_question(question), k, filters)[1]

    def _search(
        self, question: str, k: int | None, filters: Filters | None, scoped: bool = True, earlier: str = ""
    ) -> tuple[Scope, list[Passage]]:
        scope = scope_of(question, self.coverage()) if scoped else Scope()
        if scoped and earlier and not scope.parts:
            scope = scope_of(earlier, self.coverage())  # a follow-up keeps the earlier scope
        searched = filters if scope.missing else within(filters, scope)
        k = k or self.settings.k
        try:
            return scope, self._retrieve_parts(question, k, searched)
        except NoMatchError:
            if searched == filters:
                raise  # the user's own filters match nothing: their error to fix
        # What the question names is held, but not together (or not within the user's
        # filters): say so, and show the closest passages the user's filters allow.
        named = ", ".join(p.label for p in scope.parts if p.held)
        where = (
            f"the filters allow ({filters.describe()})" if filters and not filters.empty else "in the index"
        )
        scope = replace(scope, missing=f"No statement {where} matches all the question names ({named}).")
        return scope, self.engine.retrieve(question, k, filters)

    def _retrieve_parts(self, question: str, k: int, filters: Filters | None) -> list[Passage]:
        """The question's passages, then for a several-part question the best passages of
        each part not already among them (so no part goes unanswered for want of them)."""
        passages = self.engine.retrieve(question, k, filters)
        parts = question_parts(question)
        if len(parts) < 2:
            return passages
        seen = {(p.doc_id, p.start) for p in passages}
        for part in parts:
            for p in self.engine.retrieve(part.query, PART_K, filters):
                if (p.doc_id, p.start) not in seen:
                    seen.add((p.doc_id, p.start))
                    passages.append(replace(p, rank=len(passages) + 1))
        return passages

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

    def coverage(self) -> Coverage:
        """Which countries and years the index holds (recomputed when the index changes)."""
        with self.lock:
            if self._coverage is None or self._coverage[0] != self.index.version:
                self._coverage = (
                    self.index.version,
                    Coverage.of(d.metadata for d in self.index.documents.values()),
                )
            return self._coverage[1]

    def documents(self) -> list[Document]:
        with self.lock:
            return list(self.index.documents.values())

    def document(self, doc_id: str) -> Document | None:
        with self.lock:
            return self.index.documents.get(doc_id)

    def stats(self) -> Stats:
        with self.lock:
            return Stats(len(self.index.documents), len(self.index.chunks), self.settings.index_dir)

    def ingest(self, paths: Iterable[Path], prune: bool = False, progress: bool = True) -> IngestReport:
        with self.lock:
            return ingest(
                paths, self.index, self.embedder, self.settings.home, prune=prune, progress=progress
            )


def _quote(
    pipeline: Pipeline,
    question: str,
    k: int | None,
    filters: Filters | None,
    scoped: bool,
    chosen: Generator,
    before: Turn | None,
    earlier: list[tuple[str, int, int]],
    narrow: bool = False,
) -> tuple[Scope, list[Passage], Answer | None]:
    """Scope, passages and the quoted answer (None when the scope is missing), under the
    lock. A follow-up keeps the earlier turn's scope; one that points back tries the
    documents the earlier answer cited first."""
    quoting: ExtractiveGenerator = chosen.fallback if isinstance(chosen, LLMGenerator) else chosen
    context = before.searched if before else ""
    if narrow and before and before.cited:
        cited = tuple(dict.fromkeys(doc_id for doc_id, _, _ in before.cited))
        scope, passages = pipeline._search(
            question, k, replace(filters or Filters(), sources=cited), scoped, context
        )
        if not scope.missing:
            # Within the statements already quoted, the question's own words decide.
            quoted = _not_again(quoting, without_context(question), passages, before)
            if not quoted.refused:
                return scope, passages, quoted
    scope, passages = pipeline._search(question, k, filters, scoped, context)
    if scope.missing:
        return scope, passages, None
    if narrow and before:
        return scope, passages, _not_again(quoting, question, passages, before)
    return scope, passages, quoting.generate(question, passages, earlier)


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


def is_default_index(settings: Settings) -> bool:
    return settings.index_dir.resolve() == (settings.home / "index" / "default").resolve()
