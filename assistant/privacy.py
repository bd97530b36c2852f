"""Redaction of Dutch personal data before text is stored, logged, classified or shown.

No Dutch NER model installs offline, so recognition is rule-based: checksummed or shaped
identifiers (BSN, IBAN, phone numbers, e-mail, postcode, street + number) and names that
stand next to an honorific, a signature label, a self-introduction, a contact detail or a
known first name. Known first names come from Faker's person data for the languages spoken in
the Netherlands (thousands of names, maintained upstream), minus names that are ordinary Dutch
words ("Dan", "Beste", "Kader"), judged by their frequency in wordfreq; beside a contact
detail Faker's surnames count too, since its first names miss many Dutch ones.
Over-redaction is preferred to a leak: every 9-digit number counts as a BSN.
"""

from __future__ import annotations

import importlib
import logging
import re
from collections.abc import Callable, Iterator
from functools import lru_cache

import phonenumbers
from stdnum import iban as stdnum_iban
from stdnum.nl import bsn as stdnum_bsn
from stdnum.nl import postcode as stdnum_postcode
from wordfreq import zipf_frequency

BSN = "[BSN]"
PHONE = "[TELEFOON]"
EMAIL = "[E-MAIL]"
IBAN = "[IBAN]"
ADDRESS = "[ADRES]"
NAME = "[NAAM]"
BIRTH_DATE = "[GEBOORTEDATUM]"
PLACEHOLDERS = (BSN, PHONE, EMAIL, IBAN, ADDRESS, NAME, BIRTH_DATE)

EMAIL_RE = re.compile(r"[\w.%+'-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")

IBAN_NL_RE = re.compile(r"\bNL[ ]?\d{2}[ ]?[A-Z]{4}(?:[ ]?\d){10}\b", re.IGNORECASE)
IBAN_ANY_RE = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b")

_SEP = r"[ \-./()]{0,3}"
PHONE_NATIONAL_RE = re.compile(rf"(?<![\w+])\(?0(?:{_SEP}\d){{9}}(?!\d)")
PHONE_INTERNATIONAL_RE = re.compile(
    r"(?<![\w+])(?:\+|00)[ ]?31[ \-.]{0,2}(?:\(0\)[ \-.]{0,2})?(?:0[ \-.]?)?"
    rf"\d(?:{_SEP}\d){{8}}(?!\d)"
)

NINE_DIGITS_RE = re.compile(
    r"(?<![\w.,])(?:\d{9}|\d{3}([. ])\d{3}\1\d{3}|\d{4}\.\d{2}\.\d{3})(?![\w]|[.,]\d)"
)
CURRENCY_BEFORE = re.compile(r"(?:€|EUR|euro)\s*$", re.IGNORECASE)
CURRENCY_AFTER = re.compile(r"\s*(?:€|EUR\b|euro\b|,-)", re.IGNORECASE)
# After a BSN label an 8-digit number (leading zero dropped) counts too, if it passes the elfproef.
BSN_LABEL_RE = re.compile(
    r"(?P<label>\b(?i:bsn|burgerservicenummer|sofi-?nummer)(?:[ ]?(?i:nummer|nr\.?))?[ ]?[:.]?[ ]?)"
    r"(?P<number>\d[\d .]{6,10}\d)(?!\d)"
)

POSTCODE_RE = re.compile(
    r"\b(?P<code>[1-9]\d{3}[ ]?(?P<letters>[A-Z]{2})|[1-9]\d{3}[a-z]{2})\b"
    r"(?P<number>[ ]\d{1,5}(?:[ ]?[a-zA-Z]\b|-\d{1,4}\b)?)?"
)
# "in 2025 BW en MO": a year followed by a common abbreviation is not a postcode.
POSTCODE_NOT_LETTERS = frozenset({"BW", "MO", "VG", "EN", "OF", "IN", "OP"})
YEAR_AND_WORD = re.compile(r"(?:19|20)\d\d [A-Z]{2}")

