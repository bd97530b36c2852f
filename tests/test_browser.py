"""Real-browser tests of the chat page and the triage desk (Playwright + Debian's Chromium).

One live server (uvicorn in a thread) over the corpus ingested with the real embedding model
serves every test; each test gets a fresh browser context. Screenshots for review are written
to tests/artifacts/.
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from assistant.config import Settings
from tests.browser_support import ARTIFACTS, CHROMIUM_ARGS, LiveServer, chromium_path

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
Page = playwright_api.Page

QUESTION = "Welke lening is er voor huurders die hun woning willen aanpassen?"
FOLLOW_UP = "En voor eigenaren?"
OFF_TOPIC = ("Wat is de hoofdstad van Frankrijk?", "Schrijf een gedicht over de zomer.")
XSS = "<img src=x onerror=alert(1)> Wat is de Blijverslening?"
REPORT = (
    "De onderhandelingen over de prestatieafspraken zitten vast op wonen en zorg. "
    "Partijen vertrouwen elkaar niet meer en de corporatie wil geen woningen voor "
    "beschermd wonen toezeggen. Bel mij gerust: Jan de Vries, 06-12345678."
)
ANSWER_TIMEOUT_MS = 90_000
CSP_VIOLATION = re.compile(r"content security policy|refused to (execute|apply|load|connect)", re.I)
RECORD_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""

expect.set_options(timeout=ANSWER_TIMEOUT_MS)


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def live_server(real_index: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from assistant.api import create_app
    from assistant.schemas import AskRequest
    from assistant.service import build_assistant

    settings = real_index.model_copy(update={
        "sqlite_path": tmp_path_factory.mktemp("browser-db") / "browser.sqlite",
        "request_timeout_s": 120.0,
    })
    assistant = build_assistant(settings)
    assistant.ask(AskRequest(question=QUESTION))  # load the model before the first page waits on it
    server = LiveServer(create_app(settings, assistant)).start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = chromium_path()
    if executable is None:
        pytest.fail("Chromium is missing: run `make browser` "
                    "(apt-get install chromium chromium-driver)")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class PageProbe:
    """What a page did that it should not: console errors, CSP violations, JS dialogs."""

    def __init__(self, page: Page) -> None:
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on("dialog", self._dialog)
        self.page = page

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def csp_violations(self) -> list[str]:
        recorded = self.page.evaluate("window.__cspViolations || []")
        return [*recorded, *(m for m in self.console_errors if CSP_VIOLATION.search(m))]

    def assert_clean(self) -> None:
        assert self.csp_violations() == []
        assert self.page_errors == []
        assert self.dialogs == []
        assert self.console_errors == []


def _new_page(browser: Any, base_url: str, **context_options: Any) -> tuple[Any, Page, PageProbe]:
    context = browser.new_context(base_url=base_url, locale="nl-NL", **context_options)
    context.add_init_script(RECORD_CSP)
    page = context.new_page()
    page.set_default_timeout(ANSWER_TIMEOUT_MS)
    return context, page, PageProbe(page)


@pytest.fixture
def chat(browser: Any, live_server: str) -> Iterator[tuple[Page, PageProbe]]:
    context, page, probe = _new_page(browser, live_server, viewport={"width": 1280, "height": 900})
    page.goto("/")
    expect(page.locator("#question")).to_be_visible()
    yield page, probe
    context.close()


# --- helpers ----------------------------------------------------------------------------------


def ask(page: Page, question: str) -> dict[str, Any]:
    """Type a question, press Enter and wait for its answer; returns the API's JSON."""
    turns = page.locator("#conversation > li")
    before = turns.count()
    page.locator("#question").fill(question)
    with page.expect_response(
            lambda r: r.url.endswith("/api/ask") and r.request.method == "POST") as info:
        page.locator("#question").press("Enter")
    data: dict[str, Any] = info.value.json()
    expect(turns).to_have_count(before + 1)
    expect(turns.nth(before).locator("article.answer")).not_to_have_class(re.compile(r"\bpending\b"))
    return data


def last_answer(page: Page) -> Any:
    return page.locator("#conversation > li").last.locator("article.answer")


def open_citation_and_check(page: Page, trigger: Any, quote: str) -> None:
    """Click a citation; the dialog shows the whole document with exactly the quote marked."""
    trigger.click()
    dialog = page.locator("#doc-dialog")
    expect(dialog).to_be_visible()
    mark = dialog.locator("mark")
    expect(mark).to_have_count(1)
    assert mark.text_content() == quote
    expect(mark).to_be_in_viewport()
    body_text = dialog.locator("#doc-body").text_content() or ""
    assert len(body_text) > len(quote)
    assert page.evaluate("document.getElementById('doc-dialog').contains(document.activeElement)")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


