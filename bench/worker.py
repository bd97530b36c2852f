"""Benchmark steps that run in their own process, so each one's peak memory is its own.

`python -m bench.worker TASK CONFIG.json OUT.json`; TASK is `ingest` (cold and warm ingest
with the real model, in the runtime the config names), `queries` (question-embedding latency
of every runtime, interleaved in one process), `baseline` (the naive-langchain baseline
in-process) or `scale` (ingest of a synthetic corpus with source vectors, then in-process
questions).
"""

from __future__ import annotations

import cProfile
import io
import json
import logging
import os
import pstats
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

for _name, _value in (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"),
                      ("ANONYMIZED_TELEMETRY", "False"), ("TOKENIZERS_PARALLELISM", "false")):
    os.environ.setdefault(_name, _value)

import numpy as np  # noqa: E402

from assistant.config import Settings  # noqa: E402
from bench.stats import directory_mb, proc_memory_mb, summarize  # noqa: E402

PROFILE_TOP = 30


def source_files(export: Path, runtime: str) -> tuple[Path, Path]:
    """Chunk texts and their real vectors as one runtime's ingest embedded them."""
    return export / f"sources-{runtime}.json", export / f"sources-{runtime}.npy"


def _settings(config: dict[str, Any]) -> Settings:
    data_dir = Path(config["data_dir"])
    return Settings(data_dir=data_dir, corpus_dir=Path(config["corpus_dir"]),
                    sqlite_path=data_dir / "app.sqlite",
                    embedding_runtime=config.get("runtime", "torch"))


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def ingest_task(config: dict[str, Any]) -> dict[str, Any]:
    """Cold ingest into a fresh data dir with the real model (the config's runtime), then an
    unchanged re-ingest; the index stays for the serving phase of that runtime."""
    from assistant.embedder import get_embedder
    from assistant.store import IndexProvider
    from ingest.embed import passage_text, stored_vectors
    from ingest.pipeline import run_ingest

    settings = _settings(config)
    embedder = get_embedder(settings)
    started = time.perf_counter()
    dimension = embedder.dimension  # loads the model, timed apart from the ingest itself
    model_load_s = time.perf_counter() - started
    started = time.perf_counter()
    cold = run_ingest(settings, embedder=embedder)
    cold_s = time.perf_counter() - started
    if cold.status != "built":
        raise RuntimeError(f"cold ingest: {cold.status}: {cold.error}")
    started = time.perf_counter()
    warm = run_ingest(settings, embedder=embedder)
    warm_s = time.perf_counter() - started
    handle = IndexProvider(settings, embedder.model_key).current()
    vectors = stored_vectors(handle.collection, [c.chunk_id for c in handle.chunks])
    texts_path, vectors_path = source_files(Path(config["export_dir"]), settings.embedding_runtime)
    texts_path.write_text(
        json.dumps([passage_text(c, handle.documents[c.doc_id].context) for c in handle.chunks],
                   ensure_ascii=False), "utf-8")
    np.save(vectors_path, np.stack([vectors[c.chunk_id] for c in handle.chunks]))
    return {
        "runtime": settings.embedding_runtime,
        "model_load_s": round(model_load_s, 2),
        "dimension": dimension,
        "documents": cold.documents,
        "chunks": cold.chunks,
        "units": cold.units,
        "embedded": cold.embedded + cold.units_embedded,
        "cold_s": round(cold_s, 2),
        "chunks_per_s": round(cold.chunks / cold_s, 2),
        "units_per_s": round(cold.units / cold_s, 2),
        "chunks_per_s_with_model_load": round(cold.chunks / (cold_s + model_load_s), 2),
        "warm_s": round(warm_s, 3),
        "warm_status": warm.status,
        "index_mb": directory_mb(settings.data_dir),
        "model_key": embedder.model_key,
    }


AskTimings = Callable[[dict[str, Any]], dict[str, float]]


def _embed_only(embedder: Any) -> AskTimings:
    def ask(request: dict[str, Any]) -> dict[str, float]:
        embedder.embed_query(request["question"])
        return {}
    return ask


