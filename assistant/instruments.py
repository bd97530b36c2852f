"""Which financial instruments and support options fit a question, and why.

By meaning and evidence, not by cue words: each instrument's name, purpose and source
passages are embedded once, and a calibrated model (`python -m evals.train`) weighs the
question's similarity to them, whether the question names the instrument, whether the
retrieved passages or the chosen answer units are the instrument's own sources, whether
a page the catalogue does not cite (added later) names it, and whether the question seeks
support at all (`seeks`, a model on the question's vector: a question about what a
publication says wants the text, one about a stalled plan wants help). Then
eligibility: when the question states a situation the catalogue's conditions exclude (a
huurwoning for the Verzilverlening, fewer than 5 units, more than 80 hours), the instrument
is shown as not fitting, with the reason and, where the catalogue names one, an alternative.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from rapidfuzz import fuzz

from assistant.domain import Passage, Unit
from assistant.embedder import Embedder
from assistant.language.normalize import fold
from assistant.learned import LogisticModel, vector_probabilities
from assistant.rules.catalogue import Catalogue, Eligibility, Facts, Instrument
from assistant.rules.sources import Source

INSTRUMENT_FEATURES = ("similarity", "similarity_gap", "named", "evidence", "evidence_unit",
                       "uncited_page", "uncited_page_unit")
# a question's own features: the triage desk scores reports on INSTRUMENT_FEATURES alone
QUESTION_INSTRUMENT_FEATURES = (*INSTRUMENT_FEATURES, "seeks")
DEFAULT_INSTRUMENT_MODEL = LogisticModel.manual(
    {"similarity": 6.0, "similarity_gap": 6.0, "named": 4.0, "evidence": 2.5,
     "evidence_unit": 1.5},
    bias=-5.0, note="manual defaults",
)
NAME_MATCH = 90
SHORT_NAME = 5


@dataclass(frozen=True)
class Suggestion:
    """An instrument for a question: fits=False means the stated situation rules it out."""

    instrument: Instrument
    why: str
    fits: bool
    source: Source | None
    score: float


def description(instrument: Instrument) -> str:
    """What the instrument is about, as the embedding model sees it."""
    spec = instrument.spec
    quotes = " ".join(s.quote for s in instrument.sources if s is not None)
    return f"{spec.name}\n{spec.purpose} {spec.why} {quotes}"


def names_in(question: str, instrument: Instrument) -> bool:
    """Whether the question names the instrument, allowing for a typo in longer names."""
    folded = fold(question)
    for name in instrument.spec.names:
        wanted = fold(name)
        if len(wanted) <= SHORT_NAME:
            if wanted in folded.replace(",", " ").replace("?", " ").split():
                return True
        elif fuzz.partial_ratio(wanted, folded) >= NAME_MATCH:
            return True
    return False


def mentions(text: str, instrument: Instrument) -> bool:
    """Whether a text names the instrument. Pages are spelled right, so a whole-word
    match of one of its names is enough; the organisation that provides it (SVn, the
    Taskforce) is left out, because it is named for much else."""
    return _names_folded(fold(text), instrument)


def _names_folded(folded: str, instrument: Instrument) -> bool:
    provider = fold(str(instrument.spec.conditions.get("provider", "")))
    names = tuple(n for n in instrument.spec.names if fold(n) != provider)
    return bool(names) and _name_pattern(names).search(folded) is not None


@lru_cache(maxsize=64)
def _name_pattern(names: tuple[str, ...]) -> re.Pattern[str]:
    folded = sorted((fold(n) for n in names), key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(re.escape(n) for n in folded) + r")(?:en|s)?\b")


def _overlaps(source: Source, doc_id: str, start: int, end: int) -> bool:
    return source.doc_id == doc_id and source.start < end and start < source.end


class InstrumentMatcher:
    """Scores the catalogue against a question; instrument vectors are made once."""

    def __init__(self, catalogue: Catalogue, embedder: Embedder, model: LogisticModel,
                 seeks: LogisticModel | None = None) -> None:
        self.catalogue = catalogue
        self.embedder = embedder
        self.model = model
        self.seeks = seeks
        self._vectors: np.ndarray | None = None
        self._lock = threading.Lock()

    def vectors(self) -> np.ndarray:
        with self._lock:
            if self._vectors is None:
                texts = [description(i) for i in self.catalogue.instruments]
                self._vectors = self.embedder.embed_documents(texts)
            return self._vectors

    def features(
        self, question: str, vector: np.ndarray, passages: Sequence[Passage],
        units: Sequence[Unit],
    ) -> list[dict[str, float]]:
        similarities = self.vectors() @ vector if vector.size else np.zeros(
            len(self.catalogue.instruments))
        best = float(similarities.max()) if len(similarities) else 0.0
        # folded once here, not once per instrument
        passage_texts = [(p.chunk.doc_id, fold(p.chunk.quote)) for p in passages]
        unit_texts = [(u.doc_id, fold(u.text)) for u in units]
        rows = []
        for instrument, similarity in zip(self.catalogue.instruments, similarities, strict=True):
            sources = [s for s in instrument.sources if s is not None]
            # a page the catalogue does not cite for this instrument (a municipality's own
            # Blijverslening page, added later) is evidence when it names the instrument
            cited = {s.doc_id for s in sources}
            rank = next(
                (r for r, p in enumerate(passages)
                 if any(_overlaps(s, p.chunk.doc_id, p.chunk.start, p.chunk.end)
                        for s in sources)),
                None,
            )
            rows.append({
                "similarity": float(similarity),
                "similarity_gap": float(similarity) - best,
                "named": float(names_in(question, instrument)),
                "evidence": 0.0 if rank is None else 1.0 / (1.0 + rank),
                "evidence_unit": float(any(_overlaps(s, u.doc_id, u.start, u.end)
                                           for s in sources for u in units)),
                "uncited_page": next((1.0 / (1.0 + r) for r, (doc_id, text)
                                      in enumerate(passage_texts)
                                      if doc_id not in cited and _names_folded(text, instrument)),
                                     0.0),
                "uncited_page_unit": float(any(
                    doc_id not in cited and _names_folded(text, instrument)
                    for doc_id, text in unit_texts)),
            })
        return rows

    def seeks_support(self, vector: np.ndarray) -> float:
        """Whether the asker seeks support rather than a text's content: one value for
        every instrument, 0.5 when no model was trained."""
        return float(vector_probabilities(self.seeks, vector)[0]) if vector.size else 0.5

    def suggest(
        self, question: str, vector: np.ndarray, passages: Sequence[Passage],
        units: Sequence[Unit],
    ) -> list[Suggestion]:
        rows = self.features(question, vector, passages, units)
        seeks = self.seeks_support(vector)
        for row in rows:
            row["seeks"] = seeks
        scores = self.model.probabilities(self.model.matrix(rows))
        facts = self.catalogue.facts(question)
        found: dict[str, Suggestion] = {}
        for instrument, score in sorted(zip(self.catalogue.instruments, scores, strict=True),
                                        key=lambda pair: -pair[1]):
            if score < self.model.threshold:
                continue
            suggestion = judge(instrument, facts, float(score))
            found[instrument.id] = suggestion
            for rule in _failed(instrument, facts):
                alternative = self.catalogue.get(rule.instead) if rule.instead else None
                if alternative and alternative.id not in found:
                    found[alternative.id] = Suggestion(
                        alternative, " ".join((rule.instead_why or alternative.spec.why).split()),
                        not any(True for _ in _failed(alternative, facts)),
                        alternative.first_source(), float(score),
                    )
        return sorted(found.values(), key=lambda s: (not s.fits, -s.score))


def _failed(instrument: Instrument, facts: Facts) -> list[Eligibility]:
    """The eligibility rules the stated situation breaks."""
    broken = []
    conditions = instrument.spec.conditions
    for rule in instrument.spec.eligibility:
        if rule.fact in ("units", "hours"):
            value = facts.units if rule.fact == "units" else facts.hours
            if value is None:
                continue
            below = conditions[rule.below] if rule.below else None
            above = conditions[rule.above] if rule.above else None
            if (below is not None and value < below) or (above is not None and value > above):
                broken.append(rule)
        else:
            stated = facts.values(rule.fact)
            if stated & set(rule.excludes) and not stated & set(rule.unless):
                broken.append(rule)
    return broken


def _fill(template: str, instrument: Instrument, facts: Facts) -> str:
    values: dict[str, Any] = {k: v for k, v in instrument.spec.conditions.items()
                              if isinstance(v, str | int | float)}
    if facts.units is not None:
        values["units"] = f"{facts.units:g}"
    if facts.hours is not None:
        values["hours"] = f"{facts.hours:g}"
    return " ".join(template.format_map(values).split())


def judge(instrument: Instrument, facts: Facts, score: float) -> Suggestion:
    broken = _failed(instrument, facts)
    if broken:
        rule = broken[0]
        return Suggestion(instrument, _fill(rule.why, instrument, facts), False,
                          instrument.source(rule.source) or instrument.first_source(), score)
    return Suggestion(instrument, " ".join(instrument.spec.why.split()), True,
                      instrument.first_source(), score)


def to_api(suggestion: Suggestion, titles: Mapping[str, str]) -> dict[str, Any]:
    """The suggestion as assistant.schemas.InstrumentSuggestion expects it."""
    spec, source = suggestion.instrument.spec, suggestion.source
    return {
        "id": spec.id,
        "name": spec.name,
        "kind": spec.kind,
        "why": suggestion.why,
        "fits": suggestion.fits,
        "source": None if source is None else {
            "n": 0, "doc_id": source.doc_id, "title": titles.get(source.doc_id, source.doc_id),
            "section": "", "quote": source.quote, "start": source.start, "end": source.end,
            "score": round(suggestion.score, 4),
        },
    }


def catalogue_entry(instrument: Instrument, titles: Mapping[str, str]) -> dict[str, Any]:
    """An instrument as `/api/instruments` shows it, with its located sources."""
    spec = instrument.spec
    return {
        "id": spec.id, "name": spec.name, "kind": spec.kind, "for_whom": spec.for_whom,
        "purpose": " ".join(spec.purpose.split()), "conditions": spec.conditions,
        "sources": [
            {"doc_id": s.doc_id, "quote": s.quote, "start": s.start, "end": s.end,
             "title": titles.get(s.doc_id, s.doc_id)}
            for s in instrument.sources if s is not None
        ],
    }


_LABELS = {
    "provider": "aanbieder", "housing_tenure": "woningtype", "housing_form": "woonvorm",
    "care_forms": "alleen voor", "excluded": "niet voor", "requires": "vereist",
    "repayment": "terugbetaling", "municipality_must_join": "gemeente moet aangesloten zijn",
    "municipality_decides": "gemeente bepaalt verstrekking, bijvoorbeeld",
    "target_age_min": "minimumleeftijd", "min_units": "minimaal aantal wooneenheden",
    "max_hours": "maximaal aantal uren", "cost_share": "kostenverdeling", "roles": "rollen",
    "takes_over_work": "neemt werk over", "applicant": "indiener", "submit_to": "indienen bij",
    "enables": "maakt mogelijk", "notes": "let op",
}


def _value(key: str, value: Any) -> str:
    if key == "cost_share":
        btw = " incl. btw" if value.get("local_incl_btw") else ""
        local = f"€ {value['local_max_eur']:,.0f}".replace(",", ".")
        rijk = f"€ {value['rijk_max_eur']:,.0f}".replace(",", ".")
        return (f"{' of '.join(value['local_payers'])} betaalt {value['local_fraction']} "
                f"(max. {local}{btw}), Rijk de rest (max. {rijk})")
    if isinstance(value, bool):
        return "ja" if value else "nee"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def format_catalogue(catalogue: Catalogue) -> str:
    """Dutch plain-text listing for `assistant instruments`."""
    lines = [f"Financiële instrumenten en ondersteuning ({len(catalogue.instruments)})", ""]
    for instrument in catalogue.instruments:
        spec = instrument.spec
        lines.append(f"{spec.name}  [{spec.kind}, id: {spec.id}]")
        lines.append(f"  Voor wie: {', '.join(spec.for_whom)}")
        lines.append(f"  Waarvoor: {' '.join(spec.purpose.split())}")
        lines.append("  Voorwaarden:")
        lines.extend(f"    - {_LABELS.get(k, k)}: {_value(k, v)}"
                     for k, v in spec.conditions.items())
        lines.append("  Bronnen:")
        lines.extend(f"    - {s.doc_id} [{s.start}:{s.end}]: \u201c{s.quote}\u201d"
                     for s in instrument.sources if s is not None)
        lines.append("")
    if catalogue.problems:
        lines.append("Problemen met bronnen:")
        lines.extend(f"  - {p}" for p in catalogue.problems)
    return "\n".join(lines).rstrip() + "\n"
