"""Latency is measured cold per configuration: the figures do not depend on the order in
which configurations run. The fake apps share one caching query embedder (as the product's
retrieval modes do) and charge a deterministic cost per cache miss, so the test counts
embedding calls instead of timing anything."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from evals.documents import Layout
from evals.runner import FactoryApps, RunOptions, run_evaluation
from tests.eval_support import fake_app, make_layout

MISS_MS = 50.0  # what one embedding costs in the fake
BASE_MS = 2.0
ORDER = ["hybrid", "dense", "bm25"]


class CachingEmbedder:
    """Like the product's: repeated question strings come from a cache until cleared."""

    def __init__(self) -> None:
        self.cache: dict[str, tuple[float, ...]] = {}
        self.misses = 0

    def embed_query(self, text: str) -> tuple[float, ...]:
        if text not in self.cache:
            self.misses += 1
            self.cache[text] = (float(len(text)),)
        return self.cache[text]

    def clear_query_cache(self) -> None:
        self.cache.clear()


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    return make_layout(tmp_path)


def measure(layout: Layout, configs: list[str], clear: bool = True,
            **options: Any) -> tuple[dict[str, Any], Counter[str]]:
    embedder = CachingEmbedder()
    misses: Counter[str] = Counter()

    def on_ask(config: str, body: dict[str, Any]) -> dict[str, float]:
        before = embedder.misses
        if config in ("dense", "hybrid"):  # bm25 needs no query vector
            embedder.embed_query(body["question"])
        new = embedder.misses - before
        misses[config] += new
        total = BASE_MS + MISS_MS * new
        return {"retrieve": total, "answer": 0.0, "total": total}

    def build(config: str, index: str) -> FastAPI:
        return fake_app(config, index, layout, on_ask=on_ask)

    apps = FactoryApps(build, embedder.clear_query_cache if clear else lambda: None)
    report = run_evaluation(RunOptions(sets=["tune", "holdout"], configs=configs, **options),
                            apps, layout)
    return report, misses


def total_latency(report: dict[str, Any], set_name: str, config: str) -> dict[str, Any]:
    overall = report["results"][set_name][config]["questions"]["overall"]
    return {k: overall["latency"]["total"][k] for k in ("p50", "p95", "n")}


def test_latency_does_not_depend_on_configuration_order(layout: Layout) -> None:
    forward, forward_misses = measure(layout, ORDER, order="given")
    backward, backward_misses = measure(layout, ORDER[::-1], order="given")
    assert forward["sets"]["tune"]["order"] == ORDER
    assert backward["sets"]["tune"]["order"] == ORDER[::-1]
    assert forward_misses == backward_misses
    for set_name in ("tune", "holdout"):
        for config in ORDER:
            assert total_latency(forward, set_name, config) == total_latency(
                backward, set_name, config), (set_name, config)
    # every embedding configuration paid for each of its questions itself
    tune = total_latency(forward, "tune", "dense")
    assert tune["p50"] == BASE_MS + MISS_MS
    assert total_latency(forward, "tune", "bm25")["p95"] == BASE_MS


def test_seeded_orders_give_the_same_figures(layout: Layout) -> None:
    first, _ = measure(layout, ORDER, seed=1)
    second, _ = measure(layout, ORDER, seed=2)
    orders = {tuple(r["sets"][s]["order"]) for r in (first, second) for s in ("tune", "holdout")}
    assert len(orders) > 1  # the seeds really ran the configurations in other orders
    for config in ORDER:
        assert total_latency(first, "tune", config) == total_latency(second, "tune", config)


def test_without_clearing_the_later_configuration_looks_fast(layout: Layout) -> None:
    """The control: the bug of issue 17 (a shared cache makes whoever runs later fast) is
    what the measurement above rules out."""
    forward, _ = measure(layout, ORDER, clear=False, order="given")
    backward, _ = measure(layout, ORDER[::-1], clear=False, order="given")
    assert total_latency(forward, "tune", "dense")["p50"] == BASE_MS  # after hybrid: cached
    assert total_latency(backward, "tune", "dense")["p50"] == BASE_MS + MISS_MS
