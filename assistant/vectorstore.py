"""Chroma access: embedded PersistentClient by default, a Chroma server when CHROMA_HOST is set."""

from __future__ import annotations

import threading
from typing import Any

from assistant.config import Settings

_clients: dict[tuple[str, ...], Any] = {}
_lock = threading.Lock()


def chroma_client(settings: Settings) -> Any:
    """One client per location per process (Chroma's clients are thread-safe, not process-safe)."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_host:
        key: tuple[str, ...] = ("http", settings.chroma_host, str(settings.chroma_port))
    else:
        key = ("local", str(settings.chroma_path.resolve()))
    with _lock:
        if key not in _clients:
            if settings.chroma_host:
                _clients[key] = chromadb.HttpClient(
                    host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
                )
            else:
                settings.chroma_path.mkdir(parents=True, exist_ok=True)
                _clients[key] = chromadb.PersistentClient(
                    path=str(settings.chroma_path), settings=chroma_settings
                )
        return _clients[key]


def collection_name(build_id: str) -> str:
    return f"chunks-{build_id}"
