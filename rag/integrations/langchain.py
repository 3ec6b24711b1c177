"""LangChain, the composition layer users know: the hybrid retriever as a ``BaseRetriever``
(it passes LangChain's standard retriever suite) and the pipeline's one answer path as a
runnable chain."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableLambda
from pydantic import ConfigDict

from rag.retrieval import Filters, HybridRetriever
from rag.types import Answer, Passage

if TYPE_CHECKING:
    from rag.pipeline import Pipeline


def to_langchain(passage: Passage) -> LCDocument:
    """A passage as a LangChain document: its text, with where it comes from as metadata."""
    meta: dict[str, Any] = {
        k: v for k, v in passage.document.metadata.items() if isinstance(v, str | int | float)
    }
    meta.update(
        chunk_id=passage.chunk.chunk_id,
        doc_id=passage.doc_id,
        source=passage.document.source,
        title=passage.document.title,
        start=passage.start,
        end=passage.end,
        rank=passage.rank,
        score=passage.score,
        similarity=passage.similarity,
    )
    return LCDocument(page_content=passage.text, metadata=meta, id=passage.chunk.chunk_id)


class StatementRetriever(BaseRetriever):
    """The hybrid retriever as a LangChain ``BaseRetriever``; ``k`` and filters per call too."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    engine: HybridRetriever
    k: int = 5
    filters: Filters | None = None

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        k: int | None = None,
        filters: Filters | None = None,
    ) -> list[LCDocument]:
        passages = self.engine.retrieve(query, k or self.k, filters or self.filters)
        return [to_langchain(p) for p in passages]


def build_chain(pipeline: Pipeline) -> Runnable[Any, Answer]:
    """question (or {"question", "k", "filters", "generator", "history"}) -> the checked
    Answer, through the same path as the CLI, the app and the evaluation."""

    def answer(value: Any) -> Answer:
        inputs = {"question": value} if isinstance(value, str) else dict(value)
        return pipeline.ask(**inputs)

    return RunnableLambda(answer).with_config(run_name="cited_answer")
