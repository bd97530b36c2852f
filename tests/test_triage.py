"""Triage of reported knelpunten: the taxonomy as data, refusing what is not a report,
redaction before anything sees the text, and explanations that quote the report.

Labels themselves are measured by the evaluation harness on holdout, never asserted here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from fastapi.testclient import TestClient

from assistant.api import create_app
from assistant.config import Settings
from assistant.embedder import HashingEmbedder
from assistant.language.sentences import split_sentences
from assistant.rules.taxonomy import (
    FASE_IDS,
    THEME_IDS,
    TaxonomyError,
    build_taxonomy,
    read_taxonomy,
)
from assistant.schemas import TriageItem
from assistant.service import HelpDesk, InvalidRequest, build_assistant
from assistant.triage.classify import LONG_REPORT, WINDOW, reading_windows, with_windows
from assistant.triage.report import NotAReport, check_report
from ingest.load import load_corpus
from tests.conftest import CORPUS


class RecordingEmbedder(HashingEmbedder):
    """The fake embedder, remembering every text it was given."""

    def __init__(self) -> None:
        super().__init__(256)
        self.seen: list[str] = []

    @property
    def model_key(self) -> str:
        return "hashing-v1:256"

    def embed_documents(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        self.seen.extend(texts)
        return super().embed_documents(texts, show_progress)

    def embed_query(self, text: str) -> np.ndarray:
        self.seen.append(text)
        return super().embed_query(text)


REPORT = (
    "Namens de corporatie meld ik dat mevrouw Jansen (BSN 111222333, tel. 06-12345678) "
    "over twee weken haar kamer kwijt is, omdat de zorgaanbieder haar begeleiding stopt. "
    "De gemeente en de zorgaanbieder wijzen naar elkaar en niemand neemt de regie."
)


@pytest.fixture(scope="module")
def desk(fake_index: Settings) -> tuple[HelpDesk, RecordingEmbedder]:
    embedder = RecordingEmbedder()
    return HelpDesk(fake_index, build_assistant(fake_index, embedder)), embedder


def test_taxonomy_is_data_with_located_citations() -> None:
    spec = read_taxonomy(CORPUS)
    taxonomy = build_taxonomy(spec, {d.doc_id: d for d in load_corpus(CORPUS)})
    assert [t.spec.id for t in taxonomy.themes] == list(THEME_IDS)
    assert [f.id for f in taxonomy.fases] == list(FASE_IDS)
    assert taxonomy.problems == [] and taxonomy.signals
    texts = {d.doc_id: d.text for d in load_corpus(CORPUS)}
    for theme in taxonomy.themes:
        assert theme.citations
        for source in theme.citations:
            assert texts[source.doc_id][source.start:source.end] == source.quote


def test_a_broken_taxonomy_is_refused(corpus_copy: Path) -> None:
    path = corpus_copy / "triage_taxonomy.yaml"
    data = yaml.safe_load(path.read_text("utf-8"))
    data["fases"] = data["fases"][:2]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(TaxonomyError, match="fases"):
        read_taxonomy(corpus_copy)


@pytest.mark.parametrize("text", [
    "", "   ", "hulp!", "asdkjh qwe zxcv mnbv lkjh poiu zzzt",
    "The care provider stops supporting our tenant next week, what can we do now?",
    "Die Wohnungsbaugesellschaft hat den Vertrag gekündigt und wir wissen nicht weiter.",
    "Le bailleur social a résilié le contrat et nous ne savons plus quoi faire maintenant.",
])
def test_what_is_not_a_report_is_refused(text: str) -> None:
    with pytest.raises(NotAReport, match="Beschrijf"):
        check_report(text)


@pytest.mark.parametrize("text", [
    "Het housing first team heeft geen budget meer voor de case managers, dus de pilot stopt.",
    "Onze community manager zegt dat het buurthuis dichtgaat; de seniors missen hun meeting point.",
])
def test_dutch_with_english_loanwords_is_a_report(text: str) -> None:
    """Policy Dutch borrows English terms; the Dutch around them decides the language, where a
    word-by-word majority refused the first of these."""
    check_report(text)


def test_a_refused_report_is_not_queued(fake_index: Settings, tmp_path: Path) -> None:
    settings = fake_index.model_copy(update={"sqlite_path": tmp_path / "queue.sqlite"})
    with TestClient(create_app(settings)) as client:
        for text in ("", "qwerty asdf zxcv uiop hjkl bnm", "ok"):
            response = client.post("/api/triage", json={"report": text})
            assert response.status_code == 422 and "melding" in response.text.lower()
        desk = HelpDesk(settings, build_assistant(settings))
        assert desk.store.list()["total"] == 0


LONG_EMAIL = (
    "Beste helpdesk, wij werken in de gemeente aan een nieuwe woonzorgvisie en lopen tegen "
    "een paar dingen aan. De corporatie wil pas meepraten als de gemeente zegt wat zij zelf "
    "investeert. De zorgaanbieders zijn tot nu toe niet uitgenodigd.\n\n"
    "Daarnaast speelt er een geval dat niet kan wachten. Meneer De Wit (tel. 06-87654321) "
    "moet over drie weken zijn kamer uit, omdat zijn begeleiding stopt. Niemand weet waar hij "
    "daarna kan wonen.\n\n"
    "Tot slot: de raad wil het stuk voor de zomer vaststellen, maar er staan nog geen cijfers "
    "in over de vraag naar geschikte woningen voor ouderen. Met vriendelijke groet, Petra."
)


def test_windows_are_runs_of_whole_sentences_halfway_apart() -> None:
    spans = [LONG_EMAIL[s.start:s.end] for s in split_sentences(LONG_EMAIL)]
    windows = reading_windows(LONG_EMAIL)
    assert len(LONG_EMAIL) >= LONG_REPORT and len(windows) > 2
    covered = set()
    for window in windows:
        inside = [i for i, sentence in enumerate(spans) if sentence in window]
        assert window.startswith(spans[inside[0]]) and window.endswith(spans[inside[-1]])
        assert len(window) <= WINDOW or len(inside) == 1
        covered.update(inside)
    assert covered == set(range(len(spans)))
    assert all(a != b for a, b in zip(windows, windows[1:], strict=False))
    assert reading_windows("Eén zin.") == ["Eén zin."] and reading_windows("") == []


def test_a_theme_raised_in_one_part_counts_half_from_that_part() -> None:
    whole = {"financiering": 0.2, "regelgeving": 0.3}
    windows = [{"financiering": 0.9, "regelgeving": 0.1}, {"financiering": 0.3, "regelgeving": 0.2}]
    assert with_windows(whole, windows) == pytest.approx({"financiering": 0.55,
                                                          "regelgeving": 0.25})
    assert with_windows(whole, []) == whole


def _submit_recording(desk: tuple[HelpDesk, RecordingEmbedder], report: str
                      ) -> tuple[TriageItem, list[str]]:
    """The queued item and every text the embedder was given for it."""
    helpdesk, embedder = desk
    embedder.seen.clear()
    return helpdesk.submit(report), embedder.seen


def test_a_long_report_is_also_read_in_redacted_windows(
    desk: tuple[HelpDesk, RecordingEmbedder]
) -> None:
    item, seen = _submit_recording(desk, LONG_EMAIL)
    windows = reading_windows(item.redacted_report)
    assert set(windows) <= set(seen)
    assert any(len(split_sentences(window)) > 1 for window in windows)
    assert all("06-87654321" not in text and "De Wit" not in text for text in seen)


def test_personal_data_is_redacted_before_anything_sees_it(
    desk: tuple[HelpDesk, RecordingEmbedder]
) -> None:
    item, seen = _submit_recording(desk, REPORT)
    assert seen, "the report was embedded"
    for text in [*seen, item.model_dump_json()]:
        assert "111222333" not in text and "06-12345678" not in text and "Jansen" not in text
    assert "[BSN]" in item.redacted_report and item.short_id.startswith("KP-")


def test_every_theme_says_why_in_the_reports_own_words(
    desk: tuple[HelpDesk, RecordingEmbedder]
) -> None:
    helpdesk, _ = desk
    item = helpdesk.submit(REPORT)
    assert item.themes and item.fase in FASE_IDS
    for theme in item.themes:
        quoted = theme.reason.split("\u201c", 1)[1].rstrip("\u201d")
        assert quoted in item.redacted_report and len(quoted) < len(item.redacted_report)
    for reason in item.urgency_reasons:
        assert reason.quote in item.redacted_report
    for support in item.support:
        assert support.id in {"verzilverlening", "blijverslening", "knelpunt-melden",
                              "stimuleringsregeling-wonen-en-zorg", "aangewezen-gebouw",
                              "ondersteuningsteam-wonen-en-zorg"}


def test_support_is_judged_on_the_reports_embedding(
    desk: tuple[HelpDesk, RecordingEmbedder]
) -> None:
    """What help a report asks for shows in its meaning, not only in evidence for the
    instrument: a support model may weigh the report's embedding."""
    from dataclasses import replace

    from assistant.learned import LogisticModel

    helpdesk, _ = desk
    engine = helpdesk.engine()
    analysis = engine.analyse(REPORT)
    strongest = int(np.argmax(np.abs(analysis.vector)))
    sign = float(np.sign(analysis.vector[strongest]))
    # a model that learned this option from one direction of the embedding alone
    model = LogisticModel.manual({f"e{strongest}": 40.0 * sign},
                                 bias=-20.0 * abs(float(analysis.vector[strongest])),
                                 note="test")
    team = "ondersteuningsteam-wonen-en-zorg"
    saved = engine.models
    try:
        engine.models = replace(saved, support={team: model})
        suggested = [s["id"] for s in engine.triage(REPORT).support]
        engine.models = replace(saved, support={team: replace(model, weights=-model.weights)})
        withheld = [s["id"] for s in engine.triage(REPORT).support]
    finally:
        engine.models = saved
    assert team in suggested and team not in withheld


