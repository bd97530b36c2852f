"""Embedding seam: the real sentence-transformers model and a deterministic fake for tests."""

from __future__ import annotations

import hashlib
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from assistant.config import Settings


class ModelUnavailable(RuntimeError):
    """The configured embedding model cannot be loaded (missing directory, no hub access)."""


class Embedder(Protocol):
    @property
    def model_key(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def embed_documents(self, texts: list[str], show_progress: bool = False) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def clear_query_cache(self) -> None: ...


def model_key_for(model: str, dimension: int | None) -> str:
    """Stable identity of a model setting, known without loading the weights."""
    return f"{Path(model).name or model}:{dimension or 'full'}"


class SentenceTransformerEmbedder:
    """EmbeddingGemma (or any sentence-transformers model), loaded lazily, once, thread-safe."""

    def __init__(
        self, model: str, batch_size: int = 16, dimension: int | None = None, threads: int = 2
    ) -> None:
        self.model = model
        self.batch_size = batch_size
        self.truncate_dim = dimension
        self.threads = threads
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def model_key(self) -> str:
        return model_key_for(self.model, self.truncate_dim)

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                import torch
                from sentence_transformers import SentenceTransformer

                torch.set_num_threads(self.threads)
                local = Path(self.model).expanduser()
                if (
                    self.model.startswith(("/", ".", "~")) or local.exists()
                ) and not local.is_dir():
                    raise ModelUnavailable(
                        f"Embeddingmodel niet gevonden in {local}. Voer `make model` uit of zet "
                        "EMBEDDING_MODEL op een lokale sentence-transformers-map."
                    )
                try:
                    self._model = SentenceTransformer(
                        str(local) if local.is_dir() else self.model,
                        device="cpu",
                        truncate_dim=self.truncate_dim,
                    )
                except OSError as exc:
                    raise ModelUnavailable(
                        f"Embeddingmodel {self.model} laden mislukt: {exc}"
                    ) from exc
            return self._model

    @property
    def dimension(self) -> int:
        model = self._load()
        return int(model.get_embedding_dimension())

    def _prompt(self, name: str) -> str | None:
        model = self._load()
        return name if name in (model.prompts or {}) else None

    def embed_documents(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        model = self._load()
        vectors = model.encode(
            texts,
            prompt_name=self._prompt("document"),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            show_progress_bar=show_progress,
            convert_to_numpy=True,
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return np.array(self._cached_query(text), dtype=np.float32)

    def clear_query_cache(self) -> None:
        """Forget cached question vectors, so a measurement starts cold."""
        self._cached_query.cache_clear()

    @lru_cache(maxsize=2048)  # noqa: B019 - one embedder per process; repeated questions are common
    def _cached_query(self, text: str) -> tuple[float, ...]:
        model = self._load()
        vector = model.encode(
            [text],
            prompt_name=self._prompt("query"),
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )[0]
        return tuple(float(x) for x in vector)


class HashingEmbedder:
    """Deterministic bag-of-stems embedding: fast, offline, good enough for unit tests."""

    def __init__(self, dimension: int = 256) -> None:
        self._dimension = dimension

    @property
    def model_key(self) -> str:
        return f"hashing-v1:{self._dimension}"

    @property
    def dimension(self) -> int:
        return self._dimension

    def _vector(self, text: str) -> np.ndarray:
        from assistant.language.tokens import PLAIN

        vector = np.zeros(self._dimension, dtype=np.float32)
        for token in PLAIN.analyze(text):
            digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
            index = int.from_bytes(digest[:4], "little") % self._dimension
            vector[index] += 1.0 if digest[4] & 1 else -1.0
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm else vector

    def embed_documents(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        return (
            np.stack([self._vector(text) for text in texts])
            if texts
            else np.zeros((0, self._dimension), dtype=np.float32)
        )

    def embed_query(self, text: str) -> np.ndarray:
        return self._vector(text)

    def clear_query_cache(self) -> None:
        """Nothing is cached: every vector is computed from the text."""


HASHING_PREFIX = "hashing:"
_shared: dict[tuple[str, int, int | None], Embedder] = {}
_shared_lock = threading.Lock()


def get_embedder(settings: Settings) -> Embedder:
    """One model instance per process and model setting, shared by every app and config.

    `EMBEDDING_MODEL=hashing:256` selects the deterministic fake (tests, smoke runs).
    """
    key = (settings.embedding_model, settings.embedding_batch_size, settings.embedding_dim)
    with _shared_lock:
        if key not in _shared and settings.embedding_model.startswith(HASHING_PREFIX):
            _shared[key] = HashingEmbedder(int(settings.embedding_model[len(HASHING_PREFIX) :]))
        if key not in _shared:
            _shared[key] = SentenceTransformerEmbedder(
                settings.embedding_model,
                settings.embedding_batch_size,
                settings.embedding_dim,
                settings.model_threads,
            )
        return _shared[key]
