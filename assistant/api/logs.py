"""Structured logs: one JSON object per line, with the request id, after redaction.

JSON encoding escapes newlines and every control character, so text from a request (a
question with "\\nERROR fake", a NUL byte) can never start a line of its own in the log.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from assistant.privacy import RedactingFilter, install_log_redaction

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
# LogRecord attributes that are not "extra" fields given by the caller.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "taskName",
}


class JsonFormatter(logging.Formatter):
    """`{"ts", "level", "logger", "message", "request_id", …extra, "exc"}` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None) or request_id.get()
        if rid:
            entry["request_id"] = rid
        for key, value in vars(record).items():
            if key not in _STANDARD and key != "request_id" and not key.startswith("_"):
                entry[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=True, default=str)


def configure_logging(level: str = "INFO", stream: Any = None) -> logging.Handler:
    """Root logger → one JSON handler with redaction; uvicorn's loggers propagate to it and
    uvicorn's own access log stays off (the API writes a redacted one)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    install_log_redaction()
    return handler


# Passed to uvicorn.run so it does not install its own (plain-text) handlers.
UVICORN_LOG_CONFIG: dict[str, Any] = {"version": 1, "disable_existing_loggers": False}


class EscapingFormatter(logging.Formatter):
    """Plain-text logs for the CLI, with line breaks and control characters escaped so one
    record is always one line."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return json.dumps(text, ensure_ascii=False)[1:-1]
