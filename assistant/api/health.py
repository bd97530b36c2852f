"""GET /healthz (ok / degraded / down, with the reasons) and GET /metrics (Prometheus)."""

from __future__ import annotations

import logging
import threading

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from assistant.api.deps import AssistantDep, MetricsDep, ProbeDep, QueueDep, SettingsDep
from assistant.api.guards import VectorStoreProbe
from assistant.config import Settings
from assistant.rules.taxonomy import build_taxonomy, read_taxonomy
from assistant.schemas import Health
from assistant.service import Assistant
from assistant.store import IndexHandle, IndexMissing, IndexModelMismatch

log = logging.getLogger(__name__)
router = APIRouter(tags=["status"])
_taxonomy_problems: dict[tuple[str, str], list[str]] = {}
_lock = threading.Lock()


def taxonomy_problems(settings: Settings, handle: IndexHandle) -> list[str]:
    """Taxonomy sources that no longer occur in this build (cached per build)."""
    key = (str(settings.corpus_dir), handle.build_id)
    with _lock:
        if key not in _taxonomy_problems:
            try:
                problems = build_taxonomy(read_taxonomy(settings.corpus_dir),
                                          handle.documents).problems
                _taxonomy_problems[key] = [f"taxonomie: {p}" for p in problems]
            except Exception as exc:  # an unreadable taxonomy disables triage, nothing else
                _taxonomy_problems[key] = [f"taxonomie onbruikbaar: {exc}"]
        return _taxonomy_problems[key]


def health(assistant: Assistant, settings: Settings, probe: VectorStoreProbe) -> Health:
    base = {"retrieval_mode": settings.retrieval_mode, "generator": settings.generator,
            "vector_store": "server" if probe.server_mode else "embedded"}
    store_problem = probe.problem()
    try:
        info = assistant.health()
        handle = assistant.handle()
    except (IndexMissing, IndexModelMismatch) as exc:
        return Health(status="down", problems=[str(exc)], **base)  # type: ignore[arg-type]
    except Exception as exc:
        if store_problem:  # comes back by itself when the server does
            return Health(status="degraded", problems=[store_problem], **base)  # type: ignore[arg-type]
        log.exception("index niet bruikbaar")
        reason = f"de index is niet bruikbaar ({type(exc).__name__})"
        return Health(status="down", problems=[reason], **base)  # type: ignore[arg-type]
    problems = [f"catalogus: {p}" for p in info.pop("problems", [])]
    problems += taxonomy_problems(settings, handle)
    if store_problem:
        problems.append(store_problem)
    info.pop("status", None)
    return Health(status="degraded" if problems else "ok", problems=problems,
                  **{**info, **base})


@router.get("/healthz", response_model=Health,
            responses={503: {"model": Health, "description": "down: niets kan beantwoord worden."}})
async def healthz(assistant: AssistantDep, settings: SettingsDep, probe: ProbeDep) -> Response:
    """ok, degraded (de dienst antwoordt, maar zie `problems`) of down (HTTP 503)."""
    report = await run_in_threadpool(health, assistant, settings, probe)
    return JSONResponse(report.model_dump(), status_code=503 if report.status == "down" else 200)


@router.get("/metrics", response_class=Response,
            responses={200: {"description": "Prometheus-tekstformaat.",
                             "content": {"text/plain": {"schema": {"type": "string"}}}}})
async def metrics(metrics: MetricsDep, queue: QueueDep) -> Response:
    """Verzoeken, latentie per route en per stap, indexgrootte, wachtrij en weigeringen."""
    metrics.queue_depth.set(queue.waiting)
    metrics.in_progress.set(queue.active)
    return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)
