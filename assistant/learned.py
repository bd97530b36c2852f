"""Small calibrated models learned from the tune set (evals.train), and their file.

Each is a logistic regression over named, standardised features. They are fitted per
embedding model, because dense similarities of different models are not comparable; the
`lexical` entry uses no dense feature and serves any model nobody trained for.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

MODELS_FILE = Path(__file__).resolve().parent / "learned_models.json"
LEXICAL = "lexical"


def feature_matrix(features: Sequence[str], rows: Sequence[Mapping[str, float]]) -> np.ndarray:
    """One row per mapping, one column per named feature (0 where a row lacks it)."""
    return np.array([[float(row.get(f, 0.0)) for f in features] for row in rows],
                    dtype=np.float64).reshape(len(rows), len(features))


@dataclass(frozen=True)
class LogisticModel:
    features: tuple[str, ...]
    weights: np.ndarray
    bias: float
    mean: np.ndarray
    scale: np.ndarray
    threshold: float = 0.5
    info: dict[str, Any] = field(default_factory=dict, compare=False)

    def matrix(self, rows: Sequence[Mapping[str, float]]) -> np.ndarray:
        return feature_matrix(self.features, rows)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        z = ((x - self.mean) / self.scale) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))

    def probability(self, row: Mapping[str, float]) -> float:
        return float(self.probabilities(self.matrix([row]))[0])

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "weights": [round(float(w), 6) for w in self.weights],
            "bias": round(float(self.bias), 6),
            "mean": [round(float(m), 6) for m in self.mean],
            "scale": [round(float(s), 6) for s in self.scale],
            "threshold": round(float(self.threshold), 6),
            "info": self.info,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LogisticModel:
        return cls(
            features=tuple(data["features"]),
            weights=np.asarray(data["weights"], dtype=np.float64),
            bias=float(data["bias"]),
            mean=np.asarray(data["mean"], dtype=np.float64),
            scale=np.asarray(data["scale"], dtype=np.float64),
            threshold=float(data.get("threshold", 0.5)),
            info=dict(data.get("info", {})),
        )

    @classmethod
    def manual(cls, weights: Mapping[str, float], bias: float, threshold: float = 0.5,
               note: str = "") -> LogisticModel:
        """A model with weights set by hand: the starting point until something is trained."""
        names = tuple(weights)
        return cls(names, np.array([weights[n] for n in names], dtype=np.float64), bias,
                   np.zeros(len(names)), np.ones(len(names)), threshold, {"source": note})


# Columns of a stored tree's node table.
FEATURE, SPLIT, LEFT, RIGHT, VALUE, LEAF = range(6)


@dataclass(frozen=True)
class TreeModel:
    """Boosted decision trees over named features (fitted as sklearn's
    HistGradientBoostingClassifier, each feature allowed to push one way only), kept as node
    tables: a model that can say "no coverage at all outweighs a strong intent", beyond what
    one weighted sum can say."""

    features: tuple[str, ...]
    baseline: float
    trees: tuple[np.ndarray, ...]  # per node: feature, split, left, right, value, leaf
    threshold: float = 0.5
    info: dict[str, Any] = field(default_factory=dict, compare=False)

    def matrix(self, rows: Sequence[Mapping[str, float]]) -> np.ndarray:
        return feature_matrix(self.features, rows)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        return np.array([self._walk(row) for row in np.atleast_2d(x).tolist()])

    def probability(self, row: Mapping[str, float]) -> float:
        return self._walk([float(row.get(f, 0.0)) for f in self.features])

    def _walk(self, x: Sequence[float]) -> float:
        """One row through every tree, node by node (plain loops: a fraction of a
        millisecond, where numpy's per-call overhead cost milliseconds)."""
        total = self.baseline
        for nodes in self._node_lists:
            at = 0
            while not nodes[at][LEAF]:
                node = nodes[at]
                at = int(node[LEFT] if x[int(node[FEATURE])] <= node[SPLIT] else node[RIGHT])
            total += nodes[at][VALUE]
        return 1.0 / (1.0 + math.exp(-min(30.0, max(-30.0, total))))

    @cached_property
    def _node_lists(self) -> list[list[list[float]]]:
        return [tree.tolist() for tree in self.trees]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "trees", "features": list(self.features),
                "baseline": round(self.baseline, 8),
                "trees": [[[round(float(v), 8) for v in node] for node in tree]
                          for tree in self.trees],
                "threshold": round(float(self.threshold), 6), "info": self.info}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TreeModel:
        return cls(tuple(data["features"]), float(data["baseline"]),
                   tuple(np.asarray(tree, dtype=np.float64) for tree in data["trees"]),
                   float(data.get("threshold", 0.5)), dict(data.get("info", {})))


Scorer = LogisticModel | TreeModel


def vector_probabilities(model: LogisticModel | None, vectors: np.ndarray) -> np.ndarray:
    """One probability per row from a model over a vector's dimensions (`e0`, `e1`, ...):
    `intent`, `match`, `agreement`. 0.5 each where no model was trained for this size."""
    rows = np.atleast_2d(np.asarray(vectors, dtype=np.float64))
    if model is None or rows.shape[1] != len(model.features):
        return np.full(rows.shape[0], 0.5)
    return model.probabilities(rows)


_cache: dict[Path, dict[str, Any]] = {}
_lock = threading.Lock()


def read_json(path: Path) -> dict[str, Any]:
    """A model file, read once ({} when there is none)."""
    with _lock:
        if path not in _cache:
            _cache[path] = json.loads(path.read_text("utf-8")) if path.is_file() else {}
        return _cache[path]


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Write a model file; the next read sees it."""
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    with _lock:
        _cache.pop(path, None)


def _entries(name: str, keys: Sequence[str], path: Path) -> list[dict[str, Any]]:
    """The stored entries of model `name` under `keys`, in that order."""
    data = read_json(path)
    return [entry for key in keys if (entry := data.get(key, {}).get(name))]


def learned(
    name: str, model_key: str, fallback: bool = True, path: Path = MODELS_FILE
) -> LogisticModel | None:
    """The model `name` trained for this embedding model, else (with `fallback`) the lexical
    one, else None."""
    same_model = model_family(model_key)
    keys = (model_key, same_model, LEXICAL) if fallback else (model_key, same_model)
    regressions = [e for e in _entries(name, keys, path) if e.get("kind") != "trees"]
    return LogisticModel.from_dict(regressions[0]) if regressions else None


def learned_scorer(name: str, model_key: str, path: Path = MODELS_FILE) -> Scorer | None:
    """Like `learned`, for a model that may be stored as trees."""
    found = _entries(name, (model_key, model_family(model_key), LEXICAL), path)
    if not found:
        return None
    entry = found[0]
    return (TreeModel.from_dict(entry) if entry.get("kind") == "trees"
            else LogisticModel.from_dict(entry))


def model_family(model_key: str) -> str:
    """The model key minus its runtime: the ONNX runtimes of a model give (nearly) its
    PyTorch vectors, so the models trained for one apply to all."""
    return ":".join(model_key.split(":")[:2])


def write_models(entries: Mapping[str, Mapping[str, Scorer]], path: Path = MODELS_FILE,
                 replace: bool = False) -> None:
    """Store models per key; other models stay unless `replace`."""
    data = {} if replace else dict(read_json(path))
    for key, models in entries.items():
        data[key] = {**data.get(key, {}), **{name: m.to_dict() for name, m in models.items()}}
    write_json(path, data)