STREET_RE = re.compile(
    r"(?:(?:[A-Z][\w'.-]*|van|de|der|den|het|ter|ten)[ ]){0,3}"
    r"[A-Z][a-zà-ÿ'-]*(?:straat|laan|weg|plein|singel|gracht|kade|dijk|pad|steeg|hof|dreef|"
    r"plantsoen|markt|baan|ring|boulevard|erf|park|wal|haven|veld|hoven)"
    r"(?P<number>[ ](?!(?:19|20)\d\d\b)\d{1,4}(?![.,]\d|\d)(?:[ ]?[a-zA-Z](?![\w])|-\d{1,4})?)"
)
# Nouns with a street suffix that head numbered sections or items ("Uitvoering 2").
NOT_STREETS = frozenset({
    "uitvoering", "financiering", "vergadering", "verzekering", "ervaring", "sturing",
    "regering", "verbetering", "bewaring", "wijkaanpak",
})

_INITIAL = r"(?:[A-Z][a-z]{0,2}\.[ ]?)"
# Particles of Dutch, German, French, Romance and Arabic surnames ("van der", "dos", "el").
_PARTICLE = (r"(?:van|de|der|den|het|ter|ten|te|in|op|'t|la|le|du|von|da|das|do|dos|di|del|"
             r"della|el|al|bin|ibn)")
# Letters of names: Latin-1 and Latin Extended-A (Turkish ı and ş, Polish ł and ż).
_UPPER, _LOWER = "A-ZÀ-ÝĀ-ž", "a-zà-ÿĀ-ž"
_CAP = rf"(?:[{_UPPER}][{_LOWER}'’]+(?:-(?:{_PARTICLE}[ ])?[{_UPPER}][{_LOWER}'’]+)*)"
# Up to two capitalised words before the surname: a first name and a capitalised particle
# ("Mohamed Ben Ali", "Maria Dos Santos").
_FULL_NAME = rf"(?:{_INITIAL}*(?:{_CAP}[ ]){{0,2}}(?:{_PARTICLE}[ ]){{0,3}}{_CAP})"

HONORIFIC_RE = re.compile(
    r"(?P<hon>\b(?i:mevrouw|mevr\.|mw\.|mvr\.|mej\.|meneer|mijnheer|mnr\.|dhr\.|de[ ]heer|"
    r"mr\.|dr\.|drs\.|ir\.|ing\.|prof\.))[ ]+"
    rf"(?P<name>{_FULL_NAME})"
)
LABEL_RE = re.compile(
    r"(?P<label>\b(?i:van|naam|contactpersoon|contact|afzender|melder|gemeld[ ]door|"
    r"ingediend[ ]door|ondertekend|door|aan|cc)[ ]?:|"
    r"\b(?i:met[ ]vriendelijke[ ]groet(?:en)?|vriendelijke[ ]groet(?:en)?|hartelijke[ ]groet"
    r"(?:en)?|groet(?:en)?|mvg)[ ]?[,\n]?)\s*"
    rf"(?P<name>{_INITIAL}*{_CAP}(?:[ ](?:{_PARTICLE}[ ]){{0,3}}{_CAP}){{0,2}})"
)
CONTACT_NEIGHBOUR_RE = re.compile(
    r"(?P<open>\(\s*|\b[A-Za-zÀ-ÿ-]+:[ ]*)?"
    rf"(?P<name>\b(?:{_INITIAL}+|[A-Z][a-z]+[ ])(?:{_PARTICLE}[ ]){{0,3}}{_CAP})"
    r"(?=\s*[,(/]\s*(?:(?i:tel|telefoon|e-?mail|mail|mob|mobiel)\.?:?\s*)?"
    r"\[(?:TELEFOON|E-MAIL)\])"
)

# Words that start organisation names after a label ("Van: Gemeente Hofwijk"). "De" is not
# one of them: "Groet, De Vries" is a surname, and over-redaction is preferred to a leak.
NOT_A_NAME = frozenset({
    "Gemeente", "Stichting", "Woningcorporatie", "Corporatie", "Zorggroep", "Team", "Afdeling",
    "Wijkteam", "Taskforce", "Platform31", "Huurdersvereniging", "Vereniging",
    "Provincie", "Ministerie", "Het", "Een", "Onze", "Ons", "Wij", "Ik",
})

# Dutch first names Faker's person data lacks, or that wordfreq rates as frequent words
# but are names before a surname ("Ben", "Jan"); Faker supplies the rest (see
# known_first_names). Ambiguous words (Job, Wil, Rijk, Hoop, Roos) are left out.
FIRST_NAMES = frozenset({
    "Aad", "Aafke", "Aart", "Abdel", "Adrie", "Aisha", "Annemiek", "Ans", "Arjan", "Arjen", "Bea",
    "Ben", "Bregje", "Cees", "Coen", "Cor", "Debora", "Derk", "Dick", "Douwe", "Eefje", "Evert",
    "Freek", "Frits", "Grietje", "Harrie", "Hester", "Jaap", "Jan", "Jans", "Kees", "Margriet",
    "Marloes", "Rianne", "Roelof", "Rutger", "Ruud", "Ton",
})

