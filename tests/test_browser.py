"""Real-browser tests of the chat page and the triage desk (Playwright + Debian's Chromium).

One live server (uvicorn in a thread) over the real corpus ingested with the deterministic
fake embedder serves every test, so answers are real extractive answers; each test gets a
fresh browser context. Most tests run at a desktop (1366×900) and a phone (390×844, touch)
viewport. axe-core (npm, `make browser`) is injected into the pages and must report no
violations. Screenshots for review are written to tests/artifacts/.
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from assistant.config import Settings
from tests.auth_support import PASSWORD, STAFF, ensure_staff
from tests.browser_support import (
    ARTIFACTS,
    CHROMIUM_ARGS,
    LiveServer,
    axe_source,
    chromium_path,
)

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
if TYPE_CHECKING:
    from playwright.sync_api import Page
else:
    Page = playwright_api.Page

QUESTION = "Welke lening is er voor huurders die hun woning willen aanpassen?"
FOLLOW_UP = "En voor eigenaren van een koopwoning?"
# names the instrument, so the lexical fallback models of the hashing embedder suggest it too
INSTRUMENT_QUESTION = "Is de Blijverslening er ook voor huurders die hun woning willen aanpassen?"
LIST_QUESTION = "Welke drie varianten van contracten zijn er bij het scheiden van wonen en zorg?"
OFF_TOPIC = ("Schrijf een gedicht over de zomer.", "Hoe bak ik een appeltaart?")
XSS = "<img src=x onerror=alert(1)> Wat is de Blijverslening?"
REPORT = (
    "De onderhandelingen over de prestatieafspraken zitten vast op wonen en zorg. "
    "Partijen vertrouwen elkaar niet meer en de corporatie wil geen woningen voor "
    "beschermd wonen toezeggen. Bel mij gerust: Jan de Vries, 06-12345678."
)
STRUCTURED_DOC = "wonen-met-begeleiding"
ANSWER_TIMEOUT_MS = 30_000
CSP_VIOLATION = re.compile(r"content security policy|refused to (execute|apply|load|connect)", re.I)
RECORD_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""
VIEWPORTS: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1366, "height": 900}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}
SIZES = {"desktop": 1366, "phone": 390}
SHORT_ID = re.compile(r"^KP-\d{4}-\d{4}$")
RESIDENT_WORDING = re.compile(r"\buw (persoonlijke )?situatie\b", re.I)
INTERACTIVE = "a[href], button, select, textarea, input, summary"

expect.set_options(timeout=ANSWER_TIMEOUT_MS)


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def live_server(fake_index: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from assistant.api import create_app
    from assistant.service import build_assistant

    settings = fake_index.model_copy(update={
        "sqlite_path": tmp_path_factory.mktemp("browser-db") / "browser.sqlite",
        "request_timeout_s": 120.0,
        "rate_limit": "off",
    })
    ensure_staff(settings)
    server = LiveServer(create_app(settings, build_assistant(settings))).start()
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


@pytest.fixture(scope="module")
def axe() -> str:
    return axe_source()


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


def _new_page(browser: Any, base_url: str, kind: str = "desktop",
              **extra: Any) -> tuple[Any, Page, PageProbe]:
    context = browser.new_context(base_url=base_url, locale="nl-NL", **VIEWPORTS[kind], **extra)
    context.add_init_script(RECORD_CSP)
    page = context.new_page()
    page.set_default_timeout(ANSWER_TIMEOUT_MS)
    return context, page, PageProbe(page)


@pytest.fixture(params=list(VIEWPORTS))
def chat(request: pytest.FixtureRequest, browser: Any,
         live_server: str) -> Iterator[tuple[Page, PageProbe, str]]:
    kind = request.param
    context, page, probe = _new_page(browser, live_server, kind)
    page.goto("/")
    expect(page.locator("#question")).to_be_visible()
    yield page, probe, kind
    context.close()


@pytest.fixture
def desktop_chat(browser: Any, live_server: str) -> Iterator[tuple[Page, PageProbe]]:
    context, page, probe = _new_page(browser, live_server, "desktop")
    page.goto("/")
    expect(page.locator("#question")).to_be_visible()
    yield page, probe
    context.close()


# --- helpers ----------------------------------------------------------------------------------


def staff_login(page: Page) -> None:
    """Log the browser context in as staff (the session cookie is shared with its pages)."""
    response = page.request.post("/api/auth/login", data={"name": STAFF, "password": PASSWORD})
    assert response.ok, response.text()


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


def cited(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in data["citations"] if c.get("cited", True)]


def uncited(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in data["citations"] if not c.get("cited", True)]


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def is_subsequence(needle: str, haystack: str) -> bool:
    letters = iter(haystack)
    return all(char in letters for char in needle)


def open_citation_and_check(page: Page, trigger: Any, citation: dict[str, Any]) -> None:
    """Click a citation; the dialog shows the whole document with the quote's range marked.

    The viewer renders lists and emphasis, so the marks hold the quote's text without its
    markup characters, and together they span exactly the quote's offsets."""
    trigger.click()
    dialog = page.locator("#doc-dialog")
    expect(dialog).to_be_visible()
    marks = dialog.locator("mark")
    expect(marks.first).to_be_visible()
    spans = marks.evaluate_all(
        "ms => ms.map(m => [+m.dataset.start, +m.dataset.end, m.textContent])")
    marked = "".join(text for _, _, text in spans)
    quote = citation["quote"]
    assert spans[0][0] >= citation["start"] and spans[-1][1] <= citation["end"]
    assert is_subsequence(squeeze(marked), squeeze(quote))
    assert len(squeeze(marked)) >= 0.8 * len(squeeze(quote))  # only markup is left out
    assert "**" not in marked
    expect(marks.first).to_be_in_viewport()
    body_text = dialog.locator("#doc-body").text_content() or ""
    assert len(body_text) > len(marked)
    assert page.evaluate("document.getElementById('doc-dialog').contains(document.activeElement)")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def run_axe(page: Page, source: str, state: str) -> None:
    """axe-core inside the page (injected over the DevTools protocol, so the page's CSP
    stays as it is); every rule axe enables by default must pass."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(source)
    result = page.evaluate("axe.run(document, { resultTypes: ['violations'] })")
    problems = [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(",".join(n["target"]) for n in v["nodes"][:5])
        for v in result["violations"]
    ]
    assert problems == [], f"axe violations with {state}: {problems}"


def screenshot(page: Page, name: str) -> None:
    """The whole page as the user scrolls through it: the viewport is stretched to the
    document's height (a full-page capture would drop touch emulation and with it the
    touch layout), then restored."""
    ARTIFACTS.mkdir(exist_ok=True)
    size = page.viewport_size
    assert size is not None
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": max(height, size["height"])})
    page.screenshot(path=str(ARTIFACTS / name))
    page.set_viewport_size(size)


def expand_all(page: Page) -> None:
    """Open every folded section so that axe and screenshots see all of it."""
    for selector in (".disclosure-toggle[aria-expanded='false']",
                     "details.also-found:not([open]) > summary"):
        folded = page.locator(selector)
        for _ in range(folded.count()):
            folded.first.click()
        expect(folded).to_have_count(0)


def small_targets(page: Page) -> list[str]:
    """Visible controls in the page (not the skip link) smaller than 44 × 44 px."""
    return page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)].filter((e) => {
            if (e.closest('.visually-hidden, .skip-link, dialog:not([open])')) return false;
            const r = e.getBoundingClientRect();
            if (r.width === 0 || r.height === 0) return false;
            const s = getComputedStyle(e);
            if (s.visibility === 'hidden' || s.display === 'none') return false;
            return r.width < 44 || r.height < 44;
        }).map((e) => {
            const r = e.getBoundingClientRect();
            const text = e.textContent.trim().slice(0, 30);
            return `${e.tagName.toLowerCase()}.${e.className} "${text}" `
              + `${Math.round(r.width)}x${Math.round(r.height)}`;
        })""",
        INTERACTIVE)


