"""Staff login for the desk: a session in an HttpOnly, SameSite=Strict cookie plus a CSRF
token for writes; scripts use a bearer token from `assistant user token NAME` instead."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from assistant.api.deps import SESSION_COOKIE, StaffWriteDep, UsersDep, current_staff, rate_limit
from assistant.api.errors import ApiError, responses
from assistant.schemas import LoginRequest, Session, SessionState

router = APIRouter(tags=["medewerkers"])


@router.post("/api/auth/login", response_model=Session,
             dependencies=[Depends(rate_limit("login", "login_limiter"))],
             responses=responses(401, 413, 422, 429))
async def login(body: LoginRequest, request: Request, response: Response,
                users: UsersDep) -> Session:
    """Inloggen als medewerker; zet de sessiecookie en geeft de CSRF-code voor wijzigingen."""
    if not await run_in_threadpool(users.verify, body.name, body.password):
        raise ApiError(401, "Onbekende naam of onjuist wachtwoord.")
    session = await run_in_threadpool(users.open_session, body.name)
    response.set_cookie(
        SESSION_COOKIE, session.token, max_age=session.max_age_s, path="/", httponly=True,
        samesite="strict", secure=request.url.scheme == "https",
    )
    return Session(name=body.name.strip().lower(), csrf_token=session.csrf,
                   expires_at=session.expires_at)





@router.get("/api/auth/session", response_model=SessionState)
async def session(request: Request, users: UsersDep) -> SessionState:
    """Of deze browser is ingelogd, en zo ja de CSRF-code van de sessie (de pagina houdt die
    alleen in het geheugen). Altijd 200, zodat de desk zonder foutmelding kan kijken."""
    try:
        staff = await current_staff(request, users)
    except ApiError:
        return SessionState(logged_in=False)
    found = await run_in_threadpool(
        users.credential, staff.token or "", "session" if staff.via == "cookie" else "token")
    return SessionState(logged_in=True, name=staff.name, csrf_token=staff.csrf,
                        expires_at=found.expires_at if found else None)


@router.post("/api/auth/logout", status_code=204, response_class=Response,
             responses=responses(401, 403))
async def logout(staff: StaffWriteDep, users: UsersDep) -> Response:
    """Uitloggen: de sessie vervalt op de server en de cookie wordt gewist."""
    if staff.via == "cookie" and staff.token:
        await run_in_threadpool(users.end, staff.token)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response
