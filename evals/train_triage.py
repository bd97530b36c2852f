"""Fit the triage models on the tune reports: `python -m evals.train_triage`.

Only `evals/data/tune/triage*.jsonl` is read. Per theme and per fase a logistic regression
over the report embedding and its similarity to the label's description and citations; one
for urgency over the report embedding and its sentences' similarity to the kinds of acute
risk; one per support option over the instrument features and the report embedding
(out-of-fold on tune: support recall 0.90 -> 0.95 at precision 0.54 -> 0.71). Thresholds
come from out-of-fold predictions: themes and support for the best F1 (support weighted
towards recall), urgency with the same margin to its recall target (0.9) as to its
false-urgent ceiling (0.1). Themes and fase also get a model of the report's wording
(`assistant/triage/wording.py`); their thresholds are chosen on both models' out-of-fold
probabilities mixed as the desk mixes them (`wording.mix`).
Without dense features the same models are fitted as the `lexical` fallback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import numpy as np  # noqa: E402
from sklearn.feature_extraction.text import TfidfTransformer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import log_loss  # noqa: E402
from sklearn.model_selection import KFold, StratifiedKFold  # noqa: E402

from assistant.config import Settings  # noqa: E402
from assistant.learned import LEXICAL, LogisticModel, model_family, write_models  # noqa: E402
from assistant.triage.classify import EMBEDDING_PREFIX  # noqa: E402
from assistant.triage.desk import SUPPORT_FEATURES, Analysis, TriageEngine  # noqa: E402
from assistant.triage.report import NotAReport  # noqa: E402
from assistant.triage.urgency import URGENCY_FEATURES  # noqa: E402
from assistant.triage.urgency import features as urgency_features  # noqa: E402
from assistant.triage.wording import (  # noqa: E402
    WORDING_WEIGHT,
    WordingModel,
    hashed_counts,
    mix,
    write_wording_model,
)
from evals.train import fit  # noqa: E402

log = logging.getLogger("evals.train_triage")
TUNE_DIR = Path(__file__).resolve().parent / "data" / "tune"
LABEL_FEATURES = ("description", "description_gap", "citation", "lexical")
DENSE = {"description", "description_gap", "citation", "similarity", "similarity_gap"}
URGENT_RECALL = 0.9
FALSE_URGENT_CEILING = 0.1
SUPPORT_BETA = 2.0
FOLDS = 5
SEED = 20261201
# Regularisation per label, chosen by out-of-fold log loss: the best strength depends on how
# many reports carry the label and grows weaker as the tune set grows.
C_EMBEDDING = (0.005, 0.01, 0.02, 0.05, 0.1)
C_LEXICAL = (1.0,)
# Urgency keeps one strength: its threshold is set for recall, not for the likelihood.
C_URGENCY = {True: 0.05, False: 1.0}
# The wording model's strength: writers left out one at a time, 3–30 scored alike.
C_WORDING = 10.0


def tune_reports(directory: Path = TUNE_DIR) -> list[dict[str, Any]]:
    rows = []
    for path in sorted(directory.glob("triage*.jsonl")):
        rows += [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]
    return rows


def _oof(rows: Sequence[dict[str, float]], labels: np.ndarray, names: Sequence[str],
         c: float) -> np.ndarray:
    predictions = np.full(len(rows), float(labels.mean()))
    if labels.sum() < FOLDS or (1 - labels).sum() < FOLDS:
        return predictions
    splitter = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=SEED)
    for train, test in splitter.split(np.zeros(len(rows)), labels):
        model = fit([rows[i] for i in train], labels[train], names, c)
        predictions[test] = model.probabilities(model.matrix([rows[i] for i in test]))
    return predictions


def _threshold(probabilities: np.ndarray, labels: np.ndarray, beta: float = 1.0
               ) -> tuple[float, float, float]:
    """The threshold with the best F-beta, and its precision and recall."""
    best = (0.5, 0.0, 0.0, -1.0)
    for threshold in np.unique(np.round(probabilities, 3)):
        predicted = probabilities >= threshold
        tp = float(np.sum(predicted & (labels == 1)))
        precision = tp / max(1.0, float(predicted.sum()))
        recall = tp / max(1.0, float(labels.sum()))
        score = (1 + beta**2) * precision * recall / max(1e-9, beta**2 * precision + recall)
        if score > best[3]:
            best = (float(threshold), precision, recall, score)
    return best[0], best[1], best[2]


def balanced_threshold(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The threshold that leaves the recall target and the false-urgent ceiling the same
    margin out of fold. A fresh check set holds few urgent reports (11 in holdout), so its
    recall swings by several reports either way; the margin goes where both targets can
    absorb such a swing, instead of all slack sitting on the false-urgent side. Where no
    threshold meets both (the lexical fallback), recall comes first: a missed acute risk
    costs more than a false alarm."""
    positives, negatives = probabilities[labels == 1], probabilities[labels == 0]
    if not len(positives) or not len(negatives):
        return 0.5
    best = (-np.inf, 0.5)
    for threshold in np.unique(probabilities):
        recall = float((positives >= threshold).mean())
        false_urgent = float((negatives >= threshold).mean())
        margin = min(recall - URGENT_RECALL, FALSE_URGENT_CEILING - false_urgent)
        if margin > best[0]:
            best = (margin, float(threshold))
    if best[0] >= 0:
        return best[1]
    ranked = np.sort(positives)
    return float(ranked[int(np.floor(round((1 - URGENT_RECALL) * len(ranked), 9)))])


