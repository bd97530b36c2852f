"""Sentence-by-sentence verification of generated replies against the excerpts they cite.

A small model writes fluent Dutch that sometimes mixes up facts, so nothing it writes is shown
unchecked. Each sentence must cite at least one excerpt; every figure, capitalised name and
code-like token in it must occur in a cited excerpt; its negation must agree with the source
sentence it restates; and enough of its content words must occur in the cited excerpts (the
support score, whose threshold `scripts/calibrate_verifier.py` measures and stores in
`verifier_threshold.json`). Sentences that fail are dropped with their reasons.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from assistant.generation.types import (
    EvidencePassage,
    GeneratedSentence,
    Verification,
    VerificationSummary,
    VerifiedAnswer,
)
from assistant.language.normalize import display_text, fold
from assistant.language.numbers import NUMBER_WORDS
from assistant.language.sentences import split_sentences
from assistant.language.tokens import PLAIN, Analyzer, word_zipf
from assistant.privacy import PLACEHOLDERS

THRESHOLD_FILE = Path(__file__).with_name("verifier_threshold.json")
REFUSAL = "Dat staat niet in de documenten."

# [1], [1, 2], [1][2], [1-3]; a marker right after a sentence end belongs to that sentence.
MARKER = re.compile(r"\[\s*(\d{1,2}(?:\s*[,;–-]\s*\d{1,2})*)\s*\]")
MARKER_LEAD = re.compile(r"\s*\[\s*\d")
TRAILING_MARKERS = re.compile(
    r"([.!?…])((?:[ \t]*\[\s*\d{1,2}(?:\s*[,;–-]\s*\d{1,2})*\s*\])+)"
)
SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,;:!?…])")
SPACES = re.compile(r"\s+")

# Figures: Dutch thousands separators (4.000), decimal commas (1,5), scale words (1,5 miljoen).
# Scale words (honderd, duizend) come from the shared number words, so "4 duizend" is 4000.
SCALES = {w: float(v) for w, v in NUMBER_WORDS.items() if v >= 100}
NUMBER = re.compile(
    r"(?<![\w.,])(\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+(?:[.,]\d+)?)(?![\d])"
    rf"(?:\s?({'|'.join(SCALES)})\b)?"
)
# "een" is mostly the article, so only the unambiguous number words count as figures.
COUNTED_WORDS = {w: v for w, v in NUMBER_WORDS.items() if w != "een"}
NUMBER_WORD = re.compile(rf"\b({'|'.join(sorted(COUNTED_WORDS, key=len, reverse=True))})\b")
WORD = re.compile(r"[\wÀ-ÿ][\wÀ-ÿ'’-]*")
# Letters and digits in one token (CANARY-7731, AB12, x3f): identifiers a model must not invent.
CODE = re.compile(r"(?<![\w-])(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)*")
ORDINAL = re.compile(r"^\d+(?:e|de|ste)$", re.IGNORECASE)
NEGATIONS = frozenset({"niet", "geen", "nooit", "niets", "noch"})

MIN_CONTENT_WORDS = 2  # a statement names at least two things; "Antwoord: X-12" does not
FIRST_WORD_NAME_ZIPF = 3.5  # a rare capitalised first word is a name, a common one is not
MIN_PREFIX = 5  # inflection: a shared prefix of 5+ letters ...
MAX_INFLECTION = 3  # ... and at most 3 letters more (-en, -s, -'s, -e)
ALIGN_MIN_COVER = 0.5  # negation is compared only with a source sentence it clearly restates
ALIGN_SLACK = 0.2


class DocumentEmbedder(Protocol):
    def embed_documents(self, texts: list[str], show_progress: bool = False) -> np.ndarray: ...


@dataclass(frozen=True)
class Thresholds:
    """Support thresholds from the calibration run (lexical alone, or mixed with cosine)."""

    lexical: float
    combined: float | None = None
    cosine_weight: float = 0.5


@lru_cache(maxsize=4)
def load_thresholds(path: Path = THRESHOLD_FILE) -> Thresholds:
    """The calibrated thresholds; a missing file is an error, not a silent default."""
    data = json.loads(path.read_text(encoding="utf-8"))
    combined = data.get("combined")
    return Thresholds(
        lexical=float(data["lexical"]["threshold"]),
        combined=float(combined["threshold"]) if combined else None,
        cosine_weight=float(combined["cosine_weight"]) if combined else 0.5,
    )


def attach_markers(text: str) -> str:
    """Move markers written after the full stop before it ("zin. [1]" → "zin [1]."), so the
    sentence splitter keeps them with the sentence they belong to."""
    return TRAILING_MARKERS.sub(r"\2\1", text)


def _marker_numbers(group: str) -> list[int]:
    numbers: list[int] = []
    for part in re.split(r"\s*[,;]\s*", group.strip()):
        bounds = re.split(r"\s*[–-]\s*", part)
        if len(bounds) == 2 and all(b.isdigit() for b in bounds):
            low, high = int(bounds[0]), int(bounds[1])
            numbers.extend(range(low, high + 1) if 0 < high - low < 10 else (low, high))
        elif part.isdigit():
            numbers.append(int(part))
    return numbers


def parse_sentence(raw: str) -> GeneratedSentence:
    """Split a generated sentence into its body and the markers it cites."""
    cited: list[int] = []
    for match in MARKER.finditer(raw):
        cited.extend(n for n in _marker_numbers(match.group(1)) if n not in cited)
    body = display_text(MARKER.sub(" ", raw))
    body = SPACE_BEFORE_PUNCT.sub(r"\1", SPACES.sub(" ", body)).strip()
    return GeneratedSentence(raw=raw, body=body, cited=tuple(cited))


def is_refusal(body: str) -> bool:
    return fold(REFUSAL).rstrip(".") in fold(body)


def number_values(text: str) -> set[float]:
    """Every figure in a text as a value: "€ 4.000", "4000 euro" and "4.000" are all 4000."""
    folded = fold(MARKER.sub(" ", text))
    values: set[float] = set()
    for match in NUMBER.finditer(folded):
        raw, scale = match.group(1), match.group(2)
        if re.fullmatch(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?", raw):
            value = float(raw.replace(".", "").replace(",", "."))
        else:
            value = float(raw.replace(",", "."))
        values.add(round(value * SCALES[scale], 6) if scale else value)
        if scale:
            values.add(value)  # "1,5 miljoen" also supports a sentence that says "1,5"
    for match in NUMBER_WORD.finditer(folded):
        values.add(float(COUNTED_WORDS[match.group(1)]))
    return values


def _words(text: str) -> list[str]:
    return WORD.findall(MARKER.sub(" ", text))


def code_tokens(text: str) -> list[str]:
    """Identifier-like tokens: letters and digits mixed, ordinals such as "2e" excepted."""
    found = []
    for match in CODE.finditer(MARKER.sub(" ", text)):
        token = match.group(0)
        if not ORDINAL.match(token) and not token.isdigit():
            found.append(token)
    return found


def name_tokens(body: str) -> list[str]:
    """Capitalised words that name something: any capitalised word after the first, and the
    first word when it is rare in Dutch or shaped like an acronym."""
    names = []
    placeholders = {p.strip("[]") for p in PLACEHOLDERS}
    for index, word in enumerate(_words(body)):
        word = word.strip("'’-")
        if not word or not word[0].isupper() or word in placeholders:
            continue
        if any(c.isdigit() for c in word):
            continue
        if index == 0:
            plain = fold(word)
            shaped = word.isupper() and len(word) > 1 or any(c.isupper() for c in word[1:])
            if not shaped and word_zipf(plain) >= FIRST_WORD_NAME_ZIPF:
                continue
        names.append(word)
    return names


def inflected_match(word: str, vocabulary: set[str]) -> bool:
    """`word` occurs in the vocabulary as such or as another inflection of the same word."""
    if word in vocabulary:
        return True
    if len(word) < MIN_PREFIX:
        return False
    for other in vocabulary:
        if len(other) < MIN_PREFIX or abs(len(other) - len(word)) > MAX_INFLECTION:
            continue
        if other.startswith(word) or word.startswith(other):
            return True
    return False


def negated(words: Iterable[str]) -> bool:
    return any(w in NEGATIONS for w in words)


@dataclass
class _Source:
    """Facts of one excerpt, computed once per reply."""

    passage: EvidencePassage
    numbers: set[float]
    words: set[str]
    folded: str
    stems: set[str]
    sentences: list[tuple[set[str], bool]]


class Verifier:
    """Checks sentences against one reply's excerpts; build one per reply."""

    def __init__(
        self,
        passages: Sequence[EvidencePassage],
        analyzer: Analyzer | None = None,
        embedder: DocumentEmbedder | None = None,
        thresholds: Thresholds | None = None,
    ) -> None:
        self.analyzer = analyzer or PLAIN
        self.embedder = embedder
        self.thresholds = thresholds or load_thresholds()
        if embedder is not None and self.thresholds.combined is None:
            raise ValueError(
                "no calibrated threshold for embedding support: run "
                "scripts/calibrate_verifier.py --embedder <model>"
            )
        self.sources = {p.n: self._source(p) for p in passages}
        self._headings = [set(self.analyzer.tokens(f"{p.title} {p.section}")) for p in passages]
        self._vectors: dict[int, np.ndarray] = {}
        if embedder is not None and passages:
            matrix = embedder.embed_documents([p.text for p in passages])
            self._vectors = {p.n: _unit(matrix[i]) for i, p in enumerate(passages)}

    def _source(self, excerpt: EvidencePassage) -> _Source:
        full = f"{excerpt.title}\n{excerpt.section}\n{excerpt.text}"
        sentences = []
        for span in split_sentences(excerpt.text):
            sentence = excerpt.text[span.start : span.end]
            sentences.append(
                (set(self.analyzer.analyze(sentence)), negated(self.analyzer.words(sentence)))
            )
        return _Source(
            passage=excerpt,
            numbers=number_values(full),
            words={fold(w).strip("'’-") for w in _words(full)}
            | {fold(p) for w in _words(full) for p in w.split("-") if p},
            folded=fold(full),
            stems=set(self.analyzer.analyze(full)),
            sentences=sentences,
        )

    def echoes_heading(self, body: str) -> bool:
        """A line that only repeats a source's title and section ("Bron: [1] (Fase 4 –
        Uitvoering)"), with at most one word of its own: a label, not a claim."""
        words = set(self.analyzer.tokens(body))
        if number_values(body) - set().union(*(s.numbers for s in self.sources.values())):
            return False
        return any(len(words - heading) <= 1 for heading in self._headings)

    def support(self, body: str, cited: Sequence[int]) -> tuple[float, list[str]]:
        """Share of the sentence's content stems found in the cited excerpts (inflections
        allowed), mixed with the best cosine to a cited excerpt when an embedder is given."""
        stems = {s for s in self.analyzer.analyze(body) if not s.isdigit()}
        pool: set[str] = set().union(*(self.sources[n].stems for n in cited)) if cited else set()
        missing = sorted(s for s in stems if not inflected_match(s, pool))
        lexical = 1.0 - len(missing) / len(stems) if stems else 0.0
        if self.embedder is None or not cited:
            return lexical, missing
        vector = _unit(self.embedder.embed_documents([body])[0])
        cosine = max(float(vector @ self._vectors[n]) for n in cited)
        weight = self.thresholds.cosine_weight
        return (1 - weight) * lexical + weight * cosine, missing

    @property
    def threshold(self) -> float:
        if self.embedder is not None and self.thresholds.combined is not None:
            return self.thresholds.combined
        return self.thresholds.lexical

    def check(self, sentence: GeneratedSentence) -> Verification:
        reasons: list[str] = []
        bad_terms: list[str] = []
        cited = tuple(n for n in sentence.cited if n in self.sources)
        if len(cited) < len(sentence.cited):
            reasons.append("unknown-citation")
        if not cited:
            reasons.append("no-citation")
        sources = [self.sources[n] for n in cited]
        numbers = set().union(*(s.numbers for s in sources)) if sources else set()
        words = set().union(*(s.words for s in sources)) if sources else set()

        missing_numbers = sorted(number_values(sentence.body) - numbers)
        if missing_numbers:
            reasons.append("number-not-in-source")
            bad_terms += [f"{v:g}" for v in missing_numbers]
        missing_codes = [
            c for c in code_tokens(sentence.body) if not any(fold(c) in s.folded for s in sources)
        ]
        if missing_codes:
            reasons.append("code-not-in-source")
            bad_terms += missing_codes
        missing_names = [
            name
            for name in name_tokens(sentence.body)
            if not _name_in(name, words)
        ]
        if missing_names:
            reasons.append("name-not-in-source")
            bad_terms += missing_names

        code_parts = {
            part for code in code_tokens(sentence.body) for part in re.split(r"[-_]", fold(code))
        }
        content = [
            w
            for w in self.analyzer.tokens(sentence.body)
            if not w.isdigit() and not _is_code(w) and w not in code_parts
        ]
        if len(set(content)) < MIN_CONTENT_WORDS:
            reasons.append("too-short")
        score, missing_stems = self.support(sentence.body, cited)
        if sources and self._negation_differs(sentence.body, sources):
            reasons.append("negation-mismatch")
        if cited and score < self.threshold:
            reasons.append("low-support")
            bad_terms += missing_stems
        supported = not any(r != "unknown-citation" for r in reasons)
        return Verification(
            text=sentence.text,
            cited=cited,
            supported=supported,
            score=round(score, 4),
            reasons=tuple(reasons),
            unsupported_terms=tuple(dict.fromkeys(bad_terms)),
        )

    def _negation_differs(self, body: str, sources: list[_Source]) -> bool:
        """Compare polarity with the source sentences this sentence restates: those covering
        it best (within ALIGN_SLACK of the best, at least ALIGN_MIN_COVER). A fused sentence
        restates several; one of them has to agree."""
        stems = set(self.analyzer.analyze(body))
        if not stems:
            return False
        covers = [
            (sum(inflected_match(s, source_stems) for s in stems) / len(stems), source_negated)
            for source in sources
            for source_stems, source_negated in source.sentences
        ]
        best = max((cover for cover, _ in covers), default=0.0)
        if best < ALIGN_MIN_COVER:
            return False
        floor = max(ALIGN_MIN_COVER, best - ALIGN_SLACK)
        polarity = negated(self.analyzer.words(body))
        return all(flag != polarity for cover, flag in covers if cover >= floor)


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector


