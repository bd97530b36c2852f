"""Server mode: ingest into and query a real `chroma run` on loopback."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assistant.config import Settings
from assistant.retrieval.dense import DenseRetriever
from assistant.service import build_components
from ingest.pipeline import run_ingest
from tests.conftest import make_settings

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[int]:
    port = free_port()
    chroma = Path(sys.executable).parent / "chroma"
    process = subprocess.Popen(
        [
            str(chroma),
            "run",
            "--path",
            str(tmp_path / "server"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).is_success:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            pytest.fail("chroma server did not start")
        yield port
    finally:
        process.terminate()
        process.wait(timeout=20)


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
