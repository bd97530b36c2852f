"""Turn one response into per-item scores, and pool item scores into group metrics.

Every group metric is defined once, in QUESTION_METRICS / TRIAGE_METRICS, as a numerator
and denominator per item: per-item rates (hit@k, MRR, nDCG, citation recall, key facts)
are averaged over the items they apply to (macro); counts below the item level
(citations for the verbatim rate, cited sentences for precision, instrument and theme
ids) are pooled (micro), so one item with many citations weighs accordingly. The point
value, its bootstrap interval (evals/stats.py) and the per-item value in run records and
diffs all come from the same definition.

A written answer (a generator other than extractive, read from `/api/ask/stream`) is scored
on its final response with the same metrics, plus GENERATION_METRICS: the share of generated
sentences the verifier kept (pooled over sentences) and the share of generated answers shown
rather than replaced by the extractive one; and the times to the evidence event and to the
first and last verified sentence (STREAM_STAGES).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evals.datasets import QuestionItem, TriageItem
from evals.metrics import (
    PersonalData,
    citation_precision,
    citation_recall,
    hit_at_k,
    is_verbatim,
    key_fact_recall,
    leaked,
    ndcg_at_k,
    percentile,
    reciprocal_rank,
    refused,
    set_counts,
    support_recall,
)
from evals.stats import RESAMPLES, SEED, Estimate, bootstrap
from evals.stats import point as stats_point

Score = dict[str, Any]
Row = Mapping[str, Any]
STAGES = ("retrieve", "answer", "total", "wall")
STREAM_STAGES = ("evidence", "first_sentence", "last_sentence")
ANSWER_CHARS = 4000
QUOTE_CHARS = 600


@dataclass(frozen=True)
class Metric:
    """A group metric: Σ num / Σ den over items (or Σ num for kind "sum")."""

    name: str
    label: str
    parts: Callable[[Row], tuple[float, float]]
    higher_is_better: bool = True
    kind: str = "ratio"

    def item_value(self, score: Row) -> float | None:
        num, den = self.parts(score)
        if self.kind == "sum":
            return float(num)
        return num / den if den else None


def _mean(key: str) -> Callable[[Row], tuple[float, float]]:
    return lambda s: (float(s[key]), 1.0) if s.get(key) is not None else (0.0, 0.0)


def _pooled(key: str) -> Callable[[Row], tuple[float, float]]:
    return lambda s: (float(s[key][0]), float(s[key][1]))


def _when(condition: Callable[[Row], bool], value: Callable[[Row], bool]
          ) -> Callable[[Row], tuple[float, float]]:
    return lambda s: (float(value(s)), 1.0) if condition(s) else (0.0, 0.0)


def _counts(key: str, which: str) -> Callable[[Row], tuple[float, float]]:
    def parts(s: Row) -> tuple[float, float]:
        tp, fp, fn = (float(s[key][k]) for k in ("tp", "fp", "fn"))
        return {"precision": (tp, tp + fp), "recall": (tp, tp + fn),
                "f1": (2 * tp, 2 * tp + fp + fn)}[which]
    return parts


QUESTION_METRICS = (
    Metric("hit@1", "hit@1", _mean("hit@1")),
    Metric("hit@3", "hit@3", _mean("hit@3")),
    Metric("hit@5", "hit@5", _mean("hit@5")),
    Metric("mrr", "MRR", _mean("rr")),
    Metric("ndcg@10", "nDCG@10", _mean("ndcg@10")),
    Metric("citation_recall", "cit. recall", _mean("citation_recall")),
    Metric("citation_precision", "cit. precision", _pooled("citation_precision")),
    Metric("verbatim_rate", "verbatim", _pooled("verbatim")),
    Metric("key_fact_recall", "key facts", _mean("key_fact_recall")),
    Metric("refusal_accuracy", "refusal acc.",
           _when(lambda s: not s["expected_answerable"], lambda s: s["refused"])),
    Metric("false_refusal_rate", "false refusal",
           _when(lambda s: s["expected_answerable"], lambda s: s["refused"]),
           higher_is_better=False),
    Metric("instrument_precision", "instr. P", _counts("instruments", "precision")),
    Metric("instrument_recall", "instr. R", _counts("instruments", "recall")),
    Metric("instrument_f1", "instr. F1", _counts("instruments", "f1")),
)
TRIAGE_METRICS = (
    Metric("theme_precision", "theme P", _counts("themes", "precision")),
    Metric("theme_recall", "theme R", _counts("themes", "recall")),
    Metric("theme_f1", "theme F1", _counts("themes", "f1")),
    Metric("fase_accuracy", "fase acc.", _when(lambda s: True, lambda s: s["fase_correct"])),
    Metric("support_recall", "support R",
           lambda s: (float(s["support"]["found"]), float(s["support"]["expected"]))),
    Metric("support_precision", "support P",
           lambda s: (float(s["support"]["found"]), float(len(s["support"]["predicted"])))),
    Metric("urgent_accuracy", "urgent acc.",
           _when(lambda s: True, lambda s: s["urgent_predicted"] == s["urgent_expected"])),
    Metric("urgent_recall", "urgent R",
           _when(lambda s: s["urgent_expected"], lambda s: s["urgent_predicted"])),
    Metric("false_urgent_rate", "false urgent",
           _when(lambda s: not s["urgent_expected"], lambda s: s["urgent_predicted"]),
           higher_is_better=False),
    Metric("pii_leaks", "PII leaks", lambda s: (float(bool(s["leak_kinds"])), 1.0),
           higher_is_better=False, kind="sum"),
)


def _verified(s: Row) -> tuple[float, float]:
    kept, generated = s.get("sentences_verified") or (0, 0)
    return float(kept), float(generated)


def _written(s: Row) -> bool:
    return not (s.get("verification") or {}).get("fallback", True)


GENERATION_METRICS = (
    Metric("verified_share", "verified", _verified),
    Metric("written_rate", "written",
           _when(lambda s: s.get("verification") is not None, _written)),
)
METRICS = {m.name: m for m in (*QUESTION_METRICS, *GENERATION_METRICS, *TRIAGE_METRICS)}


def _timings(response: Mapping[str, Any] | None, wall_ms: float | None) -> dict[str, float]:
    timings = {
        stage: float(value)
        for stage, value in ((response or {}).get("timings_ms") or {}).items()
        if stage in STAGES and isinstance(value, int | float)
    }
    if wall_ms is not None:
        timings["wall"] = wall_ms
    return timings


def _offset(value: Any) -> int:
    """An offset from the response; anything but an integer can never be verbatim."""
    return value if isinstance(value, int) and not isinstance(value, bool) else -1


def score_question(
    item: QuestionItem,
    response: Mapping[str, Any] | None,
    texts: Mapping[str, str | None],
    wall_ms: float | None = None,
    error: str | None = None,
) -> Score:
    """Scores of one answer; retrieval and key-fact scores only for answerable items."""
    response = response or {}
    citations = [c for c in response.get("citations") or [] if isinstance(c, Mapping)]
    passages = [str(c.get("quote", "")) for c in citations]
    answer = str(response.get("answer") or "")
    answerable = response.get("answerable") if response else None
    score: Score = {
        "id": item.id, "kind": item.kind, "origin": item.origin, "style": list(item.style),
        "source": item.source, "sealed": item.sealed, "question": item.question,
        "history": [dict(turn) for turn in item.history],
        "expected_answerable": item.answerable, "answerable": answerable,
        "refused": refused(answerable), "error": error, "answer": answer[:ANSWER_CHARS],
        "cited_docs": [c.get("doc_id") for c in citations],
        "citations": [{"n": c.get("n"), "doc_id": c.get("doc_id"), "start": c.get("start"),
                       "end": c.get("end"), "quote": str(c.get("quote", ""))[:QUOTE_CHARS]}
                      for c in citations],
        "timings": _timings(response, wall_ms),
    }
    if item.answerable and item.gold_quotes:
        score.update({
            "hit@1": hit_at_k(passages, item.gold_quotes, 1),
            "hit@3": hit_at_k(passages, item.gold_quotes, 3),
            "hit@5": hit_at_k(passages, item.gold_quotes, 5),
            "rr": reciprocal_rank(passages, item.gold_quotes),
            "ndcg@10": ndcg_at_k(passages, item.gold_quotes, 10),
            "citation_recall": citation_recall(passages, item.gold_quotes),
        })
    if item.answerable and item.key_facts:
        score["key_fact_recall"] = key_fact_recall(answer, item.key_facts)
    verbatim = sum(
        is_verbatim(str(c.get("quote", "")), _offset(c.get("start")), _offset(c.get("end")),
                    texts.get(str(c.get("doc_id"))))
        for c in citations
    )
    score["verbatim"] = [verbatim, len(citations)]
    quotes_by_n = {
        c["n"]: str(c.get("quote", "")) for c in citations if isinstance(c.get("n"), int)
    }
    precision = citation_precision(answer, quotes_by_n)
    score["citation_precision"] = [precision.hits, precision.total]
    predicted = sorted({
        str(i.get("id")) for i in response.get("instruments") or []
        if isinstance(i, Mapping) and i.get("fits")
    })
    counts = set_counts(predicted, item.expected_instruments)
    score["instruments"] = {"predicted": predicted, "expected": list(item.expected_instruments),
                            "tp": counts.tp, "fp": counts.fp, "fn": counts.fn}
    score["metrics"] = item_metrics(score, QUESTION_METRICS)
    return score


def score_streamed(
    item: QuestionItem,
    response: Mapping[str, Any] | None,
    texts: Mapping[str, str | None],
    stream: Mapping[str, Any],
    wall_ms: float | None = None,
    error: str | None = None,
) -> Score:
    """Scores of a streamed answer: its final response as `score_question` scores it, how
    its generated sentences held up (`verification`, from the response) and when the
    evidence and the verified sentences arrived (`stream`: ms after the request)."""
    score = score_question(item, response, texts, wall_ms, error)
    verification = (response or {}).get("verification")
    if isinstance(verification, Mapping):
        kept, dropped = int(verification.get("kept") or 0), int(verification.get("dropped") or 0)
        score["verification"] = {
            "kept": kept, "dropped": dropped, "reasons": dict(verification.get("reasons") or {}),
            "fallback": bool(verification.get("fallback")),
            "fallback_reason": verification.get("fallback_reason"),
        }
        score["sentences_verified"] = [kept, kept + dropped]
    else:  # refused, or nothing was generated
        score["verification"] = None
        score["sentences_verified"] = [0, 0]
    score["written_by"] = (response or {}).get("generator")
    score["stream"] = dict(stream)
    for stage in STREAM_STAGES:
        if isinstance(stream.get(stage), int | float):
            score["timings"][stage] = float(stream[stage])
    score["metrics"].update(item_metrics(score, GENERATION_METRICS))
    return score


def score_triage(
    item: TriageItem,
    response: Mapping[str, Any] | None,
    personal_data: Iterable[PersonalData],
    wall_ms: float | None = None,
    error: str | None = None,
) -> Score:
    """Scores of one triage; leaks are checked over the whole serialised response.

    The report text is kept for the run record unless it holds personal data; then the
    product's redacted version stands in for it."""
    response = response or {}
    themes = sorted({str(t.get("id")) for t in response.get("themes") or []
                     if isinstance(t, Mapping)})
    support = sorted({str(s.get("id")) for s in response.get("support") or []
                      if isinstance(s, Mapping)})
    counts = set_counts(themes, item.themes)
    found = support_recall(support, item.expected_support)
    output = json.dumps(response, ensure_ascii=False) if response else ""
    leak_kinds = leaked(output, personal_data)
    shown = item.report if not item.contains_pii else str(
        response.get("redacted_report") or "[persoonsgegevens: zie het gegevensbestand]")
    score: Score = {
        "id": item.id, "kind": "triage", "origin": item.origin, "style": list(item.style),
        "source": item.source,
        "sealed": item.sealed, "report": shown, "error": error,
        "themes": {"predicted": themes, "expected": list(item.themes), "tp": counts.tp,
                   "fp": counts.fp, "fn": counts.fn},
        "fase": response.get("fase"), "fase_expected": item.fase,
        "fase_correct": response.get("fase") == item.fase,
        "support": {"predicted": support, "expected_ids": list(item.expected_support),
                    "found": found.hits, "expected": found.total},
        "urgent_predicted": bool(response.get("urgent")) if response else False,
        "urgent_expected": item.urgent,
        "leak_kinds": sorted(leak_kinds),
        "timings": _timings(response, wall_ms),
    }
    score["metrics"] = item_metrics(score, TRIAGE_METRICS)
    return score


