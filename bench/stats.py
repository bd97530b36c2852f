"""Latency summaries and process memory, shared by every benchmark phase."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from evals.metrics import percentile

QUANTILES = (50, 95, 99)


def summarize(values: Sequence[float]) -> dict[str, float | int | None]:
    """n, mean, max and p50/p95/p99 (linear interpolation), rounded to 0.1; None when empty."""
    summary: dict[str, float | int | None] = {"n": len(values)}
    for q in QUANTILES:
        found = percentile(values, q)
        summary[f"p{q}"] = None if found is None else round(found, 1)
    summary["mean"] = round(sum(values) / len(values), 1) if values else None
    summary["max"] = round(max(values), 1) if values else None
    return summary


def throughput(count: int, started: float, ended: float) -> float | None:
    """Completed requests per second over a window; None when the window is empty."""
    span = ended - started
    return round(count / span, 2) if count and span > 0 else None


def proc_memory_mb(pid: int | str = "self") -> dict[str, float]:
    """VmRSS (now) and VmHWM (peak) of a live process, in MiB, from /proc: no psutil needed."""
    values: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = round(int(rest.split()[0]) / 1024, 1)
    return values


def directory_mb(path: Path) -> float:
    """Apparent size of everything under `path`, in MiB."""
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            total += (Path(root) / name).stat().st_size
    return round(total / (1 << 20), 2)
