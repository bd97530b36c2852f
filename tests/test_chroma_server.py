"""Server mode: ingest into and query a real `chroma run` on loopback; an outage of that
server (stopped, then started again on the same data) degrades the service and it recovers."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from assistant.api import create_app
from assistant.config import Settings
from assistant.retrieval.dense import DenseRetriever
from assistant.service import build_components
from ingest.pipeline import run_ingest
from tests.conftest import make_settings

pytestmark = pytest.mark.integration
QUESTION = "Wat is de Verzilverlening?"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ChromaServer:
    """A `chroma run` process that can be stopped and started again on the same port and data."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def heartbeat(self) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/api/v2/heartbeat",
                             timeout=1).is_success
        except httpx.HTTPError:
            return False

    def start(self) -> None:
        chroma = Path(sys.executable).parent / "chroma"
        self.process = subprocess.Popen(
            [str(chroma), "run", "--path", str(self.path),
             "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.heartbeat():
                return
            if self.process.poll() is not None:
                pytest.fail(f"chroma server exited with {self.process.returncode}")
            time.sleep(0.3)
        pytest.fail("chroma server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def chroma(tmp_path: Path) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path / "server")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def chroma_server(chroma: ChromaServer) -> int:
    return chroma.port


def test_ingest_and_query_against_chroma_server(chroma_server: int, tmp_path: Path) -> None:
    settings: Settings = make_settings(
        tmp_path / "data", chroma_host="127.0.0.1", chroma_port=chroma_server
    )
    report = run_ingest(settings)
    assert report.status == "built", report.summary()
    assert not (tmp_path / "data" / "chroma").exists()
    components = build_components(settings)
    dense = components.retriever.dense  # type: ignore[attr-defined]
    assert isinstance(dense, DenseRetriever)
    passages = dense.retrieve("Blijverslening voor huurders", 3)
    assert len(passages) == 3
    assert run_ingest(settings).status == "unchanged"


def _wait_for(condition: object, what: str, seconds: float = 20.0) -> None:
    """Polls (the probe caches its answer for a second); no timing is asserted."""
    assert callable(condition)
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {seconds:.0f} s")
        time.sleep(0.2)


def test_chroma_outage_degrades_and_recovers(chroma: ChromaServer, tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", chroma_host="127.0.0.1", chroma_port=chroma.port,
                             rate_limit="off")
    assert run_ingest(settings).status == "built"
    with TestClient(create_app(settings)) as client:
        before = client.post("/api/ask", json={"question": QUESTION})
        assert before.status_code == 200 and before.json()["citations"]
        assert client.get("/healthz").json()["status"] == "ok"

        chroma.stop()
        assert not chroma.heartbeat()
        _wait_for(lambda: client.get("/healthz").json()["status"] == "degraded", "degraded")
        health = client.get("/healthz")
        assert health.status_code == 200
        body = health.json()
        assert body["vector_store"] == "server"
        assert any("Chroma-server" in p and "niet bereikbaar" in p for p in body["problems"]), body
        asked = client.post("/api/ask", json={"question": QUESTION})
        assert asked.status_code == 503, asked.text
        assert "zoekdatabase" in asked.json()["detail"]
        assert "niet bereikbaar" in asked.json()["detail"]
        assert asked.headers["Retry-After"]
        metrics = client.get("/metrics").text
        assert 'reason="vector-store"' in metrics

        chroma.start()
        _wait_for(lambda: client.get("/healthz").json()["status"] == "ok", "recovery")
        after = client.post("/api/ask", json={"question": QUESTION})
        assert after.status_code == 200, after.text
        assert after.json()["citations"] == before.json()["citations"]
