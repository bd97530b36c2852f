"""A question as the answer step sees it: weighted search terms, asked-for details, vector."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

import numpy as np

from assistant.language.numbers import asked_details, counted_words
from assistant.language.tokens import Analyzer

CONTEXT_WEIGHT = 0.35
MIN_PREFIX = 5


@dataclass(frozen=True)
class QuestionView:
    text: str
    vector: np.ndarray
    weights: dict[str, float]
    asked: frozenset[str]
    tokens: tuple[str, ...] = field(default=())
    counted: tuple[str, ...] = field(default=())

    @property
    def total(self) -> float:
        return sum(self.weights.values()) or 1.0


def question_view(
    text: str,
    vector: np.ndarray,
    analyzer: Analyzer,
    idf: Mapping[str, float],
    context: str = "",
) -> QuestionView:
    """Terms weighted by rarity in the index (unknown terms weigh most); earlier turns of a
    follow-up add their terms at a lower weight."""
    unknown = max(idf.values(), default=5.0) + 1.0
    weights = {t: idf.get(t, unknown) for t in set(analyzer.analyze(text))}
    for term in set(analyzer.analyze(context)) - set(weights):
        weights[term] = CONTEXT_WEIGHT * idf.get(term, unknown)
    return QuestionView(text, vector, weights, frozenset(asked_details(text)),
                        tuple(analyzer.tokens(text)), counted_words(text))


def covered_weight(weights: Mapping[str, float], terms: Collection[str]) -> float:
    """Weight of question terms found in `terms`; a shared prefix of five or more letters also
    counts, so Dutch participles match their verbs (bestemd ~ bestemmen)."""
    total = 0.0
    for term, weight in weights.items():
        if term in terms or (
            len(term) >= MIN_PREFIX
            and any(
                len(other) >= MIN_PREFIX and (other.startswith(term) or term.startswith(other))
                for other in terms
            )
        ):
            total += weight
    return total
