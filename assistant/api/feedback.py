"""POST /api/feedback (public: a vote per answer) and GET /api/feedback.csv (staff only)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from assistant.api.deps import FeedbackDep, StaffDep
from assistant.api.errors import responses
from assistant.api.triage import CSV_RESPONSE, CsvResponse
from assistant.schemas import FeedbackRequest, FeedbackResponse

router = APIRouter(tags=["feedback"])


@router.post("/api/feedback", response_model=FeedbackResponse, responses=responses(413, 422))
async def feedback(body: FeedbackRequest, store: FeedbackDep) -> FeedbackResponse:
    """Duim omhoog of omlaag bij een antwoord; persoonsgegevens worden eerst verwijderd."""
    row = await run_in_threadpool(
        store.add, body.rating, body.question, body.answer,
        [c.model_dump() for c in body.citations], body.reason, body.replaces,
    )
    return FeedbackResponse(id=row["id"], created_at=row["created_at"])


@router.get("/api/feedback.csv", response_class=CsvResponse, status_code=200,
            responses={**CSV_RESPONSE, **responses(401)})
async def feedback_csv(store: FeedbackDep, _: StaffDep) -> CsvResponse:
    """Alle beoordelingen als CSV (alleen voor medewerkers); formules onschadelijk gemaakt."""
    return CsvResponse(await run_in_threadpool(store.export_csv), filename="feedback.csv")
