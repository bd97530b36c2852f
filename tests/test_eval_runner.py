"""The runner end to end against fake apps on a fixture layout (no model): sets as their own
rows, the generalisation set on its own index, comparisons, gaps, run records, the gate, the
HTTP client's retries, the baseline with fake embeddings and the command line."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from langchain_core.embeddings import DeterministicFakeEmbedding

from evals.__main__ import main
from evals.baseline import CHUNK_SIZE, create_app, split_documents
from evals.client import RetryPolicy, call, retry_after
from evals.datasets import GENERALISATION_INDEX
from evals.documents import Layout, corpus_documents
from evals.gate import check, failures, load_thresholds, render
from evals.records import list_runs, read_items, read_summary
from evals.report import headline_tables, render_markdown, write_reports
from evals.runner import (
    CONFIGS,
    ConfigError,
    FactoryApps,
    RunOptions,
    config_order,
    run_evaluation,
)
from tests.eval_support import fake_app, make_layout

ALL_SETS = ["tune", "holdout", "generalisation"]


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    return make_layout(tmp_path / "fixture")


def apps(layout: Layout, leak: bool = False, seen: list[tuple[str, str]] | None = None
         ) -> FactoryApps:
    def build(config: str, index: str) -> FastAPI:
        if seen is not None:
            seen.append((config, index))
        return fake_app(config, index, layout, leak)

    return FactoryApps(build)


def q(report: dict[str, Any], set_name: str, config: str, metric: str) -> Any:
    return report["results"][set_name][config]["questions"]["overall"][metric]["value"]


def test_every_set_gets_its_own_rows_and_index(layout: Layout) -> None:
    seen: list[tuple[str, str]] = []
    report = run_evaluation(RunOptions(sets=["all"]), apps(layout, seen=seen), layout)
    assert list(report["results"]) == ALL_SETS
    assert set(seen) == {(c, s) for c in CONFIGS for s in ("corpus", GENERALISATION_INDEX)}
    for set_name in ALL_SETS:
        assert set(report["results"][set_name]) == set(CONFIGS)
        assert sorted(report["sets"][set_name]["order"]) == sorted(CONFIGS)
    # the suite's question is only answerable on the corpus+generalisation index
    assert q(report, "generalisation", "hybrid", "hit@1") == 1.0
    assert q(report, "tune", "hybrid", "hit@1") == 1.0
    assert q(report, "tune", "hybrid", "refusal_accuracy") == 0.5  # the poem request fails
    assert report["results"]["tune"]["hybrid"]["questions"]["overall"]["counts"]["errors"] == 1
    assert q(report, "tune", "bm25", "hit@1") == 0.0 and q(report, "tune", "bm25", "mrr") == 0.5
    assert q(report, "holdout", "naive-langchain", "refusal_accuracy") == 0.0
    assert report["sets"]["holdout"]["sealed"] and not report["sets"]["tune"]["sealed"]


def test_intervals_breakdowns_comparisons_and_gaps(layout: Layout) -> None:
    report = run_evaluation(RunOptions(sets=ALL_SETS), apps(layout), layout)
    hit = report["results"]["tune"]["hybrid"]["questions"]["overall"]["hit@1"]
    assert hit == {"value": 1.0, "low": 1.0, "high": 1.0, "n": 3}
    tune = report["results"]["tune"]["hybrid"]["questions"]
    assert set(tune["by_kind"]) == {"instrument", "out_of_scope", "followup", "factual"}
    assert list(tune["by_style"]) == ["typos", "followup", "terse", "task", "missing-detail"]
    assert tune["by_style"]["typos"]["counts"]["items"] == 1
    assert set(tune["by_origin"]) == {"shared-dev", "own"}
    assert {f: g["counts"]["items"] for f, g in tune["by_file"].items()} == {
        "questions.jsonl": 4, "questions-extra.jsonl": 1}
    by_file = report["results"]["tune"]["hybrid"]["triage"]["by_file"]
    assert {f: g["counts"]["items"] for f, g in by_file.items()} == {
        "triage.jsonl": 2, "triage-extra.jsonl": 1}
    bm25 = report["comparisons"]["tune"]["bm25"]["hit@1"]
    assert bm25["diff"] == -1.0 and not bm25["within_noise"]  # bm25 − hybrid on 3 items
    naive = report["comparisons"]["tune"]["naive-langchain"]["hit@1"]
    assert naive["diff"] == 0.0 and naive["within_noise"]
    assert set(report["gaps"]) == {"tune − holdout", "tune − generalisation"}
    gap = report["gaps"]["tune − generalisation"]["hit@1"]
    assert gap["diff"] == 0.0 and gap["within_noise"]
    triage = report["results"]["tune"]["hybrid"]["triage"]["overall"]
    assert triage["theme_f1"]["value"] == 1.0 and triage["urgent_recall"]["value"] == 1.0
    assert triage["false_urgent_rate"]["value"] == 0.0 and triage["pii_leaks"]["value"] == 0
    assert report["results"]["tune"]["bm25"]["triage"] is None  # triage: the product only


def test_reports_and_run_record(layout: Layout, tmp_path: Path) -> None:
    report = run_evaluation(RunOptions(sets=["tune", "generalisation"]), apps(layout), layout)
    paths = write_reports(report, tmp_path / "out")
    assert [p.name for p in paths[:3]] == ["latest.json", "latest.md", "latest.png"]
    saved = json.loads((tmp_path / "out" / "latest.json").read_text(encoding="utf-8"))
    assert "items" not in saved and saved["run_id"] == report["run_id"]
    assert "seeded random order" in saved["method"]["latency"]
    assert "paired bootstrap" in saved["method"]["uncertainty"]
    [run] = list_runs(tmp_path / "out" / "runs")
    assert run == paths[3] and read_summary(run)["results"].keys() == saved["results"].keys()
    items = read_items(run)
    assert len(items) == (5 + 2) * len(CONFIGS) + 3 + 1  # questions × configs + triage
    row = next(i for i in items if i["id"] == "t1" and i["config"] == "hybrid")
    assert row["set"] == "tune" and row["type"] == "question"
    assert row["question"] == "Wat doet de Blijverslening?" and row["answer"].endswith("[1]")
    assert row["metrics"]["hit@1"] == 1.0 and row["metrics"]["refusal_accuracy"] is None
    assert row["citations"][0]["doc_id"] == "alpha" and "total" in row["timings"]
    assert row["instruments"]["expected"] == ["blijverslening"]
    pii = next(i for i in items if i["id"] == "tt1")
    assert "j.jansen" not in json.dumps(pii)  # a report with personal data is not copied
    assert pii["themes"]["expected"] == ["samenwerking-proces"]
    markdown = (tmp_path / "out" / "latest.md").read_text(encoding="utf-8")
    for heading in ("## Product (hybrid) per set", "## Gap", "## Per style tag (hybrid)",
                    "## Per question kind (hybrid)", "Paired differences with hybrid",
                    "## Per file (hybrid)", "## Triage per file (hybrid)"):
        assert heading in markdown
    assert "- request failed (1): t5" in markdown
    assert "sealed item(s)" in markdown  # generalisation misses are counted, not named
    assert (tmp_path / "out" / "latest.png").read_bytes().startswith(b"\x89PNG")
    terminal = headline_tables(report)
    assert "| tune | 5 | 1.00 [1.00–1.00] |" in terminal
    assert "Configurations on generalisation" in terminal and "≈" in terminal


def test_limit_and_single_config(layout: Layout) -> None:
    report = run_evaluation(RunOptions(sets=["tune"], configs=["bm25"], limit=2), apps(layout),
                            layout)
    assert report["sets"]["tune"]["questions"] == 2
    assert report["comparisons"] == {} and report["gaps"] == {}
    assert report["results"]["tune"]["bm25"]["triage"] is None


def test_baselines_may_run_on_some_sets_only(layout: Layout) -> None:
    report = run_evaluation(RunOptions(sets=ALL_SETS, baseline_sets=["holdout"]), apps(layout),
                            layout)
    assert list(report["results"]["tune"]) == ["hybrid"]
    assert set(report["results"]["holdout"]) == set(CONFIGS)
    assert list(report["comparisons"]["holdout"]) != [] and report["comparisons"]["tune"] == {}
    assert "ran on holdout only" in render_markdown(report)


def test_order_is_seeded_per_set() -> None:
    orders = {name: config_order(CONFIGS, name, 7) for name in ("tune", "holdout", "x", "y")}
    assert all(sorted(order) == sorted(CONFIGS) for order in orders.values())
    assert len({tuple(order) for order in orders.values()}) > 1
    assert config_order(CONFIGS, "tune", 7) == orders["tune"]
    assert config_order(CONFIGS, "tune", 7, "given") == list(CONFIGS)


# --- gate --------------------------------------------------------------------------------------

def test_gate_reads_the_thresholds_file_and_says_by_how_much(layout: Layout,
                                                              tmp_path: Path) -> None:
    thresholds = load_thresholds()
    assert thresholds["set"] == "holdout" and thresholds["config"] == "hybrid"
    report = run_evaluation(RunOptions(sets=["holdout", "tune"], configs=["hybrid"]),
                            apps(layout, leak=True), layout)
    checks = {f"{c.section}.{c.metric}": c for c in check(report, thresholds)}
    assert checks["questions.hit@1"].passed and checks["triage.pii_leaks"].passed
    on_tune = {f"{c.section}.{c.metric}": c for c in check(report, {**thresholds, "set": "tune"})}
    assert not on_tune["triage.pii_leaks"].passed  # the leaking fake echoes tune's PII report
    custom = tmp_path / "t.json"
    custom.write_text(json.dumps({"config": "hybrid", "set": "holdout",
                                  "questions": {"hit@1": {"min": 1.0},
                                                "refusal_accuracy": {"min": 1.5}},
                                  "triage": {"urgent_recall": {"min": 0.5}}}), "utf-8")
    strict = check(report, load_thresholds(custom))
    lines = failures(strict)
    assert "FAIL questions.refusal_accuracy: 1.00 (bound ≥ 1.5, missed by 0.50)" in lines
    assert "hit@1" not in lines
    assert "FAIL (by 0.50)" in render(strict)


def test_gate_fails_when_a_metric_is_missing(layout: Layout) -> None:
    report = run_evaluation(RunOptions(sets=["holdout"], configs=["bm25"]), apps(layout), layout)
    checks = check(report, load_thresholds())
    assert checks and all(not c.passed for c in checks)
    assert "not measured" in failures(checks)


def test_thresholds_name_known_metrics(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"config": "hybrid", "set": "holdout",
                                "questions": {"hit@2": {"min": 1}}}), encoding="utf-8")
    with pytest.raises(ValueError, match="unknown metric"):
        load_thresholds(path)


def test_options_are_checked() -> None:
    with pytest.raises(ConfigError):
        run_evaluation(RunOptions(configs=["bm42"]))
    with pytest.raises(ConfigError):
        run_evaluation(RunOptions(configs=["dense"], base_url="http://127.0.0.1:1"))
    with pytest.raises(ConfigError):
        run_evaluation(RunOptions(order="backwards"))


# --- HTTP ----------------------------------------------------------------------------------------

def test_call_reports_errors_instead_of_raising() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/down":
            raise httpx.ConnectError("refused", request=request)
        if request.url.path == "/text":
            return httpx.Response(200, text="no json")
        if request.url.path == "/list":
            return httpx.Response(200, json=[1])
        return httpx.Response(503, json={"detail": "geen index"})

    with httpx.Client(transport=httpx.MockTransport(handler), base_url="http://x") as client:
        assert call(client, "GET", "/down").error == "ConnectError: refused"
        assert call(client, "GET", "/text").error == "response is not JSON"
        assert call(client, "GET", "/list").error == "response is not a JSON object"
        failed = call(client, "POST", "/api/ask", {"question": "q"}, sleep=_no_sleep)
        assert failed.response is None and failed.retries == 0  # 503 without Retry-After
        assert failed.error is not None and failed.error.startswith("HTTP 503")


def _no_sleep(_seconds: float) -> None:
    raise AssertionError("must not wait")


def _flaky(statuses: list[tuple[int, dict[str, str]]]) -> Callable[[httpx.Request],
                                                                    httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        if statuses:
            status, headers = statuses.pop(0)
            return httpx.Response(status, headers=headers, json={"detail": "later"})
        return httpx.Response(200, json={"ok": True})
    return handler


def test_retries_wait_out_429_and_503_with_retry_after() -> None:
    waits: list[float] = []
    handler = _flaky([(429, {"Retry-After": "2"}), (503, {"Retry-After": "1"}), (429, {})])
    with httpx.Client(transport=httpx.MockTransport(handler), base_url="http://x") as client:
        exchange = call(client, "POST", "/api/ask", {}, sleep=waits.append)
    assert exchange.response == {"ok": True} and exchange.retries == 3
    assert waits == [2.0, 1.0, RetryPolicy().backoff_s] and exchange.waited_s == sum(waits)


def test_retries_are_bounded() -> None:
    waits: list[float] = []
    handler = _flaky([(429, {"Retry-After": "20"})] * 10)
    policy = RetryPolicy(max_total_wait_s=45)
    with httpx.Client(transport=httpx.MockTransport(handler), base_url="http://x") as client:
        exchange = call(client, "GET", "/x", policy=policy, sleep=waits.append)
    assert waits == [20.0, 20.0] and exchange.retries == 2
    assert exchange.error is not None and "after 2 retries" in exchange.error


def test_retry_after_formats() -> None:
    now = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after("3") == 3.0 and retry_after(" 0 ") == 0.0
    assert retry_after("Tue, 01 Dec 2026 12:00:30 GMT", now) == 30.0
    assert retry_after("Tue, 01 Dec 2026 11:00:00 GMT", now) == 0.0
    assert retry_after("soon") is None and retry_after(None) is None


def test_runs_over_http_count_retries(layout: Layout, monkeypatch: pytest.MonkeyPatch) -> None:
    """--base-url: the product is reached with httpx; the report counts the retries, and
    triage runs in-process so no report lands in the server's queue."""
    served = TestClient(fake_app("hybrid", "corpus", layout))
    state = {"asks": 0}
    posted: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/ask":
            state["asks"] += 1
            if state["asks"] % 3 == 0:
                return httpx.Response(429, headers={"Retry-After": "0"})
        if request.url.path == "/api/triage":
            posted.append(request.url.path)
        upstream = served.request(request.method, request.url.path, content=request.content,
                                  headers={"content-type": "application/json"})
        return httpx.Response(upstream.status_code, content=upstream.content,
                              headers={"content-type": "application/json"})

    real_client = httpx.Client

    def mocked(*args: Any, **kwargs: Any) -> httpx.Client:
        return real_client(*args, transport=httpx.MockTransport(handler), **kwargs)

    monkeypatch.setattr(httpx, "Client", mocked)
    report = run_evaluation(RunOptions(sets=["holdout"], configs=["hybrid"],
                                       base_url="http://server"), apps(layout), layout)
    block = report["results"]["holdout"]["hybrid"]
    assert block["transport"] == "http" and block["retries"]["count"] >= 1
    assert report["retries"]["count"] == block["retries"]["count"]
    assert q(report, "holdout", "hybrid", "hit@1") == 1.0
    assert block["triage"]["overall"]["counts"]["items"] == 1 and posted == []
    assert "HTTP retries" in headline_tables(report)
    suite = run_evaluation(RunOptions(sets=["generalisation"], configs=["hybrid"],
                                      base_url="http://server"), apps(layout), layout)
    skipped = suite["results"]["generalisation"]["hybrid"]["skipped"]
    assert "blijverslening-noord" in skipped  # that server was ingested without the suite


