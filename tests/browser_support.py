"""Helpers for the real-browser tests: a live uvicorn server in a thread and Debian's Chromium."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path

import httpx
import uvicorn

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
AXE_SCRIPT = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


def chromium_path() -> str | None:
    """Debian's Chromium; the tests never download a browser."""
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    return shutil.which("chromium")


def axe_source() -> str:
    """axe-core as installed from npm by `make browser` (npm ci against package-lock.json)."""
    if not AXE_SCRIPT.is_file():
        raise RuntimeError(f"axe-core is missing at {AXE_SCRIPT}: run `make browser` (npm ci)")
    return AXE_SCRIPT.read_text(encoding="utf-8")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LiveServer:
    """Runs an ASGI app under uvicorn on a free loopback port in a background thread."""

    def __init__(self, app: object, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = free_port()
        config = uvicorn.Config(app, host=host, port=self.port, log_level="warning",  # type: ignore[arg-type]
                                lifespan="on", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="live-server", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout_s: float = 60.0) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + timeout_s
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if not self.thread.is_alive():
                raise RuntimeError("the live server stopped while starting")
            try:
                response = httpx.get(f"{self.url}/healthz", timeout=5.0)
                if response.status_code == 200:
                    return self
                last_error = RuntimeError(
                    f"/healthz answered {response.status_code}: {response.text}")
            except httpx.HTTPError as exc:
                last_error = exc
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the live server did not become healthy: {last_error}")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
