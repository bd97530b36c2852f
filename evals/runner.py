"""Run the evaluation sets through each configuration and build the report.

Every configuration is reached through the same HTTP API contract: in process via
FastAPI's TestClient (the default) or over the network with httpx against a running
server. Per set, the configurations run in a seeded random order, and each is measured
cold on its own questions: a few unscored warm-up requests (model loading), then the
shared query-embedding cache is cleared, then the set's questions. Triage runs for the product
only and writes to a temporary SQLite, never the help desk's queue.

A generator other than extractive (`--generator local openai`) adds a block per set for the
product configuration run with `Settings(generator=...)`: its questions go through
`POST /api/ask/stream`, and per item the times to the evidence event and to the first and
last verified sentence are kept along with the final response's verification. Its row is
labelled `<config>+<generator>` (e.g. `hybrid+local`) and compared with the product's
extractive row on the same items.
"""

from __future__ import annotations

import logging
import random
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from evals.client import Client, RetryPolicy, StreamClient, StreamExchange, call, stream_call
from evals.datasets import (
    GENERALISATION_INDEX,
    KINDS,
    STYLES,
    EvalSet,
    QuestionItem,
    TriageItem,
    resolve_sets,
)
from evals.documents import Layout, generalisation_documents, guidance_words
from evals.metrics import PersonalData, extract_personal_data
from evals.records import EXTRACTIVE, row_label
from evals.scoring import (
    METRICS,
    QUESTION_METRICS,
    Score,
    aggregate_questions,
    aggregate_triage,
    breakdown,
    score_question,
    score_streamed,
    score_triage,
)
from evals.stats import RESAMPLES, SEED, paired_bootstrap, unpaired_difference

log = logging.getLogger("evals")

PRODUCT = "hybrid"
PRODUCT_MODES = ("bm25", "dense", "hybrid")
BASELINE = "naive-langchain"
CONFIGS = (*PRODUCT_MODES, BASELINE)
GENERATORS = (EXTRACTIVE, "local", "openai")
STREAM_PATH = "/api/ask/stream"
REPORTS_DIR = Path(__file__).resolve().parent / "reports"
# unscored requests before each configuration's questions, one per path a question can take
# (short, long with context, follow-up), so lazy loading is not billed to the first item
WARMUPS = (
    {"question": "Wat is wonen met zorg?", "history": [], "top_k": 1},
    {"question": "Onze gemeente werkt met corporaties en zorgaanbieders aan een woonzorgvisie. "
                 "Hoe komen we van die visie tot afspraken en uitvoering, en wie doet wat?",
     "history": [], "top_k": 5},
    {"question": "En hoe lang duurt dat meestal?",
     "history": [{"role": "user", "content": "Wat is een woonzorgvisie?"},
                 {"role": "assistant", "content": "Een visie op wonen en zorg in de gemeente."}],
     "top_k": 5},
)
# the first report loads the triage profiles (embedded labels and cases); similar cases come
# from the documents, not the queue, so this unscored report influences no later one
TRIAGE_WARMUP = {"report": "De samenwerking tussen gemeente, corporatie en zorgaanbieder over "
                           "wonen met zorg loopt vast; wie kan ons helpen?"}
GAP_METRICS = ("hit@1", "key_fact_recall")


class ConfigError(ValueError):
    """Options that cannot be run as given."""


class Apps(Protocol):
    """Where the in-process configurations come from, and how to make them cold."""

    def app(self, config: str, index: str, generator: str = EXTRACTIVE) -> FastAPI: ...

    def clear_caches(self) -> None: ...

    def describe(self) -> dict[str, Any]: ...


@dataclass
class FactoryApps:
    """Apps from a plain factory (tests, tune sweeps); `clear` empties whatever caches the
    factory's apps share; `generated` makes the apps of generators other than extractive."""

    factory: Callable[[str, str], FastAPI]
    clear: Callable[[], None] = lambda: None
    generated: Callable[[str, str, str], FastAPI] | None = None

    def app(self, config: str, index: str, generator: str = EXTRACTIVE) -> FastAPI:
        if generator == EXTRACTIVE:
            return self.factory(config, index)
        if self.generated is None:
            raise ConfigError(f"no app for the generator {generator!r}")
        return self.generated(config, index, generator)

    def clear_caches(self) -> None:
        self.clear()

    def describe(self) -> dict[str, Any]:
        return {}


