"""The one Dutch tokenizer: folded words, one stopword list, Snowball stems, split compounds.

Compounds are split with a general Dutch word-frequency list (wordfreq), so words of
documents added later split as well as the corpus's own; abbreviations expand as the
documents of the index define them (see `assistant.language.abbreviations`).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from functools import lru_cache

import bm25s
import Stemmer

from assistant.language.normalize import fold

WORD = re.compile(r"[a-z0-9]+")
# Closed-class words (articles, pronouns, prepositions, auxiliaries, interrogatives): bm25s's
# Dutch list plus the question words and modal verbs it lacks.
STOPWORDS = frozenset(bm25s.stopwords.STOPWORDS_DUTCH) | frozenset(
    [
        "we",
        "wij",
        "onze",
        "jullie",
        "jij",
        "welke",
        "welk",
        "waarom",
        "wanneer",
        "waar",
        "hoeveel",
        "hoelang",
        "moeten",
        "willen",
        "zouden",
        "gaat",
        "gaan",
        "doet",
        "kunt",
        "mag",
        "mogen",
    ]
)
# English function words, for the few places that must not count them as content (an English
# follow-up is as short as a Dutch one).
ENGLISH_STOPWORDS = frozenset(bm25s.stopwords.STOPWORDS_EN)
MIN_PART = 4
MIN_PART_ZIPF = 3.0
MAX_COMPOUND = 40
LINKS = ("s", "e", "en")
_local = threading.local()


def stem_words(words: list[str]) -> list[str]:
    """Snowball Dutch stems, one stemmer per thread (PyStemmer objects are not thread-safe)."""
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = Stemmer.Stemmer("dutch")
    return list(stemmer.stemWords(words))


def stem(word: str) -> str:
    return stem_words([word])[0]


@lru_cache(maxsize=4)  # Dutch, and the rivals a report's language is weighed against
def _frequencies(language: str) -> dict[str, float]:
    import wordfreq

    return {
        w: wordfreq.zipf_frequency(w, language)
        for w in wordfreq.top_n_list(language, 200_000)
    }


def word_zipf(word: str, language: str = "nl") -> float:
    """How common a word is in general Dutch (or `language`; Zipf scale: 3 = once per million
    words)."""
    return _frequencies(language).get(word, 0.0)


def _is_part(word: str) -> bool:
    return len(word) >= MIN_PART and word not in STOPWORDS and word_zipf(word) >= MIN_PART_ZIPF


@lru_cache(maxsize=65536)
def split_compound(word: str) -> tuple[str, ...]:
    """Parts of a Dutch compound ("woonzorgvisie" → woon, zorg, visie); () when it is none.

    Every part must be a common Dutch word of at least four letters, optionally followed by a
    linking s/e/en; among the splits the one with the fewest parts wins, then the one with
    the more common parts.
    """
    if len(word) < 2 * MIN_PART or len(word) > MAX_COMPOUND or not word.isalpha():
        return ()
    best: dict[int, tuple[str, ...]] = {0: ()}
    for end in range(MIN_PART, len(word) + 1):
        options = []
        for start, parts in best.items():
            if end - start < MIN_PART or (start == 0 and end == len(word)):
                continue
            piece = word[start:end]
            if _is_part(piece):
                options.append((*parts, piece))
            for link in LINKS:
                head = piece[: -len(link)]
                if piece.endswith(link) and len(head) >= MIN_PART and _is_part(head):
                    options.append((*parts, head))
        if options:
            best[end] = min(options, key=lambda p: (len(p), -sum(map(word_zipf, p))))
    parts = best.get(len(word), ())
    return parts if len(parts) >= 2 else ()


class Analyzer:
    """Tokens and stems for one index: its documents' abbreviations expand in queries too."""

    def __init__(self, abbreviations: Mapping[str, str] | None = None) -> None:
        self.abbreviations = {fold(k): fold(v) for k, v in (abbreviations or {}).items()}

    def words(self, text: str) -> list[str]:
        """Folded words in order, stopwords included (for patterns that need them)."""
        return WORD.findall(fold(text).replace(".", ""))

    def tokens(self, text: str) -> list[str]:
        """Content words with abbreviations expanded and compound parts added (unstemmed)."""
        out: list[str] = []
        for word in self.words(text):
            expansion = self.abbreviations.get(word)
            if expansion:
                out.append(word)
                out.extend(w for w in WORD.findall(expansion) if w not in STOPWORDS)
                continue
            if word in STOPWORDS:
                continue
            out.append(word)
            out.extend(split_compound(word))
        return out

    def analyze(self, text: str) -> list[str]:
        """Stemmed search terms: what BM25, coverage and rules compare."""
        return stem_words(self.tokens(text))


PLAIN = Analyzer()
