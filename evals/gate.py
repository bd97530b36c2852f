"""Quality gate: compare the product's dev-set metrics with the floors in thresholds.json."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.report import fmt, markdown_table

THRESHOLDS_PATH = Path(__file__).resolve().parent / "thresholds.json"
SECTIONS = ("questions", "triage")


@dataclass(frozen=True)
class Check:
    section: str
    metric: str
    value: float | None
    bound: str
    limit: float

    @property
    def passed(self) -> bool:
        """A metric that could not be measured (None) fails: the gate must not pass blind."""
        if self.value is None:
            return False
        return self.value >= self.limit if self.bound == "min" else self.value <= self.limit


def load_thresholds(path: Path = THRESHOLDS_PATH) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    for section in SECTIONS:
        for metric, bounds in data.get(section, {}).items():
            if not bounds or set(bounds) - {"min", "max"}:
                raise ValueError(f"{path.name}: {section}.{metric} needs 'min' and/or 'max'")
    return data


def check(report: Mapping[str, Any], thresholds: Mapping[str, Any]) -> list[Check]:
    """One check per bound; the values come from the configured product's overall row."""
    config = thresholds["config"]
    values = {
        "questions": report["configs"].get(config, {}).get("overall", {}),
        "triage": (report.get("triage") or {}).get("overall", {}),
    }
    return [
        Check(section, metric, values[section].get(metric), bound, float(limit))
        for section in SECTIONS
        for metric, bounds in thresholds.get(section, {}).items()
        for bound, limit in bounds.items()
    ]


def render(checks: list[Check]) -> str:
    rows = [
        [f"{c.section}.{c.metric}", fmt(c.value), f"{'≥' if c.bound == 'min' else '≤'} {c.limit:g}",
         "ok" if c.passed else "FAIL"]
        for c in checks
    ]
    return markdown_table(["metric", "value", "bound", "status"], rows)
