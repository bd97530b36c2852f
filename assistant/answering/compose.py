"""The answer as text and segments: verbatim units with [n] markers, lists as lists.

Cited passages are numbered by relevance: [1] is the passage holding the most relevant chosen
unit, so the source list reads best first while the text keeps the document's reading order.
The other retrieved passages follow, marked as not cited ("ook gevonden"). Every segment's
quote is the document text between its offsets; its display text only drops markup.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.answering.conflicts import FoundConflict
from assistant.answering.select import Candidate
from assistant.domain import Chunk, Passage
from assistant.prompts import render
from assistant.schemas import AnswerSegment, Citation, Conflict, ConflictValue
from assistant.store import IndexHandle


@dataclass(frozen=True)
class Composed:
    text: str
    citations: list[Citation]
    segments: list[AnswerSegment]
    conflicts: list[Conflict]


def _citation(n: int, chunk: Chunk, score: float, cited: bool) -> Citation:
    return Citation(
        n=n, doc_id=chunk.doc_id, title=chunk.title, section=chunk.section, quote=chunk.quote,
        start=chunk.start, end=chunk.end, score=round(float(score), 6), cited=cited,
    )


def number_sources(
    handle: IndexHandle, chosen: Sequence[Candidate], passages: Sequence[Passage], top_k: int
) -> tuple[dict[int, int], list[Citation]]:
    """Chunk position to citation number, and the citation list (cited first)."""
    scores = {handle.positions[p.chunk.chunk_id]: p.score for p in passages
              if p.chunk.chunk_id in handle.positions}
    best: dict[int, float] = {}
    for c in chosen:
        best[c.unit.chunk] = max(best.get(c.unit.chunk, -math.inf), c.relevance)
    numbers = {position: n for n, position in
               enumerate(sorted(best, key=lambda position: -best[position]), start=1)}
    citations = [_citation(n, handle.chunks[position], scores.get(position, 0.0), True)
                 for position, n in numbers.items()]
    for position, score in scores.items():
        if len(citations) >= max(top_k, len(numbers)):
            break
        if position not in numbers:
            numbers[position] = len(numbers) + 1
            citations.append(_citation(numbers[position], handle.chunks[position], score, False))
    return numbers, citations


def compose(
    handle: IndexHandle,
    chosen: Sequence[Candidate],
    passages: Sequence[Passage],
    top_k: int,
    conflicts: Sequence[FoundConflict] = (),
) -> Composed:
    numbers, citations = number_sources(handle, chosen, passages, top_k)
    segments: list[AnswerSegment] = []
    lines: list[str] = []
    paragraph: list[str] = []
    for c in chosen:
        unit, n = c.unit, numbers[c.unit.chunk]
        document = handle.documents[unit.doc_id]
        in_list = unit.kind in ("list-item", "table-row")
        segments.append(AnswerSegment(
            n=n, doc_id=unit.doc_id, start=unit.start, end=unit.end,
            quote=document.text[unit.start:unit.end], text=unit.text,
            kind="table-row" if unit.kind == "table-row" else
            "list-item" if unit.kind == "list-item" else "sentence",
            group=unit.group if unit.group is not None else None,
        ))
        if in_list:
            if paragraph:
                lines.append(" ".join(paragraph))
                paragraph = []
            lines.append(f"- {unit.text} [{n}]")
        else:
            if lines and lines[-1].startswith("- "):
                lines.append("")
            paragraph.append(f"{unit.text} [{n}]")
    if paragraph:
        lines.append(" ".join(paragraph))
    found = [
        Conflict(about=conflict.about, values=[
            ConflictValue(value=figure.text, n=numbers[candidate.unit.chunk])
            for figure, candidate in conflict.values
        ])
        for conflict in conflicts
    ]
    for conflict in found:
        values = " en ".join(f"{v.value} [{v.n}]" for v in conflict.values)
        lines.append(render("conflict", about=conflict.about, values=values))
    return Composed("\n".join(lines).strip(), citations, segments, found)
