"""The pure parts of the benchmarks: statistics, synthetic corpus, variants, stand-in vectors,
goals and the report. No model, no server: these run in a second or two."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from bench.questions import stream, variant
from bench.report import finalize, lookup, write_results
from bench.stats import directory_mb, proc_memory_mb, summarize, throughput
from bench.surrogate import SourceVectorEmbedder, perturbed
from bench.synthetic import build_corpus, perturb
from tests.conftest import CORPUS, make_settings


def test_summarize_interpolates_percentiles() -> None:
    summary = summarize([float(v) for v in range(1, 101)])
    assert summary == {"n": 100, "p50": 50.5, "p95": 95.0, "p99": 99.0, "mean": 50.5,
                       "max": 100.0}
    assert summarize([7.0])["p99"] == 7.0
    assert summarize([10.0, 20.0])["p95"] == 19.5


def test_summarize_empty_is_none_not_zero() -> None:
    assert summarize([]) == {"n": 0, "p50": None, "p95": None, "p99": None, "mean": None,
                             "max": None}


def test_throughput() -> None:
    assert throughput(30, 10.0, 13.0) == 10.0
    assert throughput(0, 10.0, 13.0) is None
    assert throughput(5, 10.0, 10.0) is None


def test_proc_memory_and_directory_size(tmp_path: Path) -> None:
    memory = proc_memory_mb()
    assert 0 < memory["VmRSS"] <= memory["VmHWM"]
    (tmp_path / "a").write_bytes(b"x" * (1 << 20))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b").write_bytes(b"x" * (1 << 19))
    assert directory_mb(tmp_path) == 1.5


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_synthetic_corpus_is_reproducible(tmp_path: Path) -> None:
    first = build_corpus(CORPUS, tmp_path / "a", 3, seed=7)
    build_corpus(CORPUS, tmp_path / "b", 3, seed=7)
    build_corpus(CORPUS, tmp_path / "c", 3, seed=8)
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    assert _files(tmp_path / "a") != _files(tmp_path / "c")
    sources = sorted(CORPUS.glob("*.txt"))
    assert first.documents == 3 * len(sources)
    for source in sources:
        assert (tmp_path / "a" / source.name).read_bytes() == source.read_bytes()
        assert (tmp_path / "a" / f"{source.stem}-v002.txt").read_bytes() != source.read_bytes()
    real = sum(len(p.read_text(encoding="utf-8")) for p in sources)
    assert abs(first.characters - 3 * real) < 0.05 * 3 * real


def test_synthetic_corpus_has_unique_ids_and_the_data_files(tmp_path: Path) -> None:
    build_corpus(CORPUS, tmp_path, 2)
    metadata = yaml.safe_load((tmp_path / "documents.yaml").read_text(encoding="utf-8"))
    ids = [meta["id"] for meta in metadata.values()]
    assert len(ids) == len(set(ids)) == 2 * len(list(CORPUS.glob("*.txt")))
    assert (tmp_path / "instruments.yaml").is_file()


def test_synthetic_corpus_ingests(tmp_path: Path) -> None:
    from ingest.pipeline import run_ingest

    corpus = build_corpus(CORPUS, tmp_path / "corpus", 2)
    settings = make_settings(tmp_path / "data", corpus_dir=corpus.directory)
    report = run_ingest(settings)
    assert report.status == "built" and not report.skipped
    assert report.documents == corpus.documents


def test_perturb_moves_sentences_places_and_numbers() -> None:
    text = ("Titel\n\nIn Bernheze wonen 2.400 ouderen. Zij willen langer thuis wonen. "
            "Dat vraagt om 35 woningen.\n\n- 1) lijstpunt in Bernheze\n\n"
            "Sinds 2019 werkt Bernheze samen. De gemeente koos voor 3 doelen.\n")
    out = perturb(text, random.Random(1))
    assert out.startswith("Titel\n\n") and "\n\n- 1) lijstpunt in " in out
    assert "Bernheze" not in out or out.count("Bernheze") == 3
    assert "2.400" not in out and "3 doelen" in out
    sentences = {"Zij willen langer thuis wonen.", "De gemeente koos voor 3 doelen."}
    assert all(s in out for s in sentences)


def test_question_variants_are_unique_and_keep_the_words() -> None:
    bodies = [{"question": "Wat is de Verzilverlening?", "history": []},
              {"question": "Wat kost het OWZ?", "history": []}]
    questions = [body["question"] for body in stream(bodies, 0, 400)]
    assert len(set(questions)) == 400
    assert questions[:2] == ["Wat is de Verzilverlening?", "Wat kost het OWZ?"]
    assert all(" ".join(q.split()) in {b["question"] for b in bodies} for q in questions)
    assert variant("Wat?", 0) == "Wat?" and variant("Wat?", 2) != variant("Wat?", 1)
    assert stream(bodies, 4, 3) == stream(bodies, 0, 7)[4:]


class _FakeQueries:
    model_key = "fake:3"
    dimension = 3

    def embed_documents(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        raise AssertionError("documents must not reach the query model")

    def embed_query(self, text: str) -> np.ndarray:
        return np.array([0.0, 0.0, 1.0], dtype=np.float32)

    def clear_query_cache(self) -> None:
        """Nothing cached: every vector is the same constant."""


def test_source_vectors_exact_or_perturbed_deterministically() -> None:
    sources = {"huurcontract op eigen naam": np.array([1.0, 0.0, 0.0], dtype=np.float32),
               "verzilverlening voor ouderen": np.array([0.0, 1.0, 0.0], dtype=np.float32)}
    embedder = SourceVectorEmbedder(sources, _FakeQueries(), "real:full")
    vectors = embedder.embed_documents(["huurcontract op eigen naam",
                                        "de verzilverlening voor oudere huurders"])
    assert vectors[0].tolist() == [1.0, 0.0, 0.0]
    assert np.isclose(np.linalg.norm(vectors[1]), 1.0)
    assert int(np.argmax(vectors[1])) == 1
    again = SourceVectorEmbedder(sources, _FakeQueries(), "real:full").embed_documents(
        ["huurcontract op eigen naam", "de verzilverlening voor oudere huurders"])
    assert np.array_equal(again, vectors)
    assert (embedder.exact, embedder.approximated) == (1, 1)
    assert embedder.embed_query("x").tolist() == [0.0, 0.0, 1.0]
    assert embedder.model_key == "real:full" and embedder.dimension == 3


def test_repeated_texts_get_distinct_vectors() -> None:
    sources = {"huurcontract op eigen naam": np.array([1.0, 0.0, 0.0], dtype=np.float32)}
    embedder = SourceVectorEmbedder(sources, _FakeQueries(), "real:full")
    first = embedder.embed_documents(["huurcontract op eigen naam", "andere tekst"])
    second = embedder.embed_documents(["huurcontract op eigen naam", "andere tekst"])
    assert first[0].tolist() == [1.0, 0.0, 0.0]
    assert len({tuple(v) for v in np.concatenate([first, second]).round(6)}) == 4
    assert (embedder.exact, embedder.approximated) == (1, 3)


def test_perturbation_stays_close_in_high_dimensions() -> None:
    source = np.zeros(768, dtype=np.float32)
    source[0] = 1.0
    moved = perturbed(source, "tekst")
    assert 0.93 < float(moved @ source) < 0.98
    assert not np.array_equal(moved, perturbed(source, "andere tekst"))


def _level(clients: int, errors: int, p95: float, rps: float) -> dict[str, Any]:
    return {"clients": clients, "sent": 10, "errors": errors, "error_rate": errors / 10,
            "throughput_rps": rps, "ask_ms": {"p50": p95 - 20, "p95": p95, "p99": p95 + 5},
            "retrieve_ms": {"p50": 80.0, "p95": 90.0, "p99": 95.0}}


def _ingest(cold_s: float, warm_cli_s: float) -> dict[str, Any]:
    return {"documents": 5, "chunks": 71, "units": 350, "model_load_s": 5.0, "cold_s": cold_s,
            "chunks_per_s": round(71 / cold_s, 2), "units_per_s": round(350 / cold_s, 2),
            "chunks_per_s_with_model_load": 1.7, "warm_s": 0.01, "warm_cli_s": warm_cli_s,
            "memory_mb": {"VmHWM": 1400.0}, "index_mb": 1.0, "load_avg_start": 1.5}


def _serving(p95: float, rps8: float, errors: int) -> dict[str, Any]:
    levels = [_level(1, errors, p95, 5.0), _level(4, 0, p95 * 2, 9.0),
              _level(8, 0, p95 * 4, rps8)]
    return {"levels": levels, "repeat": _level(1, 0, 20.0, 50.0),
            "memory_mb": {"VmHWM": 1300.0}, "errors_below_saturation": errors,
            "saturation_rps": rps8, "saturation_clients": 8, "load_avg_start": 2.0}


def _results(retrieve_p95: float, errors: int) -> dict[str, Any]:
    def latency(p50: float) -> dict[str, Any]:
        return {"retrieve": {"p50": p50, "p95": retrieve_p95},
                "total": {"p50": 90.0, "p95": 99.0}, "search_only": {"p50": 2.0, "p95": 3.0}}

    def query(p50: float) -> dict[str, Any]:
        return {"n": 10, "p50": p50, "p95": p50 * 1.2}

    return {
        "meta": {"mode": "test", "started_at": "2026-01-01T00:00:00+00:00", "duration_s": 1.0,
                 "cpus": 2, "load_avg_start": 0.1, "load_avg_end": 0.2,
                 "runtimes": ["torch", "onnx", "onnx-int8"], "scaling_runtime": "torch"},
        "queries": {"runtimes": ["torch", "onnx", "onnx-int8"], "load_avg_start": 1.0,
                    "model_load_s": {"torch": 10.0, "onnx": 3.0, "onnx-int8": 2.0},
                    "threads": {"1": {"torch": query(150.0), "onnx": query(60.0),
                                      "onnx-int8": query(40.0)}}},
        "ingest": {"torch": _ingest(35.5, 6.0), "onnx": _ingest(14.2, 2.5),
                   "onnx-int8": {"error": "exit code 1: kapot"}},
        "serving": {"torch": _serving(250.0, 9.0, errors), "onnx": _serving(100.0, 30.0, 0),
                    "onnx-int8": {"skipped": "no index"}},
        "baseline": {"ingest_s": 71.0, "model_load_s": 5.0, "splits": 60,
                     "latency_ms": {"retrieve": {"p50": 40.0, "p95": 50.0},
                                    "total": {"p50": 40.0, "p95": 50.0}},
                     "ours_paired_ms": {"retrieve": {"p50": 80.0, "p95": 120.0},
                                        "total": {"p50": 90.0, "p95": 130.0}},
                     "memory_mb": {"VmHWM": 1000.0}},
        "scaling": [{"factor": 1, "documents": 5, "chunks": 71, "units": 350,
                     "characters": 45_000, "index_mb": 1.0, "ingest_s": 12.0,
                     "surrogate_embed_s": 0.5, "latency_ms": latency(80.0),
                     "memory_mb": {"VmHWM": 1100.0}, "real_vectors": 71,
                     "perturbed_vectors": 0},
                    {"factor": 100, "documents": 500, "chunks": 7100, "units": 35_000,
                     "characters": 4_500_000, "index_mb": 90.0, "ingest_s": 600.0,
                     "surrogate_embed_s": 50.0, "latency_ms": latency(104.0),
                     "memory_mb": {"VmHWM": 2500.0}, "real_vectors": 71,
                     "perturbed_vectors": 7029}],
    }


def _goals(results: dict[str, Any]) -> dict[tuple[str, str], bool | None]:
    return {(g["goal"], g["runtime"]): g["passed"] for g in finalize(results)["goals"]}


def test_goals_per_runtime_pass_miss_and_unmeasured() -> None:
    goals = _goals(_results(120.0, 0))
    speedup = "Question embedding speed-up over PyTorch (one query, serving's 1 thread, p50)"
    assert goals[(speedup, "onnx")] is False  # 150 / 60 = 2.5
    assert goals[(speedup, "onnx-int8")] is True  # 150 / 40 = 3.75
    assert (speedup, "torch") not in goals
    ask = "/api/ask p95, 1 client (HTTP)"
    assert (goals[(ask, "torch")], goals[(ask, "onnx")], goals[(ask, "onnx-int8")]) == (
        False, True, None)
    rate = "Throughput at 8 clients (HTTP)"
    assert (goals[(rate, "torch")], goals[(rate, "onnx")]) == (False, True)
    cold = "Cold ingest of the real corpus, answer units included"
    assert (goals[(cold, "torch")], goals[(cold, "onnx")], goals[(cold, "onnx-int8")]) == (
        False, True, None)
    warm = "Warm re-ingest, unchanged corpus (fresh `assistant ingest` process)"
    assert (goals[(warm, "torch")], goals[(warm, "onnx")]) == (False, True)
    ratio = "Retrieval p50 at 100× ÷ at 1× (in-process, incl. query embedding)"
    assert goals[(ratio, "torch")] is False  # 104 / 80 = 1.3
    assert goals[("Retrieval p95 at 1× (in-process, incl. query embedding)", "torch")] is True
    failing = _goals(_results(151.0, 2))
    assert failing[("Retrieval p95 at 1× (in-process, incl. query embedding)", "torch")] is False
    assert failing[("Errors at 1, 4 and 8 clients", "torch")] is False
    assert failing[("Errors at 1, 4 and 8 clients", "onnx")] is True


def test_projected_ingest_uses_each_runtimes_model_time() -> None:
    derived = finalize(_results(120.0, 0))["derived"]
    # torch: (35.5 - 11.5) / 71 s per chunk; 100×: 550 s without the stand-in + 7100 × that
    assert derived["projected_ingest"]["torch"]["100"]["seconds"] == 550.0 + 2400.0
    assert derived["projected_ingest"]["onnx"]["100"]["seconds"] == round(550.0 + 270.0, 1)
    assert derived["projected_ingest"]["onnx-int8"] == {}
    goals = _goals(_results(120.0, 0))
    projected = "100× corpus ingest, projected with this runtime's measured model time"
    assert (goals[(projected, "torch")], goals[(projected, "onnx")]) == (False, True)
    assert derived["query_speedup"] == {"torch": 1.0, "onnx": 2.5, "onnx-int8": 3.75}


def test_runtime_comparison_is_a_ratio_to_torch_from_the_same_run() -> None:
    rows = {row["metric"]: row for row in finalize(_results(120.0, 0))["runtime_comparison"]}
    query = rows["question embedding p50, 1 thread (ms)"]
    assert query["values"] == {"torch": 150.0, "onnx": 60.0, "onnx-int8": 40.0}
    assert query["ratio_to_torch"] == {"onnx": 0.4, "onnx-int8": 0.27}
    assert rows["req/s, 8 clients"]["ratio_to_torch"] == {"onnx": 3.33, "onnx-int8": None}
    assert rows["question embedding p50, 2 threads (ms)"]["values"]["torch"] is None


def test_lookup_picks_runs_by_factor_and_clients() -> None:
    results = _results(120.0, 0)
    assert lookup(results, ("scaling", 1, "chunks")) == 71
    assert lookup(results, ("scaling", 10, "chunks")) is None
    assert lookup(results, ("serving", "torch", "levels", 1, "ask_ms", "p95")) == 250.0
    assert lookup(results, ("serving", "onnx-int8", "levels", 1)) is None


def test_report_is_written_as_json_and_markdown(tmp_path: Path) -> None:
    results = finalize(_results(120.0, 0))
    ratios = {row["metric"]: row["ratio"] for row in results["comparison"]}
    assert ratios["ingest time, excl. model load (s)"] == 0.5
    assert ratios["retrieval p95, paired (ms)"] == 2.4
    assert ratios["answer end-to-end p50, paired (ms)"] == 2.25
    results["equivalence"] = {
        "meta": {"started_at": "2026-01-01T00:00:00+00:00", "documents": 71, "questions": 272,
                 "questions_from": "evals tune set", "top_k": 5},
        "versus_torch": {"onnx": {
            "query_cosine": {"min": 0.99999, "mean": 1.0},
            "document_cosine": {"min": 0.99998, "mean": 1.0},
            "dense_top5_vs_torch": {"top1_same": 1.0, "top5_same_set": 0.99,
                                    "top5_overlap_mean": 0.998}}}}
    json_path, markdown_path, markdown = write_results(results, tmp_path / "results")
    assert json.loads(json_path.read_text(encoding="utf-8"))["goals"] == results["goals"]
    assert markdown_path.read_text(encoding="utf-8") == markdown
    assert "| goal | runtime | target | measured | result | load average when measured |" in (
        markdown)
    assert "PASS" in markdown and "MISS" in markdown and "not measured" in markdown
    assert "| metric | torch | onnx | onnx-int8 | onnx ÷ torch | onnx-int8 ÷ torch |" in markdown
    assert "| question embedding p50, 1 thread (ms) | 150.0 | 60.0 | 40.0 | 0.40 | 0.27 |" in (
        markdown)
    assert "exit code 1: kapot" in markdown and "onnx-int8: not measured: no index" in markdown
    assert "| onnx | 1.00 | 1.00 | 1.00 | 1.00 | 1.00 | 0.99 | 1.00 |" in markdown
    assert "| 100× |" in markdown and "2 950.0 (2.41)" in markdown


def test_report_without_equivalence_says_how_to_get_it() -> None:
    from bench.report import render_markdown

    assert "python -m bench --equivalence" in render_markdown(finalize(_results(120.0, 0)))


@pytest.mark.parametrize("factor", [0, -1])
def test_build_corpus_rejects_a_factor_below_one(tmp_path: Path, factor: int) -> None:
    with pytest.raises(ValueError):
        build_corpus(CORPUS, tmp_path, factor)