# Faker locales whose first names people in the Netherlands commonly carry.
NAME_LOCALES = ("nl_NL", "nl_BE", "fr_BE", "en_GB", "en_US", "en_IE", "de_DE", "fr_FR", "tr_TR",
                "ar_AA", "pl_PL", "da_DK", "en_IN")
# A first name this frequent in Dutch text is read as the word ("Dan", "Beste", "Anders");
# below it, wordfreq cannot tell a name from a word, so the Faker names between Zipf 3.8 and
# 5 that are also Dutch words or places are listed here.
WORD_ZIPF = 5.0
NAMES_THAT_ARE_WORDS = frozenset({
    "Bali", "Bergen", "Brooklyn", "Constant", "France", "Georgia", "Grant", "Heide", "India",
    "Jet", "Job", "Kader", "Kick", "Leen", "Lieve", "Line", "Lot", "Marine", "Mercedes", "Nova",
    "Peer", "Pol", "Roman", "Roos", "Server", "Sierra", "Stan", "Steen", "Summer", "Tan", "Toon",
    "Urban", "Wolf", "Zak", "Sydney", "Gene", "Guy", "Dawn", "August", "Allen", "Erin",
    "Forum", "Hema", "Lucky", "Veer",
})
_SIMPLE_NAME = re.compile(rf"[{_UPPER}][{_LOWER}]{{2,}}")


def _faker_names(*attributes: str) -> Iterator[str]:
    """Faker's person data of NAME_LOCALES, one-word names only."""
    for locale in NAME_LOCALES:
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        for attribute in attributes:
            values = getattr(provider, attribute, ())
            for name in values.keys() if isinstance(values, dict) else values:
                if _SIMPLE_NAME.fullmatch(name):
                    yield name


@lru_cache(maxsize=1)
def known_first_names() -> frozenset[str]:
    names = set(FIRST_NAMES) | {
        name for name in _faker_names("first_names", "first_names_male", "first_names_female")
        if zipf_frequency(name.lower(), "nl") < WORD_ZIPF}
    return frozenset(names - NOT_A_NAME - NAMES_THAT_ARE_WORDS)


@lru_cache(maxsize=1)
def known_surnames() -> frozenset[str]:
    """Faker's surnames; consulted only next to a contact detail: there "Visser" or "Bakker"
    is a name, not a word."""
    return frozenset(set(_faker_names("last_names")) - NOT_A_NAME)


