"""Run the question and triage sets through each configuration and build the report.

Every configuration is reached through HTTP requests to the same API contract: in
process via FastAPI's TestClient (the default) or over the network with httpx against
a running server. The request and scoring code is identical for both.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, cast

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from evals.datasets import KINDS, QuestionItem, TriageItem, load_questions, load_triage
from evals.metrics import PersonalData, extract_personal_data
from evals.scoring import (
    Score,
    aggregate_questions,
    aggregate_triage,
    breakdown,
    score_question,
    score_triage,
)

log = logging.getLogger("evals")

PRODUCT = "hybrid"
PRODUCT_MODES = ("bm25", "dense", "hybrid")
BASELINE = "naive-langchain"
CONFIGS = (*PRODUCT_MODES, BASELINE)
REPORTS_DIR = Path(__file__).resolve().parent / "reports"
WARMUP = {"question": "Wat is wonen met zorg?", "history": [], "top_k": 1}

AppFactory = Callable[[str], FastAPI]


class Response(Protocol):
    @property
    def status_code(self) -> int: ...

    @property
    def text(self) -> str: ...

    def json(self) -> Any: ...


class Client(Protocol):
    """What the runner needs of httpx.Client and of Starlette's TestClient (an httpx2 one)."""

    def request(self, method: str, url: str, *, json: Any = None) -> Response: ...


@dataclass
class RunOptions:
    question_set: str = "dev"
    configs: Sequence[str] = CONFIGS
    base_url: str | None = None
    top_k: int = 5
    limit: int | None = None
    timeout_s: float = 120.0


@dataclass
class Exchange:
    """One request: the JSON body on success, otherwise the error, and the wall time."""

    response: dict[str, Any] | None
    wall_ms: float
    error: str | None = None


@dataclass
class ConfigRun:
    name: str
    transport: str
    warmup: Exchange
    questions: list[Score] = field(default_factory=list)
    triage: list[Score] = field(default_factory=list)


class ConfigError(ValueError):
    """Options that cannot be run as given."""


def check_options(options: RunOptions) -> None:
    unknown = sorted(set(options.configs) - set(CONFIGS))
    if unknown:
        raise ConfigError(f"unknown configuration(s): {', '.join(unknown)}")
    if options.base_url and set(options.configs) & {"bm25", "dense"}:
        raise ConfigError("with --base-url only the server's own configuration (hybrid) "
                         "and the in-process naive-langchain baseline can run")


def ensure_index(settings: Any) -> None:
    """Build the index once when none exists, so a fresh checkout can be evaluated."""
    from assistant.store import read_pointer

    if read_pointer(settings) is None:
        from ingest.pipeline import run_ingest

        log.info("no index found under %s: running ingest", settings.index_root)
        report = run_ingest(settings)
        if report.status == "failed":
            raise RuntimeError(f"ingest failed: {report.error}")


def default_app_factory(workdir: Path) -> AppFactory:
    """Apps for the real product (one per retrieval mode) and for the naive baseline.

    The product keeps triage reports in SQLite; the evaluation writes them to `workdir`
    so evaluation reports never end up in the help desk's real queue."""

    def build(config: str) -> FastAPI:
        from assistant.config import Settings

        if config == BASELINE:
            from evals.baseline import create_app as create_baseline_app
            from evals.baseline import huggingface_embeddings

            settings = Settings()
            return create_baseline_app(
                settings.corpus_dir, huggingface_embeddings(settings.embedding_model)
            )
        from assistant.api import create_app

        settings = Settings(retrieval_mode=cast(Any, config),
                            sqlite_path=workdir / f"evals-{config}.sqlite")
        ensure_index(settings)
        return create_app(settings)

    return build


@contextmanager
def open_client(
    config: str, options: RunOptions, app_factory: AppFactory
) -> Iterator[tuple[Client, str]]:
    """An HTTP client for the configuration and how it is reached ("http" or "in-process")."""
    if options.base_url and config in PRODUCT_MODES:
        with httpx.Client(base_url=options.base_url, timeout=options.timeout_s) as client:
            yield client, "http"
        return
    app = app_factory(config)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, "in-process"


def call(client: Client, method: str, url: str, body: dict[str, Any] | None = None) -> Exchange:
    started = time.perf_counter()
    try:
        response = client.request(method, url, json=body)
    except (httpx.HTTPError, OSError) as exc:
        wall_ms = (time.perf_counter() - started) * 1000
        return Exchange(None, wall_ms, f"{type(exc).__name__}: {exc}")
    wall_ms = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        return Exchange(None, wall_ms, f"HTTP {response.status_code}: {response.text[:200]}")
    try:
        payload = response.json()
    except ValueError:
        return Exchange(None, wall_ms, "response is not JSON")
    if not isinstance(payload, dict):
        return Exchange(None, wall_ms, "response is not a JSON object")
    return Exchange(payload, wall_ms)


