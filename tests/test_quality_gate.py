"""The regression gate: the product on the set named in evals/thresholds.json (holdout) must
meet the bounds in that file; the failure message lists each missed bound and by how much."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI

from assistant.api import create_app
from assistant.config import Settings
from assistant.embedder import get_embedder
from evals.datasets import CORPUS_INDEX, resolve_set
from evals.gate import check, failures, load_thresholds, render
from evals.runner import FactoryApps, RunOptions, run_evaluation

pytestmark = pytest.mark.integration


def test_product_meets_the_thresholds(real_index: Settings, tmp_path: Path) -> None:
    thresholds = load_thresholds()
    assert all(s.index == CORPUS_INDEX for s in resolve_set(thresholds["set"]))

    def factory(config: str, index: str) -> FastAPI:
        assert (config, index) == (thresholds["config"], CORPUS_INDEX)
        return create_app(
            real_index.model_copy(
                update={"retrieval_mode": config, "sqlite_path": tmp_path / "gate.sqlite"}
            )
        )

    apps = FactoryApps(factory, get_embedder(real_index).clear_query_cache)
    report = run_evaluation(
        RunOptions(sets=[thresholds["set"]], configs=[thresholds["config"]]), apps
    )
    checks = check(report, thresholds)
    failed = [c for c in checks if not c.passed]
    assert checks and not failed, "\n" + failures(checks) + "\n\n" + render(checks)
