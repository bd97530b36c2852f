"""Compare two recorded runs item by item: what got better or worse, per metric.

`python -m evals diff [RUN_A] [RUN_B]` (default: the last two runs) matches items by set,
configuration and id, and for every metric lists the items whose value changed with both
answers side by side, plus the paired comparison of the metric (bootstrap interval,
exact sign test) so a handful of changed items is not mistaken for progress. Items of
sealed sets (holdout, generalisation) are counted, not shown, unless asked for.
Output: Markdown (stdout and a file) and a small static HTML page.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals.records import row_label
from evals.report import fmt, fmt_difference, markdown_table
from evals.scoring import QUESTION_METRICS, TRIAGE_METRICS, Metric
from evals.stats import RESAMPLES, SEED, paired_bootstrap, sign_test

MD_ANSWER_CHARS = 280
EPSILON = 1e-9

Row = Mapping[str, Any]


@dataclass
class Change:
    item_id: str
    before: float | None
    after: float | None
    row_a: Row
    row_b: Row


@dataclass
class MetricDiff:
    set_name: str
    config: str
    metric: Metric
    comparison: dict[str, Any]
    better: list[Change] = field(default_factory=list)
    worse: list[Change] = field(default_factory=list)
    sealed: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.better or self.worse)


@dataclass
class RunDiff:
    name_a: str
    name_b: str
    metrics: list[MetricDiff]
    only_a: dict[tuple[str, str], int]
    only_b: dict[tuple[str, str], int]
    show_sealed: bool = False


def _key(row: Row) -> tuple[str, str, str, str]:
    return (str(row["set"]), row_label(str(row["config"]), row.get("generator")),
            str(row.get("type", "question")), str(row["id"]))


def _moved(metric: Metric, before: float | None, after: float | None) -> int:
    """+1 better, −1 worse, 0 unchanged; an item gaining or losing a value (e.g. a failed
    request) counts as unchanged here and shows in the error column."""
    if before is None or after is None or abs(after - before) <= EPSILON:
        return 0
    up = after > before
    return 1 if up == metric.higher_is_better else -1


def diff_items(items_a: Sequence[Row], items_b: Sequence[Row], name_a: str = "A",
               name_b: str = "B", metric_names: Sequence[str] | None = None,
               sets: Sequence[str] | None = None, show_sealed: bool = False,
               resamples: int = RESAMPLES, seed: int = SEED) -> RunDiff:
    a = {_key(row): row for row in items_a}
    b = {_key(row): row for row in items_b}
    common = [key for key in a if key in b and (not sets or key[0] in sets)]
    blocks: dict[tuple[str, str, str], list[tuple[str, str, str, str]]] = {}
    for key in common:
        blocks.setdefault(key[:3], []).append(key)
    results: list[MetricDiff] = []
    for (set_name, config, kind), keys in blocks.items():
        metrics = QUESTION_METRICS if kind == "question" else TRIAGE_METRICS
        for metric in metrics:
            if metric_names and metric.name not in metric_names:
                continue
            parts_a = [metric.parts(a[k]) for k in keys]
            parts_b = [metric.parts(b[k]) for k in keys]
            comparison = paired_bootstrap([p[0] for p in parts_a], [p[1] for p in parts_a],
                                          [p[0] for p in parts_b], [p[1] for p in parts_b],
                                          metric.kind, resamples, seed).as_dict()
            entry = MetricDiff(set_name, config, metric, comparison,
                               sealed=any(bool(a[k].get("sealed")) for k in keys))
            for k in keys:
                before, after = metric.item_value(a[k]), metric.item_value(b[k])
                moved = _moved(metric, before, after)
                if moved:
                    change = Change(k[3], before, after, a[k], b[k])
                    (entry.better if moved > 0 else entry.worse).append(change)
            if entry.changed or comparison.get("diff"):
                results.append(entry)

    def missing(source: Mapping[tuple[str, str, str, str], Row],
                other: Mapping[tuple[str, str, str, str], Row]) -> dict[tuple[str, str], int]:
        counts: dict[tuple[str, str], int] = {}
        for key in source:
            if key not in other and (not sets or key[0] in sets):
                counts[key[:2]] = counts.get(key[:2], 0) + 1
        return counts

    return RunDiff(name_a, name_b, results, missing(a, b), missing(b, a), show_sealed)


# --- rendering ---------------------------------------------------------------------------------

def _text(row: Row) -> str:
    return str(row.get("question") or row.get("report") or "")


def _answer(row: Row) -> str:
    """The answer of a question item, or a triage item's labels."""
    if row.get("type", "question") == "triage":
        return (f"themes: {', '.join(row['themes']['predicted']) or '–'}; fase: {row.get('fase')}; "
                f"support: {', '.join(row['support']['predicted']) or '–'}; "
                f"urgent: {'yes' if row.get('urgent_predicted') else 'no'}")
    answer = str(row.get("answer") or "")
    if row.get("error"):
        answer = f"[error: {row['error']}] {answer}"
    return answer


def _cell(text: str, limit: int | None = None) -> str:
    text = " ".join(text.split())
    if limit and len(text) > limit:
        text = text[:limit - 1] + "…"
    return text.replace("|", "\\|")


def _visible(entry: MetricDiff, show_sealed: bool) -> bool:
    return show_sealed or not entry.sealed


