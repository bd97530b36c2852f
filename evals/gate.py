"""Quality gate: the product's metrics on one set (holdout) against thresholds.json.

Floors (`min`) and ceilings (`max`) per metric; a metric that cannot be measured fails, so
the gate never passes blind. Each failure says by how much it missed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.report import fmt, fmt_estimate, markdown_table
from evals.scoring import METRICS

THRESHOLDS_PATH = Path(__file__).resolve().parent / "thresholds.json"
SECTIONS = ("questions", "triage")


@dataclass(frozen=True)
class Check:
    section: str
    metric: str
    value: float | None
    bound: str
    limit: float
    estimate: Mapping[str, Any] | None = None

    @property
    def passed(self) -> bool:
        if self.value is None:
            return False
        return self.value >= self.limit if self.bound == "min" else self.value <= self.limit

    @property
    def missed_by(self) -> float | None:
        """How far the value is on the wrong side of the bound (None when unmeasured)."""
        if self.value is None:
            return None
        return max(0.0, self.limit - self.value if self.bound == "min"
                   else self.value - self.limit)

    def describe(self) -> str:
        symbol = "≥" if self.bound == "min" else "≤"
        digits = 0 if METRICS[self.metric].kind == "sum" else 2
        name = f"{self.section}.{self.metric}"
        if self.value is None:
            return f"FAIL {name}: not measured (bound {symbol} {self.limit:g})"
        status = "ok" if self.passed else "FAIL"
        text = f"{status} {name}: {fmt(self.value, digits)} (bound {symbol} {self.limit:g}"
        if not self.passed:
            text += f", missed by {fmt(self.missed_by, digits)}"
        return text + ")"


def load_thresholds(path: Path = THRESHOLDS_PATH) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    for key in ("config", "set"):
        if not isinstance(data.get(key), str):
            raise ValueError(f"{path.name}: needs {key!r}")
    for section in SECTIONS:
        for metric, bounds in data.get(section, {}).items():
            if metric not in METRICS:
                raise ValueError(f"{path.name}: unknown metric {section}.{metric}")
            if not bounds or set(bounds) - {"min", "max"}:
                raise ValueError(f"{path.name}: {section}.{metric} needs 'min' and/or 'max'")
    return data


def check(report: Mapping[str, Any], thresholds: Mapping[str, Any]) -> list[Check]:
    """One check per bound, on the configured product's overall row of the configured set."""
    summary = report["results"].get(thresholds["set"], {}).get(thresholds["config"], {})
    checks: list[Check] = []
    for section in SECTIONS:
        overall = (summary.get(section) or {}).get("overall", {})
        for metric, bounds in thresholds.get(section, {}).items():
            entry = overall.get(metric)
            value = entry.get("value") if isinstance(entry, Mapping) else None
            checks.extend(Check(section, metric, value, bound, float(limit), entry)
                          for bound, limit in bounds.items())
    return checks


def render(checks: list[Check]) -> str:
    rows = [
        [f"{c.section}.{c.metric}", fmt_estimate(c.estimate, c.metric),
         f"{'≥' if c.bound == 'min' else '≤'} {c.limit:g}",
         "ok" if c.passed else f"FAIL (by {fmt(c.missed_by)})"]
        for c in checks
    ]
    return markdown_table(["metric", "value [95 %]", "bound", "status"], rows)


def failures(checks: list[Check]) -> str:
    """One line per failed bound: value, bound and by how much it missed."""
    return "\n".join(c.describe() for c in checks if not c.passed)
