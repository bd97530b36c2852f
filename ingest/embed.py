"""Embed chunks and answer units; a text embedded before by the same model is reused."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from assistant.domain import Chunk, Unit
from assistant.embedder import Embedder
from ingest.vector_cache import VectorCache, content_key

log = logging.getLogger(__name__)


def passage_text(chunk: Chunk, context: str = "") -> str:
    """What both searches index (the model embeds it, BM25 counts its words): the
    document's context and the section path tell a short passage what it is about."""
    return "\n".join(part for part in (context, chunk.section, chunk.search_text) if part)


def stored_vectors(collection: Any, chunk_ids: list[str]) -> dict[str, np.ndarray]:
    """The vectors a build stored for its chunks, read back from its collection."""
    if collection is None or not chunk_ids:
        return {}
    found: dict[str, np.ndarray] = {}
    for offset in range(0, len(chunk_ids), 500):
        batch = chunk_ids[offset : offset + 500]
        result = collection.get(ids=batch, include=["embeddings"])
        for chunk_id, vector in zip(result["ids"], result["embeddings"], strict=True):
            found[chunk_id] = np.asarray(vector, dtype=np.float32)
    return found


def embed_cached(
    texts: list[str], embedder: Embedder, cache: VectorCache, build: str, show_progress: bool
) -> tuple[np.ndarray, int]:
    """Vectors for `texts` in order, and how many had to be computed: a text the cache holds
    for this model is reused, identical texts are embedded once, and every entry is marked
    as used by `build`."""
    if not texts:
        return np.zeros((0, embedder.dimension), dtype=np.float32), 0
    keys = [content_key(embedder.model_key, text) for text in texts]
    found = cache.get_many(keys)
    cache.mark(found, build)  # new entries are written with `build` already
    missing = {key: text for key, text in zip(keys, texts, strict=True) if key not in found}
    if missing:
        log.info("embedding %d texts (%d reused)", len(missing), len(found))
        vectors = embedder.embed_documents(list(missing.values()), show_progress)
        computed = dict(zip(missing, vectors, strict=True))
        cache.put_many(computed.items(), build)
        found.update(computed)
    return np.stack([found[key] for key in keys]).astype(np.float32), len(missing)


def embed_units(
    units: list[tuple[Unit, str]], embedder: Embedder, cache: VectorCache, build: str,
    show_progress: bool,
) -> tuple[np.ndarray, int]:
    return embed_cached([text for _, text in units], embedder, cache, build, show_progress)
