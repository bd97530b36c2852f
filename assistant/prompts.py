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
    """The words every refusal message opens with ("Dat staat niet in de documenten"), read from
    the refusal templates, so a refused turn in a conversation's history can be recognised."""
    texts = [path.read_text(encoding="utf-8").strip()
             for path in sorted(PROMPT_DIR.glob("refusal-*.txt"))]
    return os.path.commonprefix(texts).rstrip(" .:") if texts else ""
