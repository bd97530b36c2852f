"""Triage of one report: redact, check it is a report, classify, judge urgency, suggest support.

The report is redacted before anything else sees it; the embedding model, the retriever and
the stored result only ever get the redacted text.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from assistant.embedder import Embedder
from assistant.instruments import INSTRUMENT_FEATURES, InstrumentMatcher
from assistant.instruments import judge as judge_instrument
from assistant.language.sentences import split_sentences
from assistant.learned import LogisticModel, learned
from assistant.privacy import redact
from assistant.retrieval import Retriever
from assistant.rules.taxonomy import FASE_IDS, Taxonomy
from assistant.store import IndexHandle
from assistant.triage.classify import (
    LONG_REPORT,
    LabelProfile,
    choose_fase,
    choose_themes,
    embedding_features,
    feature_rows,
    probabilities,
    reading_windows,
    report_terms,
    with_windows,
)
from assistant.triage.report import check_report
from assistant.triage.urgency import DEFAULT_URGENCY_MODEL, Signal, judge
from assistant.triage.wording import WordingModel, blend, wording_model

MAX_SUPPORT = 3
MAX_SIMILAR = 3
SIMILAR_MIN = 0.5
CITATIONS = 3
DEFAULT_THEME_MODEL = LogisticModel.manual(
    {"description_gap": 25.0, "description": 4.0, "lexical": 6.0}, bias=-1.0,
    note="manual defaults",
)
DEFAULT_FASE_MODEL = LogisticModel.manual({"description_gap": 25.0}, bias=0.0,
                                          note="manual defaults")
SUPPORT_FEATURES = (*INSTRUMENT_FEATURES, "urgent")


@dataclass
class TriageResult:
    themes: list[dict[str, Any]]
    fase: str
    support: list[dict[str, Any]]
    citations: list[dict[str, Any]]
    similar: list[dict[str, Any]]
    urgent: bool
    redacted_report: str
    urgency_reasons: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TriageResult:
        return cls(**data)


@dataclass(frozen=True)
class TriageModels:
    themes: dict[str, LogisticModel]
    fases: dict[str, LogisticModel]
    urgency: LogisticModel
    support: dict[str, LogisticModel]
    wording: WordingModel | None = None

    @classmethod
    def for_key(cls, model_key: str, theme_ids: list[str], support_ids: list[str]
                ) -> TriageModels:
        return cls(
            themes={t: learned(f"theme:{t}", model_key) or DEFAULT_THEME_MODEL
                    for t in theme_ids},
            fases={f: learned(f"fase:{f}", model_key) or DEFAULT_FASE_MODEL for f in FASE_IDS},
            urgency=learned("urgency", model_key) or DEFAULT_URGENCY_MODEL,
            support={s: m for s in support_ids if (m := learned(f"support:{s}", model_key))},
            wording=wording_model(),
        )


def _citation(n: int, source: Any, title: str, score: float, section: str = "") -> dict[str, Any]:
    return {"n": n, "doc_id": source.doc_id, "title": title, "section": section,
            "quote": source.quote, "start": source.start, "end": source.end,
            "score": round(float(score), 4), "cited": True}


@dataclass
class Analysis:
    """Everything measured on one report, before any decision (training reads this too)."""

    redacted: str
    sentences: list[str]
    vector: np.ndarray
    sentence_vectors: np.ndarray
    theme_rows: dict[str, dict[str, float]]
    fase_rows: dict[str, dict[str, float]]
    support_rows: dict[str, dict[str, float]]
    passages: list[Any]


class TriageEngine:
    """Triage over one index build; label vectors are made once and shared between threads."""

    def __init__(self, taxonomy: Taxonomy, handle: IndexHandle, embedder: Embedder,
                 retriever: Retriever, matcher: InstrumentMatcher) -> None:
        self.taxonomy = taxonomy
        self.handle = handle
        self.embedder = embedder
        self.retriever = retriever
        self.matcher = matcher
        self.models = TriageModels.for_key(
            embedder.model_key, [t.spec.id for t in taxonomy.themes],
            [i.id for i in matcher.catalogue.instruments],
        )
        self._profiles: tuple[list[LabelProfile], list[LabelProfile], list[Signal],
                              np.ndarray] | None = None
        self._lock = threading.Lock()

    def profiles(self) -> tuple[list[LabelProfile], list[LabelProfile], list[Signal], np.ndarray]:
        with self._lock:
            if self._profiles is None:
                taxonomy, analyzer = self.taxonomy, self.handle.analyzer
                embed = self.embedder.embed_documents
                themes = [
                    LabelProfile(
                        t.spec.id, embed([t.spec.description])[0],
                        embed([c.quote for c in t.citations]) if t.citations
                        else np.zeros((0, self.embedder.dimension)),
                        frozenset(analyzer.analyze(t.spec.description)),
                    )
                    for t in taxonomy.themes
                ]
                fases = [
                    LabelProfile(f.id, embed([f.description])[0],
                                 np.zeros((0, self.embedder.dimension)),
                                 frozenset(analyzer.analyze(f.description)))
                    for f in taxonomy.fases
                ]
                signals = [Signal(s.id, s.label, v) for s, v in zip(
                    taxonomy.signals, embed([s.description for s in taxonomy.signals]),
                    strict=True)]
                similar = (embed([f"{c.spec.title}\n{c.source.quote}" for c in taxonomy.similar])
                           if taxonomy.similar else np.zeros((0, self.embedder.dimension)))
                self._profiles = (themes, fases, signals, similar)
            return self._profiles

    def analyse(self, report: str) -> Analysis:
        redacted = redact(report).strip()
        check_report(redacted, frozenset(self.handle.bm25.idf))
        themes, fases, _, _ = self.profiles()
        sentences = [redacted[s.start:s.end] for s in split_sentences(redacted)] or [redacted]
        vector = self.embedder.embed_query(redacted)
        sentence_vectors = np.stack([self.embedder.embed_query(s) for s in sentences])
        terms = report_terms(self.handle.analyzer, redacted, self.handle.bm25.idf)
        passages = self.retriever.retrieve(redacted, CITATIONS)
        embedding = embedding_features(vector)
        return Analysis(redacted, sentences, vector, sentence_vectors,
                        feature_rows(vector, terms, themes, embedding),
                        feature_rows(vector, terms, fases, embedding),
                        self._support_rows(redacted, vector, passages, embedding), passages)

    def _support_rows(self, text: str, vector: np.ndarray, passages: list[Any],
                      embedding: dict[str, float]) -> dict[str, dict[str, float]]:
        # One embedding feature set for every label model. For support it says what kind of
        # help the report asks for (a team's advice, a knelpunt for the Taskforce) where the
        # instrument's own evidence cannot.
        rows = self.matcher.features(text, vector, passages, [])
        return {i.id: {**embedding, **row}
                for i, row in zip(self.matcher.catalogue.instruments, rows, strict=True)}

    def triage(self, report: str) -> TriageResult:
        analysis = self.analyse(report)
        themes, _, signals, similar_vectors = self.profiles()
        models = self.models
        wording = models.wording.probabilities(analysis.redacted) if models.wording else {}
        theme_scores = self._theme_scores(analysis.theme_rows, wording)
        windows = ([self._read_window(w) for w in reading_windows(analysis.redacted)]
                   if len(analysis.redacted) >= LONG_REPORT else [])
        theme_scores = with_windows(theme_scores, [themes for themes, _ in windows])
        chosen = choose_themes(theme_scores, models.themes)
        fase = choose_fase(blend(probabilities(analysis.fase_rows, models.fases), wording,
                                 "fase:"))
        urgency = judge(analysis.sentences, analysis.vector, analysis.sentence_vectors, signals,
                        analysis.redacted, models.urgency)
        by_id = {p.id: p for p in themes}
        return TriageResult(
            themes=[{"id": t, "label": self.taxonomy.label(t),
                     "score": round(theme_scores[t], 4),
                     "reason": self._reason(t, by_id[t], analysis)} for t in chosen],
            fase=fase,
            support=self._support(analysis, float(urgency.urgent),
                                  [support for _, support in windows]),
            citations=self._citations(analysis),
            similar=self._similar(analysis.vector, similar_vectors),
            urgent=urgency.urgent,
            urgency_reasons=urgency.reasons,
            redacted_report=analysis.redacted,
        )

    def _read_window(self, text: str
                     ) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
        # a part of a long melding, read as `triage` reads the whole: theme probabilities
        # and support rows
        themes, _, _, _ = self.profiles()
        vector = self.embedder.embed_query(text)
        embedding = embedding_features(vector)
        rows = feature_rows(vector, report_terms(self.handle.analyzer, text,
                                                 self.handle.bm25.idf), themes, embedding)
        wording = self.models.wording.probabilities(text) if self.models.wording else {}
        support = self._support_rows(text, vector, self.retriever.retrieve(text, CITATIONS),
                                     embedding)
        return self._theme_scores(rows, wording), support

    def _theme_scores(self, rows: dict[str, dict[str, float]], wording: dict[str, float]
                      ) -> dict[str, float]:
        return blend(probabilities(rows, self.models.themes), wording, "theme:")

    def _reason(self, theme_id: str, profile: LabelProfile, analysis: Analysis) -> str:
        """The report's sentence that is most about the theme, quoted."""
        scores = analysis.sentence_vectors @ profile.description_vector
        sentence = analysis.sentences[int(np.argmax(scores))]
        label = self.taxonomy.label(theme_id)
        return f"De melding gaat over {label.lower()}: \u201c{sentence}\u201d"

    def _support(self, analysis: Analysis, urgent: float,
                 windows: list[dict[str, dict[str, float]]]) -> list[dict[str, Any]]:
        """Support options by a model per option (tune reports), then the catalogue's own
        eligibility rules on what the report states."""
        facts = self.matcher.catalogue.facts(analysis.redacted)
        instruments = self.matcher.catalogue.instruments
        models = {i.id: self.models.support.get(i.id, self.matcher.model) for i in instruments}

        def scores(rows: dict[str, dict[str, float]]) -> dict[str, float]:
            return {i.id: models[i.id].probability({**rows[i.id], "urgent": urgent})
                    for i in instruments}

        combined = with_windows(scores(analysis.support_rows), [scores(w) for w in windows])
        found = [judge_instrument(i, facts, combined[i.id]) for i in instruments
                 if combined[i.id] >= models[i.id].threshold]
        found.sort(key=lambda s: (not s.fits, -s.score))
        return [{"id": s.instrument.id, "name": s.instrument.spec.name, "why": s.why,
                 "fits": s.fits} for s in found[:MAX_SUPPORT]]

    def _citations(self, analysis: Analysis) -> list[dict[str, Any]]:
        return [
            {"n": n, "doc_id": p.chunk.doc_id, "title": p.chunk.title,
             "section": p.chunk.section, "quote": p.chunk.quote, "start": p.chunk.start,
             "end": p.chunk.end, "score": round(float(p.score), 6), "cited": True}
            for n, p in enumerate(analysis.passages[:CITATIONS], start=1)
        ]

    def _similar(self, vector: np.ndarray, vectors: np.ndarray) -> list[dict[str, Any]]:
        if not len(vectors):
            return []
        scores = vectors @ vector
        order = [i for i in np.argsort(-scores) if scores[i] >= SIMILAR_MIN][:MAX_SIMILAR]
        titles = {d: doc.title for d, doc in self.handle.documents.items()}
        out = []
        for n, i in enumerate(order, start=1):
            case = self.taxonomy.similar[int(i)]
            out.append({"title": case.spec.title, "citation": _citation(
                n, case.source, titles.get(case.source.doc_id, case.source.doc_id),
                float(scores[i]))})
        return out
