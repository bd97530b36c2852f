"""Urgency: acute risk to residents, recognised by meaning, with the report's own words.

Each sentence of the (redacted) report is compared with the taxonomy's descriptions of acute
risk (losing one's home, no place to sleep, care or a contract ending, danger, a move without
means); a general pattern for moments within weeks ("over twee weken", "per 1 maart") adds
weight. A calibrated model (tune reports) turns the best similarities and the report's
embedding into a decision: the embedding carries what no description names (whose risk, how
soon, how it is told), the similarities say which sentences to quote as the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from assistant.language.numbers import soon
from assistant.learned import LogisticModel
from assistant.triage.classify import embedding_features

URGENCY_FEATURES = ("risk", "risk_second", "soon", "soon_risk")
DEFAULT_URGENCY_MODEL = LogisticModel.manual(
    {"risk": 12.0, "soon": 1.0, "soon_risk": 4.0}, bias=-7.5, note="manual defaults"
)
REASON_SHARE = 0.92


@dataclass(frozen=True)
class Signal:
    id: str
    label: str
    vector: np.ndarray


@dataclass(frozen=True)
class Urgency:
    urgent: bool
    probability: float
    reasons: list[dict[str, str]]


def features(vector: np.ndarray, sentence_vectors: np.ndarray, signals: Sequence[Signal],
             report: str) -> tuple[dict[str, float], np.ndarray]:
    """Features (the report's embedding among them), and every sentence's similarity to every
    signal."""
    embedding = embedding_features(vector)
    if not len(sentence_vectors) or not signals:
        return {**embedding, **dict.fromkeys(URGENCY_FEATURES, 0.0)}, np.zeros((0, len(signals)))
    similarity = sentence_vectors @ np.stack([s.vector for s in signals]).T
    best = np.sort(similarity.max(axis=0))[::-1]
    when = 1.0 if soon(report) else 0.0
    return {
        **embedding,
        "risk": float(best[0]),
        "risk_second": float(best[1]) if len(best) > 1 else 0.0,
        "soon": when,
        "soon_risk": when * float(best[0]),
    }, similarity


def judge(sentences: Sequence[str], vector: np.ndarray, sentence_vectors: np.ndarray,
          signals: Sequence[Signal], report: str, model: LogisticModel) -> Urgency:
    values, similarity = features(vector, sentence_vectors, signals, report)
    probability = model.probability(values)
    if probability < model.threshold or not len(similarity):
        return Urgency(False, probability, [])
    top = float(similarity.max())
    reasons = []
    for j, signal in enumerate(signals):
        i = int(np.argmax(similarity[:, j]))
        if similarity[i, j] >= REASON_SHARE * top:
            reasons.append({"signal": signal.label, "quote": sentences[i]})
    moment = soon(report)
    if moment:
        reasons.append({"signal": "Binnen enkele weken", "quote": moment})
    return Urgency(True, probability, reasons)
