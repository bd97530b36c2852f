"""Pure metric functions: every number in the evaluation report is computed here.

Text matching is deliberately forgiving about typography (case, whitespace, curly
quotes, dashes, markdown bold) and strict about wording, so a citation is credited for
holding the gold text, not for being formatted the same way.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

import phonenumbers

COVER_MIN_WORDS = 0.8
SUPPORT_MIN_WORDS = 0.6

_TYPOGRAPHY = str.maketrans(
    {
        "‘": "'", "’": "'", "‚": "'", "‛": "'", "`": "'", "´": "'",
        "“": "'", "”": "'", "„": "'", "‟": "'", "«": "'", "»": "'", '"': "'",
        "–": "-", "—": "-", "‐": "-", "‑": "-", "‒": "-", "−": "-",
        "\u00ad": None, "*": None,
    }
)
_WHITESPACE = re.compile(r"\s+")
_WORD = re.compile(r"\w+")
MARKER = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?…])\s+|\n+")
_MARKERS_AFTER_STOP = re.compile(rf"([.!?…])[ \t]*((?:{MARKER.pattern}[ \t]*)+)")
_LIST_BULLET = re.compile(r"^\s*(?:[-•*>]|\d{1,2}[.)])\s+")

STOPWORDS = frozenset((
    "aan", "al", "alle", "als", "andere", "bij", "dan", "dat", "de", "deze", "die", "dit",
    "door", "dus", "een", "eens", "en", "er", "haar", "heb", "hebben", "heeft", "het", "hier",
    "hij", "hoe", "hun", "ik", "in", "is", "je", "kan", "kunnen", "maar", "me", "meer", "met",
    "mij", "moet", "moeten", "na", "naar", "niet", "nog", "nu", "of", "om", "ook", "op",
    "over", "te", "tegen", "toch", "tot", "u", "uit", "van", "veel", "voor", "waar", "wat",
    "we", "welke", "wel", "werd", "wie", "wij", "wil", "worden", "wordt", "zal", "ze", "zie",
    "zij", "zijn", "zich", "zo", "zoals", "zonder", "zou", "zouden",
))


def normalise(text: str) -> str:
    """Casefold, unify quotes and dashes, drop markdown bold, collapse whitespace."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_TYPOGRAPHY)
    return _WHITESPACE.sub(" ", text).strip()


def words(text: str) -> list[str]:
    return _WORD.findall(normalise(text))


def content_words(text: str) -> list[str]:
    """Words that carry meaning: no stopwords, no single letters (numbers always count)."""
    return [w for w in words(text) if w.isdigit() or (len(w) > 1 and w not in STOPWORDS)]


def covers(passage: str, gold_quote: str, min_overlap: float = COVER_MIN_WORDS) -> bool:
    """A passage covers a gold quote when it contains it (normalised) or most of its words."""
    needle = normalise(gold_quote)
    if not needle:
        return False
    haystack = normalise(passage)
    if needle in haystack:
        return True
    gold_words = _WORD.findall(needle)
    present = set(_WORD.findall(haystack))
    return bool(gold_words) and sum(w in present for w in gold_words) / len(gold_words) >= (
        min_overlap
    )


def _require_gold(gold_quotes: Sequence[str]) -> None:
    if not gold_quotes:
        raise ValueError("retrieval metrics need at least one gold quote")


def first_relevant_rank(passages: Sequence[str], gold_quotes: Sequence[str]) -> int | None:
    """1-based rank of the first passage covering any gold quote, None when none does."""
    _require_gold(gold_quotes)
    for rank, passage in enumerate(passages, start=1):
        if any(covers(passage, quote) for quote in gold_quotes):
            return rank
    return None


def hit_at_k(passages: Sequence[str], gold_quotes: Sequence[str], k: int) -> float:
    rank = first_relevant_rank(passages, gold_quotes)
    return 1.0 if rank is not None and rank <= k else 0.0


def reciprocal_rank(passages: Sequence[str], gold_quotes: Sequence[str]) -> float:
    rank = first_relevant_rank(passages, gold_quotes)
    return 0.0 if rank is None else 1.0 / rank


def ndcg_at_k(passages: Sequence[str], gold_quotes: Sequence[str], k: int = 10) -> float:
    """nDCG with each gold quote as one relevant item, found at the rank of the first
    passage covering it. Ideal: the quotes at ranks 1..G. Capped at 1 because one long
    passage may cover several quotes at a single rank."""
    _require_gold(gold_quotes)
    dcg = 0.0
    for quote in gold_quotes:
        for rank, passage in enumerate(passages[:k], start=1):
            if covers(passage, quote):
                dcg += 1.0 / math.log2(rank + 1)
                break
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(gold_quotes), k) + 1))
    return min(1.0, dcg / ideal)


