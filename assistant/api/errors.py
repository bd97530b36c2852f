"""Every error the API answers, in one shape (`ErrorBody`) with a Dutch message; one handler
per error type, and the OpenAPI description of each status code a route can answer."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.embedder import ModelUnavailable
from assistant.privacy import redact
from assistant.schemas import ErrorBody, FieldError
from assistant.service import InvalidRequest
from assistant.store import IndexMissing, IndexModelMismatch

log = logging.getLogger(__name__)

VALIDATION_MESSAGES = {
    "missing": "Dit veld ontbreekt.",
    "literal_error": "Ongeldige waarde: kies een van de toegestane waarden.",
    "string_type": "Dit veld moet tekst zijn.",
    "string_unicode": "De tekst bevat ongeldige Unicode-tekens; verstuur geldige UTF-8-tekst.",
    "string_pattern_mismatch": "Ongeldige waarde voor dit veld.",
    "string_too_short": "Dit veld mag niet leeg zijn.",
    "int_parsing": "Dit veld moet een geheel getal zijn.",
    "int_type": "Dit veld moet een geheel getal zijn.",
    "int_from_float": "Dit veld moet een geheel getal zijn.",
    "float_parsing": "Dit veld moet een getal zijn.",
    "float_type": "Dit veld moet een getal zijn.",
    "finite_number": "Dit veld moet een eindig getal zijn.",
    "list_type": "Dit veld moet een lijst zijn.",
    "too_long": "De lijst is te lang.",
    "greater_than_equal": "De waarde is te klein.",
    "greater_than": "De waarde is te klein.",
    "less_than_equal": "De waarde is te groot.",
    "less_than": "De waarde is te groot.",
    "string_too_long": "De tekst is te lang.",
    "json_invalid": "De aanvraag is geen geldige JSON.",
    "json_type": "De aanvraag is geen geldige JSON.",
    "model_attributes_type": "Verwacht een JSON-object.",
    "dict_type": "Verwacht een JSON-object.",
    "model_type": "Verwacht een JSON-object.",
    "bool_parsing": "Dit veld moet waar of onwaar zijn.",
    "bool_type": "Dit veld moet waar of onwaar zijn.",
    "extra_forbidden": "Onbekend veld: dit veld bestaat niet.",
    "none_required": "Dit veld moet leeg (null) zijn.",
}
# Types whose pydantic message is already our Dutch text (raised by assistant.schemas).
OWN_MESSAGES = frozenset({"text_invalid", "turn_too_long"})
STATUS_MESSAGES = {
    400: "De aanvraag is ongeldig.",
    401: "Log in als medewerker om dit te gebruiken.",
    403: "Dit mag u niet doen.",
    404: "Deze pagina of route bestaat niet.",
    405: "Deze methode is hier niet toegestaan.",
    406: "Deze inhoudsvorm wordt niet ondersteund.",
    413: "De aanvraag is te groot (maximaal 1 MB).",
    415: "Stuur de gegevens als JSON (Content-Type: application/json).",
    429: "Te veel aanvragen. Wacht even en probeer het opnieuw.",
    500: "Er ging iets mis op de server. Probeer het later opnieuw.",
    503: "De dienst is tijdelijk niet beschikbaar. Probeer het later opnieuw.",
    504: "Het antwoord duurde te lang. Probeer het opnieuw.",
}
DESCRIPTIONS = {
    401: "Niet ingelogd (geen of verlopen sessie, ongeldig token).",
    403: "Ingelogd, maar de CSRF-code ontbreekt of klopt niet.",
    404: "Onbekend item.",
    413: "Aanvraag groter dan 1 MB.",
    422: "Ongeldige invoer, met per veld de reden.",
    429: "Te veel aanvragen van deze client; probeer opnieuw na `Retry-After` seconden.",
    503: "Tijdelijk niet beschikbaar: geen index, de zoekdatabase onbereikbaar, of de wachtrij "
    "voor modelwerk is vol (dan met `Retry-After`).",
    504: "Het antwoord duurde langer dan de tijdslimiet.",
}
RETRY_AFTER = {"Retry-After": {"description": "Seconden tot een nieuwe poging zin heeft.",
                               "schema": {"type": "integer"}}}
SAFE_ECHO = re.compile(r"[\w.:-]{1,60}")


class ApiError(Exception):
    """An error with a status, a Dutch message and optional headers (Retry-After, …)."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


