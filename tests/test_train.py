"""The training step's cross-validation: folds by document, the feature set chosen out of fold,
thresholds that keep the false-refusal ceiling, and which questions teach instruments.
Synthetic rows, no model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from evals.documents import Layout
from evals.train import (
    EMBEDDING_C,
    FALSE_REFUSAL_TARGET,
    TREE_OPTIONS,
    Sample,
    choose_threshold,
    decision_model,
    document_groups,
    embedding_model,
    false_refusal_ceiling,
    fit_trees,
    training_questions,
    tune_questions,
)


def _sample(answerable: bool, docs: list[str]) -> Sample:
    item = {"answerable": answerable, "gold_docs": docs}
    return Sample(item, np.zeros(2), np.zeros(2), np.zeros((0, 2)), [], [], [], [],
                  labels_instruments=True)


def test_questions_about_one_document_share_a_fold_group() -> None:
    samples = [_sample(True, ["a"]), _sample(True, ["b", "a"]), _sample(True, ["a", "c"]),
               _sample(False, []), _sample(False, [])]
    groups = document_groups(samples)
    assert groups[0] == groups[2]
    assert groups[1] != groups[0]
    # every unanswerable question is a group of its own
    assert len({groups[3], groups[4], groups[0], groups[1]}) == 4


def test_an_embedding_model_picks_its_regularisation_out_of_fold() -> None:
    """Few questions, many dimensions: the strength is the one whose out-of-fold predictions
    rank best, and the predictions handed to the decision are out of fold."""
    rng = np.random.default_rng(3)
    answerable = np.array([1, 0] * 50)
    vectors = rng.normal(0, 1, (100, 40))
    vectors[:, 0] += 2.5 * answerable
    model, oof = embedding_model(vectors, answerable, list(range(100)))
    assert model.info["c"] in EMBEDDING_C and model.info["oof_auc"] > 0.75
    in_sample = model.probabilities(vectors)
    assert oof.shape == (100,) and not np.allclose(oof, in_sample)


def test_threshold_keeps_false_refusals_under_the_ceiling() -> None:
    rng = np.random.default_rng(1)
    answerable = np.array([1] * 200 + [0] * 100)
    probabilities = np.concatenate([rng.uniform(0.3, 1.0, 200), rng.uniform(0.0, 0.7, 100)])
    threshold = choose_threshold(probabilities, answerable)
    false_refusals = float((probabilities[answerable == 1] < threshold).mean())
    assert false_refusals <= false_refusal_ceiling(200) < FALSE_REFUSAL_TARGET
    assert (probabilities[answerable == 0] < threshold).mean() > 0.3


def test_the_false_refusal_margin_shrinks_as_the_tune_set_grows() -> None:
    """One standard error below the target: a small set leaves a wide margin, a large one
    a narrow margin, never a ceiling above the target."""
    small, large = false_refusal_ceiling(100), false_refusal_ceiling(10_000)
    assert 0 < small < large < FALSE_REFUSAL_TARGET
    assert abs(false_refusal_ceiling(479) - 0.040) < 0.001


def test_decision_keeps_a_feature_only_when_it_ranks_better_out_of_fold() -> None:
    rng = np.random.default_rng(7)
    answerable = np.array([1, 0] * 200)
    rows = [{"evidence": float(y) + rng.normal(0, 0.6), "noise": rng.normal()}
            for y in answerable]
    groups = list(range(len(rows)))
    useful = decision_model(rows, answerable, groups, [["evidence"], ["noise"]])
    assert useful.features == ("evidence",)
    assert useful.info["oof_refusal_rate"] > 0.3
    assert useful.info["oof_false_refusal_rate"] <= useful.info["false_refusal_ceiling"]


def test_instrument_labels_count_only_where_written_against_the_catalogue(
        tmp_path: Path) -> None:
    pages = tmp_path / "tune-documents"
    pages.mkdir()
    row = {"question": "q", "answerable": True, "expected_instruments": []}
    (pages / "questions.jsonl").write_text(json.dumps({**row, "id": "p1"}) + "\n", "utf-8")
    (pages / "questions-catalogue.jsonl").write_text(json.dumps({**row, "id": "c1"}) + "\n",
                                                     "utf-8")
    labelled = {item.get("id"): flag for item, flag in
                training_questions(Layout(tune_documents_dir=pages))}
    assert labelled["p1"] is False and labelled["c1"] is True
    tune_ids = {item["id"] for item in tune_questions()}
    assert tune_ids and all(labelled[i] for i in tune_ids)


def test_decision_trees_keep_each_feature_to_its_direction_and_serve_as_fitted() -> None:
    """Two correlated features, the weaker pulling the other way in the data: the trees may
    not follow it, and the stored node tables give sklearn's own probabilities."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    from assistant.learned import TreeModel

    rng = np.random.default_rng(7)
    strong = rng.normal(0.0, 1.0, 600)
    weak = strong + rng.normal(0.0, 0.3, 600)
    labels = (strong - 0.6 * weak + rng.normal(0.0, 0.5, 600) > 0).astype(int)
    rows = [{"strong": a, "weak": b} for a, b in zip(strong, weak, strict=True)]
    model = fit_trees(rows, labels, ["strong", "weak"], {"strong": 1, "weak": 1})
    restored = TreeModel.from_dict(json.loads(json.dumps(model.to_dict())))
    grid = np.array([[a, b] for a in np.linspace(-2, 2, 9) for b in np.linspace(-2, 2, 9)])
    p = restored.probabilities(grid).reshape(9, 9)
    assert np.all(np.diff(p, axis=1) >= -1e-9)  # more of `weak` never lowers it
    assert np.all(np.diff(p, axis=0) >= -1e-9)
    reference = HistGradientBoostingClassifier(monotonic_cst=[1, 1], random_state=0,
                                               **TREE_OPTIONS).fit(np.column_stack([strong, weak]),
                                                                   labels)
    assert np.allclose(p.ravel(), reference.predict_proba(grid)[:, 1], atol=1e-6)
    one_by_one = [restored.probability({"strong": a, "weak": b}) for a, b in grid]
    assert np.allclose(one_by_one, p.ravel(), atol=1e-12)


def test_every_decision_feature_has_a_direction() -> None:
    from assistant.answering.decide import DECISION_DIRECTIONS, DECISION_FEATURES

    assert set(DECISION_DIRECTIONS) == set(DECISION_FEATURES)
    assert set(DECISION_DIRECTIONS.values()) <= {-1, 0, 1}
