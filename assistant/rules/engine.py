"""The one rule engine of instruments and triage: terms, negation and numbers before nouns.

A term is a word or phrase from a data file (instruments.yaml, triage_taxonomy.yaml): words
compare by Snowball stem, a word with `*` compares as a glob on the folded word, and within a
phrase up to two other words may stand between its words ("..." widens that to six). A term
directly after a negator ("geen koopwoning") does not count.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from assistant.language.normalize import fold
from assistant.language.numbers import NUMBER_WORDS, to_number
from assistant.language.tokens import WORD, stem, stem_words

SHORT_GAP = 2
LONG_GAP = 6
NEGATION_WINDOW = 2
NUMBER_WINDOW = 3
NEGATORS = frozenset({"geen", "niet", "nooit", "zonder"})


@dataclass(frozen=True)
class Text:
    """A text as folded words (numbers kept whole: '4.000', '55+') and their stems."""

    words: tuple[str, ...]
    stems: tuple[str, ...]

    @classmethod
    def of(cls, raw: str) -> Text:
        words = tuple(_words(raw))
        return cls(words, tuple(stem_words(list(words))))


def _words(raw: str) -> list[str]:
    out: list[str] = []
    for piece in fold(raw).split():
        piece = piece.strip(".,;:!?()[]\"'“”‘’")
        if piece and piece[0].isdigit():
            out.append(piece)
        else:
            out.extend(WORD.findall(piece))
    return out


@dataclass(frozen=True)
class _Part:
    pattern: str
    glob: bool
    gap: int


@dataclass(frozen=True)
class Term:
    text: str
    parts: tuple[_Part, ...]

    @classmethod
    def parse(cls, term: str) -> Term:
        parts: list[_Part] = []
        gap = SHORT_GAP
        for chunk in fold(term).split():
            if chunk == "...":
                gap = LONG_GAP
                continue
            if "*" in chunk:
                parts.append(_Part(chunk, True, gap))
            else:
                parts.extend(_Part(stem(w), False, gap) for w in WORD.findall(chunk))
            gap = SHORT_GAP
        if not parts:
            raise ValueError(f"term {term!r} bevat geen woorden")
        return cls(term, tuple(parts))

    def _at(self, part: _Part, text: Text, i: int) -> bool:
        if part.glob:
            return fnmatchcase(text.words[i], part.pattern)
        return text.stems[i] == part.pattern

    def _rest(self, text: Text, index: int, previous: int) -> bool:
        if index == len(self.parts):
            return True
        part = self.parts[index]
        last = min(len(text.words), previous + part.gap + 2)
        return any(self._at(part, text, i) and self._rest(text, index + 1, i)
                   for i in range(previous + 1, last))

    def starts(self, text: Text) -> list[int]:
        """Token positions where a match of this term begins."""
        first = self.parts[0]
        return [i for i in range(len(text.words))
                if self._at(first, text, i) and self._rest(text, 1, i)]


def terms(values: Iterable[str]) -> tuple[Term, ...]:
    return tuple(Term.parse(v) for v in values)


def negated(text: Text, position: int) -> bool:
    before = text.words[max(0, position - NEGATION_WINDOW):position]
    return any(word in NEGATORS for word in before)


def matches(found: Sequence[Term], text: Text) -> list[tuple[Term, int]]:
    """Every non-negated match of the terms: (term, start position)."""
    return [(term, p) for term in found for p in term.starts(text) if not negated(text, p)]


def quote_of(text: Text, position: int, width: int = 6) -> str:
    """The words around a match, to show a reader what was recognised."""
    return " ".join(text.words[max(0, position - width // 2): position + width])


def number_before(text: Text, nouns: Sequence[Term]) -> float | None:
    """The largest number standing just before one of the nouns ("12 appartementen")."""
    found: list[float] = []
    for noun in nouns:
        for position in noun.starts(text):
            for i in range(position - 1, max(-1, position - 1 - NUMBER_WINDOW), -1):
                word = text.words[i].rstrip("+")
                if word in NUMBER_WORDS or (word[:1].isdigit() and _numeric(word)):
                    found.append(to_number(word))
                    break
    return max(found) if found else None


def _numeric(word: str) -> bool:
    try:
        to_number(word)
    except ValueError:
        return False
    return True


class Lexicon:
    """Named groups of terms from a data file, matched on one analysed text."""

    def __init__(self, groups: Mapping[str, Iterable[str]]) -> None:
        self.groups = {name: terms(values) for name, values in groups.items()}

    def found(self, text: Text) -> dict[str, list[tuple[Term, int]]]:
        out = {}
        for name, group in self.groups.items():
            hits = matches(group, text)
            if hits:
                out[name] = hits
        return out