def echo(value: str) -> str:
    """A user-supplied id as it may appear in a message: redacted, and only when it is a
    short plain identifier; anything else is left out."""
    cleaned = redact(value)
    return cleaned if cleaned == value and SAFE_ECHO.fullmatch(value) else ""


def not_found(kind: str, value: str) -> ApiError:
    shown = echo(value)
    return ApiError(404, f"Onbekend {kind}: {shown}." if shown else f"Onbekend {kind}.")


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` for these status codes, all with the one error model."""
    documented: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        entry: dict[str, Any] = {"model": ErrorBody, "description": DESCRIPTIONS[code]}
        if code in (429, 503):
            entry["headers"] = RETRY_AFTER
        documented[code] = entry
    return documented


def dutch_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for error in exc.errors():
        field = ".".join(
            str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")
        )
        kind = str(error.get("type", ""))
        message = error.get("msg", "") if kind in OWN_MESSAGES else VALIDATION_MESSAGES.get(
            kind, "Ongeldige invoer.")
        if field.endswith("role"):
            message = "Ongeldige rol: gebruik 'user' of 'assistant'."
        elif field.endswith("status") and kind == "literal_error":
            message = "Ongeldige status: gebruik 'nieuw', 'in-behandeling' of 'afgehandeld'."
        elif field.endswith("rating"):
            message = "Ongeldige beoordeling: gebruik 'up' of 'down'."
        elif field == "history" and kind == "too_long":
            message = ("Het gesprek heeft te veel eerdere beurten; het maximum is 20. "
                       "Begin een nieuw gesprek.")
        elif field == "question" and kind == "string_too_long":
            message = "De vraag is te lang; het maximum is 2.000 tekens."
        elif field == "report" and kind == "string_too_long":
            message = "De melding is te lang; het maximum is 5.000 tekens."
        errors.append({"veld": field, "melding": message, "type": kind})
    return errors


def _body(detail: str, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    body = ErrorBody(detail=detail, errors=None if errors is None else [
        FieldError(**error) for error in errors])
    return body.model_dump(exclude_none=True)


def error_response(status: int, detail: str, headers: dict[str, str] | None = None,
                   errors: list[dict[str, Any]] | None = None) -> JSONResponse:
    return JSONResponse(_body(detail, errors), status_code=status, headers=headers)


def register(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = dutch_errors(exc)
        summary = "; ".join(f"{e['veld'] or 'aanvraag'}: {e['melding']}" for e in errors)
        return error_response(422, summary or "Ongeldige invoer.", errors=errors)

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.detail, exc.headers)

    @app.exception_handler(InvalidRequest)
    async def invalid(_: Request, exc: InvalidRequest) -> JSONResponse:
        return error_response(422, str(exc), errors=[
            {"veld": "", "melding": str(exc), "type": "invalid_request"}])

    @app.exception_handler(IndexMissing)
    async def missing(_: Request, exc: IndexMissing) -> JSONResponse:
        return error_response(503, str(exc))

    @app.exception_handler(IndexModelMismatch)
    async def mismatch(_: Request, exc: IndexModelMismatch) -> JSONResponse:
        return error_response(503, str(exc))

    @app.exception_handler(ModelUnavailable)
    async def no_model(_: Request, exc: ModelUnavailable) -> JSONResponse:
        return error_response(503, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        status = exc.status_code
        if status == 400:
            # FastAPI's "error parsing the body": bytes that are not UTF-8 or not JSON
            return error_response(422, "De aanvraag is geen geldige JSON in UTF-8.", errors=[
                {"veld": "", "melding": "De aanvraag is geen geldige JSON in UTF-8.",
                 "type": "json_invalid"}])
        detail = STATUS_MESSAGES.get(status, f"Fout {status}.")
        return error_response(status, detail, dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        from assistant.api.logs import request_id

        rid = request_id.get() or ""
        log.error("onverwachte fout in %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(
            500, f"Er ging iets mis op de server. Vermeld bij contact code {rid}.".replace(
                " code .", "."),
            {"X-Request-ID": rid} if rid else None,
        )
