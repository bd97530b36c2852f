"""POST /api/ask/stream: the evidence at once, then verified written sentences, then the whole
response, as server-sent events. A client that goes away stops the generation."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from assistant.api.deps import AssistantDep, MetricsDep, ProbeDep, QueueDep, rate_limit
from assistant.api.errors import not_found, responses
from assistant.api.guards import model_work
from assistant.generation.chat import GeneratorBusy
from assistant.generation.generate import FinalEvent, GenerationEvent, SentenceEvent
from assistant.schemas import AskRequest
from assistant.service import UnknownDocument, with_written_answer

router = APIRouter(tags=["vragen"])
EVENTS = (
    "Server-sent events: `evidence` (het volledige letterlijke antwoord met bronnen, zoals "
    "`/api/ask` het geeft), dan per gecontroleerde zin `sentence` ({text, cited}), en tot slot "
    "`final` (het volledige antwoord, met `generator` en `verification`). Bij een fout: `error`."
)


def _event(name: str, data: Any) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


@router.post(
    "/api/ask/stream",
    dependencies=[Depends(rate_limit("ask"))],
    responses={**responses(404, 413, 422, 429, 503, 504),
               200: {"description": EVENTS, "content": {"text/event-stream": {}}}},
    response_class=StreamingResponse,
)
async def ask_stream(body: AskRequest, request: Request, assistant: AssistantDep,
                     queue: QueueDep, probe: ProbeDep, metrics: MetricsDep) -> StreamingResponse:
    """Beantwoordt een vraag in delen: eerst de bronnen, dan de geschreven zinnen."""
    try:
        response, _ = await model_work(queue, probe, lambda: assistant.answer_with_evidence(body),
                                       metrics.shed.labels("vector-store").inc)
    except UnknownDocument as exc:
        raise not_found("document", str(exc.args[0]) if exc.args else "") from exc
    metrics.answer(response.timings_ms, response.refusal.reason if response.refusal else None)
    events: Iterator[GenerationEvent] = assistant.written(body, response)

    async def stream() -> AsyncIterator[str]:
        writing = response.answerable and assistant.settings.generator != "extractive"
        yield _event("evidence", {**response.model_dump(), "writing": writing})
        final: FinalEvent | None = None
        try:
            while True:
                event = await anyio.to_thread.run_sync(next, events, None)
                if event is None:
                    break
                if isinstance(event, SentenceEvent):
                    yield _event("sentence", {"text": event.verification.text,
                                              "cited": list(event.verification.cited)})
                elif isinstance(event, FinalEvent):
                    final = event
                if await request.is_disconnected():
                    return
        except GeneratorBusy as busy:
            yield _event("error", {"detail": str(busy)})
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                await anyio.to_thread.run_sync(close)
        yield _event("final", with_written_answer(response, final).model_dump())

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
