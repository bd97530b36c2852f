"""FastAPI dependencies as Annotated aliases, so route handlers stay one-liners: the shared
objects on app.state, the staff check (cookie or bearer token, CSRF for cookie writes) and
the per-client rate limits."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool

from assistant.api.errors import ApiError
from assistant.api.guards import RateLimiter, VectorStoreProbe, WorkQueue
from assistant.api.metrics import Metrics
from assistant.config import Settings
from assistant.feedback import FeedbackStore
from assistant.service import Assistant, HelpDesk
from assistant.storage.users import Credential, UserStore

SESSION_COOKIE = "wzw_sessie"
CSRF_HEADER = "X-CSRF-Token"


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def get_assistant(request: Request) -> Assistant:
    return request.app.state.assistant


def get_helpdesk(request: Request) -> HelpDesk:
    return request.app.state.helpdesk


def get_feedback(request: Request) -> FeedbackStore:
    return request.app.state.feedback


def get_users(request: Request) -> UserStore:
    return request.app.state.users


def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


def get_queue(request: Request) -> WorkQueue:
    return request.app.state.queue


def get_probe(request: Request) -> VectorStoreProbe:
    return request.app.state.probe


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
AssistantDep = Annotated[Assistant, Depends(get_assistant)]
HelpDeskDep = Annotated[HelpDesk, Depends(get_helpdesk)]
FeedbackDep = Annotated[FeedbackStore, Depends(get_feedback)]
UsersDep = Annotated[UserStore, Depends(get_users)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
QueueDep = Annotated[WorkQueue, Depends(get_queue)]
ProbeDep = Annotated[VectorStoreProbe, Depends(get_probe)]


@dataclass(frozen=True)
class Staff:
    """The logged-in staff member and how: a session cookie (needs CSRF) or a bearer token."""

    name: str
    via: str
    csrf: str | None = None
    token: str | None = None


def _unauthorized() -> ApiError:
    return ApiError(401, "Log in als medewerker om dit te gebruiken.",
                    {"WWW-Authenticate": 'Bearer realm="woonzorgwijzer"'})


async def current_staff(request: Request, users: UsersDep) -> Staff:
    authorization = request.headers.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    found: Credential | None
    if scheme.lower() == "bearer" and value.strip():
        token = value.strip()
        found = await run_in_threadpool(users.credential, token, "token")
        if found is None:
            raise _unauthorized()
        return Staff(found.name, "token", token=token)
    cookie = request.cookies.get(SESSION_COOKIE, "")
    found = await run_in_threadpool(users.credential, cookie, "session") if cookie else None
    if found is None:
        raise _unauthorized()
    return Staff(found.name, "cookie", found.csrf, cookie)


StaffDep = Annotated[Staff, Depends(current_staff)]


async def staff_write(request: Request, staff: StaffDep) -> Staff:
    """A state-changing request: with the cookie, the session's CSRF token must come along
    in a header, which a cross-site form or link cannot send (SameSite=Strict is the other
    half). A bearer token is never sent by a browser on its own, so it needs none."""
    if staff.via == "cookie":
        sent = request.headers.get(CSRF_HEADER, "")
        if not staff.csrf or not hmac.compare_digest(sent.encode(), staff.csrf.encode()):
            raise ApiError(403, "De CSRF-code ontbreekt of klopt niet. Laad de pagina opnieuw "
                           "en probeer het nog eens.")
    return staff


StaffWriteDep = Annotated[Staff, Depends(staff_write)]


def client_key(request: Request) -> str:
    """The peer address (uvicorn puts the real client there behind a trusted proxy)."""
    return request.client.host if request.client else "onbekend"


def rate_limit(bucket: str, limiter_name: str = "limiter") -> Callable[[Request],
                                                                      Awaitable[None]]:
    """A dependency that answers 429 with Retry-After once a client exceeds the limit."""

    async def check(request: Request) -> None:
        limiter: RateLimiter = getattr(request.app.state, limiter_name)
        wait = limiter.retry_after(bucket, client_key(request))
        if wait is not None:
            request.app.state.metrics.shed.labels("rate-limit").inc()
            raise ApiError(
                429,
                f"Te veel aanvragen achter elkaar vanaf uw adres. Probeer het over {wait} seconden "
                "opnieuw.",
                {"Retry-After": str(wait)},
            )

    return check
