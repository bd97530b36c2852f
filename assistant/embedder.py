"""Embedding seam: the real model through PyTorch or ONNX Runtime, and a fake for tests."""

from __future__ import annotations

import hashlib
import json
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


TORCH = "torch"
# Runtime name -> subdirectory of the export directory (shared with scripts/export_onnx.py).
ONNX_VARIANTS = {"onnx": "fp32", "onnx-int8": "int8"}
ONNX_STAMP = "export-stamp.json"
TOKEN_BUDGET = 1024  # padded tokens per ONNX batch
ONNX_STAMP_FORMAT = 1
ONNX_MODEL_FILE = "model.onnx"
# What the ONNX runtime reads besides the graph, copied beside it by the export.
ONNX_SIDE_FILES = ("tokenizer.json", "config_sentence_transformers.json",
                   "sentence_bert_config.json", "modules.json")


def model_key_for(model: str, dimension: int | None, runtime: str = TORCH) -> str:
    """Stable identity of a model setting, known before any weights load.

    The runtime is part of it (torch keeps the historical key): int8 vectors differ from
    the others, so an index is served only by the runtime that built it."""
    key = f"{Path(model).name or model}:{dimension or 'full'}"
    return key if runtime == TORCH else f"{key}:{runtime}"


def onnx_dir_for(model: str, configured: Path | None = None) -> Path:
    """Where the export of `model` lives: configured, or the sibling `<model>-onnx`."""
    if configured is not None:
        return Path(configured).expanduser()
    local = Path(model).expanduser()
    return local.with_name(local.name + "-onnx")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class ExportUnverified(ModelUnavailable):
    """The ONNX export on disk does not match its stamp (altered, truncated or incomplete)."""


