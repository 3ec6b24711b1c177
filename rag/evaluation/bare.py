"""The bare question path, the floor `rag ask` is measured against (`rag bench`): ONNX
Runtime and tokenizers load the exported model, embed the question, and FAISS searches an
index's vectors. Nothing of the project is imported; run as

    python -m rag.evaluation.bare MODEL_DIR MODEL.onnx INDEX_DIR "QUESTION"

and it prints the row numbers of the five nearest chunks."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main() -> None:
    import faiss
    import numpy as np
    import onnxruntime as ort
    from tokenizers import Tokenizer

    model_dir, onnx_path, index_dir, question = sys.argv[1:5]
    tokenizer = Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(256)
    session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    encoding = tokenizer.encode(question)
    feeds = {
        "input_ids": np.array([encoding.ids], dtype=np.int64),
        "attention_mask": np.array([encoding.attention_mask], dtype=np.int64),
        "token_type_ids": np.array([encoding.type_ids], dtype=np.int64),
    }
    tokens = session.run(None, feeds)[0][0]
    query = tokens.mean(axis=0)
    query = (query / np.linalg.norm(query)).astype(np.float32)
    parts = [np.load(p, mmap_mode="r") for p in sorted(Path(index_dir).glob("seg-*.vectors.npy"))]
    vectors = np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    _, rows = index.search(query[None, :], 5)
    print(json.dumps(rows[0].tolist()))


if __name__ == "__main__":
    main()