def summary_rows(run_diff: RunDiff) -> list[list[str]]:
    rows = []
    for e in run_diff.metrics:
        c = e.comparison
        p = sign_test(len(e.better), len(e.worse)) if e.changed else None
        shown = "–" if p is None else "<0.001" if p < 0.001 else fmt(p, 3)
        rows.append([e.set_name, e.config, e.metric.label, fmt_difference(c, e.metric.name),
                     str(len(e.better)), str(len(e.worse)), shown])
    return rows


SUMMARY_HEADERS = ["set", "config", "metric", "B − A [95 %]", "better", "worse", "sign test p"]


def render_markdown(run_diff: RunDiff) -> str:
    parts = [f"# Run diff: {run_diff.name_a} → {run_diff.name_b}",
             "Items matched by set, configuration and id. B − A: paired bootstrap over the "
             "common items (↑ better, ↓ worse, ≈ within noise); better/worse: items whose own "
             "value moved; sign test: exact, two-sided, on those items."]
    if run_diff.metrics:
        parts.append(markdown_table(SUMMARY_HEADERS, summary_rows(run_diff), 3))
    else:
        parts.append("No metric changed on any common item.")
    for label, counts in (("only in A", run_diff.only_a), ("only in B", run_diff.only_b)):
        if counts:
            parts.append(f"Items {label}: " + ", ".join(f"{s}/{c} {n}"
                                                        for (s, c), n in counts.items()))
    for e in run_diff.metrics:
        if not e.changed:
            continue
        parts.append(f"## {e.set_name} / {e.config} / {e.metric.label}: "
                     f"{len(e.better)} better, {len(e.worse)} worse")
        if not _visible(e, run_diff.show_sealed):
            parts.append("Sealed set: items not shown (`--show-sealed` lists them).")
            continue
        rows = []
        for verdict, changes in (("better", e.better), ("worse", e.worse)):
            for ch in changes:
                rows.append([f"{ch.item_id} ({verdict})", _cell(_text(ch.row_b), 160),
                             f"{fmt(ch.before)}: {_cell(_answer(ch.row_a), MD_ANSWER_CHARS)}",
                             f"{fmt(ch.after)}: {_cell(_answer(ch.row_b), MD_ANSWER_CHARS)}"])
        parts.append(markdown_table(["item", "question / report", f"A ({run_diff.name_a})",
                                     f"B ({run_diff.name_b})"], rows, numeric_from=4))
    return "\n\n".join(parts) + "\n"


STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;max-width:90rem;color:#222}
table{border-collapse:collapse;margin:1rem 0;width:100%}
td,th{border:1px solid #ccc;padding:.35rem .5rem;vertical-align:top;text-align:left}
th{background:#f3f3f3}.better{background:#eef8ee}.worse{background:#fbeeee}
.num{text-align:right;white-space:nowrap}.answer{white-space:pre-wrap;width:38%}
"""


def render_html(run_diff: RunDiff) -> str:
    """A static page; every value from the runs is escaped."""
    e_ = html.escape
    out = ["<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>Run diff {e_(run_diff.name_a)} → {e_(run_diff.name_b)}</title>",
           f"<style>{STYLE}</style></head><body>",
           f"<h1>Run diff: {e_(run_diff.name_a)} → {e_(run_diff.name_b)}</h1>",
           "<p>Items matched by set, configuration and id. B − A: paired bootstrap over the "
           "common items (↑ better, ↓ worse, ≈ within noise).</p>"]
    if run_diff.metrics:
        out.append("<table><tr>" + "".join(f"<th>{e_(h)}</th>" for h in SUMMARY_HEADERS)
                   + "</tr>")
        for row in summary_rows(run_diff):
            out.append("<tr>" + "".join(
                f'<td class="num">{e_(c)}</td>' if i >= 3 else f"<td>{e_(c)}</td>"
                for i, c in enumerate(row)) + "</tr>")
        out.append("</table>")
    else:
        out.append("<p>No metric changed on any common item.</p>")
    for e in run_diff.metrics:
        if not e.changed:
            continue
        out.append(f"<h2>{e_(e.set_name)} / {e_(e.config)} / {e_(e.metric.label)}: "
                   f"{len(e.better)} better, {len(e.worse)} worse</h2>")
        if not _visible(e, run_diff.show_sealed):
            out.append("<p>Sealed set: items not shown.</p>")
            continue
        out.append("<table><tr><th>item</th><th>question / report</th>"
                   f"<th>A ({e_(run_diff.name_a)})</th><th>B ({e_(run_diff.name_b)})</th></tr>")
        for verdict, changes in (("better", e.better), ("worse", e.worse)):
            for ch in changes:
                out.append(
                    f'<tr class="{verdict}"><td>{e_(ch.item_id)}<br>{verdict}</td>'
                    f"<td>{e_(_text(ch.row_b))}</td>"
                    f'<td class="answer"><b>{e_(fmt(ch.before))}</b>\n{e_(_answer(ch.row_a))}</td>'
                    f'<td class="answer"><b>{e_(fmt(ch.after))}</b>\n{e_(_answer(ch.row_b))}</td>'
                    "</tr>")
        out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def write_diff(run_diff: RunDiff, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"diff-{run_diff.name_a}-vs-{run_diff.name_b}"
    md_path, html_path = out_dir / f"{stem}.md", out_dir / f"{stem}.html"
    md_path.write_text(render_markdown(run_diff), encoding="utf-8")
    html_path.write_text(render_html(run_diff), encoding="utf-8")
    return md_path, html_path
