"""The assembled pipeline that the CLI, the app and the evaluation share: load once, ask many."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path

from rag.answering import ExtractiveGenerator, Generator, build_chain
from rag.embedding import Embedder, load_embedder
from rag.errors import InputError
from rag.ingest import IngestReport, ingest, open_or_create
from rag.retrieval import Filters, HybridRetriever, StatementRetriever, check_question
from rag.settings import Settings
from rag.store import Index
from rag.types import Answer

GENERATORS = ("extractive",)


def check_generator(name: str) -> str:
    if name not in GENERATORS:
        raise InputError(f"Unknown generator '{name}'; available: {', '.join(GENERATORS)}.")
    return name


def make_generator(name: str, engine: HybridRetriever, settings: Settings) -> Generator:
    check_generator(name)
    return ExtractiveGenerator(
        engine.embedder, settings.min_relevance, settings.max_answer_sentences, idf=engine.idf
    )


class Pipeline:
    """An index, the embedding model and a generator, opened once and shared."""

    def __init__(self, settings: Settings, index: Index, embedder: Embedder):
        self.settings = settings
        self.index = index
        self.embedder = embedder
        self.engine = HybridRetriever(index, embedder, candidates=settings.candidates)
        self._generators: dict[str, Generator] = {}
        # Questions read the index while an upload may be changing it.
        self.lock = threading.RLock()

    @classmethod
    def open(
        cls, settings: Settings, embedder: Embedder | None = None, build_default: bool = True
    ) -> Pipeline:
        """Open the index in the settings; build the seed index first if it is the default."""
        embedder = embedder or load_embedder(settings.embedding_model, settings.device, settings.batch_size)
        if not Index.exists(settings.index_dir) and build_default and is_default_index(settings):
            index = open_or_create(settings.index_dir, embedder, settings.chunk_size, settings.chunk_overlap)
            ingest([settings.seeds_dir], index, embedder, settings.home, progress=False)
        index = Index.open(settings.index_dir, model=embedder.name)
        return cls(settings, index, embedder)

    def generator(self, name: str | None = None) -> Generator:
        name = name or self.settings.generator
        if name not in self._generators:
            self._generators[name] = make_generator(name, self.engine, self.settings)
        return self._generators[name]

    def ask(
        self,
        question: str,
        k: int | None = None,
        filters: Filters | None = None,
        generator: str | None = None,
    ) -> Answer:
        question = check_question(question)
        retriever = StatementRetriever(engine=self.engine, k=k or self.settings.k, filters=filters)
        chain = build_chain(retriever, self.generator(generator))
        with self.lock:
            return chain.invoke({"question": question})

    def ingest(self, paths: Iterable[Path], prune: bool = False, progress: bool = True) -> IngestReport:
        with self.lock:
            return ingest(
                paths, self.index, self.embedder, self.settings.home, prune=prune, progress=progress
            )


def is_default_index(settings: Settings) -> bool:
    return settings.index_dir.resolve() == (settings.home / "index" / "default").resolve()