def region_names(page: Page) -> list[str]:
    return page.evaluate(
        """() => [...document.querySelectorAll('#conversation section[aria-labelledby]')].map((s) =>
            s.getAttribute('aria-labelledby').split(' ')
              .map((id) => document.getElementById(id).textContent.trim()).join(' '))""")


def hold_requests(page: Page, pattern: str) -> list[Any]:
    """Keep matching requests pending until the test lets them go (route.continue_())."""
    held: list[Any] = []
    page.route(pattern, lambda route: held.append(route))
    return held


def structured_citation(page: Page, n: int) -> dict[str, Any]:
    """A real passage with a list and bold labels, with its real offsets."""
    document = page.request.get(f"/api/documents/{STRUCTURED_DOC}").json()
    text = document["text"]
    first = text.index("- 1) **")
    start = text.rfind("\n\n", 0, first - 2) + 2  # the paragraph that introduces the list
    end = text.index("\n\n", text.index("- 3) **"))
    return {"n": n, "doc_id": STRUCTURED_DOC, "title": document["title"], "section": "",
            "quote": text[start:end], "start": start, "end": end, "score": 0.5, "cited": True}


# --- chat page: answers -----------------------------------------------------------------------


@pytest.mark.integration
def test_cited_sources_first_and_the_rest_folded(chat: tuple[Page, PageProbe, str]) -> None:
    page, probe, kind = chat
    data = ask(page, QUESTION)
    assert data["answerable"] is True and cited(data) and uncited(data)
    answer = last_answer(page)
    expect(answer.locator(".answer-heading")).to_have_text("Antwoord 1")
    expect(answer.locator(".answer-heading")).to_be_focused()  # focus follows the new answer

    # The answer is rendered from its segments, each with its source marker.
    markers = answer.locator(".answer-text .cite-marker")
    expect(markers).to_have_count(len(data["segments"]))
    assert {int(m.get_attribute("data-n") or 0) for m in markers.all()} <= {
        c["n"] for c in cited(data)}
    lists = [s for s in data["segments"] if s["kind"] == "list-item"]
    expect(answer.locator(".answer-text ul.answer-list > li")).to_have_count(len(lists))
    assert "**" not in (answer.locator(".answer-text").text_content() or "")

    sources = answer.locator("section.sources")
    toggle = sources.locator(".disclosure-toggle")
    if kind == "phone":  # folded per answer on a phone
        expect(toggle).to_have_attribute("aria-expanded", "false")
        expect(sources.locator(".disclosure-body")).to_be_hidden()
        toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    first_cards = sources.locator(".disclosure-body > ol.source-list > li.source")
    expect(first_cards).to_have_count(len(cited(data)))
    for card, citation in zip(first_cards.all(), cited(data), strict=True):
        expect(card).to_have_attribute("data-n", str(citation["n"]))
    also = sources.locator("details.also-found")
    expect(also).not_to_have_attribute("open", "")
    expect(also.locator("summary")).to_contain_text(f"Ook gevonden ({len(uncited(data))})")
    expect(also.locator("li.source").first).to_be_hidden()
    also.locator("summary").click()
    expect(also.locator("li.source")).to_have_count(len(uncited(data)))
    expect(also.locator("li.source").first).to_be_visible()

    first = markers.first
    n = int(first.get_attribute("data-n") or "0")
    open_citation_and_check(page, first, next(c for c in data["citations"] if c["n"] == n))
    expect(first).to_be_focused()  # focus returns to the marker that opened the panel
    probe.assert_clean()


