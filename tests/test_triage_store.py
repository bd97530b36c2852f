"""The triage queue: CRUD, filters, redaction on write, CSV export and concurrent writers."""

from __future__ import annotations

import csv
import io
import multiprocessing
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from assistant.rules.taxonomy import read_taxonomy
from assistant.triage.desk import TriageResult
from assistant.triage_store import TriageStore

ROOT = Path(__file__).resolve().parent.parent


def make_result(text: str = "Melding over de woonzorgvisie.", themes: tuple[str, ...] = (),
                fase: str = "visie", urgent: bool = False) -> TriageResult:
    return TriageResult(
        themes=[{"id": t, "label": t, "score": 0.5} for t in themes],
        fase=fase,
        support=[{"id": "knelpunt-melden", "name": "Knelpunt melden", "why": "", "fits": True}],
        citations=[],
        similar=[],
        urgent=urgent,
        redacted_report=text,
    )


def add_many(path: str, count: int, tag: str) -> list[str]:
    """Runs in a worker process: its own store object, its own connections."""
    store = TriageStore(path)
    return [store.add(make_result(f"{tag} melding {i}"))["id"] for i in range(count)]


@pytest.fixture
def store(tmp_path: Path) -> TriageStore:
    return TriageStore(tmp_path / "nested" / "dir" / "triage.sqlite")


def test_add_get_and_defaults(store: TriageStore) -> None:
    item = store.add(make_result(themes=("financiering",), urgent=True))
    assert len(item["id"]) == 32 and item["status"] == "nieuw" and item["note"] == ""
    assert [t["id"] for t in item["themes"]] == ["financiering"] and item["urgent"] is True
    assert item["fase"] == "visie" and item["support"][0]["id"] == "knelpunt-melden"
    assert item["citations"] == [] and item["similar"] == []
    assert datetime.fromisoformat(item["created_at"]).utcoffset() == timedelta(0)
    assert store.get(item["id"]) == item
    assert store.get("bestaat-niet") is None
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_rows_validate_as_api_items(store: TriageStore) -> None:
    """The HTTP layer builds its response model straight from a stored row."""
    from assistant.schemas import TriageItem

    theme_ids = tuple(theme.id for theme in read_taxonomy(ROOT / "corpus").themes[:2])
    result = make_result("De prestatieafspraken zitten vast; bel Erik Jansen (06-12345678).",
                         themes=theme_ids)
    item = TriageItem(**store.add(result))
    assert item.redacted_report == "De prestatieafspraken zitten vast; bel [NAAM] ([TELEFOON])."
    assert "Jansen" not in item.model_dump_json()
    assert [t.id for t in item.themes] == [t["id"] for t in result.themes]
    listed = store.list()["items"][0]
    assert TriageItem(**listed) == item


def test_personal_data_is_redacted_on_write(store: TriageStore) -> None:
    item = store.add(make_result("Bel mevrouw Jansen op 06-12345678."))
    assert item["redacted_report"] == "Bel mevrouw [NAAM] op [TELEFOON]."
    updated = store.update(item["id"], note="Teruggebeld door dhr. P. de Vries, l.bos@mail.nl")
    assert updated is not None
    assert updated["note"] == "Teruggebeld door dhr. [NAAM], [E-MAIL]"
    files = [store.path, Path(f"{store.path}-wal")]
    raw = b"".join(f.read_bytes() for f in files if f.exists())
    for leak in (b"Jansen", b"12345678", b"Vries", b"l.bos"):
        assert leak not in raw


