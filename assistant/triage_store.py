"""The helpdesk queue of triaged knelpunten, in SQLite.

Only redacted text is stored. Every call opens its own connection (WAL mode, busy timeout,
BEGIN IMMEDIATE for writes), so threads and processes can submit concurrently without
sharing connection state and without losing or corrupting reports.
"""

from __future__ import annotations

import json
import re
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.privacy import redact
from assistant.storage import sqlite
from assistant.storage.spreadsheet import write_csv
from assistant.triage.desk import TriageResult

STATUSES = ("nieuw", "in-behandeling", "afgehandeld")
DEFAULT_STATUS = STATUSES[0]
MAX_LIMIT = 500
MAX_OFFSET = 1_000_000_000  # far past any queue, far below SQLite's 64-bit limit
CSV_COLUMNS = (
    "id", "short_id", "created_at", "updated_at", "status", "urgent", "fase", "themes",
    "redacted_report", "note",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS triage_reports (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    redacted_report TEXT NOT NULL,
    result TEXT NOT NULL,
    themes TEXT NOT NULL,
    fase TEXT NOT NULL,
    urgent INTEGER NOT NULL CHECK (urgent IN (0, 1)),
    status TEXT NOT NULL DEFAULT 'nieuw'
        CHECK (status IN ('nieuw', 'in-behandeling', 'afgehandeld')),
    note TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS triage_reports_status ON triage_reports (status, seq);
CREATE INDEX IF NOT EXISTS triage_reports_urgent ON triage_reports (urgent, seq);
"""


SHORT_ID = re.compile(r"KP-(\d{4})-(\d{4,})", re.IGNORECASE)


def short_id(seq: int, created_at: str) -> str:
    """A number a person can read out on the phone: KP-<year>-<sequence>."""
    return f"KP-{created_at[:4]}-{seq:04d}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class TriageStore:
    """add / get / list / update / export_csv over one SQLite file."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        sqlite.create(self.path, _SCHEMA)

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return sqlite.connect(self.path, "synchronous = NORMAL")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that takes the lock up front, so it never fails half-way."""
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @staticmethod
    def _row(row: sqlite3.Row) -> dict[str, Any]:
        """The stored TriageResult fields, flattened, plus id, status, note and timestamps."""
        return {
            "id": row["id"],
            "short_id": short_id(row["seq"], row["created_at"]),
            **json.loads(row["result"]),
            "redacted_report": row["redacted_report"],
            "fase": row["fase"],
            "urgent": bool(row["urgent"]),
            "status": row["status"],
            "note": row["note"],
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
        }

    def add(self, result: TriageResult) -> dict[str, Any]:
        """Store a triage result as a new report with status "nieuw"."""
        report_id = uuid.uuid4().hex
        redacted = redact(result.redacted_report)
        data = result.to_dict() | {"redacted_report": redacted}
        themes = [str(theme["id"]) for theme in result.themes]
        now = _now()
        with self._write() as conn:
            conn.execute(
                "INSERT INTO triage_reports (id, redacted_report, result, themes, fase, urgent,"
                " status, note, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, '', ?, ?)",
                (
                    report_id, redacted, json.dumps(data, ensure_ascii=False),
                    "," + ",".join(themes) + "," if themes else "", result.fase,
                    int(result.urgent), DEFAULT_STATUS, now, now,
                ),
            )
            row = conn.execute(
                "SELECT * FROM triage_reports WHERE id = ?", (report_id,)
            ).fetchone()
        return self._row(row)

    def get(self, report_id: str) -> dict[str, Any] | None:
        """A report by its id or by its short id (KP-2026-0042)."""
        with self._connect() as conn:
            row = self._find(conn, report_id)
        return self._row(row) if row else None

    @staticmethod
    def _find(conn: sqlite3.Connection, report_id: str) -> sqlite3.Row | None:
        readable = SHORT_ID.fullmatch(report_id.strip())
        if readable:
            row: sqlite3.Row | None = conn.execute(
                "SELECT * FROM triage_reports WHERE seq = ? AND substr(created_at, 1, 4) = ?",
                (int(readable.group(2)), readable.group(1)),
            ).fetchone()
            return row
        found: sqlite3.Row | None = conn.execute(
            "SELECT * FROM triage_reports WHERE id = ?", (report_id,)
        ).fetchone()
        return found

    def list(
        self,
        theme: str | None = None,
        status: str | None = None,
        urgent: bool | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> dict[str, Any]:
        """Reports newest first, filtered; "total" counts all matches, not just this page."""
        if status is not None and status not in STATUSES:
            raise ValueError(f"onbekende status {status!r}; kies uit {', '.join(STATUSES)}")
        if limit < 1 or not 0 <= offset <= MAX_OFFSET:
            raise ValueError(f"limit moet minstens 1 zijn en offset tussen 0 en {MAX_OFFSET}")
        clauses: list[str] = []
        params: list[str | int] = []
        if theme:
            clauses.append("instr(themes, ?) > 0")
            params.append(f",{theme},")
        if status is not None:
            clauses.append("status = ?")
            params.append(status)
        if urgent is not None:
            clauses.append("urgent = ?")
            params.append(int(urgent))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._connect() as conn:
            conn.execute("BEGIN")
            total = conn.execute(
                f"SELECT COUNT(*) FROM triage_reports {where}", params
            ).fetchone()[0]
            rows = conn.execute(
                f"SELECT * FROM triage_reports {where} ORDER BY seq DESC LIMIT ? OFFSET ?",
                [*params, min(limit, MAX_LIMIT), offset],
            ).fetchall()
            conn.execute("COMMIT")
        return {"items": [self._row(r) for r in rows], "total": int(total)}

    def update(
        self, report_id: str, status: str | None = None, note: str | None = None
    ) -> dict[str, Any] | None:
        """Change status and/or note (redacted before storing); None if the id is unknown."""
        if status is not None and status not in STATUSES:
            raise ValueError(f"onbekende status {status!r}; kies uit {', '.join(STATUSES)}")
        with self._write() as conn:
            row = self._find(conn, report_id)
            if row is None:
                return None
            conn.execute(
                "UPDATE triage_reports SET status = ?, note = ?, updated_at = ? WHERE id = ?",
                (
                    status if status is not None else row["status"],
                    redact(note) if note is not None else row["note"],
                    _now(),
                    row["id"],
                ),
            )
            updated = conn.execute(
                "SELECT * FROM triage_reports WHERE id = ?", (row["id"],)
            ).fetchone()
        return self._row(updated)

    def export_csv(self) -> str:
        """All reports as CSV (oldest first), redacted text only, safe to open in a spreadsheet."""
        with self._connect() as conn:
            rows = conn.execute("SELECT * FROM triage_reports ORDER BY seq").fetchall()
        return write_csv(CSV_COLUMNS, (
            [
                row["id"], short_id(row["seq"], row["created_at"]), row["created_at"],
                row["updated_at"], row["status"], "ja" if row["urgent"] else "nee", row["fase"],
                " ".join(t for t in row["themes"].split(",") if t), row["redacted_report"],
                row["note"],
            ]
            for row in rows
        ))
