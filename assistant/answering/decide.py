"""Answer or refuse: a calibrated decision over general evidence features, with the reason.

Features say how well the best passages and units match the question (dense similarity,
weighted term coverage), whether an asked-for detail (amount, percentage, term, count) is in
the chosen units, how much of the question the live index has never seen (words, names),
and, where models were trained for the embedding model, how much the question resembles the
answerable questions of the tune set (`intent`) and how its vector agrees with those of its
closest units in the dimensions where agreement marked an answerable question in tune
(`match`, a learned diagonal similarity). A logistic regression fitted on labelled
answerable and unanswerable tune questions turns them into a probability; the threshold is
chosen on tune for a false-refusal ceiling (`python -m evals.train`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from assistant.answering.question import covered_weight
from assistant.answering.select import Evidence, agreement_vectors, context_terms, unit_terms
from assistant.language.numbers import has_detail
from assistant.language.tokens import PLAIN, word_zipf
from assistant.learned import LogisticModel, Scorer, vector_probabilities
from assistant.store import IndexHandle

DECISION_FEATURES = (
    "passage_dense", "unit_dense", "best_relevance", "top3_relevance", "chosen_cover",
    "passage_cover", "unknown_rare", "unknown_common", "unknown_names", "asked_detail",
    "detail_missing", "intent", "match", "length", "question_mark", "best_unit_cover",
    "rarest_uncovered",
)
# What more of a feature can only ever say about answering (+1: more reason to answer, -1:
# less; 0: either). Training keeps each weight on its side: unconstrained, the correlated
# features of long questions with context taught signs that turned around on short ones (an
# unknown rare word made answering more likely).
DECISION_DIRECTIONS = dict(
    passage_dense=1, unit_dense=1, best_relevance=1, top3_relevance=1, chosen_cover=1,
    passage_cover=1, best_unit_cover=1, intent=1, match=1,
    unknown_rare=-1, unknown_common=-1, unknown_names=-1, detail_missing=-1,
    rarest_uncovered=-1, asked_detail=0, length=0, question_mark=0,
)
DEFAULT_DECISION_MODEL = LogisticModel.manual(
    {"passage_dense": 3.0, "best_relevance": 2.0, "chosen_cover": 3.0, "passage_cover": 1.0,
     "unknown_rare": -3.0, "unknown_names": -2.0, "detail_missing": -1.5},
    bias=-2.0, note="manual defaults",
)
RARE_ZIPF = 3.5
MATCH_UNITS = 3  # the closest candidate units by dense similarity that `match` compares with
NAME_ZIPF = 5.3  # a capitalised word this common in Dutch is a word, not a name
# In an English question English capitalises months, languages and nationalities ("May",
# "Dutch"): there a word English uses this often (25 per million) is a word too.
ENGLISH_NAME_ZIPF = 4.4
FUZZY_CUTOFF = 86
MIN_FUZZY = 5
NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][a-zà-ÿ]{2,}(?:[\s-][A-Z][a-zà-ÿ]{2,})*)")


@dataclass(frozen=True)
class Decision:
    answer: bool
    probability: float
    reason: str
    detail: str = ""
    features: dict[str, float] | None = None


def _known(handle: IndexHandle, stem: str) -> bool:
    vocabulary = handle.bm25.idf
    if stem in vocabulary:
        return True
    if len(stem) < MIN_FUZZY:
        return False
    cache = handle.cache.setdefault("fuzzy_known", {})
    if stem not in cache:
        choices = handle.cache.setdefault("vocabulary", {}).setdefault(
            "terms", [t for t in vocabulary if len(t) >= MIN_FUZZY - 1]
        )
        cache[stem] = process.extractOne(stem, choices, scorer=fuzz.ratio,
                                         score_cutoff=FUZZY_CUTOFF) is not None
    known: bool = cache[stem]
    return known


def unknown_words(handle: IndexHandle, tokens: tuple[str, ...]) -> tuple[float, float]:
    """Shares of the question's content words the index never uses: rare ones (names, terms
    of another field) and common Dutch ones."""
    words = [t for t in dict.fromkeys(tokens) if not t.isdigit()]
    if not words:
        return 0.0, 0.0
    stems = handle.analyzer.analyze(" ".join(words))
    rare = common = 0
    for word, stem in zip(words, stems, strict=False):
        if _known(handle, stem):
            continue
        if word_zipf(word) < RARE_ZIPF:
            rare += 1
        else:
            common += 1
    return rare / len(words), common / len(words)


def unknown_names(handle: IndexHandle, question: str) -> list[str]:
    """Capitalised names in the question (not sentence-initial) that no document mentions."""
    names = []
    en_question = reads_english(PLAIN.words(question))

    def rare(word: str) -> bool:
        return word_zipf(word) < NAME_ZIPF and not (
            en_question and word_zipf(word, "en") >= ENGLISH_NAME_ZIPF)

    for match in NAME.finditer(question.strip()):
        stems = handle.analyzer.analyze(match.group(1))
        words = handle.analyzer.tokens(match.group(1))
        if stems and not any(_known(handle, s) for s in stems) and all(map(rare, words)):
            names.append(match.group(1))
    return names


def reads_english(words: list[str]) -> bool:
    """Whether wordfreq's "en" list knows these words better than its Dutch one (summed Zipf)."""
    return sum(word_zipf(w, "en") for w in words) > sum(word_zipf(w) for w in words)