@pytest.mark.integration
def test_instrument_cards_speak_to_advisers(chat: tuple[Page, PageProbe, str]) -> None:
    page, probe, kind = chat
    data = ask(page, INSTRUMENT_QUESTION)
    assert data["instruments"]
    answer = last_answer(page)
    section = answer.locator("section.instruments")
    if kind == "phone":
        expect(section.locator(".disclosure-toggle")).to_have_attribute("aria-expanded", "false")
        section.locator(".disclosure-toggle").click()
    cards = section.locator(".card")
    expect(cards).to_have_count(len(data["instruments"]))
    for card, instrument in zip(cards.all(), data["instruments"], strict=True):
        expect(card.locator(".card-title")).to_have_text(instrument["name"])
        expect(card.locator(".badges")).to_contain_text(
            "Past bij de beschreven situatie" if instrument["fits"]
            else "Past niet bij de beschreven situatie")
        expect(card.locator(".why")).to_contain_text(instrument["why"])
        if instrument["source"]:
            open_citation_and_check(page, card.locator(".quote-button"), instrument["source"])
    ui_text = page.evaluate(
        "[...document.querySelectorAll('.badges, .site-footer, .intro, .ask-form')]"
        ".map(e => e.textContent).join(' ')")
    assert not RESIDENT_WORDING.search(ui_text)
    probe.assert_clean()


@pytest.mark.integration
def test_lists_and_emphasis_come_from_the_documents_structure(
        chat: tuple[Page, PageProbe, str]) -> None:
    """Answer lists as <ul>, passages and the document viewer with lists, bold and table
    structure instead of raw markdown; the marked range is still the quote's offsets."""
    page, probe, kind = chat
    extra = structured_citation(page, 6)
    text = extra["quote"]
    items = [line for line in text.splitlines() if line.startswith("- ")]

    def with_structured_source(route: Any) -> None:
        response = route.fetch()
        data = response.json()
        data["citations"].append(extra)
        for line in items:
            start = text.index(line) + extra["start"]
            data["segments"].append({
                "n": 6, "doc_id": STRUCTURED_DOC, "start": start, "end": start + len(line),
                "quote": line, "text": re.sub(r"^- |\*\*", "", line), "kind": "list-item",
                "group": 1})
        route.fulfill(response=response, json=data)

    page.route("**/api/ask", with_structured_source)
    data = ask(page, LIST_QUESTION)
    page.unroute("**/api/ask")
    answer = last_answer(page)
    list_items = [s for s in data["segments"] if s["kind"] == "list-item"]
    expect(answer.locator(".answer-text ul.answer-list > li")).to_have_count(len(list_items))
    expect(answer.locator(".answer-text ul.answer-list > li .cite-marker").last).to_have_attribute(
        "data-n", "6")
    expect(answer.locator(".answer-text ul.answer-list > li strong").last).to_have_text(
        "Intermediaire verhuur:")  # emphasis from the quote, its list marker dropped
    assert not (answer.locator(".answer-text ul.answer-list > li").last.text_content() or ""
                ).startswith("-")
    assert "**" not in (answer.locator(".answer-text").text_content() or "")

    toggle = answer.locator("section.sources .disclosure-toggle")
    if kind == "phone":
        toggle.click()
    card = answer.locator('section.sources li.source[data-n="6"]')
    expect(card.locator(".quote ul > li")).to_have_count(len(items))
    expect(card.locator(".quote strong").first).to_have_text("Regulier huurcontract:")
    assert "**" not in (card.text_content() or "")

    open_citation_and_check(page, card.locator(".link-button"), extra)
    card.locator(".link-button").click()
    viewer = page.locator("#doc-dialog .doc-text")
    expect(viewer.locator("mark").first).to_be_visible()
    assert viewer.locator("ul > li").count() >= len(items)
    expect(viewer.locator("mark").first).to_have_text(re.compile(r"^In de praktijk"))
    assert viewer.locator("ul > li mark").count() >= len(items)  # the highlight follows the list
    assert viewer.locator("table th").count() > 0  # tab-separated rows became a table
    viewer_text = viewer.text_content() or ""
    assert "**" not in viewer_text and "](#)" not in viewer_text
    expect(viewer.locator(".link-stub").first).to_be_attached()
    page.keyboard.press("Escape")
    probe.assert_clean()


@pytest.mark.integration
def test_conflicting_figures_show_both_sources(desktop_chat: tuple[Page, PageProbe]) -> None:
    page, probe = desktop_chat

    def with_conflict(route: Any) -> None:
        response = route.fetch()
        data = response.json()
        numbers = [c["n"] for c in cited(data)]
        data["conflicts"] = [{"about": "aantal aangesloten gemeenten",
                              "values": [{"value": "ongeveer 100", "n": numbers[0]},
                                         {"value": "niet genoemd", "n": numbers[-1]}]}]
        route.fulfill(response=response, json=data)

    page.route("**/api/ask", with_conflict)
    data = ask(page, QUESTION)
    answer = last_answer(page)
    conflict = answer.locator("section.conflicts")
    expect(conflict).to_contain_text("aantal aangesloten gemeenten")
    values = conflict.locator(".conflict-values > li")
    expect(values).to_have_count(2)
    expect(values.nth(0)).to_contain_text("ongeveer 100")
    expect(values.nth(0).locator(".cite-marker")).to_have_attribute(
        "data-n", str(data["conflicts"][0]["values"][0]["n"]))
    expect(values.nth(1).locator(".cite-marker")).to_have_attribute(
        "data-n", str(data["conflicts"][0]["values"][1]["n"]))
    probe.assert_clean()


@pytest.mark.integration
def test_refusal_is_one_text_for_professionals(chat: tuple[Page, PageProbe, str],
                                               axe: str) -> None:
    page, probe, kind = chat
    for index, question in enumerate(OFF_TOPIC, start=1):
        with page.expect_request(lambda r: r.url.endswith("/api/ask")) as request_info:
            data = ask(page, question)
        assert data["answerable"] is False, question
        if index == 1:
            assert (request_info.value.post_data_json or {})["history"] == []
        answer = last_answer(page)
        expect(answer).to_have_class(re.compile(r"\brefusal\b"))
        expect(answer.locator(".answer-heading")).to_have_text(f"Antwoord {index}")
        expect(answer.locator(".answer-heading")).to_be_focused()
        message = (data["refusal"] or {}).get("message") or data["answer"]
        expect(answer.locator(".refusal-text")).to_have_text(message)
        article_text = answer.text_content() or ""
        first_sentence = message.split(".")[0]
        assert article_text.count(first_sentence) == 1  # said once, no heading repeating it
        expect(answer.locator(".cite-marker")).to_have_count(0)
        expect(answer.locator(".instruments")).to_have_count(0)
    run_axe(page, axe, f"a refusal shown ({kind})")
    probe.assert_clean()