def fetch_texts(client: Client, doc_ids: set[str]) -> dict[str, str | None]:
    """Document texts the citations point into (None where the API does not serve one)."""
    texts: dict[str, str | None] = {}
    for doc_id in sorted(doc_ids):
        exchange = call(client, "GET", f"/api/documents/{doc_id}")
        text = (exchange.response or {}).get("text")
        texts[doc_id] = text if isinstance(text, str) else None
    return texts


def ask_all(client: Client, items: Sequence[QuestionItem], top_k: int) -> list[Score]:
    exchanges = [
        call(client, "POST", "/api/ask",
             {"question": item.question, "history": list(item.history), "top_k": top_k})
        for item in items
    ]
    doc_ids = {
        str(citation.get("doc_id"))
        for exchange in exchanges
        for citation in (exchange.response or {}).get("citations") or []
        if isinstance(citation, dict)
    }
    texts = fetch_texts(client, doc_ids)
    return [
        score_question(item, exchange.response, texts, exchange.wall_ms, exchange.error)
        for item, exchange in zip(items, exchanges, strict=True)
    ]


def triage_all(client: Client, items: Sequence[TriageItem]) -> list[Score]:
    """Triage every report; leaks count personal data of any report in the set, since
    an earlier report may resurface in a later response's `similar` list."""
    personal_data: set[PersonalData] = set()
    for item in items:
        personal_data |= extract_personal_data(item.report)
    scores = []
    for item in items:
        exchange = call(client, "POST", "/api/triage", {"report": item.report})
        scores.append(score_triage(item, exchange.response, personal_data, exchange.wall_ms,
                                   exchange.error))
    return scores


def _ordered_by_kind(groups: dict[str, Any]) -> dict[str, Any]:
    return {kind: groups[kind] for kind in (*KINDS, *sorted(groups)) if kind in groups}


def build_report(runs: Sequence[ConfigRun], options: RunOptions,
                 questions: Sequence[QuestionItem], triage: Sequence[TriageItem]) -> dict[str, Any]:
    """The full report: overall, per-kind and per-origin metrics plus every item's scores."""
    triage_run = next((run for run in runs if run.triage), None)
    kinds: dict[str, int] = {}
    for item in questions:
        kinds[item.kind] = kinds.get(item.kind, 0) + 1
    return {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "set": options.question_set,
        "top_k": options.top_k,
        "base_url": options.base_url,
        "warm_cache": [
            run.name for run in runs
            if run.transport == "in-process" and run.name in PRODUCT_MODES and run.name != PRODUCT
            and any(other.name == PRODUCT and other.transport == "in-process" for other in runs)
        ],
        "datasets": {"questions": len(questions), "triage": len(triage),
                     "kinds": _ordered_by_kind(kinds)},
        "configs": {
            run.name: {
                "transport": run.transport,
                "first_request": {"wall_ms": run.warmup.wall_ms, "error": run.warmup.error},
                "overall": aggregate_questions(run.questions),
                "by_kind": _ordered_by_kind(breakdown(run.questions, "kind", aggregate_questions)),
                "by_origin": breakdown(run.questions, "origin", aggregate_questions),
            }
            for run in runs
        },
        "triage": None if triage_run is None else {
            "config": triage_run.name,
            "overall": aggregate_triage(triage_run.triage),
            "by_origin": breakdown(triage_run.triage, "origin", aggregate_triage),
        },
        "items": {run.name: run.questions for run in runs},
        "triage_items": [] if triage_run is None else triage_run.triage,
    }


def run_evaluation(options: RunOptions, app_factory: AppFactory | None = None) -> dict[str, Any]:
    """Evaluate every configuration in `options`; triage runs once, for the product."""
    check_options(options)
    questions = load_questions(options.question_set)[:options.limit]
    triage = load_triage(options.question_set)[:options.limit]
    runs: list[ConfigRun] = []
    # the product runs first: product modes share one process-wide query-embedding cache,
    # so a mode evaluated after another answers the same questions from memory
    order = sorted(options.configs, key=lambda config: config != PRODUCT)
    with tempfile.TemporaryDirectory(prefix="evals-") as workdir:
        factory = app_factory or default_app_factory(Path(workdir))
        for config in order:
            started = time.perf_counter()
            with open_client(config, options, factory) as (client, transport):
                # one unscored request first: model loading must not count as (or time
                # out) the first question; its time is reported as the cold start
                warmup = call(client, "POST", "/api/ask", WARMUP)
                scores = ask_all(client, questions, options.top_k)
                run = ConfigRun(config, transport, warmup, scores)
                if config == PRODUCT:
                    run.triage = triage_all(client, triage)
            log.info("%s (%s): %d questions, %d reports in %.1f s", config, transport,
                     len(run.questions), len(run.triage), time.perf_counter() - started)
            runs.append(run)
    runs.sort(key=lambda run: list(options.configs).index(run.name))
    return build_report(runs, options, questions, triage)
