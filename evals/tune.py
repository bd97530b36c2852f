"""Parameter sweeps behind the product's defaults: chunk size and rank-fusion weights.

`python -m evals.tune [--skip-chunks] [--skip-fusion]` evaluates each variant on the
**tune** set only (holdout and generalisation stay unseen while choosing defaults) through
the same in-process API as `python -m evals run` and prints one table per sweep with 95 %
bootstrap intervals (also written to evals/reports/tune.json). Chunk sizes need a fresh
index each, so that sweep embeds the corpus once per size.
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
from assistant.retrieval.fuse import FusionParams, HybridRetriever  # noqa: E402
from assistant.service import Assistant, build_components  # noqa: E402
from evals.datasets import CORPUS_INDEX  # noqa: E402
from evals.documents import Layout  # noqa: E402
from evals.indexes import cache_root, prepare_index  # noqa: E402
from evals.report import fmt_estimate, markdown_table  # noqa: E402
from evals.runner import (  # noqa: E402
    PRODUCT,
    REPORTS_DIR,
    FactoryApps,
    RunOptions,
    run_evaluation,
)

CHUNK_SIZES = [(600, 150), (900, 200), (1200, 250), (1800, 400)]
FUSIONS = [FusionParams(k=k, lexical_weight=w) for k in (10.0, 60.0) for w in (0.5, 1.0, 2.0)]
COLUMNS = ["hit@1", "hit@5", "mrr", "key_fact_recall", "refusal_accuracy", "false_refusal_rate"]


TUNE_SET = "tune"


def ensure_index(settings: Settings) -> None:
    """Build (or find unchanged) the variant's index."""
    from ingest.pipeline import run_ingest

    report = run_ingest(settings)
    if report.status == "failed":
        raise RuntimeError(f"ingest failed: {report.error}")


def evaluate(factory: Callable[[str, str], FastAPI], settings: Settings) -> dict[str, Any]:
    """The variant's metrics (with intervals) on the tune set, its query cache cleared."""
    from assistant.embedder import get_embedder

    apps = FactoryApps(factory, get_embedder(settings).clear_query_cache)
    report = run_evaluation(RunOptions(sets=[TUNE_SET], configs=[PRODUCT]), apps)
    overall: dict[str, Any] = report["results"][TUNE_SET][PRODUCT]["questions"]["overall"]
    return {metric: overall.get(metric) for metric in COLUMNS}


def sweep_chunks(workdir: Path) -> dict[str, dict[str, Any]]:
    results = {}
    for max_chars, min_chars in CHUNK_SIZES:
        settings = Settings(
            data_dir=workdir / f"chunks-{max_chars}",
            chunk_max_chars=max_chars,
            chunk_min_chars=min_chars,
            sqlite_path=workdir / "tune.sqlite",
        )
        ensure_index(settings)

        def factory(_config: str, _index: str, settings: Settings = settings) -> FastAPI:
            return create_app(settings)

        results[f"max {max_chars} / min {min_chars}"] = evaluate(factory, settings)
    return results


def sweep_fusion(workdir: Path) -> dict[str, dict[str, Any]]:
    indexed, _ = prepare_index(CORPUS_INDEX, Layout(), cache_root())
    settings = indexed.model_copy(update={"sqlite_path": workdir / "tune.sqlite"})
    results = {}
    for params in FUSIONS:

        def factory(_config: str, _index: str, params: FusionParams = params) -> FastAPI:
            components = build_components(settings)
            hybrid = components.retriever
            assert isinstance(hybrid, HybridRetriever)
            components.retriever = HybridRetriever(hybrid.dense, hybrid.lexical, params)
            return create_app(settings, Assistant(settings, components))

        results[f"k={params.k:g}, lexical weight {params.lexical_weight:g}"] = evaluate(
            factory, settings
        )
    return results


def table(results: dict[str, dict[str, Any]]) -> str:
    return markdown_table(
        ["variant", *COLUMNS],
        [[name, *(fmt_estimate(row[c], c) for c in COLUMNS)] for name, row in results.items()],
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m evals.tune", description=__doc__)
    parser.add_argument("--skip-chunks", action="store_true")
    parser.add_argument("--skip-fusion", action="store_true")
    args = parser.parse_args()
    output: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="tune-") as tmp:
        workdir = Path(tmp)
        if not args.skip_fusion:
            output["fusion"] = sweep_fusion(workdir)
            print("## Rank fusion\n\n" + table(output["fusion"]))
        if not args.skip_chunks:
            output["chunks"] = sweep_chunks(workdir)
            print("\n## Chunk size\n\n" + table(output["chunks"]))
    REPORTS_DIR.mkdir(parents=True, exist_ok=True)
    (REPORTS_DIR / "tune.json").write_text(json.dumps(output, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
