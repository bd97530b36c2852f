"""Figures in Dutch text (amounts, percentages, durations, years, counts) and the kind of
detail a question asks for; used to decide whether an answer holds what was asked and to
notice when two sources give different figures for the same thing."""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass

from assistant.language.normalize import fold
from assistant.language.tokens import STOPWORDS, WORD, stem

NUMBER_WORDS = {
    "een": 1, "twee": 2, "drie": 3, "vier": 4, "vijf": 5, "zes": 6, "zeven": 7, "acht": 8,
    "negen": 9, "tien": 10, "elf": 11, "twaalf": 12, "dertien": 13, "veertien": 14,
    "vijftien": 15, "twintig": 20, "dertig": 30, "veertig": 40, "vijftig": 50, "zestig": 60,
    "zeventig": 70, "tachtig": 80, "negentig": 90, "honderd": 100, "duizend": 1000,
}
MONTHS = [
    "januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
    "oktober", "november", "december",
]
TIME_UNITS = {
    "jaar": "jaar", "jaren": "jaar", "maand": "maand", "maanden": "maand", "week": "week",
    "weken": "week", "dag": "dag", "dagen": "dag", "uur": "uur", "uren": "uur",
}
_NUMBER = r"\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+(?:,\d+)?"
_WORDS = "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
AMOUNT = re.compile(
    rf"(?:€|eur\b|euro\b)\s?({_NUMBER})(?:\s?(?:miljoen|mln))?|({_NUMBER})\s?(?:euro|€)"
)
PERCENT = re.compile(rf"({_NUMBER})\s?(?:%|procent\b)")
DURATION = re.compile(rf"\b({_NUMBER}|{_WORDS})\s?({'|'.join(TIME_UNITS)})\b")
YEAR = re.compile(r"\b(19\d\d|20\d\d)\b")
DATE = re.compile(rf"\b(\d{{1,2}})\s({'|'.join(MONTHS)})\b")
# "een" is mostly the article; as a count it is written "één" (checked before folding).
_COUNT_WORDS = "|".join(sorted((w for w in NUMBER_WORDS if w != "een"), key=len, reverse=True))
COUNT = re.compile(rf"\b({_NUMBER}|{_COUNT_WORDS})\b")
STRESSED_ONE = re.compile(r"\b(één|eén)\b", re.I)
# "hoeveel dorpen", "het aantal deelnemende corporaties": the words after the count word name
# what is counted; a count answers only when it stands next to such a word.
COUNTED = re.compile(
    r"\b(?:hoeveel|aantal)\s+(?:van\s+)?(?:(?:de|die|deze|dat|het|onze|hun|uw)\s+)?(\w+)(?:\s+(\w+))?"
)
COUNT_WINDOW = 3
MIN_PART_STEM = 4  # the shortest stem that counts as the head of a compound

# Expressions of a moment within days or weeks: how a report says something is imminent.
SOON_WORDS = re.compile(
    r"\b(morgen|overmorgen|vandaag|per direct|binnenkort|(deze|volgende|komende) (week|maand))\b"
)
SOON_DAYS = {"dag": 1, "week": 7, "maand": 31}
SOON_LIMIT_DAYS = 45