# --- baseline and command line ---------------------------------------------------------------

def test_naive_baseline_with_fake_embeddings(layout: Layout) -> None:
    documents = corpus_documents(layout)
    splits = split_documents(documents)
    assert all(len(s.page_content) <= CHUNK_SIZE for s in splits)
    texts = {d.doc_id: d.text for d in documents}
    app = create_app(documents, DeterministicFakeEmbedding(size=16))
    with TestClient(app) as client:
        body = client.post("/api/ask", json={"question": "Wat is de Blijverslening?",
                                             "history": [], "top_k": 5}).json()
        assert 1 <= len(body["citations"]) <= 4
        assert body["answerable"] is True and body["instruments"] == []
        assert body["answer"] == body["citations"][0]["quote"]
        for citation in body["citations"]:
            text = texts[citation["doc_id"]]
            assert text[citation["start"]:citation["end"]] == citation["quote"]
        assert client.get("/api/documents/alpha").json()["text"] == texts["alpha"]
        assert client.get("/api/documents/onbekend").status_code == 404


def test_cli_validate_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "b1", "question": "?", "kind": "factual",
                               "answerable": True, "gold_docs": ["nergens"],
                               "gold_quotes": ["x"], "key_facts": ["x"],
                               "expected_instruments": [], "origin": "own"}) + "\n", "utf-8")
    assert main(["validate", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "unknown document(s) nergens" in out and "1 question" in out
    assert main(["run", "--base-url", "http://127.0.0.1:1", "--config", "bm25"]) == 2
    assert main(["diff", "--runs-dir", str(tmp_path / "none")]) == 2