def queries_task(config: dict[str, Any]) -> dict[str, Any]:
    """Question-embedding latency of every runtime, one query at a time, cache cleared.

    Per thread count (1 = each request's share while serving, 2 = a lone query on both cores)
    the runtimes embed each question back to back, alternating who goes first, so they see
    the same machine load and the ratios are fair. Every question string is new: no cache
    hits."""
    import torch

    from assistant.embedder import ONNX_VARIANTS, OnnxEmbedder, SentenceTransformerEmbedder

    settings = _settings(config)
    runtimes: list[str] = config["runtimes"]
    torch_embedder = (SentenceTransformerEmbedder(settings.embedding_model,
                                                  dimension=settings.embedding_dim)
                      if "torch" in runtimes else None)
    result: dict[str, Any] = {"runtimes": runtimes, "model_load_s": {}, "threads": {}}
    for threads in config["threads"]:
        torch.set_num_threads(threads)
        embedders: dict[str, Any] = {}
        for runtime in runtimes:
            started = time.perf_counter()
            if runtime in ONNX_VARIANTS:
                embedders[runtime] = OnnxEmbedder(
                    settings.embedding_model, runtime, dimension=settings.embedding_dim,
                    threads=threads, export_dir=settings.embedding_onnx_dir)
            else:
                embedders[runtime] = torch_embedder
            embedders[runtime].embed_query("opwarmen")
            result["model_load_s"].setdefault(runtime, _ms(time.perf_counter() - started) / 1000)
        for body in config["warmup"]:
            for embedder in embedders.values():
                embedder.embed_query(body["question"])
        for embedder in embedders.values():
            embedder.clear_query_cache()
        latency = _question_loop({r: _embed_only(e) for r, e in embedders.items()},
                                 config["questions"], config["time_limit_s"])
        result["threads"][str(threads)] = {r: found["wall"] for r, found in latency.items()}
        del embedders  # the ONNX sessions of this thread count; torch's instance stays
    return result


def _question_loop(asks: dict[str, AskTimings], bodies: list[dict[str, Any]],
                   time_limit_s: float) -> dict[str, dict[str, Any]]:
    """Every `ask` answers each body back to back (who goes first alternates), until done or
    out of time; the timings each returns are summarised per `ask`."""
    samples: dict[str, dict[str, list[float]]] = {name: {} for name in asks}
    names = list(asks)
    deadline = time.perf_counter() + time_limit_s
    for i, body in enumerate(bodies):
        if time.perf_counter() > deadline:
            break
        for name in names if i % 2 == 0 else names[::-1]:
            started = time.perf_counter()
            timings = asks[name](body)
            timings["wall"] = _ms(time.perf_counter() - started)
            for key, value in timings.items():
                samples[name].setdefault(key, []).append(value)
    return {name: {key: summarize(values) for key, values in found.items()}
            for name, found in samples.items()}


def baseline_task(config: dict[str, Any]) -> dict[str, Any]:
    """The naive-langchain baseline: model load, ingest (split, embed, add) and its memory;
    then its questions paired with the product's over the real index, in the same process."""
    from assistant.schemas import AskRequest
    from assistant.service import build_assistant
    from evals.baseline import NaiveLangchainBaseline, huggingface_embeddings, split_documents
    from ingest.load import load_corpus

    settings = _settings(config)
    started = time.perf_counter()
    embeddings = huggingface_embeddings(settings.embedding_model)
    model_load_s = time.perf_counter() - started
    documents = load_corpus(settings.corpus_dir)
    started = time.perf_counter()
    baseline = NaiveLangchainBaseline(documents, embeddings)
    ingest_s = time.perf_counter() - started
    for body in config["warmup"]:
        baseline.ask(body["question"])
    memory = proc_memory_mb()  # the baseline alone, before the product is loaded beside it

    def naive(body: dict[str, Any]) -> dict[str, float]:
        return dict(baseline.ask(body["question"])["timings_ms"])

    asks: dict[str, AskTimings] = {"baseline": naive}
    if config.get("product_data_dir"):
        product = build_assistant(_settings({**config, "data_dir": config["product_data_dir"]}))

        def ours(body: dict[str, Any]) -> dict[str, float]:
            return dict(product.ask(AskRequest(**body)).timings_ms)

        for body in config["warmup"]:
            ours(body)
        asks["ours"] = ours
    latency = _question_loop(asks, config["questions"], config["time_limit_s"])
    return {
        "model_load_s": round(model_load_s, 2),
        "splits": len(split_documents(documents)),
        "ingest_s": round(ingest_s, 2),
        "memory_mb": memory,
        "latency_ms": latency["baseline"],
        "ours_paired_ms": latency.get("ours"),
    }


