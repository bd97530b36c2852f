"""Seeded typing errors in the tune questions: how much a hurried hand costs (`--set typos`).

A development check, not a sealed measurement: the questions are tune's, so only the gap
between the two sets it makes means something (the same questions as written and with about
a third of their longer words mistyped). Errors are the common ones of fast typing: a letter
dropped, doubled, swapped with its neighbour, a neighbouring key, a double letter made single.
Each question's errors are seeded by its id, so every run sees the same ones.
"""

from __future__ import annotations

import random
import re
from dataclasses import replace

from evals.datasets import QuestionItem

LONGER_WORD = re.compile(r"[^\W\d_]{5,}")
SHARE = 0.3  # of the question's words of five letters or more
KEY_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
SEED = "typos"


def _neighbours(letter: str) -> str:
    for row in KEY_ROWS:
        at = row.find(letter)
        if at >= 0:
            return row[max(0, at - 1):at] + row[at + 1:at + 2]
    return ""


def mistype(word: str, rng: random.Random) -> str:
    """One typing error inside `word` (never its first or last letter)."""
    at = rng.randrange(1, len(word) - 2)  # a swap takes the next letter too
    kind = rng.choice(("drop", "swap", "double", "neighbour", "single"))
    doubled = [i for i in range(1, len(word)) if word[i] == word[i - 1]]
    if kind == "single" and doubled:
        at = rng.choice(doubled)
        return word[:at] + word[at + 1:]
    if kind == "swap":
        return word[:at] + word[at + 1] + word[at] + word[at + 2:]
    if kind == "double":
        return word[:at] + word[at] + word[at:]
    near = _neighbours(word[at].lower())
    if kind == "neighbour" and near:
        return word[:at] + rng.choice(near) + word[at + 1:]
    return word[:at] + word[at + 1:]


def with_typos(text: str, seed: str) -> str:
    """`text` with about a third of its longer words mistyped, the same ones for one seed."""
    rng = random.Random(f"{SEED}:{seed}")
    words = list(LONGER_WORD.finditer(text))
    if not words:
        return text
    chosen = rng.sample(words, max(1, round(len(words) * SHARE)))
    for match in sorted(chosen, key=lambda m: -m.start()):
        text = text[:match.start()] + mistype(match.group(), rng) + text[match.end():]
    return text


def typo_items(items: list[QuestionItem]) -> tuple[list[QuestionItem], list[QuestionItem]]:
    """The questions that stand alone, as written and mistyped (ids kept, so the two sets
    pair up in `python -m evals diff`)."""
    alone = [item for item in items if not item.history]
    return alone, [replace(item, question=with_typos(item.question, item.id)) for item in alone]
