"""Parameter sweeps behind the product's defaults: chunk size and rank-fusion weights.

`python -m evals.tune [--set all] [--skip-chunks]` evaluates each variant on the question
set through the same in-process API as `python -m evals run` and prints one table per
sweep (also written to evals/reports/tune.json). Chunk sizes need a fresh index each, so
that sweep embeds the corpus once per size.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from fastapi import FastAPI  # noqa: E402

from assistant.api import create_app  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.retrieve import FusionParams, HybridRetriever  # noqa: E402
from assistant.service import Assistant, build_components  # noqa: E402
from evals.report import fmt, markdown_table  # noqa: E402
from evals.runner import REPORTS_DIR, RunOptions, ensure_index, run_evaluation  # noqa: E402

CHUNK_SIZES = [(600, 150), (900, 200), (1200, 250), (1800, 400)]
FUSIONS = [FusionParams(k=k, lexical_weight=w) for k in (10.0, 60.0) for w in (0.5, 1.0, 2.0)]
COLUMNS = ["hit@1", "hit@5", "mrr", "key_fact_recall", "refusal_accuracy", "false_refusal_rate"]


def evaluate(question_set: str, factory: Callable[[str], FastAPI]) -> dict[str, Any]:
    report = run_evaluation(RunOptions(question_set=question_set, configs=["hybrid"]), factory)
    overall: dict[str, Any] = report["configs"]["hybrid"]["overall"]
    return {metric: overall.get(metric) for metric in COLUMNS}


def sweep_chunks(question_set: str, workdir: Path) -> dict[str, dict[str, Any]]:
    results = {}
    for max_chars, min_chars in CHUNK_SIZES:
        settings = Settings(
            data_dir=workdir / f"chunks-{max_chars}",
            chunk_max_chars=max_chars,
            chunk_min_chars=min_chars,
            sqlite_path=workdir / "tune.sqlite",
        )
        ensure_index(settings)

        def factory(_config: str, settings: Settings = settings) -> FastAPI:
            return create_app(settings)

        results[f"max {max_chars} / min {min_chars}"] = evaluate(question_set, factory)
    return results


def sweep_fusion(question_set: str, workdir: Path) -> dict[str, dict[str, Any]]:
    settings = Settings(sqlite_path=workdir / "tune.sqlite")
    ensure_index(settings)
    results = {}
    for params in FUSIONS:

        def factory(_config: str, params: FusionParams = params) -> FastAPI:
            components = build_components(settings)
            hybrid = components.retriever
            assert isinstance(hybrid, HybridRetriever)
            components.retriever = HybridRetriever(hybrid.dense, hybrid.lexical, params)
            return create_app(settings, Assistant(settings, components))

        results[f"k={params.k:g}, lexical weight {params.lexical_weight:g}"] = evaluate(
            question_set, factory
        )
    return results


def table(results: dict[str, dict[str, Any]]) -> str:
    return markdown_table(
        ["variant", *COLUMNS],
        [[name, *(fmt(row[c]) for c in COLUMNS)] for name, row in results.items()],
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m evals.tune", description=__doc__)
    parser.add_argument("--set", dest="question_set", default="all")
    parser.add_argument("--skip-chunks", action="store_true")
    parser.add_argument("--skip-fusion", action="store_true")
    args = parser.parse_args()
    output: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="tune-") as tmp:
        workdir = Path(tmp)
        if not args.skip_fusion:
            output["fusion"] = sweep_fusion(args.question_set, workdir)
            print("## Rank fusion\n\n" + table(output["fusion"]))
        if not args.skip_chunks:
            output["chunks"] = sweep_chunks(args.question_set, workdir)
            print("\n## Chunk size\n\n" + table(output["chunks"]))
    REPORTS_DIR.mkdir(parents=True, exist_ok=True)
    (REPORTS_DIR / "tune.json").write_text(json.dumps(output, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
