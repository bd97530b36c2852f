"""Sentence and list-item spans with exact offsets, shared by chunking, units and answering."""

from __future__ import annotations

import re
from dataclasses import dataclass

ABBREVIATIONS = frozenset(
    (
        "m.n.",
        "c.q.",
        "art.",
        "pag.",
        "n.v.t.",
        "o.a.",
        "bijv.",
        "dhr.",
        "mw.",
        "nr.",
        "incl.",
        "e.d.",
        "i.p.v.",
        "t.b.v.",
        "z.g.",
        "etc.",
        "ca.",
        "mevr.",
        "drs.",
        "ir.",
        "dr.",
        "mr.",
        "blz.",
        "p.",
        "zgn.",
        "d.w.z.",
        "m.b.t.",
        "evt.",
    )
)
SENTENCE_END = re.compile(r"(?<=[.!?…])[\"”’')\]]*\s+(?=[\"“‘(\[]?[A-ZÀ-Ý0-9•>-])")
# Link and navigation lines of the source web pages: never search text, never an answer.
NAVIGATION_LINES = {
    "lees meer",
    "deel dit bericht",
    "taskforce wonen en zorg bestaat uit:",
    "wanneer wordt dit behandeld?",
    "meer informatie",
    "meld uw knelpunt",
    "bekijk meer vraagstukken",
    "geschreven door:",
    "↑",
}
NAVIGATION_PATTERNS = [re.compile(r"^open de .{1,80} hier$", re.IGNORECASE)]


@dataclass(frozen=True)
class Span:
    start: int
    end: int


def is_navigation(text: str) -> bool:
    norm = text.strip().lower()
    return norm in NAVIGATION_LINES or any(p.match(norm) for p in NAVIGATION_PATTERNS)


def _trim(text: str, start: int, end: int) -> Span | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return Span(start, end) if end > start else None


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentences and list items in text[start:end]; line breaks always end a unit."""
    end = len(text) if end is None else end
    spans: list[Span] = []
    position = start
    for line in text[start:end].splitlines(keepends=True):
        line_start, line_end = position, position + len(line)
        position = line_end
        cursor = line_start
        for match in SENTENCE_END.finditer(text, line_start, line_end):
            words = text[cursor : match.start()].split()
            last = words[-1].lower().lstrip("(\"'“‘") if words else ""
            if last in ABBREVIATIONS or (len(last) == 2 and last[0].isalpha()):
                continue  # "m.n.", "art.", an initial such as "P."
            span = _trim(text, cursor, match.start())
            if span:
                spans.append(span)
            cursor = match.end()
        span = _trim(text, cursor, line_end)
        if span:
            spans.append(span)
    return spans
