"""Choose the units that answer: meaning, words and structure fused, then MMR within a budget.

Every unit of the best passages is scored by a calibrated model over its similarity to the
question (EmbeddingGemma vectors made at ingest), the dimensions in which the two vectors
agree (`agreement`: a model over question × unit vector, a learned diagonal similarity,
where trained for the embedding model), how much of the question's weighted terms
it covers, its passage's rank, and its place in the document (list item, intro, a sentence
leaning on the one before it). Selection then takes the most relevant units that add
something new (maximal marginal relevance) until a character budget is spent, completes a
list or step plan whose intro was chosen (reading the items from the document, also beyond
the retrieved chunk) and keeps a leaning sentence only with its antecedent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from assistant.answering.question import QuestionView, covered_weight
from assistant.domain import Passage, Unit
from assistant.language.numbers import has_detail
from assistant.learned import LogisticModel, vector_probabilities
from assistant.store import IndexHandle

UNIT_FEATURES = (
    "dense", "dense_gap", "lexical", "lexical_gap", "section", "passage_prior", "passage_dense",
    "list_item", "table_row", "intro", "leaning", "question", "length", "detail_found",
    "detail_missing", "structural", "chunk_first", "agreement",
)
# Before training (and for models nobody trained for): words and rank first, meaning second.
DEFAULT_UNIT_MODEL = LogisticModel.manual(
    {"dense": 4.0, "dense_gap": 3.0, "lexical": 3.0, "lexical_gap": 2.0, "section": 0.5,
     "passage_prior": 1.5, "passage_dense": 1.0, "intro": 0.3, "leaning": -0.4,
     "question": -1.0, "detail_found": 0.8, "detail_missing": -0.5, "structural": -0.3},
    bias=-4.0, note="manual defaults",
)


@dataclass(frozen=True)
class SelectParams:
    """Chosen on the tune set (grid over ratio, floor, budget and λ for key-fact recall at a
    reasonable length: 0.81 at ~710 characters)."""

    candidate_passages: int = 6
    budget_chars: int = 900
    list_budget_chars: int = 1400
    mmr_lambda: float = 0.6
    keep_ratio: float = 0.1
    min_relevance: float = 0.01
    max_units: int = 10


@dataclass
class Candidate:
    index: int
    unit: Unit
    passage: int
    dense: float
    lexical: float
    features: dict[str, float] = field(default_factory=dict)
    relevance: float = 0.0


@dataclass
class Evidence:
    """What selection saw and chose; the decision and the composition read it."""

    question: QuestionView
    passages: list[Passage]
    candidates: list[Candidate]
    chosen: list[Candidate]


def unit_terms(handle: IndexHandle, index: int) -> frozenset[str]:
    cache = handle.cache.setdefault("unit_terms", {})
    if index not in cache:
        unit = handle.units[index]
        cache[index] = frozenset(handle.analyzer.analyze(unit.text))
    terms: frozenset[str] = cache[index]
    return terms


def context_terms(handle: IndexHandle, doc_id: str, section: str = "") -> frozenset[str]:
    """Terms a unit stands under: its document's title and publisher, and its section path."""
    cache = handle.cache.setdefault("heading_terms", {})
    key = (doc_id, section)
    if key not in cache:
        document = handle.documents.get(doc_id)
        heading = document.context if document else ""
        cache[key] = frozenset(handle.analyzer.analyze(f"{heading}\n{section}"))
    terms: frozenset[str] = cache[key]
    return terms


def _group_members(handle: IndexHandle, unit: Unit) -> list[int]:
    if unit.group is None:
        return []
    return [i for i in handle.units_by_doc[unit.doc_id] if handle.units[i].group == unit.group]


def previous_unit(handle: IndexHandle, index: int) -> int | None:
    unit = handle.units[index]
    if unit.position == 0:
        return None
    return handle.units_by_doc[unit.doc_id][unit.position - 1]


def gather(handle: IndexHandle, passages: list[Passage], depth: int) -> dict[int, int]:
    """Unit index to passage rank: the units of the best passages, plus the rest of every
    list or step plan they touch (rank `depth` marks units the structure brought in)."""
    found: dict[int, int] = {}
    for rank, passage in enumerate(passages[:depth]):
        position = handle.positions.get(passage.chunk.chunk_id)
        for index in handle.units_by_chunk.get(position, []) if position is not None else []:
            found.setdefault(index, rank)
    for index in list(found):
        for member in _group_members(handle, handle.units[index]):
            found.setdefault(member, depth)
    return found


