"""Hostile input at the edge, load shedding (429, 503), metrics, health, and a corpus edit
that never takes a route down."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant.api import create_app
from assistant.config import Settings
from assistant.schemas import ErrorBody
from ingest.pipeline import run_ingest
from tests.auth_support import bearer
from tests.conftest import make_settings

REPORT = ("De onderhandelingen over de prestatieafspraken zitten vast op wonen en zorg. "
          "Partijen vertrouwen elkaar niet meer. Wie kan ons helpen?")
CATALOGUE_QUOTE = "In april 2019 waren ongeveer 100 gemeenten aangesloten bij de Verzilverlening."


@pytest.fixture(scope="module")
def edge_settings(fake_index: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return fake_index.model_copy(update={
        "sqlite_path": tmp_path_factory.mktemp("edge") / "app.sqlite", "rate_limit": "off"})


@pytest.fixture(scope="module")
def client(edge_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(edge_settings)) as test_client:
        yield test_client


def _is_error_body(response: object) -> dict:
    body = response.json()  # type: ignore[attr-defined]
    ErrorBody.model_validate(body)
    assert isinstance(body["detail"], str) and body["detail"]
    return dict(body)


# --- input at the edge ------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [
    b'{"question": "Wat is de Blijverslening \\ud800?"}',
    b'{"question": "Wat is de Blijverslening?", "doc_ids": ["fase\\udfff"]}',
    b'{"question": "Wat is \\u0000 de Blijverslening?"}',
    b'{"question": "Wat is \\u001b[31m de Blijverslening?"}',
    b'{"question": "Wat is de Blijverslening?", "history": [{"role": "user", '
    b'"content": "a\\ud83d"}]}',
    b'{"question": "Wat is de Blijverslening \xff\xfe?"}',
    b'{"question": "Wat is de Blijverslening?", "score": false}',
])
def test_invalid_text_in_a_question_is_a_dutch_422(client: TestClient, raw: bytes) -> None:
    response = client.post("/api/ask", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    body = _is_error_body(response)
    assert body["errors"] and all(e["melding"] for e in body["errors"])
    assert any(word in body["detail"] for word in ("Unicode", "stuurteken", "JSON", "Onbekend"))


@pytest.mark.parametrize("raw", [
    b'{"report": "Melding \\ud800 over prestatieafspraken"}',
    b'{"report": "Melding \\u0007 over prestatieafspraken die vastzitten"}',
    b'{"report": ""}',
])
def test_invalid_reports_are_422_not_500(client: TestClient, raw: bytes) -> None:
    response = client.post("/api/triage", content=raw,
                           headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    _is_error_body(response)


def test_invalid_note_is_422(client: TestClient, edge_settings: Settings) -> None:
    created = client.post("/api/triage", json={"report": REPORT}).json()
    response = client.patch(f"/api/triage/{created['id']}", headers={
        **bearer(edge_settings), "content-type": "application/json"},
        content=b'{"note": "notitie \\ud800"}')
    assert response.status_code == 422


@pytest.mark.parametrize("query", ["offset=1e19", "offset=10000000000000000000", "offset=-1",
                                   "limit=0", "limit=1000000", "limit=abc", "theme=%00x",
                                   "urgent=misschien", "status=weg"])
def test_queue_bounds_are_validated(client: TestClient, edge_settings: Settings,
                                    query: str) -> None:
    response = client.get(f"/api/triage?{query}", headers=bearer(edge_settings))
    assert response.status_code == 422, response.text
    _is_error_body(response)


@pytest.mark.parametrize("payload", [
    {"question": "Vraag?", "top_k": 10**30},
    {"question": "Vraag?", "top_k": 1e19},
    {"question": "Vraag?", "history": [{"role": "user", "content": "x" * 2001}]},
    {"question": "Vraag?", "history": [{"role": "assistant", "content": "x" * 12_001}]},
    {"question": "Vraag?", "doc_ids": ["d"] * 51},
])
def test_ask_bounds_are_validated(client: TestClient, payload: dict) -> None:
    response = client.post("/api/ask", json=payload)
    assert response.status_code == 422, response.text
    _is_error_body(response)


def test_line_breaks_are_normalised_and_accepted(client: TestClient) -> None:
    response = client.post("/api/ask", json={"question": "Wat is de\r\nBlijverslening?\t"})
    assert response.status_code == 200


def test_unknown_routes_and_methods_answer_in_dutch(client: TestClient) -> None:
    missing = client.get("/api/bestaat-niet")
    assert missing.status_code == 404 and _is_error_body(missing)["detail"].startswith("Deze")
    wrong = client.get("/api/ask")
    assert wrong.status_code == 405 and "POST" in wrong.headers["allow"]
    assert "methode" in _is_error_body(wrong)["detail"]


# --- load -------------------------------------------------------------------------------------


def test_rate_limit_answers_429_with_retry_after_per_client(fake_index: Settings,
                                                            tmp_path: Path) -> None:
    settings = fake_index.model_copy(update={"sqlite_path": tmp_path / "r.sqlite",
                                             "rate_limit": "2/minute"})
    app = create_app(settings)
    with TestClient(app, client=("198.51.100.7", 4000)) as one, \
            TestClient(app, client=("198.51.100.8", 4000)) as other:
        codes = [one.post("/api/ask", json={"question": "Wat is de Blijverslening?"})
                 for _ in range(3)]
        assert [c.status_code for c in codes] == [200, 200, 429]
        limited = codes[-1]
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        assert "Probeer het over" in _is_error_body(limited)["detail"]
        # another client is not affected, and reports have their own budget
        assert other.post("/api/ask", json={"question": "Wat is BWMO?"}).status_code == 200
        assert one.post("/api/triage", json={"report": REPORT}).status_code == 200
        assert one.get("/api/documents").status_code == 200  # cheap routes are not limited
        metrics = one.get("/metrics").text
    assert 'woonzorgwijzer_rejected_total{reason="rate-limit"} 1.0' in metrics


def test_a_full_queue_answers_503_at_once(fake_index: Settings, tmp_path: Path) -> None:
    settings = fake_index.model_copy(update={
        "sqlite_path": tmp_path / "q.sqlite", "rate_limit": "off", "max_queue": 0,
        "model_threads": 64})  # one worker, nobody waiting
    app = create_app(settings)
    started, release = threading.Event(), threading.Event()
    real_ask = app.state.assistant.ask

    def slow_ask(request):  # type: ignore[no-untyped-def]
        started.set()
        release.wait(30)
        return real_ask(request)

    app.state.assistant.ask = slow_ask
    with TestClient(app) as client:
        results: list[int] = []
        first = threading.Thread(target=lambda: results.append(client.post(
            "/api/ask", json={"question": "Wat is de Blijverslening?"}).status_code))
        first.start()
        assert started.wait(30)
        refused = client.post("/api/ask", json={"question": "Wat is BWMO?"})
        assert refused.status_code == 503
        assert int(refused.headers["retry-after"]) >= 1
        assert "te druk" in _is_error_body(refused)["detail"]
        depth = client.get("/metrics").text
        release.set()
        first.join(30)
        assert results == [200]
        assert client.post("/api/ask", json={"question": "Wat is BWMO?"}).status_code == 200
    assert "woonzorgwijzer_model_work_in_progress 1.0" in depth
    assert 'woonzorgwijzer_rejected_total{reason="queue-full"} 1.0' in depth


def test_a_slow_answer_is_a_504(fake_index: Settings, tmp_path: Path) -> None:
    settings = fake_index.model_copy(update={"sqlite_path": tmp_path / "t.sqlite",
                                             "request_timeout_s": 0.2})
    app = create_app(settings)
    release = threading.Event()
    real_ask = app.state.assistant.ask
    app.state.assistant.ask = lambda request: (release.wait(10), real_ask(request))[1]
    with TestClient(app) as client:
        response = client.post("/api/ask", json={"question": "Wat is de Blijverslening?"})
        release.set()
    assert response.status_code == 504 and "te lang" in _is_error_body(response)["detail"]


# --- observability ----------------------------------------------------------------------------


def test_metrics_count_routes_stages_index_and_refusals(client: TestClient) -> None:
    assert client.post("/api/ask", json={"question": "Wat is de Blijverslening?"}).json()[
        "answerable"]
    refused = client.post("/api/ask", json={"question": "Hoe bak ik een appeltaart?"}).json()
    assert refused["refusal"]
    client.get("/api/documents/bestaat-niet")
    text = client.get("/metrics").text
    assert 'woonzorgwijzer_requests_total{method="POST",route="/api/ask",status="200"}' in text
    assert ('woonzorgwijzer_requests_total{method="GET",route="/api/documents/{doc_id}",'
            'status="404"}') in text
    assert 'woonzorgwijzer_request_seconds_bucket{le="0.5",method="POST",route="/api/ask"}' in text
    for stage in ("retrieve", "decide", "answer", "instruments", "total"):
        assert f'woonzorgwijzer_stage_seconds_count{{stage="{stage}"}}' in text
    assert f'woonzorgwijzer_refusals_total{{reason="{refused["refusal"]["reason"]}"}}' in text
    assert "woonzorgwijzer_index_documents 5.0" in text
    assert "woonzorgwijzer_index_chunks " in text and "woonzorgwijzer_index_units " in text
    assert "woonzorgwijzer_queue_depth 0.0" in text


def test_healthz_ok_and_down(client: TestClient, tmp_path: Path) -> None:
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["problems"] == [] and body["vector_store"] == "embedded"
    with TestClient(create_app(make_settings(tmp_path / "leeg"))) as empty:
        down = empty.get("/healthz")
        assert down.status_code == 503
        assert down.json()["status"] == "down" and "assistant ingest" in down.json()["problems"][0]
        # documents and instruments need an index too: a clear 503, never a 500
        assert empty.get("/api/instruments").status_code == 503
        assert empty.get("/api/triage/labels").status_code == 503


# --- a corpus edit ----------------------------------------------------------------------------


def _ingest(corpus: Path, data: Path) -> tuple[Settings, object]:
    settings = make_settings(data, corpus_dir=corpus, rate_limit="off")
    report = run_ingest(settings)
    assert report.status == "built", report.summary()
    return settings, report


def test_one_line_added_at_the_top_keeps_every_route_up(corpus_copy: Path,
                                                        tmp_path: Path) -> None:
    path = corpus_copy / "fase-4-uitvoering.txt"
    path.write_text("Bijgewerkt: december 2026.\n" + path.read_text(encoding="utf-8"),
                    encoding="utf-8")
    settings, report = _ingest(corpus_copy, tmp_path / "data")
    assert report.problems == []  # type: ignore[attr-defined]
    with TestClient(create_app(settings)) as restarted:  # a new app = a restart
        asked = restarted.post("/api/ask", json={"question": "Wat is de Verzilverlening?"})
        assert asked.status_code == 200 and asked.json()["citations"]
        catalogue = restarted.get("/api/instruments")
        assert catalogue.status_code == 200
        text = restarted.get("/api/documents/fase-4-uitvoering").json()["text"]
        for entry in catalogue.json():
            for source in entry["sources"]:
                if source["doc_id"] == "fase-4-uitvoering":
                    assert text[source["start"]:source["end"]] == source["quote"]
        assert restarted.post("/api/triage", json={"report": REPORT}).status_code == 200
        assert restarted.get("/healthz").json()["status"] == "ok"


def test_a_vanished_source_degrades_only_that_source(corpus_copy: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    path = corpus_copy / "fase-4-uitvoering.txt"
    text = path.read_text(encoding="utf-8")
    assert CATALOGUE_QUOTE in text
    path.write_text(text.replace(CATALOGUE_QUOTE, "Het aantal gemeenten wisselt."),
                    encoding="utf-8")
    settings, report = _ingest(corpus_copy, tmp_path / "data")
    problems = report.problems  # type: ignore[attr-defined]
    assert any("verzilverlening" in p for p in problems), problems
    assert "Bronproblemen" in report.summary()  # type: ignore[attr-defined]
    with TestClient(create_app(settings)) as restarted:
        health = restarted.get("/healthz")
        assert health.status_code == 200 and health.json()["status"] == "degraded"
        assert any("verzilverlening" in p for p in health.json()["problems"])
        assert restarted.get("/api/instruments").status_code == 200
        assert restarted.post("/api/ask", json={"question": "Wat is de Verzilverlening?"}
                              ).status_code == 200
        assert restarted.post("/api/triage", json={"report": REPORT}).status_code == 200


def test_cli_ingest_prints_source_problems(corpus_copy: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from assistant import cli
    from assistant.config import get_settings

    path = corpus_copy / "fase-4-uitvoering.txt"
    path.write_text(path.read_text(encoding="utf-8").replace(CATALOGUE_QUOTE, ""),
                    encoding="utf-8")
    for key, value in {"CORPUS_DIR": corpus_copy, "DATA_DIR": tmp_path / "data",
                       "EMBEDDING_MODEL": "hashing:256",
                       "SQLITE_PATH": tmp_path / "data" / "a.sqlite"}.items():
        monkeypatch.setenv(key, str(value))
    get_settings.cache_clear()
    try:
        assert cli.main(["ingest"]) == 0
    finally:
        get_settings.cache_clear()
    out = capsys.readouterr().out
    assert "Bronproblemen" in out and "verzilverlening" in out


def test_the_command_line_says_in_dutch_that_there_is_no_index(tmp_path: Path) -> None:
    """`assistant ask` before any ingest: one line saying what to do, exit code 2, no
    traceback."""
    env = {**os.environ, "DATA_DIR": str(tmp_path / "leeg"), "EMBEDDING_MODEL": "hashing:256",
           "SQLITE_PATH": str(tmp_path / "app.sqlite")}
    done = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "ask", "Wat is de Blijverslening?"],
        capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 2
    assert "Er is nog geen index" in done.stderr and "assistant ingest" in done.stderr
    assert "Traceback" not in done.stderr
