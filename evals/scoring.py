"""Turn one response into per-item scores, and pool item scores into group metrics.

Per-item rates (hit@k, MRR, nDCG, citation recall, key facts) are averaged over the
items they apply to (macro); counts that live below the item level (citations for the
verbatim rate, cited sentences for precision, instrument and theme ids) are pooled
first (micro), so one item with many citations weighs accordingly.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from evals.datasets import QuestionItem, TriageItem
from evals.metrics import (
    PersonalData,
    Ratio,
    SetCounts,
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

Score = dict[str, Any]
STAGES = ("retrieve", "answer", "total", "wall")
MEAN_METRICS = {
    "hit@1": "hit@1", "hit@3": "hit@3", "hit@5": "hit@5", "mrr": "rr", "ndcg@10": "ndcg@10",
    "citation_recall": "citation_recall", "key_fact_recall": "key_fact_recall",
}


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
        "id": item.id, "kind": item.kind, "origin": item.origin,
        "expected_answerable": item.answerable, "answerable": answerable,
        "refused": refused(answerable), "error": error, "answer": answer[:500],
        "cited_docs": [c.get("doc_id") for c in citations],
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
    score["instruments"] = {"predicted": predicted, "tp": counts.tp, "fp": counts.fp,
                            "fn": counts.fn}
    return score


def score_triage(
    item: TriageItem,
    response: Mapping[str, Any] | None,
    personal_data: Iterable[PersonalData],
    wall_ms: float | None = None,
    error: str | None = None,
) -> Score:
    """Scores of one triage; leaks are checked over the whole serialised response."""
    response = response or {}
    themes = sorted({str(t.get("id")) for t in response.get("themes") or []
                     if isinstance(t, Mapping)})
    support = sorted({str(s.get("id")) for s in response.get("support") or []
                      if isinstance(s, Mapping)})
    counts = set_counts(themes, item.themes)
    found = support_recall(support, item.expected_support)
    output = json.dumps(response, ensure_ascii=False) if response else ""
    leak_kinds = leaked(output, personal_data)
    return {
        "id": item.id, "origin": item.origin, "error": error,
        "themes": {"predicted": themes, "tp": counts.tp, "fp": counts.fp, "fn": counts.fn},
        "fase": response.get("fase"), "fase_correct": response.get("fase") == item.fase,
        "support": {"predicted": support, "found": found.hits, "expected": found.total},
        "urgent_correct": bool(response.get("urgent")) == item.urgent if response else False,
        "leak_kinds": sorted(leak_kinds),
        "timings": _timings(response, wall_ms),
    }


def _mean(values: Iterable[float | bool]) -> float | None:
    values = [float(v) for v in values]
    return sum(values) / len(values) if values else None


def latency(scores: Sequence[Score]) -> dict[str, dict[str, float | None]]:
    """p50/p95 per stage (server timings_ms and client wall time), in milliseconds."""
    result: dict[str, dict[str, float | None]] = {}
    for stage in STAGES:
        values = [s["timings"][stage] for s in scores if stage in s["timings"]]
        if values:
            result[stage] = {"p50": percentile(values, 50), "p95": percentile(values, 95)}
    return result


def aggregate_questions(scores: Sequence[Score]) -> dict[str, Any]:
    metrics: dict[str, Any] = {
        name: _mean(s[key] for s in scores if key in s) for name, key in MEAN_METRICS.items()
    }
    metrics["verbatim_rate"] = sum((Ratio(*s["verbatim"]) for s in scores), Ratio(0, 0)).value
    metrics["citation_precision"] = sum(
        (Ratio(*s["citation_precision"]) for s in scores), Ratio(0, 0)
    ).value
    metrics["refusal_accuracy"] = _mean(s["refused"] for s in scores
                                        if not s["expected_answerable"])
    metrics["false_refusal_rate"] = _mean(s["refused"] for s in scores if s["expected_answerable"])
    counts = sum(
        (SetCounts(s["instruments"]["tp"], s["instruments"]["fp"], s["instruments"]["fn"])
         for s in scores),
        SetCounts(),
    )
    metrics.update({"instrument_precision": counts.precision, "instrument_recall": counts.recall,
                    "instrument_f1": counts.f1})
    metrics["latency"] = latency(scores)
    metrics["counts"] = {
        "items": len(scores),
        "answerable": sum(bool(s["expected_answerable"]) for s in scores),
        "unanswerable": sum(not s["expected_answerable"] for s in scores),
        "citations": sum(s["verbatim"][1] for s in scores),
        "cited_sentences": sum(s["citation_precision"][1] for s in scores),
        "errors": sum(s["error"] is not None for s in scores),
    }
    return metrics


def aggregate_triage(scores: Sequence[Score]) -> dict[str, Any]:
    themes = sum(
        (SetCounts(s["themes"]["tp"], s["themes"]["fp"], s["themes"]["fn"]) for s in scores),
        SetCounts(),
    )
    support = sum(
        (Ratio(s["support"]["found"], s["support"]["expected"]) for s in scores), Ratio(0, 0)
    )
    return {
        "theme_precision": themes.precision, "theme_recall": themes.recall,
        "theme_f1": themes.f1,
        "fase_accuracy": _mean(s["fase_correct"] for s in scores),
        "support_recall": support.value,
        "urgent_accuracy": _mean(s["urgent_correct"] for s in scores),
        "pii_leaks": sum(bool(s["leak_kinds"]) for s in scores),
        "latency": latency(scores),
        "counts": {"items": len(scores), "errors": sum(s["error"] is not None for s in scores)},
    }


def breakdown(
    scores: Sequence[Score], key: str, aggregate: Callable[[Sequence[Score]], dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Aggregate per value of `key` (e.g. kind, origin), in first-seen order."""
    groups: dict[str, list[Score]] = defaultdict(list)
    for score in scores:
        groups[str(score[key])].append(score)
    return {name: aggregate(group) for name, group in groups.items()}
