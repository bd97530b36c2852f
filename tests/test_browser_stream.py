"""The chat page with a generator configured: sources at once, the written answer growing
beneath them, a stop button, and the final answer with its label (real Chromium)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.messages import BaseMessage

from assistant.config import Settings
from tests.browser_support import LiveServer
from tests.test_ask_stream import EchoFake, first_sentence
from tests.test_browser import browser  # noqa: F401  (the shared Chromium fixture)

pytestmark = pytest.mark.integration
QUESTION = "Is de Blijverslening ook voor mensen met een huurwoning?"


class SlowFake(EchoFake):
    """Writes slowly, so the page is seen while the answer grows."""

    def _stream(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Iterator[Any]:
        for chunk in super()._stream(messages, *args, **kwargs):
            time.sleep(0.15)
            yield chunk


@pytest.fixture(scope="module")
def writing_server(fake_index: Settings, tmp_path_factory: pytest.TempPathFactory
                   ) -> Iterator[str]:
    from assistant.api import create_app
    from assistant.service import build_assistant

    settings = fake_index.model_copy(update={
        "sqlite_path": tmp_path_factory.mktemp("stream-db") / "app.sqlite",
        "rate_limit": "off", "generator": "local", "request_timeout_s": 120.0,
    })
    assistant = build_assistant(settings)
    assistant._chat = SlowFake(messages=iter(()), reply=first_sentence)
    server = LiveServer(create_app(settings, assistant)).start()
    try:
        yield server.url
    finally:
        server.stop()


def test_sources_first_then_the_written_answer(writing_server: str, browser: Any) -> None:  # noqa: F811
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    try:
        page.goto(writing_server + "/")
        page.fill("#question", QUESTION)
        page.click("#ask-button")
        page.wait_for_selector(".answer .source-card, .answer .sources", timeout=60_000)
        assert page.locator("text=Stoppen").count() == 1  # still writing, and can be stopped
        page.wait_for_selector("text=Samengevat", timeout=60_000)
        assert page.locator("text=Stoppen").count() == 0
        assert page.locator(".answer .cite, .answer [data-n], .answer a, .answer button").count()
        assert page.locator("text=Letterlijk uit de bronnen").count() == 1
    finally:
        page.close()
