"""The runner end to end against fake apps (no model), the baseline with fake embeddings,
the request wrapper's error handling, the gate and the command line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient
from langchain_core.embeddings import DeterministicFakeEmbedding

from evals.__main__ import main
from evals.baseline import CHUNK_SIZE, create_app, split_documents
from evals.datasets import REPO_ROOT, load_corpus_texts, load_questions, load_triage
from evals.gate import check, load_thresholds, render
from evals.report import headline_tables, write_reports
from evals.runner import CONFIGS, ConfigError, RunOptions, call, run_evaluation
from ingest.load import load_corpus

CORPUS = REPO_ROOT / "corpus"


def fake_app(config: str, texts: dict[str, str], leak: bool = False) -> FastAPI:
    """Answers dev questions from the gold data: perfect for hybrid, with a distractor
    ranked first for bm25, never refusing and without instruments for the baseline."""
    questions = {item.question: item for item in load_questions("all")}
    reports = {item.report: item for item in load_triage("all")}
    distractor = {"n": 1, "doc_id": "fase-4-uitvoering", "title": "t", "section": "",
                  "quote": texts["fase-4-uitvoering"][:40], "start": 0, "end": 40, "score": 1.0}
    app = FastAPI()

    @app.post("/api/ask")
    def ask(body: dict[str, Any]) -> dict[str, Any]:
        item = questions[body["question"]]
        if body["question"].startswith("Schrijf"):
            raise HTTPException(500, "boom")
        citations = []
        for quote in item.gold_quotes:
            doc_id = next(d for d in item.gold_docs if quote in texts[d])
            start = texts[doc_id].index(quote)
            citations.append({"doc_id": doc_id, "title": "t", "section": "", "quote": quote,
                              "start": start, "end": start + len(quote), "score": 0.5})
        if config == "bm25":
            citations.insert(0, distractor)
        citations = [{**c, "n": n} for n, c in enumerate(citations, start=1)]
        answerable = item.answerable or config == "naive-langchain"
        answer = " ".join(f"{c['quote']} [{c['n']}]" for c in citations) or "Dat weet ik niet."
        instruments = [] if config == "naive-langchain" else [
            {"id": i, "name": i, "kind": "lening", "why": "", "fits": True, "source": None}
            for i in item.expected_instruments
        ]
        return {"answer": answer, "answerable": answerable, "standalone_question": item.question,
                "citations": citations, "instruments": instruments,
                "timings_ms": {"retrieve": 3.0, "answer": 1.0, "total": 4.0}}

    @app.get("/api/documents/{doc_id}")
    def document(doc_id: str) -> dict[str, Any]:
        return {"doc_id": doc_id, "title": "t", "text": texts[doc_id]}

    @app.post("/api/triage")
    def triage(body: dict[str, str]) -> dict[str, Any]:
        item = reports[body["report"]]
        return {"id": "r1", "themes": [{"id": t, "label": t, "score": 1.0} for t in item.themes],
                "fase": item.fase, "support": [{"id": s, "name": s, "why": "", "fits": True}
                                               for s in item.expected_support],
                "citations": [], "similar": [], "urgent": item.urgent,
                "redacted_report": body["report"] if leak else "[verwijderd]"}

    return app


@pytest.fixture(scope="module")
def texts() -> dict[str, str]:
    return load_corpus_texts(CORPUS)


def factory(texts: dict[str, str], leak: bool = False) -> Callable[[str], FastAPI]:
    return lambda config: fake_app(config, texts, leak)


def test_run_writes_reports_for_all_configs(tmp_path: Path, texts: dict[str, str]) -> None:
    report = run_evaluation(RunOptions(question_set="dev"), factory(texts))
    paths = write_reports(report, tmp_path)
    assert [p.name for p in paths] == ["latest.json", "latest.md", "latest.png"]
    saved = json.loads((tmp_path / "latest.json").read_text(encoding="utf-8"))
    assert list(saved["configs"]) == list(CONFIGS)
    assert saved["warm_cache"] == ["bm25", "dense"]  # they ran after hybrid, in one process
    hybrid = saved["configs"]["hybrid"]["overall"]
    assert hybrid["hit@1"] == 1.0 and hybrid["verbatim_rate"] == 1.0
    assert hybrid["key_fact_recall"] == 1.0 and hybrid["citation_precision"] == 1.0
    assert hybrid["refusal_accuracy"] == pytest.approx(2 / 3)  # the speech request fails
    assert hybrid["counts"]["errors"] == 1
    assert hybrid["instrument_precision"] == 1.0 and hybrid["instrument_recall"] == 1.0
    assert saved["configs"]["bm25"]["overall"]["hit@1"] == 0.0
    assert saved["configs"]["bm25"]["overall"]["mrr"] == 0.5
    baseline = saved["configs"]["naive-langchain"]["overall"]
    assert baseline["refusal_accuracy"] == 0.0 and baseline["instrument_recall"] == 0.0
    assert set(saved["configs"]["hybrid"]["by_kind"]) == {i.kind for i in load_questions("dev")}
    assert saved["triage"]["config"] == "hybrid"
    assert saved["triage"]["overall"]["theme_f1"] == 1.0
    assert saved["triage"]["overall"]["pii_leaks"] == 0
    assert len(saved["items"]["dense"]) == 25 and len(saved["triage_items"]) == 10
    markdown = (tmp_path / "latest.md").read_text(encoding="utf-8")
    for name in CONFIGS:
        assert f"| {name} |" in markdown
    assert "## Per question kind" in markdown and "| multi_hop |" in markdown
    assert (tmp_path / "latest.png").read_bytes().startswith(b"\x89PNG")
    assert "| hybrid |" in headline_tables(report)


def test_leaks_and_gate(texts: dict[str, str]) -> None:
    report = run_evaluation(RunOptions(question_set="dev", configs=["hybrid"]),
                            factory(texts, leak=True))
    assert report["triage"]["overall"]["pii_leaks"] == 3
    checks = {f"{c.section}.{c.metric}": c for c in check(report, load_thresholds())}
    assert not checks["triage.pii_leaks"].passed
    assert not checks["questions.refusal_accuracy"].passed
    assert checks["questions.hit@1"].passed
    assert "FAIL" in render(list(checks.values()))


def test_gate_fails_when_a_metric_is_missing(texts: dict[str, str]) -> None:
    report = run_evaluation(RunOptions(question_set="dev", configs=["bm25"], limit=3),
                            factory(texts))
    checks = check(report, load_thresholds())
    assert report["triage"] is None
    assert all(not c.passed for c in checks if c.section == "triage")


def test_options_are_checked() -> None:
    with pytest.raises(ConfigError):
        run_evaluation(RunOptions(configs=["bm42"]))
    with pytest.raises(ConfigError):
        run_evaluation(RunOptions(configs=["dense"], base_url="http://127.0.0.1:1"))


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
        failed = call(client, "POST", "/api/ask", {"question": "q"})
        assert failed.response is None and failed.error is not None
        assert failed.error.startswith("HTTP 503")


def test_naive_baseline_with_fake_embeddings(texts: dict[str, str]) -> None:
    splits = split_documents(load_corpus(CORPUS))
    assert all(len(s.page_content) <= CHUNK_SIZE for s in splits)
    app = create_app(CORPUS, DeterministicFakeEmbedding(size=16))
    with TestClient(app) as client:
        body = client.post("/api/ask", json={"question": "Wat is de Blijverslening?",
                                             "history": [], "top_k": 5}).json()
        assert len(body["citations"]) == 4
        assert body["answerable"] is True and body["instruments"] == []
        assert body["answer"] == body["citations"][0]["quote"]
        for citation in body["citations"]:
            text = texts[citation["doc_id"]]
            assert text[citation["start"]:citation["end"]] == citation["quote"]
        assert set(body["timings_ms"]) == {"retrieve", "answer", "total"}
        assert client.get("/api/documents/fase-2-visie").json()["text"] == texts["fase-2-visie"]
        assert client.get("/api/documents/onbekend").status_code == 404


def test_cli_validate_and_config_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--corpus", str(CORPUS)]) == 0
    assert capsys.readouterr().out.startswith("ok: ")
    assert main(["run", "--base-url", "http://127.0.0.1:1", "--config", "bm25"]) == 2
