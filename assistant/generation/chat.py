"""The generators behind LangChain's chat-model interface: a local GGUF model through
xllamacpp, or any OpenAI-compatible endpoint through `langchain-openai`.

xllamacpp's `Server.handle_chat_completions(request, callback)` applies the GGUF's chat
template and, with `"stream": True`, calls `callback` with one OpenAI-style chunk (a dict) per
token from the calling thread; a truthy return value stops the generation (checked in
xllamacpp's `process_handler_response`). It releases the GIL while it runs, so the call goes
to a worker thread and tokens reach the caller through a queue; closing the stream stops the
model at its next token. It also starts an HTTP listener on 127.0.0.1 that this module never
uses; a random API key keeps other local processes off it.
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    convert_to_openai_messages,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field, SecretStr

from assistant.config import Settings

log = logging.getLogger(__name__)

BUSY_MESSAGE = "Er wordt al een antwoord geschreven; stel uw vraag over een ogenblik opnieuw."


class GeneratorBusy(RuntimeError):
    """All generation slots stayed taken for the queue timeout (the API replies 503)."""

    def __init__(self, message: str = BUSY_MESSAGE) -> None:
        super().__init__(message)


class ModelMissing(FileNotFoundError):
    """The local model file is absent or was never verified by `make llm`."""


class _LocalRuntime:
    """One loaded model per (path, threads, context) and process, one generation at a time."""

    def __init__(self, path: str, threads: int, ctx: int) -> None:
        self.path, self.threads, self.ctx = path, threads, ctx
        self._server: Any = None
        self._load_lock = threading.Lock()
        self._slot = threading.Lock()
        self._count_lock = threading.Lock()
        self.waiting = 0
        self.load_seconds: float | None = None

    def server(self) -> Any:
        with self._load_lock:
            if self._server is None:
                import xllamacpp

                params = xllamacpp.CommonParams()
                params.model.path = self.path
                params.n_ctx = self.ctx
                params.n_parallel = 1
                params.cpuparams.n_threads = self.threads
                params.cpuparams_batch.n_threads = self.threads
                params.api_keys = [secrets.token_hex(16)]
                params.verbosity = -1
                started = time.perf_counter()
                self._server = xllamacpp.Server(params)
                self.load_seconds = time.perf_counter() - started
                log.info("local model loaded in %.1f s: %s", self.load_seconds, self.path)
            return self._server

    def acquire(self, timeout: float) -> None:
        with self._count_lock:
            self.waiting += 1
        try:
            if not self._slot.acquire(timeout=max(timeout, 0.0)):
                raise GeneratorBusy()
        finally:
            with self._count_lock:
                self.waiting -= 1

    def release(self) -> None:
        self._slot.release()

    @property
    def busy(self) -> bool:
        return self._slot.locked()


_RUNTIMES: dict[tuple[str, int, int], _LocalRuntime] = {}
_RUNTIMES_LOCK = threading.Lock()


def local_runtime(path: str, threads: int, ctx: int) -> _LocalRuntime:
    key = (str(Path(path).expanduser()), threads, ctx)
    with _RUNTIMES_LOCK:
        if key not in _RUNTIMES:
            _RUNTIMES[key] = _LocalRuntime(*key)
        return _RUNTIMES[key]


def _raise_on_error(payload: dict[str, Any]) -> None:
    if "error" in payload:
        error = payload["error"]
        detail = error.get("message", error) if isinstance(error, dict) else error
        raise RuntimeError(f"local model error: {detail}")


class LocalChatModel(BaseChatModel):
    """A GGUF chat model run in-process by xllamacpp, loaded once per process on first use."""

    model_path: str
    n_threads: int = 2
    n_ctx: int = 4096
    max_tokens: int = 320
    temperature: float = 0.0
    top_p: float = 0.9
    repeat_penalty: float = 1.1
    seed: int = 7
    queue_timeout_s: float = Field(
        default=30.0, description="How long a request waits for the busy model before 503."
    )

    @property
    def _llm_type(self) -> str:
        return "xllamacpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "n_ctx": self.n_ctx, "n_threads": self.n_threads}

    @property
    def runtime(self) -> _LocalRuntime:
        return local_runtime(self.model_path, self.n_threads, self.n_ctx)

    def preload(self) -> float:
        """Load the model now (at service start) instead of on the first question."""
        self.runtime.server()
        return self.runtime.load_seconds or 0.0

    def pending(self) -> int:
        """Requests running or waiting for the model: a queue position for the web page."""
        return self.runtime.waiting + int(self.runtime.busy)

    def _request(
        self, messages: list[BaseMessage], stop: list[str] | None, stream: bool, **kwargs: Any
    ) -> dict[str, Any]:
        request: dict[str, Any] = {
            "messages": convert_to_openai_messages(messages, text_format="string"),
            "max_tokens": kwargs.get("max_tokens", self.max_tokens),
            "temperature": kwargs.get("temperature", self.temperature),
            "top_p": self.top_p,
            "repeat_penalty": self.repeat_penalty,
            "seed": self.seed,
            "stream": stream,
        }
        if stop:
            request["stop"] = stop
        if stream:
            request["stream_options"] = {"include_usage": True}
        return request

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        runtime = self.runtime
        server = runtime.server()
        runtime.acquire(self.queue_timeout_s)
        try:
            response = server.handle_chat_completions(
                self._request(messages, stop, stream=False, **kwargs)
            )
        finally:
            runtime.release()
        _raise_on_error(response)
        choice = response["choices"][0]
        info = {
            "finish_reason": choice.get("finish_reason"),
            "usage": response.get("usage", {}),
            "timings": response.get("timings", {}),
        }
        message = AIMessage(content=choice["message"].get("content") or "", response_metadata=info)
        return ChatResult(generations=[ChatGeneration(message=message, generation_info=info)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        runtime = self.runtime
        server = runtime.server()
        runtime.acquire(self.queue_timeout_s)
        request = self._request(messages, stop, stream=True, **kwargs)
        chunks: queue.Queue[dict[str, Any] | BaseException | None] = queue.Queue()
        cancel = threading.Event()

        def on_chunk(payload: dict[str, Any]) -> bool:
            chunks.put(payload)
            return cancel.is_set()

        def work() -> None:
            try:
                server.handle_chat_completions(request, on_chunk)
            except BaseException as error:  # surfaced in the consuming thread
                chunks.put(error)
            finally:
                chunks.put(None)
                runtime.release()

        worker = threading.Thread(target=work, name="local-llm", daemon=True)
        worker.start()
        try:
            while (item := chunks.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                _raise_on_error(item)
                chunk = self._chunk(item)
                if chunk is None:
                    continue
                if run_manager and chunk.text:
                    run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                yield chunk
        finally:
            # A closed stream (client gone, caller stopped) ends the model at its next token.
            cancel.set()

    @staticmethod
    def _chunk(payload: dict[str, Any]) -> ChatGenerationChunk | None:
        choices = payload.get("choices") or []
        content = ""
        info: dict[str, Any] = {}
        if choices:
            content = choices[0].get("delta", {}).get("content") or ""
            if choices[0].get("finish_reason"):
                info["finish_reason"] = choices[0]["finish_reason"]
        if payload.get("usage"):
            info["usage"] = payload["usage"]
        if payload.get("timings"):
            info["timings"] = payload["timings"]
        if not content and not info:
            return None
        message = AIMessageChunk(content=content, response_metadata=info)
        return ChatGenerationChunk(message=message, generation_info=info or None)


def verified_model_path(path: str | Path) -> Path:
    """The local model file, accepted only with the stamp `scripts/fetch_llm.py` writes
    after checking its sha256 (and still of the size recorded there)."""
    model = Path(path).expanduser()
    stamp = model.with_name(model.name + ".verified")
    if not model.is_file() or not stamp.is_file():
        raise ModelMissing(f"local model not assembled at {model}: run `make llm`")
    fields = stamp.read_text().split()
    if len(fields) < 2 or int(fields[1]) != model.stat().st_size:
        raise ModelMissing(f"{model} differs from the verified file: run `make llm` again")
    return model


def chat_model(settings: Settings) -> BaseChatModel | None:
    """The configured generator as a LangChain chat model; None for `extractive`."""
    if settings.generator == "extractive":
        return None
    if settings.generator == "local":
        return LocalChatModel(
            model_path=str(verified_model_path(settings.llm_model_path)),
            n_threads=settings.llm_threads,
            n_ctx=settings.llm_ctx,
            max_tokens=settings.llm_max_tokens,
            queue_timeout_s=settings.request_timeout_s,
        )
    from langchain_openai import ChatOpenAI

    if not settings.openai_base_url or not settings.openai_model:
        raise ValueError("GENERATOR=openai needs OPENAI_BASE_URL and OPENAI_MODEL")
    # Self-hosted OpenAI-compatible servers (vLLM, Ollama, TGI) often need no key; the
    # client still requires one, and "EMPTY" is what vLLM documents for that case.
    key = settings.openai_api_key or SecretStr("EMPTY")
    return ChatOpenAI(
        base_url=settings.openai_base_url,
        model=settings.openai_model,
        api_key=key,
        temperature=0.0,
        max_completion_tokens=settings.llm_max_tokens,
        timeout=settings.request_timeout_s,
        max_retries=1,
        stream_usage=True,
    )
