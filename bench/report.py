"""Goals, the comparisons (runtimes against PyTorch, ours against the baseline), and the
Markdown/JSON report of one run."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.synthetic import __doc__ as SYNTHETIC_METHOD

JSON_NAME = "latest.json"
MARKDOWN_NAME = "latest.md"
MIB_PER_GB = 1e9 / (1 << 20)
TORCH = "torch"
RUNTIME = "{runtime}"  # placeholder in a goal's path: the goal is checked per runtime
ResultPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Goal:
    """A target on one measured value; `at_least` goals must reach the limit, others stay
    under it. A path holding RUNTIME is checked for each runtime (`onnx_only`: not PyTorch)."""

    name: str
    unit: str
    limit: float
    path: ResultPath
    at_least: bool = False
    onnx_only: bool = False

    @property
    def per_runtime(self) -> bool:
        return RUNTIME in self.path


GOALS: tuple[Goal, ...] = (
    Goal("Question embedding speed-up over PyTorch (one query, serving's 1 thread, p50)", "×",
         3.0, ("derived", "query_speedup", RUNTIME), at_least=True, onnx_only=True),
    Goal("/api/ask p95, 1 client (HTTP)", "ms", 120.0,
         ("serving", RUNTIME, "levels", 1, "ask_ms", "p95")),
    Goal("Throughput at 8 clients (HTTP)", "req/s", 25.0,
         ("serving", RUNTIME, "levels", 8, "throughput_rps"), at_least=True),
    Goal("Errors at 1, 4 and 8 clients", "errors", 0.0,
         ("serving", RUNTIME, "errors_below_saturation")),
    Goal("Cold ingest of the real corpus, answer units included", "chunks/s", 5.0,
         ("ingest", RUNTIME, "chunks_per_s"), at_least=True),
    Goal("Warm re-ingest, unchanged corpus (fresh `assistant ingest` process)", "s", 3.0,
         ("ingest", RUNTIME, "warm_cli_s")),
    Goal("API peak RSS (VmHWM)", "MiB", round(2.5 * MIB_PER_GB),
         ("serving", RUNTIME, "memory_mb", "VmHWM")),
    Goal("100× corpus ingest, projected with this runtime's measured model time", "s", 1800.0,
         ("derived", "projected_ingest", RUNTIME, "100", "seconds")),
    Goal("Retrieval p50 at 100× ÷ at 1× (in-process, incl. query embedding)", "×", 1.2,
         ("derived", "retrieval_p50_100x_over_1x")),
    Goal("Retrieval p95 at 1× (in-process, incl. query embedding)", "ms", 150.0,
         ("scaling", 1, "latency_ms", "retrieve", "p95")),
    Goal("Retrieval p95 at 100× (in-process, incl. query embedding)", "ms", 300.0,
         ("scaling", 100, "latency_ms", "retrieve", "p95")),
    Goal("Peak RSS, 100× ingest and questions (VmHWM)", "MiB", round(3 * MIB_PER_GB),
         ("scaling", 100, "memory_mb", "VmHWM")),
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


def runtimes_of(results: dict[str, Any]) -> list[str]:
    return list(results.get("meta", {}).get("runtimes") or [TORCH])


def _ratio(ours: Any, theirs: Any) -> float | None:
    if ours is None or not theirs:
        return None
    return round(float(ours) / float(theirs), 2)


def derive(results: dict[str, Any]) -> dict[str, Any]:
    """Values computed from several measurements: speed-ups, the scale ratio, projections."""
    runtimes = runtimes_of(results)
    speedup = {}
    for runtime in runtimes:
        torch_p50 = lookup(results, ("queries", "threads", "1", TORCH, "p50"))
        ours = lookup(results, ("queries", "threads", "1", runtime, "p50"))
        speedup[runtime] = _ratio(torch_p50, ours)
    base = lookup(results, ("scaling", 1))
    projected: dict[str, dict[str, dict[str, float | None]]] = {}
    for runtime in runtimes:
        cold_s = lookup(results, ("ingest", runtime, "cold_s"))
        per_chunk = None
        if base and not _problem(base) and cold_s is not None and base.get("chunks"):
            non_model_1x = base["ingest_s"] - base["surrogate_embed_s"]
            per_chunk = max(0.0, cold_s - non_model_1x) / base["chunks"]
        projected[runtime] = {}
        for run in results.get("scaling", []):
            if _problem(run) or per_chunk is None:
                continue
            seconds = run["ingest_s"] - run["surrogate_embed_s"] + run["chunks"] * per_chunk
            projected[runtime][str(run["factor"])] = {
                "seconds": round(seconds, 1),
                "chunks_per_s": round(run["chunks"] / seconds, 2) if seconds else None}
    p50_1 = lookup(results, ("scaling", 1, "latency_ms", "retrieve", "p50"))
    p50_100 = lookup(results, ("scaling", 100, "latency_ms", "retrieve", "p50"))
    return {"query_speedup": speedup, "projected_ingest": projected,
            "retrieval_p50_100x_over_1x": _ratio(p50_100, p50_1)}


def evaluate_goals(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each goal (per runtime where it has one) with its measured value and PASS/MISS
    (passed None when not measured)."""
    goals = []
    for goal in GOALS:
        targets: list[str] = [""]
        if goal.per_runtime:
            targets = [r for r in runtimes_of(results) if not (goal.onnx_only and r == TORCH)]
        for runtime in targets:
            path: ResultPath = tuple(runtime if key == RUNTIME else key for key in goal.path)
            measured = lookup(results, path)
            if measured is None:
                passed = None
            else:
                passed = bool(measured >= goal.limit if goal.at_least else measured <= goal.limit)
            phase = path[:2] if path[0] in ("scaling", "serving", "ingest") else path[:1]
            if path[0] == "derived":
                phase = ("queries",) if "query_speedup" in path else ("scaling", 100)
            goals.append({"goal": goal.name, "runtime": runtime or
                          results.get("meta", {}).get("scaling_runtime"),
                          "unit": goal.unit, "limit": goal.limit,
                          "at_least": goal.at_least, "measured": measured, "passed": passed,
                          "load_avg": lookup(results, (*phase, "load_avg_start"))})
    return goals