def citation_recall(passages: Sequence[str], gold_quotes: Sequence[str]) -> float:
    """Fraction of gold quotes covered by at least one citation."""
    _require_gold(gold_quotes)
    covered = sum(any(covers(p, quote) for p in passages) for quote in gold_quotes)
    return covered / len(gold_quotes)


def is_verbatim(quote: str, start: int, end: int, document_text: str | None) -> bool:
    """The citation's quote is exactly the document text between its offsets."""
    if document_text is None or not 0 <= start <= end <= len(document_text):
        return False
    return document_text[start:end] == quote


def cited_sentences(answer: str) -> list[tuple[str, set[int]]]:
    """Answer sentences that carry markers [n] (also [1, 2]), with the marker numbers.

    A marker placed after the full stop ("… zin. [1]") stays with its sentence."""
    answer = _MARKERS_AFTER_STOP.sub(lambda m: f" {m.group(2).strip()}{m.group(1)} ", answer)
    result: list[tuple[str, set[int]]] = []
    for raw in _SENTENCE_BREAK.split(answer):
        numbers = {int(n) for group in MARKER.findall(raw) for n in re.split(r"[,;]", group)}
        if numbers:
            text = _WHITESPACE.sub(" ", _LIST_BULLET.sub("", MARKER.sub(" ", raw)))
            result.append((re.sub(r" (?=[.!?…,;:])", "", text).strip(), numbers))
    return result


def supports(quote: str, sentence: str, min_overlap: float = SUPPORT_MIN_WORDS) -> bool:
    """A quote supports a sentence that it contains (normalised, end punctuation ignored)
    or when at least `min_overlap` of the sentence's content words occur in it."""
    claim = normalise(sentence).strip(" .!?;:,")
    source = normalise(quote)
    if claim and claim in source:
        return True
    claim_words = content_words(sentence)
    present = set(_WORD.findall(source))
    return bool(claim_words) and sum(w in present for w in claim_words) / len(claim_words) >= (
        min_overlap
    )


@dataclass(frozen=True)
class Ratio:
    """A count of successes out of a total, kept apart so groups can be pooled (micro)."""

    hits: int
    total: int

    @property
    def value(self) -> float | None:
        return self.hits / self.total if self.total else None

    def __add__(self, other: Ratio) -> Ratio:
        return Ratio(self.hits + other.hits, self.total + other.total)


def citation_precision(answer: str, quotes_by_n: Mapping[int, str]) -> Ratio:
    """Supported cited sentences out of cited sentences with at least one content word.

    A sentence is supported when the quotes it points to, taken together, support it (a
    sentence may combine two sources); markers that point to no citation add nothing."""
    supported = total = 0
    for sentence, numbers in cited_sentences(answer):
        if not content_words(sentence):
            continue
        total += 1
        cited = [quotes_by_n[n] for n in sorted(numbers) if n in quotes_by_n]
        if cited and supports("\n".join(cited), sentence):
            supported += 1
    return Ratio(supported, total)


def key_fact_recall(answer: str, key_facts: Sequence[str]) -> float:
    """Fraction of key facts that occur in the answer (normalised substring)."""
    if not key_facts:
        raise ValueError("key_fact_recall needs at least one key fact")
    text = normalise(answer)
    return sum(normalise(fact) in text for fact in key_facts) / len(key_facts)


def refused(answerable: bool | None) -> bool:
    """The assistant declined to answer; a failed request (None) is not a refusal."""
    return answerable is False


