"""Triage: taxonomy validation, classification behaviour, redaction first, and quality levels."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from assistant.domain import Chunk, Passage
from assistant.triage import (
    FASE_IDS,
    THEME_IDS,
    TaxonomyError,
    TriageResult,
    load_taxonomy,
    triage,
)

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
OWN = sorted((ROOT / "evals" / "data" / "tune").glob("triage*.jsonl"))  # tune split only
SUPPORT_IDS = {
    "verzilverlening", "blijverslening", "stimuleringsregeling-wonen-en-zorg",
    "ondersteuningsteam-wonen-en-zorg", "aangewezen-gebouw", "knelpunt-melden",
}
HONORIFIC_NAME = re.compile(
    r"(?i:mevrouw|meneer|mw\.|mevr\.|dhr\.|de heer)\s+((?:[A-Z]\.\s?)*(?:(?:van|de|der|den)\s)*"
    r"[A-Z][a-z]+)"
)
CONTACT_NAME = re.compile(
    r"(?:\(|Van:\s*|groet,\s*)([A-Z][a-z]+(?:\s(?:van|de|der|den))*\s[A-Z][a-z]+)"
)


def _dev_path() -> Path | None:
    for candidate in (ROOT.parent / "shared" / "evals" / "triage-dev.jsonl",):
        if candidate.is_file():
            return candidate
    return None


def _items(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


@pytest.fixture(scope="module")
def taxonomy() -> Any:
    return load_taxonomy(CORPUS)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def pii_fragments(report: str) -> set[str]:
    """Personal data in a report, found independently of assistant.privacy's rules."""
    found = set(re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", report))
    found |= set(re.findall(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?", report))
    for number in re.findall(r"\+?\(?\d[\d .()-]{6,}\d", report):
        if len(re.sub(r"\D", "", number)) >= 8:
            found.add(number.strip())
    found |= set(re.findall(r"\b\d{4} ?[A-Z]{2}\b", report))
    found |= set(re.findall(r"\b[A-Z][a-z]+(?:straat|laan|weg|plein|gracht|kade) \d+", report))
    for name in HONORIFIC_NAME.findall(report) + CONTACT_NAME.findall(report):
        found.add(name)
        found.add(name.split()[-1])
    return found


def leaks(report: str, result: TriageResult) -> list[str]:
    texts = list(_strings(result.to_dict()))
    leaked = []
    for fragment in pii_fragments(report):
        pattern = re.compile(rf"(?<!\w){re.escape(fragment)}(?!\w)")
        digits = re.sub(r"\D", "", fragment)
        if any(pattern.search(t) for t in texts) or (
            len(digits) >= 8 and any(digits in re.sub(r"\D", "", t) for t in texts)
        ):
            leaked.append(fragment)
    return leaked


def measure(items: list[dict[str, Any]], taxonomy: Any) -> dict[str, Any]:
    tp = fp = fn = fase_ok = urgent_ok = support_hit = support_total = 0
    leaked: list[str] = []
    for item in items:
        result = triage(item["report"], taxonomy)
        predicted, gold = {t["id"] for t in result.themes}, set(item["themes"])
        tp += len(predicted & gold)
        fp += len(predicted - gold)
        fn += len(gold - predicted)
        fase_ok += result.fase == item["fase"]
        urgent_ok += result.urgent == item["urgent"]
        suggested = {s["id"] for s in result.support}
        support_hit += len(suggested & set(item["expected_support"]))
        support_total += len(item["expected_support"])
        leaked += leaks(item["report"], result)
    precision, recall = tp / max(1, tp + fp), tp / max(1, tp + fn)
    return {
        "theme_f1": 2 * precision * recall / max(1e-9, precision + recall),
        "fase_accuracy": fase_ok / len(items),
        "urgent_accuracy": urgent_ok / len(items),
        "support_recall": support_hit / max(1, support_total),
        "leaks": leaked,
    }


def test_taxonomy_ids_and_verified_citations(taxonomy: Any) -> None:
    assert [t.id for t in taxonomy.themes] == list(THEME_IDS)
    assert sorted(f.id for f in taxonomy.fases) == sorted(FASE_IDS)
    assert {s.id for s in taxonomy.support} == SUPPORT_IDS
    raw = yaml.safe_load((CORPUS / "triage_taxonomy.yaml").read_text(encoding="utf-8"))
    meta = yaml.safe_load((CORPUS / "documents.yaml").read_text(encoding="utf-8"))
    texts = {m["id"]: (CORPUS / name).read_text(encoding="utf-8") for name, m in meta.items()}
    citations = [c for t in raw["themes"] for c in t["citations"]]
    citations += [s["citation"] for s in raw["similar"]]
    for c in citations:
        assert texts[c["doc_id"]][c["start"]:c["end"]] == c["quote"]
    titles = " ".join(s.title for s in taxonomy.similar)
    for place in ("Veenendaal", "Groningen", "Gouda", "Almere", "Amersfoort", "Bernheze",
                  "Rotterdam", "Maassluis", "Oldenzaal", "markttoets", "ontmoetingsruimtes",
                  "huurgrens", "flats", "platform", "mobiliseren"):
        assert place in titles


def _write_taxonomy(corpus: Path, edit: Any) -> None:
    path = corpus / "triage_taxonomy.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(raw)
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda raw: raw["themes"][0]["citations"][0].update(start=1), "citaat klopt niet"),
        (lambda raw: raw["similar"][0]["citation"].update(quote="verzonnen tekst"),
         "citaat klopt niet"),
        (lambda raw: raw["themes"][0]["citations"][0].update(doc_id="bestaat-niet"),
         "onbekend document"),
        (lambda raw: raw["themes"][1].update(id="wonen"), "themes/1/id"),
        (lambda raw: raw["themes"].pop(), "thema-ids"),
        (lambda raw: raw["themes"][0]["cues"]["strong"].append("wet- en regelgeving"),
         "geen enkel woord"),
        (lambda raw: raw["support"][0]["rules"][0].update(cues=[], oops=True), "oops"),
    ],
)
def test_invalid_taxonomy_is_refused(corpus_copy: Path, edit: Any, message: str) -> None:
    _write_taxonomy(corpus_copy, edit)
    with pytest.raises(TaxonomyError, match=message):
        load_taxonomy(corpus_copy)


