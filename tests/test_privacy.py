"""Redaction of Dutch personal data: known formats, no over-redaction, and property tests."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import pytest
from faker import Faker
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import iban as stdnum_iban
from stdnum.nl import bsn as stdnum_bsn

from assistant.privacy import (
    PLACEHOLDERS,
    RedactingFilter,
    install_log_redaction,
    known_first_names,
    redact,
)

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
FAKE = Faker("nl_NL")

SENTENCES = (
    "De bewoner is bereikbaar via {}, graag snel terugbellen.",
    "Gegevens van de cliënt: {}. Zij woont sinds 2019 in de wijk.",
    "Kunt u contact opnemen ({}) over de woonzorgvisie?",
    "{} staat in het dossier van het wijkteam.",
    "Melding over de huurachterstand; zie {}",
)


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _assert_gone(value: str, text: str) -> str:
    out = redact(text)
    assert value not in out, out
    if len(_digits(value)) >= 6:
        assert _digits(value)[-6:] not in _digits(out), out
    return out


@pytest.mark.parametrize(
    ("text", "placeholder", "leak"),
    [
        ("BSN 123456782 van de huurder", "[BSN]", "123456782"),
        ("bsn: 123.456.782", "[BSN]", "456"),
        ("nummer 123 456 782 staat erbij", "[BSN]", "782"),
        ("burgerservicenummer 12345672", "[BSN]", "12345672"),
        ("bel 06-12345678", "[TELEFOON]", "12345678"),
        ("bel 06 1234 5678", "[TELEFOON]", "5678"),
        ("bel +31 6 12345678", "[TELEFOON]", "12345678"),
        ("bel +31(0)6-12345678", "[TELEFOON]", "12345678"),
        ("bel 0031 6 12345678", "[TELEFOON]", "12345678"),
        ("bel 010-1234567", "[TELEFOON]", "1234567"),
        ("bel 0412-654321", "[TELEFOON]", "654321"),
        ("bel (020) 123 4567", "[TELEFOON]", "4567"),
        ("bel +32 470 12 34 56", "[TELEFOON]", "470"),
        ("mail l.bos@voorbeeldmail.nl graag", "[E-MAIL]", "voorbeeldmail"),
        ("IBAN NL91ABNA0417164300", "[IBAN]", "0417164300"),
        ("IBAN NL91 ABNA 0417 1643 00.", "[IBAN]", "1643"),
        ("rekening DE89 3704 0044 0532 0130 00", "[IBAN]", "0532"),
        ("woont op 1234 AB 12 sinds mei", "[ADRES]", "1234 AB"),
        ("postcode 3511AB", "[ADRES]", "3511AB"),
        ("adres Lindelaan 14, Utrecht", "[ADRES]", "Lindelaan"),
        ("woont Van Goghstraat 5-2", "[ADRES]", "Goghstraat"),
        ("gesprek met mevrouw Jansen gehad", "mevrouw [NAAM]", "Jansen"),
        ("gesprek met dhr. P. de Vries gehad", "dhr. [NAAM]", "Vries"),
        ("Meneer J. Kuipers belde", "Meneer [NAAM]", "Kuipers"),
        ("huurster mevrouw L. Bos heeft", "mevrouw [NAAM]", "Bos"),
        ("de heer P. van Dijk vraagt", "de heer [NAAM]", "Dijk"),
        ("mw. A. de Groot, casemanager", "mw. [NAAM]", "Groot"),
        ("Woonpartners Midden (Erik Hoekstra, 06-18274615)", "([NAAM], [TELEFOON])", "Hoekstra"),
        ("Van: Thomas Meijer, beleidsadviseur", "Van: [NAAM], beleidsadviseur", "Meijer"),
        ("Met vriendelijke groet, Sanne Visser", "groet, [NAAM]", "Visser"),
        ("Door: Rogier Goes (Aedes)", "Door: [NAAM] (Aedes)", "Goes"),
        ("dorpsraad (Xavi Peronne, +31 6 2468 1357)", "([NAAM], [TELEFOON])", "Peronne"),
    ],
)
def test_known_formats(text: str, placeholder: str, leak: str) -> None:
    out = redact(text)
    assert placeholder in out
    assert leak not in out


@pytest.mark.parametrize(
    "text",
    [
        "In 2030 wil Rotterdam 8.400 woningen bestemd hebben voor wonen met zorg.",
        "De gemeente betaalt een derde, tot een maximum van € 4.000 (inclusief btw).",
        "Het gaat om kortdurende inzet, van maximaal 80 uur.",
        "G40-steden kunnen een voorbeeldfunctie hebben; zie Platform31 (2024).",
        "Ik meld dit namens Woonpartners Midden over de woonvisie 2016-2021.",
        "Per 1 juli 2024, artikel 1.1.1 van de Wet maatschappelijke opvang 2015.",
        "Uitstroom uit BW en MO in 2025 BW; 24/7 uur begeleiding; pag. 17.",
        "Een budget van € 100.000.000 voor 12 appartementen en 20 units.",
        "Het fonds is 250.000.000 euro groot en telt 100 gemeenten.",
    ],
)
def test_ordinary_content_is_kept(text: str) -> None:
    assert redact(text) == text


def test_corpus_text_has_no_false_identifiers() -> None:
    """The guidance documents hold no personal identifiers, so nothing but names may change."""
    for path in sorted(CORPUS.glob("*.txt")):
        out = redact(path.read_text(encoding="utf-8"))
        for placeholder in ("[BSN]", "[TELEFOON]", "[E-MAIL]", "[IBAN]", "[ADRES]"):
            assert placeholder not in out, (path.name, placeholder)


def test_redaction_is_idempotent() -> None:
    text = (
        "Van: Thomas Meijer (t.meijer@gemeente.nl, 0412-654321), mevrouw L. Bos, "
        "Lindelaan 14, 1234 AB, BSN 123456782, NL91ABNA0417164300."
    )
    once = redact(text)
    assert redact(once) == once
    assert set(re.findall(r"\[[A-Z-]+\]", once)) <= set(PLACEHOLDERS)


def _valid_bsn(prefix: list[int]) -> str | None:
    total = sum(d * w for d, w in zip(prefix, range(9, 1, -1), strict=True))
    check = total % 11
    return "".join(map(str, prefix)) + str(check) if check <= 9 else None


@settings(max_examples=150, deadline=None)
@given(
    prefix=st.lists(st.integers(0, 9), min_size=8, max_size=8),
    style=st.sampled_from(["plain", "dots", "spaces"]),
    sentence=st.sampled_from(SENTENCES),
)
def test_property_bsn(prefix: list[int], style: str, sentence: str) -> None:
    number = _valid_bsn(prefix)
    if number is None or not stdnum_bsn.is_valid(number):
        return
    sep = {"plain": "", "dots": ".", "spaces": " "}[style]
    shown = sep.join((number[:3], number[3:6], number[6:]))
    _assert_gone(shown, sentence.format(f"BSN {shown}"))


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), sentence=st.sampled_from(SENTENCES),
       spaced=st.booleans())
def test_property_faker_iban_bsn_email(seed: int, sentence: str, spaced: bool) -> None:
    FAKE.seed_instance(seed)
    iban = FAKE.iban()
    assert stdnum_iban.is_valid(iban)
    if spaced:
        iban = " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))
    _assert_gone(iban, sentence.format(iban))
    bsn = FAKE.ssn()
    assert stdnum_bsn.is_valid(bsn)
    _assert_gone(bsn, sentence.format(bsn))
    email = FAKE.email()
    out = _assert_gone(email, sentence.format(email))
    assert "@" not in out


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), sentence=st.sampled_from(SENTENCES),
       mobile=st.integers(10_000_000, 99_999_999),
       mobile_style=st.sampled_from(["06-{}", "06 {} ", "+31 6 {}", "0031 6 {}", "+316{}"]))
def test_property_phone_numbers(seed: int, sentence: str, mobile: int, mobile_style: str) -> None:
    FAKE.seed_instance(seed)
    landline = FAKE.phone_number()
    _assert_gone(landline, sentence.format(landline))
    digits = str(mobile)
    grouped = f"{digits[:4]} {digits[4:]}" if "06 " in mobile_style else digits
    number = mobile_style.format(grouped).strip()
    _assert_gone(number, sentence.format(number))


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), sentence=st.sampled_from(SENTENCES),
       house=st.integers(1, 999), addition=st.sampled_from(["", "a", "-2", " B"]))
def test_property_postcode_and_street(seed: int, sentence: str, house: int,
                                      addition: str) -> None:
    FAKE.seed_instance(seed)
    postcode = FAKE.postcode()
    with_number = f"{postcode} {house}{addition}"
    out = _assert_gone(postcode, sentence.format(with_number))
    # the house number is gone too (a year elsewhere in the sentence may start with its digits)
    assert not re.search(rf" {re.escape(f'{house}{addition}')}(?![\w])", out.replace("[ADRES]", ""))
    street = FAKE.street_address()
    _assert_gone(street, sentence.format(street))


def _capture(logger: logging.Logger) -> io.StringIO:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return stream


def test_log_filter_redacts_messages_args_and_tracebacks() -> None:
    logger = logging.getLogger("test_privacy.redaction")
    stream = _capture(logger)
    install_log_redaction(logger)
    child = logging.getLogger("test_privacy.redaction.child")
    child.warning("melding van %s (%s)", "mevrouw L. Bos", "06-12345678")
    try:
        raise ValueError("onbekend e-mailadres l.bos@voorbeeldmail.nl")
    except ValueError:
        logger.exception("mislukt voor BSN %s", "123456782")
    output = stream.getvalue()
    for leak in ("Bos", "12345678", "voorbeeldmail", "123456782"):
        assert leak not in output
    assert "mevrouw [NAAM] ([TELEFOON])" in output
    assert "[E-MAIL]" in output and "[BSN]" in output


def test_install_log_redaction_is_idempotent() -> None:
    logger = logging.getLogger("test_privacy.idempotent")
    _capture(logger)
    first = install_log_redaction(logger)
    second = install_log_redaction(logger)
    assert first is second
    filters = [f for h in logger.handlers for f in h.filters if isinstance(f, RedactingFilter)]
    assert len(filters) == len(logger.handlers) == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hartelijke groet, Jolien en Nicole Dijkstra, info@voorbeeld.nl",
         "Hartelijke groet, [NAAM] en [NAAM], [E-MAIL]"),
        ("Goedemiddag, u spreekt met Yusuf Demir van de huurdersraad.",
         "Goedemiddag, u spreekt met [NAAM] van de huurdersraad."),
        ("Namens het huurdersplatform, Ilona Brouwer, 010-1234567",
         "Namens het huurdersplatform, [NAAM], [TELEFOON]"),
        ("Volgens Sven van der Berg ontbreekt een plan.", "Volgens [NAAM] ontbreekt een plan."),
        ("Ik ben Boos over de Blijverslening in Den Haag.",
         "Ik ben Boos over de Blijverslening in Den Haag."),
    ],
)
def test_first_names_from_faker_and_self_introductions(text: str, expected: str) -> None:
    """First names come from a maintained name list, not only the short one in the module."""
    assert redact(text) == expected


def test_first_names_that_are_common_words_stay_words() -> None:
    names = known_first_names()
    assert {"Yusuf", "Ilona", "Jolien"} <= names
    assert not {"Dan", "Beste", "Anders", "Elke"} & names


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Haar zoon Gijsbert helpt haar.", "Haar zoon [NAAM] helpt haar."),
        ("De familie Van Dam wacht op een woning.", "De familie [NAAM] wacht op een woning."),
        ("Het gezin Yildiz-Bakker, vijf personen, slaapt bij vrienden.",
         "Het gezin [NAAM], vijf personen, slaapt bij vrienden."),
        ("Het gezin is groot.", "Het gezin is groot."),
        ("Bewoonster, M. Visser, belde.", "Bewoonster, [NAAM], belde."),
        ("Hendrika Post (91) woont alleen.", "[NAAM] (91) woont alleen."),
        ("De cliënt Wlz-zorg krijgt", "De cliënt Wlz-zorg krijgt"),
        ("Het project Blijverslening (2024) loopt.", "Het project Blijverslening (2024) loopt."),
    ],
)
def test_names_after_a_relation_or_before_an_age(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_a_name_after_a_role_label_and_before_contact_details_goes() -> None:
    """Any role can head a signature line ("Projectleider:", "Wijkverpleegkundige:"), and
    first names of Dutch people of Surinamese-Hindustani descent come from Faker's en_IN."""
    assert (redact("Projectleider: Xandrik Bolwerk, 06 23456789")
            == "Projectleider: [NAAM], [TELEFOON]")
    assert (redact("Wijkverpleegkundige: Ravi Sewdien (r.sewdien@voorbeeld.nl)")
            == "Wijkverpleegkundige: [NAAM] ([E-MAIL])")
    assert redact("Gisteren belde Anjali Ramcharan over de lift.") == (
        "Gisteren belde [NAAM] over de lift.")
    assert redact("Het Forum Wonen en Zorg komt bijeen.") == "Het Forum Wonen en Zorg komt bijeen."


