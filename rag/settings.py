"""One Settings object: defaults < config file < environment < flags, built at the edge."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from rag.errors import InputError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SEEDS_DIR = PROJECT_ROOT / "seeds"
DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
UPLOADS = "uploads"  # the folder under the home where the app keeps uploaded files


def _default_home() -> Path:
    # A source checkout keeps its indexes beside the code; an installed copy in
    # the user's data folder.
    if SEEDS_DIR.is_dir():
        return PROJECT_ROOT
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "rag"


@dataclass(frozen=True)
class Settings:
    home: Path
    index_dir: Path
    seeds_dir: Path = SEEDS_DIR
    embedding_model: str = DEFAULT_MODEL
    device: str = "auto"
    # "auto", "torch", "onnx" or "onnx-int8": docs/scaling.md has the rates and the
    # gold-set check. "auto" is torch for batches, ONNX Runtime for a few texts.
    embedding_backend: str = "auto"
    # The extractive answer's sentence scoring: a backend, or "same" as the index's.
    # ONNX fp32, one sentence at a time: each score a function of its sentence alone
    # (docs/reliability.md, "Determinism").
    answer_embedding_backend: str = "onnx"
    batch_size: int = 64
    chunk_size: int = 800
    chunk_overlap: int = 200
    # Chunks per saved ingestion batch: an interrupted run loses at most one batch.
    ingest_batch: int = 512
    # Where a new index lives (docs/scaling.md): "faiss", an index folder; or "qdrant", the
    # whole index in Qdrant (local mode in the folder, or the server at qdrant_url).
    store: str = "faiss"
    ann_threshold: int = 50_000
    qdrant_url: str = ""
    qdrant_api_key: str = ""
    k: int = 5
    candidates: int = 50
    generator: str = "extractive"
    # Calibrated on the seed statements: see docs/refusal.md.
    min_relevance: float = 0.52
    max_answer_sentences: int = 3
    # Generative answers (docs: README "Generative answers").
    # The packaged Qwen on llama.cpp (the `llm` extra); "gemma3-270m", a model folder or a
    # .gguf file otherwise.
    local_model: str = "qwen2.5-coder-1.5b"
    openai_base_url: str = ""
    openai_model: str = "gpt-4o-mini"
    openai_api_key: str = ""
    llm_timeout: float = 60.0
    llm_max_retries: int = 2
    max_new_tokens: int = 160
    # What one upload in the app may hold (README "Uploads"); `rag ingest` has no limit.
    upload_max_mb: int = 10
    upload_max_files: int = 20

    @property
    def uploads_dir(self) -> Path:
        """Where the app keeps the files users upload (under ``home``, never the checkout)."""
        return self.home / UPLOADS

    def store_settings(self) -> dict[str, Any]:
        """Every vector store setting; a new index's store takes the ones its options name
        (an existing index keeps its own)."""
        return {
            "ann_threshold": self.ann_threshold,
            "url": self.qdrant_url or None,
            "api_key": self.qdrant_api_key or None,
        }

    def with_overrides(self, **overrides: Any) -> Settings:
        given = {k: v for k, v in overrides.items() if v is not None}
        return replace(self, **_coerce(given))


_ENV = {
    "index_dir": "RAG_INDEX",
    "embedding_model": "RAG_EMBEDDING_MODEL",
    "device": "RAG_DEVICE",
    "embedding_backend": "RAG_EMBEDDING_BACKEND",
    "answer_embedding_backend": "RAG_ANSWER_EMBEDDING_BACKEND",
    "batch_size": "RAG_BATCH_SIZE",
    "chunk_size": "RAG_CHUNK_SIZE",
    "chunk_overlap": "RAG_CHUNK_OVERLAP",
    "ingest_batch": "RAG_INGEST_BATCH",
    "store": "RAG_STORE",
    "ann_threshold": "RAG_ANN_THRESHOLD",
    "qdrant_url": "RAG_QDRANT_URL",
    "qdrant_api_key": "RAG_QDRANT_API_KEY",
    "k": "RAG_K",
    "generator": "RAG_GENERATOR",
    "min_relevance": "RAG_MIN_RELEVANCE",
    "local_model": "RAG_LOCAL_MODEL",
    "openai_base_url": "RAG_OPENAI_BASE_URL",
    "openai_model": "RAG_OPENAI_MODEL",
    "openai_api_key": "RAG_OPENAI_API_KEY",
    "llm_timeout": "RAG_LLM_TIMEOUT",
    "max_new_tokens": "RAG_MAX_NEW_TOKENS",
    "upload_max_mb": "RAG_UPLOAD_MAX_MB",
    "upload_max_files": "RAG_UPLOAD_MAX_FILES",
}
# The OpenAI client's own variables count too, below the RAG_ ones.
_FALLBACK_ENV = {"openai_base_url": "OPENAI_BASE_URL", "openai_api_key": "OPENAI_API_KEY"}


def _coerce(values: dict[str, Any]) -> dict[str, Any]:
    kinds = {f.name: f.type for f in fields(Settings)}
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name not in kinds:
            raise InputError(f"Unknown setting '{name}'; known settings: {', '.join(kinds)}.")
        kind = kinds[name]
        try:
            if kind == "Path":
                out[name] = Path(value).expanduser()
            elif kind == "int":
                out[name] = int(value)
            elif kind == "float":
                out[name] = float(value)
            else:
                out[name] = str(value)
        except (TypeError, ValueError):
            words = {"int": "a whole number", "float": "a number", "Path": "a path"}.get(kind, "text")
            raise InputError(f"Setting '{name}' must be {words}, not {value!r}.") from None
    return out


def load_settings(**flags: Any) -> Settings:
    """Build settings from defaults, ``$RAG_HOME/rag.toml``, ``RAG_*`` variables, then flags."""
    home = Path(os.environ.get("RAG_HOME") or _default_home()).expanduser()
    settings = Settings(home=home, index_dir=home / "index" / "default")
    config = Path(os.environ.get("RAG_CONFIG") or home / "rag.toml")
    if config.is_file():
        try:
            values = tomllib.loads(config.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"The config file {config} is not valid TOML: {exc}.") from None
        settings = settings.with_overrides(**values)
    env = {name: os.environ[var] for name, var in _FALLBACK_ENV.items() if os.environ.get(var)}
    env.update({name: os.environ[var] for name, var in _ENV.items() if os.environ.get(var)})
    return settings.with_overrides(**env).with_overrides(**flags)
