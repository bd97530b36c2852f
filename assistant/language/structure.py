"""The structure of a document as written: lines by kind, and answer units with offsets.

Nothing here changes offsets: lines are classified (navigation, heading, list item, table
row, caption, paragraph) and units (sentences, list items, table rows) are spans of the
original text, so every quote built from them is verbatim.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.language.normalize import HYPHEN_BREAK, LIST_MARKER, WHITESPACE, search_text
from assistant.language.sentences import Span, is_navigation, split_sentences

LIST_ITEM_MAX = 420
MIN_UNIT_WORDS = 4
# Words that open a sentence leaning on the one before it ("Dit kan alleen …").
LEANING_OPENERS = frozenset(
    [
        "dit",
        "deze",
        "dat",
        "die",
        "daarbij",
        "daarnaast",
        "daarom",
        "daarmee",
        "daardoor",
        "daarvoor",
        "daarin",
        "hierbij",
        "hiervoor",
        "hierin",
        "hiermee",
        "zij",
        "ze",
        "hun",
        "hij",
        "zo",
        "ook",
        "bovendien",
        "verder",
        "tevens",
        "wel",
    "daarna",
    "vervolgens",
    "toen",
    ]
)


@dataclass(frozen=True)
class Line:
    """One non-blank line of the original text, offsets trimmed to its visible content."""

    start: int
    end: int
    text: str
    blank_before: bool
    blank_after: bool
    kind: str = "paragraph"


def clean_for_search(text: str) -> str:
    """The text as a reader means it: no navigation, markdown, hyphenation or table tabs."""
    kept = [search_text(line) for line in text.splitlines() if line.strip()]
    joined = " ".join(line for line in kept if line and not is_navigation(line))
    return WHITESPACE.sub(" ", HYPHEN_BREAK.sub(r"\1\2", joined)).strip()


def split_lines(text: str) -> list[Line]:
    """Every non-blank line with exact offsets and whether blank lines surround it."""
    raw: list[tuple[int, int, str]] = []
    position = 0
    for piece in text.splitlines(keepends=True):
        content = piece.rstrip("\r\n")
        stripped = content.strip()
        if stripped:
            lead = len(content) - len(content.lstrip())
            start = position + lead
            raw.append((start, start + len(stripped), stripped))
        else:
            raw.append((position, position, ""))
        position += len(piece)
    lines: list[Line] = []
    for index, (start, end, body) in enumerate(raw):
        if not body:
            continue
        before = index == 0 or not raw[index - 1][2] or raw[index - 1][2] == "\f"
        after = index == len(raw) - 1 or not raw[index + 1][2]
        lines.append(Line(start, end, body, before, after, classify(body, before, after)))
    # a "heading" that the next line continues in lowercase was a sentence cut in two
    for index, line in enumerate(lines[:-1]):
        continued = lines[index + 1].text[:1].islower()
        if line.kind == "heading" and not line.text.startswith("#") and continued:
            lines[index] = Line(line.start, line.end, line.text, line.blank_before,
                                line.blank_after, "paragraph")
    return lines


def classify(text: str, blank_before: bool, blank_after: bool) -> str:
    if is_navigation(text):
        return "navigation"
    if text.startswith("#"):
        return "heading"
    if "\t" in text:
        return "table"
    if re.match(r"^Figuur \d+\b", text):
        return "caption"
    numbered_title = re.match(r"^\d{1,2}\.\s+\S", text) and not re.search(r"[.,;:]$", text)
    if numbered_title and blank_before and blank_after and len(text) <= 60:
        return "heading"
    if (
        LIST_MARKER.match(text)
        and not re.match(r"^\d{1,2}\.\s+\S", text)
        or (re.match(r"^\d{1,2}\.\s+\S", text))
    ):
        return "list"
    if blank_before and blank_after and looks_like_heading(text):
        return "heading"
    return "paragraph"


def looks_like_heading(text: str) -> bool:
    if text.endswith("?"):
        questions = [part for part in text.split("? ") if part]
        return len(text) <= 120 and len(questions) <= 2 and ". " not in text
    return (
        len(text) <= 90
        and not re.search(r"[.,;:!]$", text)
        and ":" not in text
        and ". " not in text
        and len(text.split()) >= 1
        and not text.isdigit()
        and text[0].isupper()
    )


@dataclass(frozen=True)
class UnitSpan:
    """A sentence, list item or table row: text[start:end] of the original, verbatim."""

    start: int
    end: int
    kind: str
    text: str
    group: int | None = None
    intro: bool = False
    leaning: bool = False
    question: bool = False


def _visible(text: str, start: int, end: int) -> tuple[int, int]:
    """The span without its list marker, so a quote never starts with "- " or "1."."""
    raw = text[start:end]
    marker = LIST_MARKER.match(raw)
    offset = marker.end() if marker else 0
    return start + offset, end


def _unit(
    text: str, start: int, end: int, kind: str, group: int | None, min_words: int = MIN_UNIT_WORDS
) -> UnitSpan | None:
    start, end = _visible(text, start, end)
    shown = search_text(text[start:end])
    if len(shown.split()) < min_words or is_navigation(shown) or "](" in text[start:end]:
        return None
    first = shown.split()[0].lower().strip(",.;:")
    return UnitSpan(
        start,
        end,
        kind,
        shown,
        group,
        leaning=first in LEANING_OPENERS,
        question=shown.rstrip().endswith("?"),
    )


STEP = re.compile(r"^(\d{1,2})[.)]\s+\S")


def document_units(text: str) -> list[UnitSpan]:
    """Every answer unit of a document in reading order.

    A list (consecutive list lines, or table rows) is one group; the sentence ending in ":"
    right before it is its intro. Numbered headings 1., 2., 3. … form a step plan: the
    steps are the group's items and the paragraph before step 1 is its intro.
    """
    units: list[UnitSpan] = []
    group = 0
    previous_kind = ""
    paragraph: list[int] = []  # indexes of the units of the last paragraph line
    step, step_group = 0, 0
    open_end: Span | None = None  # a paragraph's last sentence when it stops mid-sentence
    for line in split_lines(text):
        numbered = STEP.match(line.text)
        if line.kind == "heading" and numbered:
            number = int(numbered.group(1))
            if number == 1 or number != step + 1:
                group += 1
                step_group = group
                _mark_intro(units, paragraph if number == 1 else [], group)
            step = number
            unit = _unit(text, line.start, line.end, "list-item", step_group, min_words=1)
            if unit:
                units.append(unit)
            previous_kind = "step"
            continue
        if line.kind in ("navigation", "heading"):
            step = 0 if line.kind == "heading" else step
            previous_kind = line.kind
            continue
        if line.kind in ("list", "table"):
            if previous_kind not in ("list", "table"):
                group += 1
                if units and units[-1].text.endswith(":") and units[-1].group is None:
                    _mark_intro(units, [len(units) - 1], group)
            kind = "table-row" if line.kind == "table" else "list-item"
            if line.end - line.start <= LIST_ITEM_MAX:
                spans = [Span(line.start, line.end)]
            else:
                spans = split_sentences(text, line.start, line.end)
            for span in spans:
                unit = _unit(text, span.start, span.end, kind, group, min_words=1)
                if unit:
                    units.append(unit)
            paragraph = []
        else:
            spans = split_sentences(text, line.start, line.end)
            if spans and previous_kind == "paragraph" and open_end and _continues(text, spans[0]):
                if units and units[-1].start == open_end.start:
                    units.pop()
                spans[0] = Span(open_end.start, spans[0].end)
            first = len(units)
            for span in spans:
                unit = _unit(text, span.start, span.end, "sentence", None)
                if unit:
                    units.append(unit)
            paragraph = list(range(first, len(units)))
            last = text[spans[-1].start:spans[-1].end].rstrip() if spans else ""
            open_end = spans[-1] if spans and not re.search(r"[.!?:;…\"”)]$", last) else None
            previous_kind = line.kind
            continue
        open_end = None
        previous_kind = line.kind
    return units


def _mark_intro(units: list[UnitSpan], indexes: list[int], group: int) -> None:
    for index in indexes:
        unit = units[index]
        if unit.group is None:
            units[index] = UnitSpan(unit.start, unit.end, unit.kind, unit.text, group, True,
                                    unit.leaning, unit.question)


def _continues(text: str, first: Span) -> bool:
    """A line that goes on in lowercase continues a sentence a lost line break cut in two."""
    return text[first.start : first.start + 1].islower()