def _chunk_terms(handle: IndexHandle, position: int) -> frozenset[str]:
    cache = handle.cache.setdefault("chunk_terms", {})
    if position not in cache:
        chunk = handle.chunks[position]
        cache[position] = frozenset(handle.analyzer.analyze(chunk.search_text)) | context_terms(
            handle, chunk.doc_id, chunk.section)
    terms: frozenset[str] = cache[position]
    return terms


def features(
    handle: IndexHandle, evidence: Evidence, intent: LogisticModel | None,
    match: LogisticModel | None = None,
) -> dict[str, float]:
    view = evidence.question
    candidates = evidence.candidates
    relevances = sorted((c.relevance for c in candidates), reverse=True)
    chosen_terms: set[str] = set()
    for c in evidence.chosen:
        chosen_terms |= unit_terms(handle, c.index) | context_terms(handle, c.unit.doc_id)
    top = evidence.passages[0] if evidence.passages else None
    top_position = handle.positions.get(top.chunk.chunk_id) if top else None
    rare, common = unknown_words(handle, view.tokens)
    asked = bool(view.asked)
    found = any(has_detail(kind, c.unit.text, view.counted)
                for c in evidence.chosen for kind in view.asked)
    dense_scores = [p.dense for p in evidence.passages[:3] if p.dense is not None]
    best = max(candidates, key=lambda c: c.relevance, default=None)
    uncovered = [w for t, w in view.weights.items()
                 if not covered_weight({t: 1.0}, chosen_terms)]
    top_weight = max(view.weights.values(), default=1.0)
    return {
        "passage_dense": max(dense_scores, default=0.0),
        "unit_dense": max((c.dense for c in candidates), default=0.0),
        "best_relevance": relevances[0] if relevances else 0.0,
        "top3_relevance": float(np.mean(relevances[:3])) if relevances else 0.0,
        "chosen_cover": covered_weight(view.weights, chosen_terms) / view.total,
        "passage_cover": covered_weight(view.weights, _chunk_terms(handle, top_position))
        / view.total if top_position is not None else 0.0,
        "unknown_rare": rare,
        "unknown_common": common,
        "unknown_names": min(3, len(unknown_names(handle, view.text))) / 3.0,
        "asked_detail": float(asked),
        "detail_missing": float(asked and not found),
        "intent": intent_score(intent, view.vector),
        "match": intent_score(match, match_vector(handle, evidence)),
        "length": math.log1p(len(view.tokens)) / 4.0,
        "question_mark": float(view.text.rstrip().endswith("?")),
        "best_unit_cover": best.lexical if best else 0.0,
        "rarest_uncovered": max(uncovered, default=0.0) / top_weight,
    }


def match_vector(handle: IndexHandle, evidence: Evidence) -> np.ndarray:
    """The question's vector times the mean vector of its closest candidate units: a model
    over it learns which dimensions of agreement mean the passages hold what was asked (a high
    cosine also comes from sharing the topic, not the asked-for detail). Zeros when there
    are no candidates."""
    vector = np.asarray(evidence.question.vector, dtype=np.float64)
    closest = sorted(evidence.candidates, key=lambda c: -c.dense)[:MATCH_UNITS]
    if not closest or handle.unit_vectors.shape[-1] != vector.shape[0]:
        return np.zeros_like(vector)
    units = np.mean(np.asarray(handle.unit_vectors[[c.index for c in closest]], dtype=np.float64),
                    axis=0)
    return agreement_vectors(vector, units)


def intent_score(model: LogisticModel | None, vector: np.ndarray) -> float:
    """The probability an embedding-only model (`intent` on the question's vector, `match` on
    `match_vector`) gives that the question is answerable; 0.5 when none was trained."""
    return float(vector_probabilities(model, vector)[0])


def decide(
    handle: IndexHandle, evidence: Evidence, model: Scorer, intent: LogisticModel | None,
    match: LogisticModel | None = None,
) -> Decision:
    if not evidence.chosen:
        return Decision(False, 0.0, "niet-in-documenten")
    values = features(handle, evidence, intent, match)
    probability = model.probability(values)
    # a model without the dense features sees words only: a question that shares no word
    # with its best passage has no evidence that model could weigh
    words_only = not {"passage_dense", "unit_dense"} & set(model.features)
    if probability >= model.threshold and (values["passage_cover"] or not words_only):
        return Decision(True, probability, "", features=values)
    return Decision(False, probability, *_reason(handle, evidence, values), features=values)


def _reason(handle: IndexHandle, evidence: Evidence, values: dict[str, float]) -> tuple[str, str]:
    """The clearest reason for a refusal, in terms a reader can check."""
    names = unknown_names(handle, evidence.question.text)
    if names:
        return "onbekende-naam", ", ".join(names)
    if values["detail_missing"] and values["chosen_cover"] >= 0.3:
        return "detail-ontbreekt", ", ".join(sorted(evidence.question.asked))
    if values["chosen_cover"] < 0.3 and values["passage_dense"] < 0.45:
        return "buiten-documenten", ""
    return "niet-in-documenten", ""
