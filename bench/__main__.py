"""`python -m bench [--quick] [--profile] [--equivalence]`: every benchmark in one run, within
a time budget.

Phases, in order: question-embedding latency of every encoder runtime (PyTorch, ONNX, ONNX
int8), interleaved in one process; cold and warm ingest with the real model, once per runtime
(each builds its own index); the real API over HTTP at 1, 4 and 8 clients, one server per
runtime, the runtimes taking turns level by level; ingest and retrieval on synthetic corpora
at 1× and 100× (the sizes with goals); the naive-langchain baseline in-process; the same at
10×. Each phase gets what is left of the budget (a phase that would not fit is reported as
skipped), so the whole run ends in time even on a busy machine. Ratios against PyTorch are
always taken within this one run.
`--equivalence` instead measures how close the ONNX vectors are to PyTorch's
(bench/runtime_equivalence.py).
All data lives in a temporary directory; the repository's data/ is never touched.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from assistant.config import Settings
from bench.load import Server, run_level, server_env
from bench.questions import base_questions, stream
from bench.report import finalize, write_results
from bench.runtime_equivalence import RESULTS_NAME
from bench.synthetic import build_corpus

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
               "ANONYMIZED_TELEMETRY": "False", "TOKENIZERS_PARALLELISM": "false"}
RUNTIMES = ("torch", "onnx", "onnx-int8")
RESERVE_S = 15.0
MIN_PHASE_S = 30.0
REQUEST_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Plan:
    """Sample sizes and time limits of one mode."""

    mode: str
    budget_s: float
    levels: tuple[tuple[int, int], ...]  # (clients, requests)
    level_time_s: float
    repeat_requests: int
    questions: int
    question_time_s: float
    factors: tuple[int, ...]
    runtimes: tuple[str, ...] = RUNTIMES
    query_threads: tuple[int, ...] = (1, 2)
    query_questions: int = 40
    query_time_s: float = 60.0
    worker_cap_s: float = 300.0


FULL = Plan("full", budget_s=2400, levels=((1, 60), (4, 80), (8, 120)), level_time_s=25,
            repeat_requests=20, questions=40, question_time_s=20, factors=(1, 10, 100),
            worker_cap_s=600)
QUICK = Plan("quick", budget_s=900, levels=((1, 10), (4, 16), (8, 24)), level_time_s=8,
             repeat_requests=5, questions=10, question_time_s=8, factors=(1,),
             query_threads=(1,), query_questions=10, query_time_s=20, worker_cap_s=400)


class Skipped(RuntimeError):
    """Not enough of the time budget left for a phase."""


class Clock:
    """The run's deadline; hands each phase a timeout that still fits."""

    def __init__(self, budget_s: float) -> None:
        self.deadline = time.monotonic() + budget_s

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def allow(self, cap_s: float) -> float:
        left = self.remaining() - RESERVE_S
        if left < min(cap_s, MIN_PHASE_S):
            raise Skipped(f"time budget spent ({self.remaining():.0f} s left)")
        return min(cap_s, left)


def base_env() -> dict[str, str]:
    return {**os.environ, **OFFLINE_ENV}


def run_worker(task: str, name: str, config: dict[str, Any], work: Path,
               timeout_s: float) -> dict[str, Any]:
    """One bench.worker subprocess; its result, or an error with the tail of its log."""
    config_path, out_path, log_path = (work / f"{name}.config.json", work / f"{name}.out.json",
                                       work / f"{name}.log")
    config_path.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    started = time.perf_counter()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.worker", task, str(config_path), str(out_path)],
            cwd=ROOT, env=base_env(), stdout=log, stderr=subprocess.STDOUT)
        try:
            code = process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            return {"error": f"stopped after the {timeout_s:.0f} s left for it"}
    if code != 0 or not out_path.is_file():
        tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
        return {"error": f"exit code {code}: {' / '.join(tail)}"}
    result: dict[str, Any] = json.loads(out_path.read_text(encoding="utf-8"))
    result["process_wall_s"] = round(time.perf_counter() - started, 1)
    return result