# What a question asks for, by its interrogative and the noun it is about.
ASKS = {
    "bedrag": re.compile(
        r"\b(hoeveel|hoe hoog|hoe duur|wat kost|welk bedrag|maxim\w*|minim\w*)\b"
        r".{0,60}\b(euro|geld|bedrag|kost\w*|bijdrage|budget|vergoed\w*|lening|lenen|prijs)\b"
        r"|\b(euro|geld|bedrag|kost\w*|bijdrage|budget|prijs)\b.{0,40}\b(hoeveel|hoe hoog)\b"
        r"|\bwat kost\b|\bhoe duur\b|€"
    ),
    "percentage": re.compile(r"\b(rente\w*|percentage|procent)\b|%"),
    "termijn": re.compile(
        r"\b(wanneer|hoe lang|hoelang|tot wanneer|vanaf wanneer|sinds wanneer|welke datum"
        r"|in welk jaar|welk jaar|welke termijn|looptijd|termijn)\b"
    ),
    "aantal": re.compile(r"\b(hoeveel|aantal|maxim\w*|minim\w*)\b"),
    # "hoe" before an adjective of degree asks for a magnitude of whatever kind
    "getal": re.compile(r"\bhoe (hoog|groot|zwaar|breed|ver)\b"),
}
# What a question asks for by the noun it asks about ("Wat is het maximumbedrag?", "Welke
# huurprijs geldt?", "Vanaf welke leeftijd?"): the noun after "wat is", "welk(e)" or "hoe hoog
# is", matched by its head so that compounds count.
DETAIL_NOUNS = {
    "bedrag": ("bedrag", "prijs", "tarief", "bijdrage", "budget", "inkomen", "kosten"),
    "percentage": ("rente", "percentage"),
    "termijn": ("termijn", "looptijd", "datum", "deadline"),
    "leeftijd": ("leeftijd",),
}
ASKED_NOUN = re.compile(
    r"\b(?:wat (?:is|zijn|was|waren)|welk|welke|hoe hoog (?:is|zijn|ligt|liggen))\s+"
    r"(?:(?:de|het|een|die|deze|dat|hun|onze|uw)\s+)?(\w+)(?:\s+(\w+))?"
)
LIMIT = re.compile(r"(?:grens|grenzen)$")  # inkomensgrens, leeftijdsgrens: the first part says what
# Questions about paying or lending ask an amount, "hoe oud" an age ("hoeveel weken" is a count
# of weeks: COUNTED).
ASKS_BY_FRAME = {
    "bedrag": re.compile(
        r"\b(?:hoeveel|wat)\s+(?:\w+\s+){0,3}?(?:betaa?l\w*|leen|lenen)\b"),
    "leeftijd": re.compile(r"\bhoe oud\b"),
}
AGE_IN_YEARS = re.compile(r"\b\d{2}\s?jaar\b")
AGE_GROUP = re.compile(r"\b\d{2}(?:\+|-?plussers?\b)")  # 55+, 55-plussers
PRESENT = {
    "bedrag": (AMOUNT,),
    "percentage": (PERCENT,),
    "termijn": (DURATION, YEAR, DATE),
    "aantal": (COUNT,),
    "leeftijd": (AGE_IN_YEARS, AGE_GROUP),
    "getal": (COUNT,),
}


@dataclass(frozen=True)
class Figure:
    kind: str
    value: float
    unit: str
    start: int
    end: int
    text: str


def to_number(raw: str) -> float:
    """'4.000' → 4000, '1,5' → 1.5, 'tachtig' → 80."""
    raw = fold(raw)
    if raw in NUMBER_WORDS:
        return float(NUMBER_WORDS[raw])
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?", raw):
        raw = raw.replace(".", "")
    return float(raw.replace(",", "."))


def figures(text: str) -> list[Figure]:
    """Amounts, percentages and durations with their values, in text order."""
    found: list[Figure] = []
    folded = fold(text)
    for match in AMOUNT.finditer(folded):
        raw = match.group(1) or match.group(2)
        found.append(Figure("bedrag", to_number(raw), "euro", match.start(), match.end(),
                            text[match.start():match.end()]))
    for match in PERCENT.finditer(folded):
        found.append(Figure("percentage", to_number(match.group(1)), "%", match.start(),
                            match.end(), text[match.start():match.end()]))
    for match in DURATION.finditer(folded):
        found.append(Figure("termijn", to_number(match.group(1)), TIME_UNITS[match.group(2)],
                            match.start(), match.end(), text[match.start():match.end()]))
    return sorted(found, key=lambda f: f.start)


