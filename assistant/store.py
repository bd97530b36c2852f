"""The read side of the index: a pointer file names the current build; builds never change.

Layout under `data/index/`: `CURRENT` (JSON naming the build), `builds/<id>/manifest.json`,
`chunks.jsonl`, `documents.jsonl`, `units.jsonl` with `unit_vectors.npy` (answer units and
their embeddings) and `bm25/`; chunk vectors live in the Chroma collection `chunks-<id>`.
Ingest writes a new build beside the old one and replaces `CURRENT` atomically, so a reader
always sees one complete build.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from assistant.config import Settings
from assistant.domain import Chunk, Document, Unit
from assistant.language.spelling import Speller
from assistant.language.tokens import Analyzer
from assistant.retrieval.lexical import BM25Index
from assistant.vectorstore import chroma_client, collection_name

POINTER = "CURRENT"


class IndexMissing(RuntimeError):
    """No index has been built yet."""


class IndexModelMismatch(RuntimeError):
    """The index was built with another embedding model than the one configured."""


def builds_dir(settings: Settings) -> Path:
    return settings.index_root / "builds"


def read_pointer(settings: Settings) -> str | None:
    path = settings.index_root / POINTER
    try:
        return str(json.loads(path.read_text(encoding="utf-8"))["build"])
    except (FileNotFoundError, KeyError, ValueError):
        return None


def write_pointer(settings: Settings, build_id: str) -> None:
    """Atomic switch: temp file, fsync, rename, fsync the directory."""
    root = settings.index_root
    temp = root / f".{POINTER}.tmp"
    with temp.open("w", encoding="utf-8") as handle:
        json.dump({"build": build_id}, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, root / POINTER)
    directory = os.open(root, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def read_manifest(settings: Settings, build_id: str) -> dict[str, Any]:
    return dict(json.loads((builds_dir(settings) / build_id / "manifest.json").read_text("utf-8")))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@dataclass
class IndexHandle:
    """One immutable build, loaded for serving."""

    build_id: str
    manifest: dict[str, Any]
    chunks: list[Chunk]
    documents: dict[str, Document]
    bm25: BM25Index
    collection: Any
    positions: dict[str, int]
    units: list[Unit]
    unit_vectors: np.ndarray
    units_by_chunk: dict[int, list[int]]
    units_by_doc: dict[str, list[int]]
    cache: dict[str, dict[Any, Any]] = field(default_factory=dict)

    @property
    def analyzer(self) -> Analyzer:
        return self.bm25.analyzer

    @cached_property
    def speller(self) -> Speller:
        """Typing errors read as this build's words; made on first use."""
        return Speller([text for d in self.documents.values() for text in (d.title, d.text)])

    def dense_search(
        self, vector: np.ndarray, top_k: int, doc_ids: list[str] | None = None
    ) -> list[tuple[int, float]]:
        where: dict[str, Any] | None = None
        if doc_ids:
            where = {"doc_id": {"$in": list(doc_ids)}}
        result = self.collection.query(
            query_embeddings=[vector.tolist()],
            n_results=max(1, min(top_k, len(self.chunks))),
            where=where,
            include=["distances"],
        )
        ids = result["ids"][0]
        distances = result["distances"][0]
        return [
            (self.positions[i], 1.0 - float(d))
            for i, d in zip(ids, distances, strict=True)
            if i in self.positions
        ]

    def doc_mask(self, doc_ids: list[str] | None) -> np.ndarray | None:
        if not doc_ids:
            return None
        wanted = set(doc_ids)
        return np.array([chunk.doc_id in wanted for chunk in self.chunks], dtype=bool)


def load_build(settings: Settings, build_id: str, expected_model_key: str | None) -> IndexHandle:
    manifest = read_manifest(settings, build_id)
    if expected_model_key and manifest["embedding_model"] != expected_model_key:
        raise IndexModelMismatch(
            f"De index is gebouwd met embeddingmodel {manifest['embedding_model']} "
            f"({manifest['dimension']} dimensies), maar ingesteld is {expected_model_key}. "
            "Voer `assistant ingest` opnieuw uit met dit model, of zet EMBEDDING_MODEL terug."
        )
    directory = builds_dir(settings) / build_id
    chunks = [Chunk.from_dict(row) for row in read_jsonl(directory / "chunks.jsonl")]
    documents = {
        row["doc_id"]: Document(**row) for row in read_jsonl(directory / "documents.jsonl")
    }
    units = [Unit.from_dict(row) for row in read_jsonl(directory / "units.jsonl")]
    unit_vectors = np.load(directory / "unit_vectors.npy", mmap_mode="r")
    by_chunk: dict[int, list[int]] = {}
    by_doc: dict[str, list[int]] = {}
    for index, unit in enumerate(units):
        by_chunk.setdefault(unit.chunk, []).append(index)
        by_doc.setdefault(unit.doc_id, []).append(index)
    analyzer = Analyzer(manifest.get("abbreviations", {}))
    collection = chroma_client(settings).get_collection(collection_name(build_id))
    metadata = collection.metadata or {}
    if metadata.get("embedding_model") != manifest["embedding_model"]:
        raise IndexModelMismatch(
            f"Chroma-collectie {collection.name} hoort bij model "
            f"{metadata.get('embedding_model')}, "
            f"de index bij {manifest['embedding_model']}."
        )
    return IndexHandle(
        build_id=build_id,
        manifest=manifest,
        chunks=chunks,
        documents=documents,
        bm25=BM25Index.load(directory / "bm25", len(chunks), analyzer),
        collection=collection,
        positions={chunk.chunk_id: i for i, chunk in enumerate(chunks)},
        units=units,
        unit_vectors=unit_vectors,
        units_by_chunk=by_chunk,
        units_by_doc=by_doc,
    )


class IndexProvider:
    """Serves the current build and switches when ingest moves the pointer."""

    def __init__(self, settings: Settings, expected_model_key: str | None) -> None:
        self.settings = settings
        self.expected_model_key = expected_model_key
        self._handle: IndexHandle | None = None
        self._lock = threading.Lock()

    def current(self) -> IndexHandle:
        build_id = read_pointer(self.settings)
        if build_id is None:
            raise IndexMissing("Er is nog geen index. Voer eerst `assistant ingest` uit.")
        handle = self._handle
        if handle is not None and handle.build_id == build_id:
            return handle
        with self._lock:
            if self._handle is None or self._handle.build_id != build_id:
                self._handle = load_build(self.settings, build_id, self.expected_model_key)
            return self._handle
