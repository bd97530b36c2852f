"""Grounded extractive answers: verbatim sentences from retrieved passages, each cited.

The generator seam lets a generative mode replace `ExtractiveGenerator`; whatever
generates, the answer is refused when the documents do not hold it.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from assistant.domain import Document, Passage
from assistant.lexical import analyze, fold, tokens
from assistant.prompts import render
from assistant.schemas import AnswerSegment, Citation
from assistant.text import Span, is_navigation, split_sentences

MARKER_LEAD = re.compile(r"^(?:[-•*>]|\d{1,2}[.)]|\(\d{1,2}\))\s*(?:\d{1,2}\)\s*)?")
LIST_ITEM_MAX = 420
BOLD_MARK = re.compile(r"\*\*|__")
MIN_SUBJECT_WORD = 7
MIN_FUZZY_TERM = 5
FUZZY_CUTOFF = 0.85
COUNTED_NOUN = re.compile(r"\bhoeveel\s+(\w{2,})(?:\s+(\w{3,}))?")
CURRENT_DETAIL = re.compile(
    r"\b(dit jaar|volgend jaar|vorig jaar|nu|actuele?|huidige?|momenteel|op dit moment|vandaag"
    r"|tegenwoordig|precies|202[5-9]|20[3-9]\d)\b"
)
PERSONAL_CASE = re.compile(
    r"\b(mevrouw|meneer|mevr|mw|dhr|de heer|mijn (moeder|vader|buurman|buurvrouw|oma|opa|zoon"
    r"|dochter|cli[eë]nt|huurder))\b.*\b(recht op|in aanmerking|krijgen|aanvragen|toegekend)\b"
    r"|\b(recht op|in aanmerking)\b.*\b(mevrouw|meneer|mevr|mw|dhr|de heer)\b"
)
OFF_TASK = re.compile(
    r"\b(schrijf|herschrijf|vertaal|corrigeer|nakijken|kijk\w* .{0,40}\bna|verzin|dicht)\b"
    r"|\b(gedicht|speech|sollicitatie\w*|recept|mop|grap|liedje)\b"
)
ASKS_FOR_QUESTIONS = re.compile(r"\bwelke \w*vra(ag|gen)\b|\bvragen als\b")
NUMBER_WORDS = r"(een|twee|drie|vier|vijf|zes|zeven|acht|negen|tien|twintig|honderd|duizend)"

# What kind of detail a question asks for, and what an answer then has to contain.
ANSWER_TYPES: list[tuple[str, re.Pattern[str], re.Pattern[str]]] = [
    (
        "een bedrag",
        re.compile(
            r"\b(bedrag|bedragen|hoeveel geld|hoeveel euro|hoe duur|kost|budget|leenbedrag)\b"
        ),
        re.compile(r"€|\beuro\b"),
    ),
    (
        "een rente of percentage",
        re.compile(r"\b(rente|rentepercentage|percentage|procent)\b"),
        re.compile(r"%|\bprocent\b"),
    ),
    ("een aantal", re.compile(r"\bhoeveel\b"), re.compile(rf"\d|\b{NUMBER_WORDS}\b")),
    (
        "een datum of termijn",
        re.compile(r"\b(wanneer|welke datum|deadline|tot wanneer|vanaf wanneer|hoe lang)\b"),
        re.compile(
            rf"\b(19|20)\d\d\b|\b(\d+|{NUMBER_WORDS})\s*(jaar|jaren|maanden|maand|weken"
            r"|week|dagen|dag|uur)\b|\bper \d|\bjaarlijks\b"
            r"|\b(januari|februari|maart|april|mei|juni|juli|augustus|september|oktober"
            r"|november|december)\b"
        ),
    ),
]


@dataclass(frozen=True)
class AnswerParams:
    """Selection and refusal parameters, calibrated on the eval sets (see evals/)."""

    max_units: int = 4
    max_chars: int = 900
    keep_ratio: float = 0.5
    novelty_weight: float = 1.0
    neighbour_bonus: float = 0.3
    passage_prior: float = 0.35
    chunk_weight: float = 0.35
    type_bonus: float = 0.2
    context_weight: float = 0.35
    min_confidence: float = 0.5
    detail_cover: float = 0.2
    candidate_passages: int = 6


@dataclass
class Unit:
    passage: int
    span: Span
    text: str
    list_item: bool = False
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
    segments: list[AnswerSegment] = field(default_factory=list)


class Generator(Protocol):
    """Turns retrieved passages into an answer; `context` holds earlier turns of a follow-up."""

    def answer(
        self,
        question: str,
        passages: list[Passage],
        documents: Mapping[str, Document],
        top_k: int,
        context: str = "",
    ) -> Answer: ...


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
            item = Span(
                line_start + len(line) - len(line.lstrip()), line_start + len(line.rstrip())
            )
            if not spans or spans[-1] != item:
                spans.append(item)
            continue
        spans.append(span)
    return spans


def _units(passage_index: int, passage: Passage, document: Document) -> list[Unit]:
    chunk = passage.chunk
    units = []
    for span in _spans(document.text, chunk.start, chunk.end):
        raw = document.text[span.start : span.end]
        shown = display_text(raw)
        if len(shown.split()) < 3 or is_navigation(shown) or "\t" in raw or "](" in raw:
            continue
        offset = raw.index(shown)
        units.append(
            Unit(passage_index, Span(span.start + offset, span.end), shown, shown != raw)
        )
    return units


def covered_weight(weights: Mapping[str, float], terms: frozenset[str] | set[str]) -> float:
    """Weight of query terms found in `terms`; a shared prefix of 5+ letters also counts, so
    Dutch participles match their verbs (bestemd ~ bestemmen)."""
    total = 0.0
    for term, weight in weights.items():
        if term in terms or (
            len(term) >= 5
            and any(
                len(other) >= 5 and (other.startswith(term) or term.startswith(other))
                for other in terms
            )
        ):
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
        self._known_terms = frozenset(idf)

    def _term_weights(self, question: str, context: str) -> dict[str, float]:
        weights = {t: self.idf.get(t, self.unknown_idf) for t in set(analyze(question))}
        for term in set(analyze(context)) - set(weights):
            weights[term] = self.params.context_weight * self.idf.get(term, self.unknown_idf)
        return weights

    def answer(
        self,
        question: str,
        passages: list[Passage],
        documents: Mapping[str, Document],
        top_k: int,
        context: str = "",
    ) -> Answer:
        params = self.params
        weights = self._term_weights(question, context)
        total = sum(weights.values()) or 1.0
        wanted = [
            (label, needs) for label, asks, needs in ANSWER_TYPES if asks.search(fold(question))
        ]
        wants_questions = bool(ASKS_FOR_QUESTIONS.search(fold(question)))
        units: list[Unit] = []
        chunk_cover: list[float] = []
        chunk_terms: list[set[str]] = []
        for index, passage in enumerate(passages[: max(params.candidate_passages, 1)]):
            chunk_terms.append(
                set(analyze(passage.chunk.section + " " + passage.chunk.search_text))
            )
            chunk_cover.append(covered_weight(weights, chunk_terms[-1]) / total)
            previous_terms: frozenset[str] = frozenset()
            for unit in _units(index, passage, documents[passage.chunk.doc_id]):
                unit.terms = frozenset(analyze(unit.text))
                unit.previous_terms, previous_terms = previous_terms, unit.terms
                cover = covered_weight(weights, unit.terms) / total
                length_penalty = 1.0 if len(unit.text) < 400 else 400 / len(unit.text)
                bonus = params.type_bonus * sum(bool(n.search(fold(unit.text))) for _, n in wanted)
                if wants_questions and unit.text.rstrip().endswith("?"):
                    bonus += params.type_bonus
                unit.score = (
                    cover * length_penalty
                    + bonus
                    + params.passage_prior / (1.0 + index)
                    + params.chunk_weight * chunk_cover[index]
                )
                units.append(unit)
        if not units:
            return self._refuse(documents, 0.0)
        chosen = self._select(units, weights, total)
        confidence = self._confidence(chosen, chunk_cover, passages)
        reason = out_of_scope_reason(question) or self._missing_detail(
            question, chosen, wanted, weights, chunk_cover, chunk_terms
        )
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
                near = any(
                    u.passage == unit.passage and abs(u.span.start - unit.span.start) < 300
                    for u in chosen
                )
                gain = (
                    unit.score
                    + params.novelty_weight * novel
                    + (params.neighbour_bonus if near else 0)
                )
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
                followers = sorted(
                    (
                        u
                        for u in units
                        if u.passage == unit.passage
                        and u.span.start > unit.span.start
                        and u not in chosen
                    ),
                    key=lambda u: u.span.start,
                )
                chosen.extend(followers[: max(0, params.max_units + 1 - len(chosen))])
        return chosen

    def _confidence(
        self, chosen: list[Unit], chunk_cover: list[float], passages: list[Passage]
    ) -> float:
        best_unit = max(u.score for u in chosen)
        dense = max((p.dense for p in passages if p.dense is not None), default=0.0)
        lexical_cover = max(chunk_cover, default=0.0)
        # Both signals count: a strong paraphrase (dense) or a strong term match (lexical).
        return 0.5 * best_unit + 0.5 * max(dense, lexical_cover)

    def _missing_detail(
        self,
        question: str,
        chosen: list[Unit],
        wanted: list[tuple[str, re.Pattern[str]]],
        weights: dict[str, float],
        chunk_cover: list[float],
        chunk_terms: list[set[str]],
    ) -> str | None:
        """A question after a specific detail needs that detail, in a passage about its subject."""
        if not wanted:
            return None
        folded = fold(question)
        names = unknown_names(question, self.idf) or self.unknown_words(question)
        if names:
            return f"Over {', '.join(names)} staan in de documenten geen gegevens."
        if CURRENT_DETAIL.search(folded):
            return "De documenten geven geen actuele of precieze cijfers, bedragen of termijnen."
        known = {t: w for t, w in weights.items() if t in self.idf}
        top = max(known.values(), default=0.0)
        subject = {t for t, w in known.items() if w >= 0.75 * top}
        counted = COUNTED_NOUN.search(folded)
        counted_terms = (
            set(analyze(" ".join(g for g in counted.groups() if g))) if counted else set()
        )
        for label, needs in wanted:
            found = False
            for unit in chosen:
                if not needs.search(fold(unit.text)):
                    continue
                if chunk_cover[unit.passage] < self.params.detail_cover or not (
                    subject & chunk_terms[unit.passage]
                ):
                    continue
                if (
                    label == "een aantal"
                    and counted_terms
                    and not covered_weight(dict.fromkeys(counted_terms, 1.0), unit.terms)
                ):
                    continue
                found = True
                break
            if not found:
                return f"De vraag gaat over {label}, en dat noemen de documenten hier niet."
        return None

    def unknown_words(self, question: str) -> list[str]:
        """Words the documents never use (allowing other inflections): the detail asked about
        then cannot be in them."""
        unknown = []
        for word in dict.fromkeys(tokens(question)):
            if len(word) < MIN_SUBJECT_WORD:
                continue  # short words are mostly verbs and particles, not the subject
            stems = analyze(word)
            if stems and not any(is_known(stem, self._known_terms) for stem in stems):
                unknown.append(word)
        return unknown

    def _refuse(
        self, documents: Mapping[str, Document], confidence: float, reason: str = ""
    ) -> Answer:
        return Answer(
            refusal_text(documents, reason), False, [], confidence, reason or "onvoldoende"
        )

    def _compose(
        self, chosen: list[Unit], passages: list[Passage], top_k: int, confidence: float
    ) -> Answer:
        order: list[int] = []
        for unit in sorted(chosen, key=lambda u: -u.score):
            if unit.passage not in order:
                order.append(unit.passage)
        for index in range(len(passages)):
            if index not in order:
                order.append(index)
        order = order[: max(top_k, len({u.passage for u in chosen}))]
        numbers = {passage: n for n, passage in enumerate(order, start=1)}
        ordered = sorted(chosen, key=lambda u: (numbers[u.passage], u.span.start))
        parts = [f"{unit.text} [{numbers[unit.passage]}]" for unit in ordered]
        segments = [
            AnswerSegment(
                n=numbers[unit.passage],
                doc_id=passages[unit.passage].chunk.doc_id,
                start=unit.span.start,
                end=unit.span.end,
                quote=unit.text,
                text=BOLD_MARK.sub("", unit.text),
                kind="list-item" if unit.list_item else "sentence",
            )
            for unit in ordered
        ]
        cited = {unit.passage for unit in chosen}
        citations = []
        for passage_index in order:
            passage = passages[passage_index]
            chunk = passage.chunk
            citations.append(
                Citation(
                    n=numbers[passage_index],
                    doc_id=chunk.doc_id,
                    title=chunk.title,
                    section=chunk.section,
                    quote=chunk.quote,
                    start=chunk.start,
                    end=chunk.end,
                    score=round(float(passage.score), 6),
                    cited=passage_index in cited,
                )
            )
        return Answer(" ".join(parts), True, citations, confidence, segments=segments)


CAPITALISED = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][a-zà-ÿ]{2,}(?:\s+[A-Z][a-zà-ÿ]{2,})*)")


def out_of_scope_reason(question: str) -> str | None:
    """Requests the documents can never answer, whatever passages are found."""
    folded = fold(question)
    if OFF_TASK.search(folded):
        return (
            "Ik beantwoord alleen vragen over wonen en zorg uit de handreikingen; "
            "schrijf- of andere opdrachten voer ik niet uit."
        )
    if PERSONAL_CASE.search(folded):
        return "De documenten beslissen niet over de situatie of aanspraken van een persoon."
    return None


def is_known(term: str, vocabulary: Collection[str]) -> bool:
    """A term the documents use: exactly, as another inflection (shared prefix), or with a
    typo (close spelling), so "Verzilverlenig" or "Amersfort" still count as known."""
    if term in vocabulary or covered_weight({term: 1.0}, frozenset(vocabulary)):
        return True
    return len(term) >= MIN_FUZZY_TERM and bool(
        difflib.get_close_matches(term, vocabulary, n=1, cutoff=FUZZY_CUTOFF)
    )


def unknown_names(question: str, idf: Mapping[str, float]) -> list[str]:
    """Capitalised names in the question that the documents never mention."""
    names = []
    for match in CAPITALISED.finditer(question.strip()):
        terms = analyze(match.group(1))
        if terms and not any(is_known(t, idf.keys()) for t in terms):
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
