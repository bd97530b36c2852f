"""Run-to-run diffs: changed items per metric with both answers, sealed sets only counted,
everything escaped in the HTML page, and the command line's choice of runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi import FastAPI

from evals.__main__ import main
from evals.diff import diff_items, render_html, render_markdown
from evals.documents import Layout
from evals.records import ITEMS, list_runs, read_items, resolve_run
from evals.report import write_reports
from evals.runner import FactoryApps, RunOptions, run_evaluation
from tests.eval_support import fake_app, make_layout

HOSTILE = "<script>alert('x')</script> | kolom & meer"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Layout]:
    """Two recorded runs: in the second the product ranks a distractor first (as bm25)."""
    tmp_path = tmp_path_factory.mktemp("diff")
    layout = make_layout(tmp_path / "fixture")
    out = tmp_path / "reports"
    for worse in (False, True):
        def build(config: str, index: str, worse: bool = worse) -> FastAPI:
            return fake_app("bm25" if worse and config == "hybrid" else config, index, layout)

        report = run_evaluation(RunOptions(sets=["tune", "holdout"], configs=["hybrid", "dense"]),
                                FactoryApps(build), layout)
        if worse:
            for item in report["items"]:
                if item["id"] == "t1" and item["config"] == "hybrid":
                    item["answer"] = HOSTILE + " " + item["answer"]
        write_reports(report, out)
    return out / "runs", layout


def test_changed_items_per_metric(runs: tuple[Path, Layout]) -> None:
    runs_dir, _ = runs
    first, second = list_runs(runs_dir)
    result = diff_items(read_items(first), read_items(second), first.name, second.name)
    by_metric = {(e.set_name, e.config, e.metric.name): e for e in result.metrics}
    hit = by_metric[("tune", "hybrid", "hit@1")]
    assert [c.item_id for c in hit.worse] == ["t1", "t3", "t4"] and hit.better == []
    assert (hit.worse[0].before, hit.worse[0].after) == (1.0, 0.0)
    assert hit.comparison["diff"] == -1.0 and not hit.comparison["within_noise"]
    assert not any(e.config == "dense" for e in result.metrics)  # unchanged: not listed
    holdout = by_metric[("holdout", "hybrid", "hit@1")]
    assert holdout.sealed and len(holdout.worse) == 2
    markdown = render_markdown(result)
    assert "## tune / hybrid / hit@1: 0 better, 3 worse" in markdown
    assert "| t1 (worse) | Wat doet de Blijverslening? | 1.00: De Blijverslening" in markdown
    assert "\\| kolom" in markdown  # a pipe in an answer cannot break the table
    assert "## holdout / hybrid / hit@1: 0 better, 2 worse" in markdown
    assert "Sealed set: items not shown" in markdown and "h1 (worse)" not in markdown
    shown = render_markdown(diff_items(read_items(first), read_items(second), show_sealed=True))
    assert "h1 (worse)" in shown


def test_html_escapes_everything(runs: tuple[Path, Layout]) -> None:
    runs_dir, _ = runs
    first, second = list_runs(runs_dir)
    page = render_html(diff_items(read_items(first), read_items(second), "<a>", "b&"))
    assert "<script>" not in page and "&lt;script&gt;alert(&#x27;x&#x27;)" in page
    assert "&lt;a&gt; → b&amp;" in page and page.startswith("<!doctype html>")


def test_filters_and_identical_runs(runs: tuple[Path, Layout]) -> None:
    runs_dir, _ = runs
    first, second = list_runs(runs_dir)
    only = diff_items(read_items(first), read_items(second), metric_names=["mrr"],
                      sets=["tune"])
    assert {(e.set_name, e.metric.name) for e in only.metrics} == {("tune", "mrr")}
    same = diff_items(read_items(first), read_items(first))
    assert same.metrics == [] and "No metric changed" in render_markdown(same)
    partial = diff_items(read_items(first)[:-1], read_items(first))
    assert sum(partial.only_b.values()) == 1


def test_cli_diff_defaults_to_the_last_two_runs(runs: tuple[Path, Layout], tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    runs_dir, _ = runs
    first, second = list_runs(runs_dir)
    out = tmp_path / "diffs"
    assert main(["diff", "--runs-dir", str(runs_dir), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"# Run diff: {first.name} → {second.name}")
    assert (out / f"diff-{first.name}-vs-{second.name}.html").is_file()
    assert main(["diff", first.name, "--runs-dir", str(runs_dir), "--out", str(out)]) == 0
    assert main(["diff", str(second), str(first / ITEMS), "--runs-dir", str(runs_dir),
                 "--out", str(out)]) == 0
    assert f"# Run diff: {second.name} → {first.name}" in capsys.readouterr().out
    summary = json.loads((second / "summary.json").read_text(encoding="utf-8"))
    assert summary["run_id"] == second.name


def test_run_names_resolve(runs: tuple[Path, Layout]) -> None:
    runs_dir, _ = runs
    first, second = list_runs(runs_dir)
    assert resolve_run(str(first), runs_dir) == first
    assert resolve_run(first.name, runs_dir) == first
    with pytest.raises(FileNotFoundError):
        resolve_run("19990101", runs_dir)