@dataclass
class RunOptions:
    sets: Sequence[str] = ("tune",)
    configs: Sequence[str] = CONFIGS
    # the product configuration also runs with each of these generators (extractive always)
    generators: Sequence[str] = (EXTRACTIVE,)
    base_url: str | None = None
    top_k: int = 5
    limit: int | None = None
    timeout_s: float = 120.0
    seed: int = SEED
    order: str = "seeded"  # "seeded": shuffled per set with the seed; "given": as listed
    resamples: int = RESAMPLES
    http_triage: bool = False
    baseline_sets: Sequence[str] | None = None  # sets the non-product configs run on; None: all
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    cache_dir: Path | None = None


@dataclass
class Block:
    """One configuration on one set."""

    set_name: str
    config: str
    transport: str
    position: int
    generator: str = EXTRACTIVE
    warmup_ms: float | None = None
    warmup_error: str | None = None
    questions: list[Score] = field(default_factory=list)
    triage: list[Score] = field(default_factory=list)
    retries: int = 0
    waited_s: float = 0.0
    seconds: float = 0.0
    skipped: str | None = None

    @property
    def label(self) -> str:
        return row_label(self.config, self.generator)


def run_labels(options: RunOptions) -> list[str]:
    """The rows a run has per set: each configuration, then the product with each generator
    other than extractive."""
    return [*options.configs, *(row_label(PRODUCT, g) for g in options.generators
                                if g != EXTRACTIVE)]


def parse_label(label: str) -> tuple[str, str]:
    config, _, generator = label.partition("+")
    return config, generator or EXTRACTIVE


def check_options(options: RunOptions) -> None:
    unknown = sorted(set(options.configs) - set(CONFIGS))
    if unknown:
        raise ConfigError(f"unknown configuration(s): {', '.join(unknown)}")
    if not options.configs:
        raise ConfigError("no configuration to run")
    if options.base_url and set(options.configs) & {"bm25", "dense"}:
        raise ConfigError("with --base-url only the server's own configuration (hybrid) "
                          "and the in-process naive-langchain baseline can run")
    if options.order not in ("seeded", "given"):
        raise ConfigError("order is 'seeded' or 'given'")
    unknown = sorted(set(options.generators) - set(GENERATORS))
    if unknown:
        raise ConfigError(f"unknown generator(s): {', '.join(unknown)} "
                          f"(choose from {', '.join(GENERATORS)})")
    if set(options.generators) - {EXTRACTIVE} and PRODUCT not in options.configs:
        raise ConfigError(f"generators run on the product configuration: add --config {PRODUCT}")


def config_order(configs: Sequence[str], set_name: str, seed: int, mode: str = "seeded"
                 ) -> list[str]:
    """The order configurations run in on one set: a seeded shuffle per set, so no
    configuration is systematically first (cold) or last (warm)."""
    order = list(configs)
    if mode == "seeded":
        random.Random(f"{seed}:{set_name}").shuffle(order)
    return order


@contextmanager
def open_client(config: str, index: str, options: RunOptions, apps: Apps,
                generator: str = EXTRACTIVE) -> Iterator[tuple[StreamClient, str]]:
    """An HTTP client for the configuration and how it is reached ("http" or "in-process")."""
    if options.base_url and config in PRODUCT_MODES:
        with httpx.Client(base_url=options.base_url, timeout=options.timeout_s) as client:
            yield client, "http"
        return
    # extractive apps are asked for as before, so an Apps of two arguments still serves them
    app = apps.app(config, index) if generator == EXTRACTIVE else apps.app(config, index,
                                                                              generator)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client, "in-process"


def fetch_texts(client: Client, doc_ids: set[str], options: RunOptions) -> dict[str, str | None]:
    """Document texts the citations point into (None where the API does not serve one)."""
    texts: dict[str, str | None] = {}
    for doc_id in sorted(doc_ids):
        exchange = call(client, "GET", f"/api/documents/{doc_id}", policy=options.retry)
        text = (exchange.response or {}).get("text")
        texts[doc_id] = text if isinstance(text, str) else None
    return texts


