"""The assistant as plain functions over one index: what the API, CLI and evals all call."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from assistant.answer import ExtractiveGenerator, Generator, inverse_document_frequencies
from assistant.config import Settings
from assistant.domain import Document, Passage
from assistant.embedder import Embedder, get_embedder
from assistant.followup import standalone_question
from assistant.instruments import Catalogue, Suggestion, load_catalogue, suggest, to_api
from assistant.privacy import redact
from assistant.retrieve import DenseRetriever, HybridRetriever, LexicalRetriever, Retriever
from assistant.schemas import (
    AskRequest,
    AskResponse,
    InstrumentSuggestion,
    Label,
    Refusal,
    TriageItem,
    TriageLabels,
    TriageList,
)
from assistant.store import IndexHandle, IndexProvider
from assistant.triage import Taxonomy, load_taxonomy, triage
from assistant.triage_store import STATUSES, TriageStore

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_REPORT_CHARS = 5000


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


class Assistant:
    """Answers questions over the current index; safe to share between threads."""

    def __init__(
        self,
        settings: Settings,
        components: Components,
        generator_factory: Callable[[IndexHandle], Generator] | None = None,
    ) -> None:
        self.settings = settings
        self.components = components
        self._generator_factory = generator_factory or self._extractive
        self._generators: dict[str, Generator] = {}
        self._catalogue: Catalogue | None = None
        self._lock = threading.Lock()
        # one model call per core, each with `model_threads` torch threads
        cores = os.cpu_count() or 1
        self._compute = threading.BoundedSemaphore(max(1, cores // max(1, settings.model_threads)))

    @staticmethod
    def _extractive(handle: IndexHandle) -> Generator:
        return ExtractiveGenerator(
            inverse_document_frequencies([c.search_text for c in handle.chunks])
        )

    def handle(self) -> IndexHandle:
        return self.components.provider.current()

    def generator(self, handle: IndexHandle) -> Generator:
        with self._lock:
            if handle.build_id not in self._generators:
                self._generators = {handle.build_id: self._generator_factory(handle)}
            return self._generators[handle.build_id]

    @property
    def catalogue(self) -> Catalogue:
        with self._lock:
            if self._catalogue is None:
                self._catalogue = load_catalogue(self.settings.corpus_dir)
            return self._catalogue

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

    def ask(self, request: AskRequest) -> AskResponse:
        self.validate(request)
        started = time.perf_counter()
        handle = self.handle()
        question = standalone_question(request.question, request.history)
        log.info("vraag: %s", redact(question))
        history = [turn.model_dump() for turn in request.history]
        suggestions = suggest(request.question, self.catalogue, history)
        passages = self._guarded(
            lambda: self.components.retriever.retrieve(
                question, max(request.top_k, 8), request.doc_ids
            )
        )
        passages = promote_sources(handle, passages, suggestions, request.doc_ids)
        retrieved = time.perf_counter()
        context = ""
        if question != request.question.strip():
            context = " ".join(t.content for t in request.history if t.role == "user")
        answer = self.generator(handle).answer(
            request.question if context else question,
            passages,
            handle.documents,
            request.top_k,
            context=context,
        )
        answered = time.perf_counter()
        titles = {doc_id: doc.title for doc_id, doc in handle.documents.items()}
        instruments = (
            [InstrumentSuggestion(**to_api(s, titles)) for s in suggestions]
            if answer.answerable
            else []
        )
        finished = time.perf_counter()
        return AskResponse(
            answer=answer.text,
            answerable=answer.answerable,
            standalone_question=question,
            citations=answer.citations,
            segments=answer.segments,
            refusal=None
            if answer.answerable
            else Refusal(reason=answer.refusal_reason or "onvoldoende", message=answer.text),
            instruments=instruments,
            timings_ms={
                "retrieve": round((retrieved - started) * 1000, 2),
                "answer": round((answered - retrieved) * 1000, 2),
                "instruments": round((finished - answered) * 1000, 2),
                "total": round((finished - started) * 1000, 2),
            },
        )

    def catalogue_entries(self) -> list[dict[str, Any]]:
        titles = {d.doc_id: d.title for d in self.handle().documents.values()}
        return [catalogue_entry_payload(i, titles) for i in self.catalogue.all()]

    def catalogue_entry(self, instrument_id: str) -> dict[str, Any]:
        instrument = self.catalogue.get(instrument_id)
        if instrument is None:
            raise UnknownInstrument(instrument_id)
        titles = {d.doc_id: d.title for d in self.handle().documents.values()}
        return catalogue_entry_payload(instrument, titles)

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
        return {
            "status": "ok",
            "documents": manifest["documents"],
            "chunks": manifest["chunks"],
            "embedding_model": manifest["embedding_model"],
            "dimension": manifest["dimension"],
            "index_built_at": manifest["built_at"],
            "build_id": handle.build_id,
            "retrieval_mode": self.settings.retrieval_mode,
        }


def build_assistant(settings: Settings, embedder: Embedder | None = None) -> Assistant:
    return Assistant(settings, build_components(settings, embedder))


def document_payload(document: Document) -> dict[str, Any]:
    data = document.metadata()
    data["text"] = document.text
    return data


def promote_sources(
    handle: IndexHandle,
    passages: list[Passage],
    suggestions: list[Suggestion],
    doc_ids: list[str] | None,
) -> list[Passage]:
    """Put the passages that define a fitting instrument first: a practitioner describing a
    situation the catalogue recognises needs that instrument's own wording cited."""
    promoted: list[Passage] = []
    top = passages[0].score if passages else 1.0
    for suggestion in suggestions:
        source = suggestion.source
        if not suggestion.fits or (doc_ids and source.doc_id not in doc_ids):
            continue
        for chunk in handle.chunks:
            if chunk.doc_id == source.doc_id and chunk.start <= source.start < chunk.end:
                if all(p.chunk.chunk_id != chunk.chunk_id for p in promoted):
                    found = next((p for p in passages if p.chunk.chunk_id == chunk.chunk_id), None)
                    dense = found.dense if found else None
                    promoted.append(Passage(chunk, top, dense, found.lexical if found else None))
                break
    ids = {p.chunk.chunk_id for p in promoted}
    return promoted + [p for p in passages if p.chunk.chunk_id not in ids]


