"""Typing errors, read as the words of the live index.

Practitioners type fast ("woonzorgvisei", "gemeetnen", "financiring"). A misspelled word is
unknown to the index: BM25 misses it, it counts as uncovered, and it looks like a name the
index never mentions, which pushes the decision to a refusal. A word is replaced only when it
is no form of a word the index uses, no common Dutch word and no common word of the other
accepted language ("en"), is not a name (capitalised inside a sentence), and lies within one
edit (two for long words) of a word the index holds; the most frequent such word wins. The
vocabulary is that of the index, so pages added later correct their own terms.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from rapidfuzz import process
from rapidfuzz.distance import OSA

from assistant.language.normalize import fold
from assistant.language.tokens import STOPWORDS, stem, word_zipf

LETTERS = re.compile(r"[^\W\d_]+")
MIN_LENGTH = 5  # shorter words have too many neighbours one edit away
LONG_WORD = 9  # from this length two edits are still one word
KNOWN_ZIPF = 2.0  # a word this common in Dutch is meant as written
SENTENCE_END = re.compile(r"[.!?:]\s*$")


class Speller:
    """Corrections to one vocabulary (the folded words of the index's texts)."""

    def __init__(self, texts: Iterable[str]) -> None:
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(w.group().lower() for w in LETTERS.finditer(fold(text)))
        self.counts = counts
        self.stems = {stem(w) for w in counts}
        for language in ("nl", "en"):  # the frequency lists load with the vocabulary, once
            word_zipf("", language)
        self._by_length: dict[int, list[str]] = {}
        for word in counts:
            if len(word) >= MIN_LENGTH - 1:
                self._by_length.setdefault(len(word), []).append(word)

    def known(self, word: str, written: str) -> bool:
        """A word meant as written: the index has it or another form of it (a plural beside
        its singular), or it is common in Dutch or in the other accepted language."""
        return (word in self.counts or word in STOPWORDS or stem(word) in self.stems
                or max(word_zipf(written), word_zipf(word), word_zipf(written, "en"))
                >= KNOWN_ZIPF)

    def suggestion(self, word: str, written: str) -> str | None:
        """The vocabulary word meant by `word` (folded; `written`: as typed, lowercase), None
        when it stands as written."""
        if len(word) < MIN_LENGTH or self.known(word, written):
            return None
        edits = 2 if len(word) >= LONG_WORD else 1
        pool = [w for n in range(len(word) - edits, len(word) + edits + 1)
                for w in self._by_length.get(n, ())]
        found = process.extract(word, pool, scorer=OSA.distance, score_cutoff=edits,
                                limit=None)
        if not found:
            return None
        best = min(distance for _, distance, _ in found)
        return max((w for w, distance, _ in found if distance == best),
                   key=lambda w: (self.counts[w], w))

    def correct(self, text: str) -> str:
        """`text` with its typing errors replaced; names and known words stay as typed."""
        out, last, end, started = [], 0, 0, False
        for match in LETTERS.finditer(text):
            word, gap = match.group(), text[end:match.start()]
            # only the characters since the previous word can end a sentence
            started = started or bool(gap.strip())
            inside_sentence = started and not SENTENCE_END.search(gap)
            started, end = True, match.end()
            if word[0].isupper() and inside_sentence:
                continue  # a name: unknown names are a reason to refuse, not a typo
            suggestion = self.suggestion(fold(word), word.lower())
            if suggestion is None:
                continue
            out.append(text[last:match.start()])
            out.append(suggestion.capitalize() if word[0].isupper() else suggestion)
            last = match.end()
        out.append(text[last:])
        return "".join(out)
