"""Sentence spans, Dutch analysis, and follow-up rewriting."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from assistant.answering.followup import is_elliptical, standalone_question
from assistant.lexical import analyze, split_compound, tokens
from assistant.schemas import Turn
from assistant.language.sentences import split_sentences


def test_sentences_respect_abbreviations_and_initials() -> None:
    text = (
        "Denk aan beleid (m.n. financieel). Ook kunnen pilots worden opgestart. "
        "Dit meldt dhr. P. de Vries. Per 1 juli 2024 geldt de wet."
    )
    parts = [text[s.start : s.end] for s in split_sentences(text)]
    assert parts == [
        "Denk aan beleid (m.n. financieel).",
        "Ook kunnen pilots worden opgestart.",
        "Dit meldt dhr. P. de Vries.",
        "Per 1 juli 2024 geldt de wet.",
    ]


@given(st.text(alphabet=st.sampled_from(list("abc. ?!\nDE1")), max_size=200))
def test_sentence_spans_are_exact_and_ordered(text: str) -> None:
    previous_end = 0
    for span in split_sentences(text):
        assert span.start >= previous_end
        assert text[span.start : span.end].strip() == text[span.start : span.end]
        previous_end = span.end


def test_domain_compounds_are_split() -> None:
    assert split_compound("woonzorgvisie") == ("woon", "zorg", "visie")
    assert split_compound("huurcontract") == ("huur", "contract")
    assert split_compound("woningaanpassing") == ("woning", "aanpassing")
    assert split_compound("kinderboerderij") == ()


def test_abbreviations_expand_and_accents_fold() -> None:
    assert {"beschermd", "wonen", "maatschappelijke", "opvang"} <= set(tokens("BWMO"))
    assert {"ondersteuningsteam", "wonen", "zorg"} <= set(tokens("het OWZ"))
    assert analyze("financiële") == analyze("financiele")
    assert analyze("huurcontracten") == analyze("huurcontract")


def test_stopwords_are_dropped() -> None:
    assert analyze("wat is de het een") == []


def test_follow_up_is_rewritten_with_the_previous_question() -> None:
    history = [
        Turn(role="user", content="Wat is de Verzilverlening?"),
        Turn(role="assistant", content="Een lening voor eigenaren [1]."),
    ]
    rewritten = standalone_question("En voor huurders?", history)
    assert "Verzilverlening" in rewritten and "huurders" in rewritten
    assert rewritten.startswith("Voor huurders?")


def test_standalone_question_is_kept() -> None:
    question = "Welke vragen beantwoordt een uitvoeringsplan bij de woonzorgvisie van een gemeente?"
    history = [Turn(role="user", content="Wat is de Verzilverlening?")]
    assert not is_elliptical(question)
    assert standalone_question(question, history) == question
    assert standalone_question("En voor huurders?", []) == "En voor huurders?"
