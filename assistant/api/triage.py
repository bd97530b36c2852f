"""Triage of reported knelpunten: submitting is public (the result comes back at once);
the queue, reading a report later, changing it and the CSV export are for staff."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse

from assistant.api.deps import (
    HelpDeskDep,
    MetricsDep,
    ProbeDep,
    QueueDep,
    StaffDep,
    StaffWriteDep,
    rate_limit,
)
from assistant.api.errors import not_found, responses
from assistant.api.guards import model_work
from assistant.schemas import (
    SLUG_PATTERN,
    TriageItem,
    TriageLabels,
    TriageList,
    TriageRequest,
    TriageUpdate,
)
from assistant.service import UnknownReport
from assistant.triage_store import MAX_LIMIT, MAX_OFFSET

router = APIRouter(tags=["triage"])
ReportId = Annotated[str, Path(max_length=64, description="Id of leesbaar nummer (KP-2026-0042).")]
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"description": "CSV (UTF-8), formules onschadelijk gemaakt.",
          "content": {"text/csv": {"schema": {"type": "string"}}}},
}


class CsvResponse(PlainTextResponse):
    media_type = "text/csv"

    def __init__(self, content: str, filename: str) -> None:
        super().__init__(content, media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f"attachment; filename={filename}",
            "Cache-Control": "no-store",
        })


@router.post("/api/triage", response_model=TriageItem,
             dependencies=[Depends(rate_limit("triage"))],
             responses=responses(413, 422, 429, 503, 504))
async def triage(body: TriageRequest, desk: HelpDeskDep, queue: QueueDep, probe: ProbeDep,
                 metrics: MetricsDep) -> TriageItem:
    """Labelt een melding, stelt ondersteuning voor en bewaart hem zonder persoonsgegevens.
    De indiener krijgt het resultaat hier; later teruglezen kan alleen een medewerker."""
    return await model_work(queue, probe, lambda: desk.submit(body.report),
                            metrics.shed.labels("vector-store").inc)


@router.get("/api/triage", response_model=TriageList, responses=responses(401, 422, 503))
async def triage_list(
    desk: HelpDeskDep,
    _: StaffDep,
    theme: Annotated[str | None, Query(max_length=64, pattern=SLUG_PATTERN)] = None,
    status: Literal["nieuw", "in-behandeling", "afgehandeld"] | None = None,
    urgent: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> TriageList:
    """De wachtrij, nieuwste eerst (alleen voor medewerkers)."""
    return await run_in_threadpool(
        desk.list, theme=theme, status=status, urgent=urgent, limit=limit, offset=offset)


@router.get("/api/triage/labels", response_model=TriageLabels, responses=responses(503))
async def triage_labels(desk: HelpDeskDep) -> TriageLabels:
    """Thema's, fases, statussen en ondersteuningsopties zoals de desk ze toont."""
    return await run_in_threadpool(desk.labels)


@router.get("/api/triage.csv", response_class=CsvResponse, status_code=200,
            responses={**CSV_RESPONSE, **responses(401)})
async def triage_csv(desk: HelpDeskDep, _: StaffDep) -> CsvResponse:
    """De hele wachtrij als CSV (alleen voor medewerkers)."""
    return CsvResponse(await run_in_threadpool(desk.export_csv), filename="triage.csv")


@router.get("/api/triage/{report_id}", response_model=TriageItem,
            responses=responses(401, 404, 422))
async def triage_get(report_id: ReportId, desk: HelpDeskDep, _: StaffDep) -> TriageItem:
    try:
        return await run_in_threadpool(desk.get, report_id)
    except UnknownReport as exc:
        raise not_found("melding", report_id) from exc


@router.patch("/api/triage/{report_id}", response_model=TriageItem,
              responses=responses(401, 403, 404, 413, 422))
async def triage_update(report_id: ReportId, body: TriageUpdate, desk: HelpDeskDep,
                        _: StaffWriteDep) -> TriageItem:
    """Status en notitie wijzigen (medewerkers; met de sessiecookie ook de header X-CSRF-Token)."""
    try:
        return await run_in_threadpool(desk.update, report_id, body.status, body.note)
    except UnknownReport as exc:
        raise not_found("melding", report_id) from exc
