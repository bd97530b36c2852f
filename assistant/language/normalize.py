"""Normalisation that never changes what is quoted: folding for matching, markup for display."""

from __future__ import annotations

import re
import unicodedata

MARKDOWN_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
EMPHASIS = re.compile(r"\*\*|__")
HEADING_MARK = re.compile(r"^#{1,6}\s+")
LIST_MARKER = re.compile(
    r"^(?:[-•>]|\*(?!\*)|\d{1,2}[.)](?=\s)|[a-z][.)](?=\s))\s*(?:\d{1,2}\)\s*)?"
)
HYPHEN_BREAK = re.compile(r"(\w)- (?!(?:en|of|tot|als|noch|dan)\b)([a-zà-ÿ])")
WHITESPACE = re.compile(r"\s+")


def fold(text: str) -> str:
    """Lowercase without accents, so 'financiële' and 'financiele' match."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def display_text(text: str) -> str:
    """What a reader sees of a span: no list marker, heading mark, emphasis or link syntax."""
    text = LIST_MARKER.sub("", text.strip(), count=1)
    text = HEADING_MARK.sub("", text)
    text = MARKDOWN_LINK.sub(r"\1", text)
    return WHITESPACE.sub(" ", EMPHASIS.sub("", text)).strip()


def search_text(text: str) -> str:
    """One line of a span as a reader means it, joined over page-break hyphenation."""
    return HYPHEN_BREAK.sub(r"\1\2", display_text(text.replace("\t", " | ")))
