"""Abbreviations as the documents define them: "Ondersteuningsteam Wonen en Zorg (OWZ)".

Read from every document at ingest, so a page added later brings its own abbreviations;
a definition counts only when the initials of the words before the parentheses spell it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from assistant.language.normalize import fold
from assistant.language.tokens import STOPWORDS

DEFINED = re.compile(r"\(([A-Z][A-Za-z]{1,7})\)")
WORDS_BEFORE = re.compile(r"[\wÀ-ÿ'-]+")
MAX_WORDS = 10


def _expansion(words: list[str], abbreviation: str) -> str | None:
    """The shortest run of trailing words whose initials spell it: skipping function words
    (BWMO: beschermd wonen en de maatschappelijke opvang), or all words with at most one
    left over at the end (RVO: Rijksdienst voor Ondernemend Nederland)."""
    letters = fold(abbreviation)
    for size in range(1, min(MAX_WORDS, len(words)) + 1):
        run = [fold(w) for w in words[-size:]]
        if run[0] in STOPWORDS:
            continue
        content = "".join(w[0] for w in run if w not in STOPWORDS)
        every = "".join(w[0] for w in run)
        if content == letters or (len(run) <= len(letters) + 1 and every.startswith(letters)):
            return " ".join(run)
        if len(content) > len(letters):
            return None
    return None


def find_abbreviations(texts: Iterable[str]) -> dict[str, str]:
    """Abbreviation (folded) to its expansion, from "expansion (ABBR)" in the texts."""
    found: dict[str, str] = {}
    for text in texts:
        for match in DEFINED.finditer(text):
            line_start = text.rfind("\n", 0, match.start()) + 1
            words = WORDS_BEFORE.findall(text[line_start : match.start()])
            expansion = _expansion(words, match.group(1))
            if expansion:
                found.setdefault(fold(match.group(1)), expansion)
    return found
