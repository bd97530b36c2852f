"""Staff accounts for tests: an account plus a bearer token or a logged-in session."""

from __future__ import annotations

import contextlib
from typing import Any

from assistant.config import Settings
from assistant.storage.users import AccountError, UserStore

STAFF = "medewerker"
PASSWORD = "een-lang-genoeg-wachtwoord"


def ensure_staff(settings: Settings, name: str = STAFF, password: str = PASSWORD) -> UserStore:
    users = UserStore(settings.sqlite_path, settings.session_hours)
    with contextlib.suppress(AccountError):
        users.add(name, password)
    return users


def bearer(settings: Settings, name: str = STAFF) -> dict[str, str]:
    """Headers with a fresh API token for `name` (created if needed)."""
    token, _ = ensure_staff(settings, name).create_token(name, days=1)
    return {"Authorization": f"Bearer {token}"}


def login(client: Any, settings: Settings, name: str = STAFF) -> dict[str, str]:
    """Log the client in (it keeps the cookie); returns the CSRF header for writes."""
    ensure_staff(settings, name)
    response = client.post("/api/auth/login", json={"name": name, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"X-CSRF-Token": response.json()["csrf_token"]}
