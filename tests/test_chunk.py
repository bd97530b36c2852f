"""Cleaning and structural chunking keep exact offsets into the original text."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.domain import Document
from assistant.language.structure import clean_for_search, split_lines
from ingest.chunk import ChunkSettings, chunk_document
from ingest.load import load_corpus

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


@pytest.fixture(scope="module")
def documents() -> dict[str, Document]:
    return {d.doc_id: d for d in load_corpus(CORPUS)}


def test_every_chunk_quote_is_the_exact_document_span(documents: dict[str, Document]) -> None:
    total = 0
    for document in documents.values():
        for chunk in chunk_document(document):
            assert document.text[chunk.start : chunk.end] == chunk.quote
            assert chunk.quote == chunk.quote.strip()
            total += 1
    assert total > 40


def test_cleaning_joins_hyphenation_and_drops_markup() -> None:
    assert "Woningcorporatie" in clean_for_search("Woningcorpo- ratie (of andere verhuurder)")
    assert "huurovereenkomst" in clean_for_search("Zorgovereenkomst en huurovereen- komst")
    assert "wet- en regelgeving" in clean_for_search("ruimte in wet- en regelgeving ervaren")
    cleaned = clean_for_search("Het [volledige manifest](#) en **Autonomie:** tekst\nLees meer")
    assert cleaned == "Het volledige manifest en Autonomie: tekst"


def test_navigation_lines_never_become_search_text(documents: dict[str, Document]) -> None:
    for document in documents.values():
        for chunk in chunk_document(document):
            for phrase in ("Deel dit bericht", "Taskforce Wonen en Zorg bestaat uit:", "Lees meer"):
                assert phrase not in chunk.search_text


def test_sections_follow_headings(documents: dict[str, Document]) -> None:
    chunks = chunk_document(documents["wonen-met-begeleiding"])
    sections = {c.section for c in chunks}
    assert "Wat zijn de doelen? En welke acties zijn daarvoor nodig? › Doelstelling 2" in sections
    assert any(s.endswith("› 5. Uitvoeren") for s in sections)
    visie = {c.section for c in chunk_document(documents["fase-2-visie"])}
    assert "Bernheze" in visie


def test_duplicated_heading_is_one_section(documents: dict[str, Document]) -> None:
    chunks = chunk_document(documents["fase-4-uitvoering"])
    stimulering = [c for c in chunks if "Stimuleringsregeling" in c.quote]
    assert (
        stimulering[0].section
        == "Financiële hulpinitiatieven › Voor burgers en sociale ondernemers"
    )


def test_contract_table_stays_in_one_chunk(documents: dict[str, Document]) -> None:
    chunks = chunk_document(documents["wonen-met-begeleiding"])
    table = [c for c in chunks if "Eigenaar wooneenheden:" in c.quote]
    assert len(table) == 1
    assert "Figuur 1" in table[0].quote and "Overeenkomsten:" in table[0].quote


def test_short_lists_stay_whole(documents: dict[str, Document]) -> None:
    chunks = chunk_document(documents["fase-2-visie"])
    topics = [c for c in chunks if "een duiding van de woonzorgopgave" in c.quote]
    assert len(topics) == 1
    assert "communicatiestrategieën om urgentie te creëren" in topics[0].quote


def test_chunk_size_is_bounded(documents: dict[str, Document]) -> None:
    limits = ChunkSettings(max_chars=600, min_chars=100)
    for document in documents.values():
        for chunk in chunk_document(document, limits):
            assert document.text[chunk.start : chunk.end] == chunk.quote
            lines = [len(line) for line in chunk.quote.splitlines()]
            assert chunk.end - chunk.start <= 600 or max(lines) > 600 or "\t" in chunk.quote


def test_chunk_ids_change_with_content_and_model(documents: dict[str, Document]) -> None:
    document = documents["van-visie-naar-uitvoering"]
    first = chunk_document(document, model_key="a")
    again = chunk_document(document, model_key="a")
    other_model = chunk_document(document, model_key="b")
    assert [c.chunk_id for c in first] == [c.chunk_id for c in again]
    assert not {c.chunk_id for c in first} & {c.chunk_id for c in other_model}


def test_lines_keep_offsets() -> None:
    text = "Titel\n\n  Een alinea met tekst.\n- punt een\n- punt twee\n"
    for line in split_lines(text):
        assert text[line.start : line.end] == line.text


def test_pdf_page_numbers() -> None:
    text = "Kop\n\nEerste pagina tekst met genoeg woorden hier.\fTweede pagina tekst met woorden."
    document = Document(doc_id="pdf", title="PDF", text=text)
    chunks = chunk_document(document, ChunkSettings(max_chars=50, min_chars=10))
    assert {c.page for c in chunks} == {1, 2}