def _is_code(word: str) -> bool:
    return any(c.isdigit() for c in word) and any(c.isalpha() for c in word)


def _name_in(name: str, words: set[str]) -> bool:
    """A name occurs in the excerpts, as a whole or (hyphenated) by all of its parts."""
    folded = fold(name)
    if inflected_match(folded, words):
        return True
    parts = [p for p in folded.split("-") if len(p) >= 3]
    return bool(parts) and len(parts) > 1 and all(inflected_match(p, words) for p in parts)


class SentenceBuffer:
    """Collects streamed text and hands out sentences once the next one has begun."""

    def __init__(self) -> None:
        self._text = ""

    def feed(self, piece: str) -> list[str]:
        self._text = attach_markers(self._text + piece)
        spans = split_sentences(self._text)
        cut = len(spans) - 1
        # A unit that starts with a marker may still belong to the sentence before it.
        while cut > 0 and MARKER_LEAD.match(self._text, spans[cut].start):
            cut -= 1
        if cut <= 0:
            return []
        done = [self._text[s.start : s.end] for s in spans[:cut]]
        self._text = self._text[spans[cut].start :]
        return done

    def flush(self) -> list[str]:
        text, self._text = attach_markers(self._text), ""
        return [text[s.start : s.end] for s in split_sentences(text)]


