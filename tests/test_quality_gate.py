"""The regression gate: the product on the dev set must stay above evals/thresholds.json."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI

from assistant.api import create_app
from assistant.config import Settings
from evals.gate import check, load_thresholds, render
from evals.runner import RunOptions, run_evaluation

pytestmark = pytest.mark.integration


def test_dev_set_meets_the_floors(real_index: Settings, tmp_path: Path) -> None:
    thresholds = load_thresholds()

    def factory(config: str) -> FastAPI:
        assert config == thresholds["config"]
        return create_app(
            real_index.model_copy(
                update={"retrieval_mode": config, "sqlite_path": tmp_path / "gate.sqlite"}
            )
        )

    report = run_evaluation(
        RunOptions(question_set=thresholds["set"], configs=[thresholds["config"]]), factory
    )
    checks = check(report, thresholds)
    failed = [c for c in checks if not c.passed]
    assert checks and not failed, "\n" + render(checks)
