"""The indexes and apps the evaluation runs against, built once and kept in a cache.

Two indexes: the corpus alone (tune, holdout, dev) and the corpus plus the generalisation
suite's documents. Each is ingested with the configured embedding model into
`~/.cache/woonzorgwijzer/eval-index/<kind>-<digest of documents and model>/`, so a second
run finds it "unchanged" and costs nothing, and the evaluation never depends on (or
touches) the product's own `data/` index.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from evals.datasets import CORPUS_INDEX, GENERALISATION_INDEX, PAGES_INDEX
from evals.documents import (
    Layout,
    SourceDocument,
    corpus_digest,
    corpus_documents,
    generalisation_documents,
    stage_corpus,
    staged_digest,
    tune_documents,
)

log = logging.getLogger("evals")

CACHE_DIR = Path.home() / ".cache" / "woonzorgwijzer" / "eval-index"
KEEP = 6  # cached index folders kept; older ones are removed


def cache_root(explicit: Path | None = None) -> Path:
    return explicit or Path(os.environ.get("EVAL_INDEX_DIR", CACHE_DIR))


def _prune(root: Path, keep: int = KEEP) -> None:
    folders = sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime,
                     reverse=True)
    for old in folders[keep:]:
        shutil.rmtree(old, ignore_errors=True)


def _seed(folder: Path, root: Path) -> str | None:
    """Start a new index folder from the most recently used one, so ingest re-embeds only
    the chunks and units that differ (it reuses vectors only of the same model)."""
    data = folder / "data"
    if data.exists() or not root.is_dir():
        return None
    others = sorted((p for p in root.iterdir() if p.is_dir() and p != folder
                     and (p / "data" / "index").is_dir()),
                    key=lambda p: p.stat().st_mtime, reverse=True)
    if not others:
        return None
    shutil.copytree(others[0] / "data", data)
    return others[0].name


def prepare_index(index: str, layout: Layout, root: Path) -> tuple[Any, dict[str, Any]]:
    """Settings pointing at a verified index of `index`'s documents, and what was done."""
    from assistant.config import Settings
    from assistant.embedder import get_embedder
    from ingest.pipeline import run_ingest

    model_key = get_embedder(Settings()).model_key
    if index == CORPUS_INDEX:
        folder = root / f"corpus-{corpus_digest(layout, model_key)}"
        corpus_dir = layout.corpus_dir
    elif index == GENERALISATION_INDEX:
        folder = root / f"generalisation-{staged_digest(layout, model_key)}"
        corpus_dir = stage_corpus(layout, folder / "corpus")
    elif index == PAGES_INDEX:
        folder = root / f"pages-{staged_digest(layout, model_key, 'tune')}"
        corpus_dir = stage_corpus(layout, folder / "corpus", "tune")
    else:
        raise ValueError(f"unknown index {index!r}")
    folder.mkdir(parents=True, exist_ok=True)
    seeded = _seed(folder, root)
    os.utime(folder)
    settings = Settings(corpus_dir=corpus_dir, data_dir=folder / "data", chroma_host=None,
                        sqlite_path=folder / "ingest.sqlite")
    report = run_ingest(settings)
    if report.status == "failed":
        raise RuntimeError(f"ingest of the {index} index failed: {report.error}")
    log.info("%s index: %s (%s documents, %s chunks, %.1f s) in %s", index, report.status,
             report.documents, report.chunks, report.seconds, folder)
    _prune(root)
    return settings, {"data_dir": str(folder / "data"), "status": report.status,
                      "documents": report.documents, "chunks": report.chunks,
                      "embedded": report.embedded, "reused": report.reused,
                      "seeded_from": seeded, "seconds": report.seconds, "model": model_key}


@dataclass
class DefaultApps:
    """The real product (one app per retrieval mode and index) and the naive baseline.

    Triage reports go to SQLite files in `workdir`, a temporary folder, never the help
    desk's queue."""

    layout: Layout
    workdir: Path
    cache_dir: Path | None = None
    request_timeout_s: float = 120.0
    _settings: dict[str, Any] = field(default_factory=dict)
    _info: dict[str, Any] = field(default_factory=dict)
    _apps: dict[tuple[str, str, str], FastAPI] = field(default_factory=dict)
    _embeddings: Any = None

    def settings(self, index: str) -> Any:
        if index not in self._settings:
            self._settings[index], self._info[index] = prepare_index(
                index, self.layout, cache_root(self.cache_dir))
        return self._settings[index]

    def documents(self, index: str) -> list[SourceDocument]:
        documents = corpus_documents(self.layout)
        if index == GENERALISATION_INDEX:
            documents += generalisation_documents(self.layout)
        if index == PAGES_INDEX:
            documents += tune_documents(self.layout)
        return documents

    def app(self, config: str, index: str, generator: str = "extractive") -> FastAPI:
        key = (config, index, generator)
        if key not in self._apps:
            self._apps[key] = self._build(config, index, generator)
        return self._apps[key]

    def _build(self, config: str, index: str, generator: str = "extractive") -> FastAPI:
        from evals.runner import BASELINE

        if config == BASELINE:
            from assistant.config import Settings
            from evals.baseline import baseline_embeddings
            from evals.baseline import create_app as create_baseline_app

            if self._embeddings is None:
                self._embeddings = baseline_embeddings(Settings().embedding_model)
            return create_baseline_app(self.documents(index), self._embeddings)
        from assistant.api import create_app

        base = self.settings(index)
        name = f"{config}-{index.replace('+', '-')}" + (
            f"-{generator}" if generator != "extractive" else "")
        settings = base.model_copy(update={
            "retrieval_mode": config,
            # the generator (local: LLM_MODEL_PATH; openai: OPENAI_*) as the environment sets it
            "generator": generator,
            "sqlite_path": self.workdir / f"evals-{name}.sqlite",
            # quality is scored, not service under load: a busy shared machine must not turn
            # a slow first answer into a 504 (latency is reported apart)
            "request_timeout_s": max(float(base.request_timeout_s), self.request_timeout_s),
            # one in-process client asks hundreds of questions: the per-client limit would
            # only make the run wait (the limiter has its own tests and `make stress`)
            "rate_limit": "off",
        })
        return create_app(settings)

    def clear_caches(self) -> None:
        """Forget the query vectors the product's shared embedder cached."""
        from assistant.embedder import get_embedder

        for settings in self._settings.values():
            get_embedder(settings).clear_query_cache()

    def describe(self) -> dict[str, Any]:
        return dict(self._info)