def label_model(rows: list[dict[str, float]], labels: np.ndarray, names: Sequence[str],
                grid: Sequence[float], beta: float = 1.0, wording: np.ndarray | None = None
                ) -> LogisticModel:
    """The regularisation with the lowest out-of-fold log loss, and the threshold with the
    best out-of-fold F-beta at that strength (mixed with `wording`, the wording
    model's out-of-fold probabilities, where given)."""
    oofs = {c: _oof(rows, labels, names, c) for c in grid}
    c = min(grid, key=lambda strength: log_loss(labels, oofs[strength], labels=[0, 1]))
    decided = oofs[c] if wording is None else mix(oofs[c], wording)
    threshold, precision, recall = _threshold(decided, labels, beta)
    return fit(rows, labels, names, c, threshold, info={
        "reports": len(rows), "positives": int(labels.sum()), "c": c,
        "oof_precision": round(precision, 3), "oof_recall": round(recall, 3),
        **({"threshold_on": f"mixed with the wording model ({WORDING_WEIGHT})"}
           if wording is not None else {})})


def _wording_fit(x: Any, labels: np.ndarray) -> LogisticRegression:
    return LogisticRegression(C=C_WORDING, max_iter=3000).fit(x, labels)


def fit_wording(texts: Sequence[str], targets: dict[str, np.ndarray]
                ) -> tuple[WordingModel, dict[str, np.ndarray]]:
    """The wording model on every report, and per label its out-of-fold probabilities."""
    counts = hashed_counts(list(texts))
    oof = {label: np.full(len(texts), float(y.mean())) for label, y in targets.items()}
    for train, test in KFold(FOLDS, shuffle=True, random_state=SEED).split(texts):
        transformer = TfidfTransformer(sublinear_tf=True).fit(counts[train])
        seen, unseen = transformer.transform(counts[train]), transformer.transform(counts[test])
        for label, y in targets.items():
            if 0 < y[train].sum() < len(train):
                oof[label][test] = _wording_fit(seen, y[train]).predict_proba(unseen)[:, 1]
    transformer = TfidfTransformer(sublinear_tf=True).fit(counts)
    x = transformer.transform(counts)
    fitted = {label: _wording_fit(x, y) for label, y in targets.items() if 0 < y.sum() < len(y)}
    model = WordingModel(transformer.idf_, {label: m.coef_[0] for label, m in fitted.items()},
                         {label: float(m.intercept_[0]) for label, m in fitted.items()})
    return model, oof


def label_targets(engine: TriageEngine, reports: Sequence[dict[str, Any]]
                  ) -> dict[str, np.ndarray]:
    """Per theme and fase model name, which reports carry the label."""
    targets = {f"theme:{t.spec.id}": np.array([int(t.spec.id in r["themes"]) for r in reports])
               for t in engine.taxonomy.themes}
    targets.update({f"fase:{f.id}": np.array([int(r["fase"] == f.id) for r in reports])
                    for f in engine.taxonomy.fases})
    return targets