@pytest.mark.integration
def test_follow_up_sends_history_and_gets_a_second_answer(
        desktop_chat: tuple[Page, PageProbe]) -> None:
    page, probe = desktop_chat
    first = ask(page, QUESTION)
    with page.expect_request(lambda r: r.url.endswith("/api/ask")) as request_info:
        second = ask(page, FOLLOW_UP)
    sent: dict[str, Any] = request_info.value.post_data_json or {}
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
    expect(turns.nth(1).locator(".answer-heading")).to_be_focused()
    assert turns.nth(1).locator(".cite-marker").count() >= 1
    expect(page.locator("#live")).to_contain_text("Antwoord 2")
    probe.assert_clean()


@pytest.mark.integration
def test_each_answers_sections_have_unique_names(chat: tuple[Page, PageProbe, str]) -> None:
    page, probe, kind = chat
    ask(page, INSTRUMENT_QUESTION)
    ask(page, FOLLOW_UP)
    names = region_names(page)
    assert len(names) == len(set(names)), names
    assert "Bronnen bij antwoord 1" in names and "Bronnen bij antwoord 2" in names
    expect(page.get_by_role("region", name="Bronnen bij antwoord 2")).to_be_visible()
    expect(page.get_by_role("region", name="Instrumenten en ondersteuning bij antwoord 1")
           ).to_be_visible()
    probe.assert_clean()


# --- chat page: conversation, storage, loading, feedback --------------------------------------


@pytest.mark.integration
def test_conversation_survives_a_reload_and_can_be_cleared(
        chat: tuple[Page, PageProbe, str]) -> None:
    page, probe, kind = chat
    data = ask(page, QUESTION)
    stored = json.loads(page.evaluate("localStorage.getItem('woonzorgwijzer.gesprekken.v1')"))
    assert stored["current"]["turns"][0]["question"] == QUESTION

    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if r.url.endswith("/api/ask") else None)
    page.reload()
    turns = page.locator("#conversation > li")
    expect(turns).to_have_count(1)
    expect(turns.first.locator(".question-text")).to_have_text(QUESTION)
    expect(turns.first.locator(".answer-text .cite-marker")).to_have_count(len(data["segments"]))
    assert asked == []  # restored from this browser, not asked again
    expect(page.locator(".storage-note")).to_contain_text("alleen in deze browser")

    # "Nieuw gesprek" sits with the conversation, away from the send button, and can be undone.
    new = page.get_by_role("button", name="Nieuw gesprek")
    assert page.locator("#dock #new-conversation").count() == 0
    new_box, send_box = new.bounding_box(), page.locator("#ask-button").bounding_box()
    assert new_box and send_box and abs(new_box["y"] - send_box["y"]) > 100
    new.click()
    expect(turns).to_have_count(0)
    undo = page.get_by_role("button", name="Ongedaan maken")
    expect(undo).to_be_visible()
    expect(page.locator("#toast-text")).to_contain_text("Nieuw gesprek gestart")
    undo.click()
    expect(turns).to_have_count(1)
    expect(undo).to_be_hidden()

    # The previous conversation is kept and can be reopened.
    new.click()
    expect(turns).to_have_count(0)
    ask(page, FOLLOW_UP)
    saved = page.locator("#saved")
    expect(saved.locator("summary")).to_have_text("Bewaarde gesprekken (1)")
    saved.locator("summary").click()
    saved.get_by_role("button", name=re.compile(re.escape(QUESTION[:40]))).click()
    expect(turns).to_have_count(1)
    expect(turns.first.locator(".question-text")).to_have_text(QUESTION)
    expect(turns.first.locator(".answer-heading")).to_be_focused()

    # Clearing removes everything from storage; undo brings it back within the time limit.
    page.get_by_role("button", name="Alle gesprekken uit deze browser wissen").click()
    expect(turns).to_have_count(0)
    assert page.evaluate("localStorage.getItem('woonzorgwijzer.gesprekken.v1')") is None
    undo.click()
    expect(turns).to_have_count(1)
    assert page.evaluate("localStorage.getItem('woonzorgwijzer.gesprekken.v1')") is not None
    page.get_by_role("button", name="Alle gesprekken uit deze browser wissen").click()
    page.reload()
    expect(page.locator("#examples")).to_be_visible()
    expect(turns).to_have_count(0)
    expect(page.locator("#conversation-bar")).to_be_hidden()
    probe.assert_clean()


@pytest.mark.integration
def test_undo_notice_goes_after_ten_seconds(browser: Any, live_server: str) -> None:
    context, page, probe = _new_page(browser, live_server, "desktop")
    try:
        page.clock.install()
        page.goto("/")
        ask(page, QUESTION)
        page.get_by_role("button", name="Nieuw gesprek").click()
        undo = page.get_by_role("button", name="Ongedaan maken")
        expect(undo).to_be_visible()
        page.clock.run_for(9_000)
        expect(undo).to_be_visible()
        page.clock.run_for(1_500)
        expect(undo).to_be_hidden()
        expect(page.locator("#conversation > li")).to_have_count(0)
        probe.assert_clean()
    finally:
        context.close()


