"""The FastAPI app: shared objects on app.state, middleware, error handlers, one router per
resource, and the two pages."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from assistant.api import (
    ask,
    auth,
    documents,
    errors,
    feedback,
    health,
    instruments,
    stream,
    triage,
)
from assistant.api.guards import RateLimiter, VectorStoreProbe, WorkQueue
from assistant.api.metrics import Metrics
from assistant.api.middleware import ObservabilityMiddleware
from assistant.config import Settings, get_settings
from assistant.feedback import FeedbackStore
from assistant.privacy import install_log_redaction
from assistant.service import Assistant, HelpDesk, build_assistant
from assistant.storage.users import AccountError, UserStore

log = logging.getLogger(__name__)
WEB_DIR = Path(__file__).resolve().parent.parent / "web"
MAX_BODY_BYTES = 1 << 20


def _model_workers(settings: Settings) -> int:
    """As many as the service's compute semaphore lets run at once."""
    return max(1, (os.cpu_count() or 1) // max(1, settings.model_threads))


def _first_account(users: UserStore, settings: Settings) -> None:
    """ADMIN_PASSWORD creates ADMIN_USER once, when there is no account at all."""
    if settings.admin_password is None or users.count():
        return
    try:
        users.add(settings.admin_user, settings.admin_password.get_secret_value())
        log.info("account %s aangemaakt uit ADMIN_PASSWORD", settings.admin_user)
    except AccountError as exc:
        log.error("ADMIN_PASSWORD niet gebruikt: %s", exc)


SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer",
               "description": "Token van `assistant user token NAAM` (voor scripts)."},
    "sessie": {"type": "apiKey", "in": "cookie", "name": "wzw_sessie",
               "description": "Sessie na POST /api/auth/login; wijzigingen ook met X-CSRF-Token."},
}
PUBLIC_WITH_401 = frozenset({"/api/auth/login"})


def _finish_schema(app: FastAPI) -> None:
    """Error responses are JSON on every route, also where the success is CSV or text (FastAPI
    would document them with the route's own media type); routes that answer 401 declare
    the two ways to log in."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
            for route, path in schema.get("paths", {}).items():
                for operation in path.values():
                    if "401" in operation.get("responses", {}) and route not in PUBLIC_WITH_401:
                        operation["security"] = [{"bearer": []}, {"sessie": []}]
                    for code, response in operation.get("responses", {}).items():
                        content = response.get("content", {})
                        if code.startswith(("4", "5")) and "application/json" not in content:
                            response["content"] = {"application/json": next(iter(
                                content.values()))} if content else {}
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(settings: Settings | None = None, assistant: Assistant | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        install_log_redaction()
        yield

    app = FastAPI(
        title="Woonzorgwijzer",
        description="Antwoorden over wonen en zorg uit de officiële handreikingen, altijd met "
        "letterlijke bronvermelding; financiële instrumenten en triage van knelpunten. "
        "De wachtrij van meldingen en de exports zijn alleen voor ingelogde medewerkers "
        "(sessiecookie met header `X-CSRF-Token`, of `Authorization: Bearer <token>`).",
        version="0.1.0",
        lifespan=lifespan,
        max_body_size=MAX_BODY_BYTES,
    )
    metrics = Metrics()
    app.state.settings = settings
    app.state.assistant = assistant or build_assistant(settings)
    app.state.helpdesk = HelpDesk(settings, app.state.assistant)
    app.state.feedback = FeedbackStore(settings.sqlite_path)
    app.state.users = UserStore(settings.sqlite_path, settings.session_hours)
    app.state.metrics = metrics
    app.state.limiter = RateLimiter(settings.rate_limit)
    app.state.login_limiter = RateLimiter(settings.login_rate_limit)
    app.state.queue = WorkQueue(_model_workers(settings), settings.max_queue,
                                settings.request_timeout_s, metrics.shed.labels("queue-full").inc)
    app.state.probe = VectorStoreProbe(settings)
    metrics.watch_index(lambda: app.state.assistant.handle().manifest)
    _first_account(app.state.users, settings)

    errors.register(app)
    app.add_middleware(ObservabilityMiddleware, metrics=metrics, access=settings.access_log)
    for module in (health, ask, stream, documents, instruments, triage, feedback, auth):
        app.include_router(module.router)

    @app.get("/", include_in_schema=False)
    async def chat_page() -> FileResponse:
        return FileResponse(WEB_DIR / "index.html")

    @app.get("/triage", include_in_schema=False)
    async def triage_page() -> FileResponse:
        return FileResponse(WEB_DIR / "triage.html")

    _finish_schema(app)
    if WEB_DIR.is_dir():
        app.mount("/static", StaticFiles(directory=WEB_DIR), name="static")
    return app