def item_metrics(score: Score, metrics: Sequence[Metric]) -> dict[str, float | None]:
    """Each metric's value for this one item (None where it does not apply)."""
    return {metric.name: metric.item_value(score) for metric in metrics}


def estimate(scores: Sequence[Score], metric: Metric, resamples: int = RESAMPLES,
             seed: int = SEED) -> Estimate:
    parts = [metric.parts(s) for s in scores]
    return bootstrap([p[0] for p in parts], [p[1] for p in parts], metric.kind, resamples, seed)


def latency(scores: Sequence[Score]) -> dict[str, dict[str, float | None]]:
    """p50/p95 per stage (server timings_ms, client wall time and, for streamed answers,
    the times to the evidence and to the first and last verified sentence), in ms."""
    result: dict[str, dict[str, float | None]] = {}
    for stage in (*STAGES, *STREAM_STAGES):
        values = [s["timings"][stage] for s in scores if stage in s["timings"]]
        if values:
            result[stage] = {"p50": percentile(values, 50), "p95": percentile(values, 95),
                             "n": len(values)}
    return result


def aggregate(scores: Sequence[Score], metrics: Sequence[Metric], intervals: bool = True,
              resamples: int = RESAMPLES, seed: int = SEED) -> dict[str, Any]:
    """Metric name to {value, low, high, n} (intervals only when asked: breakdowns skip
    them), plus latency and counts."""
    result: dict[str, Any] = {}
    for metric in metrics:
        if intervals:
            result[metric.name] = estimate(scores, metric, resamples, seed).as_dict()
        else:
            parts = [metric.parts(s) for s in scores]
            applicable = sum(den > 0 for _, den in parts) if metric.kind != "sum" else len(parts)
            point = stats_point([p[0] for p in parts], [p[1] for p in parts], metric.kind)
            result[metric.name] = {"value": point, "low": None, "high": None, "n": applicable}
    result["latency"] = latency(scores)
    result["counts"] = {"items": len(scores), "errors": sum(s["error"] is not None
                                                            for s in scores)}
    return result


