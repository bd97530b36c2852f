"""Run records: every run keeps its per-item results, so any two runs can be compared.

`<reports>/runs/<UTC timestamp>/items.jsonl` holds one line per item and configuration
(set, config, generator, id, question or report, answer, citations, instruments or triage
labels, every metric's per-item value, timings; for a written answer also its verification
and the stream's times); `summary.json` the aggregated report.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ITEMS = "items.jsonl"
SUMMARY = "summary.json"
EXTRACTIVE = "extractive"


def row_label(config: str, generator: str | None = None) -> str:
    """A report row: the configuration, with `+<generator>` when it wrote its answers with a
    generator other than extractive (records without a generator are extractive)."""
    return config if generator in (None, "", EXTRACTIVE) else f"{config}+{generator}"


def summary_of(report: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in report.items() if key != "items"}


def write_run(report: Mapping[str, Any], runs_dir: Path) -> Path:
    """Write the record under runs_dir/<run_id> (a suffix if that name is taken)."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    name, suffix = str(report["run_id"]), 1
    while (runs_dir / name).exists():
        suffix += 1
        name = f"{report['run_id']}-{suffix}"
    folder = runs_dir / name
    folder.mkdir()
    (folder / ITEMS).write_text(
        "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in report.get("items", [])),
        encoding="utf-8",
    )
    (folder / SUMMARY).write_text(
        json.dumps({**summary_of(report), "run_id": name}, indent=2, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    return folder


def list_runs(runs_dir: Path) -> list[Path]:
    """Recorded runs, oldest first (names are UTC timestamps, so they sort by time)."""
    if not runs_dir.is_dir():
        return []
    return sorted(p for p in runs_dir.iterdir() if (p / ITEMS).is_file())


def resolve_run(reference: str, runs_dir: Path) -> Path:
    """A run given as a folder, its items.jsonl, or a (prefix of a) timestamp in runs_dir."""
    path = Path(reference)
    if path.is_file() and path.name == ITEMS:
        return path.parent
    if (path / ITEMS).is_file():
        return path
    recorded = list_runs(runs_dir)
    exact = [run for run in recorded if run.name == reference]
    matches = exact or [run for run in recorded if run.name.startswith(reference)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise FileNotFoundError(f"no run {reference!r} in {runs_dir}")
    raise ValueError(f"{reference!r} matches {len(matches)} runs: "
                     + ", ".join(run.name for run in matches))


def read_items(run: Path) -> list[dict[str, Any]]:
    lines = (run / ITEMS).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def read_summary(run: Path) -> dict[str, Any]:
    path = run / SUMMARY
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