class UnknownInstrument(KeyError):
    """An instrument id that is not in the catalogue."""


class UnknownReport(KeyError):
    """A triage report id that is not in the queue."""


def catalogue_entry_payload(instrument: Any, titles: dict[str, str]) -> dict[str, Any]:
    data = asdict(instrument)
    data["sources"] = [
        dict(source, title=titles.get(source["doc_id"], source["doc_id"]))
        for source in data["sources"]
    ]
    return data


class HelpDesk:
    """Triage of reported knelpunten: classify, suggest support, queue; keeps no personal data."""

    def __init__(self, settings: Settings, assistant: Assistant) -> None:
        self.settings = settings
        self.assistant = assistant
        self._taxonomy: Taxonomy | None = None
        self._store: TriageStore | None = None
        self._lock = threading.Lock()

    @property
    def taxonomy(self) -> Taxonomy:
        with self._lock:
            if self._taxonomy is None:
                self._taxonomy = load_taxonomy(self.settings.corpus_dir)
            return self._taxonomy

    @property
    def store(self) -> TriageStore:
        with self._lock:
            if self._store is None:
                self._store = TriageStore(self.settings.sqlite_path)
            return self._store

    def labels(self) -> TriageLabels:
        taxonomy = self.taxonomy
        return TriageLabels(
            themes=[Label(id=t.id, label=t.label, description=t.description)
                    for t in taxonomy.themes],
            fases=[Label(id=f.id, label=f.label) for f in taxonomy.fases],
            statuses=[Label(id=s, label=s.replace("-", " ").capitalize()) for s in STATUSES],
            support=[Label(id=o.id, label=o.name) for o in taxonomy.support],
        )

    def validate(self, report: str) -> None:
        if not report.strip():
            raise InvalidRequest("De melding is leeg. Beschrijf het knelpunt.")
        if len(report) > MAX_REPORT_CHARS:
            raise InvalidRequest(
                f"De melding is te lang ({len(report)} tekens); het maximum is 5.000 tekens."
            )

    def submit(self, report: str) -> TriageItem:
        self.validate(report)
        result = triage(report, self.taxonomy, self.assistant.components.retriever)
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
