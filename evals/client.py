"""One request of the harness: errors become values, 429/503 with Retry-After are waited out.

The same code serves FastAPI's in-process TestClient and httpx against a running server,
so both transports are measured identically. Wall time is that of the attempt that
produced the response; time spent waiting for a rate limit is counted apart.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx


class Response(Protocol):
    @property
    def status_code(self) -> int: ...

    @property
    def text(self) -> str: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    def json(self) -> Any: ...


class Client(Protocol):
    """What the runner needs of httpx.Client and of Starlette's TestClient."""

    def request(self, method: str, url: str, *, json: Any = None) -> Response: ...


@dataclass(frozen=True)
class RetryPolicy:
    """429 is always retried (Retry-After, else a doubling backoff); 503 only when the server
    says when to come back (a 503 without Retry-After, e.g. no index, will not heal)."""

    statuses: tuple[int, ...] = (429, 503)
    max_total_wait_s: float = 60.0  # per request
    max_single_wait_s: float = 30.0
    backoff_s: float = 0.5


@dataclass
class Exchange:
    """One request: the JSON body on success, otherwise the error; wall time; retries."""

    response: dict[str, Any] | None
    wall_ms: float
    error: str | None = None
    retries: int = 0
    waited_s: float = 0.0


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def call(client: Client, method: str, url: str, body: dict[str, Any] | None = None,
         policy: RetryPolicy | None = None, sleep: Callable[[float], None] = time.sleep
         ) -> Exchange:
    policy = policy or RetryPolicy()
    retries, waited, backoff = 0, 0.0, policy.backoff_s
    while True:
        started = time.perf_counter()
        try:
            response = client.request(method, url, json=body)
        except (httpx.HTTPError, OSError) as exc:
            wall_ms = (time.perf_counter() - started) * 1000
            return Exchange(None, wall_ms, f"{type(exc).__name__}: {exc}", retries, waited)
        wall_ms = (time.perf_counter() - started) * 1000
        if response.status_code in policy.statuses:
            wait = retry_after(response.headers.get("retry-after"))
            if wait is None and response.status_code == 429:
                wait, backoff = backoff, backoff * 2
            if wait is not None:
                wait = min(wait, policy.max_single_wait_s)
                if waited + wait <= policy.max_total_wait_s:
                    sleep(wait)
                    waited += wait
                    retries += 1
                    continue
        break
    if response.status_code != 200:
        gave_up = f" after {retries} retries ({waited:.1f} s)" if retries else ""
        return Exchange(None, wall_ms,
                        f"HTTP {response.status_code}{gave_up}: {response.text[:200]}",
                        retries, waited)
    try:
        payload = response.json()
    except ValueError:
        return Exchange(None, wall_ms, "response is not JSON", retries, waited)
    if not isinstance(payload, dict):
        return Exchange(None, wall_ms, "response is not a JSON object", retries, waited)
    return Exchange(payload, wall_ms, None, retries, waited)
