"""Shared fixtures: a fake-embedder index for unit tests, the real model for integration tests."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from assistant.config import DEFAULT_MODEL_DIR, Settings

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

# Property tests draw the same examples on every run, so `make test` is red only for a real
# regression; `HYPOTHESIS_PROFILE=explore` draws new ones.
hypothesis_settings.register_profile("ci", derandomize=True)
hypothesis_settings.register_profile("explore", derandomize=False)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": data_dir,
        "corpus_dir": CORPUS,
        "embedding_model": "hashing:256",
        "sqlite_path": data_dir / "app.sqlite",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    return target


@pytest.fixture(scope="session")
def fake_index(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The real corpus ingested once with the deterministic hashing embedder."""
    from ingest.pipeline import run_ingest

    settings = make_settings(tmp_path_factory.mktemp("fake-index") / "data")
    report = run_ingest(settings)
    assert report.status == "built", report.summary()
    return settings


def real_model_path() -> str:
    return os.environ.get("EMBEDDING_MODEL", str(DEFAULT_MODEL_DIR))


@pytest.fixture(scope="session")
def real_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """The corpus ingested once with the real EmbeddingGemma model (integration tests)."""
    from ingest.pipeline import run_ingest

    model = real_model_path()
    if not Path(model).is_dir():
        pytest.fail(f"embedding model missing at {model}: run `make model`")
    settings = make_settings(tmp_path_factory.mktemp("real-index") / "data", embedding_model=model)
    report = run_ingest(settings)
    assert report.status == "built", report.summary()
    yield settings