def ask_all(client: Client, items: Sequence[QuestionItem], options: RunOptions,
            block: Block) -> list[Score]:
    exchanges = [
        call(client, "POST", "/api/ask",
             {"question": item.question, "history": list(item.history), "top_k": options.top_k},
             policy=options.retry)
        for item in items
    ]
    block.retries += sum(e.retries for e in exchanges)
    block.waited_s += sum(e.waited_s for e in exchanges)
    doc_ids = {
        str(citation.get("doc_id"))
        for exchange in exchanges
        for citation in (exchange.response or {}).get("citations") or []
        if isinstance(citation, dict)
    }
    texts = fetch_texts(client, doc_ids, options)
    return [
        score_question(item, exchange.response, texts, exchange.wall_ms, exchange.error)
        for item, exchange in zip(items, exchanges, strict=True)
    ]


def stream_timings(exchange: StreamExchange) -> dict[str, Any]:
    """When the evidence and the first and last verified sentence arrived (ms after the
    request), how many sentences came, and any error event."""
    evidence, first, last = (exchange.first("evidence"), exchange.first("sentence"),
                             exchange.last("sentence"))
    error = exchange.first("error")
    return {
        "evidence": evidence.at_ms if evidence else None,
        "first_sentence": first.at_ms if first else None,
        "last_sentence": last.at_ms if last else None,
        "sentences": sum(e.name == "sentence" for e in exchange.events),
        "writing": bool(evidence.data.get("writing")) if evidence
        and isinstance(evidence.data, dict) else None,
        "error": str(error.data.get("detail")) if error and isinstance(error.data, dict)
        else None,
    }


def stream_all(client: StreamClient, items: Sequence[QuestionItem], options: RunOptions,
               block: Block) -> list[Score]:
    """Every question through the streaming endpoint, scored on its final response."""
    exchanges = [
        stream_call(client, STREAM_PATH,
                    {"question": item.question, "history": list(item.history),
                     "top_k": options.top_k}, policy=options.retry)
        for item in items
    ]
    block.retries += sum(e.retries for e in exchanges)
    block.waited_s += sum(e.waited_s for e in exchanges)
    doc_ids = {
        str(citation.get("doc_id"))
        for exchange in exchanges
        for citation in (exchange.response or {}).get("citations") or []
        if isinstance(citation, dict)
    }
    texts = fetch_texts(client, doc_ids, options)
    return [
        score_streamed(item, exchange.response, texts, stream_timings(exchange),
                       exchange.wall_ms, exchange.error)
        for item, exchange in zip(items, exchanges, strict=True)
    ]


def served_generator(client: Client, options: RunOptions) -> str | None:
    """The generator a running server was started with (its health says)."""
    exchange = call(client, "GET", "/api/health", policy=options.retry)
    value = (exchange.response or {}).get("generator")
    return str(value) if value else None


def triage_all(client: Client, items: Sequence[TriageItem], options: RunOptions,
               block: Block, guidance: frozenset[str] = frozenset()) -> list[Score]:
    """Triage every report after one unscored warm-up report; leaks count personal data of
    any report in the set, since an earlier report may resurface in a later response
    (`guidance`: the guidance's words, which no name consists of only)."""
    warmup = call(client, "POST", "/api/triage", TRIAGE_WARMUP, policy=options.retry)
    block.warmup_ms = (block.warmup_ms or 0.0) + warmup.wall_ms
    block.warmup_error = block.warmup_error or warmup.error
    personal_data: set[PersonalData] = set()
    for item in items:
        personal_data |= extract_personal_data(item.report, guidance)
    scores = []
    for item in items:
        exchange = call(client, "POST", "/api/triage", {"report": item.report},
                        policy=options.retry)
        block.retries += exchange.retries
        block.waited_s += exchange.waited_s
        scores.append(score_triage(item, exchange.response, personal_data, exchange.wall_ms,
                                   exchange.error))
    return scores


def missing_suite_documents(client: Client, layout: Layout, options: RunOptions) -> list[str]:
    """Generalisation documents a running server does not serve (it was ingested without)."""
    missing = []
    for document in generalisation_documents(layout):
        exchange = call(client, "GET", f"/api/documents/{document.doc_id}", policy=options.retry)
        if exchange.response is None:
            missing.append(document.doc_id)
    return missing


