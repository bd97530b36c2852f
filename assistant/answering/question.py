"""A question as the answer step sees it: weighted search terms, asked-for details, vector."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

import numpy as np

from assistant.language.numbers import asked_details, counted_words
from assistant.language.sentences import split_sentences
from assistant.language.tokens import Analyzer

CONTEXT_WEIGHT = 0.35
# A long request often tells its situation first and asks after ("Ons dorp heeft 6.200
# inwoners. Komen we in aanmerking?"): the sentences that ask lead, the telling ones weigh less.
SITUATION_WEIGHT = 0.5
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
    """Terms weighted by rarity in the index (unknown terms weigh most); the sentences that
    only tell the situation, and earlier turns of a follow-up, add their terms at a lower
    weight. The detail asked for is read from the sentences that ask."""
    unknown = max(idf.values(), default=5.0) + 1.0
    asking, situation = asking_sentences(text)
    weights = {t: idf.get(t, unknown) for t in set(analyzer.analyze(asking))}
    for text_part, share in ((situation, SITUATION_WEIGHT), (context, CONTEXT_WEIGHT)):
        for term in set(analyzer.analyze(text_part)) - set(weights):
            weights[term] = share * idf.get(term, unknown)
    return QuestionView(text, vector, weights, frozenset(asked_details(asking)),
                        tuple(analyzer.tokens(text)), counted_words(asking))


def asking_sentences(text: str) -> tuple[str, str]:
    """The sentences ending in "?" and the others; all of the text asks when none or every
    sentence does."""
    sentences = [text[s.start:s.end] for s in split_sentences(text)]
    asking = [s for s in sentences if s.rstrip().endswith("?")]
    if not asking or len(asking) == len(sentences):
        return text, ""
    return " ".join(asking), " ".join(s for s in sentences if not s.rstrip().endswith("?"))


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
