"""HTTP API contract with the fast fake-embedder index: shapes, validation, errors, headers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from assistant.api import create_app
from assistant.config import Settings
from tests.auth_support import bearer
from tests.conftest import make_settings


@pytest.fixture(scope="module")
def api_settings(fake_index: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    sqlite = tmp_path_factory.mktemp("api") / "app.sqlite"
    return fake_index.model_copy(update={"sqlite_path": sqlite})


@pytest.fixture(scope="module")
def client(api_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(api_settings)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def staff(api_settings: Settings) -> dict[str, str]:
    return bearer(api_settings)


def test_healthz_reports_index_stats(client: TestClient) -> None:
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["documents"] == 5 and body["chunks"] > 40
    assert body["embedding_model"] == "hashing-v1:256" and body["index_built_at"]


def test_ask_returns_verbatim_citations(client: TestClient) -> None:
    response = client.post("/api/ask", json={"question": "Wat is de Blijverslening?"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"answer", "answerable", "standalone_question", "citations", "instruments"}
    assert body["answerable"] and body["citations"]
    for citation in body["citations"]:
        text = client.get(f"/api/documents/{citation['doc_id']}").json()["text"]
        assert text[citation["start"] : citation["end"]] == citation["quote"]
    assert any(i["id"] == "blijverslening" for i in body["instruments"])


def test_a_typing_error_is_read_as_the_word_of_the_documents(client: TestClient) -> None:
    body = client.post("/api/ask", json={
        "question": "Kan ik met een bijna afgeloste hypotehek de Verzilverlening krijgen?"}).json()
    assert "hypotheek" in body["standalone_question"]
    assert "hypotehek" not in body["standalone_question"]


def test_follow_up_gets_a_standalone_question(client: TestClient) -> None:
    history = [
        {"role": "user", "content": "Wat is de Verzilverlening?"},
        {"role": "assistant", "content": "Een lening voor eigenaren [1]."},
    ]
    body = client.post(
        "/api/ask", json={"question": "En voor huurders?", "history": history}
    ).json()
    assert "Verzilverlening" in body["standalone_question"]
    assert "huurders" in body["standalone_question"]


def test_doc_filter_limits_citations(client: TestClient) -> None:
    body = client.post(
        "/api/ask",
        json={"question": "Wat is de woonzorgvisie?", "doc_ids": ["fase-2-visie"], "top_k": 3},
    ).json()
    assert body["citations"] and {c["doc_id"] for c in body["citations"]} == {"fase-2-visie"}
    assert len(body["citations"]) <= 3


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"question": "   "}, "leeg"),
        ({"question": "x" * 2001}, "te lang"),
        ({"question": "Vraag?", "history": [{"role": "user", "content": "a"}] * 21}, "beurten"),
        ({"question": "Vraag?", "history": [{"role": "system", "content": "a"}]}, "rol"),
        ({"history": []}, "ontbreekt"),
        ({"question": "Vraag?", "top_k": 0}, "klein"),
    ],
)
def test_bad_input_gets_422_in_dutch(client: TestClient, payload: dict, fragment: str) -> None:
    response = client.post("/api/ask", json=payload)
    assert response.status_code == 422
    assert fragment in response.json()["detail"]


def test_unknown_document_is_404(client: TestClient) -> None:
    assert client.get("/api/documents/bestaat-niet").status_code == 404
    response = client.post(
        "/api/ask", json={"question": "Wat is de Blijverslening?", "doc_ids": ["bestaat-niet"]}
    )
    assert response.status_code == 404
    assert "bestaat-niet" in response.json()["detail"]


def test_documents_list_and_detail(client: TestClient) -> None:
    documents = client.get("/api/documents").json()
    assert {d["id"] for d in documents} >= {"fase-4-uitvoering", "wonen-met-begeleiding"}
    assert all(d["chunks"] > 0 and d["kind"] for d in documents)
    detail = client.get("/api/documents/wegwijzer-prestatieafspraken").json()
    assert detail["kind"] == "wegwijzer" and "SMART" in detail["text"]


def test_instrument_catalogue_routes(client: TestClient) -> None:
    catalogue = client.get("/api/instruments").json()
    assert {i["id"] for i in catalogue} >= {"verzilverlening", "knelpunt-melden"}
    entry = client.get("/api/instruments/ondersteuningsteam-wonen-en-zorg").json()
    assert entry["sources"][0]["title"]
    assert client.get("/api/instruments/onbekend").status_code == 404


def test_security_headers_and_oversize_body(client: TestClient) -> None:
    response = client.get("/healthz")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    big = client.post(
        "/api/ask",
        content=b'{"question": "' + b"a" * (2 << 20) + b'"}',
        headers={"content-type": "application/json"},
    )
    assert big.status_code == 413


def test_openapi_has_dutch_examples(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    ask = schema["components"]["schemas"]["AskRequest"]["properties"]["question"]
    assert "woning" in ask["examples"][0]


def test_feedback_is_stored_and_exported(client: TestClient, staff: dict[str, str]) -> None:
    response = client.post(
        "/api/feedback",
        json={
            "rating": "down",
            "reason": "mis de bron, bel 06-12345678",
            "question": "Wat is BWMO?",
            "answer": "Beschermd wonen [1]",
            "citations": [],
        },
    )
    assert response.status_code == 200
    export = client.get("/api/feedback.csv", headers=staff).text
    assert "Wat is BWMO?" in export and "06-12345678" not in export
    assert (
        client.post(
            "/api/feedback", json={"rating": "meh", "question": "q", "answer": "a"}
        ).status_code
        == 422
    )


def test_a_changed_vote_replaces_the_earlier_one(client: TestClient,
                                                 staff: dict[str, str]) -> None:
    body = {"rating": "up", "question": "Wat is een driepartijencontract?", "answer": "x [1]"}
    first = client.post("/api/feedback", json=body).json()["id"]
    second = client.post("/api/feedback", json={**body, "rating": "down", "replaces": first})
    assert second.json()["id"] == first
    rows = [r for r in client.get("/api/feedback.csv", headers=staff).text.splitlines()
            if "driepartijencontract" in r]
    assert len(rows) == 1 and ",down," in rows[0]


def test_missing_index_is_a_clear_503(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path / "leeg")
    with TestClient(create_app(settings)) as empty:
        response = empty.post("/api/ask", json={"question": "Wat is de Blijverslening?"})
    assert response.status_code == 503
    assert "assistant ingest" in response.json()["detail"]


def test_concurrent_questions_all_succeed(client: TestClient) -> None:
    from concurrent.futures import ThreadPoolExecutor

    questions = [f"Wat is de Blijverslening voor huurders {n}?" for n in range(16)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda q: client.post("/api/ask", json={"question": q}),
                                  questions))
    assert [r.status_code for r in responses] == [200] * len(questions)
    assert all(r.json()["citations"] for r in responses)
