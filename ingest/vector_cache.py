"""Vectors by content: a text embedded once by a model is never embedded again.

Keys are a hash of the model key and the exact text the model saw, not of a chunk's position,
so an edit near the top of a document re-embeds only what changed, not everything after it.
The cache is an SQLite file beside the builds; each entry records the last build that used
it, and entries no kept build uses are pruned when a build becomes current. A crash leaves
only entries nobody points at, which the next prune removes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from assistant.config import Settings
from assistant.storage.sqlite import connect, create

SCHEMA = """
CREATE TABLE IF NOT EXISTS vectors (
    key TEXT PRIMARY KEY,
    vector BLOB NOT NULL,
    build TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS vectors_build ON vectors (build);
"""
LOOKUP_BATCH = 500  # below SQLite's limit on bound parameters


def vector_cache_path(settings: Settings) -> Path:
    return settings.index_root / "vectors.sqlite"


def content_key(model_key: str, text: str) -> str:
    return hashlib.sha256(f"{model_key}\x1f{text}".encode()).hexdigest()[:40]


class VectorCache:
    def __init__(self, path: Path) -> None:
        self.path = path
        create(path, SCHEMA)

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(keys))
        with connect(self.path) as conn:
            for offset in range(0, len(unique), LOOKUP_BATCH):
                batch = unique[offset : offset + LOOKUP_BATCH]
                marks = ",".join("?" * len(batch))
                for row in conn.execute(
                    f"SELECT key, vector FROM vectors WHERE key IN ({marks})", batch
                ):
                    found[row["key"]] = np.frombuffer(row["vector"], dtype=np.float32).copy()
        return found

    def put_many(self, items: Iterable[tuple[str, np.ndarray]], build: str) -> None:
        rows = [(key, np.asarray(v, dtype=np.float32).tobytes(), build) for key, v in items]
        with connect(self.path) as conn:
            conn.execute("BEGIN")
            conn.executemany(
                "INSERT OR REPLACE INTO vectors (key, vector, build) VALUES (?, ?, ?)", rows
            )
            conn.execute("COMMIT")

    def mark(self, keys: Iterable[str], build: str) -> None:
        """Record that `build` uses these entries, so a prune keeps them."""
        with connect(self.path) as conn:
            conn.execute("BEGIN")
            conn.executemany("UPDATE vectors SET build = ? WHERE key = ?",
                             [(build, key) for key in dict.fromkeys(keys)])
            conn.execute("COMMIT")

    def prune(self, keep: set[str]) -> int:
        """Drop entries whose last build is not kept; how many were dropped."""
        with connect(self.path) as conn:
            marks = ",".join("?" * len(keep)) or "''"
            cursor = conn.execute(f"DELETE FROM vectors WHERE build NOT IN ({marks})",
                                  sorted(keep))
            return int(cursor.rowcount)

    def __len__(self) -> int:
        with connect(self.path) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM vectors").fetchone()[0])
