"""Store a build: a new Chroma collection plus chunk, document and BM25 files, then switch.

Nothing a server reads is modified: the build is written beside the current one,
verified (count and a probe query), and only then named in the pointer file.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from assistant.config import Settings
from assistant.domain import Chunk, Document, Unit
from assistant.language.tokens import Analyzer
from assistant.retrieval.lexical import BM25Index
from assistant.store import builds_dir, read_pointer, write_pointer
from assistant.vectorstore import chroma_client, collection_name
from ingest.chunk import CHUNKER_VERSION
from ingest.units import UNITS_VERSION

log = logging.getLogger(__name__)
ADD_BATCH = 256
PROBE_RESULTS = 10


class VerificationFailed(RuntimeError):
    """A freshly built index did not pass its checks; the previous index stays current."""


def _write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def write_build(
    settings: Settings,
    build_id: str,
    documents: list[Document],
    chunks: list[Chunk],
    passage_texts: list[str],
    vectors: np.ndarray,
    model_key: str,
    chunk_settings: dict[str, Any],
    corpus_digest: str,
    units: list[Unit],
    unit_vectors: np.ndarray,
    analyzer: Analyzer,
) -> dict[str, Any]:
    """Write everything for one build; returns its manifest (not yet current).
    `passage_texts` are the chunks' texts as embedded, which BM25 indexes too."""
    dimension = int(vectors.shape[1])
    built_at = datetime.now(UTC).isoformat(timespec="seconds")
    manifest = {
        "build_id": build_id,
        "built_at": built_at,
        "embedding_model": model_key,
        "dimension": dimension,
        "chunker": CHUNKER_VERSION,
        "units_version": UNITS_VERSION,
        "chunk_settings": chunk_settings,
        "documents": len(documents),
        "chunks": len(chunks),
        "units": len(units),
        "abbreviations": dict(analyzer.abbreviations),
        "document_hashes": {d.doc_id: d.sha256 for d in documents},
        "corpus_digest": corpus_digest,
    }
    client = chroma_client(settings)
    collection = client.create_collection(
        collection_name(build_id),
        metadata={
            "hnsw:space": "cosine",
            "embedding_model": model_key,
            "dimension": dimension,
            "built_at": built_at,
        },
        embedding_function=None,
    )
    for offset in range(0, len(chunks), ADD_BATCH):
        batch = chunks[offset : offset + ADD_BATCH]
        collection.add(
            ids=[c.chunk_id for c in batch],
            embeddings=vectors[offset : offset + ADD_BATCH].tolist(),
            metadatas=[
                {"doc_id": c.doc_id, "section": c.section, "start": c.start, "end": c.end}
                for c in batch
            ],
        )
    staging = builds_dir(settings) / f".staging-{build_id}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    _write_jsonl(staging / "chunks.jsonl", (c.to_dict() for c in chunks))
    _write_jsonl(staging / "documents.jsonl", (_document_row(d) for d in documents))
    _write_jsonl(staging / "units.jsonl", (u.to_dict() for u in units))
    np.save(staging / "unit_vectors.npy", unit_vectors.astype(np.float32))
    BM25Index.build(passage_texts, analyzer).save(staging / "bm25")
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    staging.rename(builds_dir(settings) / build_id)
    return manifest


def _document_row(document: Document) -> dict[str, Any]:
    row = document.metadata()
    row["text"] = document.text
    return row


def verify_build(
    settings: Settings, build_id: str, chunks: list[Chunk], vectors: np.ndarray
) -> None:
    """Count and probe before switching: the probe vector must find its own chunk first."""
    collection = chroma_client(settings).get_collection(collection_name(build_id))
    count = collection.count()
    if count != len(chunks):
        raise VerificationFailed(f"collectie bevat {count} vectoren, verwacht {len(chunks)}")
    probe = len(chunks) // 2
    result = collection.query(
        query_embeddings=[vectors[probe].tolist()],
        n_results=min(PROBE_RESULTS, len(chunks)),
        include=["distances"],
    )
    ids, distances = result["ids"][0], result["distances"][0]
    # identical texts (in two documents) have identical vectors: accept a tie for first place
    tied = {i for i, d in zip(ids, distances, strict=True) if d - distances[0] <= 1e-6}
    if chunks[probe].chunk_id not in tied:
        raise VerificationFailed("proefzoekvraag vond het eigen fragment niet terug")
    directory = builds_dir(settings) / build_id
    bm25 = BM25Index.load(directory / "bm25", len(chunks), Analyzer())
    if bm25.scores(chunks[probe].search_text).shape[0] != len(chunks):
        raise VerificationFailed("lexicale index heeft een ander aantal fragmenten")
    unit_rows = (directory / "units.jsonl").read_text(encoding="utf-8").count("\n")
    if np.load(directory / "unit_vectors.npy", mmap_mode="r").shape[0] != unit_rows:
        raise VerificationFailed("antwoordeenheden en hun vectoren lopen niet gelijk")


def switch_to(settings: Settings, build_id: str) -> str | None:
    previous = read_pointer(settings)
    write_pointer(settings, build_id)
    return previous


def garbage_collect(settings: Settings, keep: set[str]) -> None:
    """Remove builds and collections other than `keep` (current and previous)."""
    root = builds_dir(settings)
    for path in root.iterdir() if root.exists() else []:
        build_id = path.name.removeprefix(".staging-")
        if build_id not in keep or path.name.startswith(".staging-"):
            shutil.rmtree(path, ignore_errors=True)
    client = chroma_client(settings)
    wanted = {collection_name(b) for b in keep}
    for collection in client.list_collections():
        name = collection if isinstance(collection, str) else collection.name
        if name.startswith("chunks-") and name not in wanted:
            try:
                client.delete_collection(name)
            except Exception as exc:  # a half-created collection must not stop the ingest
                log.warning("collectie %s niet verwijderd: %s", name, exc)


def discard_build(settings: Settings, build_id: str) -> None:
    shutil.rmtree(builds_dir(settings) / build_id, ignore_errors=True)
    shutil.rmtree(builds_dir(settings) / f".staging-{build_id}", ignore_errors=True)
    try:
        chroma_client(settings).delete_collection(collection_name(build_id))
    except Exception as exc:
        log.warning("collectie van mislukte build %s niet verwijderd: %s", build_id, exc)
