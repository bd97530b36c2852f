"""The triage training step: the regularisation of a label model is chosen out of fold.
Synthetic rows, no model."""

from __future__ import annotations

import numpy as np

from evals.train_triage import label_model


def _rows(n: int, noise: int, seed: int) -> tuple[list[dict[str, float]], np.ndarray, list[str]]:
    """One feature that carries the label and many that carry nothing."""
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < 0.4).astype(int)
    signal = labels * 1.5 + rng.normal(0.0, 1.0, n)
    names = ["signal", *(f"noise{i}" for i in range(noise))]
    matrix = np.column_stack([signal, rng.normal(0.0, 1.0, (n, noise))])
    return [dict(zip(names, row, strict=True)) for row in matrix], labels, names


def test_many_noise_features_make_the_stronger_regularisation_win() -> None:
    rows, labels, names = _rows(120, 200, seed=3)
    model = label_model(rows, labels, names, grid=(0.05, 100.0))
    assert model.info["c"] == 0.05
    assert model.info["reports"] == 120 and model.info["positives"] == int(labels.sum())


def test_a_label_carried_by_few_features_keeps_the_weaker_regularisation() -> None:
    rows, labels, names = _rows(400, 0, seed=4)
    model = label_model(rows, labels, names, grid=(0.0001, 1.0))
    assert model.info["c"] == 1.0
    assert 0.0 < model.threshold < 1.0
