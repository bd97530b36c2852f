"""The eval harness with generators: a row per generator on each set, read from the stream
(`/api/ask/stream`), with the share of verified sentences and the times to the evidence and
to the first and last verified sentence. A fake streaming API gives exact figures on the
fixture layout; the real product with a deterministic fake chat model proves the real event
stream is read and scored. No assertion depends on how fast anything ran."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage

from evals import client as eval_client
from evals.__main__ import main
from evals.client import parse_event, read_events
from evals.diff import diff_items
from evals.documents import Layout
from evals.records import read_items, row_label
from evals.report import headline_tables, render_markdown, write_reports
from evals.runner import ConfigError, FactoryApps, RunOptions, run_evaluation
from tests.eval_support import fake_app, make_layout

# per question of the fixture layout: the sentences the fake generator kept, how many it
# dropped, and whether the written answer fell back to the extractive one
WRITTEN = {
    "Hoe lang loopt de Blijverslening?": (["De Blijverslening loopt lang [1].",
                                           "Zij helpt bij aanpassen [1]."], 1, False),
    "Met wie sluiten gemeenten prestatieafspraken?": (["Met corporaties en "
                                                       "huurdersorganisaties [1]."], 1, False),
    "vanaf welke leeftijd blijverslening in noord?": ([], 2, True),
}


def _sse(name: str, data: Any) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def streaming_app(config: str, index: str, layout: Layout, generator: str) -> FastAPI:
    """fake_app's answers, also streamed: the evidence, the kept sentences, then the final
    response with its verification (the written text replaces the answer unless it fell
    back). Unanswerable questions are never written."""
    app = fake_app(config, index, layout)
    ask: Callable[[dict[str, Any]], dict[str, Any]] = next(
        route.endpoint for route in app.routes if getattr(route, "path", "") == "/api/ask")

    @app.post("/api/ask/stream")
    def stream(body: dict[str, Any]) -> StreamingResponse:
        response = {**ask(body), "generator": "extractive", "verification": None}

        def events() -> Iterator[str]:
            yield _sse("evidence", {**response, "writing": response["answerable"]})
            final = dict(response)
            if response["answerable"]:
                kept, dropped, fallback = WRITTEN.get(body["question"], ([], 0, True))
                for sentence in kept:
                    yield _sse("sentence", {"text": sentence, "cited": [1]})
                final["verification"] = {
                    "generator": generator, "kept": len(kept), "dropped": dropped,
                    "reasons": {"getal-niet-in-bron": dropped} if dropped else {},
                    "fallback": fallback, "fallback_reason": "nothing-verified" if fallback
                    else None, "timings_ms": {}}
                if not fallback:
                    final.update(generator=generator, extractive_answer=response["answer"],
                                 answer=" ".join(kept))
            yield _sse("final", final)

        return StreamingResponse(events(), media_type="text/event-stream")

    return app


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    return make_layout(tmp_path / "fixture")


def apps(layout: Layout, built: list[tuple[str, str, str]] | None = None) -> FactoryApps:
    def generated(config: str, index: str, generator: str) -> FastAPI:
        if built is not None:
            built.append((config, index, generator))
        return streaming_app(config, index, layout, generator)

    return FactoryApps(lambda config, index: fake_app(config, index, layout),
                       generated=generated)


def overall(report: dict[str, Any], set_name: str, label: str) -> dict[str, Any]:
    result: dict[str, Any] = report["results"][set_name][label]["questions"]["overall"]
    return result


def test_a_row_per_generator_on_each_set(layout: Layout) -> None:
    built: list[tuple[str, str, str]] = []
    options = RunOptions(sets=["holdout", "generalisation"], configs=["hybrid"],
                         generators=["extractive", "local"])
    report = run_evaluation(options, apps(layout, built), layout)
    assert {g for _, _, g in built} == {"local"}
    for set_name in ("holdout", "generalisation"):
        rows = report["results"][set_name]
        assert list(rows) == ["hybrid", "hybrid+local"]
        assert rows["hybrid"]["generator"] == "extractive"
        assert rows["hybrid+local"]["config"] == "hybrid"
        assert rows["hybrid+local"]["generator"] == "local"
        # triage runs once, with the extractive product
        assert rows["hybrid+local"]["triage"] is None and rows["hybrid"]["triage"]
        assert "hybrid+local" in sorted(report["sets"][set_name]["order"])
        assert set(report["comparisons"][set_name]) == {"hybrid+local"}
    assert report["options"]["generators"] == ["extractive", "local"]
    assert "streaming" in report["method"]


def test_share_verified_written_and_the_existing_metrics(layout: Layout) -> None:
    options = RunOptions(sets=["holdout", "generalisation"], configs=["hybrid"],
                         generators=["extractive", "local"])
    report = run_evaluation(options, apps(layout), layout)
    holdout = overall(report, "holdout", "hybrid+local")
    # kept / (kept + dropped), pooled: (2 + 1) / (3 + 2)
    assert holdout["verified_share"]["value"] == pytest.approx(3 / 5)
    assert holdout["verified_share"]["n"] == 2  # the refused question was never written
    assert holdout["written_rate"]["value"] == 1.0
    assert holdout["refusal_accuracy"]["value"] == 1.0
    assert holdout["false_refusal_rate"]["value"] == 0.0
    # the written answers are scored: each sentence cites [1] and the key facts
    assert holdout["citation_precision"]["n"] == 2
    assert holdout["key_fact_recall"]["value"] == pytest.approx(1.0)
    suite = overall(report, "generalisation", "hybrid+local")
    assert suite["verified_share"]["value"] == 0.0 and suite["written_rate"]["value"] == 0.0
    # fallen back: the extractive answer is scored, as the reader sees it
    assert suite["key_fact_recall"]["value"] == overall(
        report, "generalisation", "hybrid")["key_fact_recall"]["value"]
    assert "verified_share" not in overall(report, "holdout", "hybrid")


def test_times_to_evidence_and_first_and_last_sentence(layout: Layout) -> None:
    options = RunOptions(sets=["holdout"], configs=["hybrid"], generators=["local"])
    report = run_evaluation(options, apps(layout), layout)
    items = {i["id"]: i for i in report["items"] if i["generator"] == "local"}
    h1 = items["h1"]
    assert h1["stream"]["sentences"] == 2 and h1["stream"]["writing"] is True
    timings = h1["timings"]
    assert timings["evidence"] <= timings["first_sentence"] <= timings["last_sentence"]
    assert timings["last_sentence"] <= timings["wall"]
    assert h1["verification"] == {"kept": 2, "dropped": 1,
                                  "reasons": {"getal-niet-in-bron": 1}, "fallback": False,
                                  "fallback_reason": None}
    assert h1["written_by"] == "local" and h1["metrics"]["verified_share"] == pytest.approx(2 / 3)
    h2 = items["h2"]  # refused: evidence only
    assert h2["verification"] is None and h2["stream"]["writing"] is False
    assert "evidence" in h2["timings"] and "first_sentence" not in h2["timings"]
    latency = overall(report, "holdout", "hybrid+local")["latency"]
    assert latency["evidence"]["n"] == 3 and latency["first_sentence"]["n"] == 2
    assert latency["last_sentence"]["n"] == 2
    assert "evidence" not in overall(report, "holdout", "hybrid")["latency"]


def test_reports_records_and_diffs_keep_generators_apart(layout: Layout, tmp_path: Path
                                                         ) -> None:
    options = RunOptions(sets=["holdout", "generalisation"], configs=["hybrid"],
                         generators=["extractive", "local"])
    report = run_evaluation(options, apps(layout), layout)
    terminal = headline_tables(report)
    assert "Generators on holdout" in terminal and "Generators on generalisation" in terminal
    row = next(line for line in terminal.splitlines()
               if line.startswith("| hybrid | local |"))
    assert "0.60" in row  # the share of verified sentences on holdout
    assert row.count(" (2) |") == 2  # first and last sentence: over the two written answers
    markdown = render_markdown(report)
    assert "## Generators per set" in markdown and "evidence p50" in markdown
    assert "last sentence p50" in markdown and "### holdout / hybrid+local" in markdown
    # sealed sets: aggregates only, no item ids
    assert "written answer replaced by the extractive one (1): 1 sealed item(s)" in markdown
    for item_id in ("h1", "h3", "g1"):
        assert f"{item_id}," not in markdown and f": {item_id}" not in markdown
    paths = write_reports(report, tmp_path / "reports")
    summary = json.loads(paths[0].read_text(encoding="utf-8"))
    assert summary["results"]["holdout"]["hybrid+local"]["generator"] == "local"
    items = read_items(paths[-1])
    local = [i for i in items if i.get("generator") == "local"]
    assert local and all("stream" in i and "verification" in i for i in local)
    assert all(i["generator"] == "extractive" for i in items if i not in local)
    # a diff matches the rows per generator: no item is compared with another generator's
    result = diff_items(items, items)
    assert {e.config for e in result.metrics} <= {"hybrid", "hybrid+local"}
    assert row_label("hybrid", None) == "hybrid" == row_label("hybrid", "extractive")


def test_extractive_only_stays_as_it_was(layout: Layout) -> None:
    report = run_evaluation(RunOptions(sets=["holdout"], configs=["hybrid", "bm25"]),
                            apps(layout), layout)
    assert list(report["results"]["holdout"]) == ["hybrid", "bm25"]
    assert "Generators" not in headline_tables(report)
    assert "## Generators per set" not in render_markdown(report)
    assert "streaming" not in report["method"]


def test_generator_options_are_checked(layout: Layout, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="unknown generator"):
        run_evaluation(RunOptions(sets=["holdout"], generators=["gpt"]), apps(layout), layout)
    with pytest.raises(ConfigError, match="--config hybrid"):
        run_evaluation(RunOptions(sets=["holdout"], configs=["bm25"], generators=["local"]),
                       apps(layout), layout)
    seen: list[RunOptions] = []

    def fake_run(options: RunOptions) -> dict[str, Any]:
        seen.append(options)
        raise ConfigError("stop here")

    monkeypatch.setattr("evals.__main__.run_evaluation", fake_run)
    assert main(["run", "--set", "holdout", "--config", "hybrid",
                 "--generator", "local", "openai", "local"]) == 2
    assert list(seen[-1].generators) == ["extractive", "local", "openai"]
    assert main(["run", "--set", "holdout"]) == 2
    assert list(seen[-1].generators) == ["extractive"]


def test_events_are_timed_as_they_arrive(monkeypatch: pytest.MonkeyPatch) -> None:
    ticks = count()
    monkeypatch.setattr(eval_client.time, "perf_counter", lambda: next(ticks) / 1000)
    started = eval_client.time.perf_counter()  # tick 0
    lines = iter(["event: evidence", 'data: {"a": 1}', "", ": keep-alive", "",
                  "event: sentence", 'data: {"text": "Een zin [1]."}', "",
                  "event: final", 'data: {"answer": "x"}'])  # the last block unterminated
    events = list(read_events(lines, started))
    assert [e.name for e in events] == ["evidence", "sentence", "final"]
    assert [e.at_ms for e in events] == pytest.approx([1.0, 2.0, 3.0])
    assert events[1].data == {"text": "Een zin [1]."}
    assert parse_event(["data: niet json"]) == ("message", "niet json")
    assert parse_event([": alleen commentaar"]) is None


# --- the real product and its real event stream, with a deterministic fake chat model ---

QUESTION = "Is de Blijverslening ook voor mensen met een huurwoning?"


class CopyingFake(GenericFakeChatModel):
    """Copies the first sentence of excerpt [1] with its marker (kept), then adds a claim
    with an amount no excerpt holds (dropped)."""

    def _reply(self, messages: list[BaseMessage]) -> None:
        body = str(messages[-1].content).split("[1]", 1)[1]
        sentence = body.strip().split(". ")[0].split("\n")[-1].strip().rstrip(".")
        self.messages = iter([AIMessage(
            content=f"{sentence} [1]. De lening kost precies 987654 euro per maand [1].")])

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
        self._reply(messages)
        return super()._generate(messages, *args, **kwargs)

    def _stream(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Iterator[Any]:
        self._reply(messages)
        return super()._stream(messages, *args, **kwargs)


def test_the_product_stream_with_a_fake_chat_model(fake_index: Any, tmp_path: Path) -> None:
    from assistant.api import create_app
    from assistant.service import build_assistant

    settings = fake_index.model_copy(update={"sqlite_path": tmp_path / "app.sqlite",
                                             "rate_limit": "off"})
    questions = tmp_path / "questions.jsonl"
    rows = [
        {"id": "q1", "question": QUESTION, "kind": "factual", "answerable": True,
         "gold_docs": [], "gold_quotes": [], "key_facts": ["Blijverslening"],
         "expected_instruments": [], "origin": "own"},
        {"id": "q2", "question": "Schrijf een gedicht over de zomer.", "kind": "out_of_scope",
         "answerable": False, "gold_docs": [], "gold_quotes": [], "key_facts": [],
         "expected_instruments": [], "origin": "own"},
    ]
    questions.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")

    def written(config: str, index: str, generator: str) -> FastAPI:
        assistant = build_assistant(settings.model_copy(update={"generator": generator}))
        assistant._chat = CopyingFake(messages=iter(()))
        return create_app(assistant.settings, assistant)

    factory = FactoryApps(lambda config, index: create_app(settings), generated=written)
    options = RunOptions(sets=[str(questions)], configs=["hybrid"],
                         generators=["extractive", "local"], resamples=50)
    report = run_evaluation(options, factory)
    (set_name,) = report["results"]
    local = overall(report, set_name, "hybrid+local")
    assert local["counts"]["errors"] == 0
    assert local["verified_share"]["value"] == pytest.approx(0.5)  # 1 kept, 1 dropped
    assert local["refusal_accuracy"]["value"] == 1.0
    item = next(i for i in report["items"] if i["generator"] == "local" and i["id"] == "q1")
    assert item["verification"]["kept"] == 1 and item["verification"]["dropped"] == 1
    assert item["stream"]["sentences"] == 1 and item["written_by"] == "generic-fake-chat-model"
    assert item["timings"]["evidence"] <= item["timings"]["first_sentence"]
    assert item["timings"]["first_sentence"] == item["timings"]["last_sentence"]
    assert "987654" not in item["answer"] and "[1]" in item["answer"]
    assert "hybrid" in report["results"][set_name]
