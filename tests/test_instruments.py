"""Instrument catalogue: data integrity, conditions logic, suggestions and the dev-set guard.

Fast: no model loading; the corpus and catalogue are read once per module.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from assistant.instruments import (
    OWZ_LOCAL_MAX_EUR,
    OWZ_MAX_HOURS,
    OWZ_RIJK_MAX_EUR,
    Catalogue,
    CatalogueError,
    Instrument,
    cost_split,
    format_catalogue,
    load_catalogue,
    suggest,
    to_api,
)
from assistant.schemas import InstrumentSuggestion
from ingest.load import load_corpus

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
REQUIRED_IDS = {
    "verzilverlening", "blijverslening", "stimuleringsregeling-wonen-en-zorg",
    "ondersteuningsteam-wonen-en-zorg", "aangewezen-gebouw", "knelpunt-melden",
}
VERZILVER, BLIJVERS = "verzilverlening", "blijverslening"
STIMULERING, OWZ = "stimuleringsregeling-wonen-en-zorg", "ondersteuningsteam-wonen-en-zorg"
AANGEWEZEN, KNELPUNT = "aangewezen-gebouw", "knelpunt-melden"


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(CORPUS)


def fitting(suggestions: list[Any]) -> set[str]:
    return {s.instrument.id for s in suggestions if s.fits}


def ruled_out(suggestions: list[Any]) -> set[str]:
    return {s.instrument.id for s in suggestions if not s.fits}


def precision_recall(pairs: list[tuple[set[str], set[str]]]) -> tuple[float, float]:
    """Micro-averaged over all items, so items expecting nothing count against any guess."""
    tp = sum(len(pred & gold) for pred, gold in pairs)
    fp = sum(len(pred - gold) for pred, gold in pairs)
    fn = sum(len(gold - pred) for pred, gold in pairs)
    return (tp / (tp + fp) if tp + fp else 1.0, tp / (tp + fn) if tp + fn else 1.0)


# --- catalogue data --------------------------------------------------------------------


def test_required_entries_present(catalogue: Catalogue) -> None:
    assert {i.id for i in catalogue} >= REQUIRED_IDS
    assert len(catalogue) == len(catalogue.all())
    assert catalogue.get("bestaat-niet") is None


def test_every_source_is_verbatim(catalogue: Catalogue) -> None:
    texts = {d.doc_id: d.text for d in load_corpus(CORPUS)}
    for instrument in catalogue:
        assert instrument.sources, instrument.id
        for source in instrument.sources:
            assert texts[source.doc_id][source.start:source.end] == source.quote


def test_conditions_are_structured(catalogue: Catalogue) -> None:
    verzilver, blijvers = catalogue.get(VERZILVER), catalogue.get(BLIJVERS)
    stimulering, owz = catalogue.get(STIMULERING), catalogue.get(OWZ)
    aangewezen = catalogue.get(AANGEWEZEN)
    assert verzilver and blijvers and stimulering and owz and aangewezen
    assert verzilver.conditions["housing_tenure"] == ["koop"]
    assert "huurder" not in verzilver.for_whom
    assert set(blijvers.conditions["housing_tenure"]) == {"koop", "huur"}
    assert blijvers.conditions["municipality_must_join"] is True
    assert stimulering.conditions["min_units"] == 5
    assert stimulering.conditions["target_age_min"] == 55
    assert aangewezen.conditions["applicant"] == "verhuurder"
    assert aangewezen.conditions["submit_to"] == "Belastingdienst"
    assert {"begeleid wonen", "beschermd wonen", "beschut wonen"} <= set(
        aangewezen.conditions["care_forms"])


def test_cost_split_constants_match_catalogue(catalogue: Catalogue) -> None:
    owz = catalogue.get(OWZ)
    assert owz is not None
    share = owz.conditions["cost_share"]
    assert owz.conditions["max_hours"] == OWZ_MAX_HOURS
    assert share["local_fraction"] == "1/3"
    assert share["local_max_eur"] == OWZ_LOCAL_MAX_EUR
    assert share["rijk_max_eur"] == OWZ_RIJK_MAX_EUR


def test_format_catalogue_lists_every_entry(catalogue: Catalogue) -> None:
    listing = format_catalogue(catalogue)
    for instrument in catalogue:
        assert instrument.name in listing
    assert "€ 4.000" in listing and "Voorwaarden" in listing


def test_to_api_matches_schema(catalogue: Catalogue) -> None:
    [first, *_] = suggest("Wat is de Verzilverlening?", catalogue)
    data = to_api(first, {"fase-4-uitvoering": "Fase 4 – Uitvoering"})
    model = InstrumentSuggestion(**data)
    assert model.source is not None and model.source.title == "Fase 4 – Uitvoering"
    assert data["source"]["quote"] == first.source.quote and data["fits"] is True


# --- loading fails loudly ------------------------------------------------------------------


@pytest.fixture()
def corpus_copy(tmp_path: Path) -> Path:
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    return target


def edit_catalogue(corpus: Path, change: Any) -> None:
    path = corpus / "instruments.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def entry(data: dict[str, Any], instrument_id: str) -> dict[str, Any]:
    return next(e for e in data["instruments"] if e["id"] == instrument_id)


def test_tampered_quote_raises(corpus_copy: Path) -> None:
    def tamper(data: dict[str, Any]) -> None:
        source = entry(data, OWZ)["sources"][1]
        source["quote"] = source["quote"].replace("80 uur", "90 uur")

    edit_catalogue(corpus_copy, tamper)
    with pytest.raises(CatalogueError, match=OWZ):
        load_catalogue(corpus_copy)


def test_shifted_offset_raises_and_points_to_real_offset(corpus_copy: Path) -> None:
    def shift(data: dict[str, Any]) -> None:
        source = entry(data, VERZILVER)["sources"][0]
        source["start"] += 1
        source["end"] += 1

    edit_catalogue(corpus_copy, shift)
    with pytest.raises(CatalogueError, match=r"verzilverlening.*staat op \d+-\d+"):
        load_catalogue(corpus_copy)


def test_edited_document_wording_raises(corpus_copy: Path) -> None:
    path = corpus_copy / "fase-4-uitvoering.txt"
    path.write_text(path.read_text(encoding="utf-8").replace("55+-ers", "55-plussers"),
                    encoding="utf-8")
    with pytest.raises(CatalogueError, match=STIMULERING):
        load_catalogue(corpus_copy)


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: entry(d, BLIJVERS).update(kind="hypotheek"), "blijverslening.*kind"),
    (lambda d: entry(d, OWZ).pop("purpose"), "ondersteuningsteam.*purpose"),
    (lambda d: entry(d, OWZ)["conditions"].update(max_uren=80), "ondersteuningsteam.*max_uren"),
    (lambda d: entry(d, AANGEWEZEN).update(for_whom=["iedereen"]), "aangewezen-gebouw.*for_whom"),
    (lambda d: entry(d, KNELPUNT)["sources"][0].pop("end"), "knelpunt-melden.*end"),
])
def test_schema_violation_raises_naming_entry(corpus_copy: Path, change: Any, message: str) -> None:
    edit_catalogue(corpus_copy, change)
    with pytest.raises(CatalogueError, match=message):
        load_catalogue(corpus_copy)


def test_unknown_signal_reference_raises(corpus_copy: Path) -> None:
    edit_catalogue(corpus_copy, lambda d: entry(d, BLIJVERS)["match"]["cues"][0]["all"].append(
        "bestaat-niet"))
    with pytest.raises(CatalogueError, match="blijverslening.*bestaat-niet"):
        load_catalogue(corpus_copy)


@pytest.mark.parametrize(("why", "message"), [
    ("Tot {max_euro}.", "max_euro"), ("Tot {}.", "onbekende velden"), ("Tot {.", "onbekende"),
])
def test_bad_why_template_raises(corpus_copy: Path, why: str, message: str) -> None:
    edit_catalogue(corpus_copy, lambda d: entry(d, OWZ)["match"].update(why=why))
    with pytest.raises(CatalogueError, match=f"ondersteuningsteam.*{message}"):
        load_catalogue(corpus_copy)


def test_schema_file_is_valid_json_schema() -> None:
    from jsonschema import Draft202012Validator

    schema = json.loads((CORPUS / "instruments.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)


# --- conditions logic ----------------------------------------------------------------------


def test_huurder_is_ruled_out_for_verzilverlening_and_pointed_to_blijverslening(
        catalogue: Catalogue) -> None:
    result = suggest("Ik ben huurder en wil mijn badkamer laten aanpassen. Kan ik de "
                     "Verzilverlening gebruiken?", catalogue)
    assert ruled_out(result) == {VERZILVER}
    assert fitting(result) == {BLIJVERS}
    verzilver = next(s for s in result if s.instrument.id == VERZILVER)
    assert "huurder" in verzilver.why and "koopwoning" in verzilver.why
    assert "koopwoning" in verzilver.source.quote


def test_eigenaar_fits_verzilverlening(catalogue: Catalogue) -> None:
    result = suggest("Wij hebben een koopwoning en de hypotheek is grotendeels afgelost. We "
                     "willen een traplift en willen de woning aanpassen, welke lening past?",
                     catalogue)
    assert fitting(result) == {VERZILVER, BLIJVERS}


def test_negated_tenure_does_not_count(catalogue: Catalogue) -> None:
    result = suggest("Ik heb geen koopwoning maar huur, en wil mijn huis aanpassen. Kan dat met "
                     "de Verzilverlening?", catalogue)
    assert ruled_out(result) == {VERZILVER}


def test_corporation_is_ruled_out_for_stimuleringsregeling(catalogue: Catalogue) -> None:
    result = suggest("Wij zijn een woningcorporatie en willen een geclusterde woonvorm voor "
                     "55-plussers bouwen. Kunnen wij de Stimuleringsregeling Wonen en Zorg "
                     "aanvragen?", catalogue)
    assert ruled_out(result) == {STIMULERING}
    assert "burgers en sociale ondernemers" in result[0].why


def test_citizen_fits_stimuleringsregeling(catalogue: Catalogue) -> None:
    result = suggest("Als bewonersinitiatief willen we een hofje met acht levensloopbestendige "
                     "woningen voor senioren realiseren. Welke regeling is er?", catalogue)
    assert fitting(result) == {STIMULERING}


def test_citizen_is_ruled_out_for_owz(catalogue: Catalogue) -> None:
    result = suggest("Ik ben inwoner en wil hulp van het Ondersteuningsteam Wonen en Zorg bij "
                     "een conflict met mijn buren.", catalogue)
    assert ruled_out(result) == {OWZ}
    assert "niet individuele burgers" in result[0].why


@pytest.mark.parametrize(("units", "fits"), [(3, False), (4, False), (5, True), (12, True)])
def test_group_size_for_stimuleringsregeling(catalogue: Catalogue, units: int, fits: bool) -> None:
    result = suggest(f"Met een groep ouderen willen we een woongroep van {units} woningen bouwen. "
                     "Komt dat in aanmerking voor de Stimuleringsregeling?", catalogue)
    [suggestion] = result
    assert suggestion.instrument.id == STIMULERING and suggestion.fits is fits
    if not fits:
        assert f"er {units}" in suggestion.why and "minimaal 5" in suggestion.why


def test_single_household_is_ruled_out_for_stimuleringsregeling(catalogue: Catalogue) -> None:
    result = suggest("Mijn man en ik willen ons eigen huis levensloopbestendig maken. Komen wij "
                     "in aanmerking voor de Stimuleringsregeling Wonen en Zorg?", catalogue)
    assert STIMULERING in ruled_out(result)


@pytest.mark.parametrize(("hours", "fits"), [(40, True), (80, True), (120, False)])
def test_owz_hours_limit(catalogue: Catalogue, hours: int, fits: bool) -> None:
    result = suggest(f"We willen het OWZ {hours} uur inzetten voor ons plan van aanpak.",
                     catalogue)
    [suggestion] = result
    assert suggestion.fits is fits
    if not fits:
        assert "maximaal 80 uur" in suggestion.why and str(hours) in suggestion.why


def test_aangewezen_gebouw_only_for_supported_housing(catalogue: Catalogue) -> None:
    students = suggest("Kunnen studenten in onzelfstandige kamers huurtoeslag krijgen via een "
                       "aangewezen gebouw?", catalogue)
    assert ruled_out(students) == {AANGEWEZEN}
    supported = suggest("Kunnen bewoners van onzelfstandige kamers voor begeleid wonen "
                        "huurtoeslag krijgen?", catalogue)
    assert fitting(supported) == {AANGEWEZEN}
    assert "verhuurder" in supported[0].why and "Belastingdienst" in supported[0].why


# --- cost split --------------------------------------------------------------------------


@pytest.mark.parametrize(("total", "local", "rijk", "uncovered"), [
    (0, 0, 0, 0),
    (6000, 2000, 4000, 0),
    (12000, 4000, 8000, 0),
    (13500, 4000, 8000, 1500),
    (9000, 3000, 6000, 0),
])
def test_cost_split_arithmetic(total: float, local: float, rijk: float, uncovered: float) -> None:
    split = cost_split(60, total)
    assert split["eligible"] is True
    assert (split["local_share_eur"], split["rijk_share_eur"], split["uncovered_eur"]) == (
        local, rijk, uncovered)


def test_cost_split_over_80_hours_is_not_eligible() -> None:
    split = cost_split(80.5, 9000)
    assert split["eligible"] is False
    assert split["local_share_eur"] == split["rijk_share_eur"] == 0
    assert split["uncovered_eur"] == 9000 and "80 uur" in split["reason"]
    assert cost_split(80, 9000)["eligible"] is True


@pytest.mark.parametrize(("hours", "total"), [(0, 100), (-1, 100), (10, -5), (float("nan"), 1)])
def test_cost_split_rejects_invalid_input(hours: float, total: float) -> None:
    with pytest.raises(ValueError):
        cost_split(hours, total)


@given(hours=st.floats(min_value=0.5, max_value=80), total=st.floats(min_value=0, max_value=1e6))
def test_cost_split_invariants(hours: float, total: float) -> None:
    split = cost_split(hours, total)
    parts = split["local_share_eur"] + split["rijk_share_eur"] + split["uncovered_eur"]
    assert parts == pytest.approx(total, abs=0.02)
    assert split["local_share_eur"] <= OWZ_LOCAL_MAX_EUR
    assert split["rijk_share_eur"] <= OWZ_RIJK_MAX_EUR
    assert split["local_share_eur"] <= total / 3 + 0.01


# --- suggestions on practitioner questions -----------------------------------------------


@dataclass(frozen=True)
class Case:
    question: str
    fits: frozenset[str] = frozenset()
    ruled_out: frozenset[str] = frozenset()
    history: tuple[str, ...] = field(default_factory=tuple)


def case(question: str, fits: set[str] | None = None, out: set[str] | None = None,
         history: tuple[str, ...] = ()) -> Case:
    return Case(question, frozenset(fits or ()), frozenset(out or ()), history)


OWN_CASES = [
    # fits
    case("Mijn moeder heeft een koopwoning en haar hypotheek is bijna afgelost. Ze wil een "
         "traplift en een inloopdouche, maar heeft weinig spaargeld. Welke lening past?",
         {VERZILVER, BLIJVERS}),
    case("Een huurder van 78 wil zijn badkamer laten aanpassen, maar de verhuurder betaalt niet "
         "mee. Kan hij de Verzilverlening gebruiken?", {BLIJVERS}, {VERZILVER}),
    case("Welke leningen kunnen wij als gemeente inzetten zodat inwoners hun woning kunnen "
         "aanpassen?", {VERZILVER, BLIJVERS}),
    case("Wat is het verschil tussen de Verzilverlening en de Blijverslening?",
         {VERZILVER, BLIJVERS}),
    case("Wij zijn vijf vriendinnen van rond de 60 en willen samen een hofje met zeven "
         "levensloopbestendige koopwoningen bouwen. Is daar een regeling voor?", {STIMULERING}),
    case("Als sociaal ondernemer wil ik een oud kantoor ombouwen tot 3 appartementen voor "
         "senioren met een gezamenlijke huiskamer. Kan ik de stimuleringsregeling aanvragen?",
         out={STIMULERING}),
    case("Onze woningcorporatie wil een geclusterde woonvorm voor 55-plussers realiseren. Kunnen "
         "wij gebruikmaken van de Stimuleringsregeling Wonen en Zorg?", out={STIMULERING}),
    case("Wij zijn een zorgaanbieder en willen met de gemeente een wijkaanpak ontwikkelen, maar "
         "we missen de capaciteit om de vraagstukken in kaart te brengen.", {OWZ}),
    case("De gesprekken over de prestatieafspraken met de huurdersvereniging zitten vast en er "
         "is weinig vertrouwen. We zoeken een neutrale procesbegeleider.", {OWZ}),
    case("We willen het Ondersteuningsteam Wonen en Zorg ongeveer 120 uur inzetten voor ons "
         "plan van aanpak. Kan dat?", out={OWZ}),
    case("Wat kost het ondersteuningsteam voor een gemeente bij een inzet van 60 uur?", {OWZ}),
    case("Onze corporatie wil een voormalig verzorgingshuis met kamers en gedeelde badkamers "
         "verhuren voor beschermd wonen, maar de bewoners hebben huurtoeslag nodig. Wat nu?",
         {AANGEWEZEN}),
    case("Wie moet de aanvraag aangewezen gebouw indienen en bij welke instantie?", {AANGEWEZEN}),
    case("Gemeente, corporatie en zorgaanbieder schuiven de kosten van de gemeenschappelijke "
         "ruimte in ons woonzorgcomplex naar elkaar door. Waar kunnen we dit aankaarten?",
         {KNELPUNT}),
    case("Als corporatie mogen we door de markttoets geen kapsalon in ons woonzorgcomplex "
         "beginnen. Kan de Taskforce daar iets mee?", {KNELPUNT}),
    case("Wij lopen als gemeente al jaren tegen hetzelfde knelpunt aan: er zijn geen betaalbare "
         "geschikte huurwoningen voor ouderen met een laag inkomen. Waar kunnen we dat melden?",
         {KNELPUNT}),
    # follow-ups
    case("En voor huurders?", {BLIJVERS}, {VERZILVER},
         history=("Wat houdt de Verzilverlening in?",)),
    case("Hoeveel moeten wij daarvan zelf betalen?", {OWZ},
         history=("Wij willen als gemeente hulp van het ondersteuningsteam bij onze "
                  "prestatieafspraken.",)),
    case("Geldt die ook als we maar met drie huishoudens zijn?", out={STIMULERING},
         history=("Wat is de Stimuleringsregeling Wonen en Zorg?",)),
    case("En als het 100 uur wordt?", out={OWZ},
         history=("Kunnen we het OWZ inzetten voor onze wijkaanpak?",)),
    case("Welke lening kan ik gebruiken om mijn badkamer aan te passen?", {VERZILVER, BLIJVERS},
         history=("Ik heb een koopwoning met een bijna afgeloste hypotheek.",)),
    case("En als ik huur?", {BLIJVERS}, {VERZILVER},
         history=("Ik heb een koopwoning en wil mijn badkamer aanpassen, welke lening is er?",)),
    case("En voor eigenaren?", {VERZILVER, BLIJVERS},
         history=("Welke lening is er voor huurders die hun woning willen aanpassen?",)),
    case("Hoe vraag ik die aan?", {STIMULERING},
         history=("We willen met 8 huishoudens een woongroep voor 55-plussers bouwen. Is daar "
                  "een regeling voor?",)),
    case("En wat betekent MOBW?", history=("Wat is de Verzilverlening?",)),
    case("Onze zorgorganisatie verhuurt studio's met gedeelde keuken aan cliënten beschermd "
         "wonen. Hoe regelen we dat zij huurtoeslag krijgen?", {AANGEWEZEN}),
    case("We komen er met de zorgverzekeraar en de gemeente niet uit wie de ontmoetingsruimte "
         "betaalt. Waar kunnen we terecht?", {KNELPUNT}),
    # nothing fits
    case("Wat betekent ETHOS-light categorie 3?"),
    case("Welke onderwerpen komen vaak aan bod in een woonzorgvisie?"),
    case("Wat is een driepartijencontract?"),
    case("Hoe lang mag een tijdelijk huurcontract bij intermediaire verhuur duren?"),
    case("Welke knelpunten signaleren huurdersorganisaties volgens de wegwijzer?"),
    case("Wat is het weerbericht voor morgen in Utrecht?"),
    case("Welke rol heeft de stuurgroep in het stappenplan?"),
    case("Wat doet Rotterdam voor ouderen in het programma Ouder en Wijzer?"),
    case("Welke drie inhoudelijke thema's noemt de wegwijzer prestatieafspraken?"),
    case("Welke lessen trok Platform31 uit tien woonzorgvarianten voor senioren?"),
    case("Hoe hebben Gouda en Midden-Holland de zorgdakcontracten ingericht?"),
    case("Wat is ETHOS-light eigenlijk?", history=("Wat is de Blijverslening?",)),
    case("Welke verschillende typen prestatieafspraken beschrijft de handreiking?"),
    case("Waarom is een onafhankelijke procesregisseur soms nodig volgens de Taskforce?"),
    case("Welke drie hardnekkige vraagstukken noemt de Taskforce?"),
    case("Wie draagt de kosten van leegstand bij de overgang naar reguliere huurcontracten?"),
]


@pytest.mark.parametrize("item", OWN_CASES, ids=lambda c: c.question[:40])
def test_own_practitioner_questions(catalogue: Catalogue, item: Case) -> None:
    history = [{"role": "user", "content": turn} for turn in item.history]
    result = suggest(item.question, catalogue, history)
    assert fitting(result) == item.fits
    assert ruled_out(result) == item.ruled_out
    for suggestion in result:
        assert suggestion.why.strip() and suggestion.source in suggestion.instrument.sources


def test_own_set_precision_recall(catalogue: Catalogue) -> None:
    pairs = []
    for item in OWN_CASES:
        history = [{"role": "user", "content": turn} for turn in item.history]
        pairs.append((fitting(suggest(item.question, catalogue, history)), set(item.fits)))
    precision, recall = precision_recall(pairs)
    assert precision >= 0.9 and recall >= 0.9


def test_to_api_for_ruled_out_suggestion(catalogue: Catalogue) -> None:
    [suggestion] = suggest("Kan het OWZ 200 uur helpen bij onze wijkaanpak?", catalogue)
    data = to_api(suggestion, {})
    assert data["fits"] is False and data["source"]["title"] == data["source"]["doc_id"]
    assert "80 uur" in data["source"]["quote"]


def test_assistant_turns_are_not_context(catalogue: Catalogue) -> None:
    history = [
        {"role": "user", "content": "Wat is ETHOS-light?"},
        {"role": "assistant", "content": "Dat gaat niet over de Verzilverlening."},
    ]
    assert suggest("En wat is categorie 2?", catalogue, history) == []


def test_instrument_is_hashable(catalogue: Catalogue) -> None:
    assert len({i for i in catalogue}) == len(catalogue)
    assert all(isinstance(i, Instrument) for i in catalogue)


# --- dev-set guard -----------------------------------------------------------------------


def dev_path() -> Path:
    return (ROOT / ".." / "shared" / "evals" / "dev.jsonl").resolve()


def test_dev_precision_recall(catalogue: Catalogue) -> None:
    path = dev_path()
    if not path.exists():
        pytest.skip(f"{path} ontbreekt")
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    pairs = [(fitting(suggest(d["question"], catalogue, d.get("history") or [])),
              set(d["expected_instruments"])) for d in items]
    precision, recall = precision_recall(pairs)
    assert precision >= 0.8, precision
    assert recall >= 0.8, recall