def run_block(eval_set: EvalSet, config: str, position: int, options: RunOptions, apps: Apps,
              layout: Layout, generator: str = EXTRACTIVE) -> Block:
    started = time.perf_counter()
    questions = eval_set.questions[:options.limit]
    # triage does not depend on the generator: it runs once, with the extractive product
    triage = eval_set.triage[:options.limit] if config == PRODUCT and generator == EXTRACTIVE \
        else []
    with open_client(config, eval_set.index, options, apps, generator) as (client, transport):
        block = Block(eval_set.name, config, transport, position, generator)
        if transport == "http" and generator != EXTRACTIVE:
            served = served_generator(client, options)
            if served != generator:
                block.skipped = (f"the server runs the generator {served or 'unknown'}: start "
                                 f"it with GENERATOR={generator} to score this row")
                return block
        if transport == "http" and eval_set.index == GENERALISATION_INDEX:
            missing = missing_suite_documents(client, layout, options)
            if missing:
                block.skipped = (f"the server does not serve the suite's documents "
                                 f"({', '.join(missing)}): ingest corpus/ and "
                                 "evals/generalisation/documents/ there to score this set")
                return block
        # the warm-up loads models and indexes (a generator's model too: it goes through the
        # same endpoint); its time is reported as the cold start and its cached query
        # vectors are forgotten with the rest
        warmups: list[Any] = [
            call(client, "POST", "/api/ask", body, policy=options.retry)
            if generator == EXTRACTIVE else stream_call(client, STREAM_PATH, body,
                                                         policy=options.retry)
            for body in WARMUPS
        ]
        block.warmup_ms = sum(w.wall_ms for w in warmups)
        block.warmup_error = next((w.error for w in warmups if w.error), None)
        apps.clear_caches()
        ask = ask_all if generator == EXTRACTIVE else stream_all
        block.questions = ask(client, questions, options, block)
        if triage and (transport == "in-process" or options.http_triage):
            block.triage = triage_all(client, triage, options, block, guidance_words(layout))
    if triage and transport == "http" and not options.http_triage:
        # over HTTP the reports would land in the server's real queue
        local_options = replace(options, base_url=None)
        with open_client(PRODUCT, eval_set.index, local_options, apps) as (local, _):
            block.triage = triage_all(local, triage, options, block, guidance_words(layout))
    block.seconds = time.perf_counter() - started
    log.info("%s / %s (%s): %d questions, %d reports in %.1f s", eval_set.name, block.label,
             block.transport, len(block.questions), len(block.triage), block.seconds)
    return block


def _ordered(groups: Mapping[str, Any], order: Sequence[str]) -> dict[str, Any]:
    return {name: groups[name] for name in (*order, *sorted(groups)) if name in groups}


def _metric_arrays(scores: Sequence[Score], name: str) -> tuple[list[float], list[float]]:
    parts = [METRICS[name].parts(s) for s in scores]
    return [p[0] for p in parts], [p[1] for p in parts]


def paired(scores_a: Sequence[Score], scores_b: Sequence[Score], name: str, options: RunOptions
           ) -> dict[str, Any]:
    """B − A on the items both have (matched by id), paired bootstrap."""
    by_id = {s["id"]: s for s in scores_b}
    common = [(s, by_id[s["id"]]) for s in scores_a if s["id"] in by_id]
    num_a, den_a = _metric_arrays([a for a, _ in common], name)
    num_b, den_b = _metric_arrays([b for _, b in common], name)
    return paired_bootstrap(num_a, den_a, num_b, den_b, METRICS[name].kind, options.resamples,
                            options.seed).as_dict()