def test_an_oversized_report_is_refused(desk: tuple[HelpDesk, RecordingEmbedder]) -> None:
    with pytest.raises(InvalidRequest, match="te lang"):
        desk[0].submit("woning " * 1000)


def test_labels_reach_the_page_from_the_taxonomy(desk: tuple[HelpDesk, RecordingEmbedder]) -> None:
    labels = desk[0].labels()
    assert [t.id for t in labels.themes] == list(THEME_IDS)
    assert {f.id for f in labels.fases} == set(FASE_IDS)
    assert all(t.description for t in labels.themes)
    assert {s.id for s in labels.support} >= {"knelpunt-melden", "blijverslening"}


def test_urgency_weighs_the_report_embedding_and_quotes_the_riskiest_sentence() -> None:
    from assistant.learned import LogisticModel
    from assistant.triage.urgency import Signal, features, judge

    risk = np.array([1.0, 0.0, 0.0])
    signals = [Signal("dakloos", "Geen slaapplek", risk)]
    sentences = ["We plannen een overleg.", "Hij slaapt sinds gisteren in zijn auto."]
    sentence_vectors = np.array([[0.0, 1.0, 0.0], [0.9, 0.1, 0.0]])
    report_vector = np.array([0.2, 0.0, 0.98])
    values, _ = features(report_vector, sentence_vectors, signals, " ".join(sentences))
    assert values["e2"] == pytest.approx(0.98)
    assert values["risk"] == pytest.approx(0.9)
    # a model that learned urgency from the report's embedding alone
    model = LogisticModel.manual({"e2": 10.0}, bias=-5.0, note="test")
    urgency = judge(sentences, report_vector, sentence_vectors, signals, " ".join(sentences),
                    model)
    assert urgency.urgent
    assert urgency.reasons[0]["quote"] == sentences[1]
    calm = judge(sentences, np.array([0.0, 1.0, 0.0]), sentence_vectors, signals,
                 " ".join(sentences), model)
    assert not calm.urgent and not calm.reasons
