"""Goals, the comparison with the baseline, and the Markdown/JSON report of one run."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.synthetic import __doc__ as SYNTHETIC_METHOD

JSON_NAME = "latest.json"
MARKDOWN_NAME = "latest.md"
MIB_PER_GB = 1e9 / (1 << 20)
ResultPath = tuple[str | int, ...]
GOALS: tuple[tuple[str, str, float, ResultPath], ...] = (
    ("Retrieval p95 at 1× (in-process, incl. query embedding)", "ms", 150.0,
     ("scaling", 1, "latency_ms", "retrieve", "p95")),
    ("Retrieval p95 at 100× (in-process, incl. query embedding)", "ms", 300.0,
     ("scaling", 100, "latency_ms", "retrieve", "p95")),
    ("/api/ask p95, 1 client (HTTP)", "ms", 300.0, ("serving", "levels", 1, "ask_ms", "p95")),
    ("Warm re-ingest, unchanged corpus (fresh `assistant ingest` process)", "s", 5.0,
     ("ingest", "warm_cli_s")),
    ("API peak RSS (VmHWM)", "MiB", round(2.5 * MIB_PER_GB), ("serving", "memory_mb", "VmHWM")),
    ("Errors at 1, 4 and 8 clients (below saturation)", "errors", 0.0,
     ("serving", "errors_below_saturation")),
)


def lookup(results: dict[str, Any], path: Sequence[str | int]) -> Any:
    """Walk a result path; an int picks the scaling run of that factor or the level of that
    many clients. None where any step is missing (a phase skipped or failed)."""
    node: Any = results
    for key in path:
        if isinstance(key, int) and isinstance(node, list):
            node = next((item for item in node
                         if item.get("factor", item.get("clients")) == key), None)
        elif isinstance(node, dict):
            node = node.get(key)
        else:
            return None
        if node is None:
            return None
    return node


def evaluate_goals(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each goal with its measured value and pass/fail (None when not measured)."""
    goals = []
    for name, unit, limit, path in GOALS:
        measured = lookup(results, path)
        passed = None if measured is None else bool(measured <= limit)
        phase = path[:2] if path[0] == "scaling" else path[:1]
        goals.append({"goal": name, "unit": unit, "limit": limit, "measured": measured,
                      "passed": passed,
                      "load_avg": lookup(results, (*phase, "load_avg_start"))})
    return goals


def _ratio(ours: Any, theirs: Any) -> float | None:
    if ours is None or not theirs:
        return None
    return round(float(ours) / float(theirs), 2)


