"""The fixed question list (the evals' dev and own sets) and cache-defeating variants.

The product caches query embeddings per exact string, so replaying the same questions would
mostly measure cache hits. Every benchmark request therefore gets a unique variant: the
question with one of its spaces widened, which changes the string (a cache miss, a real
model call) but not the words, the analysis or the answer. Repeated-question latency, the
cache-hit path, is measured separately.
"""

from __future__ import annotations

from typing import Any

from evals.datasets import load_questions


def base_questions() -> list[dict[str, Any]]:
    """Request bodies for every question in the evals' dev and own sets, history included."""
    return [{"question": item.question, "history": [dict(turn) for turn in item.history]}
            for item in load_questions("all")]


def variant(question: str, k: int) -> str:
    """Variant k of a question: k = 0 is the question; every k gives a different string."""
    if k == 0:
        return question
    spaces = [i for i, ch in enumerate(question) if ch == " "]
    if not spaces:
        return question + " " * k
    position = spaces[(k - 1) % len(spaces)]
    width = 2 + (k - 1) // len(spaces)
    return question[:position] + " " * width + question[position + 1:]


def stream(bodies: list[dict[str, Any]], start: int, count: int) -> list[dict[str, Any]]:
    """`count` request bodies from position `start` on; distinct positions never collide."""
    out = []
    for i in range(start, start + count):
        body = bodies[i % len(bodies)]
        out.append({**body, "question": variant(body["question"], i // len(bodies))})
    return out
