"""Write the report as JSON, Markdown tables and a PNG chart, and the short terminal table."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)

from evals.records import row_label, summary_of, write_run  # noqa: E402
from evals.scoring import METRICS, QUESTION_METRICS, TRIAGE_METRICS  # noqa: E402

TERMINAL_QUESTIONS = ("hit@1", "hit@5", "key_fact_recall", "refusal_accuracy",
                      "false_refusal_rate", "instrument_precision", "instrument_recall")
TERMINAL_TRIAGE = ("theme_f1", "fase_accuracy", "support_recall", "support_precision",
                   "urgent_recall", "false_urgent_rate", "pii_leaks")
TERMINAL_CONFIGS = ("hit@1", "hit@5", "mrr", "key_fact_recall", "refusal_accuracy",
                    "false_refusal_rate")
BREAKDOWN_COLUMNS = ("hit@1", "hit@5", "mrr", "key_fact_recall", "citation_precision",
                     "refusal_accuracy", "false_refusal_rate", "instrument_precision",
                     "instrument_recall")
CHART_METRICS = ("hit@1", "hit@5", "mrr", "citation_recall", "key_fact_recall",
                 "refusal_accuracy", "verbatim_rate", "instrument_f1")
LATENCY_STAGES = ("retrieve", "answer", "total", "wall")
GENERATOR_COLUMNS = ("key_fact_recall", "verified_share", "written_rate", "citation_precision",
                     "refusal_accuracy", "false_refusal_rate")
TERMINAL_GENERATORS = ("key_fact_recall", "verified_share", "citation_precision",
                       "refusal_accuracy", "false_refusal_rate")
# p50 ms after the request: evidence, first and last verified sentence, the final response
GENERATOR_TIMES = (("evidence", "evidence"), ("first_sentence", "first sentence"),
                   ("last_sentence", "last sentence"), ("wall", "final"))

DEFINITIONS = """\
Definitions (evals/metrics.py, evals/scoring.py): a citation *covers* a gold quote when the
gold quote is a substring of it after normalising (case, whitespace, quotes, dashes, markdown
bold) or ≥ 80 % of the gold quote's words occur in it. *hit@k*: a covering citation among the
first k; *MRR*: mean 1/rank of the first; *nDCG@10*: each gold quote one relevant item;
*cit. recall*: share of gold quotes covered. *cit. precision*: answer sentences with a marker
[n] that a cited quote supports (normalised substring, or ≥ 60 % of the sentence's content
words in the quote), pooled over sentences. *verbatim*: share of citations whose quote
equals the document text between start and end. *key facts*: share of key facts in the
answer. *refusal acc.*: unanswerable items refused; *false refusal*: answerable items
refused. Instruments and triage themes: micro P/R/F1 of ids (instruments with fits=true).
Triage: *fase acc.*, *support R* (expected support ids mentioned, pooled), *support P*
(suggested support ids that were expected, pooled), *urgent R*
(urgent reports flagged urgent), *false urgent* (other reports flagged urgent), *PII leaks*
(responses containing personal data of any report in the set). Written answers (a generator
other than extractive): *verified*: generated sentences the verifier kept, pooled over the
answers that were written (kept / (kept + dropped)); *written*: answers shown as written
rather than replaced by the extractive one; the times are p50 ms from sending the request to
the evidence event, the first and the last verified sentence and the final response (for
extractive the whole /api/ask response is the evidence). Latency in ms. "–": not applicable
(no items of that sort).
"""


def fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and digits == 0:
            return str(int(value))
        return f"{value:.{digits}f}"
    return str(value)


def _digits(name: str) -> int:
    return 0 if METRICS[name].kind == "sum" else 2


def fmt_estimate(entry: Mapping[str, Any] | None, name: str, interval: bool = True) -> str:
    """"0.91 [0.83–0.98]" (the interval only where one was computed)."""
    if not entry or entry.get("value") is None:
        return "–"
    digits = _digits(name)
    text = fmt(float(entry["value"]), digits)
    if interval and entry.get("low") is not None:
        text += f" [{fmt(float(entry['low']), digits)}–{fmt(float(entry['high']), digits)}]"
    return text


def fmt_difference(entry: Mapping[str, Any] | None, name: str, directional: bool = True
                   ) -> str:
    """"+0.05 [−0.04, +0.13] ≈" for a difference; ≈ within noise, ↑/↓ better/worse (or ≠,
    a real difference, where a sign says nothing about better, as for a gap)."""
    if not entry or entry.get("diff") is None:
        return "–"
    digits = _digits(name)

    def signed(x: float) -> str:
        return ("+" if x > 0 else "−" if x < 0 else "") + fmt(abs(x), digits)

    text = f"{signed(entry['diff'])} [{signed(entry['low'])}, {signed(entry['high'])}]"
    if not directional:
        return f"{text} {'≈' if entry.get('within_noise', True) else '≠'}"
    return f"{text} {marker(entry, name)}"


def marker(entry: Mapping[str, Any] | None, name: str) -> str:
    if not entry or entry.get("diff") is None:
        return ""
    if entry.get("within_noise", True):
        return "≈"
    better = (entry["diff"] > 0) == METRICS[name].higher_is_better
    return "↑" if better else "↓"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]],
                   numeric_from: int = 1) -> str:
    """A GitHub table; columns from `numeric_from` on are right-aligned."""
    lines = ["| " + " | ".join(headers) + " |",
             "|" + "|".join("---" if i < numeric_from else "---:"
                            for i in range(len(headers))) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _latency_cells(metrics: Mapping[str, Any] | None, stages: Sequence[str]) -> list[str]:
    latency = (metrics or {}).get("latency", {})
    return [fmt(latency.get(stage, {}).get(q), 0) for stage in stages for q in ("p50", "p95")]


def _latency_headers(stages: Sequence[str]) -> list[str]:
    return [f"{stage} {q}" for stage in stages for q in ("p50", "p95")]


def _product(report: Mapping[str, Any]) -> str:
    return str(report["product"])


def _sections(report: Mapping[str, Any], part: str, config: str
              ) -> dict[str, Mapping[str, Any]]:
    """Set name to that configuration's `part` summary (questions or triage) where present."""
    result = {}
    for set_name, configs in report["results"].items():
        summary = (configs.get(config) or {}).get(part)
        if summary:
            result[set_name] = summary
    return result


