"""Sources that give different figures for the same thing: keep both, with their source.

Two units conflict when they come from different documents, are about the same thing (their
embeddings are close) and name a figure of the same kind and unit (an amount in euro, a number
of hours, a percentage) with different values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from assistant.answering.select import Candidate, Evidence
from assistant.language.numbers import Figure, figures
from assistant.store import IndexHandle

SAME_THING = 0.72
RELEVANT_SHARE = 0.4


@dataclass(frozen=True)
class FoundConflict:
    about: str
    values: tuple[tuple[Figure, Candidate], ...]


def _about(candidate: Candidate) -> str:
    section = candidate.unit.section.split(" › ")[-1].strip()
    return section or candidate.unit.text[:60]


def find_conflicts(handle: IndexHandle, evidence: Evidence) -> tuple[Evidence, list[FoundConflict]]:
    """The evidence with each conflicting unit added next to the chosen one, and the conflicts."""
    chosen = list(evidence.chosen)
    found: list[FoundConflict] = []
    paired: set[int] = set()
    best = max((c.relevance for c in chosen), default=0.0)
    for c in list(chosen):
        mine = figures(c.unit.text)
        if not mine or c.index in paired:
            continue
        for other in evidence.candidates:
            if other.unit.doc_id == c.unit.doc_id or other.index in paired:
                continue
            if other.relevance < RELEVANT_SHARE * best:
                continue
            similar = float(np.dot(handle.unit_vectors[c.index], handle.unit_vectors[other.index]))
            if similar < SAME_THING:
                continue
            theirs = figures(other.unit.text)
            pairs = [
                (f, g) for f in mine for g in theirs
                if f.kind == g.kind and f.unit == g.unit and f.value != g.value
            ]
            if pairs:
                f, g = pairs[0]
                if other not in chosen:
                    chosen.append(other)
                paired |= {c.index, other.index}
                found.append(FoundConflict(_about(c), ((f, c), (g, other))))
                break
    return Evidence(evidence.question, evidence.passages, evidence.candidates, chosen), found
