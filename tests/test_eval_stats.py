"""Bootstrap intervals, paired and unpaired comparisons and the sign test on constructed data
with known answers."""

from __future__ import annotations

import math

import pytest

from evals.metrics import SetCounts
from evals.stats import (
    Difference,
    bootstrap,
    paired_bootstrap,
    point,
    sign_test,
    unpaired_difference,
)


def ones(n: int) -> list[float]:
    return [1.0] * n


def test_a_constant_metric_has_a_zero_width_interval() -> None:
    for value in (0.0, 1.0):
        estimate = bootstrap([value] * 25, ones(25))
        assert (estimate.value, estimate.low, estimate.high, estimate.n) == (value, value,
                                                                             value, 25)


def test_a_proportion_matches_the_normal_approximation() -> None:
    n, hits = 400, 120
    estimate = bootstrap([1.0] * hits + [0.0] * (n - hits), ones(n))
    half = 1.96 * math.sqrt(0.3 * 0.7 / n)  # 0.045
    assert estimate.value == pytest.approx(0.3)
    assert estimate.low == pytest.approx(0.3 - half, abs=0.01)
    assert estimate.high == pytest.approx(0.3 + half, abs=0.01)


def test_small_sets_give_wide_intervals() -> None:
    """One question of 25 is 0.04: an interval on 25 items is far wider than that."""
    estimate = bootstrap([1.0] * 23 + [0.0] * 2, ones(25))
    assert estimate.value == pytest.approx(0.92)
    assert estimate.high is not None and estimate.low is not None
    assert estimate.high - estimate.low > 0.15


def test_the_interval_is_reproducible_and_seeded() -> None:
    data = [1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0]
    assert bootstrap(data, ones(8), seed=3) == bootstrap(data, ones(8), seed=3)
    assert bootstrap(data, ones(8), resamples=500, seed=3).value == 0.625


def test_pooled_ratios_and_not_applicable_items() -> None:
    # verbatim-like pooling: 1 of 2 and 3 of 4 citations → 4/6, items without citations skipped
    assert point([1, 3, 0], [2, 4, 0]) == pytest.approx(4 / 6)
    estimate = bootstrap([1, 3, 0], [2, 4, 0])
    assert estimate.n == 2 and estimate.low is not None and estimate.low >= 0.5
    assert bootstrap([0, 0], [0, 0]).value is None
    assert bootstrap([], []).value is None


def test_f1_as_a_ratio_equals_the_harmonic_mean() -> None:
    counts = SetCounts(tp=6, fp=2, fn=4)
    assert point([2 * counts.tp], [2 * counts.tp + counts.fp + counts.fn]) == pytest.approx(
        counts.f1)


def test_sums_count_events() -> None:
    estimate = bootstrap([0, 0, 1, 0], ones(4), kind="sum")
    assert estimate.value == 1.0 and estimate.n == 4
    assert estimate.low is not None and estimate.high is not None
    assert 0.0 <= estimate.low <= 1.0 <= estimate.high <= 4.0
    assert bootstrap([0, 0, 0], ones(3), kind="sum").high == 0.0


def test_identical_runs_differ_by_zero_within_noise() -> None:
    run = [1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0]
    difference = paired_bootstrap(run, ones(8), run, ones(8))
    assert (difference.diff, difference.low, difference.high) == (0.0, 0.0, 0.0)
    assert difference.within_noise and difference.verdict == "within noise"
    assert difference.p_value == 1.0


def test_a_clear_improvement_is_significant() -> None:
    before = [1.0] * 10 + [0.0] * 30
    after = [1.0] * 38 + [0.0] * 2  # 28 items fixed, none broken
    difference = paired_bootstrap(before, ones(40), after, ones(40))
    assert difference.diff == pytest.approx(0.7)
    assert difference.low is not None and difference.low > 0.5
    assert not difference.within_noise and difference.verdict == "higher"
    assert difference.p_value == pytest.approx(2 / 2**28)
    worse = paired_bootstrap(after, ones(40), before, ones(40))
    assert worse.verdict == "lower" and worse.high is not None and worse.high < 0


def test_a_few_items_trading_places_are_noise() -> None:
    base = [1.0] * 15 + [0.0] * 5
    other = list(base)
    other[0], other[1], other[15] = 0.0, 0.0, 1.0  # two broken, one fixed
    difference = paired_bootstrap(base, ones(20), other, ones(20))
    assert difference.diff == pytest.approx(-0.05)
    assert difference.within_noise
    assert difference.p_value == 1.0  # 1 better, 2 worse


def test_pairing_removes_item_difficulty() -> None:
    """The same +0.1 shift is significant paired (every item moves up) while unpaired
    sets of that size cannot tell it from noise."""
    a = [i / 20 for i in range(20)]
    b = [x + 0.1 for x in a]
    assert not paired_bootstrap(a, ones(20), b, ones(20)).within_noise
    assert unpaired_difference(a, ones(20), b, ones(20)).within_noise


def test_paired_runs_need_the_same_items() -> None:
    with pytest.raises(ValueError):
        paired_bootstrap([1.0], [1.0], [1.0, 0.0], [1.0, 1.0])


def test_unpaired_gap_between_sets() -> None:
    tune = [1.0] * 90 + [0.0] * 10
    suite = [1.0] * 50 + [0.0] * 50
    gap = unpaired_difference(suite, ones(100), tune, ones(100))  # tune − suite
    assert gap.diff == pytest.approx(0.4)
    assert gap.low is not None and 0.25 < gap.low < 0.4 and not gap.within_noise
    same = unpaired_difference(tune, ones(100), list(reversed(tune)), ones(100))
    assert same.diff == 0.0 and same.within_noise
    assert unpaired_difference([], [], tune, ones(100)).diff is None


def test_sign_test_known_values() -> None:
    assert sign_test(10, 0) == pytest.approx(2 / 1024)
    assert sign_test(0, 0) == 1.0
    assert sign_test(5, 5) == 1.0
    assert sign_test(8, 2) == pytest.approx(2 * (1 + 10 + 45) / 1024)


def test_undefined_difference_is_not_a_verdict() -> None:
    assert Difference(None, None, None, 0).verdict == "n/a"
    assert paired_bootstrap([0.0], [0.0], [0.0], [0.0]).diff is None
