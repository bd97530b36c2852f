"""Feedback per answer in SQLite, exportable as CSV to grow the evaluation set."""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.privacy import redact
from assistant.storage.spreadsheet import write_csv

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    reason TEXT NOT NULL DEFAULT '',
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    citations TEXT NOT NULL
)
"""
COLUMNS = ["id", "created_at", "rating", "reason", "question", "answer", "citations"]


class FeedbackStore:
    """Thread-safe; every write is one short transaction in WAL mode."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._ready = False
        self._init_lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA busy_timeout=30000")
            self._local.connection = connection
        with self._init_lock:
            if not self._ready:
                connection.execute(SCHEMA)
                self._ready = True
        return connection

    def add(
        self,
        rating: str,
        question: str,
        answer: str,
        citations: list[dict[str, Any]],
        reason: str = "",
        replaces: str | None = None,
    ) -> dict[str, Any]:
        """Store a vote; with `replaces`, the earlier vote on the same answer changes instead,
        so a changed mind leaves one row."""
        row = {
            "id": replaces or uuid.uuid4().hex,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "rating": rating,
            "reason": redact(reason),
            "question": redact(question),
            "answer": redact(answer),
            "citations": json.dumps(citations, ensure_ascii=False),
        }
        connection = self._connection()
        if replaces and connection.execute(
            "UPDATE feedback SET rating = ?, reason = ?, created_at = ? WHERE id = ?",
            (row["rating"], row["reason"], row["created_at"], replaces),
        ).rowcount:
            return row
        row["id"] = uuid.uuid4().hex
        connection.execute(
            f"INSERT INTO feedback ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
            [row[c] for c in COLUMNS],
        )
        return row

    def export_csv(self) -> str:
        """Every vote, oldest first, safe to open in a spreadsheet (formulas neutralised)."""
        rows = (
            self._connection()
            .execute(f"SELECT {', '.join(COLUMNS)} FROM feedback ORDER BY created_at, id")
            .fetchall()
        )
        return write_csv(COLUMNS, rows)