# --- chat page --------------------------------------------------------------------------------


@pytest.mark.integration
def test_answer_markers_open_the_quote_in_its_document(chat: tuple[Page, PageProbe]) -> None:
    page, probe = chat
    data = ask(page, QUESTION)
    assert data["answerable"] is True
    answer = last_answer(page)
    expect(answer.locator(".answer-heading")).to_have_text("Antwoord")
    markers = answer.locator(".answer-text .cite-marker")
    assert markers.count() >= 1
    first = markers.first
    n = int(first.get_attribute("data-n") or "0")
    citation = next(c for c in data["citations"] if c["n"] == n)
    open_citation_and_check(page, first, citation["quote"])
    expect(first).to_be_focused()  # focus returns to the marker that opened the panel

    sources = answer.locator(".sources .source")
    expect(sources).to_have_count(len(data["citations"]))
    expect(sources.first.locator(".quote")).to_have_text(data["citations"][0]["quote"])

    cards = answer.locator(".instruments .card")
    expect(cards).to_have_count(len(data["instruments"]))
    for index, instrument in enumerate(data["instruments"]):
        card = cards.nth(index)
        expect(card.locator(".card-title")).to_have_text(instrument["name"])
        expect(card.locator(".badges")).to_contain_text(
            "Past bij uw situatie" if instrument["fits"] else "Past niet")
        expect(card.locator(".why")).to_contain_text(instrument["why"])
        if instrument["source"]:
            source_quote = instrument["source"]["quote"]
            open_citation_and_check(page, card.locator(".quote-button"), source_quote)
    probe.assert_clean()


@pytest.mark.integration
def test_follow_up_sends_history_and_gets_a_second_answer(chat: tuple[Page, PageProbe]) -> None:
    page, probe = chat
    first = ask(page, QUESTION)
    with page.expect_request(lambda r: r.url.endswith("/api/ask")) as request_info:
        second = ask(page, FOLLOW_UP)
    sent = request_info.value.post_data_json
    assert sent["question"] == FOLLOW_UP
    assert sent["top_k"] == 5
    assert sent["history"] == [
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": first["answer"]},
    ]
    assert second["answerable"] is True
    assert second["standalone_question"] != FOLLOW_UP  # the follow-up was resolved with history
    turns = page.locator("#conversation > li")
    expect(turns).to_have_count(2)
    expect(turns.nth(1).locator(".question-text")).to_have_text(FOLLOW_UP)
    assert turns.nth(1).locator(".cite-marker").count() >= 1
    expect(page.locator("#live")).to_contain_text("Antwoord")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat.png"), full_page=True)
    probe.assert_clean()


@pytest.mark.integration
def test_off_topic_questions_show_the_not_in_documents_state(chat: tuple[Page, PageProbe]) -> None:
    page, probe = chat
    for question in OFF_TOPIC:
        page.get_by_role("button", name="Nieuw gesprek").click()
        expect(page.locator("#conversation > li")).to_have_count(0)
        with page.expect_request(lambda r: r.url.endswith("/api/ask")) as request_info:
            data = ask(page, question)
        assert request_info.value.post_data_json["history"] == []  # a new conversation
        assert data["answerable"] is False, question
        answer = last_answer(page)
        expect(answer).to_have_class(re.compile(r"\brefusal\b"))
        expect(answer.locator(".answer-heading")).to_have_text("Dit staat niet in de documenten")
        expect(answer.locator(".answer-text")).to_have_text(data["answer"])
        expect(answer.locator(".cite-marker")).to_have_count(0)
        expect(answer.locator(".instruments")).to_have_count(0)
    probe.assert_clean()


