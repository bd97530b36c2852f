"""Embed chunks and answer units, reusing vectors the current build holds for identical ones."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from assistant.domain import Chunk, Unit
from assistant.embedder import Embedder

log = logging.getLogger(__name__)


def embedding_text(chunk: Chunk) -> str:
    """What the model sees: the section path gives a short passage its context."""
    return f"{chunk.section}\n{chunk.search_text}" if chunk.section else chunk.search_text


def reusable_vectors(collection: Any, chunk_ids: list[str]) -> dict[str, np.ndarray]:
    """Vectors of chunks the previous build already embedded (same content, chunker, model)."""
    if collection is None or not chunk_ids:
        return {}
    found: dict[str, np.ndarray] = {}
    for offset in range(0, len(chunk_ids), 500):
        batch = chunk_ids[offset : offset + 500]
        result = collection.get(ids=batch, include=["embeddings"])
        for chunk_id, vector in zip(result["ids"], result["embeddings"], strict=True):
            found[chunk_id] = np.asarray(vector, dtype=np.float32)
    return found


def embed_chunks(
    chunks: list[Chunk], embedder: Embedder, previous: dict[str, np.ndarray], show_progress: bool
) -> tuple[np.ndarray, int]:
    """All vectors in chunk order, and how many had to be computed."""
    missing = [chunk for chunk in chunks if chunk.chunk_id not in previous]
    computed: dict[str, np.ndarray] = {}
    if missing:
        log.info("embedding %d chunks (%d reused)", len(missing), len(chunks) - len(missing))
        vectors = embedder.embed_documents([embedding_text(c) for c in missing], show_progress)
        computed = {chunk.chunk_id: vectors[i] for i, chunk in enumerate(missing)}
    ordered = [previous.get(c.chunk_id, computed.get(c.chunk_id)) for c in chunks]
    return np.stack([v for v in ordered if v is not None]), len(missing)


def reusable_unit_vectors(build_dir: Path | None) -> dict[str, np.ndarray]:
    """Unit vectors of a previous build (same text, section, units version and model)."""
    if build_dir is None or not (build_dir / "unit_vectors.npy").is_file():
        return {}
    import json

    ids = [
        json.loads(line)["unit_id"]
        for line in (build_dir / "units.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    vectors = np.load(build_dir / "unit_vectors.npy")
    if len(ids) != len(vectors):
        return {}
    return dict(zip(ids, vectors, strict=True))


def embed_units(
    units: list[tuple[Unit, str]],
    embedder: Embedder,
    previous: dict[str, np.ndarray],
    show_progress: bool,
) -> tuple[np.ndarray, int]:
    """Vectors for (unit, embedding text) pairs in order, and how many had to be computed."""
    missing = [(unit, text) for unit, text in units if unit.unit_id not in previous]
    computed: dict[str, np.ndarray] = {}
    if missing:
        log.info("embedding %d units (%d reused)", len(missing), len(units) - len(missing))
        vectors = embedder.embed_documents([text for _, text in missing], show_progress)
        computed = {unit.unit_id: vectors[i] for i, (unit, _) in enumerate(missing)}
    if not units:
        return np.zeros((0, embedder.dimension), dtype=np.float32), 0
    ordered = [previous.get(u.unit_id, computed.get(u.unit_id)) for u, _ in units]
    return np.stack([v for v in ordered if v is not None]).astype(np.float32), len(missing)
