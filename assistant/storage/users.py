"""Staff accounts, login sessions and API tokens in SQLite; passwords hashed with argon2.

Only hashes are stored: argon2 (pwdlib) for passwords, SHA-256 for session and API tokens
(random 256-bit values, so a fast hash suffices). A session carries its own CSRF token;
sessions expire server-side, so a stolen cookie stops working at `expires_at` regardless of
what the browser does.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from assistant.storage import sqlite

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
TOKEN_PREFIX = "wzw_"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS staff_users (
    name TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_login TEXT
);
CREATE TABLE IF NOT EXISTS staff_credentials (
    token_hash TEXT PRIMARY KEY,
    name TEXT NOT NULL REFERENCES staff_users (name) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('session', 'token')),
    csrf TEXT,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS staff_credentials_name ON staff_credentials (name);
"""


class AccountError(ValueError):
    """A name or password the store refuses; the message is Dutch, for the CLI user."""


@dataclass(frozen=True)
class Credential:
    """Who a session cookie or bearer token belongs to."""

    name: str
    kind: str  # "session" or "token"
    csrf: str | None
    expires_at: str


@dataclass(frozen=True)
class NewSession:
    token: str
    csrf: str
    expires_at: str
    max_age_s: int


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_name(name: str) -> str:
    name = name.strip().lower()
    if not NAME_RE.fullmatch(name):
        raise AccountError(
            "Ongeldige naam: 2 tot 64 tekens, kleine letters, cijfers, punt, streepje of "
            "liggend streepje, beginnend met een letter of cijfer."
        )
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"Het wachtwoord is te kort: minstens {MIN_PASSWORD} tekens.")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"Het wachtwoord is te lang: hoogstens {MAX_PASSWORD} tekens.")
    return password


class UserStore:
    """add / remove / list accounts; verify passwords; open, read and end sessions and tokens."""

    def __init__(self, path: Path | str, session_hours: float = 8.0) -> None:
        self.path = Path(path)
        self.session_hours = session_hours
        self.hasher = PasswordHash((Argon2Hasher(),))
        # verifying against this keeps an unknown name as slow as a wrong password
        self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))
        sqlite.create(self.path, _SCHEMA)

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return sqlite.connect(self.path, "foreign_keys = ON")

    # --- accounts -----------------------------------------------------------------------------

    def add(self, name: str, password: str) -> str:
        name = check_name(name)
        password_hash = self.hasher.hash(check_password(password))
        try:
            with self._connect() as conn:
                conn.execute(
                    "INSERT INTO staff_users (name, password_hash, created_at) VALUES (?, ?, ?)",
                    (name, password_hash, _iso(_now())),
                )
        except sqlite3.IntegrityError as exc:
            raise AccountError(f"Er bestaat al een account {name}.") from exc
        return name

    def set_password(self, name: str, password: str) -> None:
        """New password; every open session and token of the account ends."""
        name = check_name(name)
        password_hash = self.hasher.hash(check_password(password))
        with self._connect() as conn:
            if not conn.execute("UPDATE staff_users SET password_hash = ? WHERE name = ?",
                                (password_hash, name)).rowcount:
                raise AccountError(f"Er is geen account {name}.")
            conn.execute("DELETE FROM staff_credentials WHERE name = ?", (name,))

    def remove(self, name: str) -> bool:
        with self._connect() as conn:
            conn.execute("DELETE FROM staff_credentials WHERE name = ?", (name.strip().lower(),))
            return bool(conn.execute("DELETE FROM staff_users WHERE name = ?",
                                     (name.strip().lower(),)).rowcount)

    def list(self) -> list[dict[str, Any]]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT name, created_at, last_login FROM staff_users ORDER BY name"
            ).fetchall()
        return [dict(row) for row in rows]

    def count(self) -> int:
        with self._connect() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM staff_users").fetchone()[0])

    def verify(self, name: str, password: str) -> bool:
        """Whether the password is right; the same argon2 work for unknown names."""
        with self._connect() as conn:
            row = conn.execute("SELECT password_hash FROM staff_users WHERE name = ?",
                               (name.strip().lower(),)).fetchone()
        if row is None:
            self.hasher.verify(password, self._dummy_hash)
            return False
        valid, updated = self.hasher.verify_and_update(password, row["password_hash"])
        if valid:
            with self._connect() as conn:
                conn.execute(
                    "UPDATE staff_users SET last_login = ?, password_hash = ? WHERE name = ?",
                    (_iso(_now()), updated or row["password_hash"], name.strip().lower()),
                )
        return bool(valid)

    # --- sessions and tokens -------------------------------------------------------------------

    def _insert(self, name: str, kind: str, lifetime: timedelta,
                csrf: str | None) -> tuple[str, str]:
        token = (TOKEN_PREFIX if kind == "token" else "") + secrets.token_urlsafe(32)
        now = _now()
        expires = _iso(now + lifetime)
        with self._connect() as conn:
            conn.execute("DELETE FROM staff_credentials WHERE expires_at <= ?", (_iso(now),))
            conn.execute(
                "INSERT INTO staff_credentials (token_hash, name, kind, csrf, created_at,"
                " expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                (_digest(token), name, kind, csrf, _iso(now), expires),
            )
        return token, expires

    def open_session(self, name: str) -> NewSession:
        lifetime = timedelta(hours=self.session_hours)
        csrf = secrets.token_urlsafe(32)
        token, expires = self._insert(check_name(name), "session", lifetime, csrf)
        return NewSession(token, csrf, expires, int(lifetime.total_seconds()))

    def create_token(self, name: str, days: float = 90.0) -> tuple[str, str]:
        """An API token for scripts (Authorization: Bearer …); shown once, stored hashed."""
        name = check_name(name)
        with self._connect() as conn:
            if conn.execute("SELECT 1 FROM staff_users WHERE name = ?", (name,)).fetchone() is None:
                raise AccountError(f"Er is geen account {name}.")
        return self._insert(name, "token", timedelta(days=days), None)

    def credential(self, token: str, kind: str) -> Credential | None:
        """The live credential for a cookie ("session") or bearer ("token") value."""
        if not token or len(token) > 200:
            return None
        with self._connect() as conn:
            row = conn.execute(
                "SELECT c.name, c.kind, c.csrf, c.expires_at FROM staff_credentials c"
                " JOIN staff_users u ON u.name = c.name"
                " WHERE c.token_hash = ? AND c.kind = ? AND c.expires_at > ?",
                (_digest(token), kind, _iso(_now())),
            ).fetchone()
        if row is None:
            return None
        return Credential(row["name"], row["kind"], row["csrf"], row["expires_at"])

    def end(self, token: str) -> None:
        with self._connect() as conn:
            conn.execute("DELETE FROM staff_credentials WHERE token_hash = ?", (_digest(token),))