def agreement_vectors(question: np.ndarray, units: np.ndarray) -> np.ndarray:
    """Question × unit vector per unit: the rows the `agreement` model reads (their sum is the
    cosine, which weighs every dimension alike)."""
    return np.asarray(units, dtype=np.float64) * np.asarray(question, dtype=np.float64)


def score_candidates(
    handle: IndexHandle, view: QuestionView, passages: list[Passage], model: LogisticModel,
    params: SelectParams, agreement: LogisticModel | None = None,
) -> list[Candidate]:
    found = gather(handle, passages, params.candidate_passages)
    if not found:
        return []
    indexes = sorted(found, key=lambda i: (found[i], i))
    vectors = np.asarray(handle.unit_vectors[indexes], dtype=np.float32)
    dense = vectors @ view.vector.astype(np.float32) if view.vector.size else np.zeros(len(indexes))
    agreeing = vector_probabilities(agreement, agreement_vectors(view.vector, vectors)) if (
        view.vector.size == vectors.shape[1]) else np.full(len(indexes), 0.5)
    candidates = [
        Candidate(i, handle.units[i], found[i], float(d),
                  covered_weight(view.weights, unit_terms(handle, i)) / view.total)
        for i, d in zip(indexes, dense, strict=True)
    ]
    best_dense = max(c.dense for c in candidates)
    best_lexical = max(c.lexical for c in candidates)
    chunk_dense: dict[int, float] = {}
    for c in candidates:
        chunk_dense[c.unit.chunk] = max(chunk_dense.get(c.unit.chunk, -1.0), c.dense)
    for passage in passages[: params.candidate_passages]:
        position = handle.positions.get(passage.chunk.chunk_id)
        if position is not None and passage.dense is not None:
            chunk_dense[position] = passage.dense
    first_of_chunk = {min(handle.units_by_chunk[c.unit.chunk]) for c in candidates}
    for c, agrees in zip(candidates, agreeing, strict=True):
        unit = c.unit
        has_any = any(has_detail(kind, unit.text, view.counted) for kind in view.asked)
        c.features = {
            "dense": c.dense,
            "dense_gap": c.dense - best_dense,
            "lexical": c.lexical,
            "lexical_gap": c.lexical - best_lexical,
            "section": covered_weight(view.weights,
                                      context_terms(handle, unit.doc_id, unit.section))
            / view.total,
            "passage_prior": 1.0 / (1.0 + c.passage),
            "passage_dense": chunk_dense.get(unit.chunk, 0.0),
            "list_item": float(unit.kind == "list-item"),
            "table_row": float(unit.kind == "table-row"),
            "intro": float(unit.intro),
            "leaning": float(unit.leaning),
            "question": float(unit.question),
            "length": math.log1p(len(unit.text)) / 6.0,
            "detail_found": float(bool(view.asked) and has_any),
            "detail_missing": float(bool(view.asked) and not has_any),
            "structural": float(c.passage >= params.candidate_passages),
            "chunk_first": float(c.index in first_of_chunk),
            "agreement": float(agrees),
        }
    scores = model.probabilities(model.matrix([c.features for c in candidates]))
    for c, p in zip(candidates, scores, strict=True):
        c.relevance = float(p)
    return candidates


def _similarity(handle: IndexHandle, a: int, b: int) -> float:
    return float(np.dot(handle.unit_vectors[a], handle.unit_vectors[b]))


def select(
    handle: IndexHandle, view: QuestionView, passages: list[Passage], model: LogisticModel,
    params: SelectParams | None = None, agreement: LogisticModel | None = None,
) -> Evidence:
    params = params or SelectParams()
    candidates = score_candidates(handle, view, passages, model, params, agreement)
    if not candidates:
        return Evidence(view, passages, [], [])
    by_index = {c.index: c for c in candidates}
    ranked = sorted(candidates, key=lambda c: -c.relevance)
    best = ranked[0]
    budget = params.list_budget_chars if best.unit.group is not None else params.budget_chars
    chosen = [best]
    used = len(best.unit.text)
    floor = max(params.min_relevance, params.keep_ratio * best.relevance)
    while len(chosen) < params.max_units:
        options = []
        for c in ranked:
            if c in chosen or c.relevance < floor or used + len(c.unit.text) > budget:
                continue
            if any(c.unit.text == o.unit.text for o in chosen):
                continue
            overlap = max(_similarity(handle, c.index, o.index) for o in chosen)
            options.append((params.mmr_lambda * c.relevance - (1 - params.mmr_lambda) * overlap
                            * best.relevance, c))
        if not options:
            break
        _, pick = max(options, key=lambda pair: pair[0])
        chosen.append(pick)
        used += len(pick.unit.text)
    chosen = _complete_structure(handle, chosen, by_index, params)
    return Evidence(view, passages, candidates, _reading_order(chosen))