def _block_summary(block: Block, options: RunOptions) -> dict[str, Any]:
    kw: dict[str, Any] = {"resamples": options.resamples, "seed": options.seed}
    summary: dict[str, Any] = {
        "config": block.config, "generator": block.generator,
        "transport": block.transport, "position": block.position, "skipped": block.skipped,
        "first_request": {"wall_ms": block.warmup_ms, "error": block.warmup_error},
        "retries": {"count": block.retries, "waited_s": round(block.waited_s, 3)},
        "seconds": round(block.seconds, 2),
        "questions": None, "triage": None,
    }
    if block.questions:
        summary["questions"] = {
            "overall": aggregate_questions(block.questions, **kw),
            "by_kind": _ordered(breakdown(block.questions, "kind", aggregate_questions), KINDS),
            "by_style": _ordered(breakdown([s for s in block.questions if s["style"]], "style",
                                           aggregate_questions), STYLES),
            "by_origin": breakdown(block.questions, "origin", aggregate_questions),
            "by_file": breakdown(block.questions, "source", aggregate_questions),
        }
    if block.triage:
        summary["triage"] = {
            "overall": aggregate_triage(block.triage, **kw),
            "by_origin": breakdown(block.triage, "origin", aggregate_triage),
            "by_style": breakdown([s for s in block.triage if s["style"]], "style",
                                  aggregate_triage),
            "by_file": breakdown(block.triage, "source", aggregate_triage),
        }
    return summary


def gaps(blocks: Mapping[tuple[str, str], Block], options: RunOptions) -> dict[str, Any]:
    """tune − holdout and tune − generalisation for the product (independent item sets)."""
    result: dict[str, Any] = {}
    tune = blocks.get(("tune", PRODUCT))
    for other in ("holdout", "generalisation"):
        block = blocks.get((other, PRODUCT))
        if tune is None or block is None or not tune.questions or not block.questions:
            continue
        entry = {}
        for name in GAP_METRICS:
            num_t, den_t = _metric_arrays(tune.questions, name)
            num_o, den_o = _metric_arrays(block.questions, name)
            entry[name] = unpaired_difference(num_o, den_o, num_t, den_t, METRICS[name].kind,
                                              options.resamples, options.seed).as_dict()
        result[f"tune − {other}"] = entry
    return result


def _set_info(eval_set: EvalSet, order: Sequence[str], options: RunOptions) -> dict[str, Any]:
    questions = eval_set.questions[:options.limit]
    kinds: dict[str, int] = {}
    styles: dict[str, int] = {}
    for item in questions:
        kinds[item.kind] = kinds.get(item.kind, 0) + 1
        for tag in item.style:
            styles[tag] = styles.get(tag, 0) + 1
    return {
        "questions": len(questions), "triage": len(eval_set.triage[:options.limit]),
        "index": eval_set.index, "files": eval_set.files, "sealed": eval_set.sealed,
        "kinds": _ordered(kinds, KINDS), "styles": _ordered(styles, STYLES),
        "order": list(order),
    }


def latency_method(options: RunOptions) -> str:
    where = (f"over HTTP to {options.base_url} (naive-langchain in-process)"
             if options.base_url else "in-process through FastAPI's TestClient (no network)")
    return (
        f"Latency is measured {where}. Per set the configurations run in a seeded random "
        f"order (seed {options.seed}; see 'order'); before each configuration's questions one "
        "unscored warm-up requests are sent (model and index loading; their total is reported "
        "as 'first request') and then the shared query-embedding cache is cleared, so every "
        "configuration embeds its own questions cold and none profits from another's run. "
        "p50/p95 over the scored requests: server stages from `timings_ms`, `wall` measured "
        "by the client for the attempt that produced the response (rate-limit waits are "
        "counted under retries, not in latency). In-process the product's request time limit "
        f"is raised to {options.timeout_s:g} s, so a loaded machine does not turn slow answers "
        "into errors."
    )


def streaming_method(options: RunOptions) -> str:
    return (
        f"Generators other than extractive run the product configuration ({PRODUCT}) with "
        f"Settings(generator=...); their questions go through POST {STREAM_PATH} and the "
        "server-sent events are read as they arrive. Per item: time to the `evidence` event "
        "(citations and extractive answer), to the first and to the last `sentence` event "
        "(a sentence the verifier kept; a written answer that falls back to the extractive "
        "one may still have sent some), and `wall` to the `final` event, all measured by the "
        "client from sending the request. The final response is scored with the same metrics "
        "as /api/ask; *verified* is kept / (kept + dropped) generated sentences pooled over "
        "the answers that were written, *written* the share of those answers shown rather "
        "than replaced by the extractive answer. Refused questions are never written. The "
        "warm-up requests go through the stream too, so loading the model is billed to "
        "'first request', not to the first item."
    )