def test_list_filters_pagination_and_order(store: TriageStore) -> None:
    ids = [
        store.add(make_result(f"melding {i}", themes=("financiering",) if i % 2 else
                              ("sociaal-domein", "regelgeving"), urgent=i % 3 == 0))["id"]
        for i in range(7)
    ]
    page = store.list(limit=3)
    assert page["total"] == 7 and [i["id"] for i in page["items"]] == ids[::-1][:3]
    assert [i["id"] for i in store.list(limit=3, offset=6)["items"]] == [ids[0]]
    assert store.list(theme="financiering")["total"] == 3
    assert store.list(theme="regelgeving")["total"] == 4
    assert store.list(theme="regel")["total"] == 0
    assert store.list(urgent=True)["total"] == 3
    assert store.list(urgent=False, theme="financiering")["total"] == 2
    store.update(ids[1], status="afgehandeld")
    assert [i["id"] for i in store.list(status="afgehandeld")["items"]] == [ids[1]]
    assert store.list(status="nieuw")["total"] == 6
    with pytest.raises(ValueError):
        store.list(status="klaar")
    with pytest.raises(ValueError):
        store.list(limit=0)


def test_update(store: TriageStore) -> None:
    item = store.add(make_result())
    updated = store.update(item["id"], status="in-behandeling")
    assert updated is not None and updated["status"] == "in-behandeling"
    assert updated["updated_at"] >= item["updated_at"] and updated["note"] == ""
    noted = store.update(item["id"], note="Gebeld met de corporatie.")
    assert noted is not None and noted["status"] == "in-behandeling"
    assert noted["note"] == "Gebeld met de corporatie."
    assert store.update("bestaat-niet", status="afgehandeld") is None
    with pytest.raises(ValueError):
        store.update(item["id"], status="gesloten")
    assert store.get(item["id"])["status"] == "in-behandeling"  # type: ignore[index]


def test_export_csv_holds_only_redacted_text(store: TriageStore) -> None:
    first = store.add(make_result("Meneer J. Kuipers, Lindelaan 14, wil een traplift.",
                                  themes=("woningvoorraad", "financiering"), urgent=True))
    store.add(make_result("=HYPERLINK(\"http://x\")"))
    store.update(first["id"], note="Info van mevrouw Bos (06-21436587)")
    rows = list(csv.DictReader(io.StringIO(store.export_csv())))
    assert len(rows) == 2
    assert rows[0]["redacted_report"] == "Meneer [NAAM], [ADRES], wil een traplift."
    assert rows[0]["note"] == "Info van mevrouw [NAAM] ([TELEFOON])"
    assert rows[0]["themes"] == "woningvoorraad financiering" and rows[0]["urgent"] == "ja"
    assert rows[1]["redacted_report"].startswith("'=")
    assert "result" not in rows[0]


def test_parallel_adds_from_threads(store: TriageStore) -> None:
    with ThreadPoolExecutor(max_workers=16) as pool:
        ids = list(pool.map(lambda i: store.add(make_result(f"melding {i}"))["id"], range(64)))
    assert len(set(ids)) == 64
    assert store.list(limit=500)["total"] == 64
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_parallel_adds_from_processes(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.sqlite")
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        results = pool.starmap(add_many, [(path, 25, f"proces {p}") for p in range(4)])
    ids = [i for chunk in results for i in chunk]
    store = TriageStore(path)
    assert len(set(ids)) == 100
    listed = store.list(limit=500)
    assert listed["total"] == 100 and {i["id"] for i in listed["items"]} == set(ids)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _create_shared(path: str) -> str:
    from assistant.storage.sqlite import create

    try:
        create(Path(path), "CREATE TABLE IF NOT EXISTS t (a TEXT); "
                           "CREATE INDEX IF NOT EXISTS t_a ON t (a);")
    except sqlite3.OperationalError as exc:
        return str(exc)
    return "ok"


def test_processes_opening_a_new_file_together_all_succeed(tmp_path: Path) -> None:
    """Several processes creating the same new SQLite file at once: SQLite tells the losers of
    the switch to WAL "database is locked" without waiting; every one must still succeed."""
    outcomes = []
    with multiprocessing.get_context("spawn").Pool(8) as pool:
        for round_ in range(30):
            outcomes += pool.map(_create_shared, [str(tmp_path / f"new-{round_}.sqlite")] * 8)
    assert outcomes == ["ok"] * len(outcomes)
