"""The embedding model run by ONNX Runtime: exported once from the shipped weights (offline)
into ``$RAG_HOME/models/onnx``, optionally with int8 weights (dynamic quantisation).

sentence-transformers' own ``backend="onnx"`` needs optimum-onnx, whose releases pin
transformers below 4.58; this exports with torch's ONNX exporter instead. Mean pooling and
L2 normalisation are the model's own (its ``modules.json``); fp32 vectors match the torch
ones to about 1e-6.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

from rag.embedding.base import CachedQueries
from rag.errors import ModelLoadError

INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def _export(source: Path, target: Path) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    class Encoder(torch.nn.Module):
        def __init__(self, model: torch.nn.Module):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: ANN001
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    model = AutoModel.from_pretrained(source)
    model.train(False)  # inference mode: no dropout
    tokenizer = AutoTokenizer.from_pretrained(source)
    sample = tokenizer(
        ["A statement.", "The Council met again to discuss reform."], padding=True, return_tensors="pt"
    )
    dynamic = {name: {0: "batch", 1: "tokens"} for name in INPUTS}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on shapes it fixes: not for users
        torch.onnx.export(
            Encoder(model),
            tuple(sample[name] for name in INPUTS),
            str(target),
            input_names=list(INPUTS),
            output_names=["token_embeddings"],
            dynamic_axes={**dynamic, "token_embeddings": {0: "batch", 1: "tokens"}},
            opset_version=17,
            dynamo=False,
        )


def onnx_model(source: Path, cache: Path, quantized: bool) -> Path:
    """The exported (and, if asked, int8) model file, built on first use; atomic."""
    folder = cache / "onnx" / source.name
    fp32, int8 = folder / "model.onnx", folder / "model-int8.onnx"
    wanted = int8 if quantized else fp32
    if wanted.is_file():
        return wanted
    folder.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=folder))
    try:
        if not fp32.is_file():
            # Once per model: it needs torch, which questions otherwise never load.
            print(
                f"Exporting the embedding model for ONNX Runtime into {folder} (once; a few seconds)...",
                file=sys.stderr,
            )
            _export(source, tmp / "model.onnx")
            os.replace(tmp / "model.onnx", fp32)
        if quantized:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            # The quantiser logs a pre-processing hint on the root logger every run: drop
            # its records below ERROR while it runs, leaving every logger's level as it was.
            root = logging.getLogger()
            hint = _DropRecords()
            root.addFilter(hint)
            try:
                quantize_dynamic(str(fp32), str(tmp / "model-int8.onnx"), weight_type=QuantType.QInt8)
            finally:
                root.removeFilter(hint)
            os.replace(tmp / "model-int8.onnx", int8)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return wanted


class _DropRecords(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR


class OnnxEmbedder(CachedQueries):
    """Same interface and vectors as SentenceTransformerEmbedder; ONNX Runtime underneath."""

    def __init__(
        self,
        name: str,
        source: Path,
        cache: Path,
        quantized: bool = False,
        device: str = "cpu",
        batch_size: int = 64,
    ):
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError:
            raise ModelLoadError(
                "The ONNX embedding backend needs onnxruntime and onnx; run: pip install onnxruntime onnx"
            ) from None
        try:
            path = onnx_model(source, cache, quantized)
        except Exception as exc:  # the exporter raises many kinds; all mean "no ONNX model"
            first = str(exc).strip().split("\n")[0]
            raise ModelLoadError(f"Could not export the embedding model to ONNX ({first}).") from None
        self.name = name
        self.backend = "onnx-int8" if quantized else "onnx"
        self.device = device
        # Dynamic int8 quantisation scales activations per input tensor, so in a batch a
        # text's vector depends on its batch-mates (cosine 0.97 to itself alone), and an
        # answer would depend on what was embedded before it. One text at a time, a vector
        # is a function of its text alone; on a CPU that is also quicker (no padding:
        # 48 seed sentences in 166 ms alone, 281 ms batched, fp32).
        self.batch_size = 1 if quantized or device == "cpu" else batch_size
        config = json.loads((source / "sentence_bert_config.json").read_text(encoding="utf-8"))
        self.max_length = int(config.get("max_seq_length", 256))
        # The model's own fast tokenizer, read by `tokenizers` alone: the same ids as
        # transformers' AutoTokenizer (checked in tests), without importing transformers or
        # torch on the question path (docs/scaling.md, "Cold start").
        if not (source / "tokenizer.json").is_file():
            raise ModelLoadError(
                f"The ONNX backend needs the model's fast tokenizer; {source} has no tokenizer.json."
            )
        self.tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(self.max_length)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        providers = ["CPUExecutionProvider"]
        if device.startswith("cuda") and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(path), options, providers=providers)
        self.dimension = int(self.embed(["dimension"]).shape[1])

    def embed(self, texts: list[str], progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # Longest first, as sentence-transformers does: batches pad to similar lengths.
        order = np.argsort([-len(t) for t in texts], kind="stable")
        parts = []
        for start in range(0, len(texts), self.batch_size):
            batch = [texts[i] for i in order[start : start + self.batch_size]]
            encodings = self.tokenizer.encode_batch(batch)
            feeds = {
                "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
            }
            tokens = self.session.run(None, feeds)[0]
            mask = feeds["attention_mask"][..., None].astype(np.float32)
            pooled = (tokens * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
            parts.append(pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None))
        vectors = np.concatenate(parts).astype(np.float32)
        out = np.empty_like(vectors)
        out[order] = vectors
        return out