def test_support_names_come_from_instruments_file_in_any_shape(corpus_copy: Path) -> None:
    (corpus_copy / "instruments.yaml").unlink(missing_ok=True)
    names = {s.id: s.name for s in load_taxonomy(corpus_copy).support}
    assert names["blijverslening"] == "Blijverslening"
    shapes = [
        {"instruments": [{"id": "blijverslening", "name": "Blijverslening (SVn)"}]},
        [{"id": "blijverslening", "name": "Blijverslening (SVn)"}],
        {"blijverslening": {"name": "Blijverslening (SVn)"}},
    ]
    for shape in shapes:
        (corpus_copy / "instruments.yaml").write_text(yaml.safe_dump(shape), encoding="utf-8")
        names = {s.id: s.name for s in load_taxonomy(corpus_copy).support}
        assert names["blijverslening"] == "Blijverslening (SVn)"
        assert names["verzilverlening"] == "Verzilverlening"
    (corpus_copy / "instruments.yaml").write_text("[: niet geldig", encoding="utf-8")
    assert {s.id for s in load_taxonomy(corpus_copy).support} == SUPPORT_IDS


class RecordingRetriever:
    def __init__(self, fail: bool = False) -> None:
        self.queries: list[str] = []
        self.fail = fail

    def retrieve(self, query: str, top_k: int, doc_ids: list[str] | None = None) -> list[Passage]:
        self.queries.append(query)
        if self.fail:
            raise RuntimeError("index niet beschikbaar")
        text = (CORPUS / "fase-4-uitvoering.txt").read_text(encoding="utf-8")
        quote = "De Blijverslening kan mensen helpen om hun woning aan te passen."
        start = text.index(quote)
        chunk = Chunk("c1", "fase-4-uitvoering", "Fase 4 – Uitvoering", "Voor gemeenten",
                      start, start + len(quote), quote, quote.lower())
        return [Passage(chunk, 0.9)] * top_k


REPORT = (
    "Van: Thomas Meijer (t.meijer@hofwijk.nl, 0412-654321). Meneer J. Kuipers (Lindelaan 14, "
    "BSN 123456782, NL91ABNA0417164300) huurt en wil zijn badkamer laten aanpassen."
)


def test_redaction_happens_before_retrieval_and_in_every_output(taxonomy: Any) -> None:
    retriever = RecordingRetriever()
    result = triage(REPORT, taxonomy, retriever=retriever, top_k=2)
    assert retriever.queries and all("Kuipers" not in q and "0412" not in q
                                     for q in retriever.queries)
    assert leaks(REPORT, result) == []
    assert "Meijer" not in json.dumps(result.to_dict(), ensure_ascii=False)
    assert result.redacted_report.startswith("Van: [NAAM] ([E-MAIL], [TELEFOON])")
    assert [c["n"] for c in result.citations] == [1, 2]
    assert result.citations[0]["quote"].startswith("De Blijverslening")
    assert result.citations[0]["score"] == 0.9


