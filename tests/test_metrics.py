"""Every metric on small hand-made cases, edge cases included."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evals.datasets import QuestionItem, TriageItem
from evals.metrics import (
    PersonalData,
    Ratio,
    SetCounts,
    citation_precision,
    citation_recall,
    cited_sentences,
    content_words,
    covers,
    extract_personal_data,
    first_relevant_rank,
    hit_at_k,
    is_verbatim,
    key_fact_recall,
    leaked,
    ndcg_at_k,
    normalise,
    percentile,
    reciprocal_rank,
    refused,
    set_counts,
    support_recall,
    supports,
)
from evals.scoring import (
    METRICS,
    aggregate_questions,
    aggregate_triage,
    score_question,
    score_triage,
    value,
)

GOLD = "De Blijverslening kan mensen helpen om hun woning aan te passen."
OTHER = "Het SCP schreef een verkenning voor particuliere woonzorg voor ouderen."
PASSAGE = f"Voor gemeenten.\n\n{GOLD} In tegenstelling tot de Verzilverlening is deze lening ook"


# --- normalising and covering ----------------------------------------------------------

def test_normalise_unifies_typography() -> None:
    expected = "'verbeter je samenwerking' - tip"
    assert normalise("  ‘Verbeter je\n samenwerking’ – **Tip**  ") == expected
    assert normalise("“A”") == normalise('"a"') == normalise("'a'")


def test_covers_substring_after_normalising() -> None:
    assert covers(PASSAGE, GOLD.upper())
    assert covers("dilemma’s en ‘knelpunten’", "dilemma's en \"knelpunten\"")


def test_covers_by_word_overlap() -> None:
    # 10 of the 11 gold words are present (91 %) although the wording differs
    paraphrase = "De Blijverslening kan mensen helpen hun woning aan te passen (lening)."
    assert covers(paraphrase, GOLD)
    assert not covers("De Blijverslening is een lening.", GOLD)
    assert not covers(PASSAGE, "")


# --- retrieval -------------------------------------------------------------------------

def test_rank_hit_and_reciprocal_rank() -> None:
    ranked = [OTHER, PASSAGE, GOLD]
    assert first_relevant_rank(ranked, [GOLD]) == 2
    assert hit_at_k(ranked, [GOLD], 1) == 0.0
    assert hit_at_k(ranked, [GOLD], 3) == 1.0
    assert reciprocal_rank(ranked, [GOLD]) == 0.5


def test_retrieval_with_empty_citations() -> None:
    assert first_relevant_rank([], [GOLD]) is None
    assert hit_at_k([], [GOLD], 5) == 0.0
    assert reciprocal_rank([], [GOLD]) == 0.0
    assert ndcg_at_k([], [GOLD]) == 0.0
    assert citation_recall([], [GOLD]) == 0.0


def test_retrieval_needs_gold() -> None:
    for metric in (lambda: hit_at_k([GOLD], [], 1), lambda: ndcg_at_k([GOLD], []),
                   lambda: citation_recall([GOLD], [])):
        with pytest.raises(ValueError):
            metric()


def test_ndcg() -> None:
    assert ndcg_at_k([GOLD, OTHER], [GOLD, OTHER]) == pytest.approx(1.0)
    ideal = 1 + 1 / 1.5849625
    assert ndcg_at_k([OTHER, GOLD], [GOLD]) == pytest.approx(1 / 1.5849625)
    assert ndcg_at_k(["x", GOLD, OTHER], [GOLD, OTHER]) == pytest.approx(
        (1 / 1.5849625 + 0.5) / ideal
    )
    # one passage covering both quotes at rank 1 is capped at a perfect score
    assert ndcg_at_k([f"{GOLD} {OTHER}"], [GOLD, OTHER]) == 1.0
    assert ndcg_at_k(["x", GOLD], [GOLD], k=1) == 0.0


def test_citation_recall_partial() -> None:
    assert citation_recall([PASSAGE, "x"], [GOLD, OTHER]) == 0.5


# --- citations -------------------------------------------------------------------------

def test_is_verbatim() -> None:
    text = "abc def ghi"
    assert is_verbatim("def", 4, 7, text)
    assert not is_verbatim("def", 3, 6, text)
    assert not is_verbatim("def", 4, 70, text)
    assert not is_verbatim("def", -1, 3, text)
    assert not is_verbatim("def", 4, 7, None)


def test_cited_sentences() -> None:
    answer = ("De Blijverslening helpt [1]. Hij is ook voor huurders. [2]\n"
              "- Gemeenten bepalen zelf [1, 3].\nZonder bron.")
    assert cited_sentences(answer) == [
        ("De Blijverslening helpt.", {1}),
        ("Hij is ook voor huurders.", {2}),
        ("Gemeenten bepalen zelf.", {1, 3}),
    ]
    assert cited_sentences("") == []


def test_supports() -> None:
    assert supports(GOLD, "de blijverslening kan mensen helpen om hun woning aan te passen")
    assert supports(GOLD, "Met de Blijverslening kunnen mensen hun woning aanpassen en passen.")
    assert not supports(GOLD, "De Verzilverlening is een omgekeerde hypotheek.")
    assert not supports(GOLD, "en de")  # nothing but stopwords
    assert content_words("De 100 gemeenten en de VNG") == ["100", "gemeenten", "vng"]


def test_citation_precision() -> None:
    quotes = {1: GOLD, 2: OTHER}
    answer = (f"{GOLD} [1] Het SCP schreef een verkenning [2]. De rente is 3 procent [2]. "
              "Er is een regeling [7]. Zie [1].")
    assert citation_precision(answer, quotes) == Ratio(2, 4)
    assert citation_precision("Geen markers hier.", quotes).value is None
    assert citation_precision("", {}).value is None
    assert citation_precision("Dit staat in de tekst [1].", {}) == Ratio(0, 1)
    # a sentence combining two sources is supported by its quotes together
    combined = ("De Blijverslening helpt woning aanpassen; "
                "SCP schreef verkenning particuliere woonzorg")
    assert citation_precision(f"{combined} [1][2].", quotes) == Ratio(1, 1)
    assert citation_precision(f"{combined} [1].", quotes) == Ratio(0, 1)


# --- answers ---------------------------------------------------------------------------

def test_key_fact_recall() -> None:
    answer = "Het gaat om ‘Verbeter je samenwerking’ en de Handreiking voor kansrijk samenwerken."
    facts = ["verbeter je samenwerking", "handreiking voor kansrijk samenwerken", "pagina 29"]
    assert key_fact_recall(answer, facts) == pytest.approx(2 / 3)
    assert key_fact_recall("", ["x"]) == 0.0
    with pytest.raises(ValueError):
        key_fact_recall(answer, [])


def test_refused() -> None:
    assert refused(False)
    assert not refused(True)
    assert not refused(None)


# --- instruments, themes, support --------------------------------------------------------

def test_set_counts_and_micro_prf() -> None:
    counts = set_counts(["blijverslening", "verzilverlening"], ["blijverslening"])
    assert counts == SetCounts(tp=1, fp=1, fn=0)
    assert counts.precision == 0.5 and counts.recall == 1.0
    assert counts.f1 == pytest.approx(2 / 3)
    # an item expecting no instrument counts every suggestion as a false positive
    none_expected = set_counts(["knelpunt-melden"], [])
    assert none_expected == SetCounts(0, 1, 0)
    assert none_expected.recall is None and none_expected.precision == 0.0
    assert none_expected.f1 is None
    pooled = counts + none_expected + set_counts([], ["aangewezen-gebouw"])
    assert pooled == SetCounts(1, 2, 1)
    assert pooled.precision == pytest.approx(1 / 3) and pooled.recall == 0.5
    assert SetCounts().precision is None and SetCounts().f1 is None
    assert SetCounts(0, 1, 1).f1 == 0.0


def test_support_recall() -> None:
    assert support_recall({"a", "b"}, ["a", "c"]) == Ratio(1, 2)
    assert support_recall(set(), []).value is None


def test_percentile() -> None:
    assert percentile([], 50) is None
    assert percentile([7.0], 95) == 7.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([10.0, 0.0], 95) == pytest.approx(9.5)


# --- personal data -----------------------------------------------------------------------

REPORT = ("Ik meld dit namens Woonpartners Midden (Erik Hoekstra, 06-18274615). Huurster "
          "mevrouw L. Bos (l.bos@voorbeeldmail.nl) woont aan de Lindelaan 14, 1234 AB. "
          "BSN 123456782, rekening NL91 ABNA 0417 1643 00.\nMet vriendelijke groet, Anna de Vries")


def test_extract_personal_data() -> None:
    found = {(item.kind, item.value) for item in extract_personal_data(REPORT)}
    assert {("name", "Erik Hoekstra"), ("name", "L. Bos"), ("phone", "06-18274615"),
            ("email", "l.bos@voorbeeldmail.nl"), ("address", "Lindelaan 14"),
            ("postcode", "1234 AB"), ("bsn", "123456782"), ("iban", "NL91 ABNA 0417 1643 00"),
            ("name", "Anna de Vries")} <= found
    assert not {kind for kind, value in found if value.startswith("Woonpartners")}


def test_a_job_title_in_the_guidances_words_is_not_a_name() -> None:
    """Above an e-mail address stands a job title as often as a name; counted as a name,
    "Zorg" would leak from every response that names the Ondersteuningsteam Wonen en Zorg."""
    report = ("Met vriendelijke groet,\nRuud Verhoef\nBeleidsadviseur Maatschappelijke Zorg\n"
              "r.verhoef@gemeente.example")
    guidance = frozenset({"beleidsadviseur", "maatschappelijke", "zorg", "wonen"})
    everything = {item.value for item in extract_personal_data(report) if item.kind == "name"}
    named = {item.value for item in extract_personal_data(report, guidance)
             if item.kind == "name"}
    assert "Maatschappelijke Zorg" in everything and "Maatschappelijke Zorg" not in named
    assert "Ruud Verhoef" in named
    assert leaked("Ondersteuningsteam Wonen en Zorg", extract_personal_data(report, guidance)) \
        == set()


def test_a_name_before_an_age_is_personal_data() -> None:
    found = extract_personal_data("Onze cliënte Samira El Idrissi (29) moet verhuizen; "
                                  "Kees Bakker (79 jaar) ook. Het rapport (2024) zegt niets.")
    assert {item.value for item in found if item.kind == "name"} == {"Samira El Idrissi",
                                                                     "Kees Bakker"}
    assert leaked("mevrouw El Idrissi", found) == {"name"}


def test_no_personal_data_in_plain_report() -> None:
    report = ("De gemeenteraad heeft een motie aangenomen: ouderen moeten hun woning makkelijker "
              "kunnen aanpassen. In april 2019 waren ongeveer 100 gemeenten aangesloten; "
              "Rotterdam wil in 2030 8.400 woningen. Van Beschermd Wonen naar Beschermd Thuis.")
    assert extract_personal_data(report) == set()


def test_leaked() -> None:
    data = extract_personal_data(REPORT)
    assert leaked("Melding van mevrouw [NAAM] over haar woning.", data) == set()
    assert leaked("Mevrouw Bos belde.", data) == {"name"}
    assert leaked("Bel 06 1827 4615", data) == {"phone"}
    assert leaked("mail L.BOS@voorbeeldmail.nl", data) == {"email"}
    assert leaked("postcode 1234AB", data) == {"postcode"}
    assert leaked("IBAN NL91ABNA0417164300", data) == {"iban"}
    assert leaked("Bosch en Bossche wegen", data) == set()
    assert leaked("anything", [PersonalData("bsn", "123456782")]) == set()


# --- scoring and pooling -------------------------------------------------------------------

DOC = f"Intro. {GOLD} Slot."
START = DOC.index(GOLD)


ITEM = QuestionItem(
    id="q1", question="Wat is de Blijverslening?", kind="instrument", answerable=True,
    origin="own", gold_docs=("d",), gold_quotes=(GOLD,),
    key_facts=("Blijverslening", "woning aan te passen"), expected_instruments=("blijverslening",),
)
REFUSAL_ITEM = replace(ITEM, id="q2", kind="out_of_scope", answerable=False, gold_docs=(),
                       gold_quotes=(), key_facts=(), expected_instruments=())


def _response(
    answerable: bool = True, instruments: tuple[str, ...] = ("blijverslening",)
) -> dict[str, Any]:
    return {
        "answer": f"{GOLD} [1]" if answerable else "Dat staat niet in de documenten.",
        "answerable": answerable,
        "citations": [{"n": 1, "doc_id": "d", "quote": GOLD, "start": START,
                       "end": START + len(GOLD)}] if answerable else [],
        "instruments": [{"id": i, "fits": True} for i in instruments]
        + [{"id": "verzilverlening", "fits": False}],
        "timings_ms": {"retrieve": 5.0, "answer": 1.0, "total": 6.0},
    }


def test_score_and_aggregate_questions() -> None:
    good = score_question(ITEM, _response(), {"d": DOC}, wall_ms=9.0)
    assert good["hit@1"] == 1.0 and good["key_fact_recall"] == 1.0
    assert good["verbatim"] == [1, 1] and good["citation_precision"] == [1, 1]
    assert good["instruments"] == {"predicted": ["blijverslening"],
                                   "expected": ["blijverslening"], "tp": 1, "fp": 0, "fn": 0}
    assert good["timings"] == {"retrieve": 5.0, "answer": 1.0, "total": 6.0, "wall": 9.0}
    assert good["metrics"]["hit@1"] == 1.0 and good["metrics"]["refusal_accuracy"] is None
    assert good["metrics"]["false_refusal_rate"] == 0.0
    assert good["citations"][0] == {"n": 1, "doc_id": "d", "start": START,
                                    "end": START + len(GOLD), "quote": GOLD}
    refusal = score_question(REFUSAL_ITEM, _response(False, ()), {})
    assert "hit@1" not in refusal and "key_fact_recall" not in refusal
    assert refusal["refused"] and refusal["verbatim"] == [0, 0]
    assert refusal["metrics"]["refusal_accuracy"] == 1.0 and refusal["metrics"]["hit@1"] is None
    wrongly_suggested = score_question(REFUSAL_ITEM, _response(True), {"d": DOC})
    failed = score_question(replace(ITEM, id="q3"), None, {}, wall_ms=1.0, error="HTTP 500")
    assert failed["hit@1"] == 0.0 and not failed["refused"]
    metrics = aggregate_questions([good, refusal, wrongly_suggested, failed])
    assert value(metrics, "hit@1") == 0.5 and value(metrics, "mrr") == 0.5
    assert metrics["hit@1"]["n"] == 2 and metrics["hit@1"]["low"] == 0.0
    assert value(metrics, "refusal_accuracy") == 0.5
    assert value(metrics, "false_refusal_rate") == 0.0
    assert value(metrics, "verbatim_rate") == 1.0
    assert value(metrics, "instrument_precision") == 0.5
    assert value(metrics, "instrument_recall") == 0.5
    assert value(metrics, "instrument_f1") == 0.5
    assert metrics["counts"] == {"items": 4, "answerable": 2, "unanswerable": 2,
                                 "citations": 2, "cited_sentences": 2, "errors": 1}
    assert metrics["latency"]["wall"] == {"p50": 5.0, "p95": pytest.approx(8.6), "n": 2}
    plain = aggregate_questions([good, refusal], intervals=False)
    assert plain["hit@1"] == {"value": 1.0, "low": None, "high": None, "n": 1}


def test_aggregate_of_refusals_only_has_no_retrieval_numbers() -> None:
    metrics = aggregate_questions([score_question(REFUSAL_ITEM, _response(False, ()), {})])
    assert value(metrics, "hit@1") is None and value(metrics, "false_refusal_rate") is None
    assert value(metrics, "refusal_accuracy") == 1.0 and value(metrics, "verbatim_rate") is None
    assert value(metrics, "instrument_precision") is None
    assert value(metrics, "instrument_recall") is None


def test_every_metric_says_which_direction_is_better() -> None:
    lower = {name for name, metric in METRICS.items() if not metric.higher_is_better}
    assert lower == {"false_refusal_rate", "false_urgent_rate", "pii_leaks"}
    assert METRICS["pii_leaks"].kind == "sum"


def test_score_and_aggregate_triage() -> None:
    item = TriageItem(id="t1", report=REPORT, themes=("financiering", "regelgeving"),
                      fase="uitvoering", origin="own", expected_support=("blijverslening",),
                      urgent=True, contains_pii=True)
    calm = replace(item, id="t2", report="Het loopt vast.", urgent=False, contains_pii=False)
    personal = extract_personal_data(REPORT)
    clean = {"themes": [{"id": "financiering"}, {"id": "woningvoorraad"}], "fase": "uitvoering",
             "support": [{"id": "blijverslening"}], "urgent": True,
             "redacted_report": "Ik meld dit namens Woonpartners Midden ([NAAM], [TELEFOON])."}
    leaking = {**clean, "similar": [{"report": "mevrouw L. Bos"}], "fase": "visie"}
    scores = [score_triage(item, clean, personal), score_triage(item, leaking, personal),
              score_triage(item, None, personal, error="HTTP 503"),
              score_triage(calm, {**clean, "themes": []}, personal)]
    assert scores[1]["leak_kinds"] == ["name"]
    assert scores[0]["report"] == clean["redacted_report"]  # personal data is not kept
    assert scores[3]["report"] == "Het loopt vast."
    assert scores[0]["metrics"]["urgent_recall"] == 1.0
    assert scores[3]["metrics"]["false_urgent_rate"] == 1.0
    metrics = aggregate_triage(scores)
    assert value(metrics, "theme_precision") == 0.5
    assert value(metrics, "theme_recall") == pytest.approx(2 / 8)
    assert value(metrics, "fase_accuracy") == 0.5
    assert value(metrics, "support_recall") == pytest.approx(3 / 4)
    # the failed request suggested nothing, so every suggestion made was expected
    assert value(metrics, "support_precision") == 1.0
    assert value(metrics, "urgent_accuracy") == pytest.approx(2 / 4)
    assert value(metrics, "urgent_recall") == pytest.approx(2 / 3)  # the failed request missed
    assert value(metrics, "false_urgent_rate") == 1.0
    assert value(metrics, "pii_leaks") == 1
    assert metrics["counts"] == {"items": 4, "errors": 1}


# --- properties ------------------------------------------------------------------------------

text = st.text(alphabet=st.characters(min_codepoint=9, max_codepoint=0x24F,
                                     categories=("L", "N", "P", "Zs", "Cc")), max_size=80)


@given(text, text, text)
def test_a_contained_quote_is_always_covered(before: str, quote: str, after: str) -> None:
    if normalise(quote):
        assert covers(before + quote + after, quote)


@given(text)
def test_normalise_is_idempotent(value: str) -> None:
    assert normalise(normalise(value)) == normalise(value)


def test_malformed_citations_count_as_not_verbatim() -> None:
    response = _response()
    response["citations"] = [{"n": "1", "doc_id": "d", "quote": GOLD, "start": "7", "end": None},
                             "not a citation"]
    score = score_question(ITEM, response, {"d": DOC})
    assert score["verbatim"] == [0, 1]
    assert score["citation_precision"] == [0, 1]  # marker [1] points to no usable citation
