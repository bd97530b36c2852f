"""The assistant as plain functions over one index: what the API, CLI and evals all call.

The question's path, in this order: follow-up → retrieval → selection → decision (answer or
refuse) → composition → instruments. Each stage is a plain function in its own module; this
module only wires them and times them.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from langchain_core.language_models import BaseChatModel

from assistant.answering.compose import compose
from assistant.answering.conflicts import find_conflicts
from assistant.answering.decide import DEFAULT_DECISION_MODEL, Decision, decide
from assistant.answering.followup import (
    conversation_topic,
    own_focus,
    situation_text,
    standalone_question,
)
from assistant.answering.question import question_view
from assistant.answering.select import DEFAULT_UNIT_MODEL, Evidence, select, with_source_units
from assistant.config import Settings
from assistant.domain import Document, Passage
from assistant.embedder import Embedder, get_embedder
from assistant.generation.chat import chat_model
from assistant.generation.generate import FinalEvent, GenerationEvent, generate_answer
from assistant.generation.types import EvidencePassage
from assistant.instruments import (
    DEFAULT_INSTRUMENT_MODEL,
    InstrumentMatcher,
    Suggestion,
    catalogue_entry,
    to_api,
)
from assistant.learned import LogisticModel, Scorer, learned, learned_scorer
from assistant.privacy import redact
from assistant.prompts import render
from assistant.retrieval import Retriever
from assistant.retrieval.dense import DenseRetriever
from assistant.retrieval.fuse import HybridRetriever
from assistant.retrieval.lexical import LexicalRetriever
from assistant.rules.catalogue import Catalogue, build_catalogue, read_spec
from assistant.rules.taxonomy import build_taxonomy, read_taxonomy
from assistant.schemas import (
    AskRequest,
    AskResponse,
    InstrumentSuggestion,
    Label,
    Refusal,
    TriageItem,
    TriageLabels,
    TriageList,
    Verification,
)
from assistant.store import IndexHandle, IndexProvider
from assistant.triage.desk import TriageEngine
from assistant.triage.report import NotAReport
from assistant.triage_store import STATUSES, TriageStore

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_REPORT_CHARS = 5000
RETRIEVAL_DEPTH = 8
DETAIL_LABELS = {
    "bedrag": "bedragen", "percentage": "rentes of percentages", "termijn": "data of termijnen",
    "aantal": "aantallen", "leeftijd": "leeftijdsgrenzen",
    "getal": "cijfers",
}


class InvalidRequest(ValueError):
    """Input the assistant refuses, with a Dutch message for the user."""


class UnknownDocument(KeyError):
    """A document id that is not in the index."""


@dataclass
class Components:
    embedder: Embedder
    provider: IndexProvider
    retriever: Retriever


def build_components(settings: Settings, embedder: Embedder | None = None) -> Components:
    embedder = embedder or get_embedder(settings)
    provider = IndexProvider(settings, embedder.model_key)
    lexical = LexicalRetriever(provider)
    dense = DenseRetriever(provider, embedder)
    retrievers: dict[str, Retriever] = {
        "bm25": lexical,
        "dense": dense,
        "hybrid": HybridRetriever(dense, lexical),
    }
    return Components(embedder, provider, retrievers[settings.retrieval_mode])


@dataclass(frozen=True)
class Models:
    """The calibrated models for the configured embedding model (see assistant.learned)."""

    units: LogisticModel
    decision: Scorer
    intent: LogisticModel | None
    match: LogisticModel | None
    agreement: LogisticModel | None
    instruments: LogisticModel
    seeks: LogisticModel | None

    @classmethod
    def for_key(cls, model_key: str) -> Models:
        return cls(
            units=learned("units", model_key) or DEFAULT_UNIT_MODEL,
            decision=learned_scorer("decision", model_key) or DEFAULT_DECISION_MODEL,
            intent=learned("intent", model_key, fallback=False),
            match=learned("match", model_key, fallback=False),
            agreement=learned("agreement", model_key, fallback=False),
            instruments=learned("instruments", model_key) or DEFAULT_INSTRUMENT_MODEL,
            seeks=learned("seeks", model_key, fallback=False),
        )


@dataclass
class _BuildState:
    """What depends on one index build: the located catalogue and its matcher."""

    build_id: str
    catalogue: Catalogue
    matcher: InstrumentMatcher


class Assistant:
    """Answers questions over the current index; safe to share between threads."""

    def __init__(self, settings: Settings, components: Components) -> None:
        self.settings = settings
        self.components = components
        self.models = Models.for_key(components.embedder.model_key)
        self._state: _BuildState | None = None
        self._chat: BaseChatModel | None = None
        self._lock = threading.Lock()
        # one model call per core, each with `model_threads` torch threads
        cores = os.cpu_count() or 1
        self._compute = threading.BoundedSemaphore(max(1, cores // max(1, settings.model_threads)))

    def handle(self) -> IndexHandle:
        return self.components.provider.current()

    def _build_state(self, handle: IndexHandle) -> _BuildState:
        with self._lock:
            if self._state is None or self._state.build_id != handle.build_id:
                catalogue = build_catalogue(read_spec(self.settings.corpus_dir), handle.documents)
                for problem in catalogue.problems:
                    log.warning("catalogus: %s", problem)
                matcher = InstrumentMatcher(catalogue, self.components.embedder,
                                            self.models.instruments, self.models.seeks)
                self._state = _BuildState(handle.build_id, catalogue, matcher)
            return self._state

    def catalogue(self) -> Catalogue:
        return self._build_state(self.handle()).catalogue

    def validate(self, request: AskRequest) -> None:
        question = request.question.strip()
        if not question:
            raise InvalidRequest("De vraag is leeg. Typ een vraag over wonen en zorg.")
        if len(request.question) > self.settings.max_question_chars:
            raise InvalidRequest(
                f"De vraag is te lang ({len(request.question)} tekens); "
                f"het maximum is {self.settings.max_question_chars:,} tekens.".replace(",", ".")
            )
        if len(request.history) > self.settings.max_history_turns:
            raise InvalidRequest(
                f"Het gesprek heeft te veel eerdere beurten ({len(request.history)}); "
                f"het maximum is {self.settings.max_history_turns}. Begin een nieuw gesprek."
            )
        if request.doc_ids:
            documents = self.handle().documents
            unknown = [d for d in request.doc_ids if d not in documents]
            if unknown:
                raise UnknownDocument(", ".join(unknown))

    def _guarded(self, work: Callable[[], T]) -> T:
        with self._compute:
            return work()

    def evidence(self, request: AskRequest, handle: IndexHandle) -> tuple[str, list[Passage],
                                                                        Evidence]:
        """Standalone question, retrieved passages and the selected units (no decision yet)."""
        # typing errors are read as the index's words, in the earlier turns too
        asked = handle.speller.correct(request.question)
        topic = handle.speller.correct(conversation_topic(request.history, request.question))
        question = standalone_question(asked, topic)
        embedder = self.components.embedder
        passages, vector, own = self._guarded(lambda: (
            self.components.retriever.retrieve(
                question, max(request.top_k, RETRIEVAL_DEPTH), request.doc_ids
            ),
            embedder.embed_query(question),
            embedder.embed_query(asked) if topic else None,
        ))
        # with a topic the question was joined with it: the view keeps the question's own words
        # at full weight and the topic's lower, and its vector leans partly on the question alone
        if own is not None:
            vector = own_focus(own, vector)
        view = question_view(asked if topic else question, vector,
                             handle.analyzer, handle.bm25.idf, topic)
        return question, passages, select(handle, view, passages, self.models.units,
                                          agreement=self.models.agreement)

    def decision(self, handle: IndexHandle, evidence: Evidence) -> Decision:
        return decide(handle, evidence, self.models.decision, self.models.intent,
                      self.models.match)

    def answer_with_evidence(self, request: AskRequest) -> tuple[AskResponse, list[Passage]]:
        """The extractive answer (or the refusal) with its citations and instruments: the
        evidence a written answer builds on, ready within the usual fraction of a second."""
        self.validate(request)
        started = time.perf_counter()
        handle = self.handle()
        question, passages, evidence = self.evidence(request, handle)
        log.info("vraag: %s", redact(question))
        selected = time.perf_counter()
        decision = self.decision(handle, evidence)
        decided = time.perf_counter()
        response = AskResponse(answer="", answerable=decision.answer,
                               standalone_question=redact(question), citations=[])
        if not decision.answer:
            message = refusal_message(handle.documents, decision)
            response.answer = message
            response.refusal = Refusal(reason=decision.reason, message=message)
        suggested = composed_at = decided
        if decision.answer:
            evidence, conflicts = find_conflicts(handle, evidence)
            suggestions = self._build_state(handle).matcher.suggest(
                situation_text(request.question, question), evidence.question.vector, passages,
                [c.unit for c in evidence.chosen],
            )
            titles = {doc_id: doc.title for doc_id, doc in handle.documents.items()}
            response.instruments = [InstrumentSuggestion(**to_api(s, titles))
                                    for s in suggestions]
            suggested = time.perf_counter()
            # a fitting instrument's own passage joins the answer after what retrieval chose
            chosen = with_source_units(handle, evidence, [
                (s.source.doc_id, s.source.start, s.source.end)
                for s in suggestions if s.fits and s.source is not None])
            composed = compose(handle, chosen, passages, request.top_k, conflicts)
            response.answer, response.citations = composed.text, composed.citations
            response.segments, response.conflicts = composed.segments, composed.conflicts
            composed_at = time.perf_counter()
        finished = time.perf_counter()
        response.timings_ms = {
            "retrieve": round((selected - started) * 1000, 2),
            "decide": round((decided - selected) * 1000, 2),
            "answer": round((composed_at - suggested) * 1000, 2),
            "instruments": round((suggested - decided) * 1000, 2),
            "total": round((finished - started) * 1000, 2),
        }
        return response, passages

    def chat_model(self) -> BaseChatModel | None:
        """The configured generator (None: extractive only), made once."""
        with self._lock:
            if self._chat is None and self.settings.generator != "extractive":
                self._chat = chat_model(self.settings)
            return self._chat

    def written(self, request: AskRequest, response: AskResponse) -> Iterator[GenerationEvent]:
        """Generated, verified sentences on top of the evidence; nothing when the decision
        refused (a fluent answer to an unanswerable question is never shown) or when the
        generator is extractive."""
        model = self.chat_model()
        if model is None or not response.answerable:
            return iter(())
        handle = self.handle()
        excerpts = evidence_passages(handle, response)
        # lexical support only: that is the threshold scripts/calibrate_verifier.py calibrated
        return generate_answer(response.standalone_question, excerpts, request.history, model,
                               analyzer=handle.analyzer)

    def ask(self, request: AskRequest) -> AskResponse:
        response, _ = self.answer_with_evidence(request)
        final = None
        for event in self.written(request, response):
            if isinstance(event, FinalEvent):
                final = event
        return with_written_answer(response, final)

    def suggestions(self, request: AskRequest) -> list[Suggestion]:
        """Instrument suggestions for a question alone (the CLI and evaluation use this)."""
        handle = self.handle()
        question, passages, evidence = self.evidence(request, handle)
        return self._build_state(handle).matcher.suggest(
            situation_text(request.question, question), evidence.question.vector, passages,
            [c.unit for c in evidence.chosen],
        )

    def catalogue_entries(self) -> list[dict[str, Any]]:
        handle = self.handle()
        titles = {d.doc_id: d.title for d in handle.documents.values()}
        return [catalogue_entry(i, titles) for i in self._build_state(handle).catalogue.instruments]

    def catalogue_entry(self, instrument_id: str) -> dict[str, Any]:
        handle = self.handle()
        instrument = self._build_state(handle).catalogue.get(instrument_id)
        if instrument is None:
            raise UnknownInstrument(instrument_id)
        titles = {d.doc_id: d.title for d in handle.documents.values()}
        return catalogue_entry(instrument, titles)

    def documents(self) -> list[dict[str, Any]]:
        handle = self.handle()
        counts: dict[str, int] = {}
        for chunk in handle.chunks:
            counts[chunk.doc_id] = counts.get(chunk.doc_id, 0) + 1
        return [
            {
                "id": d.doc_id,
                "title": d.title,
                "kind": d.kind,
                "publisher": d.publisher,
                "phase": d.phase,
                "chunks": counts.get(d.doc_id, 0),
            }
            for d in sorted(handle.documents.values(), key=lambda d: d.doc_id)
        ]

    def document(self, doc_id: str) -> Document:
        document = self.handle().documents.get(doc_id)
        if document is None:
            raise UnknownDocument(doc_id)
        return document

    def health(self) -> dict[str, Any]:
        handle = self.handle()
        manifest = handle.manifest
        problems = self._build_state(handle).catalogue.problems
        return {
            "status": "degraded" if problems else "ok",
            "problems": problems,
            "documents": manifest["documents"],
            "chunks": manifest["chunks"],
            "units": manifest.get("units", 0),
            "embedding_model": manifest["embedding_model"],
            "dimension": manifest["dimension"],
            "index_built_at": manifest["built_at"],
            "build_id": handle.build_id,
            "retrieval_mode": self.settings.retrieval_mode,
        }


EXCERPTS = 4


def evidence_passages(handle: IndexHandle, response: AskResponse) -> list[EvidencePassage]:
    """The numbered passages a generator may cite: the cited ones first, as the answer
    numbers them, in the cleaned form the index searches (markup and page breaks gone)."""
    chunks = {(c.doc_id, c.start, c.end): c for c in handle.chunks}
    out = []
    for citation in response.citations[:EXCERPTS]:
        chunk = chunks.get((citation.doc_id, citation.start, citation.end))
        text = chunk.search_text if chunk else citation.quote
        out.append(EvidencePassage(citation.n, citation.doc_id, citation.title,
                                   citation.section, text))
    return out


def with_written_answer(response: AskResponse, final: FinalEvent | None) -> AskResponse:
    """The response with the verified written answer, or with the extractive one and the
    reason when too little of the written one held up."""
    if final is None:
        return response
    summary = final.answer.summary
    response.verification = Verification(
        generator=final.generator, kept=summary.kept, dropped=summary.dropped,
        reasons=summary.reasons, fallback=final.fallback, fallback_reason=final.fallback_reason,
        timings_ms=final.timings_ms,
    )
    if final.fallback:
        return response
    response.generator = final.generator
    response.extractive_answer = response.answer
    response.answer = final.answer.text
    used = {n for sentence in final.answer.sentences if sentence.supported
            for n in sentence.cited}
    for citation in response.citations:
        citation.cited = citation.cited or citation.n in used
    return response


def refusal_message(documents: dict[str, Document], decision: Decision) -> str:
    titles = "; ".join(d.title for d in sorted(documents.values(), key=lambda d: d.doc_id))
    detail = decision.detail
    if decision.reason == "detail-ontbreekt":
        detail = " of ".join(DETAIL_LABELS.get(k, k) for k in detail.split(", "))
    return render(f"refusal-{decision.reason}", documents=titles, detail=detail)


def build_assistant(settings: Settings, embedder: Embedder | None = None) -> Assistant:
    return Assistant(settings, build_components(settings, embedder))


def document_payload(document: Document) -> dict[str, Any]:
    data = document.metadata()
    data["text"] = document.text
    return data


class UnknownInstrument(KeyError):
    """An instrument id that is not in the catalogue."""


class UnknownReport(KeyError):
    """A triage report id that is not in the queue."""


class HelpDesk:
    """Triage of reported knelpunten: classify, suggest support, queue; keeps no personal data."""

    def __init__(self, settings: Settings, assistant: Assistant) -> None:
        self.settings = settings
        self.assistant = assistant
        self._engine: TriageEngine | None = None
        self._store: TriageStore | None = None
        self._lock = threading.Lock()

    def engine(self) -> TriageEngine:
        handle = self.assistant.handle()
        state = self.assistant._build_state(handle)
        with self._lock:
            if self._engine is None or self._engine.handle.build_id != handle.build_id:
                taxonomy = build_taxonomy(read_taxonomy(self.settings.corpus_dir),
                                          handle.documents)
                for problem in taxonomy.problems:
                    log.warning("taxonomie: %s", problem)
                self._engine = TriageEngine(taxonomy, handle, self.assistant.components.embedder,
                                            self.assistant.components.retriever, state.matcher)
            return self._engine

    @property
    def store(self) -> TriageStore:
        with self._lock:
            if self._store is None:
                self._store = TriageStore(self.settings.sqlite_path)
            return self._store

    def labels(self) -> TriageLabels:
        engine = self.engine()
        taxonomy = engine.taxonomy
        return TriageLabels(
            themes=[Label(id=t.spec.id, label=t.spec.label,
                          description=" ".join(t.spec.description.split()))
                    for t in taxonomy.themes],
            fases=[Label(id=f.id, label=f.label, description=" ".join(f.description.split()))
                   for f in taxonomy.fases],
            statuses=[Label(id=s, label=s.replace("-", " ").capitalize()) for s in STATUSES],
            support=[Label(id=i.id, label=i.spec.name)
                     for i in engine.matcher.catalogue.instruments],
        )

    def submit(self, report: str) -> TriageItem:
        if len(report) > MAX_REPORT_CHARS:
            raise InvalidRequest(
                f"De melding is te lang ({len(report)} tekens); het maximum is 5.000 tekens."
            )
        engine = self.engine()
        try:
            result = self.assistant._guarded(lambda: engine.triage(report))
        except NotAReport as exc:
            raise InvalidRequest(str(exc)) from exc
        return TriageItem(**self.store.add(result))

    def get(self, report_id: str) -> TriageItem:
        row = self.store.get(report_id)
        if row is None:
            raise UnknownReport(report_id)
        return TriageItem(**row)

    def list(self, **filters: Any) -> TriageList:
        page = self.store.list(**filters)
        return TriageList(items=[TriageItem(**row) for row in page["items"]], total=page["total"])

    def update(self, report_id: str, status: str | None, note: str | None) -> TriageItem:
        row = self.store.update(report_id, status=status, note=note)
        if row is None:
            raise UnknownReport(report_id)
        return TriageItem(**row)

    def export_csv(self) -> str:
        return self.store.export_csv()
