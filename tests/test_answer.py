"""The extractive generator: verbatim units with markers, honest refusals."""

from __future__ import annotations

import re

import pytest

from assistant.answer import ExtractiveGenerator, inverse_document_frequencies, unknown_names
from assistant.domain import Chunk, Document, Passage

TEXT = (
    "Financiële hulpinitiatieven\n\n"
    "De Blijverslening kan mensen helpen om hun woning aan te passen. In tegenstelling tot de "
    "Verzilverlening is deze lening ook voor mensen met een huurwoning toegankelijk.\n\n"
    "Het gaat om kortdurende inzet, van maximaal 80 uur. Hiervoor draagt de gemeente een derde "
    "van de kosten bij. Dit tot een maximum van € 4.000 (inclusief btw).\n\n"
    "Zij zoeken daarbij antwoorden op de volgende vragen:\n\n"
    "- Welke huurcontracten kennen we?\n"
    "- Hoe vaak komen de verschillende huurcontracten voor?\n"
    "- Wie neemt hier de beslissing?\n"
)
DOCUMENT = Document(doc_id="doc", title="Testdocument", text=TEXT)


def passage(start_marker: str, end_marker: str, score: float, dense: float = 0.7) -> Passage:
    start = TEXT.index(start_marker)
    end = TEXT.index(end_marker) + len(end_marker)
    chunk = Chunk(
        chunk_id=start_marker[:8],
        doc_id="doc",
        title="Testdocument",
        section="Sectie",
        start=start,
        end=end,
        quote=TEXT[start:end],
        search_text=TEXT[start:end],
    )
    return Passage(chunk, score, dense=dense)


@pytest.fixture
def passages() -> list[Passage]:
    return [
        passage("De Blijverslening", "toegankelijk.", 0.03),
        passage("Het gaat om", "(inclusief btw).", 0.02),
        passage("Zij zoeken", "de beslissing?", 0.01),
    ]


@pytest.fixture
def generator(passages: list[Passage]) -> ExtractiveGenerator:
    return ExtractiveGenerator(inverse_document_frequencies([p.chunk.quote for p in passages]))


def test_answer_quotes_verbatim_with_markers(
    generator: ExtractiveGenerator, passages: list[Passage]
) -> None:
    answer = generator.answer(
        "Is de Blijverslening ook voor huurders met een huurwoning?",
        passages,
        {"doc": DOCUMENT},
        top_k=5,
    )
    assert answer.answerable
    assert "huurwoning toegankelijk" in answer.text
    units = re.split(r" \[\d+\]\s*", answer.text)
    for unit in filter(None, units):
        assert unit in TEXT
    first = answer.citations[0]
    assert TEXT[first.start : first.end] == first.quote
    assert "[1]" in answer.text and first.n == 1
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))


def test_amount_question_without_amount_is_refused(
    generator: ExtractiveGenerator, passages: list[Passage]
) -> None:
    answer = generator.answer(
        "Wat is het maximale bedrag dat je kunt lenen met de Blijverslening?",
        passages,
        {"doc": DOCUMENT},
        top_k=5,
    )
    assert not answer.answerable
    assert answer.citations == []
    assert answer.text.startswith("Dat staat niet in de documenten")
    assert "Testdocument" in answer.text


def test_amount_question_with_amount_is_answered(
    generator: ExtractiveGenerator, passages: list[Passage]
) -> None:
    answer = generator.answer(
        "Tot welk bedrag draagt de gemeente de kosten bij voor de inzet?",
        passages,
        {"doc": DOCUMENT},
        top_k=5,
    )
    assert answer.answerable
    assert "€ 4.000" in answer.text


def test_unrelated_question_is_refused(
    generator: ExtractiveGenerator, passages: list[Passage]
) -> None:
    weak = [Passage(p.chunk, p.score, dense=0.2) for p in passages]
    answer = generator.answer(
        "Schrijf een gedicht over de herfst en paddenstoelen", weak, {"doc": DOCUMENT}, top_k=5
    )
    assert not answer.answerable


def test_question_list_is_answered_with_its_items(
    generator: ExtractiveGenerator, passages: list[Passage]
) -> None:
    answer = generator.answer(
        "Welke vragen beantwoorden we over de huurcontracten?", passages, {"doc": DOCUMENT}, top_k=5
    )
    assert answer.answerable
    assert "Welke huurcontracten kennen we?" in answer.text
    assert "Hoe vaak komen de verschillende huurcontracten voor?" in answer.text
    assert "- Welke" not in answer.text


def test_unknown_names_are_found() -> None:
    idf = inverse_document_frequencies(["Rotterdam wil woningen bouwen"])
    assert unknown_names("Hoeveel woningen bouwt Utrecht in Rotterdam?", idf) == ["Utrecht"]
    assert unknown_names("Hoeveel woningen bouwt Rotterdam?", idf) == []


def test_typos_and_inflections_count_as_known_terms() -> None:
    from assistant.answer import is_known
    from assistant.lexical import analyze

    vocabulary = set(analyze("De Verzilverlening en Amersfoort bestemd voor wonen"))
    assert is_known(analyze("Verzilverlenig")[0], vocabulary)
    assert is_known(analyze("Amersfort")[0], vocabulary)
    assert is_known(analyze("bestemmen")[0], vocabulary)
    assert not is_known(analyze("parkeervergunning")[0], vocabulary)
