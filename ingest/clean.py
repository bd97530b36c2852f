"""Clean extracted text for search while the original stays untouched for quoting.

Cleaning never changes offsets: it classifies lines of the original text (navigation,
heading, list item, table row, paragraph) and produces a separate search string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.text import is_navigation

LIST_MARKER = re.compile(r"^(?:[-•*>]|\d{1,2}[.)](?=\s)|[a-z][.)](?=\s))\s*(?:\d{1,2}\)\s*)?")
HYPHEN_BREAK = re.compile(r"(\w)- (?!(?:en|of|tot|als|noch|dan)\b)([a-zà-ÿ])")
MARKDOWN_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
BOLD = re.compile(r"\*\*|__")
WHITESPACE = re.compile(r"\s+")


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
    kept = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or is_navigation(line):
            continue
        line = LIST_MARKER.sub("", line) if LIST_MARKER.match(line) else line
        kept.append(line.replace("\t", " | "))
    joined = " ".join(kept)
    joined = MARKDOWN_LINK.sub(r"\1", joined)
    joined = BOLD.sub("", joined)
    joined = HYPHEN_BREAK.sub(r"\1\2", joined)
    return WHITESPACE.sub(" ", joined).strip()


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
    return lines


def classify(text: str, blank_before: bool, blank_after: bool) -> str:
    if is_navigation(text):
        return "navigation"
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
