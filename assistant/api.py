"""HTTP API and the pages: thin handlers over assistant.service."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal, TypeVar

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles

from assistant.config import Settings, get_settings
from assistant.deps import AssistantDep, FeedbackDep, HelpDeskDep, SettingsDep
from assistant.embedder import ModelUnavailable
from assistant.feedback import FeedbackStore
from assistant.privacy import install_log_redaction
from assistant.schemas import (
    AskRequest,
    AskResponse,
    FeedbackRequest,
    FeedbackResponse,
    TriageItem,
    TriageLabels,
    TriageList,
    TriageRequest,
    TriageUpdate,
)
from assistant.service import (
    Assistant,
    HelpDesk,
    InvalidRequest,
    UnknownDocument,
    UnknownInstrument,
    UnknownReport,
    build_assistant,
    document_payload,
)
from assistant.store import IndexMissing, IndexModelMismatch

log = logging.getLogger(__name__)
WEB_DIR = Path(__file__).resolve().parent / "web"
MAX_BODY_BYTES = 1 << 20
T = TypeVar("T")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
VALIDATION_MESSAGES = {
    "missing": "Dit veld ontbreekt.",
    "literal_error": "Ongeldige waarde: kies een van de toegestane waarden.",
    "string_type": "Dit veld moet tekst zijn.",
    "int_parsing": "Dit veld moet een geheel getal zijn.",
    "int_type": "Dit veld moet een geheel getal zijn.",
    "list_type": "Dit veld moet een lijst zijn.",
    "greater_than_equal": "De waarde is te klein.",
    "less_than_equal": "De waarde is te groot.",
    "string_too_long": "De tekst is te lang.",
    "json_invalid": "De aanvraag is geen geldige JSON.",
    "model_attributes_type": "Verwacht een JSON-object.",
    "bool_parsing": "Dit veld moet waar of onwaar zijn.",
}


async def _run(settings: Settings, work: Callable[[], T]) -> T:
    """CPU work off the event loop, with the per-request time limit uvicorn lacks."""
    try:
        async with asyncio.timeout(settings.request_timeout_s):
            return await run_in_threadpool(work)
    except TimeoutError as exc:
        raise HTTPException(504, "Het antwoord duurde te lang. Probeer het opnieuw.") from exc


def _dutch_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for error in exc.errors():
        field = ".".join(
            str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")
        )
        message = VALIDATION_MESSAGES.get(error.get("type", ""), "Ongeldige invoer.")
        if field.endswith("role"):
            message = "Ongeldige rol: gebruik 'user' of 'assistant'."
        elif field.endswith("status"):
            message = "Ongeldige status: gebruik 'nieuw', 'in-behandeling' of 'afgehandeld'."
        elif field.endswith("rating"):
            message = "Ongeldige beoordeling: gebruik 'up' of 'down'."
        errors.append({"veld": field, "melding": message, "type": error.get("type")})
    return errors


def register_errors(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _dutch_errors(exc)
        summary = "; ".join(f"{e['veld'] or 'aanvraag'}: {e['melding']}" for e in errors)
        return JSONResponse({"detail": summary, "errors": errors}, status_code=422)

    @app.exception_handler(InvalidRequest)
    async def invalid(_: Request, exc: InvalidRequest) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(IndexMissing)
    async def missing(_: Request, exc: IndexMissing) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503)

    @app.exception_handler(IndexModelMismatch)
    async def mismatch(_: Request, exc: IndexModelMismatch) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503)

    @app.exception_handler(ModelUnavailable)
    async def no_model(_: Request, exc: ModelUnavailable) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503)


def create_app(settings: Settings | None = None, assistant: Assistant | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        install_log_redaction()
        yield

    app = FastAPI(
        title="Woonzorgwijzer",
        description="Antwoorden over wonen en zorg uit de officiële handreikingen, altijd met "
        "letterlijke bronvermelding; financiële instrumenten en triage van knelpunten.",
        version="0.1.0",
        lifespan=lifespan,
        max_body_size=MAX_BODY_BYTES,
    )
    app.state.settings = settings
    app.state.assistant = assistant or build_assistant(settings)
    app.state.helpdesk = HelpDesk(settings, app.state.assistant)
    app.state.feedback = FeedbackStore(settings.sqlite_path)
    register_errors(app)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[..., Any]) -> Response:
        response: Response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    register_routes(app)
    if WEB_DIR.is_dir():
        app.mount("/static", StaticFiles(directory=WEB_DIR), name="static")
    return app


def register_routes(app: FastAPI) -> None:
    @app.get("/healthz", tags=["status"])
    async def healthz(assistant: AssistantDep) -> dict[str, Any]:
        return assistant.health()

    @app.post("/api/ask", response_model=AskResponse, tags=["vragen"])
    async def ask(body: AskRequest, assistant: AssistantDep, settings: SettingsDep) -> AskResponse:
        """Beantwoordt een vraag met letterlijke citaten, of weigert eerlijk."""
        try:
            return await _run(settings, lambda: assistant.ask(body))
        except UnknownDocument as exc:
            raise HTTPException(404, f"Onbekend document: {exc.args[0]}") from exc

    @app.get("/api/documents", tags=["documenten"])
    async def documents(assistant: AssistantDep) -> list[dict[str, Any]]:
        return assistant.documents()

    @app.get("/api/documents/{doc_id}", tags=["documenten"])
    async def document(doc_id: str, assistant: AssistantDep) -> dict[str, Any]:
        try:
            return document_payload(assistant.document(doc_id))
        except UnknownDocument as exc:
            raise HTTPException(404, f"Onbekend document: {doc_id}") from exc

    @app.get("/api/instruments", response_model=list[dict[str, Any]], tags=["instrumenten"])
    async def instruments(assistant: AssistantDep) -> list[dict[str, Any]]:
        return assistant.catalogue_entries()

    @app.get("/api/instruments/{instrument_id}", tags=["instrumenten"])
    async def instrument(instrument_id: str, assistant: AssistantDep) -> dict[str, Any]:
        try:
            return assistant.catalogue_entry(instrument_id)
        except UnknownInstrument as exc:
            raise HTTPException(404, f"Onbekend instrument: {instrument_id}") from exc

    @app.post("/api/triage", response_model=TriageItem, tags=["triage"])
    async def triage(body: TriageRequest, desk: HelpDeskDep, settings: SettingsDep) -> TriageItem:
        """Labelt een melding, stelt ondersteuning voor en bewaart hem zonder persoonsgegevens."""
        return await _run(settings, lambda: desk.submit(body.report))

    @app.get("/api/triage", response_model=TriageList, tags=["triage"])
    async def triage_list(
        desk: HelpDeskDep,
        theme: str | None = None,
        status: Literal["nieuw", "in-behandeling", "afgehandeld"] | None = None,
        urgent: bool | None = None,
        limit: int = Query(50, ge=1, le=500),
        offset: int = Query(0, ge=0),
    ) -> TriageList:
        return desk.list(theme=theme, status=status, urgent=urgent, limit=limit, offset=offset)

    @app.get("/api/triage/labels", response_model=TriageLabels, tags=["triage"])
    async def triage_labels(desk: HelpDeskDep) -> TriageLabels:
        """Thema's, fases, statussen en ondersteuningsopties zoals de desk ze toont."""
        return desk.labels()

    @app.get("/api/triage.csv", tags=["triage"])
    async def triage_csv(desk: HelpDeskDep) -> PlainTextResponse:
        return PlainTextResponse(
            desk.export_csv(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": "attachment; filename=triage.csv"},
        )

    @app.get("/api/triage/{report_id}", response_model=TriageItem, tags=["triage"])
    async def triage_get(report_id: str, desk: HelpDeskDep) -> TriageItem:
        try:
            return desk.get(report_id)
        except UnknownReport as exc:
            raise HTTPException(404, f"Onbekende melding: {report_id}") from exc

    @app.patch("/api/triage/{report_id}", response_model=TriageItem, tags=["triage"])
    async def triage_update(report_id: str, body: TriageUpdate, desk: HelpDeskDep) -> TriageItem:
        try:
            return desk.update(report_id, status=body.status, note=body.note)
        except UnknownReport as exc:
            raise HTTPException(404, f"Onbekende melding: {report_id}") from exc

    @app.post("/api/feedback", response_model=FeedbackResponse, tags=["feedback"])
    async def feedback(body: FeedbackRequest, store: FeedbackDep) -> FeedbackResponse:
        row = store.add(
            body.rating,
            body.question,
            body.answer,
            [c.model_dump() for c in body.citations],
            body.reason,
            body.replaces,
        )
        return FeedbackResponse(id=row["id"], created_at=row["created_at"])

    @app.get("/api/feedback.csv", tags=["feedback"])
    async def feedback_csv(store: FeedbackDep) -> PlainTextResponse:
        return PlainTextResponse(
            store.export_csv(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": "attachment; filename=feedback.csv"},
        )

    @app.get("/", include_in_schema=False)
    async def chat_page() -> FileResponse:
        return FileResponse(WEB_DIR / "index.html")

    @app.get("/triage", include_in_schema=False)
    async def triage_page() -> FileResponse:
        return FileResponse(WEB_DIR / "triage.html")