def phase_queries(plan: Plan, clock: Clock, work: Path,
                  bodies: list[dict[str, Any]]) -> dict[str, Any]:
    config = {"data_dir": str(work / "queries-data"), "corpus_dir": str(ROOT / "corpus"),
              "runtimes": list(plan.runtimes), "threads": list(plan.query_threads),
              "warmup": stream(bodies, 40_000, 2),
              "questions": stream(bodies, 50_000, plan.query_questions),
              "time_limit_s": plan.query_time_s}
    return run_worker("queries", "queries", config, work, clock.allow(plan.worker_cap_s))


def phase_ingest(plan: Plan, clock: Clock, work: Path, data_dir: Path,
                 runtime: str) -> dict[str, Any]:
    config = {"data_dir": str(data_dir), "corpus_dir": str(ROOT / "corpus"),
              "export_dir": str(work), "runtime": runtime}
    result = run_worker("ingest", f"ingest-{runtime}", config, work,
                        clock.allow(plan.worker_cap_s))
    if "error" in result:
        return result
    env = {**base_env(), "DATA_DIR": str(data_dir), "CORPUS_DIR": str(ROOT / "corpus"),
           "EMBEDDING_RUNTIME": runtime}
    try:
        timeout = clock.allow(60)
    except Skipped as exc:
        result["warm_cli_status"] = str(exc)
        return result
    started = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-m", "assistant.cli", "ingest", "--json"],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        result["warm_cli_status"] = f"stopped after {timeout:.0f} s"
        return result
    result["warm_cli_s"] = round(time.perf_counter() - started, 2)
    result["warm_cli_status"] = (json.loads(done.stdout).get("status") if done.returncode == 0
                                 else f"exit code {done.returncode}")
    return result


def _start_server(clock: Clock, work: Path, runtime: str, data_dir: Path,
                  bodies: list[dict[str, Any]]) -> tuple[Server, dict[str, Any]]:
    """One API server, ready and warmed (its model loaded by a first request)."""
    server = Server(ROOT, server_env(base_env(), data_dir, ROOT / "corpus", runtime),
                    work / f"api-{runtime}.log")
    try:
        result: dict[str, Any] = {"startup_s": round(server.wait_ready(clock.allow(90)), 2)}
        first = asyncio.run(run_level(server.base_url, stream(bodies, 10_000, 1), 1,
                                      clock.allow(120), clock.allow(120), server.process.pid))
        result["first_request_ms"] = first["ask_ms"]["max"]
        asyncio.run(run_level(server.base_url, stream(bodies, 10_001, 3), 1,
                              clock.allow(60), REQUEST_TIMEOUT_S, server.process.pid))
    except Exception:
        server.stop()
        raise
    return server, result