def sets_table(report: Mapping[str, Any], part: str, config: str, columns: Sequence[str],
               interval: bool = True) -> str:
    rows = []
    for set_name, summary in _sections(report, part, config).items():
        overall = summary["overall"]
        rows.append([set_name, fmt(overall["counts"]["items"]),
                     *(fmt_estimate(overall.get(c), c, interval) for c in columns)])
    return markdown_table(["set", "n", *(METRICS[c].label for c in columns)], rows)


def gap_table(report: Mapping[str, Any]) -> str:
    rows = [[gap, METRICS[name].label, fmt_difference(entry, name, directional=False)]
            for gap, metrics in report.get("gaps", {}).items()
            for name, entry in metrics.items()]
    return markdown_table(["gap (product)", "metric", "difference [95 %]"], rows, 2)


def config_table(report: Mapping[str, Any], set_name: str, columns: Sequence[str],
                 latency_stages: Sequence[str] = ("total", "wall")) -> str:
    """One row per configuration on one set; ↑/↓/≈: paired comparison with the product."""
    product = _product(report)
    comparisons = report.get("comparisons", {}).get(set_name, {})
    rows = []
    for config, summary in report["results"][set_name].items():
        questions = summary.get("questions")
        if not questions:
            reason = f"skipped: {summary['skipped']}" if summary.get("skipped") else "no questions"
            rows.append([config, "–", reason,
                         *["–"] * (len(columns) - 1 + 2 * len(latency_stages))])
            continue
        overall = questions["overall"]
        cells = []
        for c in columns:
            cell = fmt_estimate(overall.get(c), c)
            if config != product:
                cell += " " + marker(comparisons.get(config, {}).get(c), c)
            cells.append(cell.strip())
        rows.append([config, fmt(overall["counts"]["items"]), *cells,
                     *_latency_cells(overall, latency_stages)])
    return markdown_table(["config", "n", *(METRICS[c].label for c in columns),
                           *_latency_headers(latency_stages)], rows)


def comparison_table(report: Mapping[str, Any], set_name: str, columns: Sequence[str]) -> str:
    comparisons = report.get("comparisons", {}).get(set_name, {})
    rows = [[config, *(fmt_difference(diffs.get(c), c) for c in columns)]
            for config, diffs in comparisons.items()]
    return markdown_table([f"config − {_product(report)}", *(METRICS[c].label for c in columns)],
                          rows)


def _generator_rows(report: Mapping[str, Any], set_name: str
                    ) -> list[tuple[str, Mapping[str, Any]]]:
    """The product's rows on one set: extractive first, then each generator."""
    product = _product(report)
    return [(label, summary) for label, summary in report["results"][set_name].items()
            if summary.get("config", label) == product]