def train(engine: TriageEngine, reports: list[dict[str, Any]], analyses: list[Analysis],
          dense: bool, targets: dict[str, np.ndarray], wording: dict[str, np.ndarray]
          ) -> dict[str, LogisticModel]:
    """`targets`: `label_targets`; `wording`: the wording model's out-of-fold probabilities
    per label."""
    dimension = len(analyses[0].vector)
    embedding = [f"{EMBEDDING_PREFIX}{i}" for i in range(dimension)] if dense else []
    label_names = [*embedding, *(n for n in LABEL_FEATURES if dense or n not in DENSE)]
    grid = C_EMBEDDING if dense else C_LEXICAL
    models: dict[str, LogisticModel] = {}
    for theme in (t.spec.id for t in engine.taxonomy.themes):
        name = f"theme:{theme}"
        models[name] = label_model([a.theme_rows[theme] for a in analyses], targets[name],
                                   label_names, grid, wording=wording.get(name))
    for fase in (f.id for f in engine.taxonomy.fases):
        name = f"fase:{fase}"
        models[name] = label_model([a.fase_rows[fase] for a in analyses], targets[name],
                                   label_names, grid, wording=wording.get(name))
    _, _, signals, _ = engine.profiles()
    urgency_rows = [urgency_features(a.vector, a.sentence_vectors, signals, a.redacted)[0]
                    for a in analyses]
    urgent = np.array([int(r.get("urgent", False)) for r in reports])
    urgency_names = [*embedding, *(n for n in URGENCY_FEATURES if dense or n not in DENSE)]
    c = C_URGENCY[dense]
    oof = _oof(urgency_rows, urgent, urgency_names, c)
    threshold = balanced_threshold(oof, urgent)
    predicted = oof >= threshold
    models["urgency"] = fit(urgency_rows, urgent, urgency_names, c, threshold, info={
        "reports": len(reports), "urgent": int(urgent.sum()),
        "oof_recall": round(float(predicted[urgent == 1].mean()), 3),
        "oof_false_urgent": round(float(predicted[urgent == 0].mean()), 3)})
    support_names = [*embedding, *(n for n in SUPPORT_FEATURES if dense or n not in DENSE)]
    for instrument in engine.matcher.catalogue.instruments:
        labels = np.array([int(instrument.id in r.get("expected_support", [])) for r in reports])
        rows = [{**a.support_rows[instrument.id], "urgent": float(r.get("urgent", False))}
                for a, r in zip(analyses, reports, strict=True)]
        if labels.sum() >= FOLDS:
            models[f"support:{instrument.id}"] = label_model(rows, labels, support_names,
                                                            grid, SUPPORT_BETA)
    return models


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.train_triage", description=__doc__)
    parser.add_argument("--data-dir", type=Path,
                        default=Path.home() / ".cache" / "woonzorgwijzer" / "train-triage-index")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from assistant.service import HelpDesk, build_assistant
    from ingest.pipeline import run_ingest

    settings = Settings(data_dir=args.data_dir, sqlite_path=args.data_dir / "train.sqlite")
    if run_ingest(settings).status == "failed":
        raise SystemExit("ingest failed")
    engine = HelpDesk(settings, build_assistant(settings)).engine()
    reports, analyses = [], []
    for report in tune_reports():
        try:
            analyses.append(engine.analyse(report["report"]))
        except NotAReport as exc:
            log.warning("%s is geen melding voor de desk: %s", report["id"], exc)
            continue
        reports.append(report)
    family = model_family(engine.embedder.model_key)
    targets = label_targets(engine, reports)
    wording_model, wording = fit_wording([a.redacted for a in analyses], targets)
    entries = {family: train(engine, reports, analyses, True, targets, wording),
               LEXICAL: train(engine, reports, analyses, False, targets, wording)}
    write_models(entries)
    write_wording_model(wording_model)
    for key, models in entries.items():
        for name, model in models.items():
            print(f"{key} {name}: {json.dumps(model.info)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