RUNTIME_ROWS: tuple[tuple[str, ResultPath], ...] = (
    ("question embedding p50, 1 thread (ms)", ("queries", "threads", "1", RUNTIME, "p50")),
    ("question embedding p95, 1 thread (ms)", ("queries", "threads", "1", RUNTIME, "p95")),
    ("question embedding p50, 2 threads (ms)", ("queries", "threads", "2", RUNTIME, "p50")),
    ("question embedding p95, 2 threads (ms)", ("queries", "threads", "2", RUNTIME, "p95")),
    ("model load incl. export check (s)", ("queries", "model_load_s", RUNTIME)),
    ("cold ingest, excl. model load (s)", ("ingest", RUNTIME, "cold_s")),
    ("cold ingest (chunks/s)", ("ingest", RUNTIME, "chunks_per_s")),
    ("cold ingest (answer units/s)", ("ingest", RUNTIME, "units_per_s")),
    ("ingest 10×, projected (chunks/s)", ("derived", "projected_ingest", RUNTIME, "10",
                                          "chunks_per_s")),
    ("ingest 100×, projected (chunks/s)", ("derived", "projected_ingest", RUNTIME, "100",
                                           "chunks_per_s")),
    ("ingest 100×, projected (s)", ("derived", "projected_ingest", RUNTIME, "100", "seconds")),
    ("ingest peak RSS (MiB)", ("ingest", RUNTIME, "memory_mb", "VmHWM")),
    ("/api/ask p50, 1 client (ms)", ("serving", RUNTIME, "levels", 1, "ask_ms", "p50")),
    ("/api/ask p95, 1 client (ms)", ("serving", RUNTIME, "levels", 1, "ask_ms", "p95")),
    ("/api/ask p50, 4 clients (ms)", ("serving", RUNTIME, "levels", 4, "ask_ms", "p50")),
    ("/api/ask p95, 4 clients (ms)", ("serving", RUNTIME, "levels", 4, "ask_ms", "p95")),
    ("/api/ask p50, 8 clients (ms)", ("serving", RUNTIME, "levels", 8, "ask_ms", "p50")),
    ("/api/ask p95, 8 clients (ms)", ("serving", RUNTIME, "levels", 8, "ask_ms", "p95")),
    ("req/s, 1 client", ("serving", RUNTIME, "levels", 1, "throughput_rps")),
    ("req/s, 4 clients", ("serving", RUNTIME, "levels", 4, "throughput_rps")),
    ("req/s, 8 clients", ("serving", RUNTIME, "levels", 8, "throughput_rps")),
    ("errors at 1/4/8 clients", ("serving", RUNTIME, "errors_below_saturation")),
    ("API peak RSS (MiB)", ("serving", RUNTIME, "memory_mb", "VmHWM")),
    ("first /api/ask after start, model load included (ms)",
     ("serving", RUNTIME, "first_request_ms")),
)