@pytest.mark.integration
def test_feedback_is_stored_and_exported(chat: tuple[Page, PageProbe]) -> None:
    page, probe = chat
    data = ask(page, QUESTION)
    token = f"browsertest-{uuid.uuid4().hex[:8]}"
    answer = last_answer(page)
    answer.get_by_label("Toelichting (optioneel)").fill(f"Duidelijk antwoord {token}")
    answer.get_by_role("button", name="Niet nuttig").click()
    expect(answer.locator(".feedback-status")).to_have_text("Bedankt voor uw feedback")
    thumb_down = answer.get_by_role("button", name="Niet nuttig")
    expect(thumb_down).to_have_attribute("aria-pressed", "true")

    export = page.request.get("/api/feedback.csv")
    assert export.ok
    rows = [r for r in csv.DictReader(io.StringIO(export.text())) if token in r["reason"]]
    assert len(rows) == 1
    assert rows[0]["rating"] == "down"
    assert rows[0]["question"] == QUESTION
    assert rows[0]["answer"] == data["answer"]
    stored = {c["n"] for c in json.loads(rows[0]["citations"])}
    assert stored == {c["n"] for c in data["citations"]}
    probe.assert_clean()


@pytest.mark.integration
def test_copy_answer_with_sources(browser: Any, live_server: str) -> None:
    context, page, probe = _new_page(browser, live_server, viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    try:
        page.goto("/")
        data = ask(page, QUESTION)
        answer = last_answer(page)
        answer.get_by_role("button", name="Kopieer antwoord met bronnen").click()
        status = answer.locator(".copy-status")
        expect(status).to_have_text("Het antwoord met bronnen is gekopieerd.")
        copied = page.evaluate("navigator.clipboard.readText()")
        first = data["citations"][0]
        assert copied.startswith(data["answer"].strip())
        assert f'[1] {first["title"]} — {first["section"]}: "{first["quote"]}"' in copied

        # Without a clipboard API the text is offered for manual copying instead.
        page.evaluate("Object.defineProperty(navigator, 'clipboard', {value: undefined})")
        answer.get_by_role("button", name="Kopieer antwoord met bronnen").click()
        fallback = answer.locator("textarea.copy-fallback")
        expect(fallback).to_be_visible()
        expect(fallback).to_be_focused()
        assert fallback.input_value() == copied
        expect(answer.locator(".copy-status")).to_contain_text("Kopiëren lukte niet automatisch")
        probe.assert_clean()
    finally:
        context.close()


@pytest.mark.integration
def test_markup_in_a_question_renders_as_inert_text(chat: tuple[Page, PageProbe]) -> None:
    page, probe = chat
    ask(page, XSS)
    question = page.locator("#conversation .question-text").last
    expect(question).to_have_text(XSS)
    expect(question).to_be_visible()
    assert page.locator("#conversation img").count() == 0
    assert page.evaluate("document.querySelectorAll('img[src=\"x\"], [onerror]').length") == 0
    page.wait_for_timeout(300)  # give a would-be onerror handler the chance to fire
    assert probe.dialogs == []
    probe.assert_clean()


@pytest.mark.integration
def test_api_errors_are_shown_in_dutch(chat: tuple[Page, PageProbe]) -> None:
    page, probe = chat
    # A real 422 from the API: the textarea's maxlength is bypassed from script.
    page.evaluate("document.getElementById('question').removeAttribute('maxlength')")
    page.locator("#question").fill("Wat is de Blijverslening? " + "x" * 2100)
    with page.expect_response(lambda r: r.url.endswith("/api/ask")) as info:
        page.locator("#question").press("Enter")
    assert info.value.status == 422
    data_error = info.value.json()["detail"]
    answer = last_answer(page)
    expect(answer).to_have_class(re.compile(r"\berror\b"))
    expect(answer.locator(".answer-text")).to_have_text(data_error)
    expect(page.locator("#question")).not_to_have_value("")  # the question comes back to retry

    page.route("**/api/ask", lambda route: route.fulfill(
        status=503, content_type="application/json",
        body='{"detail": "De index ontbreekt. Voer eerst de inleesstap uit."}'))
    page.locator("#question").fill("Wat is de Verzilverlening?")
    page.locator("#question").press("Enter")
    expect(last_answer(page).locator(".answer-text")).to_have_text(
        "De index ontbreekt. Voer eerst de inleesstap uit.")
    page.unroute("**/api/ask")

    page.route("**/api/ask", lambda route: route.abort("connectionrefused"))
    page.locator("#question").fill("Wat is de Verzilverlening?")
    page.locator("#question").press("Enter")
    offline = last_answer(page).locator(".answer-text")
    expect(offline).to_contain_text("Geen verbinding met de server")
    page.unroute("**/api/ask")
    assert probe.csp_violations() == []
    assert probe.dialogs == [] and probe.page_errors == []


@pytest.mark.integration
def test_csp_header_is_sent_and_nothing_violates_it(browser: Any, live_server: str) -> None:
    context, page, probe = _new_page(browser, live_server, viewport={"width": 1280, "height": 900})
    try:
        for path in ("/", "/triage", "/static/app.js", "/static/style.css"):
            response = page.request.get(path)
            assert response.ok, path
            policy = response.headers.get("content-security-policy", "")
            assert "default-src 'self'" in policy and "script-src 'self'" in policy, path
        response = page.goto("/")
        assert response is not None
        assert "script-src 'self'" in response.headers["content-security-policy"]
        data = ask(page, QUESTION)
        marker = page.locator(".cite-marker").first
        n = int(marker.get_attribute("data-n") or "0")
        quote = next(c["quote"] for c in data["citations"] if c["n"] == n)
        open_citation_and_check(page, marker, quote)
        page.goto("/triage")
        expect(page.locator("#queue")).not_to_have_attribute("aria-busy", "true")
        probe.assert_clean()
    finally:
        context.close()


@pytest.mark.integration
def test_keyboard_only_question_and_document_panel(chat: tuple[Page, PageProbe]) -> None:
    page, probe = chat
    for _ in range(25):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "question":
            break
    else:
        pytest.fail("the question field cannot be reached with Tab")
    page.keyboard.type(QUESTION)
    with page.expect_response(lambda r: r.url.endswith("/api/ask")):
        page.keyboard.press("Enter")
    answer = last_answer(page)
    expect(answer).not_to_have_class(re.compile(r"\bpending\b"))
    expect(answer.locator(".cite-marker").first).to_be_visible()
    expect(page.locator("#question")).to_be_focused()

    # Open a citation from the keyboard; focus goes into the panel and back on Escape.
    marker = answer.locator(".cite-marker").first
    marker.focus()
    page.keyboard.press("Enter")
    dialog = page.locator("#doc-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("mark")).to_be_focused()
    page.keyboard.press("Tab")
    assert page.evaluate("document.getElementById('doc-dialog').contains(document.activeElement)")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(marker).to_be_focused()
    outline = marker.evaluate("e => getComputedStyle(e).outlineStyle")
    assert outline != "none"  # the focus ring is visible
    probe.assert_clean()


@pytest.mark.integration
def test_360px_viewport_has_no_horizontal_scroll(browser: Any, live_server: str) -> None:
    context, page, probe = _new_page(browser, live_server, viewport={"width": 360, "height": 740},
                                     is_mobile=True, has_touch=True)
    try:
        page.goto("/")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        ask(page, QUESTION)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "chat-360.png"), full_page=True)
        page.locator(".cite-marker").first.click()
        expect(page.locator("#doc-dialog mark")).to_be_in_viewport()
        box = page.locator("#doc-dialog").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360
        page.keyboard.press("Escape")

        page.goto("/triage")
        expect(page.locator("#queue")).not_to_have_attribute("aria-busy", "true")
        page.get_by_label("Beschrijf het knelpunt").fill(REPORT)
        page.get_by_role("button", name="Melding beoordelen").click()
        expect(page.locator("#detail-content")).to_be_visible()
        expect(page.locator("#detail")).to_be_focused()
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        page.screenshot(path=str(ARTIFACTS / "triage-360.png"), full_page=True)
        probe.assert_clean()
    finally:
        context.close()


