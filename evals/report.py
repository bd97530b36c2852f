"""Write the report as JSON, Markdown tables and a PNG chart comparing configurations."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)

QUESTION_COLUMNS = (
    ("hit@1", "hit@1"), ("hit@3", "hit@3"), ("hit@5", "hit@5"), ("MRR", "mrr"),
    ("nDCG@10", "ndcg@10"), ("cit. recall", "citation_recall"),
    ("cit. precision", "citation_precision"), ("verbatim", "verbatim_rate"),
    ("key facts", "key_fact_recall"), ("refusal acc.", "refusal_accuracy"),
    ("false refusal", "false_refusal_rate"), ("instr. P", "instrument_precision"),
    ("instr. R", "instrument_recall"), ("instr. F1", "instrument_f1"),
)
TRIAGE_COLUMNS = (
    ("theme P", "theme_precision"), ("theme R", "theme_recall"), ("theme F1", "theme_f1"),
    ("fase acc.", "fase_accuracy"), ("support recall", "support_recall"),
    ("urgent acc.", "urgent_accuracy"), ("PII leaks", "pii_leaks"),
)
CHART_METRICS = (
    ("hit@1", "hit@1"), ("hit@5", "hit@5"), ("MRR", "mrr"), ("nDCG@10", "ndcg@10"),
    ("cit. recall", "citation_recall"), ("key facts", "key_fact_recall"),
    ("refusal", "refusal_accuracy"), ("verbatim", "verbatim_rate"), ("instr. F1", "instrument_f1"),
)
LATENCY_STAGES = ("retrieve", "answer", "total", "wall")

DEFINITIONS = """\
Definitions (see evals/metrics.py): a citation *covers* a gold quote when the gold quote is a
substring of it after normalising (casefold, whitespace, quotes, dashes, markdown bold) or
≥ 80 % of the gold quote's words occur in it. hit@k / MRR / nDCG@10 rank the citations in
response order; nDCG treats each gold quote as one relevant item. *cit. recall*: share of
gold quotes covered by any citation. *cit. precision*: share of answer sentences with a
marker [n] that a cited quote supports (normalised substring, or ≥ 60 % of the sentence's
content words in the quote), pooled over sentences. *verbatim*: share of citations whose
quote equals the document text between start and end. *key facts*: share of key facts in
the answer. *refusal acc.*: unanswerable items refused; *false refusal*: answerable items
refused. Instruments: micro P/R/F1 of ids with fits=true. Latency in ms: server
`timings_ms` and client-measured wall time. "–": not applicable (no items of that sort).
"""


def fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |",
             "|" + "|".join("---" if i == 0 else "---:" for i in range(len(headers))) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _latency_cells(metrics: Mapping[str, Any], stages: Sequence[str]) -> list[str]:
    latency = metrics.get("latency", {})
    return [fmt(latency.get(stage, {}).get(q), 0) for stage in stages for q in ("p50", "p95")]


def _latency_headers(stages: Sequence[str]) -> list[str]:
    return [f"{stage} {q}" for stage in stages for q in ("p50", "p95")]


def question_table(groups: Mapping[str, Mapping[str, Any]], first: str) -> str:
    """One row per group (configuration or kind) with the headline question metrics."""
    headers = [first, "n", *(label for label, _ in QUESTION_COLUMNS),
               *_latency_headers(("total", "wall")), "errors"]
    rows = [
        [name, fmt(m["counts"]["items"]), *(fmt(m.get(key)) for _, key in QUESTION_COLUMNS),
         *_latency_cells(m, ("total", "wall")), fmt(m["counts"]["errors"])]
        for name, m in groups.items()
    ]
    return markdown_table(headers, rows)


def triage_table(groups: Mapping[str, Mapping[str, Any]], first: str) -> str:
    headers = [first, "n", *(label for label, _ in TRIAGE_COLUMNS),
               *_latency_headers(("total", "wall")), "errors"]
    rows = [
        [name, fmt(m["counts"]["items"]), *(fmt(m.get(key)) for _, key in TRIAGE_COLUMNS),
         *_latency_cells(m, ("total", "wall")), fmt(m["counts"]["errors"])]
        for name, m in groups.items()
    ]
    return markdown_table(headers, rows)


def headline_tables(report: Mapping[str, Any]) -> str:
    """The main comparison (one row per configuration) and the triage row."""
    configs = {name: c["overall"] for name, c in report["configs"].items()}
    parts = [question_table(configs, "config")]
    triage = report.get("triage")
    if triage:
        parts.append(triage_table({triage["config"]: triage["overall"]}, "triage"))
    return "\n\n".join(parts)


def _misses(items: Sequence[Mapping[str, Any]]) -> list[str]:
    """Item ids per kind of failure, to point the reader at what to inspect."""
    checks = {
        "no gold quote in the top 5": lambda s: s.get("hit@5") == 0.0,
        "key facts below 0.5": lambda s: s.get("key_fact_recall", 1.0) < 0.5,
        "not refused though unanswerable": lambda s: not s["expected_answerable"]
        and not s["refused"],
        "refused though answerable": lambda s: s["expected_answerable"] and s["refused"],
        "non-verbatim citation": lambda s: s["verbatim"][0] < s["verbatim"][1],
        "wrong instruments": lambda s: s["instruments"]["fp"] or s["instruments"]["fn"],
        "request failed": lambda s: s["error"] is not None,
    }
    lines = []
    for label, check in checks.items():
        ids = [s["id"] for s in items if check(s)]
        if ids:
            lines.append(f"- {label} ({len(ids)}): {', '.join(ids)}")
    return lines


def render_markdown(report: Mapping[str, Any]) -> str:
    data = report["datasets"]
    kinds = ", ".join(f"{kind} {count}" for kind, count in data["kinds"].items())
    transports = ", ".join(f"{n}: {c['transport']}" for n, c in report["configs"].items())
    parts = [
        "# Woonzorgwijzer evaluation",
        f"Set `{report['set']}`: {data['questions']} questions ({kinds}), {data['triage']} "
        f"triage reports; top_k {report['top_k']}; {transports}; "
        f"generated {report['generated_at']}.",
        "## Questions per configuration",
        question_table({n: c["overall"] for n, c in report["configs"].items()}, "config"),
    ]
    triage = report.get("triage")
    if triage:
        parts += [f"## Triage ({triage['config']})",
                  triage_table({"all": triage["overall"], **triage["by_origin"]}, "items")]
    parts.append("## Per question kind")
    for name, config in report["configs"].items():
        parts += [f"### {name}", question_table(config["by_kind"], "kind")]
    if any(len(c["by_origin"]) > 1 for c in report["configs"].values()):
        parts.append("## Per origin")
        for name, config in report["configs"].items():
            parts += [f"### {name}", question_table(config["by_origin"], "origin")]
    parts.append("## Latency per stage (ms)")
    note = ("p50/p95 over the scored requests; *first request*: the unscored warm-up call "
            "before them (model loading).")
    if report["warm_cache"]:
        note += (f" {', '.join(report['warm_cache'])} ran after the product configuration in "
                 "the same process and may answer query embeddings from its cache: time them "
                 "alone (`--config NAME`).")
    parts.append(note)
    headers = ["config", *_latency_headers(LATENCY_STAGES), "first request"]
    rows = [[name, *_latency_cells(config["overall"], LATENCY_STAGES),
             fmt(config["first_request"]["wall_ms"], 0)
             + (f" ({config['first_request']['error'][:40]})"
                if config["first_request"]["error"] else "")]
            for name, config in report["configs"].items()]
    if triage:
        rows.append([f"triage ({triage['config']})",
                     *_latency_cells(triage["overall"], LATENCY_STAGES), "–"])
    parts.append(markdown_table(headers, rows))
    parts.append("## Items to inspect")
    for name, items in report["items"].items():
        parts += [f"### {name}", "\n".join(_misses(items)) or "- none"]
    parts += ["## Definitions", DEFINITIONS]
    return "\n\n".join(parts) + "\n"


def render_chart(report: Mapping[str, Any], path: Path) -> None:
    """Grouped bars of quality metrics and of latency, one colour per configuration."""
    configs = list(report["configs"])
    figure, (quality, speed) = plt.subplots(
        2, 1, figsize=(12, 8), gridspec_kw={"height_ratios": [3, 2]}
    )
    width = 0.8 / max(len(configs), 1)
    for index, name in enumerate(configs):
        overall = report["configs"][name]["overall"]
        offsets = [i + index * width for i in range(len(CHART_METRICS))]
        values = [overall.get(key) or 0.0 for _, key in CHART_METRICS]
        quality.bar(offsets, values, width, label=name)
        latency = overall.get("latency", {})
        stages = [s for s in LATENCY_STAGES if s in latency]
        speed.bar([LATENCY_STAGES.index(s) + index * width for s in stages],
                  [latency[s]["p50"] or 0.0 for s in stages], width, label=name)
    centre = width * (len(configs) - 1) / 2
    quality.set_xticks([i + centre for i in range(len(CHART_METRICS))],
                       [label for label, _ in CHART_METRICS])
    quality.set_ylim(0, 1.05)
    quality.set_title(f"Question set '{report['set']}': quality per configuration")
    quality.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    speed.set_xticks([i + centre for i in range(len(LATENCY_STAGES))], list(LATENCY_STAGES))
    speed.set_ylabel("p50 latency (ms)")
    speed.set_title("Latency per stage")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_reports(report: Mapping[str, Any], out_dir: Path) -> list[Path]:
    """latest.json, latest.md and latest.png in `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path, png_path = (out_dir / f"latest.{ext}" for ext in ("json", "md", "png"))
    json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    md_path.write_text(render_markdown(report), encoding="utf-8")
    render_chart(report, png_path)
    return [json_path, md_path, png_path]