def test_surnames_starting_with_de_are_names_beside_contact_details_and_greetings() -> None:
    assert redact("Bel gerust De Boer, 06-12345678.") == "Bel gerust [NAAM], [TELEFOON]."
    assert redact("Vriendelijke groet, De Graaf") == "Vriendelijke groet, [NAAM]"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Gisteren belde Samira El Idrissi over de lift.", "Gisteren belde [NAAM] over de lift."),
        ("Onze collega Fatima Ait Taleb (06-12345678) helpt.",
         "Onze collega [NAAM] ([TELEFOON]) helpt."),
        ("Marloes Jansen Gemeente Hofwijk belde.", "[NAAM] Gemeente Hofwijk belde."),
    ],
)
def test_a_surname_of_two_words_goes_with_the_first_name(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Via het formulier: naam B. Demir, IBAN volgt.",
         "Via het formulier: naam [NAAM], IBAN volgt."),
        ("Volgens J.P. van Dam klopt het.", "Volgens [NAAM] klopt het."),
        ("T. Bakker belde gisteren.", "[NAAM] belde gisteren."),
        # a lettered item ends the sentence; the next one starts with an ordinary word
        ("Zie bijlage B. Daarna volgt het plan.", "Zie bijlage B. Daarna volgt het plan."),
        ("N.B. Dit geldt niet voor koopwoningen.", "N.B. Dit geldt niet voor koopwoningen."),
    ],
)
def test_initials_and_a_surname_are_a_name_anywhere(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_a_known_surname_before_contact_details_is_a_name_even_with_an_unknown_first_name(
) -> None:
    """Faker's first names miss many Dutch ones ("Gerdien"); its surnames still tell a person
    from an organisation, whose name starts with a word such as "Wijkteam"."""
    assert (redact("Namens team Zuid, Gerdien Visser, tel. 06-12345678. Graag contact.")
            == "Namens team Zuid, [NAAM], tel. [TELEFOON]. Graag contact.")
    assert redact("Bel Thuiszorg Oost, 06-12345678.") == "Bel Thuiszorg Oost, [TELEFOON]."
    assert redact("Bel Wijkteam West, 06-12345678.") == "Bel Wijkteam West, [TELEFOON]."


@pytest.mark.parametrize(
    "text",
    ["Betreft: dhr. Mohamed Ben Ali, deelnemer.", "Mevrouw Maria Dos Santos belde.",
     "Mw. A. El Haddouti belde."],
)
def test_an_honorific_takes_a_name_with_a_capitalised_particle_whole(text: str) -> None:
    redacted = redact(text)
    assert "[NAAM]" in redacted
    assert not any(part in redacted for part in ("Ali", "Santos", "Haddouti", "Ben", "Dos"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Cliënt: Rachid el Amrani, geb. 22-07-1988.", "Cliënt: [NAAM], geb. [GEBOORTEDATUM]."),
        ("mw. Jansen (geboren 3 februari 1941) woont alleen.",
         "mw. [NAAM] (geboren [GEBOORTEDATUM]) woont alleen."),
        ("Geboortedatum: 12-03-1938", "Geboortedatum: [GEBOORTEDATUM]"),
        ("Melding van dhr. Mehmet Yıldız, begeleider.", "Melding van dhr. [NAAM], begeleider."),
        ("Wij spraken Zeynep Kılıç gisteren.", "Wij spraken [NAAM] gisteren."),
        ("Mevrouw Maria dos Santos belde.", "Mevrouw [NAAM] belde."),
    ],
)
def test_dates_of_birth_particles_and_letters_beyond_latin_1(text: str, expected: str) -> None:
    """A date after "geboren" or "geb." is personal; Arabic and Romance particles and Turkish
    or Polish letters belong to the name (found by a tune report that leaked a name)."""
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    ["De woning is per 22-07-2026 beschikbaar.", "Het contract eindigt op 1 maart 2027.",
     "Zij is geboren en getogen in Zwolle."],
)
def test_other_dates_stay(text: str) -> None:
    assert redact(text) == text