def compare_with_baseline(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Ours (product in-process at 1×, real-model ingest) against naive-langchain."""
    rows: list[tuple[str, ResultPath, ResultPath]] = [
        ("ingest time, excl. model load (s)", ("ingest", "cold_s"), ("baseline", "ingest_s")),
        ("model load (s)", ("ingest", "model_load_s"), ("baseline", "model_load_s")),
        ("chunks / splits indexed", ("ingest", "chunks"), ("baseline", "splits")),
    ]
    for timing, label in (("retrieve", "retrieval"), ("total", "answer end-to-end")):
        for metric in ("p50", "p95"):
            rows.append((f"{label} {metric}, paired (ms)",
                         ("baseline", "ours_paired_ms", timing, metric),
                         ("baseline", "latency_ms", timing, metric)))
    rows.append(("peak RSS, in-process after ingest and questions (MiB)",
                 ("scaling", 1, "memory_mb", "VmHWM"), ("baseline", "memory_mb", "VmHWM")))
    out = []
    for name, ours_path, theirs_path in rows:
        ours, theirs = lookup(results, ours_path), lookup(results, theirs_path)
        out.append({"metric": name, "ours": ours, "baseline": theirs,
                    "ratio": _ratio(ours, theirs)})
    return out


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        digits = max(digits, 2) if abs(value) < 10 else digits
        return f"{value:,.{digits}f}".replace(",", " ")
    return str(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(cell) for cell in row) + " |" for row in rows]
    return lines + [""]


def _problem(section: Any) -> str | None:
    if isinstance(section, dict) and (section.get("error") or section.get("skipped")):
        return str(section.get("error") or section.get("skipped"))
    return None


def _goal_lines(results: dict[str, Any]) -> list[str]:
    rows = []
    for goal in results.get("goals", []):
        verdict = {True: "PASS", False: "FAIL", None: "not measured"}[goal["passed"]]
        rows.append((goal["goal"], f"≤ {goal['limit']:g} {goal['unit']}",
                     goal["measured"], verdict, goal["load_avg"]))
    return ["## Goals", ""] + _table(
        ("goal", "target", "measured", "result", "load average when measured"), rows)


def _ingest_lines(ingest: dict[str, Any]) -> list[str]:
    lines = ["## Ingest (real corpus, real model, fresh data dir)", ""]
    if _problem(ingest):
        return lines + [f"Not measured: {_problem(ingest)}", ""]
    rows: list[tuple[str, Any]] = [
        ("load average at the start", ingest.get("load_avg_start")),
        ("documents / chunks", f"{ingest['documents']} / {ingest['chunks']}"),
        ("model load (s)", ingest["model_load_s"]),
        ("cold ingest, excl. model load (s)", ingest["cold_s"]),
        ("chunks per second, cold", ingest["chunks_per_s"]),
        ("chunks per second, cold incl. model load", ingest["chunks_per_s_with_model_load"]),
        ("warm re-ingest, unchanged, same process (s)", ingest["warm_s"]),
        ("warm re-ingest, unchanged, fresh `assistant ingest` process (s)",
         ingest.get("warm_cli_s")),
        ("peak RSS of the ingest process (MiB)", ingest["memory_mb"].get("VmHWM")),
        ("index on disk (MiB)", ingest["index_mb"]),
    ]
    return lines + _table(("metric", "value"), rows)


def _serving_lines(serving: dict[str, Any]) -> list[str]:
    lines = ["## Serving: `POST /api/ask` over HTTP on 127.0.0.1 (real model, real corpus)", ""]
    if _problem(serving):
        return lines + [f"Not measured: {_problem(serving)}", ""]
    rows = []
    levels = [(str(level["clients"]), level) for level in serving["levels"]]
    if serving.get("repeat"):
        levels.append(("1, repeated questions (query cache hit)", serving["repeat"]))
    for label, level in levels:
        errors = f"{level['errors']} ({100 * (level['error_rate'] or 0):.1f} %)"
        rows.append((label, level["sent"], errors, level["ask_ms"]["p50"],
                     level["ask_ms"]["p95"], level["ask_ms"]["p99"],
                     level["retrieve_ms"]["p50"], level["retrieve_ms"]["p95"],
                     level["retrieve_ms"]["p99"], level["throughput_rps"]))
    if serving.get("cut_short"):
        lines += [f"Cut short: {serving['cut_short']}.", ""]
    lines += _table(("clients", "requests", "errors (rate)", "ask p50 ms", "ask p95 ms",
                     "ask p99 ms", "retrieve p50 ms", "retrieve p95 ms", "retrieve p99 ms",
                     "req/s"), rows)
    memory = serving.get("memory_mb", {})
    lines += _table(("metric", "value"), [
        ("load average at the start", serving.get("load_avg_start")),
        ("server ready (/healthz) after start (s)", serving.get("startup_s")),
        ("first /api/ask after start, model load included (ms)",
         serving.get("first_request_ms")),
        ("throughput at saturation (req/s)",
         f"{_fmt(serving.get('saturation_rps'), 2)} at {serving.get('saturation_clients')} "
         "clients"),
        ("API RSS after the load (MiB)", memory.get("VmRSS")),
        ("API peak RSS, VmHWM (MiB)", memory.get("VmHWM")),
    ])
    return lines


def _scaling_lines(scaling: list[dict[str, Any]], ingest: dict[str, Any]) -> list[str]:
    lines = ["## Scaling (synthetic corpus; document vectors from real source vectors)", ""]
    rate = ingest.get("chunks_per_s") if not _problem(ingest) else None
    rows = []
    for run in scaling:
        if _problem(run):
            rows.append((f"{run['factor']}×", *(["–"] * 13), _problem(run)))
            continue
        latency = run["latency_ms"]
        without = round(run["ingest_s"] - run["surrogate_embed_s"], 2)
        projected = round(without + run["chunks"] / rate, 1) if rate else None
        rows.append((
            f"{run['factor']}×", run["documents"], run["chunks"],
            round(run["characters"] / 1e6, 2), run["index_mb"], run["ingest_s"], without,
            projected, latency["retrieve"]["p50"], latency["retrieve"]["p95"],
            latency["search_only"]["p50"], latency["search_only"]["p95"],
            run["memory_mb"].get("VmHWM"), run.get("load_avg_start"),
            f"{run['real_vectors']} real, {run['perturbed_vectors']} perturbed",
        ))
    return lines + _table(
        ("size", "docs", "chunks", "text (M chars)", "index on disk MiB", "ingest s",
         "ingest s excl. vector stand-in", "projected ingest s with real model",
         "retrieval p50 ms", "retrieval p95 ms", "search-only p50 ms", "search-only p95 ms",
         "peak RSS MiB", "load avg", "vectors"), rows)


def _baseline_lines(results: dict[str, Any]) -> list[str]:
    baseline = results.get("baseline", {})
    ours_load = lookup(results, ("ingest", "load_avg_start"))
    lines = ["## Versus the naive-langchain baseline (same run, same questions, in-process)", "",
             "Latencies are paired: in one process both answer each question back to back, "
             "alternating who goes first, so both see the same machine load. Ingest times come "
             f"from separate phases (load average {_fmt(ours_load)} "
             f"for ours, {_fmt(baseline.get('load_avg_start'))} for the baseline).", ""]
    if _problem(baseline):
        lines += [f"Baseline not measured: {_problem(baseline)}", ""]
    rows = [(row["metric"], row["ours"], row["baseline"], row["ratio"])
            for row in results.get("comparison", [])]
    return lines + _table(("metric", "ours", "naive-langchain", "ours / baseline"), rows)


def _method_lines(results: dict[str, Any]) -> list[str]:
    meta = results["meta"]
    synthetic = (SYNTHETIC_METHOD or "").strip().split("\n\n", 1)[-1]
    lines = [
        "## Method", "",
        f"- Run: `{meta['mode']}` mode, {meta['duration_s']} s, {meta['cpus']} CPUs, load "
        f"average {meta['load_avg_start']} at the start and {meta['load_avg_end']} at the end "
        "(other processes on the machine make absolute timings noisy; ratios within one run "
        "are the comparable figures).",
        "- Questions: the evals' dev and own sets; every request is a unique variant (one space "
        "widened) so the query-embedding cache never hits — the worst case. The repeated-"
        "question row measures the cache-hit path.",
        "- Retrieval = `timings_ms.retrieve`: query embedding with the real model, dense "
        "(Chroma HNSW) and BM25 search and their fusion. Search-only repeats the retrieval "
        "with the query vector cached. Ours runs `Assistant.ask` in-process; the baseline runs "
        "`NaiveLangchainBaseline.ask` (evals/baseline.py) in-process.",
        "- Scaling corpus: " + " ".join(synthetic.split()),
        "- Scaling vectors: embedding 100× the corpus with EmbeddingGemma on two cores would "
        "take hours, so synthetic chunks get the real vector of their source chunk (exact for "
        "unchanged text, otherwise the lexically nearest real chunk plus deterministic noise, "
        "cosine ≈ 0.96; bench/surrogate.py). Chroma and BM25 index and search the full size "
        "honestly; queries always use the real model. The projected ingest adds chunks ÷ "
        "the measured cold chunks/s.",
        "- Memory: VmHWM/VmRSS from /proc of each measured process (ingest, in-process runs "
        "and baseline each in their own subprocess; the API sampled during the load).",
    ]
    if meta.get("profiles"):
        lines.append(f"- Profiles: cProfile of 10 extra in-process questions per size in "
                     f"`{meta['profiles']}/profile-<size>x.txt`.")
    return lines + [""]


def render_markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    lines = [f"# Woonzorgwijzer benchmark — {meta['started_at']}", ""]
    lines += _goal_lines(results)
    lines += _ingest_lines(results.get("ingest", {}))
    lines += _serving_lines(results.get("serving", {}))
    lines += _scaling_lines(results.get("scaling", []), results.get("ingest", {}))
    lines += _baseline_lines(results)
    lines += _method_lines(results)
    return "\n".join(lines)


def finalize(results: dict[str, Any]) -> dict[str, Any]:
    """Add the goal verdicts and the baseline comparison computed from the measurements."""
    results["goals"] = evaluate_goals(results)
    results["comparison"] = compare_with_baseline(results)
    return results


def write_results(results: dict[str, Any], out_dir: Path) -> tuple[Path, Path, str]:
    """Write latest.json and latest.md; returns both paths and the Markdown."""
    out_dir.mkdir(parents=True, exist_ok=True)
    markdown = render_markdown(results)
    json_path, markdown_path = out_dir / JSON_NAME, out_dir / MARKDOWN_NAME
    json_path.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    markdown_path.write_text(markdown, encoding="utf-8")
    return json_path, markdown_path, markdown
