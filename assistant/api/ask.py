"""POST /api/ask: a question in, quoted passages (or an honest refusal) out."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from assistant.api.deps import AssistantDep, MetricsDep, ProbeDep, QueueDep, rate_limit
from assistant.api.errors import not_found, responses
from assistant.api.guards import model_work
from assistant.schemas import AskRequest, AskResponse
from assistant.service import UnknownDocument

router = APIRouter(tags=["vragen"])


@router.post(
    "/api/ask",
    response_model=AskResponse,
    dependencies=[Depends(rate_limit("ask"))],
    responses=responses(404, 413, 422, 429, 503, 504),
)
async def ask(body: AskRequest, assistant: AssistantDep, queue: QueueDep, probe: ProbeDep,
              metrics: MetricsDep) -> AskResponse:
    """Beantwoordt een vraag met letterlijke citaten, of weigert eerlijk."""
    try:
        response = await model_work(queue, probe, lambda: assistant.ask(body),
                                    metrics.shed.labels("vector-store").inc)
    except UnknownDocument as exc:
        raise not_found("document", str(exc.args[0]) if exc.args else "") from exc
    metrics.answer(response.timings_ms, response.refusal.reason if response.refusal else None)
    return response
