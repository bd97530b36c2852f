"""All configuration, read once from the environment (or a .env file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MODEL_DIR = Path.home() / ".cache" / "woonzorgwijzer" / "models" / "embeddinggemma-300m"
DEFAULT_LLM_PATH = (
    Path.home() / ".cache" / "woonzorgwijzer" / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
)


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
    embedding_runtime: Literal["torch", "onnx", "onnx-int8"] = Field(
        default="onnx",
        description="Encoder runtime: the ONNX export made at install time "
        "(scripts/export_onnx.py; default: full precision, the same vectors and holdout figures "
        "as PyTorch, faster), "
        "dynamically int8-quantised, or PyTorch via sentence-transformers. "
        "Part of the model key: an index is served only by the runtime that built it.",
    )
    embedding_onnx_dir: Path | None = Field(
        default=None,
        description="The ONNX export of EMBEDDING_MODEL; None means the sibling `<model>-onnx`.",
    )
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
    generator: Literal["extractive", "local", "openai"] = Field(
        default="extractive",
        description="extractive: quoted sentences; local: a GGUF model via xllamacpp; "
        "openai: any OpenAI-compatible endpoint. Generated answers are verified per sentence.",
    )
    llm_model_path: Path = Field(
        default=DEFAULT_LLM_PATH, description="GGUF file assembled by `make llm` (or llm-small)."
    )
    llm_threads: int = Field(default=2, description="CPU threads for the local model.")
    llm_ctx: int = Field(default=4096, description="Context length of the local model (tokens).")
    llm_max_tokens: int = Field(default=320, description="Longest generated answer (tokens).")
    openai_base_url: str | None = Field(
        default=None, description="OpenAI-compatible endpoint, e.g. http://gpu-host:8000/v1."
    )
    openai_model: str | None = None
    openai_api_key: SecretStr | None = None
    retrieval_mode: Literal["hybrid", "bm25", "dense"] = "hybrid"
    sqlite_path: Path = Path("data") / "woonzorgwijzer.sqlite"
    log_level: str = "INFO"
    max_file_mb: float = Field(
        default=25.0, gt=0, description="Larger source files are skipped at ingest, with a reason."
    )
    max_chunks_per_document: int = Field(
        default=1000, ge=1,
        description="A document that would give more chunks is skipped at ingest (embedding "
        "runs at about one chunk per second on two cores).",
    )
    rate_limit: str = Field(
        default="60/minute",
        description="Per client for POST /api/ask and POST /api/triage (`limits` notation, e.g. "
        "'60/minute' or '5/second'); 'off' disables it.",
    )
    login_rate_limit: str = Field(default="10/minute", description="Per client for logins.")
    max_queue: int = Field(
        default=16, ge=0,
        description="Requests that may wait for model work beyond the ones running; more are "
        "answered 503 with Retry-After at once.",
    )
    session_hours: float = Field(default=8.0, gt=0, description="Lifetime of a staff login.")
    admin_user: str = Field(default="beheerder", description="Account ADMIN_PASSWORD creates.")
    admin_password: SecretStr | None = Field(
        default=None,
        description="If set and no account exists yet, ADMIN_USER is created with it at start.",
    )
    access_log: bool = Field(default=True, description="One JSON line per request (redacted).")

    @property
    def index_root(self) -> Path:
        return self.data_dir / "index"

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