def has_generators(report: Mapping[str, Any]) -> bool:
    return any(summary.get("generator", "extractive") != "extractive"
               for configs in report["results"].values() for summary in configs.values())


def generator_table(report: Mapping[str, Any], set_name: str, columns: Sequence[str],
                    interval: bool = True) -> str:
    """One row per generator of the product on one set: quality (↑/↓/≈ against the
    extractive product on the same items) and the p50 times of the streamed answer."""
    comparisons = report.get("comparisons", {}).get(set_name, {})
    rows = []
    for label, summary in _generator_rows(report, set_name):
        generator = str(summary.get("generator", "extractive"))
        config = str(summary.get("config", label))
        questions = summary.get("questions")
        if not questions:
            reason = f"skipped: {summary['skipped']}" if summary.get("skipped") else "no questions"
            rows.append([config, generator, "–", reason,
                         *["–"] * (len(columns) - 1 + len(GENERATOR_TIMES))])
            continue
        overall = questions["overall"]
        cells = []
        for c in columns:
            cell = fmt_estimate(overall.get(c), c, interval)
            if label != _product(report) and c in comparisons.get(label, {}):
                cell += " " + marker(comparisons[label][c], c)
            cells.append(cell.strip())
        latency = overall.get("latency", {})
        times = []
        for stage, _ in GENERATOR_TIMES:
            entry = latency.get(stage) or (latency.get("wall") if stage == "evidence"
                                           and generator == "extractive" else None)
            cell = fmt((entry or {}).get("p50"), 0)
            if entry and stage.endswith("_sentence"):  # over the answers that sent one
                cell += f" ({entry['n']})"
            times.append(cell)
        rows.append([config, generator, fmt(overall["counts"]["items"]), *cells, *times])
    return markdown_table(["config", "generator", "n", *(METRICS[c].label for c in columns),
                           *(f"{title} p50" for _, title in GENERATOR_TIMES)], rows, 2)


def headline_tables(report: Mapping[str, Any]) -> str:
    """The short terminal summary: product per set with intervals, the gap, triage, and the
    configurations per set (↑/↓ better/worse than the product, ≈ within noise)."""
    product = _product(report)
    parts = [f"Product ({product}) per set, 95 % bootstrap intervals",
             sets_table(report, "questions", product, TERMINAL_QUESTIONS)]
    if report.get("gaps"):
        parts += ["Gap (tune minus other set; ≈ within noise, ≠ a real gap)", gap_table(report)]
    if _sections(report, "triage", product):
        parts += [f"Triage ({product})",
                  sets_table(report, "triage", product, TERMINAL_TRIAGE)]
    for set_name, configs in report["results"].items():
        if len(configs) > 1:
            parts += [f"Configurations on {set_name} (vs {product}: ↑ better, ↓ worse, "
                      "≈ within noise)",
                      config_table(report, set_name, TERMINAL_CONFIGS, ("wall",))]
    if has_generators(report):
        for set_name in report["results"]:
            if len(_generator_rows(report, set_name)) > 1:
                parts += [f"Generators on {set_name} ({product}; vs extractive: ↑ better, "
                          "↓ worse, ≈ within noise; times p50 ms, (n) answers with a verified "
                          "sentence)",
                          generator_table(report, set_name, TERMINAL_GENERATORS, False)]
    retries = report.get("retries", {})
    if retries.get("count"):
        parts.append(f"HTTP retries (429/503): {retries['count']}, waited "
                     f"{retries['waited_s']:.1f} s")
    return "\n\n".join(parts)


def _breakdown_table(groups: Mapping[str, Mapping[str, Any]], first: str,
                     columns: Sequence[str] = BREAKDOWN_COLUMNS) -> str:
    rows = [[name, fmt(m["counts"]["items"]),
             *(fmt_estimate(m.get(c), c, interval=False) for c in columns)]
            for name, m in groups.items()]
    return markdown_table([first, "n", *(METRICS[c].label for c in columns)], rows)


def _misses(items: Sequence[Mapping[str, Any]]) -> list[str]:
    """Item ids per kind of failure, to point the reader at what to inspect."""
    checks = {
        "no gold quote in the top 5": lambda s: s.get("hit@5") == 0.0,
        "key facts below 0.5": lambda s: s.get("key_fact_recall", 1.0) < 0.5,
        "not refused though unanswerable": lambda s: not s["expected_answerable"]
        and not s["refused"],
        "refused though answerable": lambda s: s["expected_answerable"] and s["refused"],
        "non-verbatim citation": lambda s: s["verbatim"][0] < s["verbatim"][1],
        "written answer replaced by the extractive one": lambda s: bool(
            (s.get("verification") or {}).get("fallback")),
        "wrong instruments": lambda s: s["instruments"]["fp"] or s["instruments"]["fn"],
        "request failed": lambda s: s["error"] is not None,
    }
    lines = []
    for label, check in checks.items():
        hits = [s for s in items if check(s)]
        open_ids = [str(s["id"]) for s in hits if not s.get("sealed")]
        sealed = len(hits) - len(open_ids)
        if hits:
            shown = ", ".join(open_ids)
            if sealed:
                shown += f"{'; ' if open_ids else ''}{sealed} sealed item(s)"
            lines.append(f"- {label} ({len(hits)}): {shown}")
    return lines