# A capitalised word followed by a capitalised surname of one or two words ("El Khatib",
# "Santos Silva"): a name when the first is a first name. The surname is a lookahead so that
# "Volgens Susan van Klaveren" is tried at "Susan" too.
_NOT_A_SURNAME = "|".join(sorted(NOT_A_NAME))
FIRST_AND_SURNAME_RE = re.compile(
    rf"\b(?P<first>[{_UPPER}][{_LOWER}]+)(?=(?P<rest>[ ](?:{_PARTICLE}[ ]){{0,3}}{_CAP}"
    rf"(?:[ ](?:{_PARTICLE}[ ]){{0,3}}(?!(?:{_NOT_A_SURNAME})\b){_CAP})?))"
)
# A relative or a role in care and housing, then a capitalised name: "mijn moeder Truus",
# "de familie Jansen", "cliënt B. Kok". Acronyms (Wlz, Wmo) are not names.
RELATION_RE = re.compile(
    r"(?P<relation>\b(?i:familie|fam\.|gezin|cli[eë]nte?|bewoner|bewoonster|huurder|huurster|"
    r"buurman|buurvrouw|buren|collega|moeder|vader|zoon|dochter|broer|zus|zuster|echtgeno(?:ot|te)|"
    r"partner|weduwe|weduwnaar|oom|tante|opa|oma|schoonmoeder|schoonvader|mantelzorger)"
    r"[,:]?[ ]+)"
    rf"(?P<name>{_INITIAL}*(?!(?:Wlz|Wmo|Zvw|Wonen|Zorg)\b){_CAP}"
    rf"(?:[ ](?:{_PARTICLE}[ ]){{0,3}}{_CAP}){{0,2}})"
)
# A name followed by an age: "Truus de Wit (84)", "Kees Bakker, 79 jaar".
AGED_NAME_RE = re.compile(
    rf"(?P<name>\b{_CAP}(?:[ ](?:{_PARTICLE}[ ]){{0,3}}{_CAP}){{1,2}})"
    r"(?=[ ]?(?:\([ ]?\d{2,3}[ ]?(?:jaar)?[ ]?\)|,[ ]\d{2,3}[ ]jaar\b))"
)
# Initials and a surname, "B. Demir" or "J.P. van Dam", wherever they stand: the surname
# counts when it is no frequent Dutch word, so a sentence that starts after a lettered item
# ("bijlage B. Daarna …") keeps its first word.
INITIALS_NAME_RE = re.compile(
    rf"(?<![\w.])(?P<name>(?:[A-Z]\.[ ]?){{1,4}}(?P<particles>(?:{_PARTICLE}[ ]){{0,3}})"
    rf"(?P<surname>{_CAP}))"
)
# A date after "geboren", "geb." or "geboortedatum" is a date of birth; other dates (a
# deadline, a moving day) stay.
_MONTH = (r"(?i:jan(?:uari)?|feb(?:ruari)?|mrt|maart|apr(?:il)?|mei|jun[i]?|jul[i]?|"
          r"aug(?:ustus)?|sep(?:t(?:ember)?)?|okt(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
BIRTH_DATE_RE = re.compile(
    r"(?P<label>\b(?i:geboren(?:[ ]op)?|geb\.(?:[ ]?datum)?|geboortedatum|geb\.dat\.)[ ]?:?[ ]*)"
    rf"(?P<date>\d{{1,2}}[-/.]\d{{1,2}}[-/.](?:\d{{4}}|\d{{2}})\b|\d{{1,2}}[ ]{_MONTH}[ ]\d{{4}}\b)"
)
# "ik ben …", "mijn naam is …": two capitalised words, or one known first name and more.
SELF_INTRODUCTION_RE = re.compile(
    r"(?P<intro>\b(?i:ik[ ]ben|ik[ ]heet|mijn[ ]naam[ ]is|u[ ]spreekt[ ]met)[ ]+)"
    rf"(?P<name>{_INITIAL}*{_CAP}(?:[ ](?:{_PARTICLE}[ ]){{0,3}}{_CAP}){{1,2}})"
)


def _redact_first_and_surname(text: str) -> str:
    names = known_first_names()
    spans: list[tuple[int, int]] = []
    for match in FIRST_AND_SURNAME_RE.finditer(text):
        if match.group("first") in names and (not spans or match.start() >= spans[-1][1]):
            spans.append((match.start(), match.end("rest")))
    for start, end in reversed(spans):
        text = text[:start] + NAME + text[end:]
    return text


def _replace_iban(match: re.Match[str]) -> str:
    candidate = match.group(0)
    parts = candidate.split(" ")
    while parts:
        compact = "".join(parts).upper()
        if len(compact) >= 15 and stdnum_iban.is_valid(compact):
            rest = candidate[len(" ".join(parts)):]
            return IBAN + rest
        parts = parts[:-1] if len(parts) > 1 else []
    return candidate


def _replace_national_phone(match: re.Match[str]) -> str:
    """Keep an opening parenthesis that encloses the whole number, as in "(06-12345678)"."""
    number = match.group(0)
    return "(" + PHONE if number.startswith("(") and ")" not in number else PHONE


def _replace_nine_digits(match: re.Match[str]) -> str:
    before = match.string[max(0, match.start() - 6):match.start()]
    if CURRENCY_BEFORE.search(before) or CURRENCY_AFTER.match(match.string, match.end()):
        return match.group(0)
    return BSN


def _replace_postcode(match: re.Match[str]) -> str:
    letters = match.group("letters")
    if (
        letters in POSTCODE_NOT_LETTERS
        and YEAR_AND_WORD.fullmatch(match.group("code"))
        and not match.group("number")
    ):
        return match.group(0)
    if letters is None and not stdnum_postcode.is_valid(match.group("code")):
        return match.group(0)
    return ADDRESS


def _replace_street(match: re.Match[str]) -> str:
    words = match.group(0)[: match.start("number") - match.start()].split(" ")
    return match.group(0) if words[-1].lower() in NOT_STREETS else ADDRESS


def _replace_name(match: re.Match[str]) -> str:
    name = match.group("name")
    if name.split(" ")[0].rstrip(",") in NOT_A_NAME:
        return match.group(0)
    start = match.start("name") - match.start()
    return match.group(0)[:start] + NAME


def _replace_contact_neighbour(match: re.Match[str]) -> str:
    """A name right before a phone number or e-mail; outside parentheses or a role label
    ("Woonconsulent: ...") only a known first name or surname, initials or a surname starting
    with "De" ("De Boer, 06-...") count, so "Thuiszorg Oost, 06-..." keeps the organisation."""
    words = match.group("name").split(" ")
    surname = words[-1] in known_surnames() and words[0] not in NOT_A_NAME
    if (match.group("open") or words[0].endswith(".") or words[0] == "De"
            or words[0] in known_first_names() or surname):
        return match.group(0)[: match.start("name") - match.start()] + NAME
    return match.group(0)


def _replace_initials_name(match: re.Match[str]) -> str:
    surname = match.group("surname")
    if match.group("particles") or zipf_frequency(surname.lower(), "nl") < WORD_ZIPF:
        return NAME
    return match.group(0)


def _replace_bsn_label(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group("number"))
    if len(digits) == 9 or (len(digits) == 8 and stdnum_bsn.is_valid(digits)):
        return match.group("label") + BSN
    return match.group(0)


def _redact_phonenumbers(text: str) -> str:
    """Phone numbers libphonenumber recognises as valid, e.g. foreign ones the regexes miss."""
    spans = [
        (m.start, m.end)
        for m in phonenumbers.PhoneNumberMatcher(text, "NL", leniency=phonenumbers.Leniency.VALID)
    ]
    for start, end in reversed(spans):
        text = text[:start] + PHONE + text[end:]
    return text


_STEPS: tuple[Callable[[str], str], ...] = (
    lambda t: EMAIL_RE.sub(EMAIL, t),
    lambda t: IBAN_NL_RE.sub(IBAN, t),
    lambda t: IBAN_ANY_RE.sub(_replace_iban, t),
    lambda t: BSN_LABEL_RE.sub(_replace_bsn_label, t),
    lambda t: BIRTH_DATE_RE.sub(lambda m: m.group("label") + BIRTH_DATE, t),
    lambda t: PHONE_INTERNATIONAL_RE.sub(PHONE, t),
    lambda t: PHONE_NATIONAL_RE.sub(_replace_national_phone, t),
    _redact_phonenumbers,
    lambda t: NINE_DIGITS_RE.sub(_replace_nine_digits, t),
    lambda t: POSTCODE_RE.sub(_replace_postcode, t),
    lambda t: STREET_RE.sub(_replace_street, t),
    lambda t: HONORIFIC_RE.sub(_replace_name, t),
    lambda t: LABEL_RE.sub(_replace_name, t),
    lambda t: SELF_INTRODUCTION_RE.sub(_replace_name, t),
    lambda t: RELATION_RE.sub(_replace_name, t),
    lambda t: AGED_NAME_RE.sub(_replace_name, t),
    lambda t: CONTACT_NEIGHBOUR_RE.sub(_replace_contact_neighbour, t),
    lambda t: INITIALS_NAME_RE.sub(_replace_initials_name, t),
    _redact_first_and_surname,
)


def redact(text: str) -> str:
    """Replace personal data with placeholders such as [BSN], [TELEFOON], [NAAM] and
    [GEBOORTEDATUM]."""
    for step in _STEPS:
        text = step(text)
    return text


class RedactingFilter(logging.Filter):
    """Redacts the formatted message (and traceback text) of every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = f"{record.msg} {record.args}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install_log_redaction(logger: logging.Logger | None = None) -> RedactingFilter:
    """Attach one RedactingFilter to every handler of `logger` (the root logger by default).

    Handler filters also see records propagated from child loggers, which logger filters
    do not; call this after logging is configured. Calling it twice adds nothing.
    """
    target = logger or logging.getLogger()
    existing = next(
        (f for h in target.handlers for f in h.filters if isinstance(f, RedactingFilter)), None
    )
    redacting = existing or RedactingFilter()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(redacting)
    return redacting
