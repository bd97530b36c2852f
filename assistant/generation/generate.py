"""Streamed, verified generation: tokens are buffered into sentences, each sentence is checked
against the excerpts it cites, and only backed sentences are passed on.

The generator yields a `SentenceEvent` for each kept sentence, a `DroppedEvent` for each
dropped one (with its reasons, for logging and the eval report; not for display) and, last,
a `FinalEvent` with the whole verification and whether the caller should fall back to the
extractive reply. Closing the iterator (a client that went away) closes the model stream,
which stops a local model at its next token.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

from langchain_core.language_models import BaseChatModel

from assistant.generation.prompting import TurnLike, build_messages
from assistant.generation.types import EvidencePassage, Verification, VerifiedAnswer
from assistant.generation.verify import (
    DocumentEmbedder,
    SentenceBuffer,
    Thresholds,
    Verifier,
    assemble,
    fallback_reason,
    is_fragment,
    is_refusal,
    parse_sentence,
)
from assistant.language.tokens import Analyzer


@dataclass(frozen=True)
class SentenceEvent:
    verification: Verification
    kind: Literal["sentence"] = "sentence"


@dataclass(frozen=True)
class DroppedEvent:
    verification: Verification
    kind: Literal["dropped"] = "dropped"


@dataclass(frozen=True)
class FinalEvent:
    """The end of a generation: what was kept, why the rest went, and the timings."""

    answer: VerifiedAnswer
    fallback: bool
    fallback_reason: str | None
    generator: str
    raw_text: str
    timings_ms: dict[str, float] = field(default_factory=dict)
    usage: dict[str, int] = field(default_factory=dict)
    kind: Literal["final"] = "final"


GenerationEvent = SentenceEvent | DroppedEvent | FinalEvent
# A blank line and a marker, or a new "Vraag:"/"Bronnen:" label, means the model has started to
# write sources or questions of its own instead of an answer: stop there.
STOP = ["\n\n[", "\nVraag:", "\nBronnen:"]
# As many sentences as an extractive answer holds; a small model that goes on copying its
# sources is stopped there (closing the stream ends the generation).
MAX_SENTENCES = 4


def generator_name(model: BaseChatModel) -> str:
    """A short label for the response's `generator` field ("local", "openai", or the type)."""
    kind = model._llm_type
    return {"xllamacpp": "local", "openai-chat": "openai"}.get(kind, kind)


def generate_answer(
    question: str,
    passages: Sequence[EvidencePassage],
    history: Sequence[TurnLike],
    chat_model: BaseChatModel,
    *,
    analyzer: Analyzer | None = None,
    embedder: DocumentEmbedder | None = None,
    thresholds: Thresholds | None = None,
    max_sentences: int | None = MAX_SENTENCES,
) -> Iterator[GenerationEvent]:
    """Stream verified sentences of a generated reply, then a final event. Generation stops
    once `max_sentences` sentences were kept (None: let the model finish)."""
    started = time.perf_counter()
    messages, seen = build_messages(question, passages, history)
    verifier = Verifier(seen, analyzer, embedder, thresholds)
    buffer = SentenceBuffer()
    verdicts: list[Verification] = []
    refused = False
    looping = False
    raw_parts: list[str] = []
    timings: dict[str, float] = {}
    usage: dict[str, int] = {}

    def elapsed() -> float:
        return round((time.perf_counter() - started) * 1000, 1)

    def judge(raws: list[str]) -> Iterator[GenerationEvent]:
        nonlocal refused, looping
        for raw in raws:
            if enough():
                return
            sentence = parse_sentence(raw)
            if any(sentence.text == v.text for v in verdicts):
                looping = True  # a repeated sentence: the model is going round in circles
                return
            if not sentence.body or is_fragment(sentence) or verifier.echoes_heading(sentence.body):
                continue
            if is_refusal(sentence.body):
                refused = True
                continue
            verdict = verifier.check(sentence)
            verdicts.append(verdict)
            if verdict.supported:
                timings.setdefault("first_sentence", elapsed())
                timings["last_sentence"] = elapsed()
                yield SentenceEvent(verdict)
            else:
                yield DroppedEvent(verdict)

    def enough() -> bool:
        """Enough kept; or as many dropped (the reply will fall back anyway); or the model
        repeats a sentence it already wrote (a loop small models fall into)."""
        if max_sentences is None:
            return False
        kept = sum(v.supported for v in verdicts)
        return looping or kept >= max_sentences or len(verdicts) - kept >= max_sentences

    stream = chat_model.stream(messages, stop=STOP)
    for chunk in stream:
        text = chunk.text
        metadata = getattr(chunk, "response_metadata", None) or {}
        if isinstance(metadata.get("usage"), dict):
            usage = {k: v for k, v in metadata["usage"].items() if isinstance(v, int)}
        usage_metadata = getattr(chunk, "usage_metadata", None)
        if usage_metadata:
            usage = {k: v for k, v in dict(usage_metadata).items() if isinstance(v, int)}
        if not text:
            continue
        timings.setdefault("first_token", elapsed())
        raw_parts.append(text)
        yield from judge(buffer.feed(text))
        if enough():
            break
    if enough():
        close = getattr(stream, "close", None)
        if close is not None:
            close()  # stops a local model at its next token
        timings["stopped_early"] = elapsed()
    else:
        yield from judge(buffer.flush())
    timings["total"] = elapsed()
    answer = assemble(verdicts, refused)
    reason = fallback_reason(answer)
    yield FinalEvent(
        answer=answer,
        fallback=reason is not None,
        fallback_reason=reason,
        generator=generator_name(chat_model),
        raw_text="".join(raw_parts),
        timings_ms=timings,
        usage=usage,
    )
