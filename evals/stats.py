"""Uncertainty of evaluation metrics: bootstrap intervals, paired comparisons, a sign test.

Every metric of the harness is a ratio of per-item sums, Σ numerator / Σ denominator over
the items (a mean when each applicable item has denominator 1, a pooled micro rate
otherwise; F1 = 2·tp / (2·tp + fp + fn)), or a plain sum (counts such as leaks). That makes
one resampling scheme serve all of them: draw items with replacement and recompute the
ratio. Seeded, so a report is reproducible; pure functions over arrays.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

RESAMPLES = 2000
SEED = 20261201
LEVEL = 0.95


@dataclass(frozen=True)
class Estimate:
    """A metric with its bootstrap interval; `value` None when nothing applied."""

    value: float | None
    low: float | None
    high: float | None
    n: int  # items the metric applies to (denominator > 0), or all items for sums

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Difference:
    """B − A with its interval; within noise when the interval includes 0."""

    diff: float | None
    low: float | None
    high: float | None
    n: int
    p_value: float | None = None

    @property
    def within_noise(self) -> bool:
        if self.diff is None or self.low is None or self.high is None:
            return True
        return self.low <= 0.0 <= self.high

    @property
    def verdict(self) -> str:
        if self.diff is None:
            return "n/a"
        if self.within_noise:
            return "within noise"
        return "higher" if self.diff > 0 else "lower"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "within_noise": self.within_noise, "verdict": self.verdict}


def _arrays(num: Sequence[float] | np.ndarray, den: Sequence[float] | np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    n = np.asarray(num, dtype=float)
    d = np.asarray(den, dtype=float)
    if n.shape != d.shape or n.ndim != 1:
        raise ValueError("numerators and denominators must be 1-d and of equal length")
    return n, d


def point(num: Sequence[float] | np.ndarray, den: Sequence[float] | np.ndarray,
          kind: str = "ratio") -> float | None:
    n, d = _arrays(num, den)
    if kind == "sum":
        return float(n.sum())
    total = float(d.sum())
    return float(n.sum()) / total if total > 0 else None


def _indices(size: int, resamples: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, size, size=(resamples, size))


def _replicates(n: np.ndarray, d: np.ndarray, idx: np.ndarray, kind: str) -> np.ndarray:
    """The statistic on each resample; NaN where a ratio's denominator is 0."""
    nums = n[idx].sum(axis=1)
    if kind == "sum":
        return nums
    dens = d[idx].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(dens > 0, nums / np.where(dens > 0, dens, 1.0), np.nan)


def _interval(values: np.ndarray, level: float) -> tuple[float | None, float | None]:
    values = values[~np.isnan(values)]
    if values.size == 0:
        return None, None
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap(num: Sequence[float], den: Sequence[float], kind: str = "ratio",
              resamples: int = RESAMPLES, seed: int = SEED, level: float = LEVEL) -> Estimate:
    """Percentile bootstrap interval of Σnum/Σden (or Σnum) over items drawn with replacement.

    Only items the metric applies to (den > 0) are resampled for ratios, so an interval
    describes the metric's own items, not the set's size."""
    n, d = _arrays(num, den)
    if kind != "sum":
        keep = d > 0
        n, d = n[keep], d[keep]
    value = point(n, d, kind)
    if n.size == 0 or value is None:
        return Estimate(value, None, None, int(n.size))
    low, high = _interval(_replicates(n, d, _indices(n.size, resamples, seed), kind), level)
    return Estimate(value, low, high, int(n.size))


def paired_bootstrap(num_a: Sequence[float], den_a: Sequence[float], num_b: Sequence[float],
                     den_b: Sequence[float], kind: str = "ratio", resamples: int = RESAMPLES,
                     seed: int = SEED, level: float = LEVEL) -> Difference:
    """B − A on the same items (position i is one item in both), resampling items jointly:
    the item-to-item correlation between two runs or configurations cancels out."""
    na, da = _arrays(num_a, den_a)
    nb, db = _arrays(num_b, den_b)
    if na.shape != nb.shape:
        raise ValueError("paired runs need the same items")
    if kind != "sum":
        keep = (da > 0) | (db > 0)
        na, da, nb, db = na[keep], da[keep], nb[keep], db[keep]
    a, b = point(na, da, kind), point(nb, db, kind)
    if a is None or b is None:
        return Difference(None, None, None, int(na.size))
    idx = _indices(na.size, resamples, seed)
    diffs = _replicates(nb, db, idx, kind) - _replicates(na, da, idx, kind)
    low, high = _interval(diffs, level)
    return Difference(b - a, low, high, int(na.size), per_item_sign_test(na, da, nb, db, kind))


def unpaired_difference(num_a: Sequence[float], den_a: Sequence[float], num_b: Sequence[float],
                        den_b: Sequence[float], kind: str = "ratio", resamples: int = RESAMPLES,
                        seed: int = SEED, level: float = LEVEL) -> Difference:
    """B − A for two independent item sets (e.g. the tune-to-generalisation gap): each set
    is resampled on its own."""
    na, da = _arrays(num_a, den_a)
    nb, db = _arrays(num_b, den_b)
    if kind != "sum":
        na, da = na[da > 0], da[da > 0]
        nb, db = nb[db > 0], db[db > 0]
    a, b = point(na, da, kind), point(nb, db, kind)
    if a is None or b is None or na.size == 0 or nb.size == 0:
        return Difference(None, None, None, int(na.size + nb.size))
    reps_a = _replicates(na, da, _indices(na.size, resamples, seed), kind)
    reps_b = _replicates(nb, db, _indices(nb.size, resamples, seed + 1), kind)
    low, high = _interval(reps_b - reps_a, level)
    return Difference(b - a, low, high, int(na.size + nb.size))


def rate_standard_error(rate: float, n: int) -> float:
    """The standard error of a rate estimated over n items (binomial)."""
    return math.sqrt(rate * (1 - rate) / n)


def sign_test(better: int, worse: int) -> float:
    """Exact two-sided sign test (binomial, p = ½) on items that changed; ties excluded."""
    n = better + worse
    if n == 0:
        return 1.0
    k = min(better, worse)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


def per_item_sign_test(na: np.ndarray, da: np.ndarray, nb: np.ndarray, db: np.ndarray,
                       kind: str) -> float | None:
    """Sign test on per-item values (num/den, or num for sums) where both are defined."""
    if kind == "sum":
        va, vb = na, nb
    else:
        both = (da > 0) & (db > 0)
        va, vb = na[both] / da[both], nb[both] / db[both]
    if va.size == 0:
        return None
    return sign_test(int(np.sum(vb > va + 1e-12)), int(np.sum(vb < va - 1e-12)))