@pytest.mark.integration
def test_loading_shows_time_and_can_be_cancelled(chat: tuple[Page, PageProbe, str]) -> None:
    page, probe, kind = chat
    held = hold_requests(page, "**/api/ask")
    page.locator("#question").fill(QUESTION)
    page.locator("#question").press("Enter")
    pending = page.locator("article.answer.pending")
    expect(pending).to_be_visible()
    expect(pending.locator(".elapsed")).to_have_text(re.compile(r"^[1-9]\d* s$"))
    assert len(held) == 1

    # Enter while an answer is on its way says so, and keeps what was typed.
    page.locator("#question").fill(FOLLOW_UP)
    page.locator("#question").press("Enter")
    expect(page.locator("#ask-status")).to_contain_text("onderweg")
    expect(page.locator("#live")).to_contain_text("onderweg")
    expect(page.locator("#question")).to_have_value(FOLLOW_UP)
    assert len(held) == 1

    pending.get_by_role("button", name=re.compile("^Annuleren")).click()
    expect(page.locator("#conversation > li")).to_have_count(0)
    expect(page.locator("#live")).to_contain_text("geannuleerd")
    expect(page.locator("#question")).to_be_focused()
    page.unroute_all(behavior="ignoreErrors")

    data = ask(page, QUESTION)
    assert data["answerable"] is True
    expect(last_answer(page).locator(".answer-heading")).to_have_text("Antwoord 1")
    expect(page.locator("#ask-status")).to_have_text("")
    probe.assert_clean()


@pytest.mark.integration
def test_feedback_can_be_changed_and_keeps_focus(chat: tuple[Page, PageProbe, str]) -> None:
    page, probe, kind = chat
    data = ask(page, QUESTION)
    token = f"browsertest-{uuid.uuid4().hex[:8]}"
    answer = last_answer(page)
    answer.get_by_label("Toelichting (optioneel)").fill(f"Duidelijk antwoord {token}")
    up = answer.get_by_role("button", name="Nuttig", exact=True)
    down = answer.get_by_role("button", name="Niet nuttig")
    with page.expect_response(lambda r: r.url.endswith("/api/feedback")) as first_info:
        up.click()
    first_id = first_info.value.json()["id"]
    expect(answer.locator(".feedback-status")).to_have_text("Bedankt voor uw feedback")
    expect(up).to_have_attribute("aria-pressed", "true")
    expect(up).to_be_focused()
    expect(up).to_be_enabled()

    with page.expect_request(lambda r: r.url.endswith("/api/feedback")) as second:
        down.click()
    assert (second.value.post_data_json or {})["replaces"] == first_id
    expect(answer.locator(".feedback-status")).to_have_text(
        "Uw beoordeling is gewijzigd in ‘Niet nuttig’.")
    expect(down).to_have_attribute("aria-pressed", "true")
    expect(up).to_have_attribute("aria-pressed", "false")
    expect(down).to_be_focused()

    assert page.request.get("/api/feedback.csv").status == 401  # staff only
    staff_login(page)
    export = page.request.get("/api/feedback.csv")
    assert export.ok
    rows = [r for r in csv.DictReader(io.StringIO(export.text())) if token in r["reason"]]
    # One row per vote until the API replaces a changed vote (the request names it).
    assert 1 <= len(rows) <= 2
    final = next(r for r in rows if r["rating"] == "down")
    assert final["question"] == QUESTION
    assert final["answer"] == data["answer"]
    assert {c["n"] for c in json.loads(final["citations"])} == {
        c["n"] for c in data["citations"]}

    page.reload()  # the vote is remembered with the stored conversation
    expect(last_answer(page).get_by_role("button", name="Niet nuttig")).to_have_attribute(
        "aria-pressed", "true")
    probe.assert_clean()


@pytest.mark.integration
def test_copy_answer_with_its_cited_sources_only(browser: Any, live_server: str) -> None:
    context, page, probe = _new_page(browser, live_server, "desktop")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    try:
        page.goto("/")
        data = ask(page, QUESTION)
        answer = last_answer(page)
        answer.get_by_role("button", name="Kopieer antwoord met bronnen").click()
        status = answer.locator(".copy-status")
        expect(status).to_have_text("Het antwoord met bronnen is gekopieerd.")
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied.startswith(data["segments"][0]["text"])
        for citation in cited(data):
            assert f'[{citation["n"]}] {citation["title"]} — {citation["section"]}: "' in copied
        for citation in uncited(data):
            assert f'[{citation["n"]}] ' not in copied
            assert citation["quote"][:60] not in copied
        assert "**" not in copied

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


# --- chat page: phone layout, keyboard, safety -------------------------------------------------