def scale_task(config: dict[str, Any]) -> dict[str, Any]:
    """Ingest a synthetic corpus with source vectors, then time questions in-process."""
    from assistant.embedder import get_embedder
    from assistant.schemas import AskRequest
    from assistant.service import build_assistant
    from bench.surrogate import SourceVectorEmbedder
    from ingest.pipeline import run_ingest

    settings = _settings(config)
    texts_path, vectors_path = source_files(Path(config["export_dir"]), settings.embedding_runtime)
    texts = json.loads(texts_path.read_text("utf-8"))
    vectors = np.load(vectors_path)
    real = get_embedder(settings)
    started = time.perf_counter()
    real.embed_query("opwarmen")  # loads the model outside the timed ingest
    model_load_s = time.perf_counter() - started
    surrogate = SourceVectorEmbedder(dict(zip(texts, vectors, strict=True)), real, real.model_key)
    started = time.perf_counter()
    report = run_ingest(settings, embedder=surrogate)
    ingest_s = time.perf_counter() - started
    if report.status != "built":
        raise RuntimeError(f"ingest: {report.status}: {report.error}")
    index_mb = directory_mb(settings.data_dir)
    assistant = build_assistant(settings, surrogate)
    retriever = assistant.components.retriever

    def ask(body: dict[str, Any]) -> dict[str, float]:
        request = AskRequest(**body)
        response = assistant.ask(request)
        started = time.perf_counter()
        retriever.retrieve(response.standalone_question, max(request.top_k, 8))
        return {**response.timings_ms, "search_only": _ms(time.perf_counter() - started)}

    for body in config["warmup"]:
        ask(body)
    latency = _question_loop({"ours": ask}, config["questions"], config["time_limit_s"])["ours"]
    if config.get("profile_out"):
        profile_questions(ask, config["profile_questions"], Path(config["profile_out"]))
    return {
        "factor": config["factor"],
        "runtime": settings.embedding_runtime,
        "model_load_s": round(model_load_s, 2),
        "documents": report.documents,
        "chunks": report.chunks,
        "units": report.units,
        "ingest_s": round(ingest_s, 2),
        "surrogate_embed_s": round(surrogate.seconds, 2),
        "real_vectors": surrogate.exact,
        "perturbed_vectors": surrogate.approximated,
        "index_mb": index_mb,
        "latency_ms": latency,
    }


def profile_questions(ask: AskTimings,
                      bodies: list[dict[str, Any]], out: Path) -> None:
    """cProfile over extra questions (after the timed ones), top functions by cumulative time."""
    profiler = cProfile.Profile()
    profiler.enable()
    for body in bodies:
        ask(body)
    profiler.disable()
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text).sort_stats("cumulative")
    stats.print_stats(PROFILE_TOP)
    text.write("\nThe product's own functions (model excluded):\n")
    stats.print_stats(r"/(assistant|ingest)/", PROFILE_TOP)
    out.write_text(f"{len(bodies)} questions\n{text.getvalue()}", encoding="utf-8")


TASKS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "ingest": ingest_task, "queries": queries_task, "baseline": baseline_task,
    "scale": scale_task,
}


def main(argv: list[str]) -> int:
    task, config_path, out_path = argv
    logging.basicConfig(level=logging.WARNING)
    config = json.loads(Path(config_path).read_text("utf-8"))
    result = TASKS[task](config)
    result.setdefault("memory_mb", proc_memory_mb())
    Path(out_path).write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
