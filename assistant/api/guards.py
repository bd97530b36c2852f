"""What stands in front of model work: a per-client rate limit, a bounded queue that says
"full" at once instead of letting latency grow, the request time limit, and a probe of the
Chroma server so an outage is a clear 503 rather than a stack trace."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import anyio
import httpx
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from assistant.api.errors import ApiError
from assistant.config import Settings
from assistant.embedder import ModelUnavailable
from assistant.service import InvalidRequest, UnknownDocument, UnknownInstrument, UnknownReport
from assistant.store import IndexMissing, IndexModelMismatch

T = TypeVar("T")
PROBE_TTL_S = 1.0
PROBE_TIMEOUT_S = 2.0


class RateLimiter:
    """A moving window per (bucket, client) in memory; 'off' (or empty) disables it."""

    def __init__(self, spec: str) -> None:
        spec = spec.strip()
        self.item: RateLimitItem | None = (
            None if spec.lower() in ("", "off", "0", "none") else parse(spec)
        )
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def retry_after(self, bucket: str, client: str) -> int | None:
        """None when the request may go ahead, else whole seconds until it may."""
        if self.item is None or self.limiter.hit(self.item, bucket, client):
            return None
        reset_at, _ = self.limiter.get_window_stats(self.item, bucket, client)
        return max(1, math.ceil(reset_at - time.time()))


class QueueFull(ApiError):
    pass


class WorkQueue:
    """At most `workers` requests compute at once (the service's own semaphore) and at most
    `max_waiting` wait; the next one is refused with an estimate of when to retry."""

    def __init__(self, workers: int, max_waiting: int, timeout_s: float,
                 on_full: Callable[[], None] | None = None) -> None:
        self.on_full = on_full
        self.workers = max(1, workers)
        self.capacity = self.workers + max(0, max_waiting)
        self.timeout_s = timeout_s
        self.active = 0
        self._lock = threading.Lock()
        self._mean_s = 1.0

    @property
    def waiting(self) -> int:
        return max(0, self.active - self.workers)

    def _enter(self) -> None:
        with self._lock:
            if self.active >= self.capacity:
                if self.on_full:
                    self.on_full()
                wait = self._mean_s * (self.active - self.workers + 1) / self.workers
                raise QueueFull(
                    503,
                    "Het is op dit moment te druk; uw vraag is niet in behandeling genomen. "
                    "Probeer het over enkele seconden opnieuw.",
                    {"Retry-After": str(max(1, math.ceil(wait)))},
                )
            self.active += 1

    def _leave(self, seconds: float) -> None:
        with self._lock:
            self.active -= 1
            self._mean_s = 0.8 * self._mean_s + 0.2 * seconds

    async def run(self, work: Callable[[], T]) -> T:
        """Run CPU work in a thread, within the time limit; the slot is held until the
        thread really finishes, also when the request gave up waiting for it (504)."""
        self._enter()

        def tracked() -> T:
            started = time.perf_counter()
            try:
                return work()
            finally:
                self._leave(time.perf_counter() - started)

        try:
            with anyio.fail_after(self.timeout_s):
                return await anyio.to_thread.run_sync(tracked, abandon_on_cancel=True)
        except TimeoutError as exc:
            raise ApiError(504, "Het antwoord duurde te lang. Probeer het opnieuw.") from exc


EXPECTED = (ApiError, InvalidRequest, IndexMissing, IndexModelMismatch, ModelUnavailable,
            UnknownDocument, UnknownInstrument, UnknownReport)


async def model_work(queue: WorkQueue, probe: VectorStoreProbe, work: Callable[[], T],
                     on_store_down: Callable[[], None] | None = None) -> T:
    """Queued, timed model work; an unexpected failure while the Chroma server is down
    becomes the Dutch 503 that says so."""
    try:
        return await queue.run(work)
    except EXPECTED:
        raise
    except Exception as exc:
        if probe.problem():
            if on_store_down:
                on_store_down()
            raise probe.unavailable() from exc
        raise


class VectorStoreProbe:
    """Whether the configured Chroma server answers its heartbeat (cached for a second)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._checked = 0.0
        self._problem: str | None = None
        self._lock = threading.Lock()

    @property
    def server_mode(self) -> bool:
        return bool(self.settings.chroma_host)

    def problem(self) -> str | None:
        if not self.server_mode:
            return None
        with self._lock:
            if time.monotonic() - self._checked < PROBE_TTL_S:
                return self._problem
        host, port = self.settings.chroma_host, self.settings.chroma_port
        try:
            httpx.get(f"http://{host}:{port}/api/v2/heartbeat",
                      timeout=PROBE_TIMEOUT_S).raise_for_status()
            problem = None
        except httpx.HTTPError:
            problem = f"de Chroma-server op {host}:{port} is niet bereikbaar"
        with self._lock:
            self._checked, self._problem = time.monotonic(), problem
        return problem

    def unavailable(self) -> ApiError:
        return ApiError(
            503,
            "De zoekdatabase is tijdelijk niet bereikbaar, daardoor kan er nu geen vraag "
            "beantwoord worden. Probeer het over een halve minuut opnieuw.",
            {"Retry-After": "30"},
        )