@dataclass(frozen=True)
class SetCounts:
    """True/false positives and false negatives of predicted ids against expected ids."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def __add__(self, other: SetCounts) -> SetCounts:
        return SetCounts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None:
            return None
        return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def set_counts(predicted: Iterable[str], expected: Iterable[str]) -> SetCounts:
    pred, gold = set(predicted), set(expected)
    return SetCounts(len(pred & gold), len(pred - gold), len(gold - pred))


def support_recall(support_ids: Collection[str], expected: Iterable[str]) -> Ratio:
    gold = set(expected)
    return Ratio(len(gold & set(support_ids)), len(gold))


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# --- personal data -------------------------------------------------------------------

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<![\w+])(?:\+31|0031|0)[\s-]?(?:\d[\s-]?){8}\d(?!\d)")
_BSN = re.compile(r"(?<![\d.])(?:\d{9}|\d{4}\.\d{2}\.\d{3}|\d{3}\.\d{3}\.\d{3})(?![\d])")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?\b")
_POSTCODE = re.compile(r"\b[1-9]\d{3} ?[A-Z]{2}\b")
_STREET = re.compile(
    r"\b[A-Z][a-zà-ÿ]+(?:straat|laan|weg|plein|gracht|kade|singel|dijk|hof|dreef|steeg|pad)"
    r" \d{1,4}[a-zA-Z]?\b"
)
_SURNAME = r"(?:(?:van|de|der|den|ter|ten|van der|van den|van de) )?[A-Z][a-zà-ÿ'-]+"
_INITIALS = r"(?:[A-Z]\. ?)*"
_NAME = rf"(?:[A-Z][a-zà-ÿ]+ )?{_INITIALS}{_SURNAME}"
_HONORIFIC_NAME = re.compile(
    rf"(?i:\b(?:mevrouw|meneer|mevr\.|mw\.|dhr\.|de heer|mr\.|dr\.|drs\.|ir\.|ing\.))\s+"
    rf"({_INITIALS}{_SURNAME}(?: [A-Z][a-zà-ÿ'-]+)?)"
)
_SENDER_NAME = re.compile(
    rf"(?:(?i:\b(?:van|door|afzender|namens|contactpersoon)):|(?i:\bgroet(?:en)?),)\s*"
    rf"([A-Z][a-zà-ÿ]+ {_SURNAME})"
)
# a name followed by an age: "Samira El Idrissi (29)", "Kees Bakker (79 jaar)"
_AGED_NAME = re.compile(
    rf"\b([A-Z][a-zà-ÿ]+ {_INITIALS}{_SURNAME}(?: [A-Z][a-zà-ÿ'-]+)?) ?\(\d{{2,3}}(?: jaar)?\)")
_NAME_BEFORE_CONTACT = re.compile(rf"({_NAME})[\s,(]*(?:tel\.?:?|e-?mail:?)?\s*$")


@dataclass(frozen=True)
class PersonalData:
    kind: str
    value: str


def _compact(text: str) -> str:
    return re.sub(r"[\s.()-]", "", text).casefold()


def extract_personal_data(report: str, guidance_words: Collection[str] = frozenset()
                          ) -> set[PersonalData]:
    """E-mail addresses, phone numbers, BSN-like numbers, IBANs, postcodes, street
    addresses and names (after an honorific, as sender, before an age or just before contact
    details).
    A capitalised run made only of `guidance_words` (lowercase words of the shipped
    guidance) is a job title or department, such as "Beleidsadviseur Maatschappelijke
    Zorg" above an e-mail address, not a person's name."""
    found = {PersonalData("iban", m.group(0)) for m in _IBAN.finditer(report)}
    ibans = [m.span() for m in _IBAN.finditer(report)]
    contact_starts: list[int] = []
    for kind, pattern in (("email", _EMAIL), ("phone", _PHONE), ("bsn", _BSN),
                          ("postcode", _POSTCODE), ("address", _STREET)):
        for match in pattern.finditer(report):
            if any(start <= match.start() < end for start, end in ibans):
                continue  # digits inside an account number
            found.add(PersonalData(kind, match.group(0)))
            if kind in ("email", "phone"):
                contact_starts.append(match.start())
    for number in phonenumbers.PhoneNumberMatcher(report, "NL"):
        found.add(PersonalData("phone", number.raw_string))
        contact_starts.append(number.start)
    for pattern in (_HONORIFIC_NAME, _SENDER_NAME, _AGED_NAME):
        found.update(PersonalData("name", m.group(1)) for m in pattern.finditer(report))
    for start in contact_starts:
        before = _NAME_BEFORE_CONTACT.search(report[max(0, start - 60):start])
        if before and " " in before.group(1).strip():
            found.add(PersonalData("name", before.group(1).strip()))
    return {item for item in found
            if item.kind != "name" or not _only_guidance_words(item.value, guidance_words)}


def _only_guidance_words(value: str, guidance_words: Collection[str]) -> bool:
    words = _WORD.findall(value.lower())
    return bool(words) and all(word in guidance_words for word in words)


def _name_forms(name: str) -> set[str]:
    """The full name and the surname alone (a surname is enough to identify someone)."""
    forms = {name}
    surname = re.sub(rf"^(?:[A-Z][a-zà-ÿ]+ (?=[A-Z]))?{_INITIALS}", "", name).strip()
    if len(surname) >= 3:
        forms.add(surname)
    return forms


def leaked(output: str, personal_data: Iterable[PersonalData]) -> set[str]:
    """Kinds of the given personal data that occur in the output text."""
    kinds: set[str] = set()
    compact_output = _compact(output)
    for item in personal_data:
        if item.kind == "name":
            if any(re.search(rf"(?<!\w){re.escape(f)}(?!\w)", output)
                   for f in _name_forms(item.value)):
                kinds.add(item.kind)
        elif item.kind in ("email", "address", "postcode"):
            pattern = r"\s*".join(re.escape(c) for c in item.value if not c.isspace())
            if re.search(rf"(?<!\w){pattern}(?!\w)", output, re.IGNORECASE):
                kinds.add(item.kind)
        elif _compact(item.value) in compact_output:
            kinds.add(item.kind)
    return kinds
