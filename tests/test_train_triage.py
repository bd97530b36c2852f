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


def _wording_reports() -> tuple[list[str], dict[str, np.ndarray]]:
    """Reports about money or about buildings, in varied words (written for this test)."""
    money = ["De subsidie voor het project is op en de begroting klopt niet meer.",
             "Wie betaalt de exploitatie als de financiering van het rijk stopt?",
             "Het budget voor de huurverlaging is te klein voor de begroting.",
             "We zoeken een lening of subsidie om de exploitatie rond te krijgen.",
             "De financiering van de zorgcomponent is onzeker geworden.",
             "Het rijksbudget en onze eigen begroting sluiten niet op elkaar aan."]
    buildings = ["Er zijn te weinig woningen voor ouderen in de wijk.",
                 "De nieuwbouw van appartementen loopt vertraging op.",
                 "Het aantal geclusterde woningen blijft achter bij de behoefte.",
                 "We willen kantoren ombouwen tot woningen voor starters.",
                 "De woningvoorraad past niet bij de vergrijzing in het dorp.",
                 "Nieuwe woningen voor senioren komen er voorlopig niet."]
    texts = [*money, *buildings] * 2
    money_label = np.array([1] * len(money) + [0] * len(buildings))
    return texts, {"theme:geld": np.tile(money_label, 2), "theme:bouw": 1 - np.tile(money_label, 2)}


def test_the_wording_model_serves_what_was_fitted_and_says_it_out_of_fold() -> None:
    from sklearn.feature_extraction.text import TfidfTransformer

    from assistant.triage.wording import WordingModel, hashed_counts
    from evals.train_triage import fit_wording

    texts, targets = _wording_reports()
    model, oof = fit_wording(texts, targets)
    assert set(oof) == set(targets) and all(len(p) == len(texts) for p in oof.values())
    # The packed model (float16) gives the training pipeline's features and probabilities.
    restored = WordingModel.from_dict(model.to_dict())
    assert restored is not None
    new = ["De begroting voor de lening is niet rond.", "Er komen appartementen voor senioren."]
    expected = TfidfTransformer(sublinear_tf=True).fit(hashed_counts(texts)).transform(
        hashed_counts(new))
    assert np.allclose(restored.features(new).toarray(), expected.toarray(), atol=1e-3)
    money, building = (restored.probabilities(text) for text in new)
    assert money["theme:geld"] > money["theme:bouw"]
    assert building["theme:bouw"] > building["theme:geld"]


def test_a_wording_file_for_other_buckets_is_not_used() -> None:
    from assistant.triage.wording import WORDING_WEIGHT, WordingModel, blend
    from evals.train_triage import fit_wording

    texts, targets = _wording_reports()
    data = fit_wording(texts, targets)[0].to_dict()
    assert WordingModel.from_dict({**data, "buckets": 2**10}) is None
    mixed = blend({"geld": 0.8, "zorg": 0.4}, {"theme:geld": 0.2}, "theme:")
    assert 0.2 < mixed["geld"] < 0.5  # between both, nearer the wording
    assert abs(mixed["geld"] - (0.8 + WORDING_WEIGHT * (0.2 - 0.8))) < 1e-9
    assert mixed["zorg"] == 0.4  # no wording model for this label


def test_thresholds_are_chosen_on_the_mix_with_the_wording_model() -> None:
    rows, labels, names = _rows(200, 0, seed=5)
    confident = labels.astype(float)
    alone = label_model(rows, labels, names, grid=(1.0,))
    with_wording = label_model(rows, labels, names, grid=(1.0,), wording=confident)
    assert with_wording.info["threshold_on"].startswith("mixed with the wording model")
    assert with_wording.info["oof_recall"] >= alone.info["oof_recall"]
    assert with_wording.info["oof_precision"] >= alone.info["oof_precision"]


def test_the_urgency_threshold_leaves_both_targets_the_same_margin() -> None:
    from evals.train_triage import balanced_threshold

    # nine urgent reports score 0.8, one 0.5; of 90 others, `high` score 0.6, the rest 0.1
    def threshold(high: int) -> float:
        urgent = np.array([1] * 10 + [0] * 90)
        probabilities = np.array([0.8] * 9 + [0.5] + [0.6] * high + [0.1] * (90 - high))
        return balanced_threshold(probabilities, urgent)

    # taking the low urgent report costs 4 false urgent (0.044): margins 0.056 against 0.0
    assert threshold(4) == 0.5
    # 10 false urgent (0.111) would pass the ceiling: recall stays at its target
    assert threshold(10) == 0.8
    # no threshold meets both targets: recall keeps its target
    urgent = np.array([1] * 10 + [0] * 10)
    overlapping = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05] + [0.5] * 10)
    assert balanced_threshold(overlapping, urgent) == 0.1
    assert balanced_threshold(np.array([0.3, 0.6]), np.array([0, 0])) == 0.5