def phase_serving(plan: Plan, clock: Clock, work: Path, data_dirs: dict[str, Path],
                  bodies: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """One server per runtime, started one after the other (so each starts on a quiet
    machine); then at each level every runtime takes its turn, in an order that rotates, so
    they share the machine's load; the others sit idle meanwhile."""
    results: dict[str, dict[str, Any]] = {}
    servers: dict[str, Server] = {}
    try:
        for runtime, data_dir in data_dirs.items():
            print(f"[bench] serving: starting the {runtime} server …", file=sys.stderr,
                  flush=True)
            try:
                servers[runtime], results[runtime] = _start_server(clock, work, runtime,
                                                                   data_dir, bodies)
            except Skipped as exc:
                results[runtime] = {"skipped": str(exc)}
            except Exception as exc:  # one runtime's server failing leaves the others
                results[runtime] = {"error": f"{type(exc).__name__}: {exc}"}
        levels: dict[str, list[dict[str, Any]]] = {runtime: [] for runtime in servers}
        order = list(servers)
        offset = 0
        try:
            for i, (clients, count) in enumerate(plan.levels):
                for runtime in order[i % len(order):] + order[: i % len(order)] if order else []:
                    server = servers[runtime]
                    levels[runtime].append(asyncio.run(run_level(
                        server.base_url, stream(bodies, offset, count), clients,
                        clock.allow(plan.level_time_s), REQUEST_TIMEOUT_S, server.process.pid)))
                offset += count
            for runtime, server in servers.items():
                results[runtime]["repeat"] = asyncio.run(run_level(
                    server.base_url, stream(bodies, 0, plan.repeat_requests), 1,
                    clock.allow(plan.level_time_s), REQUEST_TIMEOUT_S, server.process.pid))
        except Skipped as exc:
            for runtime in servers:
                results[runtime]["cut_short"] = str(exc)
        for runtime, server in servers.items():
            results[runtime]["levels"] = levels[runtime]
            results[runtime]["memory_mb"] = server.memory_mb()
            found = levels[runtime]
            if found:
                best = max(found, key=lambda level: level["throughput_rps"] or 0.0)
                results[runtime]["saturation_rps"] = best["throughput_rps"]
                results[runtime]["saturation_clients"] = best["clients"]
                results[runtime]["errors_below_saturation"] = sum(lv["errors"] for lv in found)
    finally:
        for server in servers.values():
            server.stop()
    return results


def phase_baseline(plan: Plan, clock: Clock, work: Path, bodies: list[dict[str, Any]],
                   product_data_dir: Path | None) -> dict[str, Any]:
    config = {"data_dir": str(work / "baseline-data"), "corpus_dir": str(ROOT / "corpus"),
              "product_data_dir": str(product_data_dir) if product_data_dir else None,
              "warmup": stream(bodies, 20_000, 2), "questions": stream(bodies, 0, plan.questions),
              "time_limit_s": plan.question_time_s}
    return run_worker("baseline", "baseline", config, work, clock.allow(plan.worker_cap_s))


def phase_scale(plan: Plan, clock: Clock, work: Path, factor: int, runtime: str,
                bodies: list[dict[str, Any]], profile_dir: Path | None) -> dict[str, Any]:
    timeout = clock.allow(plan.worker_cap_s)
    corpus = build_corpus(ROOT / "corpus", work / f"corpus-{factor}x", factor)
    config: dict[str, Any] = {
        "factor": factor, "data_dir": str(work / f"data-{factor}x"),
        "corpus_dir": str(corpus.directory), "export_dir": str(work), "runtime": runtime,
        "warmup": stream(bodies, 20_000, 2), "questions": stream(bodies, 0, plan.questions),
        "time_limit_s": plan.question_time_s,
    }
    if profile_dir is not None:
        config["profile_out"] = str(profile_dir / f"profile-{factor}x.txt")
        config["profile_questions"] = stream(bodies, 30_000, 10)
    result = run_worker("scale", f"scale-{factor}x", config, work, timeout)
    return {**result, "factor": factor, "characters": corpus.characters}


def _guarded(name: str, run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """A phase's result, or why it has none; one phase failing never stops the others."""
    print(f"[bench] {name} …", file=sys.stderr, flush=True)
    load_avg = round(os.getloadavg()[0], 2)
    try:
        result: dict[str, Any] = {**run(), "load_avg_start": load_avg}
    except Skipped as exc:
        result = {"skipped": str(exc)}
    except Exception as exc:  # reported in the results instead of ending the run
        result = {"error": f"{type(exc).__name__}: {exc}"}
    if problem := result.get("error") or result.get("skipped"):
        print(f"[bench] {name}: {problem}", file=sys.stderr, flush=True)
    return result


def _ok(section: dict[str, Any]) -> bool:
    return "error" not in section and "skipped" not in section


def scale_runtime(plan: Plan, ingested: list[str]) -> str | None:
    """The runtime whose vectors and query model the scaling runs use: the configured one
    (EMBEDDING_RUNTIME, default torch) when its ingest worked, else the first that did."""
    configured = Settings().embedding_runtime
    if configured in ingested:
        return configured
    return ingested[0] if ingested else None


def run_all(plan: Plan, work: Path, profile_dir: Path | None) -> dict[str, Any]:
    clock = Clock(plan.budget_s)
    started = time.monotonic()
    bodies = base_questions()
    settings = Settings()
    results: dict[str, Any] = {"meta": {
        "mode": plan.mode, "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(), "load_avg_start": round(os.getloadavg()[0], 2),
        "python": platform.python_version(), "embedding_model": settings.embedding_model,
        "runtimes": list(plan.runtimes), "serve_threads": settings.serve_threads,
        "questions": len(bodies), "plan": asdict(plan),
        "profiles": str(profile_dir) if profile_dir else None,
    }}
    results["queries"] = _guarded("question embedding per runtime",
                                  lambda: phase_queries(plan, clock, work, bodies))
    data_dirs = {runtime: work / f"data-real-{runtime}" for runtime in plan.runtimes}
    results["ingest"] = {
        runtime: _guarded(f"ingest ({runtime})",
                          partial(phase_ingest, plan, clock, work, data_dirs[runtime], runtime))
        for runtime in plan.runtimes
    }
    ingested = [runtime for runtime in plan.runtimes if _ok(results["ingest"][runtime])]
    print("[bench] serving …", file=sys.stderr, flush=True)
    serving_load = round(os.getloadavg()[0], 2)
    try:
        results["serving"] = phase_serving(plan, clock, work,
                                           {r: data_dirs[r] for r in ingested}, bodies)
    except Exception as exc:  # reported, the other phases still run
        results["serving"] = {r: {"error": f"{type(exc).__name__}: {exc}"} for r in ingested}
    for name in plan.runtimes:
        results["serving"].setdefault(
            name, {"skipped": "no index: the ingest phase of this runtime did not finish"})
        results["serving"][name].setdefault("load_avg_start", serving_load)
    runtime = scale_runtime(plan, ingested)
    results["meta"]["scaling_runtime"] = runtime
    scaling: dict[int, dict[str, Any]] = {}

    def scale(factors: tuple[int, ...]) -> None:
        for factor in factors:
            scaling[factor] = (
                _guarded(f"scale {factor}× ({runtime})",
                         partial(phase_scale, plan, clock, work, factor, runtime, bodies,
                                 profile_dir))
                if runtime else {"skipped": "no source vectors: no ingest phase finished"})

    scale(tuple(dict.fromkeys(plan.factors[:1] + plan.factors[-1:])))  # the sizes with goals
    torch_ok = "torch" in ingested
    results["baseline"] = _guarded("baseline", lambda: phase_baseline(
        plan, clock, work, bodies, data_dirs["torch"] if torch_ok else None))
    scale(plan.factors[1:-1])
    results["scaling"] = [{**scaling[factor], "factor": factor} for factor in plan.factors]
    results["meta"]["duration_s"] = round(time.monotonic() - started, 1)
    results["meta"]["load_avg_end"] = round(os.getloadavg()[0], 2)
    return finalize(results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="smaller samples, one thread count, 1× only")
    parser.add_argument("--profile", action="store_true",
                        help="also cProfile extra in-process questions per corpus size")
    parser.add_argument("--equivalence", action="store_true",
                        help="only compare the runtimes' vectors with PyTorch's")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    for name, value in OFFLINE_ENV.items():
        os.environ.setdefault(name, value)
    if args.equivalence:
        from bench.runtime_equivalence import main as measure_equivalence

        return measure_equivalence(["--out", str(args.out)])
    plan = QUICK if args.quick else FULL
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="woonzorgwijzer-bench-") as tmp:
        results = run_all(plan, Path(tmp), args.out if args.profile else None)
    closeness = args.out / RESULTS_NAME
    if closeness.is_file():  # the vectors' closeness, measured apart (--equivalence)
        results["equivalence"] = json.loads(closeness.read_text(encoding="utf-8"))
    json_path, markdown_path, markdown = write_results(results, args.out)
    print(markdown)
    print(f"written: {json_path}, {markdown_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
