"""All configuration, read once from the environment (or a .env file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MODEL_DIR = Path.home() / ".cache" / "woonzorgwijzer" / "models" / "embeddinggemma-300m"


class Settings(BaseSettings):
    """One settings object for ingest, serve, CLI, evals and benchmarks."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    corpus_dir: Path = Path("corpus")
    data_dir: Path = Path("data")
    embedding_model: str = Field(
        default=str(DEFAULT_MODEL_DIR),
        description="Local sentence-transformers directory (or a hub id where a hub is reachable).",
    )
    embedding_batch_size: int = 16
    embedding_dim: int | None = Field(
        default=None, description="Matryoshka truncation; None keeps the model's full dimension."
    )
    chunk_max_chars: int = Field(default=1200, description="Chosen by measurement: evals/tune.py.")
    chunk_min_chars: int = 250
    chroma_host: str | None = None
    chroma_port: int = 8001
    host: str = "127.0.0.1"
    port: int = 8000
    top_k: int = 5
    max_question_chars: int = 2000
    max_history_turns: int = 20
    pdf_timeout_s: float = 30.0
    request_timeout_s: float = 30.0
    model_threads: int = Field(default=2, description="Torch threads for batch embedding.")
    serve_threads: int = Field(
        default=1,
        description="Torch threads per query while serving; measured in bench/: one thread "
        "per request with requests in parallel beats two threads per request.",
    )
    generator: Literal["extractive", "generative"] = "extractive"
    retrieval_mode: Literal["hybrid", "bm25", "dense"] = "hybrid"
    sqlite_path: Path = Path("data") / "woonzorgwijzer.sqlite"
    log_level: str = "INFO"

    @property
    def index_root(self) -> Path:
        return self.data_dir / "index"

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