def verify_export(export_dir: Path, runtime: str) -> dict[str, Any]:
    """Check every file one runtime reads against the sha256 recorded at export; the stamp.

    Done once per process at load: a graph that changed after the export is refused rather
    than silently serving vectors that no longer match the index."""
    stamp_path = export_dir / ONNX_STAMP
    if not stamp_path.is_file():
        raise ModelUnavailable(
            f"ONNX-export ontbreekt in {export_dir}. Voer `make model` uit (dat exporteert "
            "het model eenmalig) of zet EMBEDDING_RUNTIME=torch."
        )
    try:
        stamp: dict[str, Any] = json.loads(stamp_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ExportUnverified(
            f"Het stempel {stamp_path} is onleesbaar; exporteer opnieuw met `make model`."
        ) from exc
    files: dict[str, str] = stamp.get("files") or {}
    subdir = ONNX_VARIANTS[runtime]
    needed = [name for name in files if name.startswith(f"{subdir}/")]
    needed += [name for name in ONNX_SIDE_FILES if name in files]
    if stamp.get("format") != ONNX_STAMP_FORMAT or f"{subdir}/{ONNX_MODEL_FILE}" not in needed:
        raise ExportUnverified(
            f"Het stempel {stamp_path} beschrijft geen {runtime}-export in dit formaat; "
            "exporteer opnieuw met `make model`."
        )
    for name in needed:
        path = export_dir / name
        if not path.is_file() or file_sha256(path) != files[name]:
            raise ExportUnverified(
                f"ONNX-export geweigerd: {path} ontbreekt of wijkt af van de sha256 in "
                f"{stamp_path}. Het bestand is gewijzigd of beschadigd; voer `make model` "
                "opnieuw uit of zet EMBEDDING_RUNTIME=torch."
            )
    return stamp


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
        return model_key_for(self.model, self.truncate_dim, TORCH)

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


class OnnxEmbedder:
    """The same model through ONNX Runtime: the install-time export (scripts/export_onnx.py).

    The graph holds the transformer and the model's own pooling, dense and normalize modules,
    so it outputs what `SentenceTransformer.encode` does. Prompts are read from the model's
    sentence-transformers config and tokenisation from its tokenizer.json (same ids, right
    padding, same truncation), so query and passage inputs equal the torch path's. Torch is
    never imported. Passages are sorted by token count, so a batch pads little, and a batch
    holds at most `token_budget` padded tokens, so long passages go a few at a time and memory
    stays bounded (on 2 cores the budget made no measurable speed difference, see README)."""

    def __init__(self, model: str, runtime: str = "onnx", batch_size: int = 16,
                 dimension: int | None = None, threads: int = 2,
                 export_dir: Path | None = None, token_budget: int = TOKEN_BUDGET) -> None:
        if runtime not in ONNX_VARIANTS:
            raise ValueError(f"unknown ONNX runtime {runtime!r}")
        self.model = model
        self.runtime = runtime
        self.batch_size = batch_size
        self.token_budget = token_budget
        self.truncate_dim = dimension
        self.threads = threads
        self.export_dir = onnx_dir_for(model, export_dir)
        self._session: Any = None
        self._tokenizer: Any = None
        self._prompts: dict[str, str] = {}
        self._output_dim = 0
        self._lock = threading.Lock()

    @property
    def model_key(self) -> str:
        return model_key_for(self.model, self.truncate_dim, self.runtime)

    def _load(self) -> Any:
        with self._lock:
            if self._session is None:
                import onnxruntime
                from tokenizers import Tokenizer

                verify_export(self.export_dir, self.runtime)
                config = _read_json(self.export_dir / "config_sentence_transformers.json")
                self._prompts = dict(config.get("prompts") or {})
                max_length = _read_json(self.export_dir / "sentence_bert_config.json").get(
                    "max_seq_length")
                tokenizer = Tokenizer.from_file(str(self.export_dir / "tokenizer.json"))
                tokenizer.no_padding()
                if max_length:
                    tokenizer.enable_truncation(int(max_length))
                options = onnxruntime.SessionOptions()
                options.intra_op_num_threads = max(1, self.threads)
                options.inter_op_num_threads = 1
                options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
                options.log_severity_level = 3
                # Idle threads that spin steal the core a parallel request needs.
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                path = self.export_dir / ONNX_VARIANTS[self.runtime] / ONNX_MODEL_FILE
                session = onnxruntime.InferenceSession(
                    str(path), options, providers=["CPUExecutionProvider"])
                shape = session.get_outputs()[0].shape
                self._output_dim = int(shape[-1]) if isinstance(shape[-1], int) else 0
                self._tokenizer = tokenizer
                self._session = session
            return self._session

    @property
    def dimension(self) -> int:
        self._load()
        if not self._output_dim:
            self._output_dim = int(self._forward(["x"]).shape[1])
        return min(self.truncate_dim or self._output_dim, self._output_dim)

    def _prompt(self, name: str) -> str:
        self._load()
        return self._prompts.get(name, "")

    def token_counts(self, texts: list[str]) -> list[int]:
        """Tokens per text as the model sees it (special tokens included, truncated)."""
        self._load()
        return [len(encoding.ids) for encoding in self._tokenizer.encode_batch(texts)]

    def _forward(self, texts: list[str]) -> np.ndarray:
        """One padded batch through the graph; truncated (Matryoshka) and unit length."""
        session = self._load()
        encodings = self._tokenizer.encode_batch(texts)
        width = max(len(encoding.ids) for encoding in encodings)
        input_ids = np.zeros((len(texts), width), dtype=np.int64)
        attention = np.zeros((len(texts), width), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            input_ids[row, : len(encoding.ids)] = encoding.ids
            attention[row, : len(encoding.ids)] = 1
        vectors = np.asarray(session.run(None, {"input_ids": input_ids,
                                                "attention_mask": attention})[0],
                             dtype=np.float32)
        if self.truncate_dim:
            vectors = vectors[:, : self.truncate_dim]
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.asarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)

    def embed_documents(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        prompt = self._prompt("document")
        prompted = [prompt + text for text in texts]
        counts = self.token_counts(prompted)
        order = [int(i) for i in np.argsort([-n for n in counts], kind="stable")]
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        from tqdm import tqdm

        with tqdm(total=len(texts), desc="Inbedden", unit="tekst",
                  disable=not show_progress) as progress:
            start = 0
            while start < len(order):
                # longest first, so the first row sets the padded width of its batch
                size = max(1, min(self.batch_size, self.token_budget // counts[order[start]]))
                rows = order[start : start + size]
                out[rows] = self._forward([prompted[i] for i in rows])
                start += len(rows)
                progress.update(len(rows))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return np.array(self._cached_query(text), dtype=np.float32)

    def clear_query_cache(self) -> None:
        """Forget cached question vectors, so a measurement starts cold."""
        self._cached_query.cache_clear()

    @lru_cache(maxsize=2048)  # noqa: B019 - one embedder per process; repeated questions are common
    def _cached_query(self, text: str) -> tuple[float, ...]:
        vector = self._forward([self._prompt("query") + text])[0]
        return tuple(float(x) for x in vector)


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    loaded = json.loads(path.read_text(encoding="utf-8"))
    return loaded if isinstance(loaded, dict) else {}


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
_shared: dict[tuple[str, int, int | None, str], Embedder] = {}
_shared_lock = threading.Lock()


def get_embedder(settings: Settings) -> Embedder:
    """One model instance per process and model setting, shared by every app and config.

    `EMBEDDING_MODEL=hashing:256` selects the deterministic fake (tests, smoke runs);
    `EMBEDDING_RUNTIME` picks PyTorch (default) or the ONNX export for a real model.
    """
    runtime = settings.embedding_runtime
    key = (settings.embedding_model, settings.embedding_batch_size, settings.embedding_dim,
           runtime)
    with _shared_lock:
        if key not in _shared and settings.embedding_model.startswith(HASHING_PREFIX):
            _shared[key] = HashingEmbedder(int(settings.embedding_model[len(HASHING_PREFIX) :]))
        if key not in _shared and runtime in ONNX_VARIANTS:
            _shared[key] = OnnxEmbedder(
                settings.embedding_model,
                runtime,
                settings.embedding_batch_size,
                settings.embedding_dim,
                settings.model_threads,
                settings.embedding_onnx_dir,
            )
        if key not in _shared:
            _shared[key] = SentenceTransformerEmbedder(
                settings.embedding_model,
                settings.embedding_batch_size,
                settings.embedding_dim,
                settings.model_threads,
            )
        return _shared[key]
