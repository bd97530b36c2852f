"""The answer step on a small corpus of its own: selection by structure, decision, conflicts,
composition. Uses the deterministic fake embedder and the hand-set default models, so no
expectation here depends on a trained model or on an evaluation item."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.answering.compose import compose
from assistant.answering.conflicts import find_conflicts
from assistant.answering.decide import (
    DEFAULT_DECISION_MODEL,
    decide,
    features,
    match_vector,
    reads_english,
    unknown_names,
)
from assistant.answering.question import SITUATION_WEIGHT, asking_sentences, question_view
from assistant.answering.select import (
    DEFAULT_UNIT_MODEL,
    SelectParams,
    agreement_vectors,
    select,
    with_source_units,
)
from assistant.config import Settings
from assistant.language.tokens import PLAIN, Analyzer
from assistant.learned import LogisticModel, learned, write_models
from assistant.service import build_assistant
from assistant.store import IndexHandle
from ingest.pipeline import run_ingest
from tests.conftest import make_settings

STEPS = (
    "# Scheiden van wonen en zorg\n\n"
    "Er zijn verschillende manieren om het scheiden van wonen en zorg aan te pakken. We geven "
    "hier een voorbeeld van een stappenplan voor gemeenten en corporaties.\n\n"
    "1. Verkennen opgave\n\nEerst brengen de partners samen de huurcontracten en de cijfers "
    "over uitstromers in kaart, met gelijke taal en een gedeeld beeld.\n\n"
    "2. Richting vinden\n\nOp basis van de cijfers bepalen de partners op bestuurlijk niveau "
    "wat de ambitie is voor de komende jaren.\n\n"
    "3. Uitvoeren\n\nTot slot voeren de partners het plan van aanpak uit en monitoren zij de "
    "voortgang in een stuurgroep.\n"
)
TEAM = (
    "# Ondersteuningsteam\n\n"
    "Het ondersteuningsteam helpt gemeenten bij vastgelopen prestatieafspraken over wonen en "
    "zorg. De gemeente betaalt een derde van de kosten, tot een maximum van € 4.000. Dit "
    "bedrag is inclusief btw.\n"
)
REGION = (
    "# Ondersteuningsteam in de regio\n\n"
    "Het ondersteuningsteam helpt gemeenten in de provincie bij vastgelopen prestatieafspraken "
    "over wonen en zorg. De gemeente betaalt een derde van de kosten, tot een maximum van "
    "€ 3.500.\n"
)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    corpus = tmp_path_factory.mktemp("corpus")
    (corpus / "stappenplan.md").write_text(STEPS, encoding="utf-8")
    (corpus / "team.md").write_text(TEAM, encoding="utf-8")
    (corpus / "regio.md").write_text(REGION, encoding="utf-8")
    settings = make_settings(tmp_path_factory.mktemp("data"), corpus_dir=corpus,
                             chunk_max_chars=260, chunk_min_chars=60)
    assert run_ingest(settings).status == "built"
    return settings


def _evidence(settings: Settings, question: str, depth: int = 1):  # type: ignore[no-untyped-def]
    assistant = build_assistant(settings)
    handle = assistant.handle()
    passages = assistant.components.retriever.retrieve(question, 8)[:depth]
    view = question_view(question, assistant.components.embedder.embed_query(question),
                         handle.analyzer, handle.bm25.idf)
    return handle, passages, view


def test_a_chosen_intro_brings_its_steps_from_beyond_the_chunk(small: Settings) -> None:
    handle, passages, view = _evidence(small, "Welk stappenplan geven jullie als voorbeeld?")
    assert "stappenplan" in passages[0].chunk.quote
    evidence = select(handle, view, passages, DEFAULT_UNIT_MODEL, SelectParams())
    texts = [c.unit.text for c in evidence.chosen]
    assert {"Verkennen opgave", "Richting vinden", "Uitvoeren"} <= set(texts)
    steps_outside = [c for c in evidence.chosen if c.unit.text == "Uitvoeren"]
    assert steps_outside[0].unit.chunk != handle.positions[passages[0].chunk.chunk_id]


def test_composition_quotes_verbatim_and_numbers_cited_sources_first(small: Settings) -> None:
    handle, passages, view = _evidence(small, "Welk stappenplan geven jullie als voorbeeld?", 3)
    evidence = select(handle, view, passages, DEFAULT_UNIT_MODEL)
    composed = compose(handle, evidence.chosen, passages, top_k=5)
    for segment in composed.segments:
        assert handle.documents[segment.doc_id].text[segment.start:segment.end] == segment.quote
        assert f"[{segment.n}]" in composed.text
    cited = [c.cited for c in composed.citations]
    assert cited == sorted(cited, reverse=True)  # cited ones first, then "ook gevonden"
    assert [c.n for c in composed.citations] == list(range(1, len(composed.citations) + 1))
    assert "- Verkennen opgave" in composed.text  # a list reads as a list, without markup


def test_an_instrument_source_joins_the_answer_after_what_retrieval_chose(
        small: Settings) -> None:
    """The catalogue's passage is added at the end and numbered after the cited passages;
    a source the answer already holds adds nothing."""
    handle, passages, view = _evidence(small, "Welk stappenplan geven jullie als voorbeeld?", 3)
    evidence = select(handle, view, passages, DEFAULT_UNIT_MODEL)
    picked = {c.index for c in evidence.chosen}
    outside = next(u for i, u in enumerate(handle.units)
                   if i not in picked and u.kind == "sentence" and len(u.text) > 40
                   and handle.units[i].chunk not in {c.unit.chunk for c in evidence.chosen})
    span = (outside.doc_id, outside.start, outside.end)
    chosen = with_source_units(handle, evidence, [span])
    assert chosen[:len(evidence.chosen)] == evidence.chosen
    assert [c.unit for c in chosen[len(evidence.chosen):]] == [outside]
    composed = compose(handle, chosen, passages, top_k=5)
    added = [s for s in composed.segments if s.start == outside.start][0]
    assert added.n == max(s.n for s in composed.segments)
    assert composed.text.rstrip().endswith(f"[{added.n}]")
    before = [(c.doc_id, c.start) for c in
              compose(handle, evidence.chosen, passages, top_k=5).citations if c.cited]
    after = [(c.doc_id, c.start) for c in composed.citations if c.cited]
    assert after[:len(before)] == before and len(after) == len(before) + 1
    first = evidence.chosen[0].unit
    assert with_source_units(handle, evidence, [(first.doc_id, first.start, first.end)]) == (
        evidence.chosen)


def test_a_leaning_sentence_comes_with_its_antecedent(small: Settings) -> None:
    handle, passages, view = _evidence(small, "Is het bedrag inclusief btw?", 3)
    evidence = select(handle, view, passages, DEFAULT_UNIT_MODEL)
    texts = [c.unit.text for c in evidence.chosen]
    if "Dit bedrag is inclusief btw." in texts:
        index = texts.index("Dit bedrag is inclusief btw.")
        assert index > 0 and "maximum van € 4.000" in texts[index - 1]


def test_different_figures_in_two_documents_are_both_shown(small: Settings) -> None:
    handle, passages, view = _evidence(
        small, "Hoeveel betaalt een gemeente maximaal voor het ondersteuningsteam?", 4)
    evidence = select(handle, view, passages, DEFAULT_UNIT_MODEL)
    with_both, conflicts = find_conflicts(handle, evidence)
    assert conflicts, "the € 4.000 and € 3.500 sources must be recognised as a conflict"
    values = {figure.text for figure, _ in conflicts[0].values}
    assert values == {"€ 4.000", "€ 3.500"}
    composed = compose(handle, with_both.chosen, passages, 5, conflicts)
    numbers = {v.n for v in composed.conflicts[0].values}
    assert len(numbers) == 2 and "verschillende waarden" in composed.text


def test_a_question_the_documents_do_not_touch_is_refused(small: Settings) -> None:
    handle, passages, view = _evidence(small, "Wat is de hoofdstad van Frankrijk?", 3)
    decision = decide(handle, select(handle, view, passages, DEFAULT_UNIT_MODEL),
                      DEFAULT_DECISION_MODEL, None)
    assert not decision.answer and decision.reason in ("buiten-documenten", "onbekende-naam",
                                                       "niet-in-documenten")


def test_the_decision_weighs_how_the_question_agrees_with_its_closest_units(
    small: Settings,
) -> None:
    """`match` is a model over question vector × the mean vector of the three closest
    candidate units: what it learned decides, through the decision model, to answer or not."""
    handle, passages, view = _evidence(small, "Wat kost het ondersteuningsteam een gemeente?", 3)
    evidence = select(handle, view, passages, DEFAULT_UNIT_MODEL)
    closest = sorted(evidence.candidates, key=lambda c: -c.dense)[:3]
    expected = view.vector * np.mean([handle.unit_vectors[c.index] for c in closest], axis=0)
    agreement = match_vector(handle, evidence)
    assert np.allclose(agreement, expected) and np.linalg.norm(agreement) > 0

    def over_agreement(sign: float) -> LogisticModel:
        names = tuple(f"e{i}" for i in range(agreement.shape[0]))
        return LogisticModel(names, sign * agreement / np.linalg.norm(agreement), 0.0,
                             np.zeros(len(names)), np.full(len(names), 0.01))

    only_match = LogisticModel.manual({"match": 8.0}, bias=-4.0)
    assert features(handle, evidence, None)["match"] == 0.5
    trusting = decide(handle, evidence, only_match, None, over_agreement(1.0))
    doubting = decide(handle, evidence, only_match, None, over_agreement(-1.0))
    assert trusting.features and trusting.features["match"] > 0.9 and trusting.answer
    assert doubting.features and doubting.features["match"] < 0.1 and not doubting.answer


def test_a_words_only_decision_refuses_a_question_sharing_no_word_with_its_passage(
    small: Settings,
) -> None:
    """Without dense features a model has only words to go on: however its weights lean, a
    question none of whose words its best passage holds is refused; a model that also sees
    meaning decides itself."""
    handle, passages, view = _evidence(small, "Hoe bak ik een appeltaart?", 3)
    evidence = select(handle, view, passages, DEFAULT_UNIT_MODEL)
    assert evidence.chosen and features(handle, evidence, None)["passage_cover"] == 0
    words_only = LogisticModel.manual({"length": 0.1}, bias=10.0)
    with_meaning = LogisticModel.manual({"length": 0.1, "passage_dense": 0.1}, bias=10.0)
    assert not decide(handle, evidence, words_only, None).answer
    assert decide(handle, evidence, with_meaning, None).answer


def test_selection_weighs_the_dimensions_in_which_question_and_unit_agree(
    small: Settings,
) -> None:
    """A unit the cosine ranks low comes first when the `agreement` model learned that its
    kind of agreement with the question marks an answer, and last under the opposite model."""
    handle, passages, view = _evidence(small, "Wat kost het ondersteuningsteam een gemeente?", 3)
    plain = select(handle, view, passages, DEFAULT_UNIT_MODEL)
    rows = agreement_vectors(view.vector, handle.unit_vectors[[c.index for c in plain.candidates]])
    # a unit below the cosine's best with a dimension of agreement no other unit reaches
    leads = [(c, int(np.argmax(rows[i] - np.delete(rows, i, axis=0).max(axis=0))), i)
             for i, c in enumerate(plain.candidates)]
    unique = [(c, k) for c, k, i in leads if rows[i, k] > np.delete(rows, i, axis=0)[:, k].max()]
    target, dimension = min(unique, key=lambda pair: pair[0].dense)
    assert target.dense < max(c.dense for c in plain.candidates)
    names = tuple(f"e{i}" for i in range(rows.shape[1]))
    only_agreement = LogisticModel.manual({"agreement": 10.0}, bias=-5.0)
    column = np.sort(rows[:, dimension])
    mean, scale = np.zeros(len(names)), np.ones(len(names))
    mean[dimension] = (column[-1] + column[-2]) / 2  # between the target and the runner-up
    scale[dimension] = (column[-1] - column[-2]) / 4
    for sign, place in ((1.0, 0), (-1.0, -1)):
        weights = np.zeros(len(names))
        weights[dimension] = sign
        learned_dimension = LogisticModel(names, weights, 0.0, mean, scale)
        evidence = select(handle, view, passages, only_agreement, agreement=learned_dimension)
        ranked = sorted(evidence.candidates, key=lambda c: -c.relevance)
        assert ranked[place].index == target.index
    assert {c.features["agreement"] for c in plain.candidates} == {0.5}


def test_the_sentences_that_ask_lead_and_the_situation_weighs_less() -> None:
    """In "We hebben € 5.000 budget. Welke subsidie past?" the amount is situation: the
    request asks for a subsidy, not an amount, and its own words weigh most."""
    text = "Ons dorp heeft € 5.000 budget voor ontmoeting. Welke subsidie past bij een hofje?"
    assert asking_sentences(text) == ("Welke subsidie past bij een hofje?",
                                      "Ons dorp heeft € 5.000 budget voor ontmoeting.")
    analyzer = Analyzer()
    idf = {term: 2.0 for term in analyzer.analyze(text)}
    view = question_view(text, np.zeros(3), analyzer, idf)
    subsidie, dorp = analyzer.analyze("subsidie")[0], analyzer.analyze("dorp")[0]
    assert view.weights[subsidie] == 2.0 and view.weights[dorp] == 2.0 * SITUATION_WEIGHT
    assert view.asked == frozenset() and view.text == text
    assert asking_sentences("Wat kost het? En hoe lang?") == ("Wat kost het? En hoe lang?", "")
    assert asking_sentences("Graag uitleg over de Blijverslening.") == (
        "Graag uitleg over de Blijverslening.", "")
    assert question_view("Hoeveel kost het team?", np.zeros(3), analyzer, idf).asked == {
        "bedrag"}


def test_names_unknown_to_the_live_index_are_named(small: Settings) -> None:
    handle: IndexHandle = build_assistant(small).handle()
    assert unknown_names(handle, "Betaalt de gemeente Zwolle het ondersteuningsteam?") == [
        "Zwolle"]
    assert unknown_names(handle, "Niemand weet of het Ondersteuningsteam helpt") == []
    # English capitalises months and nationalities; those are words, a town is still a name
    assert unknown_names(
        handle, "Which Dutch guide from May explains the support team for Zwolle?") == ["Zwolle"]
    assert reads_english(PLAIN.words("Which guide explains the support team?"))
    assert not reads_english(PLAIN.words("Welke handreiking legt het ondersteuningsteam uit?"))


def test_learned_models_round_trip_and_fall_back(tmp_path: Path) -> None:
    model = LogisticModel.manual({"a": 2.0, "b": -1.0}, bias=0.5, threshold=0.4)
    path = tmp_path / "models.json"
    write_models({"lexical": {"units": model}}, path=path)
    write_models({"some-model:full": {"decision": model}}, path=path)
    loaded = learned("units", "other-model:full", path=path)
    assert loaded is not None and loaded.threshold == pytest.approx(0.4)
    assert loaded.probability({"a": 1.0, "b": 0.0}) == pytest.approx(
        1 / (1 + np.exp(-2.5)))
    assert learned("decision", "some-model:full", fallback=False, path=path) is not None
    assert learned("units", "some-model:full", fallback=False, path=path) is None


def _loan_page(place: str, rate: str) -> str:
    return (
        f"# Lenen voor aanpassingen\n\n"
        f"De gemeente {place} helpt inwoners die langer thuis willen wonen, bijvoorbeeld met "
        f"een traplift of een badkamer beneden.\n\n"
        f"## Rente en looptijd\n\n"
        f"De rente is {rate} en staat vast. U lost in 10, 15 of 20 jaar af.\n"
    )


@pytest.fixture(scope="module")
def two_places(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Two municipal pages built alike: only the title (or publisher) says whose page it is."""
    corpus = tmp_path_factory.mktemp("places")
    (corpus / "lenen-a.md").write_text(_loan_page("Alfadorp", "2,1 %"), encoding="utf-8")
    (corpus / "lenen-b.md").write_text(_loan_page("Betastad", "3,4 %"), encoding="utf-8")
    (corpus / "documents.yaml").write_text(
        "lenen-a.md:\n  id: lenen-a\n  title: Lenen voor aanpassingen\n"
        "  publisher: Gemeente Alfadorp\n"
        "lenen-b.md:\n  id: lenen-b\n  title: Lenen voor aanpassingen – Gemeente Betastad\n"
        "  publisher: Gemeente Betastad\n", encoding="utf-8")
    settings = make_settings(tmp_path_factory.mktemp("data"), corpus_dir=corpus,
                             chunk_max_chars=200, chunk_min_chars=40)
    assert run_ingest(settings).status == "built"
    return settings


@pytest.mark.parametrize(("place", "doc_id", "rate"),
                         [("Alfadorp", "lenen-a", "2,1 %"), ("Betastad", "lenen-b", "3,4 %")])
def test_a_detail_is_found_on_the_page_of_the_place_the_question_names(
        two_places: Settings, place: str, doc_id: str, rate: str) -> None:
    """The rate's passage never names the municipality; the document's context (its title,
    or the publisher where the title does not name it) does, for both searches."""
    handle, passages, _ = _evidence(two_places, f"Wat is de rente in {place}?", depth=3)
    assert passages[0].chunk.doc_id == doc_id
    assert rate in passages[0].chunk.quote and place not in passages[0].chunk.quote
    assert handle.documents["lenen-a"].context == "Lenen voor aanpassingen (Gemeente Alfadorp)"
    assert handle.documents["lenen-b"].context == "Lenen voor aanpassingen – Gemeente Betastad"
