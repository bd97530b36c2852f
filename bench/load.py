"""The real API in a subprocess on loopback, and an asyncio load generator against it.

The client runs in the benchmark process on the same two cores as the server, so the
figures include its (small) share of the CPU; it only ever connects to 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.stats import proc_memory_mb, summarize, throughput

HOST = "127.0.0.1"
ERROR_EXAMPLES = 3


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


class ServerFailed(RuntimeError):
    """The API process exited or never answered /healthz."""


class Server:
    """`python -m assistant.cli serve` on a free loopback port; the log goes to a file."""

    def __init__(self, root: Path, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://{HOST}:{self.port}"
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "assistant.cli", "serve", "--host", HOST,
             "--port", str(self.port)],
            cwd=root, env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout_s: float) -> float:
        """Seconds until /healthz answers 200."""
        started = time.perf_counter()
        with httpx.Client(base_url=self.base_url, timeout=5.0, trust_env=False) as client:
            while time.perf_counter() - started < timeout_s:
                if self.process.poll() is not None:
                    raise ServerFailed(f"server exited with code {self.process.returncode}")
                try:
                    if client.get("/healthz").status_code == 200:
                        return time.perf_counter() - started
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
        raise ServerFailed(f"no answer from /healthz within {timeout_s:.0f} s")

    def memory_mb(self) -> dict[str, float]:
        return proc_memory_mb(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


@dataclass
class LevelSamples:
    """Raw observations of one concurrency level."""

    wall_ms: list[float] = field(default_factory=list)
    retrieve_ms: list[float] = field(default_factory=list)
    server_total_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    first_start: float = float("inf")
    last_end: float = 0.0
    not_sent: int = 0


async def _client_loop(client: httpx.AsyncClient, bodies: list[dict[str, Any]],
                       deadline: float, samples: LevelSamples) -> None:
    while bodies:
        if time.perf_counter() > deadline:
            return
        body = bodies.pop()
        started = time.perf_counter()
        samples.first_start = min(samples.first_start, started)
        try:
            response = await client.post("/api/ask", json=body)
        except httpx.HTTPError as exc:
            samples.errors.append(type(exc).__name__)
            continue
        finally:
            samples.last_end = max(samples.last_end, time.perf_counter())
        if response.status_code != 200:
            samples.errors.append(f"HTTP {response.status_code}")
            continue
        samples.wall_ms.append((time.perf_counter() - started) * 1000)
        timings = response.json().get("timings_ms", {})
        samples.retrieve_ms.append(float(timings.get("retrieve", 0.0)))
        samples.server_total_ms.append(float(timings.get("total", 0.0)))


async def _sample_rss(pid: int, stop: asyncio.Event) -> float:
    peak = 0.0
    while not stop.is_set():
        peak = max(peak, proc_memory_mb(pid).get("VmRSS", 0.0))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=0.25)
    return peak


async def run_level(base_url: str, bodies: list[dict[str, Any]], clients: int,
                    time_limit_s: float, request_timeout_s: float,
                    server_pid: int) -> dict[str, Any]:
    """`clients` concurrent clients send the bodies until all are sent or time runs out."""
    pending = list(reversed(bodies))
    samples = LevelSamples()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    stop = asyncio.Event()
    sampler = asyncio.create_task(_sample_rss(server_pid, stop))
    deadline = time.perf_counter() + time_limit_s
    async with httpx.AsyncClient(base_url=base_url, timeout=request_timeout_s, limits=limits,
                                 trust_env=False) as client:
        await asyncio.gather(*(_client_loop(client, pending, deadline, samples)
                               for _ in range(clients)))
    stop.set()
    peak_rss = await sampler
    sent = len(bodies) - len(pending)
    return {
        "clients": clients,
        "sent": sent,
        "not_sent_time_limit": len(pending),
        "ok": len(samples.wall_ms),
        "errors": len(samples.errors),
        "error_rate": round(len(samples.errors) / sent, 4) if sent else None,
        "error_examples": sorted(set(samples.errors))[:ERROR_EXAMPLES],
        "ask_ms": summarize(samples.wall_ms),
        "retrieve_ms": summarize(samples.retrieve_ms),
        "server_total_ms": summarize(samples.server_total_ms),
        "throughput_rps": throughput(len(samples.wall_ms), samples.first_start,
                                     samples.last_end),
        "peak_rss_mb": peak_rss,
    }


def server_env(base: dict[str, str], data_dir: Path, corpus_dir: Path,
               runtime: str = "torch") -> dict[str, str]:
    """The server's environment: the benchmark's data dir, never the repository's data/, and
    the encoder runtime that built that data dir's index."""
    env = dict(base)
    env.update({"DATA_DIR": str(data_dir), "CORPUS_DIR": str(corpus_dir),
                "SQLITE_PATH": str(data_dir / "app.sqlite"), "HOST": HOST,
                "EMBEDDING_RUNTIME": runtime})
    return env
