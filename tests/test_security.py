"""Access control, CSRF, spreadsheet-safe exports, and no personal data in any echo or log."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from assistant.api import create_app
from assistant.api.logs import JsonFormatter
from assistant.config import Settings
from assistant.privacy import RedactingFilter
from assistant.storage.spreadsheet import safe_cell, write_csv
from assistant.storage.users import AccountError, UserStore
from tests.auth_support import PASSWORD, STAFF, bearer, ensure_staff

REPORT = ("De onderhandelingen over de prestatieafspraken zitten vast op wonen en zorg. "
          "Partijen vertrouwen elkaar niet meer. Wie kan ons helpen?")
FORMULAS = ["=HYPERLINK(\"http://x.example\",\"klik\")", "@SUM(A1:A9)", "+1+1", "-2+3",
            "\tverborgen", "\r=1+1"]
PII = {"bsn": "123456782", "phone": "06-12345678", "email": "j.devries@voorbeeldmail.nl",
       "iban": "NL91ABNA0417164300"}


@pytest.fixture(scope="module")
def sec_settings(fake_index: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    sqlite = tmp_path_factory.mktemp("security") / "app.sqlite"
    return fake_index.model_copy(update={"sqlite_path": sqlite, "rate_limit": "off"})


@pytest.fixture(scope="module")
def client(sec_settings: Settings) -> Iterator[TestClient]:
    ensure_staff(sec_settings)
    with TestClient(create_app(sec_settings)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def report_id(client: TestClient) -> str:
    response = client.post("/api/triage", json={"report": REPORT})
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def protected(report_id: str) -> list[tuple[str, str, dict[str, object] | None]]:
    return [
        ("GET", "/api/triage", None),
        ("GET", f"/api/triage/{report_id}", None),
        ("PATCH", f"/api/triage/{report_id}", {"status": "in-behandeling"}),
        ("GET", "/api/triage.csv", None),
        ("GET", "/api/feedback.csv", None),
    ]


# --- access control ---------------------------------------------------------------------------


def test_every_protected_route_is_401_without_login(client: TestClient, report_id: str) -> None:
    client.cookies.clear()
    for method, path, body in protected(report_id):
        response = client.request(method, path, json=body)
        assert response.status_code == 401, (method, path, response.text)
        assert "Log in" in response.json()["detail"]
        assert response.headers["www-authenticate"].startswith("Bearer")
        bad = client.request(method, path, json=body, headers={"Authorization": "Bearer nee"})
        assert bad.status_code == 401, (method, path)
    client.cookies.set("wzw_sessie", "verzonnen-sessie")
    assert client.get("/api/triage").status_code == 401
    client.cookies.clear()


def test_public_routes_stay_public(client: TestClient) -> None:
    client.cookies.clear()
    asked = client.post("/api/ask", json={"question": "Wat is de Blijverslening?"})
    assert asked.status_code == 200
    submitted = client.post("/api/triage", json={"report": REPORT})
    assert submitted.status_code == 200 and submitted.json()["themes"]  # result comes back
    assert client.post("/api/feedback", json={"rating": "up", "question": "Wat is BWMO?",
                                              "answer": "Beschermd wonen [1]"}).status_code == 200
    for path in ("/api/triage/labels", "/api/documents", "/api/documents/fase-2-visie",
                 "/api/instruments", "/api/instruments/verzilverlening", "/healthz"):
        assert client.get(path).status_code == 200, path


def test_session_cookie_is_httponly_strict_and_csrf_guards_writes(
    client: TestClient, sec_settings: Settings, report_id: str
) -> None:
    client.cookies.clear()
    response = client.post("/api/auth/login", json={"name": STAFF, "password": PASSWORD})
    assert response.status_code == 200
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "max-age=28800" in cookie
    csrf = response.json()["csrf_token"]
    for method, path, body in protected(report_id):
        if method == "GET":
            assert client.get(path).status_code == 200, path
            continue
        for headers in ({}, {"X-CSRF-Token": "fout"}):
            refused = client.request(method, path, json=body, headers=headers)
            assert refused.status_code == 403, (path, headers)
            assert "CSRF" in refused.json()["detail"]
        accepted = client.request(method, path, json=body, headers={"X-CSRF-Token": csrf})
        assert accepted.status_code == 200, accepted.text
    state = client.get("/api/auth/session").json()
    assert state == {"logged_in": True, "name": STAFF, "csrf_token": csrf,
                     "expires_at": state["expires_at"]}
    assert client.post("/api/auth/logout").status_code == 403  # logging out needs CSRF too
    assert client.post("/api/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert client.get("/api/triage").status_code == 401
    assert client.get("/api/auth/session").json() == {"logged_in": False, "name": None,
                                                     "csrf_token": None, "expires_at": None}


def test_login_refuses_wrong_passwords_and_non_json(client: TestClient) -> None:
    client.cookies.clear()
    wrong = client.post("/api/auth/login", json={"name": STAFF, "password": "niet-goed-1234"})
    assert wrong.status_code == 401 and "onjuist wachtwoord" in wrong.json()["detail"]
    unknown = client.post("/api/auth/login", json={"name": "niemand", "password": PASSWORD})
    assert unknown.status_code == 401 and "set-cookie" not in unknown.headers
    # a cross-site HTML form cannot send JSON, so it cannot log a victim in either
    form = client.post("/api/auth/login", data={"name": STAFF, "password": PASSWORD})
    assert form.status_code == 422


def test_bearer_token_needs_no_csrf(client: TestClient, sec_settings: Settings,
                                    report_id: str) -> None:
    client.cookies.clear()
    headers = bearer(sec_settings)
    for method, path, body in protected(report_id):
        response = client.request(method, path, json=body, headers=headers)
        assert response.status_code == 200, (path, response.text)


def test_login_is_rate_limited(fake_index: Settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = fake_index.model_copy(update={"sqlite_path": tmp_path / "a.sqlite",
                                             "login_rate_limit": "3/minute"})
    ensure_staff(settings)
    with TestClient(create_app(settings)) as limited:
        codes = [limited.post("/api/auth/login", json={"name": STAFF, "password": "x" * 12}
                              ).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]


def test_accounts_store_only_argon2_hashes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    users = UserStore(tmp_path / "u.sqlite")
    users.add("Beheerder", "een-goed-wachtwoord")
    assert [u["name"] for u in users.list()] == ["beheerder"]
    import sqlite3

    stored = sqlite3.connect(tmp_path / "u.sqlite").execute(
        "SELECT password_hash FROM staff_users").fetchone()[0]
    assert stored.startswith("$argon2id$") and "een-goed-wachtwoord" not in stored
    assert users.verify("beheerder", "een-goed-wachtwoord")
    assert not users.verify("beheerder", "een-fout-wachtwoord")
    with pytest.raises(AccountError, match="te kort"):
        users.add("tweede", "kort")
    with pytest.raises(AccountError, match="bestaat al"):
        users.add("beheerder", "een-goed-wachtwoord")
    session = users.open_session("beheerder")
    assert users.credential(session.token, "session") is not None
    assert users.credential(session.token, "token") is None  # a cookie is not a bearer token
    users.set_password("beheerder", "een-nieuw-wachtwoord")
    assert users.credential(session.token, "session") is None  # sessions end with the password
    assert users.remove("beheerder") and not users.verify("beheerder", "een-nieuw-wachtwoord")


def test_cli_user_add_reads_the_password_from_stdin(tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from assistant import cli
    from assistant.config import get_settings

    monkeypatch.setenv("SQLITE_PATH", str(tmp_path / "cli.sqlite"))
    get_settings.cache_clear()
    monkeypatch.setattr("sys.stdin", io.StringIO("een-wachtwoord-uit-stdin\n"))
    try:
        assert cli.main(["user", "add", "helpdesk"]) == 0
        assert cli.main(["user", "list"]) == 0
        assert cli.main(["user", "token", "helpdesk", "--days", "1"]) == 0
        token = capsys.readouterr().out.strip().splitlines()[-1]
        assert token.startswith("wzw_")
        assert cli.main(["user", "remove", "helpdesk"]) == 0
        assert cli.main(["user", "remove", "helpdesk"]) == 2
    finally:
        get_settings.cache_clear()
    assert UserStore(tmp_path / "cli.sqlite").count() == 0


def test_admin_password_creates_the_first_account(fake_index: Settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = fake_index.model_copy(update={
        "sqlite_path": tmp_path / "a.sqlite", "admin_password": SecretStr("start-wachtwoord-99")})
    with TestClient(create_app(settings)) as first:
        response = first.post("/api/auth/login",
                              json={"name": "beheerder", "password": "start-wachtwoord-99"})
        assert response.status_code == 200


# --- exports ----------------------------------------------------------------------------------


def test_every_csv_cell_is_spreadsheet_safe() -> None:
    for formula in FORMULAS:
        assert safe_cell(formula) == "'" + formula
    assert safe_cell("Gewone tekst") == "Gewone tekst"
    rows = list(csv.reader(io.StringIO(write_csv(["a", "b"], [FORMULAS[:2], FORMULAS[2:4]]))))
    assert all(cell.startswith("'") for row in rows[1:] for cell in row)


def test_feedback_and_triage_exports_neutralise_formulas(client: TestClient,
                                                         sec_settings: Settings) -> None:
    headers = bearer(sec_settings)
    for formula in FORMULAS:
        body = {"rating": "down", "reason": formula, "question": formula, "answer": formula}
        assert client.post("/api/feedback", json=body).status_code == 200
    created = client.post("/api/triage", json={"report": "=" + REPORT}).json()
    client.patch(f"/api/triage/{created['id']}", json={"note": "@SUM(A1)"}, headers=headers)
    for path in ("/api/feedback.csv", "/api/triage.csv"):
        export = client.get(path, headers=headers)
        assert export.headers["content-type"].startswith("text/csv")
        for row in csv.reader(io.StringIO(export.text)):
            for cell in row:
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (path, cell)


# --- redaction of every echo ------------------------------------------------------------------


def test_standalone_question_is_redacted(client: TestClient) -> None:
    question = (f"Mijn BSN is {PII['bsn']}, bel {PII['phone']} of mail {PII['email']}, "
                f"rekening {PII['iban']}: kan ik de Verzilverlening krijgen?")
    body = client.post("/api/ask", json={"question": question}).json()
    follow = client.post("/api/ask", json={
        "question": "En voor huurders?",
        "history": [{"role": "user", "content": question},
                    {"role": "assistant", "content": "De Verzilverlening is er [1]."}],
    }).json()
    for echoed in (body["standalone_question"], follow["standalone_question"]):
        for value in PII.values():
            assert value not in echoed, echoed
    assert "[BSN]" in body["standalone_question"]


@pytest.mark.parametrize("value", [PII["bsn"], PII["email"], "Jan de Vries 06-12345678",
                                   "x" * 300])
def test_404_messages_do_not_echo_personal_data(client: TestClient, sec_settings: Settings,
                                                value: str) -> None:
    headers = bearer(sec_settings)
    for path in (f"/api/documents/{value}", f"/api/instruments/{value}",
                 f"/api/triage/{value[:64]}"):
        response = client.get(path, headers=headers)
        assert response.status_code in (404, 422), path
        assert value[:20] not in response.text
    asked = client.post("/api/ask", json={"question": "Wat is de Blijverslening?",
                                          "doc_ids": [value[:200]]})
    assert asked.status_code == 404 and value[:20] not in asked.text
    assert asked.json()["detail"].startswith("Onbekend document")


@contextmanager
def captured_logs() -> Iterator[io.StringIO]:
    """Everything logged at INFO and above, as the app's JSON handler writes it. Loggers that
    other code in this process quietened (`python -m evals` lowers the app's own) are reset
    for the duration."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter())
    handler.setLevel(logging.INFO)
    root = logging.getLogger()
    loggers = [logging.getLogger(name) for name in ("woonzorgwijzer", "woonzorgwijzer.access",
                                                      "assistant")]
    levels = [(logger, logger.level) for logger in (root, *loggers)]
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    for logger in loggers:
        logger.setLevel(logging.NOTSET)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        for logger, level in levels:
            logger.setLevel(level)


def test_access_log_is_redacted_json_with_a_request_id(client: TestClient) -> None:
    with captured_logs() as stream:
        response = client.get(f"/api/documents/{PII['bsn']}",
                              params={"q": PII["email"], "tel": PII["phone"]})
        asked = client.post("/api/ask", json={"question": "Wat is BWMO?\nERROR nep-melding\x00"},
                            headers={"X-Request-ID": "test-verzoek-0001"})
    assert response.status_code == 404 and asked.status_code == 422
    rid = response.headers["x-request-id"]
    assert asked.headers["x-request-id"] == "test-verzoek-0001"
    lines = stream.getvalue().splitlines()
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    access = [r for r in records if r["logger"] == "woonzorgwijzer.access"]
    mine = next(r for r in access if r.get("request_id") == rid)
    assert mine["status"] == 404 and mine["route"] == "/api/documents/{doc_id}"
    for value in PII.values():
        assert value not in stream.getvalue()
    assert "[BSN]" in mine["path"] and "[E-MAIL]" in mine["query"]


def test_a_newline_in_a_question_cannot_forge_a_log_line(client: TestClient) -> None:
    with captured_logs() as stream:
        response = client.post("/api/ask", json={
            "question": "Wat is de Blijverslening?\nERROR fake: database gewist\r\nWARNING x"})
    assert response.status_code == 200
    lines = stream.getvalue().splitlines()
    assert all(line.startswith("{") and line.endswith("}") for line in lines)
    question_lines = [line for line in lines if "fake: database" in line]
    assert len(question_lines) == 1
    assert json.loads(question_lines[0])["level"] == "INFO"
    assert not any(line.startswith("ERROR") for line in lines)


def test_cli_text_logs_escape_line_breaks() -> None:
    from assistant.api.logs import EscapingFormatter

    record = logging.LogRecord("x", logging.INFO, "", 0, "vraag: %s", ("a\nERROR b\x00",), None)
    line = EscapingFormatter("%(levelname)s %(message)s").format(record)
    assert "\n" not in line and "\x00" not in line and line.startswith("INFO vraag: a")
