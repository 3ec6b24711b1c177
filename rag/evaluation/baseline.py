"""The plain LangChain recipe, scored beside ours: recursive 1000/200 chunks, FAISS
similarity search with the same embedding model, k=4, the top passage as the answer."""

from __future__ import annotations

import faiss
from langchain_text_splitters import RecursiveCharacterTextSplitter

from rag.embedding import Embedder
from rag.types import Answer, Chunk, Citation, Document, Passage


class LangChainBaseline:
    name = "baseline"
    k = 4

    def __init__(self, documents: list[Document], embedder: Embedder):
        self.embedder = embedder
        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200, add_start_index=True)
        self.chunks: list[Chunk] = []
        self.documents = {d.doc_id: d for d in documents}
        for doc in documents:
            for i, piece in enumerate(splitter.create_documents([doc.text])):
                start = piece.metadata["start_index"]
                self.chunks.append(
                    Chunk(
                        f"{doc.doc_id}:b{i}",
                        doc.doc_id,
                        start,
                        start + len(piece.page_content),
                        piece.page_content,
                    )
                )
        self.index = faiss.IndexFlatL2(embedder.dimension)
        if self.chunks:
            self.index.add(embedder.embed([c.text for c in self.chunks]))

    def retrieve(self, question: str, k: int, allowed: set[str] | None = None) -> list[Passage]:
        query = self.embedder.embed_query(question).reshape(1, -1)
        n = len(self.chunks) if allowed else min(k, len(self.chunks))
        distances, rows = self.index.search(query, n)
        out: list[Passage] = []
        for dist, row in zip(distances[0], rows[0], strict=True):
            chunk = self.chunks[row]
            if row < 0 or (allowed and chunk.doc_id not in allowed):
                continue
            # Unit vectors: cosine = 1 - L2² / 2.
            sim = 1.0 - float(dist) / 2
            out.append(Passage(len(out) + 1, chunk, self.documents[chunk.doc_id], sim, sim))
            if len(out) == k:
                break
        return out

    def answer(self, question: str, allowed: set[str] | None = None) -> Answer:
        passages = self.retrieve(question, self.k, allowed)
        if not passages:
            return Answer(question, "", True, (), (), self.name)
        top = passages[0]
        citation = Citation(1, top.document, top.start, top.end, top.text, 1)
        text = f"{' '.join(top.text.split())} [1]"
        return Answer(question, text, False, (citation,), tuple(passages), self.name)