def render_markdown(report: Mapping[str, Any]) -> str:
    product = _product(report)
    options = report["options"]
    parts = [
        "# Woonzorgwijzer evaluation",
        f"Run `{report['run_id']}` ({report['generated_at']}); product configuration "
        f"`{product}`; configurations {', '.join(options['configs'])}; top_k {options['top_k']}"
        + (f"; first {options['limit']} items per set" if options.get("limit") else "")
        + (f"; configurations other than the product ran on {', '.join(options['baseline_sets'])}"
           " only (time on 2 cores)" if options.get("baseline_sets") else "") + ".",
        "## Sets",
        markdown_table(
            ["set", "questions", "triage", "index", "files", "configuration order"],
            [[name, fmt(info["questions"]), fmt(info["triage"]), info["index"],
              ", ".join(info["files"]) or "–", " → ".join(info["order"])]
             for name, info in report["sets"].items()], numeric_from=6),
        "## How this was measured",
        f"- {report['method']['latency']}",
        f"- {report['method']['uncertainty']}",
        *([f"- {report['method']['streaming']}"] if report["method"].get("streaming") else []),
        f"- HTTP retries on 429/503 (Retry-After): {report['retries']['count']}, waited "
        f"{report['retries']['waited_s']:.1f} s.",
    ]
    for index, info in report.get("indexes", {}).items():
        parts.append(f"- Index `{index}`: {info['status']} ({info['documents']} documents, "
                     f"{info['chunks']} chunks, {info.get('reused', 0)} reused, "
                     f"{info['seconds']:.1f} s, model {info['model']}).")
    skipped = [f"- {s} / {c}: {summary['skipped']}" for s, configs in report["results"].items()
               for c, summary in configs.items() if summary.get("skipped")]
    if skipped:
        parts += ["Skipped:", "\n".join(skipped)]
    parts += [f"## Product ({product}) per set",
              sets_table(report, "questions", product, [m.name for m in QUESTION_METRICS])]
    if report.get("gaps"):
        parts += ["## Gap", "Tune minus holdout and tune minus generalisation for the product "
                  "(unpaired bootstrap; ≈ within noise, ≠ a real gap).", gap_table(report)]
    if _sections(report, "triage", product):
        parts += [f"## Triage ({product}) per set",
                  sets_table(report, "triage", product, [m.name for m in TRIAGE_METRICS])]
    parts.append("## Configurations per set")
    main = ("hit@1", "hit@5", "mrr", "key_fact_recall", "citation_precision",
            "refusal_accuracy", "false_refusal_rate", "instrument_f1")
    for set_name in report["results"]:
        parts += [f"### {set_name}", config_table(report, set_name, main)]
        if report.get("comparisons", {}).get(set_name):
            parts += [f"Paired differences with {product} on the same items (95 %):",
                      comparison_table(report, set_name, main)]
    if has_generators(report):
        parts += ["## Generators per set",
                  f"The product ({product}) with each generator; ↑/↓/≈: paired comparison with "
                  "the extractive product on the same items; times are p50 ms after the request "
                  "(see Definitions), the sentence times over the answers that sent a verified "
                  "sentence (their number in brackets)."]
        for set_name in report["results"]:
            if len(_generator_rows(report, set_name)) > 1:
                parts += [f"### {set_name}", generator_table(report, set_name, GENERATOR_COLUMNS)]
    for title, key in (("Per question kind", "by_kind"), ("Per style tag", "by_style"),
                       ("Per origin", "by_origin"), ("Per file", "by_file")):
        sections = [(s, q[key]) for s, q in _sections(report, "questions", product).items()
                    if q.get(key)]
        if sections:
            parts.append(f"## {title} ({product})")
            for set_name, groups in sections:
                parts += [f"### {set_name}", _breakdown_table(groups, key.split("_", 1)[1])]
    triage_files = [(s, t["by_file"]) for s, t in _sections(report, "triage", product).items()
                    if len(t.get("by_file") or {}) > 1]
    if triage_files:
        parts.append(f"## Triage per file ({product})")
        for set_name, groups in triage_files:
            parts += [f"### {set_name}", _breakdown_table(groups, "file", TERMINAL_TRIAGE)]
    parts.append("## Latency per stage (ms)")
    rows = []
    for set_name, configs in report["results"].items():
        for config, summary in configs.items():
            questions = (summary.get("questions") or {}).get("overall")
            first = summary["first_request"]
            rows.append([set_name, config, fmt(summary["position"] + 1),
                         *_latency_cells(questions, LATENCY_STAGES),
                         fmt(first["wall_ms"], 0) + (f" ({first['error'][:40]})"
                                                     if first["error"] else ""),
                         fmt(summary["retries"]["count"])])
    parts.append(markdown_table(["set", "config", "ran", *_latency_headers(LATENCY_STAGES),
                                 "first request", "retries"], rows))
    parts.append("## Items to inspect")
    parts.append("Sealed sets (holdout, generalisation) are listed by count only: they measure "
                 "the product and are not read item by item while changing it.")
    by_block: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for item in report.get("items", []):
        if item["type"] == "question":
            label = row_label(str(item["config"]), item.get("generator"))
            by_block.setdefault((item["set"], label), []).append(item)
    for (set_name, config), items in by_block.items():
        parts += [f"### {set_name} / {config}", "\n".join(_misses(items)) or "- none"]
    parts += ["## Definitions", DEFINITIONS]
    return "\n\n".join(parts) + "\n"


