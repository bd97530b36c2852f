"""The instrument catalogue: data as pydantic models, sources located by their text, stated
situations judged against the conditions, and matching by meaning and evidence."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from assistant.domain import Document
from assistant.embedder import HashingEmbedder
from assistant.instruments import (
    DEFAULT_INSTRUMENT_MODEL,
    InstrumentMatcher,
    catalogue_entry,
    format_catalogue,
    judge,
    mentions,
    names_in,
    to_api,
)
from assistant.learned import LogisticModel
from assistant.rules.catalogue import Catalogue, CatalogueError, build_catalogue, read_spec
from assistant.schemas import InstrumentSuggestion
from ingest.load import load_corpus
from tests.conftest import CORPUS

REQUIRED = {"verzilverlening", "blijverslening", "stimuleringsregeling-wonen-en-zorg",
            "ondersteuningsteam-wonen-en-zorg", "aangewezen-gebouw", "knelpunt-melden"}


def documents(corpus: Path = CORPUS) -> dict[str, Document]:
    return {d.doc_id: d for d in load_corpus(corpus)}


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return build_catalogue(read_spec(CORPUS), documents())


def _fits(catalogue: Catalogue, instrument_id: str, question: str) -> bool:
    instrument = catalogue.get(instrument_id)
    assert instrument is not None
    return judge(instrument, catalogue.facts(question), 1.0).fits


def test_every_required_entry_with_located_verbatim_sources(catalogue: Catalogue) -> None:
    assert {i.id for i in catalogue.instruments} == REQUIRED
    assert catalogue.problems == []
    texts = documents()
    for instrument in catalogue.instruments:
        for source in instrument.sources:
            assert source is not None
            assert texts[source.doc_id].text[source.start:source.end] == source.quote


def test_an_edit_elsewhere_in_a_document_moves_nothing(corpus_copy: Path) -> None:
    path = corpus_copy / "fase-4-uitvoering.txt"
    path.write_text("Een nieuwe eerste regel.\n\n" + path.read_text("utf-8"), encoding="utf-8")
    edited = build_catalogue(read_spec(corpus_copy), documents(corpus_copy))
    assert edited.problems == []
    source = edited.get("verzilverlening").sources[0]  # type: ignore[union-attr]
    assert source is not None and source.start > 2786  # found again, further down


def test_a_quote_that_no_longer_exists_disables_only_that_source(corpus_copy: Path) -> None:
    path = corpus_copy / "fase-4-uitvoering.txt"
    text = path.read_text("utf-8")
    path.write_text(text.replace("In april 2019 waren ongeveer 100 gemeenten", "Vroeger waren"),
                    encoding="utf-8")
    edited = build_catalogue(read_spec(corpus_copy), documents(corpus_copy))
    assert len(edited.problems) == 1 and "verzilverlening" in edited.problems[0]
    sources = edited.get("verzilverlening").sources  # type: ignore[union-attr]
    assert sources[2] is None and sources[0] is not None


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["instruments"][0].pop("name"), "name"),
    (lambda d: d["instruments"][0]["eligibility"][0].update(source=9), "bron 9"),
    (lambda d: d["instruments"][2]["eligibility"][0].update(why="{nergens}"), "nergens"),
    (lambda d: d["instruments"][0]["eligibility"][0].update(instead="bestaat-niet"),
     "bestaat-niet"),
    (lambda d: d["instruments"].append(dict(d["instruments"][0])), "dubbele"),
])
def test_an_invalid_catalogue_is_refused_with_the_reason(corpus_copy: Path, edit, message) -> None:  # type: ignore[no-untyped-def]
    path = corpus_copy / "instruments.yaml"
    data = yaml.safe_load(path.read_text("utf-8"))
    edit(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CatalogueError, match=message):
        read_spec(corpus_copy)


def test_stated_situations_are_read_from_the_question(catalogue: Catalogue) -> None:
    facts = catalogue.facts("Wij als corporatie willen 12 appartementen bouwen, 90 uur nodig")
    assert facts.role == {"corporatie"} and facts.units == 12 and facts.hours == 90
    assert catalogue.facts("Ik huur een woning").tenure == {"huur"}
    assert catalogue.facts("We hebben geen koopwoning").tenure == frozenset()  # negated
    assert catalogue.facts("De corporatie bouwt").role == frozenset()  # not the asker's role


@pytest.mark.parametrize("instrument, question, fits", [
    ("verzilverlening", "Ik huur een woning en wil de badkamer aanpassen.", False),
    ("verzilverlening", "Onze koopwoning is afbetaald; we willen een traplift.", True),
    ("stimuleringsregeling-wonen-en-zorg", "Wij als corporatie bouwen 20 woningen.", False),
    ("stimuleringsregeling-wonen-en-zorg", "Als bewoners willen we 3 woningen bouwen.", False),
    ("stimuleringsregeling-wonen-en-zorg", "Als bewoners willen we 8 woningen bouwen.", True),
    ("ondersteuningsteam-wonen-en-zorg", "We willen 120 uur inzet.", False),
    ("ondersteuningsteam-wonen-en-zorg", "We willen 40 uur inzet.", True),
    ("ondersteuningsteam-wonen-en-zorg", "Ik ben inwoner en zoek hulp.", False),
    ("aangewezen-gebouw", "Het gaat om zelfstandige woningen met eigen keuken.", False),
    ("aangewezen-gebouw", "Het gaat om onzelfstandige kamers voor begeleid wonen.", True),
])
def test_eligibility(catalogue: Catalogue, instrument: str, question: str, fits: bool) -> None:
    assert _fits(catalogue, instrument, question) is fits


def test_the_reason_fills_in_the_stated_numbers(catalogue: Catalogue) -> None:
    owz = catalogue.get("ondersteuningsteam-wonen-en-zorg")
    assert owz is not None
    suggestion = judge(owz, catalogue.facts("We hebben 120 uur nodig."), 1.0)
    assert "120" in suggestion.why and "80" in suggestion.why


def test_names_allow_a_typo_but_not_a_fragment(catalogue: Catalogue) -> None:
    verzilver = catalogue.get("verzilverlening")
    owz = catalogue.get("ondersteuningsteam-wonen-en-zorg")
    assert verzilver is not None and owz is not None
    assert names_in("Wat is de Verzilverlenig?", verzilver)
    assert names_in("kan het OWZ helpen?", owz)
    assert not names_in("wat is een lening?", verzilver)
    assert not names_in("wie betaalt de owzx?", owz)


def test_a_page_added_later_counts_as_evidence_when_it_names_the_instrument(
        catalogue: Catalogue) -> None:
    blijver = catalogue.get("blijverslening")
    owz = catalogue.get("ondersteuningsteam-wonen-en-zorg")
    assert blijver is not None and owz is not None
    assert mentions("De gemeente verstrekt Blijversleningen tot € 25.000.", blijver)
    assert mentions("Het Ondersteuningsteam Wonen en Zorg (OWZ) komt langs.", owz)
    assert mentions("Vraag het OWZ.", owz)
    assert not mentions("Een lening om te blijven wonen.", blijver)
    assert not mentions("Wie betaalt de owzx?", owz)
    verzilver = catalogue.get("verzilverlening")
    assert verzilver is not None
    # the provider runs other loans too: naming it is no evidence for this one
    assert not mentions("Het Stimuleringsfonds Volkshuisvesting voert beide leningen uit.",
                        verzilver)
    assert mentions("De Verzilverlening is voor eigenaar-bewoners.", verzilver)


def test_a_tenant_gets_the_blijverslening_instead(catalogue: Catalogue) -> None:
    matcher = InstrumentMatcher(catalogue, HashingEmbedder(), DEFAULT_INSTRUMENT_MODEL)
    question = "Ik huur mijn woning. Kan ik de Verzilverlening krijgen?"
    vector = HashingEmbedder().embed_query(question)
    found = {s.instrument.id: s for s in matcher.suggest(question, vector, [], [])}
    assert not found["verzilverlening"].fits
    assert found["blijverslening"].fits
    titles = {"fase-4-uitvoering": "Fase 4"}
    for suggestion in found.values():
        InstrumentSuggestion(**to_api(suggestion, titles))  # the API schema accepts it


def test_listing_and_api_entries(catalogue: Catalogue) -> None:
    listing = format_catalogue(catalogue)
    for instrument in catalogue.instruments:
        assert instrument.spec.name in listing
        entry = catalogue_entry(instrument, {})
        assert entry["sources"] and entry["conditions"] == instrument.spec.conditions


def test_a_question_that_seeks_no_support_gets_no_instrument(catalogue: Catalogue) -> None:
    """`seeks` is one value per question, shared by every instrument: a question about a text
    ("Wat staat er op de visiepagina?") should not get the catalogue's offers."""
    embedder = HashingEmbedder()
    question = "Kan ik de Blijverslening krijgen om mijn badkamer aan te passen?"
    vector = embedder.embed_query(question)
    weights = {**dict(zip(DEFAULT_INSTRUMENT_MODEL.features,
                          DEFAULT_INSTRUMENT_MODEL.weights.tolist(), strict=True)),
               "seeks": 40.0}
    model = LogisticModel.manual(weights, bias=float(DEFAULT_INSTRUMENT_MODEL.bias) - 20.0)
    dims = tuple(f"e{i}" for i in range(vector.size))

    def seeks(bias: float) -> LogisticModel:
        return LogisticModel.manual(dict.fromkeys(dims, 0.0), bias=bias)

    def suggested(matcher: InstrumentMatcher) -> set[str]:
        return {s.instrument.id for s in matcher.suggest(question, vector, [], [])}

    asks_for_help = InstrumentMatcher(catalogue, embedder, model, seeks(bias=30.0))
    asks_about_a_text = InstrumentMatcher(catalogue, embedder, model, seeks(bias=-30.0))
    assert asks_for_help.seeks_support(vector) > 0.99
    assert asks_about_a_text.seeks_support(vector) < 0.01
    assert "blijverslening" in suggested(asks_for_help)
    assert not suggested(asks_about_a_text)
    # without a trained model every question counts as halfway
    assert InstrumentMatcher(catalogue, embedder, model).seeks_support(vector) == 0.5
