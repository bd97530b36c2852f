"""A small evaluation layout in a temporary folder and a fake API that answers from it.

The evaluation tests run against these fixtures, never against the committed gold data
(which is being extended) or the product (whose scores unit tests must not assert).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException

from evals.datasets import GENERALISATION_INDEX, resolve_set
from evals.documents import Layout, corpus_documents, generalisation_documents, texts_by_id

ALPHA = ("# Alpha\n\nDe Blijverslening helpt mensen om hun woning aan te passen. "
         "De rente is laag en de looptijd is dertig jaar.\n\n"
         "Het Ondersteuningsteam Wonen en Zorg adviseert gemeenten bij hun woonzorgvisie.\n")
BETA = ("Beta\n\nGemeenten maken prestatieafspraken met corporaties en "
        "huurdersorganisaties. Zij doen dat elk jaar opnieuw.\n")
NOORD = ("# Blijverslening Noord\n\nDe Blijverslening van gemeente Noord is er voor inwoners "
         "vanaf 60 jaar. U leent maximaal € 30.000.\n")
FREE_PAGE = ("Regeling Zuid\n\nIn regio Zuid krijgen uitstromers voorrang op een sociale "
             "huurwoning.\n")
TRAPLIFT = ("# Traplift Oost\n\nIn gemeente Oost betaalt u voor een traplift € 20 per maand.\n")
MANTELZORG = ("Mantelzorg West\n\nEen mantelzorgwoning in West is maximaal 60 m².\n")

PII_REPORT = ("Melding van mevrouw J. Jansen (j.jansen@voorbeeldmail.nl): de prestatieafspraken "
              "over wonen en zorg lopen vast.")


def question(item_id: str, text: str, doc: str | None, quote: str | None,
             facts: Sequence[str] = (), instruments: Sequence[str] = (),
             origin: str = "own", **extra: Any) -> dict[str, Any]:
    answerable = quote is not None
    return {
        "id": item_id, "question": text,
        "kind": extra.pop("kind", "factual" if answerable else "out_of_scope"),
        "answerable": answerable, "gold_docs": [doc] if doc else [],
        "gold_quotes": [quote] if quote else [], "key_facts": list(facts),
        "expected_instruments": list(instruments), "history": extra.pop("history", []),
        "origin": origin, **extra,
    }


def triage(item_id: str, report: str, origin: str = "own", **extra: Any) -> dict[str, Any]:
    return {"id": item_id, "report": report, "themes": extra.pop("themes", ["samenwerking-proces"]),
            "fase": extra.pop("fase", "prestatieafspraken"),
            "expected_support": extra.pop("expected_support", ["knelpunt-melden"]),
            "gold_docs": extra.pop("gold_docs", ["beta"]), "urgent": extra.pop("urgent", False),
            "origin": origin, **extra}


def write_jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


BLIJVERS = "De Blijverslening helpt mensen om hun woning aan te passen."
TEAM = "Het Ondersteuningsteam Wonen en Zorg adviseert gemeenten bij hun woonzorgvisie."
AFSPRAKEN = "Gemeenten maken prestatieafspraken met corporaties en huurdersorganisaties."
NOORD_QUOTE = "De Blijverslening van gemeente Noord is er voor inwoners vanaf 60 jaar."
TRAPLIFT_QUOTE = "In gemeente Oost betaalt u voor een traplift € 20 per maand."


def make_layout(root: Path) -> Layout:
    """corpus/ (alpha with metadata, beta without), tune/holdout, a generalisation suite with
    two pages (one with metadata) and two training-only pages (one with metadata)."""
    corpus = root / "corpus"
    corpus.mkdir(parents=True)
    (corpus / "alpha.txt").write_text("\ufeff" + ALPHA, encoding="utf-8")
    (corpus / "Beta.md").write_text(BETA, encoding="utf-8")
    (corpus / "documents.yaml").write_text("alpha.txt:\n  id: alpha\n  title: Alpha\n", "utf-8")
    (corpus / "instruments.yaml").write_text("instruments: []\n", encoding="utf-8")
    data = root / "evals" / "data"
    suite = root / "evals" / "generalisation"
    (suite / "documents").mkdir(parents=True)
    (suite / "documents" / "lening-noord.txt").write_text(NOORD, encoding="utf-8")
    (suite / "documents" / "Regeling Zuid.md").write_text(FREE_PAGE, encoding="utf-8")
    (suite / "documents.yaml").write_text(
        "lening-noord.txt:\n  id: blijverslening-noord\n  title: Blijverslening Noord\n", "utf-8")
    write_jsonl(data / "tune" / "questions.jsonl", [
        question("t1", "Wat doet de Blijverslening?", "alpha", BLIJVERS,
                 ["woning aan te passen"], ["blijverslening"], origin="shared-dev",
                 kind="instrument"),
        question("t2", "Wat is de huurtoeslag in 2030?", None, None, style=["missing-detail"]),
        question("t3", "En wie maken die?", "beta", AFSPRAKEN, ["corporaties"], kind="followup",
                 history=[{"role": "user", "content": "Wat zijn prestatieafspraken?"}],
                 style=["followup", "terse"]),
        question("t4", "wie adviseert gemeentes bij de woonzorgvisie", "alpha", TEAM,
                 ["Ondersteuningsteam"], style=["typos"]),
    ])
    write_jsonl(data / "tune" / "questions-extra.jsonl", [
        question("t5", "Schrijf een gedicht over verhuizen.", None, None, style=["task"]),
    ])
    write_jsonl(data / "tune" / "triage.jsonl", [
        triage("tt1", PII_REPORT, contains_pii=True, origin="shared-dev", urgent=True),
        triage("tt2", "Niemand voelt zich eigenaar van de afspraken."),
    ])
    write_jsonl(data / "tune" / "triage-extra.jsonl", [
        triage("tt3", "Voor de ontmoetingsruimte in het complex is geen geld.",
               themes=["financiering"]),
    ])
    write_jsonl(data / "holdout" / "questions.jsonl", [
        question("h1", "Hoe lang loopt de Blijverslening?", "alpha", BLIJVERS,
                 ["Blijverslening"], ["blijverslening"], origin="shared-dev"),
        question("h2", "Wat kost een parkeervergunning?", None, None),
        question("h3", "Met wie sluiten gemeenten prestatieafspraken?", "beta", AFSPRAKEN,
                 ["huurdersorganisaties"]),
    ])
    write_jsonl(data / "holdout" / "triage.jsonl", [
        triage("th1", "De afspraken met de corporatie lopen vast.", urgent=True),
    ])
    write_jsonl(suite / "questions.jsonl", [
        question("g1", "vanaf welke leeftijd blijverslening in noord?", "blijverslening-noord",
                 NOORD_QUOTE, ["60 jaar"], ["blijverslening"], origin="generalisation",
                 style=["new-document", "typos"]),
        question("g2", "What is the weather in Zuid?", None, None, origin="generalisation",
                 style=["english", "other-domain"]),
    ])
    write_jsonl(suite / "triage.jsonl", [
        triage("tg1", "Uitstromers in regio Zuid vinden geen woning.", origin="generalisation",
               gold_docs=["regeling-zuid"], themes=["woningvoorraad"], fase="uitvoering"),
    ])
    pages = data / "tune-documents"
    (pages / "documents").mkdir(parents=True)
    (pages / "documents" / "traplift-oost.md").write_text(TRAPLIFT, encoding="utf-8")
    (pages / "documents" / "Mantelzorg West.txt").write_text(MANTELZORG, encoding="utf-8")
    (pages / "documents.yaml").write_text(
        "traplift-oost.md:\n  id: traplift-oost-wmo\n  title: Traplift Oost\n", "utf-8")
    write_jsonl(pages / "questions.jsonl", [
        question("d1", "wat kost een traplift in oost?", "traplift-oost-wmo", TRAPLIFT_QUOTE,
                 ["€ 20 per maand"], style=["new-document"]),
        question("d2", "Hoe groot mag de mantelzorgwoning in West zijn, en hoe hoog?", None, None,
                 style=["new-document", "missing-detail"]),
    ])
    write_jsonl(pages / "conversations" / "questions-pages.jsonl", [
        question("c1", "En wat kost die?", "traplift-oost-wmo", TRAPLIFT_QUOTE, ["€ 20 per maand"],
                 style=["followup"]),
    ])
    return Layout(data_dir=data, generalisation_dir=suite, corpus_dir=corpus,
                  tune_documents_dir=pages)


def index_texts(layout: Layout, index: str) -> dict[str, str]:
    documents = corpus_documents(layout)
    if index == GENERALISATION_INDEX:
        documents += generalisation_documents(layout)
    return texts_by_id(documents)


def fake_app(config: str, index: str, layout: Layout, leak: bool = False,
             on_ask: Callable[[str, dict[str, Any]], dict[str, float]] | None = None) -> FastAPI:
    """Answers from the gold data: perfect for hybrid, a distractor ranked first for bm25,
    never refusing and without instruments for naive-langchain. Only the documents of its
    index exist, so an item scored on the wrong index fails. `on_ask` may replace timings."""
    texts = index_texts(layout, index)
    names = ("tune", "holdout", "generalisation")
    questions = {q.question: q for n in names for s in resolve_set(n, layout) for q in s.questions}
    reports = {t.report: t for n in names for s in resolve_set(n, layout) for t in s.triage}
    first_doc = sorted(texts)[0]
    distractor = {"doc_id": first_doc, "title": "t", "section": "",
                  "quote": texts[first_doc][:12], "start": 0, "end": 12, "score": 1.0}
    app = FastAPI()

    @app.post("/api/ask")
    def ask(body: dict[str, Any]) -> dict[str, Any]:
        timings = {"retrieve": 3.0, "answer": 1.0, "total": 4.0}
        if on_ask is not None:
            timings = on_ask(config, body)
        item = questions.get(body["question"])
        if item is None:  # a warm-up request
            return {"answer": "Wonen met zorg.", "answerable": True, "citations": [],
                    "instruments": [], "timings_ms": timings}
        if body["question"].startswith("Schrijf"):
            raise HTTPException(500, "boom")
        citations = []
        for quote in item.gold_quotes:
            doc_id = next((d for d in item.gold_docs if d in texts and quote in texts[d]), None)
            if doc_id is None:
                continue
            start = texts[doc_id].index(quote)
            citations.append({"doc_id": doc_id, "title": "t", "section": "", "quote": quote,
                              "start": start, "end": start + len(quote), "score": 0.5})
        if config == "bm25":
            citations.insert(0, distractor)
        citations = [{**c, "n": n} for n, c in enumerate(citations, start=1)]
        answerable = (item.answerable and bool(citations)) or config == "naive-langchain"
        answer = " ".join(f"{c['quote']} [{c['n']}]" for c in citations) or "Dat weet ik niet."
        instruments = [] if config == "naive-langchain" else [
            {"id": i, "name": i, "kind": "lening", "why": "", "fits": True, "source": None}
            for i in item.expected_instruments
        ]
        return {"answer": answer, "answerable": answerable, "standalone_question": item.question,
                "citations": citations, "instruments": instruments, "timings_ms": timings}

    @app.get("/api/documents/{doc_id}")
    def document(doc_id: str) -> dict[str, Any]:
        if doc_id not in texts:
            raise HTTPException(404, "onbekend document")
        return {"doc_id": doc_id, "title": "t", "text": texts[doc_id]}

    @app.post("/api/triage")
    def triage_endpoint(body: dict[str, str]) -> dict[str, Any]:
        item = reports[body["report"]]
        return {"id": "r1", "themes": [{"id": t, "label": t, "score": 1.0} for t in item.themes],
                "fase": item.fase, "support": [{"id": s, "name": s, "why": "", "fits": True}
                                               for s in item.expected_support],
                "citations": [], "similar": [], "urgent": item.urgent,
                "redacted_report": body["report"] if leak else "[verwijderd]"}

    return app
