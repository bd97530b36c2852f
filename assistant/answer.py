"""Grounded extractive answers: verbatim sentences from retrieved passages, each cited.

The generator seam lets a generative mode replace `ExtractiveGenerator`; whatever
generates, the answer is refused when the documents do not hold it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from assistant.domain import Document, Passage
from assistant.lexical import analyze, fold
from assistant.prompts import render
from assistant.schemas import Citation
from assistant.text import Span, split_sentences

MARKER_LEAD = re.compile(r"^(?:[-•*>]|\d{1,2}[.)]|\(\d{1,2}\))\s*(?:\d{1,2}\)\s*)?")
NAVIGATION = re.compile(
    r"^(lees meer|meld uw knelpunt|meer informatie|wanneer wordt dit behandeld\?|deel dit bericht"
    r"|bekijk meer vraagstukken|taskforce wonen en zorg bestaat uit:)$",
    re.IGNORECASE,
)
LIST_ITEM_MAX = 420
ASKS_FOR_QUESTIONS = re.compile(r"\bwelke (vragen|vraag)\b|\bvragen als\b")
NUMBER_WORDS = r"(een|twee|drie|vier|vijf|zes|zeven|acht|negen|tien|twintig|honderd|duizend)"

# What kind of detail a question asks for, and what an answer then has to contain.
ANSWER_TYPES: list[tuple[str, re.Pattern[str], re.Pattern[str]]] = [
    ("een bedrag", re.compile(r"\b(bedrag|hoeveel geld|hoeveel euro|hoe duur|kost|kosten het)\b"),
     re.compile(r"€|\beuro\b")),
    ("een rente of percentage", re.compile(r"\b(rente|rentepercentage|percentage|procent)\b"),
     re.compile(r"%|\bprocent\b")),
    ("een aantal", re.compile(r"\bhoeveel\b"), re.compile(rf"\d|\b{NUMBER_WORDS}\b")),
    ("een datum of termijn",
     re.compile(r"\b(wanneer|welke datum|deadline|tot wanneer|vanaf wanneer|hoe lang)\b"),
     re.compile(r"\b(19|20)\d\d\b|\b\d+\s*(jaar|maanden|weken|dagen|uur)\b|\bper \d|\bjaarlijks\b"
                r"|\b(januari|februari|maart|april|mei|juni|juli|augustus|september|oktober"
                r"|november|december)\b|\bmaximaal twee jaar\b")),
]


@dataclass(frozen=True)
class AnswerParams:
    """Selection and refusal parameters, calibrated on the eval sets (see evals/)."""

    max_units: int = 4
    max_chars: int = 900
    keep_ratio: float = 0.5
    novelty_weight: float = 1.0
    neighbour_bonus: float = 0.12
    passage_prior: float = 0.35
    chunk_weight: float = 0.35
    type_bonus: float = 0.2
    context_weight: float = 0.35
    min_confidence: float = 0.5
    candidate_passages: int = 6


@dataclass
class Unit:
    passage: int
    span: Span
    text: str
    score: float = 0.0
    terms: frozenset[str] = field(default_factory=frozenset)
    previous_terms: frozenset[str] = field(default_factory=frozenset)


@dataclass
class Answer:
    text: str
    answerable: bool
    citations: list[Citation]
    confidence: float = 0.0
    refusal_reason: str | None = None


class Generator(Protocol):
    def answer(self, question: str, passages: list[Passage], documents: Mapping[str, Document],
               top_k: int) -> Answer: ...


def display_text(text: str) -> str:
    """A unit without its list marker: still an exact substring of the document."""
    return MARKER_LEAD.sub("", text, count=1)


def _spans(text: str, start: int, end: int) -> list[Span]:
    """Sentences, except that a list item stays one unit when it is not too long."""
    spans: list[Span] = []
    for span in split_sentences(text, start, end):
        line_start = text.rfind("\n", 0, span.start) + 1
        line_end = text.find("\n", span.start)
        line_end = end if line_end == -1 or line_end > end else line_end
        line = text[line_start:line_end]
        if MARKER_LEAD.match(line.strip()) and len(line) <= LIST_ITEM_MAX:
            item = Span(line_start + len(line) - len(line.lstrip()), line_start + len(line.rstrip()))
            if not spans or spans[-1] != item:
                spans.append(item)
            continue
        spans.append(span)
    return spans


def _units(passage_index: int, passage: Passage, document: Document) -> list[Unit]:
    chunk = passage.chunk
    units = []
    for span in _spans(document.text, chunk.start, chunk.end):
        raw = document.text[span.start:span.end]
        shown = display_text(raw)
        if len(shown.split()) < 3 or NAVIGATION.match(shown.strip()) or "\t" in raw or "](" in raw:
            continue
        offset = raw.index(shown)
        units.append(Unit(passage_index, Span(span.start + offset, span.end), shown))
    return units


def covered_weight(weights: Mapping[str, float], terms: frozenset[str] | set[str]) -> float:
    """Weight of query terms found in `terms`; a shared prefix of 5+ letters also counts, so
    Dutch participles match their verbs (bestemd ~ bestemmen)."""
    total = 0.0
    for term, weight in weights.items():
        if term in terms or (len(term) >= 5 and any(
                len(other) >= 5 and (other.startswith(term) or term.startswith(other))
                for other in terms)):
            total += weight
    return total


def refusal_text(documents: Mapping[str, Document], reason: str = "") -> str:
    titles = "; ".join(f"{d.title}" for d in sorted(documents.values(), key=lambda d: d.doc_id))
    return render("refusal", documents=titles, reason=f"{reason} " if reason else "")


class ExtractiveGenerator:
    """Selects 1–4 verbatim sentences or list items that best answer the question.

    Greedy selection: each next unit must add question terms not yet covered (so a
    two-part question gets both parts), with a bonus for the kind of detail asked for.
    """

    def __init__(self, idf: Mapping[str, float], params: AnswerParams | None = None) -> None:
        self.idf = idf
        self.params = params or AnswerParams()
        self.unknown_idf = max(idf.values(), default=5.0) + 1.0

    def _term_weights(self, question: str, context: str) -> dict[str, float]:
        weights = {t: self.idf.get(t, self.unknown_idf) for t in set(analyze(question))}
        for term in set(analyze(context)) - set(weights):
            weights[term] = self.params.context_weight * self.idf.get(term, self.unknown_idf)
        return weights

    def answer(self, question: str, passages: list[Passage], documents: Mapping[str, Document],
               top_k: int, context: str = "") -> Answer:
        params = self.params
        weights = self._term_weights(question, context)
        total = sum(weights.values()) or 1.0
        wanted = [(label, needs) for label, asks, needs in ANSWER_TYPES if asks.search(fold(question))]
        wants_questions = bool(ASKS_FOR_QUESTIONS.search(fold(question)))
        units: list[Unit] = []
        chunk_cover: list[float] = []
        for index, passage in enumerate(passages[: max(params.candidate_passages, 1)]):
            chunk_terms = set(analyze(passage.chunk.section + " " + passage.chunk.search_text))
            chunk_cover.append(covered_weight(weights, chunk_terms) / total)
            previous_terms: frozenset[str] = frozenset()
            for unit in _units(index, passage, documents[passage.chunk.doc_id]):
                unit.terms = frozenset(analyze(unit.text))
                unit.previous_terms, previous_terms = previous_terms, unit.terms
                cover = covered_weight(weights, unit.terms) / total
                length_penalty = 1.0 if len(unit.text) < 400 else 400 / len(unit.text)
                bonus = params.type_bonus * sum(bool(n.search(fold(unit.text))) for _, n in wanted)
                if wants_questions and unit.text.rstrip().endswith("?"):
                    bonus += params.type_bonus
                unit.score = (cover * length_penalty + bonus + params.passage_prior / (1.0 + index)
                              + params.chunk_weight * chunk_cover[index])
                units.append(unit)
        if not units:
            return self._refuse(documents, 0.0)
        chosen = self._select(units, weights, total)
        confidence = self._confidence(chosen, chunk_cover, passages)
        reason = self._missing_detail(question, chosen, wanted, weights, total)
        if reason:
            return self._refuse(documents, confidence, reason)
        if confidence < params.min_confidence:
            return self._refuse(documents, confidence)
        return self._compose(chosen, passages, top_k, confidence)

    def _select(self, units: list[Unit], weights: dict[str, float], total: float) -> list[Unit]:
        params = self.params
        best = max(units, key=lambda u: u.score)
        chosen = [best]
        covered = set(best.terms) & set(weights)
        length = len(best.text)
        while len(chosen) < params.max_units:
            candidates = []
            for unit in units:
                if unit in chosen or any(unit.text == u.text for u in chosen):
                    continue
                if length + len(unit.text) > params.max_chars:
                    continue
                novel = sum(weights[t] for t in (unit.terms & set(weights)) - covered) / total
                near = any(u.passage == unit.passage and abs(u.span.start - unit.span.start) < 300
                           for u in chosen)
                gain = unit.score + params.novelty_weight * novel + (params.neighbour_bonus if near else 0)
                candidates.append((gain, unit))
            if not candidates:
                break
            gain, unit = max(candidates, key=lambda pair: pair[0])
            if gain < params.keep_ratio * best.score:
                break
            chosen.append(unit)
            covered |= unit.terms & set(weights)
            length += len(unit.text)
        for unit in list(chosen):
            if unit.text.rstrip().endswith(":"):
                followers = sorted((u for u in units if u.passage == unit.passage
                                    and u.span.start > unit.span.start and u not in chosen),
                                   key=lambda u: u.span.start)
                chosen.extend(followers[: max(0, params.max_units + 1 - len(chosen))])
        return chosen

    def _confidence(self, chosen: list[Unit], chunk_cover: list[float],
                    passages: list[Passage]) -> float:
        best_unit = max(u.score for u in chosen)
        dense = max((p.dense for p in passages if p.dense is not None), default=0.0)
        lexical_cover = max(chunk_cover, default=0.0)
        # Both signals count: a strong paraphrase (dense) or a strong term match (lexical).
        return 0.5 * best_unit + 0.5 * max(dense, lexical_cover)

    def _missing_detail(self, question: str, chosen: list[Unit],
                        wanted: list[tuple[str, re.Pattern[str]]], weights: dict[str, float],
                        total: float) -> str | None:
        """A question after a specific detail needs that detail, about its own subject."""
        if not wanted:
            return None
        names = unknown_names(question, self.idf)
        if names:
            return f"Over {', '.join(names)} staan in de documenten geen gegevens."
        for label, needs in wanted:
            # The detail may sit in a follow-on sentence ("Dit tot een maximum van € 4.000").
            if not any(needs.search(fold(u.text))
                       and covered_weight(weights, u.terms | u.previous_terms) / total >= 0.25
                       for u in chosen):
                return f"De vraag gaat over {label}, en dat noemen de documenten hier niet."
        return None

    def _refuse(self, documents: Mapping[str, Document], confidence: float,
                reason: str = "") -> Answer:
        return Answer(refusal_text(documents, reason), False, [], confidence, reason or "onvoldoende")

    def _compose(self, chosen: list[Unit], passages: list[Passage], top_k: int,
                 confidence: float) -> Answer:
        order: list[int] = []
        for unit in sorted(chosen, key=lambda u: -u.score):
            if unit.passage not in order:
                order.append(unit.passage)
        for index in range(len(passages)):
            if index not in order:
                order.append(index)
        order = order[:max(top_k, len({u.passage for u in chosen}))]
        numbers = {passage: n for n, passage in enumerate(order, start=1)}
        parts = [f"{unit.text} [{numbers[unit.passage]}]"
                 for unit in sorted(chosen, key=lambda u: (numbers[u.passage], u.span.start))]
        citations = []
        for passage_index in order:
            passage = passages[passage_index]
            chunk = passage.chunk
            citations.append(Citation(
                n=numbers[passage_index], doc_id=chunk.doc_id, title=chunk.title,
                section=chunk.section, quote=chunk.quote, start=chunk.start, end=chunk.end,
                score=round(float(passage.score), 6),
            ))
        return Answer(" ".join(parts), True, citations, confidence)


CAPITALISED = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][a-zà-ÿ]{2,}(?:\s+[A-Z][a-zà-ÿ]{2,})*)")


def unknown_names(question: str, idf: Mapping[str, float]) -> list[str]:
    """Capitalised names in the question that the documents never mention."""
    names = []
    for match in CAPITALISED.finditer(question.strip()):
        terms = analyze(match.group(1))
        if terms and not any(t in idf for t in terms):
            names.append(match.group(1))
    return names


def inverse_document_frequencies(texts: list[str]) -> dict[str, float]:
    """Smoothed idf over chunk texts, for weighting question terms."""
    counts: dict[str, int] = {}
    for text in texts:
        for term in set(analyze(text)):
            counts[term] = counts.get(term, 0) + 1
    n = len(texts)
    return {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in counts.items()}