def uncertainty_method(options: RunOptions) -> str:
    return (
        f"95 % intervals: percentile bootstrap over items ({options.resamples} resamples, "
        f"seed {options.seed}); configurations are compared with the product on the same "
        "items by a paired bootstrap (and an exact sign test on the items that changed); the "
        "gap between two sets by an unpaired bootstrap. A difference whose interval includes "
        "0 is shown as within noise (≈)."
    )


def new_run_id(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")


def build_report(blocks: Sequence[Block], sets: Sequence[EvalSet],
                 orders: Mapping[str, Sequence[str]], options: RunOptions, run_id: str,
                 apps_info: Mapping[str, Any]) -> dict[str, Any]:
    by_key = {(b.set_name, b.label): b for b in blocks}
    labels = run_labels(options)
    results: dict[str, dict[str, Any]] = {}
    comparisons: dict[str, dict[str, Any]] = {}
    for eval_set in sets:
        results[eval_set.name] = {
            label: _block_summary(by_key[(eval_set.name, label)], options)
            for label in labels if (eval_set.name, label) in by_key
        }
        product = by_key.get((eval_set.name, PRODUCT))
        if product is None or not product.questions:
            continue
        comparisons[eval_set.name] = {
            label: {m.name: paired(product.questions, block.questions, m.name, options)
                    for m in QUESTION_METRICS}
            for label in labels
            if label != PRODUCT and (block := by_key.get((eval_set.name, label)))
            and block.questions
        }
    items = [
        {"set": b.set_name, "config": b.config, "generator": b.generator, "type": "question",
         **score}
        for b in blocks for score in b.questions
    ] + [
        {"set": b.set_name, "config": b.config, "generator": b.generator, "type": "triage",
         **score}
        for b in blocks for score in b.triage
    ]
    return {
        "run_id": run_id,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "product": PRODUCT,
        "options": {"sets": list(options.sets), "configs": list(options.configs),
                    "generators": list(options.generators),
                    "baseline_sets": None if options.baseline_sets is None
                    else list(options.baseline_sets),
                    "top_k": options.top_k, "base_url": options.base_url,
                    "limit": options.limit, "seed": options.seed, "order": options.order,
                    "resamples": options.resamples},
        "method": {"latency": latency_method(options),
                   "uncertainty": uncertainty_method(options),
                   **({"streaming": streaming_method(options)}
                      if set(options.generators) - {EXTRACTIVE} else {})},
        "sets": {s.name: _set_info(s, orders[s.name], options) for s in sets},
        "indexes": dict(apps_info),
        "results": results,
        "comparisons": comparisons,
        "gaps": gaps(by_key, options),
        "retries": {"count": sum(b.retries for b in blocks),
                    "waited_s": round(sum(b.waited_s for b in blocks), 3)},
        "items": items,
    }


def run_evaluation(options: RunOptions, apps: Apps | None = None,
                   layout: Layout | None = None) -> dict[str, Any]:
    """Evaluate every configuration in `options` on every set (the product also with each
    generator); triage for the product."""
    check_options(options)
    layout = layout or Layout()
    run_id = new_run_id()
    sets = resolve_sets(options.sets, layout)
    blocks: list[Block] = []
    orders: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory(prefix="evals-") as workdir:
        if apps is None:
            from evals.indexes import DefaultApps

            apps = DefaultApps(layout, Path(workdir), options.cache_dir, options.timeout_s)
        for eval_set in sets:
            labels = [label for label in run_labels(options)
                      if parse_label(label)[0] == PRODUCT or options.baseline_sets is None
                      or eval_set.name in options.baseline_sets]
            orders[eval_set.name] = config_order(labels, eval_set.name, options.seed,
                                                 options.order)
            if not eval_set.questions and not eval_set.triage:
                log.warning("set %s has no items: skipped", eval_set.name)
                continue
            for position, label in enumerate(orders[eval_set.name]):
                config, generator = parse_label(label)
                blocks.append(run_block(eval_set, config, position, options, apps, layout,
                                        generator))
        info = apps.describe()
    return build_report(blocks, sets, orders, options, run_id, info)