# --- triage desk ------------------------------------------------------------------------------


@pytest.mark.integration
def test_triage_report_is_classified_queued_and_updated(browser: Any, live_server: str) -> None:
    context, page, probe = _new_page(browser, live_server, viewport={"width": 1280, "height": 1000})
    try:
        page.goto("/triage")
        page.get_by_label("Beschrijf het knelpunt").fill(REPORT)
        with page.expect_response(lambda r: r.url.endswith("/api/triage")
                                  and r.request.method == "POST") as info:
            page.get_by_role("button", name="Melding beoordelen").click()
        assert info.value.ok, info.value.text()
        item = info.value.json()
        detail = page.locator("#detail-content")
        expect(detail).to_be_visible()
        expect(detail.locator(".detail-id code")).to_have_text(item["id"])
        for theme in item["themes"]:
            expect(detail.locator(".tag-list")).to_contain_text(theme["label"])
        expect(detail.locator(".facts")).to_contain_text("Fase")
        expect(detail.locator(".facts .badge.status-nieuw")).to_have_text("Nieuw")
        expect(detail.locator(".report-text")).to_have_text(item["redacted_report"])
        assert "06-12345678" not in (detail.text_content() or "")
        expect(detail.locator(".card")).to_have_count(len(item["support"]))
        expect(detail.locator(".similar-list > li")).to_have_count(len(item["similar"]))
        if item["urgent"]:
            expect(detail.locator(".badge.urgent")).to_be_visible()

        queued = page.locator(f'#queue .queue-button[data-id="{item["id"]}"]')
        expect(queued).to_be_visible()
        expect(page.locator("#csv-link")).to_have_attribute("href", "/api/triage.csv")

        detail.get_by_label("Status").select_option("in-behandeling")
        detail.get_by_label("Notitie").fill("Opgepakt door de helpdesk")
        with page.expect_response(
                lambda r: "/api/triage/" in r.url and r.request.method == "PATCH"):
            detail.get_by_role("button", name="Opslaan").click()
        expect(detail.locator(".update-form .status-line")).to_contain_text("Opgeslagen")
        stored = page.request.get(f"/api/triage/{item['id']}").json()
        assert stored["status"] == "in-behandeling"
        assert stored["note"] == "Opgepakt door de helpdesk"

        # The queue filters by status and still finds it; selecting it shows it again.
        page.locator("#filter-status").select_option("in-behandeling")
        expect(queued).to_be_visible()
        expect(queued.locator(".badge")).to_contain_text(["In behandeling"])
        page.locator("#filter-status").select_option("afgehandeld")
        expect(queued).to_have_count(0)
        page.locator("#filter-status").select_option("")
        queued.click()
        expect(detail.locator(".detail-id code")).to_have_text(item["id"])
        expect(page.locator("#detail")).to_be_focused()

        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "triage.png"), full_page=True)
        probe.assert_clean()
    finally:
        context.close()


