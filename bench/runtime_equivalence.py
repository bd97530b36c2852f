"""How close the ONNX runtimes come to the PyTorch path: `python -m bench.runtime_equivalence`
(also `python -m bench --equivalence`), written to bench/results/runtime-equivalence.json.

Every corpus chunk (as the ingest embeds it) and every tune question is embedded by each
runtime; the report gives the cosine of each runtime's vector to the PyTorch vector (queries
and documents apart), and how often dense retrieval over the whole corpus, each runtime
searching its own document vectors as an index built by it would, returns the same top 1 and
the same top 5 as PyTorch. This says nothing about answer quality by itself: the holdout eval
decides whether a runtime may become the default (issue: hit@1 and key facts within 0.01).
The timings recorded beside are sequential (one runtime after the other) and only informative;
`python -m bench` measures speed with the runtimes interleaved.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from assistant.config import Settings
from assistant.embedder import Embedder, get_embedder

RESULTS_NAME = "runtime-equivalence.json"
RUNTIMES = ("torch", "onnx", "onnx-int8")
TOP_K = 5


def corpus_texts(settings: Settings) -> list[str]:
    """The chunk texts exactly as the ingest hands them to the model (fake-embedded index)."""
    from assistant.store import IndexProvider
    from ingest.embed import passage_text
    from ingest.pipeline import run_ingest

    with tempfile.TemporaryDirectory(prefix="equivalence-") as tmp:
        fake = settings.model_copy(update={"data_dir": Path(tmp), "embedding_model": "hashing:64",
                                           "sqlite_path": Path(tmp) / "app.sqlite"})
        embedder = get_embedder(fake)
        report = run_ingest(fake, embedder=embedder)
        if report.status != "built":
            raise RuntimeError(f"ingest for the chunk texts: {report.status}: {report.error}")
        handle = IndexProvider(fake, embedder.model_key).current()
        return [passage_text(chunk, handle.documents[chunk.doc_id].context)
                for chunk in handle.chunks]


def tune_questions() -> list[str]:
    from evals.datasets import load_questions

    return list(dict.fromkeys(item.question for item in load_questions("tune")))


def cosine_summary(values: np.ndarray) -> dict[str, float | int]:
    return {"n": int(values.size), "min": round(float(values.min()), 5),
            "p05": round(float(np.percentile(values, 5)), 5),
            "mean": round(float(values.mean()), 5)}


def top_k(queries: np.ndarray, documents: np.ndarray, k: int = TOP_K) -> np.ndarray:
    """Indexes of the k most similar documents per query, best first (exact search)."""
    scores = queries @ documents.T
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def rank_agreement(reference: np.ndarray, other: np.ndarray) -> dict[str, float]:
    overlap = [len(set(a) & set(b)) / reference.shape[1]
               for a, b in zip(reference.tolist(), other.tolist(), strict=True)]
    return {
        "top1_same": round(float(np.mean(reference[:, 0] == other[:, 0])), 4),
        "top5_same_set": round(float(np.mean([o == 1.0 for o in overlap])), 4),
        "top5_same_order": round(float(np.mean(np.all(reference == other, axis=1))), 4),
        "top5_overlap_mean": round(float(np.mean(overlap)), 4),
        "top5_overlap_min": round(float(np.min(overlap)), 4),
    }


def embed_all(embedder: Embedder, documents: list[str],
              questions: list[str]) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    started = time.perf_counter()
    _ = embedder.dimension  # the model load, timed apart
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    doc_vectors = embedder.embed_documents(documents)
    docs_s = time.perf_counter() - started
    embedder.clear_query_cache()
    started = time.perf_counter()
    query_vectors = np.stack([embedder.embed_query(q) for q in questions])
    queries_s = time.perf_counter() - started
    timing = {"model_load_s": round(load_s, 2), "documents_s": round(docs_s, 2),
              "documents_per_s": round(len(documents) / docs_s, 2),
              "query_ms_mean": round(1000 * queries_s / len(questions), 1)}
    return doc_vectors, query_vectors, timing


def measure(settings: Settings, runtimes: tuple[str, ...] = RUNTIMES) -> dict[str, Any]:
    documents, questions = corpus_texts(settings), tune_questions()
    vectors: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    timings: dict[str, dict[str, float]] = {}
    for runtime in ("torch", *[r for r in runtimes if r != "torch"]):
        embedder = get_embedder(settings.model_copy(update={"embedding_runtime": runtime}))
        docs, queries, timings[runtime] = embed_all(embedder, documents, questions)
        vectors[runtime] = (docs, queries)
    ref_docs, ref_queries = vectors["torch"]
    reference_ranks = top_k(ref_queries, ref_docs)
    comparisons = {}
    for runtime, (docs, queries) in vectors.items():
        if runtime == "torch":
            continue
        comparisons[runtime] = {
            "query_cosine": cosine_summary(np.sum(queries * ref_queries, axis=1)),
            "document_cosine": cosine_summary(np.sum(docs * ref_docs, axis=1)),
            "dense_top5_vs_torch": rank_agreement(reference_ranks, top_k(queries, docs)),
        }
    return {
        "meta": {"started_at": datetime.now(UTC).isoformat(timespec="seconds"),
                 "model": settings.embedding_model, "cpus": os.cpu_count(),
                 "load_avg": round(os.getloadavg()[0], 2), "documents": len(documents),
                 "questions": len(questions), "questions_from": "evals tune set",
                 "top_k": TOP_K, "dimension": int(ref_docs.shape[1]),
                 "method": (__doc__ or "").strip().split("\n\n", 1)[1].replace("\n", " ")},
        "timings_sequential_informative_only": timings,
        "versus_torch": comparisons,
    }


def write(results: dict[str, Any], out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / RESULTS_NAME
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def summary_lines(results: dict[str, Any]) -> list[str]:
    lines = ["| runtime | query cos min / mean | document cos min / mean | top-1 same | "
             "top-5 same set | top-5 overlap mean |", "|---|---|---|---|---|---|"]
    for runtime, row in results["versus_torch"].items():
        q, d, r = row["query_cosine"], row["document_cosine"], row["dense_top5_vs_torch"]
        lines.append(f"| {runtime} | {q['min']:.4f} / {q['mean']:.4f} | {d['min']:.4f} / "
                     f"{d['mean']:.4f} | {r['top1_same']:.3f} | {r['top5_same_set']:.3f} | "
                     f"{r['top5_overlap_mean']:.3f} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.runtime_equivalence",
                                     description=__doc__)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    parser.add_argument("--runtimes", nargs="+", choices=RUNTIMES[1:], default=list(RUNTIMES[1:]))
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    results = measure(Settings(), ("torch", *args.runtimes))
    path = write(results, args.out)
    print("\n".join(summary_lines(results)))
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
