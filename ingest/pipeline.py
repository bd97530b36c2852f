"""The whole ingest: load → clean/chunk → embed → store, atomic and idempotent."""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.config import Settings
from assistant.domain import Chunk, Document, Unit
from assistant.embedder import Embedder, get_embedder
from assistant.language.abbreviations import find_abbreviations
from assistant.language.tokens import Analyzer
from assistant.store import read_manifest, read_pointer
from ingest.chunk import TABLE_FACTOR, ChunkSettings, chunk_document
from ingest.embed import embed_cached, embed_units, passage_text
from ingest.index import discard_build, garbage_collect, switch_to, verify_build, write_build
from ingest.load import load_paths
from ingest.units import build_units
from ingest.vector_cache import VectorCache, vector_cache_path

ANALYSIS_VERSION = "wordfreq-compounds-v1"

log = logging.getLogger(__name__)
REPORT_FILE = "last-ingest.json"

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_PARTIAL = 2


class IngestFailed(RuntimeError):
    """Nothing usable to ingest, or the new build failed verification."""


@dataclass
class IngestReport:
    status: str = "failed"
    build_id: str | None = None
    documents: int = 0
    chunks: int = 0
    embedded: int = 0
    reused: int = 0
    units: int = 0
    units_embedded: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    # catalogue and taxonomy sources that no longer occur in the documents just built
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    finished_at: str = ""
    error: str | None = None

    @property
    def exit_code(self) -> int:
        if self.status == "failed":
            return EXIT_FAILED
        return EXIT_PARTIAL if self.skipped else EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["exit_code"] = self.exit_code
        return data

    def summary(self) -> str:
        lines = [
            f"Status: {self.status}" + (f" (build {self.build_id})" if self.build_id else ""),
            f"Documenten: {self.documents}, fragmenten: {self.chunks} "
            f"(nieuw ingebed: {self.embedded}, hergebruikt: {self.reused}), "
            f"antwoordeenheden: {self.units} (nieuw ingebed: {self.units_embedded})",
            f"Overgeslagen: {len(self.skipped)}",
        ]
        lines += [f"  - {item['path']}: {item['reason']}" for item in self.skipped]
        if self.problems:
            lines.append(f"Bronproblemen (deze onderdelen staan uit tot ze zijn hersteld): "
                         f"{len(self.problems)}")
            lines += [f"  - {problem}" for problem in self.problems]
        if self.error:
            lines.append(f"Fout: {self.error}")
        lines.append(f"Duur: {self.seconds:.1f} s")
        return "\n".join(lines)


