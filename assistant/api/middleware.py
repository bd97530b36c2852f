"""One ASGI middleware for what every response needs: a request id (X-Request-ID), security
headers, request metrics by route template, and a redacted JSON access-log line.

Pure ASGI rather than BaseHTTPMiddleware, so streamed responses pass through untouched.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any
from urllib.parse import unquote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.api.logs import request_id
from assistant.api.metrics import Metrics
from assistant.privacy import redact

access_log = logging.getLogger("woonzorgwijzer.access")
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
INCOMING_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
MAX_LOGGED_CHARS = 300


def _clean(raw: str) -> str:
    """A path or query as it may be logged: decoded, redacted, bounded."""
    text = redact(unquote(raw, errors="replace"))
    return text if len(text) <= MAX_LOGGED_CHARS else text[:MAX_LOGGED_CHARS] + "…"


class ObservabilityMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics, access: bool = True) -> None:
        self.app = app
        self.metrics = metrics
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode(
            "latin-1")
        rid = incoming if INCOMING_ID.fullmatch(incoming) else uuid.uuid4().hex[:16]
        request_id.set(rid)  # not reset: the 500 handler runs after this middleware
        started = time.perf_counter()
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() != b"x-request-id"]
                headers.append((b"x-request-id", rid.encode()))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            seconds = time.perf_counter() - started
            route: Any = scope.get("route")
            template = getattr(route, "path", None) or (
                "/static" if scope.get("path", "").startswith("/static/") else "unmatched")
            self.metrics.request(template, scope.get("method", ""), status, seconds)
            if self.access:
                access_log.info(
                    "%s %s %d", scope.get("method", ""), template, status,
                    extra={
                        "method": scope.get("method", ""),
                        "path": _clean(scope.get("path", "")),
                        "query": _clean(scope.get("query_string", b"").decode("latin-1")),
                        "route": template,
                        "status": status,
                        "duration_ms": round(seconds * 1000, 1),
                    },
                )
