"""Whether a text is a report the desk can judge: long enough, readable, in Dutch.

Language is told by word frequencies (wordfreq): most of a report's words must be words Dutch
uses (or words of the documents), which random characters and most other languages fail; and
summed over all its words, Dutch must write them more often than English, German or French
does. The sum, a naive Bayes test, lets the Dutch around a few English loanwords ("het
housing first team", "de case managers") outweigh them, where a word-by-word majority did
not.
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
# languages whose words a Dutch report shares most (English loanwords, German and French cognates)
RIVALS = ("en", "de", "fr")
LETTERS = re.compile(r"[a-zà-ÿ]{2,}")
USEFUL = (
    "Beschrijf in een paar Nederlandse zinnen wat er speelt, wie erbij betrokken zijn "
    "(bijvoorbeeld gemeente, corporatie, zorgaanbieder of bewoners) en wat er nodig is."
)


class NotAReport(ValueError):
    """A text the desk cannot judge; the message says what a useful report contains."""


def dutch_share(words: list[str], vocabulary: frozenset[str] = frozenset()) -> float:
    """Share of the words that Dutch uses, or stems of the documents."""
    if not words:
        return 0.0
    dutch = sum(1 for w in words
                if word_zipf(w) >= KNOWN_ZIPF or (bool(vocabulary) and stem(w) in vocabulary))
    return dutch / len(words)


def dutch_lead(words: list[str]) -> float:
    """How much more often Dutch writes these words than the closest rival language does,
    summed in Zipf units (the log10 of a frequency ratio)."""
    dutch = sum(word_zipf(w) for w in words)
    return dutch - max(sum(word_zipf(w, language) for w in words) for language in RIVALS)


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
    if dutch_share(words, vocabulary) < MIN_DUTCH_SHARE or dutch_lead(words) <= 0:
        raise NotAReport(
            "De melding is niet te lezen als Nederlandse tekst (willekeurige tekens of een "
            f"andere taal). {USEFUL}"
        )
