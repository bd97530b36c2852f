"""Prometheus metrics of one app: requests, latency per route and per answer stage, index
size, model-work queue, refusals and shed load. Each app has its own registry, so tests can
build many apps in one process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

PREFIX = "woonzorgwijzer"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
STAGES = ("retrieve", "decide", "answer", "instruments", "total")


class _IndexCollector(Collector):
    """Index size read at scrape time from the current build's manifest."""

    def __init__(self, manifest: Callable[[], dict[str, Any] | None]) -> None:
        self.manifest = manifest

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            manifest = self.manifest() or {}
        except Exception:  # no index: the gauges are simply absent
            manifest = {}
        for key in ("documents", "chunks", "units"):
            if key in manifest:
                family = GaugeMetricFamily(f"{PREFIX}_index_{key}",
                                           f"{key} in the index being served")
                family.add_metric([], float(manifest[key]))
                yield family


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            f"{PREFIX}_requests", "HTTP requests by route template, method and status",
            ["route", "method", "status"], registry=self.registry,
        )
        self.latency = Histogram(
            f"{PREFIX}_request_seconds", "HTTP request latency by route template",
            ["route", "method"], buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.stages = Histogram(
            f"{PREFIX}_stage_seconds", "Time per stage of answering a question (timings_ms)",
            ["stage"], buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.refusals = Counter(
            f"{PREFIX}_refusals", "Questions answered with a refusal, by reason",
            ["reason"], registry=self.registry,
        )
        self.answers = Counter(
            f"{PREFIX}_answers", "Questions answered with quoted passages", registry=self.registry,
        )
        self.shed = Counter(
            f"{PREFIX}_rejected", "Requests turned away before any work, by reason "
            "(rate-limit, queue-full, vector-store)", ["reason"], registry=self.registry,
        )
        self.queue_depth = Gauge(
            f"{PREFIX}_queue_depth", "Requests waiting for model work", registry=self.registry,
        )
        self.in_progress = Gauge(
            f"{PREFIX}_model_work_in_progress", "Requests running or waiting for model work",
            registry=self.registry,
        )

    def watch_index(self, manifest: Callable[[], dict[str, Any] | None]) -> None:
        self.registry.register(_IndexCollector(manifest))

    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, method).observe(seconds)

    def answer(self, timings_ms: dict[str, float], refusal: str | None) -> None:
        for stage in STAGES:
            if stage in timings_ms:
                self.stages.labels(stage).observe(timings_ms[stage] / 1000.0)
        if refusal:
            self.refusals.labels(refusal).inc()
        else:
            self.answers.inc()

    def render(self) -> bytes:
        return bytes(generate_latest(self.registry))
