"""Document vectors for the scaling runs without embedding 100× the corpus on two cores.

EmbeddingGemma embeds about two chunks per second here (fewer on a busy machine), so the
synthetic corpora cannot all go through the real model. `SourceVectorEmbedder` gives each
synthetic chunk the real vector of its source: the exact real vector when the chunk text is
one the real model embedded (all of 1×), otherwise the real vector of the lexically nearest
real chunk plus a small deterministic perturbation (seeded by the text; cosine to the
source ≈ 0.96). Queries always go through the real model. Chroma's HNSW and BM25 therefore
index and search as many real-shaped vectors and texts as a real ingest would produce: only
the model's document embedding time is replaced, and it is measured and reported separately.

Variants keep some blocks verbatim (list items, tables), so the same chunk text occurs in
many documents. The real model would give those chunks identical vectors, and then the
ingest's self-probe (`ingest.index.verify_build`: a chunk's own vector must find that chunk
first) fails whenever the probe lands on one of them and HNSW breaks the tie the other way.
Each repeated occurrence therefore gets its own small perturbation.
"""

from __future__ import annotations

import hashlib
import re
import time
import zlib

import numpy as np

from assistant.embedder import Embedder

SKETCH_DIM = 1024
NOISE_NORM = 0.3
_WORD = re.compile(r"\w+")


def sketch(texts: list[str]) -> np.ndarray:
    """Unit-length hashed bag of lowercase words: cheap lexical nearest-neighbour matching."""
    matrix = np.zeros((len(texts), SKETCH_DIM), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in _WORD.findall(text.lower()):
            matrix[row, zlib.crc32(word.encode()) % SKETCH_DIM] += 1.0
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)


def perturbed(vector: np.ndarray, text: str, noise_norm: float = NOISE_NORM) -> np.ndarray:
    """`vector` plus noise of fixed norm seeded by `text`, renormalised to unit length."""
    seed = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")
    noise = np.asarray(np.random.default_rng(seed).standard_normal(vector.shape[0]),
                       dtype=np.float32)
    moved = vector + noise * (noise_norm / float(np.linalg.norm(noise)))
    return np.asarray(moved / float(np.linalg.norm(moved)), dtype=np.float32)


class SourceVectorEmbedder:
    """Embedder protocol: real source vectors for documents, the real model for queries."""

    def __init__(self, sources: dict[str, np.ndarray], query_embedder: Embedder,
                 model_key: str) -> None:
        self._texts = list(sources)
        self._vectors = np.stack([sources[t] for t in self._texts]).astype(np.float32)
        self._index = {text: i for i, text in enumerate(self._texts)}
        self._sketches = sketch(self._texts)
        self._query_embedder = query_embedder
        self._model_key = model_key
        self._occurrences: dict[str, int] = {}
        self.exact = 0
        self.approximated = 0
        self.seconds = 0.0

    @property
    def model_key(self) -> str:
        return self._model_key

    @property
    def dimension(self) -> int:
        return int(self._vectors.shape[1])

    def embed_documents(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        """A text's first occurrence that the real model embedded keeps its real vector; every
        other occurrence is perturbed, so no two chunks share a vector (see the docstring)."""
        started = time.perf_counter()
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        unknown = [i for i, text in enumerate(texts) if text not in self._index]
        sources = dict(self._index.items())
        if unknown:
            nearest = np.argmax(sketch([texts[i] for i in unknown]) @ self._sketches.T, axis=1)
            sources.update((texts[i], int(j)) for i, j in zip(unknown, nearest, strict=True))
        for i, text in enumerate(texts):
            occurrence = self._occurrences.get(text, 0)
            self._occurrences[text] = occurrence + 1
            vector = self._vectors[sources[text]]
            if occurrence == 0 and text in self._index:
                out[i] = vector
                self.exact += 1
            else:
                out[i] = perturbed(vector, f"{occurrence}\x1f{text}")
                self.approximated += 1
        self.seconds += time.perf_counter() - started
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self._query_embedder.embed_query(text)

    def clear_query_cache(self) -> None:
        self._query_embedder.clear_query_cache()
