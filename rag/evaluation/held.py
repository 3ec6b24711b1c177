"""What the question path holds of an index, in a process of its own (`rag bench --held`):

    python -m rag.evaluation.held INDEX_DIR "QUESTION"

opens the index as the app does, answers the question once (so every lazy table and
cache of the code is built), then opens the index's committed state again under
``tracemalloc`` and retrieves once: what that state keeps allocated is what each app
process holds of the index. Allocations made inside the Qdrant client are left out: in
local mode the client is the Qdrant server itself, running in this process. Memory-mapped
files (the FAISS index's vectors and postings) are the page cache's, not counted. Prints
one JSON object.
"""

from __future__ import annotations

import gc
import json
import sys
import tracemalloc
from pathlib import Path


def held(index_dir: Path, question: str) -> dict[str, object]:
    from rag.pipeline import Pipeline
    from rag.retrieval.collection import CollectionSnapshot
    from rag.settings import load_settings

    settings = load_settings().with_overrides(index_dir=index_dir)
    pipeline = Pipeline.open(settings, build_default=False)
    pipeline.ask(question)
    gc.collect()
    tracemalloc.start(64)
    state = pipeline.source.open(None)
    state.engine.retrieve(question, settings.k)
    gc.collect()
    traces = tracemalloc.take_snapshot().filter_traces(
        [
            tracemalloc.Filter(False, "*qdrant_client*", all_frames=True),
            tracemalloc.Filter(False, tracemalloc.__file__),
        ]
    )
    tracemalloc.stop()
    stats = state.stats()
    return {
        "index": str(index_dir),
        "store": "qdrant" if isinstance(state, CollectionSnapshot) else "faiss",
        "documents": stats.documents,
        "chunks": stats.chunks,
        "held_bytes": sum(t.size for t in traces.traces),
    }


if __name__ == "__main__":
    print(json.dumps(held(Path(sys.argv[1]), sys.argv[2])))
