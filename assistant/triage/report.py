"""Whether a text is a report the desk can judge: long enough, readable, in Dutch.

Language is told by word frequencies (wordfreq): a report's words must mostly be Dutch words
or words of the documents; random characters and other languages fail that test.
"""

from __future__ import annotations

import re

from assistant.language.normalize import fold
from assistant.language.tokens import stem, word_zipf
from assistant.privacy import PLACEHOLDERS

MIN_WORDS = 5
MIN_LETTERS = 25
KNOWN_ZIPF = 2.0
MIN_DUTCH_SHARE = 0.6
LETTERS = re.compile(r"[a-zà-ÿ]{2,}")
USEFUL = (
    "Beschrijf in een paar Nederlandse zinnen wat er speelt, wie erbij betrokken zijn "
    "(bijvoorbeeld gemeente, corporatie, zorgaanbieder of bewoners) en wat er nodig is."
)


class NotAReport(ValueError):
    """A text the desk cannot judge; the message says what a useful report contains."""


def dutch_share(text: str, vocabulary: frozenset[str] = frozenset()) -> float:
    """Share of the words that are Dutch rather than English, or stems of the documents."""
    words = LETTERS.findall(fold(text))
    if not words:
        return 0.0
    dutch = sum(
        1 for w in words
        if (word_zipf(w) >= KNOWN_ZIPF and word_zipf(w) >= word_zipf(w, "en"))
        or (bool(vocabulary) and stem(w) in vocabulary)
    )
    return dutch / len(words)


def check_report(text: str, vocabulary: frozenset[str] = frozenset()) -> None:
    """Raise NotAReport for empty, too short, unreadable or non-Dutch text."""
    plain = text
    for placeholder in PLACEHOLDERS:
        plain = plain.replace(placeholder, " ")
    if not plain.strip():
        raise NotAReport(f"De melding is leeg. {USEFUL}")
    words = LETTERS.findall(fold(plain))
    if len(words) < MIN_WORDS or sum(len(w) for w in words) < MIN_LETTERS:
        raise NotAReport(f"De melding is te kort om te beoordelen. {USEFUL}")
    if dutch_share(plain, vocabulary) < MIN_DUTCH_SHARE:
        raise NotAReport(
            "De melding is niet te lezen als Nederlandse tekst (willekeurige tekens of een "
            f"andere taal). {USEFUL}"
        )