@pytest.mark.integration
def test_triage_queue_filters_and_pages(browser: Any, live_server: str) -> None:
    context, page, probe = _new_page(browser, live_server, viewport={"width": 1280, "height": 1000})
    try:
        urgent_report = ("Een bewoner van een woonvorm voor beschermd wonen dreigt binnen twee "
                         "weken op straat te komen omdat het huurcontract afloopt.")
        created = [page.request.post("/api/triage", data={"report": urgent_report}).json()]
        for i in range(11):
            created.append(page.request.post("/api/triage", data={
                "report": f"Melding {i}: de gemeente en de corporatie komen er niet uit over de "
                          "financiering van een ontmoetingsruimte in een nieuw woonzorgcomplex.",
            }).json())
        total = page.request.get("/api/triage?limit=1").json()["total"]
        urgent_total = page.request.get("/api/triage?urgent=true&limit=1").json()["total"]
        assert urgent_total >= 1

        page.goto("/triage")
        expect(page.locator("#queue-summary")).to_have_text(f"{total} meldingen")
        expect(page.locator("#queue .queue-button")).to_have_count(10)
        # Newest first: the last report created is on top.
        expect(page.locator("#queue .queue-button").first).to_have_attribute(
            "data-id", created[-1]["id"])
        expect(page.locator("#page-info")).to_have_text(f"1–10 van {total}")
        expect(page.get_by_role("button", name="Vorige")).to_be_disabled()
        page.get_by_role("button", name="Volgende").click()
        expect(page.locator("#page-info")).to_have_text(f"11–{min(20, total)} van {total}")
        expect(page.get_by_role("button", name="Vorige")).to_be_enabled()
        page.get_by_role("button", name="Vorige").click()
        expect(page.locator("#page-info")).to_have_text(f"1–10 van {total}")

        page.locator("#filter-urgent").select_option("true")
        expect(page.locator("#queue-summary")).to_have_text(
            "1 melding" if urgent_total == 1 else f"{urgent_total} meldingen")
        expect(page.locator(f'#queue .queue-button[data-id="{created[0]["id"]}"]')).to_be_visible()
        expect(page.locator("#queue .queue-button .badge.urgent")).to_have_count(
            min(urgent_total, 10))

        page.locator("#filter-urgent").select_option("")
        page.locator("#filter-theme").select_option("financiering")
        themed = page.request.get("/api/triage?theme=financiering&limit=1").json()["total"]
        expect(page.locator("#queue-summary")).to_have_text(
            "1 melding" if themed == 1 else f"{themed} meldingen")
        for label in page.locator("#queue .queue-themes").all_text_contents():
            assert "Financiering" in label
        probe.assert_clean()
    finally:
        context.close()