def compare_runtimes(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Every runtime's value per metric and its ratio to PyTorch's, from this one run."""
    rows = []
    for name, path in RUNTIME_ROWS:
        values = {r: lookup(results, tuple(r if k == RUNTIME else k for k in path))
                  for r in runtimes_of(results)}
        ratios = {r: _ratio(v, values.get(TORCH)) for r, v in values.items() if r != TORCH}
        rows.append({"metric": name, "values": values, "ratio_to_torch": ratios})
    return rows


def compare_with_baseline(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Ours (PyTorch runtime, product in-process at 1×, real-model ingest) against
    naive-langchain, which always runs on PyTorch."""
    rows: list[tuple[str, ResultPath, ResultPath]] = [
        ("ingest time, excl. model load (s)", ("ingest", TORCH, "cold_s"),
         ("baseline", "ingest_s")),
        ("model load (s)", ("ingest", TORCH, "model_load_s"), ("baseline", "model_load_s")),
        ("chunks / splits indexed", ("ingest", TORCH, "chunks"), ("baseline", "splits")),
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


VERDICTS = {True: "PASS", False: "MISS", None: "not measured"}


def _goal_lines(results: dict[str, Any]) -> list[str]:
    rows = []
    for goal in results.get("goals", []):
        sign = "≥" if goal.get("at_least") else "≤"
        rows.append((goal["goal"], goal.get("runtime"), f"{sign} {goal['limit']:g} {goal['unit']}",
                     goal["measured"], VERDICTS[goal["passed"]], goal["load_avg"]))
    return ["## Goals", ""] + _table(
        ("goal", "runtime", "target", "measured", "result", "load average when measured"), rows)


def _runtime_lines(results: dict[str, Any]) -> list[str]:
    runtimes = runtimes_of(results)
    others = [r for r in runtimes if r != TORCH]
    lines = ["## Encoder runtimes against PyTorch (same run)", "",
             "Each ratio is the runtime's value ÷ PyTorch's from this run (below 1 is faster "
             "for times, above 1 is more for rates). Question embedding: the runtimes answer "
             "each question back to back in one process, alternating who goes first. Serving: "
             "one API server per runtime, taking turns level by level.", ""]
    if _problem(results.get("queries")):
        lines += [f"Question embedding not measured: {_problem(results['queries'])}", ""]
    header = ["metric", *runtimes, *[f"{r} ÷ torch" for r in others]]
    rows = [(row["metric"], *[row["values"].get(r) for r in runtimes],
             *[row["ratio_to_torch"].get(r) for r in others])
            for row in results.get("runtime_comparison", [])]
    return lines + _table(header, rows)


def _equivalence_lines(results: dict[str, Any]) -> list[str]:
    found = results.get("equivalence")
    lines = ["## Vectors of the ONNX runtimes against PyTorch's", ""]
    if not found:
        return lines + ["Not in this run: `python -m bench --equivalence` writes "
                        "`bench/results/runtime-equivalence.json`, shown here when present.", ""]
    meta = found["meta"]
    lines += [f"From `runtime-equivalence.json` ({meta['started_at']}): {meta['documents']} "
              f"corpus chunks and {meta['questions']} questions ({meta['questions_from']}); "
              f"top-{meta['top_k']} = exact dense search over all chunks, each runtime with its "
              "own document vectors.", ""]
    rows = []
    for runtime, row in found["versus_torch"].items():
        q, d, r = row["query_cosine"], row["document_cosine"], row["dense_top5_vs_torch"]
        rows.append((runtime, q["min"], q["mean"], d["min"], d["mean"], r["top1_same"],
                     r["top5_same_set"], r["top5_overlap_mean"]))
    return lines + _table(("runtime", "query cos min", "query cos mean", "document cos min",
                           "document cos mean", "top-1 same", "top-5 same set",
                           "top-5 overlap mean"), rows)


def _ingest_lines(results: dict[str, Any]) -> list[str]:
    lines = ["## Ingest (real corpus, real model, fresh data dir per runtime)", ""]
    rows = []
    for runtime, ingest in results.get("ingest", {}).items():
        if _problem(ingest):
            rows.append((runtime, *(["–"] * 11), _problem(ingest)))
            continue
        rows.append((runtime, ingest.get("load_avg_start"),
                     f"{ingest['documents']} / {ingest['chunks']} / {ingest.get('units')}",
                     ingest["model_load_s"], ingest["cold_s"], ingest["chunks_per_s"],
                     ingest.get("units_per_s"), ingest["chunks_per_s_with_model_load"],
                     ingest["warm_s"], ingest.get("warm_cli_s"),
                     ingest["memory_mb"].get("VmHWM"), ingest["index_mb"], ""))
    return lines + _table(
        ("runtime", "load avg", "docs / chunks / units", "model load s", "cold s",
         "chunks/s", "units/s", "chunks/s incl. load", "warm s (same process)",
         "warm s (fresh CLI)", "peak RSS MiB", "index MiB", "problem"), rows)


def _serving_lines(results: dict[str, Any]) -> list[str]:
    lines = ["## Serving: `POST /api/ask` over HTTP on 127.0.0.1 (real model, real corpus)", ""]
    rows, facts = [], []
    for runtime, serving in results.get("serving", {}).items():
        if _problem(serving):
            lines += [f"{runtime}: not measured: {_problem(serving)}", ""]
            continue
        levels = [(str(level["clients"]), level) for level in serving.get("levels", [])]
        if serving.get("repeat"):
            levels.append(("1, repeated (cache hit)", serving["repeat"]))
        for label, level in levels:
            errors = f"{level['errors']} ({100 * (level['error_rate'] or 0):.1f} %)"
            rows.append((runtime, label, level["sent"], errors, level["ask_ms"]["p50"],
                         level["ask_ms"]["p95"], level["ask_ms"]["p99"],
                         level["retrieve_ms"]["p50"], level["retrieve_ms"]["p95"],
                         level["throughput_rps"]))
        if serving.get("cut_short"):
            lines += [f"{runtime}: cut short: {serving['cut_short']}.", ""]
        memory = serving.get("memory_mb", {})
        facts.append((runtime, serving.get("startup_s"), serving.get("first_request_ms"),
                      f"{_fmt(serving.get('saturation_rps'), 2)} at "
                      f"{serving.get('saturation_clients')}", memory.get("VmRSS"),
                      memory.get("VmHWM")))
    lines += _table(("runtime", "clients", "requests", "errors (rate)", "ask p50 ms",
                     "ask p95 ms", "ask p99 ms", "retrieve p50 ms", "retrieve p95 ms",
                     "req/s"), rows)
    return lines + _table(("runtime", "ready after start s", "first request ms (model load)",
                           "saturation req/s at clients", "RSS after load MiB",
                           "peak RSS MiB"), facts)


def _scaling_lines(results: dict[str, Any]) -> list[str]:
    runtime = results.get("meta", {}).get("scaling_runtime")
    lines = ["## Scaling (synthetic corpus; document vectors from real source vectors)", "",
             f"Queries and source vectors from the `{runtime}` runtime.", ""]
    rows = []
    for run in results.get("scaling", []):
        if _problem(run):
            rows.append((f"{run['factor']}×", *(["–"] * 12), _problem(run)))
            continue
        latency = run["latency_ms"]
        without = round(run["ingest_s"] - run["surrogate_embed_s"], 2)
        rows.append((
            f"{run['factor']}×", run["documents"], run["chunks"], run.get("units"),
            round(run["characters"] / 1e6, 2), run["index_mb"], run["ingest_s"], without,
            latency["retrieve"]["p50"], latency["retrieve"]["p95"],
            latency["search_only"]["p50"], latency["search_only"]["p95"],
            run["memory_mb"].get("VmHWM"), run.get("load_avg_start"),
        ))
    lines += _table(
        ("size", "docs", "chunks", "units", "text (M chars)", "index on disk MiB", "ingest s",
         "ingest s excl. vector stand-in", "retrieval p50 ms", "retrieval p95 ms",
         "search-only p50 ms", "search-only p95 ms", "peak RSS MiB", "load avg"), rows)
    projected = lookup(results, ("derived", "projected_ingest")) or {}
    factors = [str(run["factor"]) for run in results.get("scaling", []) if not _problem(run)]
    if projected and factors:
        lines += ["Projected ingest with the real model, per runtime: the synthetic run's ingest "
                  "time without the vector stand-in, plus its chunks × the runtime's model time "
                  "per chunk (answer units included) measured on the real corpus (cold ingest "
                  "minus the 1× run's non-model time). Only 1× is a real-model measurement.", ""]
        header = ["size", *[f"{r} s (chunks/s)" for r in projected]]
        rows = []
        for factor in factors:
            cells = []
            for runtime_projection in projected.values():
                found = runtime_projection.get(factor)
                cells.append(f"{_fmt(found['seconds'])} ({_fmt(found['chunks_per_s'])})"
                             if found else "–")
            rows.append((f"{factor}×", *cells))
        lines += _table(header, rows)
    return lines


def _baseline_lines(results: dict[str, Any]) -> list[str]:
    baseline = results.get("baseline", {})
    ours_load = lookup(results, ("ingest", TORCH, "load_avg_start"))
    lines = ["## Versus the naive-langchain baseline (same run, same questions, in-process, "
             "PyTorch)", "",
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
        "- Runtimes: `torch` is sentence-transformers on PyTorch; `onnx` and `onnx-int8` are the "
        "install-time export (scripts/export_onnx.py) run by ONNX Runtime, full precision and "
        "dynamically int8-quantised. Each builds its own index (the runtime is part of the "
        "model key). The API serves with "
        f"{meta.get('serve_threads', 1)} thread(s) per question embedding.",
        "- Question embedding: `embed_query` of new question strings (cache cleared), one at a "
        "time; with 1 thread (a request's share while serving) and 2 threads (a lone query).",
        "- Questions: the evals' dev and own sets; every request is a unique variant (one space "
        "widened) so the query-embedding cache never hits — the worst case. The repeated-"
        "question row measures the cache-hit path.",
        "- Retrieval = `timings_ms.retrieve`: query embedding with the real model, dense "
        "(Chroma HNSW) and BM25 search and their fusion. Search-only repeats the retrieval "
        "with the query vector cached. Ours runs `Assistant.ask` in-process; the baseline runs "
        "`NaiveLangchainBaseline.ask` (evals/baseline.py) in-process.",
        "- Scaling corpus: " + " ".join(synthetic.split()),
        "- Scaling vectors: embedding 100× the corpus on two cores would take hours, so "
        "synthetic chunks and answer units get the real vector of their source chunk (exact "
        "for unchanged chunk text, otherwise the lexically nearest real chunk plus "
        "deterministic noise, cosine ≈ 0.96; bench/surrogate.py). Chroma and BM25 index and "
        "search the full size honestly; queries always use the real model. Ingest at 10× and "
        "100× with the real model is therefore projected, not measured.",
        "- Memory: VmHWM/VmRSS from /proc of each measured process (ingest per runtime, "
        "in-process runs and baseline each in their own subprocess; each API server sampled "
        "during the load).",
    ]
    if meta.get("profiles"):
        lines.append(f"- Profiles: cProfile of 10 extra in-process questions per size in "
                     f"`{meta['profiles']}/profile-<size>x.txt`.")
    return lines + [""]


def render_markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    lines = [f"# Woonzorgwijzer benchmark — {meta['started_at']}", ""]
    lines += _goal_lines(results)
    lines += _runtime_lines(results)
    lines += _equivalence_lines(results)
    lines += _ingest_lines(results)
    lines += _serving_lines(results)
    lines += _scaling_lines(results)
    lines += _baseline_lines(results)
    lines += _method_lines(results)
    return "\n".join(lines)


def finalize(results: dict[str, Any]) -> dict[str, Any]:
    """Add the derived values, goal verdicts and comparisons computed from the measurements."""
    results["derived"] = derive(results)
    results["goals"] = evaluate_goals(results)
    results["runtime_comparison"] = compare_runtimes(results)
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
