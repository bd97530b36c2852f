"""One way to open the product's SQLite files: WAL, a busy timeout, rows by name, autocommit.

The triage queue and the staff accounts share a file; both open it the same way so that
concurrent writers wait for each other instead of failing."""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BUSY_TIMEOUT_S = 30.0


@contextmanager
def connect(path: Path, *pragmas: str) -> Iterator[sqlite3.Connection]:
    """A connection with the shared settings plus the caller's own `PRAGMA`s."""
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        for pragma in pragmas:
            conn.execute(f"PRAGMA {pragma}")
        yield conn
    finally:
        conn.close()


def create(path: Path, schema: str) -> None:
    """The file (and its folder) in WAL mode with the schema applied; idempotent.

    Processes that open a new file at the same moment race to switch it to WAL, and SQLite
    answers the loser "database is locked" at once, without its busy timeout (8 of 320
    parallel opens here). So a locked open is tried again until the busy timeout has passed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            with connect(path) as conn:
                if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                    conn.execute("PRAGMA journal_mode=WAL")
                conn.executescript(schema)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(random.uniform(0.01, 0.1))