def aggregate_questions(scores: Sequence[Score], intervals: bool = True, **kw: Any
                        ) -> dict[str, Any]:
    """Question metrics; with the generation metrics where the answers were streamed."""
    streamed = any("stream" in s for s in scores)
    metrics = (*QUESTION_METRICS, *GENERATION_METRICS) if streamed else QUESTION_METRICS
    result = aggregate(scores, metrics, intervals, **kw)
    result["counts"].update({
        "answerable": sum(bool(s["expected_answerable"]) for s in scores),
        "unanswerable": sum(not s["expected_answerable"] for s in scores),
        "citations": sum(s["verbatim"][1] for s in scores),
        "cited_sentences": sum(s["citation_precision"][1] for s in scores),
    })
    return result


def aggregate_triage(scores: Sequence[Score], intervals: bool = True, **kw: Any
                     ) -> dict[str, Any]:
    return aggregate(scores, TRIAGE_METRICS, intervals, **kw)


def value(metrics: Mapping[str, Any], name: str) -> float | None:
    """The point value of a metric in an aggregate."""
    entry = metrics.get(name)
    return entry.get("value") if isinstance(entry, Mapping) else entry


def groups(scores: Sequence[Score], key: str) -> dict[str, list[Score]]:
    """Scores per value of `key`, in first-seen order; a list-valued key (style tags) puts
    an item in every group it names."""
    result: dict[str, list[Score]] = defaultdict(list)
    for score in scores:
        values = score.get(key)
        for name in values if isinstance(values, list) else [values]:
            result[str(name)].append(score)
    return dict(result)


def breakdown(scores: Sequence[Score], key: str,
              aggregate_fn: Callable[..., dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Point values per group (no intervals: groups are small and many)."""
    return {name: aggregate_fn(group, intervals=False)
            for name, group in groups(scores, key).items()}