def render_chart(report: Mapping[str, Any], path: Path) -> None:
    """Per set: grouped bars of quality metrics (with 95 % intervals) per configuration;
    last panel: p50 wall latency per set and configuration."""
    set_names = [s for s, configs in report["results"].items()
                 if any(c.get("questions") for c in configs.values())]
    configs = list(dict.fromkeys(label for configs in report["results"].values()
                                 for label in configs))
    figure, axes = plt.subplots(len(set_names) + 1, 1, figsize=(12, 3.2 * (len(set_names) + 1)),
                                squeeze=False)
    width = 0.8 / max(len(configs), 1)
    centre = width * (len(configs) - 1) / 2
    for row, set_name in enumerate(set_names):
        axis = axes[row][0]
        for index, config in enumerate(configs):
            summary = (report["results"][set_name].get(config) or {}).get("questions")
            if not summary:
                continue
            overall = summary["overall"]
            values: list[float] = []
            errors: list[list[float]] = [[], []]
            for name in CHART_METRICS:
                entry = overall.get(name) or {}
                value = entry.get("value") or 0.0
                values.append(value)
                errors[0].append(max(0.0, value - (entry.get("low") or value)))
                errors[1].append(max(0.0, (entry.get("high") or value) - value))
            axis.bar([i + index * width for i in range(len(CHART_METRICS))], values, width,
                     yerr=errors, capsize=2, label=config)
        axis.set_xticks([i + centre for i in range(len(CHART_METRICS))],
                        [METRICS[m].label for m in CHART_METRICS])
        axis.set_ylim(0, 1.05)
        axis.set_title(f"{set_name}: quality per configuration (95 % bootstrap intervals)")
        axis.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    speed = axes[-1][0]
    for index, config in enumerate(configs):
        values = []
        for set_name in set_names:
            summary = (report["results"][set_name].get(config) or {}).get("questions") or {}
            wall = summary.get("overall", {}).get("latency", {}).get("wall", {})
            values.append(wall.get("p50") or 0.0)
        speed.bar([i + index * width for i in range(len(set_names))], values, width,
                  label=config)
    speed.set_xticks([i + centre for i in range(len(set_names))], set_names)
    speed.set_ylabel("p50 wall latency (ms)")
    speed.set_title("Latency (cold per configuration)")
    speed.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def write_reports(report: Mapping[str, Any], out_dir: Path, record: bool = True) -> list[Path]:
    """latest.json, latest.md and latest.png in `out_dir`, and the run record under
    out_dir/runs/<run id>/ (items.jsonl, summary.json)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path, png_path = (out_dir / f"latest.{ext}" for ext in ("json", "md", "png"))
    json_path.write_text(json.dumps(summary_of(report), indent=2, ensure_ascii=False) + "\n",
                         encoding="utf-8")
    md_path.write_text(render_markdown(report), encoding="utf-8")
    render_chart(report, png_path)
    paths = [json_path, md_path, png_path]
    if record:
        paths.append(write_run(report, out_dir / "runs"))
    return paths
