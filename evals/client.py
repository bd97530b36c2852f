"""One request of the harness: errors become values, 429/503 with Retry-After are waited out.

The same code serves FastAPI's in-process TestClient and httpx against a running server,
so both transports are measured identically. Wall time is that of the attempt that
produced the response; time spent waiting for a rate limit is counted apart. A streamed
answer (`/api/ask/stream`, server-sent events) is read event by event, each with the time
it arrived since the request was sent.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from itertools import chain
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


class StreamedResponse(Response, Protocol):
    def iter_lines(self) -> Iterator[str]: ...

    def read(self) -> bytes: ...


class StreamClient(Client, Protocol):
    """A client that can also read a response as it arrives (both httpx.Client and the
    TestClient can)."""

    def stream(self, method: str, url: str, *, json: Any = None
               ) -> AbstractContextManager[StreamedResponse]: ...


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


def _wait(response: Response, policy: RetryPolicy, waited: float, backoff: float
          ) -> tuple[float | None, float]:
    """Seconds to wait before retrying (None: give up) and the next backoff."""
    if response.status_code not in policy.statuses:
        return None, backoff
    wait = retry_after(response.headers.get("retry-after"))
    if wait is None and response.status_code == 429:
        wait, backoff = backoff, backoff * 2
    if wait is None:
        return None, backoff
    wait = min(wait, policy.max_single_wait_s)
    return (wait if waited + wait <= policy.max_total_wait_s else None), backoff


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
        wait, backoff = _wait(response, policy, waited, backoff)
        if wait is not None:
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


@dataclass(frozen=True)
class Event:
    """One server-sent event: its name, its JSON data and when it arrived (ms after the
    request was sent)."""

    name: str
    data: Any
    at_ms: float


@dataclass
class StreamExchange(Exchange):
    """A streamed request: `response` is the data of the `final` event."""

    events: list[Event] = field(default_factory=list)

    def first(self, name: str) -> Event | None:
        return next((e for e in self.events if e.name == name), None)

    def last(self, name: str) -> Event | None:
        return next((e for e in reversed(self.events) if e.name == name), None)


def parse_event(lines: list[str]) -> tuple[str, Any] | None:
    """An SSE block's event name and JSON data (None for a comment or keep-alive block)."""
    name, data = "message", []
    for line in lines:
        if line.startswith(":"):
            continue
        key, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if key == "event":
            name = value
        elif key == "data":
            data.append(value)
    if not data:
        return None
    text = "\n".join(data)
    try:
        return name, json.loads(text)
    except ValueError:
        return name, text


def read_events(lines: Iterator[str], started: float) -> Iterator[Event]:
    """Events from the lines of an event stream as they arrive."""
    block: list[str] = []
    for line in chain(lines, [""]):  # the trailing "" ends a last unterminated block
        if line.strip("\r"):
            block.append(line.rstrip("\r"))
            continue
        parsed = parse_event(block) if block else None
        block = []
        if parsed is not None:
            yield Event(parsed[0], parsed[1], (time.perf_counter() - started) * 1000)


def stream_call(client: StreamClient, url: str, body: dict[str, Any],
                policy: RetryPolicy | None = None, sleep: Callable[[float], None] = time.sleep
                ) -> StreamExchange:
    """POST and read the event stream to its end; wall time is the time to the `final`
    event (or to the end of the stream when none came)."""
    policy = policy or RetryPolicy()
    retries, waited, backoff = 0, 0.0, policy.backoff_s
    while True:
        started = time.perf_counter()
        events: list[Event] = []
        try:
            with client.stream("POST", url, json=body) as response:
                if response.status_code == 200:
                    events = list(read_events(response.iter_lines(), started))
                else:
                    response.read()
        except (httpx.HTTPError, OSError) as exc:
            wall_ms = (time.perf_counter() - started) * 1000
            return StreamExchange(None, wall_ms, f"{type(exc).__name__}: {exc}", retries,
                                  waited, events)
        wall_ms = (time.perf_counter() - started) * 1000
        wait, backoff = _wait(response, policy, waited, backoff)
        if wait is not None:
            sleep(wait)
            waited += wait
            retries += 1
            continue
        break
    if response.status_code != 200:
        gave_up = f" after {retries} retries ({waited:.1f} s)" if retries else ""
        return StreamExchange(None, wall_ms,
                              f"HTTP {response.status_code}{gave_up}: {response.text[:200]}",
                              retries, waited, events)
    final = next((e for e in reversed(events) if e.name == "final"), None)
    if final is None or not isinstance(final.data, dict):
        return StreamExchange(None, wall_ms, "the stream ended without a final event",
                              retries, waited, events)
    return StreamExchange(final.data, final.at_ms, None, retries, waited, events)
