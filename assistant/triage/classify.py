"""Themes and fase of a report by meaning.

Per label a calibrated logistic regression (evals.train_triage, tune reports only)
over the report's embedding, its similarity to the label's description and cited guidance,
and the share of the description's words it uses; the desk mixes these with the wording
model (`wording.py`). Where no model was trained for the embedding model, the lexical fallback uses
the word overlap only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from assistant.answering.question import covered_weight
from assistant.language.sentences import split_sentences
from assistant.language.tokens import Analyzer
from assistant.learned import LogisticModel

EMBEDDING_PREFIX = "e"
MIN_THEME_SHARE = 0.5
# The label models learned from reports of 340 characters (the tune median); nine in ten
# were shorter than 480. A longer report, such as an email that raises several knelpunten,
# dilutes a theme in one paragraph among the rest, so it is also read in windows of about
# the learned size, for themes and for support. Chosen on tune with whole writers held out
# (15 writers): theme F1 0.835 -> 0.840, on reports from 450 characters 0.832 -> 0.862 (8
# writers better, 1 worse); support recall there 0.91 -> 0.96 at precision 0.69 -> 0.63.
LONG_REPORT = 450
WINDOW = 350


@dataclass(frozen=True)
class LabelProfile:
    """What a report is compared with for one label: its description and cited passages."""

    id: str
    description_vector: np.ndarray
    citation_vectors: np.ndarray
    terms: frozenset[str]


def label_features(
    vector: np.ndarray, report_terms: Mapping[str, float], profile: LabelProfile,
    best_description: float,
) -> dict[str, float]:
    description = float(profile.description_vector @ vector)
    citations = profile.citation_vectors @ vector if len(profile.citation_vectors) else []
    total = sum(report_terms.values()) or 1.0
    return {
        "description": description,
        "description_gap": description - best_description,
        "citation": float(max(citations, default=0.0)),
        "lexical": covered_weight(report_terms, profile.terms) / total,
    }


def embedding_features(vector: np.ndarray) -> dict[str, float]:
    return {f"{EMBEDDING_PREFIX}{i}": float(v) for i, v in enumerate(vector)}


def report_terms(analyzer: Analyzer, text: str, idf: Mapping[str, float]) -> dict[str, float]:
    unknown = max(idf.values(), default=5.0)
    return {t: idf.get(t, unknown) for t in set(analyzer.analyze(text))}


def feature_rows(
    vector: np.ndarray, terms: Mapping[str, float], profiles: Sequence[LabelProfile],
    embedding: Mapping[str, float],
) -> dict[str, dict[str, float]]:
    """Per label id, every feature any label model may use (`embedding`: the vector's
    embedding_features, made once per report)."""
    best = max((float(p.description_vector @ vector) for p in profiles), default=0.0)
    return {p.id: {**embedding, **label_features(vector, terms, p, best)} for p in profiles}


def probabilities(
    rows: Mapping[str, Mapping[str, float]], models: Mapping[str, LogisticModel]
) -> dict[str, float]:
    return {label: models[label].probability(row) for label, row in rows.items()
            if label in models}


def reading_windows(text: str, size: int = WINDOW) -> list[str]:
    """Runs of whole sentences of at most `size` characters (a single sentence may exceed
    it), each starting halfway into its predecessor, up to the last sentence."""
    spans = split_sentences(text)
    windows, first = [], 0
    while spans:
        last = first
        while last + 1 < len(spans) and spans[last + 1].end - spans[first].start <= size:
            last += 1
        windows.append(text[spans[first].start:spans[last].end])
        if last == len(spans) - 1:
            break
        first += (last - first + 2) // 2
    return windows


def with_windows(whole: Mapping[str, float], windows: Sequence[Mapping[str, float]]
                 ) -> dict[str, float]:
    """Per label the mean of the whole text's probability and its best window's."""
    if not windows:
        return dict(whole)
    return {label: (p + max(w[label] for w in windows)) / 2 for label, p in whole.items()}


def choose_themes(scores: Mapping[str, float], models: Mapping[str, LogisticModel],
                  limit: int = 3) -> list[str]:
    """Themes above their own calibrated threshold; at least the most likely one."""
    ranked = sorted(scores, key=lambda t: -scores[t])
    chosen = [t for t in ranked if scores[t] >= models[t].threshold][:limit]
    return chosen or ranked[:1]


def choose_fase(scores: Mapping[str, float]) -> str:
    return max(scores, key=lambda f: scores[f]) if scores else "unknown"