def _complete_structure(
    handle: IndexHandle, chosen: list[Candidate], by_index: dict[int, Candidate],
    params: SelectParams,
) -> list[Candidate]:
    """An intro brings its items; two items of a list bring their intro; a leaning sentence
    brings the sentence it leans on (or goes, if that does not fit)."""
    picked = {c.index: c for c in chosen}
    used = sum(len(c.unit.text) for c in chosen)

    def add(index: int) -> bool:
        nonlocal used
        candidate = by_index.get(index)
        if candidate is None or index in picked:
            return index in picked
        if used + len(candidate.unit.text) > params.list_budget_chars:
            return False
        picked[index] = candidate
        used += len(candidate.unit.text)
        return True

    for c in list(chosen):
        members = _group_members(handle, c.unit)
        if c.unit.intro:
            items = [i for i in members if not handle.units[i].intro]
            for item in sorted(items, key=lambda i: -by_index[i].relevance if i in by_index else 0):
                add(item)
        elif members:
            siblings = [i for i in members if i in picked and not handle.units[i].intro]
            intros = [i for i in members if handle.units[i].intro and i in by_index]
            if len(siblings) >= 2 and intros:
                add(max(intros, key=lambda i: by_index[i].relevance))
    for index in list(picked):
        unit = handle.units[index]
        if not unit.leaning or unit.intro:
            continue
        previous = previous_unit(handle, index)
        best = max(picked.values(), key=lambda c: c.relevance)
        if previous is not None and not add(previous) and picked[index] is not best:
            del picked[index]
            used -= len(unit.text)
    return list(picked.values())


def _reading_order(chosen: list[Candidate]) -> list[Candidate]:
    """Documents in order of their most relevant unit, units in document order within them,
    so a list stays in one piece even when it runs over two chunks."""
    first: dict[str, float] = {}
    for c in chosen:
        first[c.unit.doc_id] = min(first.get(c.unit.doc_id, math.inf), -c.relevance)
    return sorted(chosen, key=lambda c: (first[c.unit.doc_id], c.unit.doc_id, c.unit.start))


# The most text an instrument's own passages add to an answer (about two sentences each for
# the two instruments that fit best).
SOURCE_BUDGET_CHARS = 600
MAX_SOURCES = 2


def with_source_units(
    handle: IndexHandle, evidence: Evidence, spans: list[tuple[str, int, int]],
) -> list[Candidate]:
    """The chosen units, then the units of each span (a suggested instrument's verbatim source)
    that are not chosen yet: the catalogue's text is added, never placed above what retrieval
    chose."""
    chosen = list(evidence.chosen)
    picked = {c.index for c in chosen}
    by_index = {c.index: c for c in evidence.candidates}
    used = 0
    for doc_id, start, end in spans[:MAX_SOURCES]:
        inside = [i for i in handle.units_by_doc.get(doc_id, [])
                  if _mostly_within(handle.units[i], start, end)]
        if not inside or all(i in picked for i in inside):
            continue
        extra = [i for i in inside if i not in picked]
        length = sum(len(handle.units[i].text) for i in extra)
        if used + length > SOURCE_BUDGET_CHARS:
            continue
        used += length
        for i in extra:
            picked.add(i)
            known = by_index.get(i)
            chosen.append(replace(known, relevance=0.0) if known else Candidate(
                i, handle.units[i], len(evidence.passages), 0.0, 0.0))
    return chosen


def _mostly_within(unit: Unit, start: int, end: int) -> bool:
    """Half the unit lies in the span, or half the span in the unit."""
    overlap = min(end, unit.end) - max(start, unit.start)
    return overlap > 0 and 2 * overlap >= min(unit.end - unit.start, end - start)