def test_failing_retriever_falls_back_to_taxonomy_citations(taxonomy: Any) -> None:
    result = triage(REPORT, taxonomy, retriever=RecordingRetriever(fail=True), top_k=3)
    texts = {
        doc: (CORPUS / f"{doc}.txt").read_text(encoding="utf-8")
        for doc in {c["doc_id"] for c in result.citations}
    }
    assert 1 <= len(result.citations) <= 3
    for c in result.citations:
        assert texts[c["doc_id"]][c["start"]:c["end"]] == c["quote"]
        assert set(c) == {"n", "doc_id", "title", "section", "quote", "start", "end", "score"}


def test_result_shape(taxonomy: Any) -> None:
    result = triage(REPORT, taxonomy)
    data = result.to_dict()
    assert TriageResult.from_dict(data) == result
    assert all(set(t) == {"id", "label", "score"} and 0 < t["score"] < 1 for t in result.themes)
    assert all(set(s) == {"id", "name", "why", "fits"} for s in result.support)
    assert all(set(s) == {"title", "citation"} for s in result.similar)
    assert result.fase in FASE_IDS


def test_rented_home_adaptation_prefers_blijverslening(taxonomy: Any) -> None:
    result = triage("Mijn moeder huurt een huurwoning en wil een traplift laten plaatsen "
                    "en de woning aanpassen.", taxonomy)
    support = {s["id"]: s for s in result.support}
    assert support["blijverslening"]["fits"] is True
    assert support["verzilverlening"]["fits"] is False
    assert "koopwoning" in support["verzilverlening"]["why"]
    assert result.support[0]["fits"] is True


@pytest.mark.parametrize(
    ("report", "urgent"),
    [
        ("De corporatie wil volgende week de woning van een cliënt ontruimen.", True),
        ("Een bewoner met dementie voelt zich onveilig na een brand in het complex.", True),
        ("Zijn begeleiding stopt over twee weken en dan moet hij uit de woning.", True),
        ("De gemeenteraad bespreekt volgende maand de nieuwe woonzorgvisie.", False),
        ("We willen de prestatieafspraken volgend jaar concreter maken.", False),
    ],
)
def test_urgency(taxonomy: Any, report: str, urgent: bool) -> None:
    assert triage(report, taxonomy).urgent is urgent


def test_similar_vraagstuk_and_knelpunt(taxonomy: Any) -> None:
    result = triage("Mag een corporatie een kapsalon beginnen in de plint van een "
                    "woonzorgcomplex, of is dat verboden door de markttoets?", taxonomy)
    assert result.similar[0]["title"].startswith("Kleinschalige commerciële activiteiten")
    assert "regelgeving" in {t["id"] for t in result.themes}
    assert "knelpunt-melden" in {s["id"] for s in result.support}


def test_nothing_recognised_still_offers_a_way_forward(taxonomy: Any) -> None:
    result = triage("Goedemiddag, ik heb een vraag.", taxonomy)
    assert result.themes == [] and result.fase == "unknown" and result.urgent is False
    assert [s["id"] for s in result.support] == ["knelpunt-melden"]
    assert triage("", taxonomy).support == []


def test_own_items_cover_themes_fases_urgency_and_pii() -> None:
    items = [item for path in OWN for item in _items(path) if item["origin"] == "own"]
    assert len(items) >= 15
    assert all(item["origin"] == "own" for item in items)
    assert {t for item in items for t in item["themes"]} == set(THEME_IDS)
    assert {item["fase"] for item in items} == set(FASE_IDS)
    assert any(item["urgent"] for item in items)
    assert any(item.get("contains_pii") for item in items)
    assert {s for item in items for s in item["expected_support"]} == SUPPORT_IDS


def test_quality_on_own_items(taxonomy: Any) -> None:
    scores = measure([item for path in OWN for item in _items(path) if item["origin"] == "own"],
                     taxonomy)
    assert scores["theme_f1"] >= 0.8, scores
    assert scores["fase_accuracy"] >= 0.75, scores
    assert scores["support_recall"] >= 0.9, scores
    assert scores["urgent_accuracy"] >= 0.9, scores
    assert scores["leaks"] == []


def test_quality_on_dev_set(taxonomy: Any) -> None:
    """Measured only: the dev set is never used to write cues or rules."""
    path = _dev_path()
    if path is None:
        pytest.skip("triage-dev.jsonl niet gevonden")
    scores = measure(_items(path), taxonomy)
    assert scores["theme_f1"] >= 0.75, scores
    assert scores["fase_accuracy"] >= 0.7, scores
    assert scores["support_recall"] >= 0.8, scores
    assert scores["leaks"] == []
