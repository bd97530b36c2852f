"""Prompt and message templates live as files in prompts/, loaded by name."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

PROMPT_DIR = Path(__file__).resolve().parent.parent / "prompts"


@lru_cache(maxsize=32)
def load_prompt(name: str) -> str:
    path = PROMPT_DIR / f"{name}.txt"
    if not path.is_file():
        raise FileNotFoundError(f"prompt {name!r} niet gevonden in {PROMPT_DIR}")
    return path.read_text(encoding="utf-8").strip()


def render(name: str, **values: str) -> str:
    return load_prompt(name).format(**values)


@lru_cache(maxsize=1)
def refusal_opening() -> str:
    """The opening all refusal templates share, read from them, so a refused turn in the
    history of a chat can be recognised."""
    texts = [path.read_text(encoding="utf-8").strip()
             for path in sorted(PROMPT_DIR.glob("refusal-*.txt"))]
    return os.path.commonprefix(texts).rstrip(" .:") if texts else ""
