"""Themes and fase by the wording of a melding: a second opinion beside its meaning.

Hashed character n-grams (3–5 letters within words, so Dutch compounds and inflections share
features) weighted by tf-idf, and one logistic regression per label, fitted on the tune set
by evals.train_triage. Hashing keeps no vocabulary: the file holds weights only,
no words. Its probabilities are mixed with those of the embedding models: writers left
out one at a time, the mean scored theme F1 0.84 where either alone scored 0.81–0.82, and
with 1265 reports a weight of 0.6 for the wording beat the plain mean (below).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import HashingVectorizer

from assistant.learned import read_json, write_json

WORDING_FILE = Path(__file__).resolve().parent / "wording_models.json"
BUCKETS = 2**14
NGRAMS = (3, 5)


def hashed_counts(texts: list[str]) -> Any:
    """Raw n-gram counts per text (a sparse matrix); training and serving share this."""
    vectorizer = HashingVectorizer(analyzer="char_wb", ngram_range=NGRAMS, n_features=BUCKETS,
                                   alternate_sign=False, norm=None)
    return vectorizer.transform(texts)


def _pack(values: np.ndarray) -> str:
    return base64.b64encode(np.asarray(values, dtype="<f2").tobytes()).decode("ascii")


def _unpack(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<f2").astype(np.float64)


@dataclass(frozen=True)
class WordingModel:
    """idf per bucket and, per label (`theme:…`, `fase:…`), weights and bias."""

    idf: np.ndarray
    weights: Mapping[str, np.ndarray]
    biases: Mapping[str, float]

    def features(self, texts: list[str]) -> Any:
        """Sublinear tf times idf, each row of unit length (as sklearn's TfidfTransformer)."""
        counts = hashed_counts(texts).astype(np.float64)
        counts.data = 1.0 + np.log(counts.data)
        weighted = counts.multiply(self.idf).tocsr()
        norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        return weighted.multiply(1.0 / norms[:, None]).tocsr()

    def probabilities(self, text: str) -> dict[str, float]:
        labels, weights, biases = self._stacked
        z = np.ravel(self.features([text]) @ weights) + biases
        return dict(zip(labels, (1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))).tolist(),
                        strict=True))

    @cached_property
    def _stacked(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Every label's weights as one matrix, so each text costs one product."""
        labels = list(self.weights)
        return (labels, np.column_stack([self.weights[label] for label in labels]),
                np.array([self.biases[label] for label in labels]))

    def to_dict(self) -> dict[str, Any]:
        return {"buckets": BUCKETS, "ngrams": list(NGRAMS), "idf": _pack(self.idf),
                "labels": {label: {"weights": _pack(w), "bias": round(self.biases[label], 6)}
                           for label, w in self.weights.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WordingModel | None:
        if data.get("buckets") != BUCKETS or tuple(data.get("ngrams", ())) != NGRAMS:
            return None
        labels = data.get("labels", {})
        return cls(_unpack(data["idf"]),
                   {label: _unpack(entry["weights"]) for label, entry in labels.items()},
                   {label: float(entry["bias"]) for label, entry in labels.items()})


def wording_model(path: Path = WORDING_FILE) -> WordingModel | None:
    """The trained model; None until evals.train_triage has written one."""
    return WordingModel.from_dict(read_json(path))


def write_wording_model(model: WordingModel, path: Path = WORDING_FILE) -> None:
    write_json(path, model.to_dict())


# The wording's share of the mixed probability. Chosen with whole writers left out (15
# writers, 1265 tune reports, thresholds from the other writers): theme F1 0.824 at 0.5,
# 0.829 at 0.6 and 0.7 (9 writers better, 3-4 worse); fase 0.893 at 0.5, 0.897 at 0.6.
WORDING_WEIGHT = 0.6


def mix(meaning: Any, wording: Any) -> Any:
    """Both opinions in one probability (a float or an array)."""
    return (1 - WORDING_WEIGHT) * meaning + WORDING_WEIGHT * wording


def blend(meaning: Mapping[str, float], wording: Mapping[str, float], prefix: str
          ) -> dict[str, float]:
    """Both opinions mixed per label; meaning alone where wording has no model."""
    return {label: mix(p, wording[f"{prefix}{label}"]) if f"{prefix}{label}" in wording else p
            for label, p in meaning.items()}
