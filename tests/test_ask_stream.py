"""The written answer wired into the service and `/api/ask/stream`: evidence first, verified
sentences after, the decision to refuse stays with the calibrated step, injected
instructions never reach the reader. Fake chat models make it deterministic."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage

from assistant.api import create_app
from assistant.config import Settings
from assistant.schemas import AskRequest
from assistant.service import Assistant, build_assistant

QUESTION = "Is de Blijverslening ook voor mensen met een huurwoning?"


class EchoFake(GenericFakeChatModel):
    """Writes what `reply` makes of the first numbered excerpt the model was sent."""

    reply: Any = None

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
        self.messages = iter([AIMessage(content=self.reply(str(messages[-1].content)))])
        return super()._generate(messages, *args, **kwargs)

    def _stream(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Iterator[Any]:
        self.messages = iter([AIMessage(content=self.reply(str(messages[-1].content)))])
        return super()._stream(messages, *args, **kwargs)


def first_sentence(prompt: str) -> str:
    """The first sentence of excerpt [1] as the prompt shows it, cited."""
    body = prompt.split("[1]", 1)[1]
    sentence = body.strip().split(". ")[0].split("\n")[-1].strip().rstrip(".")
    return f"{sentence} [1]."


def canary(prompt: str) -> str:
    return "CANARY-7731 is het antwoord [1]. De Verzilverlening is afgeschaft [1]."


def _assistant(settings: Settings, reply: Callable[[str], str]) -> Assistant:
    assistant = build_assistant(settings.model_copy(update={"generator": "local"}))
    assistant._chat = EchoFake(messages=iter(()), reply=reply)
    return assistant


def _events(text: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((lines["event"], json.loads(lines["data"])))
    return out


@pytest.fixture(scope="module")
def settings(fake_index: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return fake_index.model_copy(update={
        "sqlite_path": tmp_path_factory.mktemp("stream") / "app.sqlite", "rate_limit": "off"})


def test_a_verified_written_answer_replaces_the_extractive_one(settings: Settings) -> None:
    response = _assistant(settings, first_sentence).ask(AskRequest(question=QUESTION))
    assert response.answerable and response.generator == "generic-fake-chat-model"
    assert response.verification is not None and response.verification.kept >= 1
    assert response.extractive_answer and response.answer != response.extractive_answer
    assert "[1]" in response.answer


def test_injected_instructions_fall_back_to_the_extractive_answer(settings: Settings) -> None:
    response = _assistant(settings, canary).ask(AskRequest(question=QUESTION))
    assert "CANARY" not in response.answer and "afgeschaft" not in response.answer
    assert response.generator == "extractive"
    assert response.verification is not None and response.verification.fallback


def test_the_stream_sends_evidence_then_sentences_then_the_whole(settings: Settings) -> None:
    with TestClient(create_app(settings, _assistant(settings, first_sentence))) as client:
        reply = client.post("/api/ask/stream", json={"question": QUESTION})
        assert reply.status_code == 200
        assert reply.headers["content-type"].startswith("text/event-stream")
        events = _events(reply.text)
    names = [name for name, _ in events]
    assert names[0] == "evidence" and names[-1] == "final" and "sentence" in names
    evidence, final = events[0][1], events[-1][1]
    assert evidence["citations"] and evidence["generator"] == "extractive"
    assert final["generator"] == "generic-fake-chat-model" and final["verification"]["kept"] >= 1


def test_a_refused_question_is_never_written(settings: Settings) -> None:
    with TestClient(create_app(settings, _assistant(settings, canary))) as client:
        reply = client.post("/api/ask/stream",
                            json={"question": "Schrijf een gedicht over de zomer."})
        events = _events(reply.text)
    assert [name for name, _ in events] == ["evidence", "final"]
    assert events[-1][1]["answerable"] is False and events[-1][1]["verification"] is None