@pytest.mark.integration
def test_phone_layout_keeps_the_question_field_in_reach(browser: Any, live_server: str) -> None:
    context, page, probe = _new_page(browser, live_server, "phone")
    try:
        page.goto("/")
        expect(page.locator("#question-hint")).to_be_hidden()  # no keyboard hint on touch
        assert "question-hint" not in (page.locator("#question").get_attribute(
            "aria-describedby") or "")
        assert small_targets(page) == []
        ask(page, QUESTION)
        ask(page, LIST_QUESTION)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        for toggle in page.locator(".disclosure-toggle").all():
            expect(toggle).to_have_attribute("aria-expanded", "false")
        height = page.evaluate("document.documentElement.scrollHeight")
        for y in (0, height // 3, 2 * height // 3, height):
            page.evaluate(f"window.scrollTo(0, {y})")
            expect(page.locator("#question")).to_be_in_viewport()
            expect(page.locator("#ask-button")).to_be_in_viewport()
        assert small_targets(page) == []
        screenshot(page, "chat-390.png")
        expand_all(page)
        assert small_targets(page) == []  # citation markers, cards, feedback: all ≥ 44 px
        marker = page.locator(".cite-marker").first.bounding_box()
        assert marker and marker["width"] >= 44 and marker["height"] >= 44
        screenshot(page, "chat-390-unfolded.png")

        page.locator(".cite-marker").first.click()
        expect(page.locator("#doc-dialog mark").first).to_be_in_viewport()
        box = page.locator("#doc-dialog").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
        assert small_targets(page) == []
        page.screenshot(path=str(ARTIFACTS / "chat-dialog-390.png"))
        page.keyboard.press("Escape")
        probe.assert_clean()
    finally:
        context.close()


@pytest.mark.integration
def test_desktop_shows_the_keyboard_hint(desktop_chat: tuple[Page, PageProbe]) -> None:
    page, probe = desktop_chat
    expect(page.locator("#question-hint")).to_be_visible()
    expect(page.locator("#question")).to_have_attribute(
        "aria-describedby", re.compile(r"\bquestion-hint\b"))
    ask(page, QUESTION)
    ask(page, LIST_QUESTION)
    expect(page.locator("#question")).to_be_in_viewport()
    for toggle in page.locator(".disclosure-toggle").all():
        expect(toggle).to_have_attribute("aria-expanded", "true")
    screenshot(page, "chat-1366.png")
    probe.assert_clean()


@pytest.mark.integration
def test_markup_in_a_question_renders_as_inert_text(desktop_chat: tuple[Page, PageProbe]) -> None:
    page, probe = desktop_chat
    ask(page, XSS)
    question = page.locator("#conversation .question-text").last
    expect(question).to_have_text(XSS)
    expect(question).to_be_visible()
    assert page.locator("#conversation img").count() == 0
    assert page.evaluate("document.querySelectorAll('img[src=\"x\"], [onerror]').length") == 0
    page.reload()  # and again when restored from storage
    expect(page.locator("#conversation .question-text").last).to_have_text(XSS)
    assert page.evaluate("document.querySelectorAll('img[src=\"x\"], [onerror]').length") == 0
    page.wait_for_timeout(300)  # give a would-be onerror handler the chance to fire
    assert probe.dialogs == []
    probe.assert_clean()


@pytest.mark.integration
def test_api_errors_are_shown_in_dutch(desktop_chat: tuple[Page, PageProbe]) -> None:
    page, probe = desktop_chat
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
    context, page, probe = _new_page(browser, live_server, "desktop")
    try:
        for path in ("/", "/triage", "/static/app.js", "/static/richtext.js", "/static/style.css"):
            fetched = page.request.get(path)
            assert fetched.ok, path
            policy = fetched.headers.get("content-security-policy", "")
            assert "default-src 'self'" in policy and "script-src 'self'" in policy, path
        response = page.goto("/")
        assert response is not None
        assert "script-src 'self'" in response.headers["content-security-policy"]
        data = ask(page, QUESTION)
        marker = page.locator(".cite-marker").first
        n = int(marker.get_attribute("data-n") or "0")
        open_citation_and_check(page, marker, next(c for c in data["citations"] if c["n"] == n))
        page.get_by_role("button", name="Nieuw gesprek").click()
        page.goto("/triage")
        expect(page.locator("#queue")).not_to_have_attribute("aria-busy", "true")
        probe.assert_clean()
    finally:
        context.close()


@pytest.mark.integration
def test_keyboard_only_question_and_document_panel(desktop_chat: tuple[Page, PageProbe]) -> None:
    page, probe = desktop_chat
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
    heading = answer.locator(".answer-heading")
    expect(heading).to_be_focused()  # focus moves to the new answer
    expect(heading).to_be_in_viewport()

    # The next Tab reaches the first citation marker; open it from the keyboard.
    page.keyboard.press("Tab")
    marker = answer.locator(".cite-marker").first
    expect(marker).to_be_focused()
    page.keyboard.press("Enter")
    dialog = page.locator("#doc-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("mark").first).to_be_focused()
    page.keyboard.press("Tab")
    assert page.evaluate("document.getElementById('doc-dialog').contains(document.activeElement)")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(marker).to_be_focused()
    outline = marker.evaluate("e => getComputedStyle(e).outlineStyle")
    assert outline != "none"  # the focus ring is visible

    # Sections fold and unfold from the keyboard.
    toggle = answer.locator("section.sources .disclosure-toggle")
    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("Space")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    probe.assert_clean()


# --- accessibility ----------------------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize("kind", list(VIEWPORTS))
def test_axe_finds_no_violations(browser: Any, live_server: str, axe: str, kind: str) -> None:
    context, page, probe = _new_page(browser, live_server, kind)
    try:
        page.goto("/")
        run_axe(page, axe, f"the empty chat page ({kind})")
        ask(page, QUESTION)
        ask(page, LIST_QUESTION)
        run_axe(page, axe, f"answers shown, folded ({kind})")
        expand_all(page)
        run_axe(page, axe, f"answers shown, unfolded ({kind})")
        page.locator(".cite-marker").first.click()
        expect(page.locator("#doc-dialog mark").first).to_be_visible()
        run_axe(page, axe, f"the document viewer open ({kind})")
        page.keyboard.press("Escape")
        page.get_by_role("button", name="Nieuw gesprek").click()
        expect(page.get_by_role("button", name="Ongedaan maken")).to_be_visible()
        run_axe(page, axe, f"the undo notice shown ({kind})")

        page.goto("/triage")
        expect(page.locator("#login-form")).to_be_visible()
        run_axe(page, axe, f"the triage desk, logged out ({kind})")
        staff_login(page)
        page.goto("/triage")
        expect(page.locator("#queue")).not_to_have_attribute("aria-busy", "true")
        run_axe(page, axe, f"the triage desk ({kind})")
        page.get_by_label("Beschrijf het knelpunt").fill(REPORT)
        page.get_by_role("button", name="Melding beoordelen").click()
        expect(page.locator("#detail-content .update-form")).to_be_visible()
        run_axe(page, axe, f"a triaged report shown ({kind})")
        sources = page.locator("#detail-content .sources .link-button")
        if sources.count():
            sources.first.click()
            expect(page.locator("#doc-dialog mark").first).to_be_visible()
            run_axe(page, axe, f"the document viewer open on the desk ({kind})")
            page.keyboard.press("Escape")
        probe.assert_clean()
    finally:
        context.close()


# --- triage desk ------------------------------------------------------------------------------


def _explained(item: dict[str, Any]) -> dict[str, Any]:
    """The desk's answer with reasons filled in, as the triage rewrite will send them."""
    item = dict(item)
    item["themes"] = [{**t, "reason": f"De melding noemt {t['label'].lower()} als knelpunt."}
                      for t in item["themes"]]
    item["urgent"] = True
    item["urgency_reasons"] = [{"signal": "woningverlies", "quote": "wil geen woningen"}]
    return item


@pytest.mark.integration
@pytest.mark.parametrize("kind", list(VIEWPORTS))
def test_triage_report_is_classified_queued_and_updated(browser: Any, live_server: str,
                                                        kind: str) -> None:
    context, page, probe = _new_page(browser, live_server, kind)
    try:
        staff_login(page)
        labels = page.request.get("/api/triage/labels").json()
        page.goto("/triage")
        expect(page.locator("#queue")).not_to_have_attribute("aria-busy", "true")
        # Every label on the desk comes from the API.
        statuses = page.locator("#filter-status option").all_text_contents()[1:]
        assert statuses == [s["label"] for s in labels["statuses"]]
        themes = page.locator("#filter-theme option").all_text_contents()[1:]
        assert themes == [t["label"] for t in labels["themes"]]

        page.get_by_label("Beschrijf het knelpunt").fill(REPORT)
        with page.expect_response(lambda r: r.url.endswith("/api/triage")
                                  and r.request.method == "POST") as info:
            page.get_by_role("button", name="Melding beoordelen").click()
        assert info.value.ok, info.value.text()
        item = info.value.json()
        assert SHORT_ID.match(item["short_id"])
        detail = page.locator("#detail-content")
        expect(detail).to_be_visible()
        expect(page.locator("#detail")).to_be_focused()
        expect(page.locator("#detail-title")).to_have_text(f"Melding {item['short_id']}")
        detail_text = detail.text_content() or ""
        assert item["id"] not in detail_text  # the short id, not 32 hex characters

        # Status and note come first in the panel.
        status_select = detail.get_by_label("Status")
        panel_box = page.locator("#detail").bounding_box()
        select_box = status_select.bounding_box()
        assert panel_box is not None and select_box is not None
        assert select_box["y"] - panel_box["y"] < 200
        assert page.evaluate("""() => {
            const form = document.querySelector('#detail-content .update-form');
            const facts = document.querySelector('#detail-content .facts');
            return !!(form.compareDocumentPosition(facts) & Node.DOCUMENT_POSITION_FOLLOWING);
        }""")
        expect(detail.locator(".detail-summary .badge.status-nieuw")).to_have_text(
            next(s["label"] for s in labels["statuses"] if s["id"] == "nieuw"))

        # Themes by label with their reasons; no bare scores, nothing when there is no reason.
        fase = next(f["label"] for f in labels["fases"] if f["id"] == item["fase"])
        expect(detail.locator(".facts")).to_contain_text(fase)
        theme_items = detail.locator(".theme-list > li")
        expect(theme_items).to_have_count(len(item["themes"]))
        for li, theme in zip(theme_items.all(), item["themes"], strict=True):
            expect(li.locator(".tag")).to_have_text(theme["label"])
            if theme["reason"]:
                expect(li.locator(".theme-reason")).to_have_text(theme["reason"])
            else:
                expect(li.locator(".theme-reason")).to_have_count(0)
        assert not re.search(r"\b0[,.]\d", detail_text)
        expect(detail.locator(".report-text")).to_have_text(item["redacted_report"])
        assert "06-12345678" not in detail_text
        expect(detail.locator(".card")).to_have_count(len(item["support"]))
        expect(detail.locator(".similar-list > li")).to_have_count(len(item["similar"]))
        expect(detail.locator(".urgency")).to_have_count(1 if item["urgent"] else 0)

        queued = page.locator(f'#queue .queue-button[data-id="{item["id"]}"]')
        expect(queued).to_be_visible()
        expect(queued.locator(".queue-id")).to_have_text(item["short_id"])
        expect(page.locator("#csv-link")).to_have_attribute("href", "/api/triage.csv")

        status_select.select_option("in-behandeling")
        detail.get_by_label("Notitie").fill("Opgepakt door de helpdesk")
        with page.expect_response(
                lambda r: "/api/triage/" in r.url and r.request.method == "PATCH"):
            detail.get_by_role("button", name="Opslaan").click()
        expect(detail.locator(".update-form .status-line")).to_contain_text("Opgeslagen")
        expect(detail.get_by_label("Status")).to_be_focused()
        stored = page.request.get(f"/api/triage/{item['short_id']}").json()
        assert stored["id"] == item["id"]
        assert stored["status"] == "in-behandeling"
        assert stored["note"] == "Opgepakt door de helpdesk"

        # The queue filters by status and still finds it; selecting it shows it again.
        in_progress = next(s["label"] for s in labels["statuses"] if s["id"] == "in-behandeling")
        page.locator("#filter-status").select_option("in-behandeling")
        expect(queued).to_be_visible()
        expect(queued.locator(".badge")).to_contain_text([in_progress])
        page.locator("#filter-status").select_option("afgehandeld")
        expect(queued).to_have_count(0)
        page.locator("#filter-status").select_option("")
        queued.click()
        expect(page.locator("#detail-title")).to_have_text(f"Melding {item['short_id']}")
        expect(page.locator("#detail")).to_be_focused()
        if kind == "phone":
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            assert small_targets(page) == []
            # The report being handled comes right after the form, not below the queue.
            detail_box = page.locator("#detail").bounding_box()
            queue_box = page.locator("#queue").bounding_box()
            assert detail_box and queue_box and detail_box["y"] < queue_box["y"]
        probe.assert_clean()
    finally:
        context.close()


@pytest.mark.integration
@pytest.mark.parametrize("kind", list(VIEWPORTS))
def test_triage_shows_reasons_and_why_it_is_urgent(browser: Any, live_server: str, kind: str,
                                                   axe: str) -> None:
    context, page, probe = _new_page(browser, live_server, kind)
    try:
        def explained(route: Any) -> None:
            response = route.fetch()
            route.fulfill(response=response, json=_explained(response.json()))

        page.goto("/triage")
        expect(page.locator("#queue")).not_to_have_attribute("aria-busy", "true")
        page.route("**/api/triage", explained)
        page.get_by_label("Beschrijf het knelpunt").fill(REPORT)
        with page.expect_response(lambda r: r.url.endswith("/api/triage")
                                  and r.request.method == "POST") as info:
            page.get_by_role("button", name="Melding beoordelen").click()
        item = info.value.json()
        detail = page.locator("#detail-content")
        for theme in item["themes"]:
            expect(detail.locator(f'.theme-list > li[data-id="{theme["id"]}"] .theme-reason')
                   ).to_have_text(theme["reason"])
        urgency = detail.locator(".urgency")
        expect(urgency.get_by_role("heading")).to_have_text("Waarom urgent")
        expect(urgency.locator("li")).to_have_count(1)
        expect(urgency.locator(".urgency-signal")).to_have_text("Woningverlies: ")
        expect(urgency.locator(".urgency-quote")).to_have_text("wil geen woningen")
        expect(detail.locator(".detail-summary .badge.urgent")).to_be_visible()
        run_axe(page, axe, f"a triaged report with reasons ({kind})")
        screenshot(page, f"triage-{SIZES[kind]}.png")
        probe.assert_clean()
    finally:
        context.close()


@pytest.mark.integration
def test_triage_queue_filters_and_pages(browser: Any, live_server: str) -> None:
    context, page, probe = _new_page(browser, live_server, "desktop")
    try:
        staff_login(page)
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
        # Whether a report is urgent is the classifier's call (tests/test_triage.py); the
        # desk has to filter by whatever it decided.
        assert urgent_total >= sum(1 for item in created if item["urgent"])

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
        expect(page.locator("#queue .queue-button")).to_have_count(min(urgent_total, 10))
        expect(page.locator(f'#queue .queue-button[data-id="{created[0]["id"]}"]')).to_have_count(
            1 if created[0]["urgent"] else 0)
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


@pytest.mark.integration
def test_desk_login_shows_the_queue_and_logout_hides_it(browser: Any, live_server: str,
                                                       axe: str) -> None:
    context, page, probe = _new_page(browser, live_server, "desktop")
    try:
        page.goto("/triage")
        form = page.locator("#login-form")
        expect(form).to_be_visible()
        expect(page.locator("#staff-area")).to_be_hidden()
        expect(page.locator("#csv-link")).to_be_hidden()
        # Submitting a report needs no login; the result shows, the status form does not.
        page.get_by_label("Beschrijf het knelpunt").fill(REPORT)
        with page.expect_response(lambda r: r.url.endswith("/api/triage")
                                  and r.request.method == "POST") as info:
            page.get_by_role("button", name="Melding beoordelen").click()
        assert info.value.ok
        expect(page.locator("#detail-content .report-text")).to_be_visible()
        expect(page.locator("#detail-content .update-form")).to_have_count(0)
        run_axe(page, axe, "the desk logged out with a report shown")

        page.get_by_label("Naam").fill(STAFF)
        page.get_by_label("Wachtwoord").fill("fout-wachtwoord-123")
        with page.expect_response(lambda r: r.url.endswith("/api/auth/login")) as wrong:
            page.get_by_role("button", name="Inloggen").click()
        assert wrong.value.status == 401
        expect(page.locator("#login-error")).to_have_text("Onbekende naam of onjuist wachtwoord.")
        expect(page.get_by_label("Wachtwoord")).to_be_focused()

        page.get_by_label("Wachtwoord").fill(PASSWORD)
        page.get_by_role("button", name="Inloggen").click()
        expect(page.locator("#staff-name")).to_have_text(f"Ingelogd als {STAFF}")
        expect(page.locator("#queue .queue-button").first).to_be_visible()
        expect(page.locator("#csv-link")).to_be_visible()
        cookie = next(c for c in context.cookies() if c["name"] == "wzw_sessie")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert page.evaluate("document.cookie").find("wzw_sessie") == -1
        export = page.request.get("/api/triage.csv")
        assert export.ok and export.headers["content-type"].startswith("text/csv")

        # A change from the page carries the CSRF token; the same request without it is refused.
        first = page.locator("#queue .queue-button").first
        first.click()
        with page.expect_response(
                lambda r: "/api/triage/" in r.url and r.request.method == "PATCH") as saved:
            page.locator("#detail-content").get_by_role("button", name="Opslaan").click()
        assert saved.value.ok
        report_id = first.get_attribute("data-id")
        bare = page.request.patch(f"/api/triage/{report_id}", data={"note": "zonder code"})
        assert bare.status == 403

        page.get_by_role("button", name="Uitloggen").click()
        expect(form).to_be_visible()
        expect(page.locator("#queue .queue-button")).to_have_count(0)
        assert page.request.get("/api/triage").status == 401
        # the expected 401 of the wrong password is the only console error
        assert all("401" in message for message in probe.console_errors)
        assert probe.csp_violations() == [] and probe.page_errors == []
    finally:
        context.close()


def test_axe_core_comes_from_the_npm_lockfile() -> None:
    """The tests inject the axe-core that `make browser` installed with `npm ci`."""
    root = Path(__file__).resolve().parent.parent
    lock = json.loads((root / "package-lock.json").read_text(encoding="utf-8"))
    version = lock["packages"]["node_modules/axe-core"]["version"]
    installed = json.loads((root / "node_modules/axe-core/package.json").read_text("utf-8"))
    assert installed["version"] == version
    assert axe_source().startswith(f"/*! axe v{version}")