def _noun_asks(word: str) -> set[str]:
    """The kinds of detail a noun stands for, by its head or, for a limit, its first part."""
    if LIMIT.search(word):
        return {kind for kind, heads in DETAIL_NOUNS.items()
                for head in heads if word.startswith(head)}
    word_stem = stem(word)
    return {kind for kind, heads in DETAIL_NOUNS.items()
            for head in heads if _ends_in(word_stem, stem(head))}


def asked_details(question: str) -> set[str]:
    """The kinds of detail a question asks for ('bedrag', 'percentage', 'termijn', 'aantal',
    'leeftijd', or 'getal': any figure)."""
    folded = fold(question)
    asked = {kind for kind, pattern in ASKS.items() if pattern.search(folded)}
    asked |= {kind for kind, pattern in ASKS_BY_FRAME.items() if pattern.search(folded)}
    for match in ASKED_NOUN.finditer(folded):
        for word in filter(None, match.groups()):
            # "welke kosten" asks which costs there are, "wat zijn de kosten" how much
            if word not in STOPWORDS and not (match.group().startswith("welk")
                                              and word.endswith("kosten")):
                asked |= _noun_asks(word)
    if asked & {"bedrag", "percentage", "termijn", "leeftijd"}:
        asked -= {"aantal", "getal"}  # "hoeveel euro" asks for an amount, not a count
    if "aantal" in asked:
        asked.discard("getal")
    return asked


def counted_words(question: str) -> tuple[str, ...]:
    """What a count asks about ("hoeveel betaalbare appartementen" → betaalbare,
    appartementen); () when it names nothing ("Hoeveel komen er bij?")."""
    match = COUNTED.search(fold(question))
    if not match or match.group(1) in STOPWORDS:
        return ()
    first, second = match.group(1), match.group(2)
    words = [first]
    if second and first.endswith("e") and second not in STOPWORDS:  # an adjective, then the noun
        words.append(second)
    return tuple(w for w in words if not w.isdigit())


def _ends_in(long: str, short: str) -> bool:
    """Whether stem `long` is stem `short` or a compound with it as its head."""
    return long == short or (len(short) >= MIN_PART_STEM and long.endswith(short))


def _same_word(a: str, b: str) -> bool:
    """Inflections and compounds of one word: gemeentes ~ gemeenten, dorp ~ dorpen,
    seniorenwoningen ~ woningen."""
    sa, sb = stem(a), stem(b)
    return _ends_in(sa, sb) or _ends_in(sb, sa)


def has_detail(kind: str, text: str, counted: tuple[str, ...] = ()) -> bool:
    """Whether `text` holds a detail of `kind`; a count must stand within a few words of what
    is counted, when the request names that (any other number answers something else)."""
    folded = fold(text)
    if kind in ("aantal", "getal") and STRESSED_ONE.search(text):
        return True
    if kind == "aantal" and counted:
        words = list(WORD.finditer(folded))
        starts = [w.start() for w in words]
        for match in COUNT.finditer(folded):
            at = bisect_left(starts, match.start())
            window = words[max(0, at - COUNT_WINDOW): at + COUNT_WINDOW + 1]
            if any(_same_word(w.group(), c) for w in window for c in counted):
                return True
        return False
    return any(pattern.search(folded) for pattern in PRESENT[kind])


def soon(text: str) -> str | None:
    """The words that put something within about six weeks ("over twee weken", "morgen",
    "per 1 maart"), or None."""
    folded = fold(text)
    match = SOON_WORDS.search(folded)
    if match:
        return text[match.start():match.end()]
    for match in DURATION.finditer(folded):
        unit = TIME_UNITS[match.group(2)]
        if unit in SOON_DAYS and to_number(match.group(1)) * SOON_DAYS[unit] <= SOON_LIMIT_DAYS:
            return text[match.start():match.end()]
    match = DATE.search(folded)
    return text[match.start():match.end()] if match else None