@contextmanager
def ingest_lock(settings: Settings) -> Iterator[None]:
    """One writer at a time; the OS releases the lock when a process dies (even kill -9)."""
    settings.index_root.mkdir(parents=True, exist_ok=True)
    with (settings.index_root / ".ingest.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def corpus_digest(documents: list[Document], texts: list[str], model_key: str) -> str:
    """Changes whenever the model, any text the build embeds and indexes (chunks and units
    with their headings), any document's metadata or the analysis rules change."""
    digest = hashlib.sha256(f"{ANALYSIS_VERSION}\x1f{model_key}".encode())
    for text in sorted(texts):
        digest.update(hashlib.sha256(text.encode()).digest())
    for document in sorted(documents, key=lambda d: d.doc_id):
        digest.update(json.dumps(document.metadata(), sort_keys=True, default=str).encode())
    return digest.hexdigest()


def _current_state(settings: Settings) -> tuple[str | None, dict[str, Any] | None]:
    build_id = read_pointer(settings)
    if build_id is None:
        return None, None
    try:
        return build_id, read_manifest(settings, build_id)
    except (FileNotFoundError, ValueError):
        return build_id, None


def run_ingest(
    settings: Settings,
    paths: list[Path] | None = None,
    embedder: Embedder | None = None,
    chunk_settings: ChunkSettings | None = None,
    show_progress: bool = False,
) -> IngestReport:
    """Ingest `paths` (default: the corpus) into a new build and switch to it when verified."""
    started = time.perf_counter()
    report = IngestReport()
    chunk_settings = chunk_settings or ChunkSettings(
        settings.chunk_max_chars, settings.chunk_min_chars
    )
    embedder = embedder or get_embedder(settings)
    try:
        with ingest_lock(settings):
            _ingest(
                settings,
                paths or [settings.corpus_dir],
                embedder,
                chunk_settings,
                show_progress,
                report,
            )
    except IngestFailed as exc:
        report.status = "failed"
        report.error = str(exc)
    report.seconds = round(time.perf_counter() - started, 3)
    report.finished_at = datetime.now(UTC).isoformat(timespec="seconds")
    settings.index_root.mkdir(parents=True, exist_ok=True)
    (settings.index_root / REPORT_FILE).write_text(
        json.dumps(report.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8"
    )
    return report


def _ingest(
    settings: Settings,
    paths: list[Path],
    embedder: Embedder,
    chunk_settings: ChunkSettings,
    show_progress: bool,
    report: IngestReport,
) -> None:
    loaded = load_paths(paths, settings.pdf_timeout_s, settings.max_file_mb)
    report.skipped = [{"path": s.path, "reason": s.reason} for s in loaded.skipped]
    model_key = embedder.model_key
    documents, chunks = _bounded_chunks(loaded.documents, chunk_settings, model_key,
                                        settings.max_chunks_per_document, report)
    loaded.documents = documents
    if not loaded.documents:
        raise IngestFailed(
            "geen enkel bruikbaar document gevonden; de bestaande index blijft actief"
        )
    report.documents, report.chunks = len(loaded.documents), len(chunks)
    report.problems = source_problems(settings.corpus_dir, loaded.documents)
    if not chunks:
        raise IngestFailed("de documenten leverden geen doorzoekbare tekst op")
    contexts = {d.doc_id: d.context for d in loaded.documents}
    passage_texts = [passage_text(c, contexts.get(c.doc_id, "")) for c in chunks]
    units = _units(loaded.documents, chunks, model_key)
    digest = corpus_digest(loaded.documents, [*passage_texts, *(text for _, text in units)],
                           model_key)
    current_id, manifest = _current_state(settings)
    if (
        manifest
        and manifest.get("corpus_digest") == digest
        and manifest.get("embedding_model") == model_key
        and manifest.get("chunk_settings") == asdict(chunk_settings)
    ):
        report.status, report.build_id, report.reused = "unchanged", current_id, len(chunks)
        return
    build_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + digest[:8]
    cache = VectorCache(vector_cache_path(settings))
    vectors, embedded = embed_cached(passage_texts, embedder, cache, build_id, show_progress)
    unit_vectors, units_embedded = embed_units(units, embedder, cache, build_id, show_progress)
    analyzer = Analyzer(find_abbreviations(d.text for d in loaded.documents))
    try:
        write_build(
            settings,
            build_id,
            loaded.documents,
            chunks,
            passage_texts,
            vectors,
            model_key,
            asdict(chunk_settings),
            digest,
            [unit for unit, _ in units],
            unit_vectors,
            analyzer,
        )
        verify_build(settings, build_id, chunks, vectors)
    except Exception as exc:
        discard_build(settings, build_id)
        raise IngestFailed(
            f"nieuwe index niet geldig ({exc}); de bestaande index blijft actief"
        ) from exc
    previous_id = switch_to(settings, build_id)
    kept = {build_id} | ({previous_id} if previous_id else set())
    garbage_collect(settings, kept)
    cache.prune(kept)
    report.status, report.build_id = "built", build_id
    report.embedded, report.reused = embedded, len(chunks) - embedded
    report.units, report.units_embedded = len(units), units_embedded


def _bounded_chunks(
    documents: list[Document], chunk_settings: ChunkSettings, model_key: str, max_chunks: int,
    report: IngestReport,
) -> tuple[list[Document], list[Chunk]]:
    """Chunk each document; one that would exceed `max_chunks` is skipped with a reason
    (checked on length first, so a huge file is not chunked at all)."""
    kept: list[Document] = []
    chunks: list[Chunk] = []
    largest = chunk_settings.max_chars * TABLE_FACTOR
    for document in documents:
        at_least = len(document.text) // largest
        pieces = [] if at_least > max_chunks else chunk_document(
            document, chunk_settings, model_key)
        count = at_least if at_least > max_chunks else len(pieces)
        if count > max_chunks:
            report.skipped.append({
                "path": document.source or document.doc_id,
                "reason": f"te veel fragmenten ({'minstens ' if not pieces else ''}{count:,}; "
                f"het maximum is {max_chunks:,} per document, instelling "
                "MAX_CHUNKS_PER_DOCUMENT)".replace(",", "."),
            })
            continue
        kept.append(document)
        chunks.extend(pieces)
    return kept, chunks


def source_problems(corpus_dir: Path, documents: list[Document]) -> list[str]:
    """Catalogue and taxonomy sources that the freshly built documents no longer contain,
    as the server will report them (each disables only its own entry)."""
    from assistant.rules.catalogue import CATALOGUE_FILE, build_catalogue, read_spec
    from assistant.rules.taxonomy import TAXONOMY_FILE, build_taxonomy, read_taxonomy

    by_id = {d.doc_id: d for d in documents}
    checks: list[tuple[str, str, Callable[[], list[str]]]] = [
        ("catalogus", CATALOGUE_FILE,
         lambda: build_catalogue(read_spec(corpus_dir), by_id).problems),
        ("taxonomie", TAXONOMY_FILE,
         lambda: build_taxonomy(read_taxonomy(corpus_dir), by_id).problems),
    ]
    problems: list[str] = []
    for label, filename, located in checks:
        if not (corpus_dir / filename).is_file():
            continue
        try:
            problems += [f"{label}: {problem}" for problem in located()]
        except Exception as exc:  # an unreadable file is one problem, never a failed ingest
            problems.append(f"{label}: onbruikbaar ({exc})")
    return problems


def _units(
    documents: list[Document], chunks: list[Chunk], model_key: str
) -> list[tuple[Unit, str]]:
    by_doc: dict[str, list[tuple[int, Chunk]]] = {}
    for position, chunk in enumerate(chunks):
        by_doc.setdefault(chunk.doc_id, []).append((position, chunk))
    units: list[tuple[Unit, str]] = []
    for document in documents:
        units.extend(build_units(document, by_doc.get(document.doc_id, []), model_key))
    return units