def is_fragment(sentence: GeneratedSentence) -> bool:
    """Headings and labels ("Antwoord:") that carry no claim and need no verdict."""
    words = sentence.body.split()
    return not sentence.cited and (len(words) < 3 or sentence.body.endswith(":"))


def verify_answer(
    text: str,
    passages: Sequence[EvidencePassage],
    analyzer: Analyzer | None = None,
    embedder: DocumentEmbedder | None = None,
    thresholds: Thresholds | None = None,
) -> VerifiedAnswer:
    """Verify a complete generated reply; the kept sentences form the text shown."""
    verifier = Verifier(passages, analyzer, embedder, thresholds)
    buffer = SentenceBuffer()
    raws = buffer.feed(text) + buffer.flush()
    verdicts: list[Verification] = []
    refused = False
    for raw in raws:
        sentence = parse_sentence(raw)
        if not sentence.body or is_fragment(sentence) or verifier.echoes_heading(sentence.body):
            continue
        if is_refusal(sentence.body):
            refused = True
            continue
        verdicts.append(verifier.check(sentence))
    return assemble(verdicts, refused)


def assemble(verdicts: list[Verification], refused: bool) -> VerifiedAnswer:
    kept = " ".join(v.text for v in verdicts if v.supported)
    return VerifiedAnswer(kept, verdicts, VerificationSummary.of(verdicts, refused))


def fallback_reason(answer: VerifiedAnswer) -> str | None:
    """Why the generated reply should give way to the extractive one, or None to show it.

    Rule: fall back when no sentence survived (including a model that only said
    "Dat staat niet in de documenten."), or when fewer sentences were kept than dropped: a
    mostly unbacked reply is unreliable even in the sentences that happened to pass, and
    what remains of it rarely reads as a reply.
    """
    summary = answer.summary
    if summary.kept == 0:
        return "refused" if summary.refused else "nothing-verified"
    if summary.kept < summary.dropped:
        return "mostly-unsupported"
    return None


def too_little(answer: VerifiedAnswer) -> bool:
    """True when the caller should reply extractively instead (see `fallback_reason`)."""
    return fallback_reason(answer) is not None
