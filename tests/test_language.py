"""Dutch language handling: sentences, units, tokens, compounds, abbreviations, figures,
follow-up rewriting."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from assistant.answering.followup import (
    announces_new_subject,
    conversation_topic,
    is_elliptical,
    own_focus,
    situation_text,
    standalone_question,
)
from assistant.language.abbreviations import find_abbreviations
from assistant.language.numbers import (
    asked_details,
    counted_words,
    figures,
    has_detail,
    soon,
    to_number,
)
from assistant.language.sentences import split_sentences
from assistant.language.spelling import Speller
from assistant.language.structure import document_units
from assistant.language.tokens import PLAIN, Analyzer, split_compound
from assistant.prompts import refusal_opening, render
from assistant.schemas import Turn

analyze, tokens = PLAIN.analyze, PLAIN.tokens


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


def test_compounds_split_by_general_dutch_frequencies() -> None:
    assert split_compound("woonzorgvisie") == ("woon", "zorg", "visie")
    assert split_compound("huurcontract") == ("huur", "contract")
    assert split_compound("beleidsmedewerker") == ("beleid", "medewerker")  # linking s
    assert split_compound("ondersteuningsteam") == ("ondersteuning", "team")
    # words the corpus never uses split as well: the list is general Dutch, not the corpus
    assert split_compound("mantelzorgwoning") == ("mantelzorg", "woning")
    assert split_compound("zorgvuldig") == ()  # "vuldig" is no word
    assert split_compound("gemeente") == ()


def test_abbreviations_come_from_the_documents_definitions() -> None:
    found = find_abbreviations([
        "Het Ondersteuningsteam Wonen en Zorg (OWZ) van de Rijksdienst voor Ondernemend "
        "Nederland (RVO) helpt.",
        "Uitstromers uit beschermd wonen en de maatschappelijke opvang (BWMO) krijgen ...",
        "Sommige zorgorganisaties (BWMO) hebben",  # initials do not spell it: no definition
    ])
    assert found == {
        "owz": "ondersteuningsteam wonen en zorg",
        "rvo": "rijksdienst voor ondernemend nederland",
        "bwmo": "beschermd wonen en de maatschappelijke opvang",
    }
    analyzer = Analyzer(found)
    assert {"beschermd", "wonen", "maatschappelijke", "opvang"} <= set(analyzer.tokens("BWMO"))
    assert {"owz", "ondersteuningsteam", "zorg"} <= set(analyzer.tokens("het OWZ"))
    assert "ondersteuningsteam" not in PLAIN.tokens("het OWZ")  # nothing built in


def test_accents_fold_and_inflections_stem() -> None:
    assert analyze("financiële") == analyze("financiele")
    assert analyze("huurcontracten") == analyze("huurcontract")


def test_units_keep_offsets_and_structure() -> None:
    text = (
        "Inleiding over wonen en zorg in de wijk.\n\n"
        "Er zijn drie varianten, namelijk de volgende:\n"
        "- **Regulier:** een eigen contract\n"
        "- Driepartijen: drie partijen tekenen\n\n"
        "Sommige organisaties hebben\n\nbijvoorbeeld beleid vastgelegd.\n\n"
        "We geven hier een voorbeeld van een stappenplan.\n\n"
        "1. Verkennen opgave\n\nEerst verkennen de partners samen de opgave.\n\n"
        "2. Besluiten\n\nDaarna besluiten zij over de aanpak.\n"
    )
    units = document_units(text)
    for unit in units:
        assert text[unit.start:unit.end].strip() == text[unit.start:unit.end]
    by_text = {u.text: u for u in units}
    intro = by_text["Er zijn drie varianten, namelijk de volgende:"]
    item = by_text["Regulier: een eigen contract"]  # markdown dropped for display only
    assert text[item.start:item.end].startswith("**Regulier:**")
    assert intro.intro and item.kind == "list-item" and item.group == intro.group
    # a sentence cut by a lost line break is one unit again
    assert "Sommige organisaties hebben bijvoorbeeld beleid vastgelegd." in by_text
    steps = [u for u in units if u.text in ("Verkennen opgave", "Besluiten")]
    plan = by_text["We geven hier een voorbeeld van een stappenplan."]
    assert len(steps) == 2 and {s.group for s in steps} == {plan.group} and plan.intro
    assert by_text["Daarna besluiten zij over de aanpak."].leaning


def test_figures_and_asked_details() -> None:
    found = figures("tot een maximum van € 4.000 (inclusief btw), maximaal 80 uur, 1,9% rente")
    assert [(f.kind, f.value, f.unit) for f in found] == [
        ("bedrag", 4000.0, "euro"), ("termijn", 80.0, "uur"), ("percentage", 1.9, "%")]
    assert to_number("tachtig") == 80 and to_number("3.500") == 3500
    assert asked_details("Hoeveel kost het OWZ een gemeente?") == {"bedrag"}
    assert asked_details("Wat is de rente van de lening?") == {"percentage"}
    assert asked_details("Hoeveel gemeenten doen mee?") == {"aantal"}
    assert asked_details("Wat is de Blijverslening?") == set()
    assert has_detail("termijn", "In april 2019 waren ongeveer 100 gemeenten aangesloten")
    assert not has_detail("bedrag", "Een derde van de kosten")


def test_a_count_answers_only_next_to_what_the_question_counts() -> None:
    assert counted_words("Hoeveel dorpen liggen in die regio?") == ("dorpen",)
    assert counted_words("En hoeveel van die bijeenkomsten waren er?") == ("bijeenkomsten",)
    assert counted_words("Hoeveel nieuwe appartementen komen er?") == ("nieuwe", "appartementen")
    assert counted_words("Hoeveel zijn er?") == ()
    text = "De regio telt 41.000 inwoners; in 2023 kwamen er 14 appartementen bij."
    assert not has_detail("aantal", text, ("dorpen",))
    assert has_detail("aantal", text, ("appartement",))  # inflections of one word
    assert has_detail("aantal", "Er staan 9 dorpshuizen en 6 dorpen in de regio.", ("dorp",))
    assert has_detail("aantal", "Er zijn 120 seniorenappartementen.", ("appartementen",))
    assert has_detail("aantal", text)  # the question names nothing: any count answers
    assert asked_details("Is er een maximum aantal woningen?") == {"aantal"}
    assert asked_details("Wat is het maximale bedrag van de lening?") == {"bedrag"}
    assert not has_detail("aantal", "Een gemeente kan een lening verstrekken.")
    assert has_detail("aantal", "Er is één loket") and has_detail("aantal", "drie opgaven")


def test_the_noun_a_question_asks_about_names_the_detail() -> None:
    """Compounds count by their head; a limit ("-grens") by its first part."""
    assert asked_details("Wat is het maximumbedrag per aanvraag?") == {"bedrag"}
    assert asked_details("Welke huurprijs geldt voor de studio?") == {"bedrag"}
    assert asked_details("Hoeveel moet ik zelf betalen?") == {"bedrag"}
    assert asked_details("Wat is de inkomensgrens voor een alleenstaande?") == {"bedrag"}
    assert asked_details("Vanaf welke leeftijd kan ik meedoen?") == {"leeftijd"}
    assert asked_details("Hoe oud moet je zijn?") == {"leeftijd"}
    assert asked_details("Welke leeftijdsgrens geldt er?") == {"leeftijd"}
    # which costs there are is a list, not an amount; a verb or a short word is no noun head
    assert asked_details("Welke kosten vallen onder de regeling?") == set()
    assert asked_details("Wat gebeurt er als ik niet kan betalen?") == set()
    assert asked_details("Welke gemeenten komen aan het woord?") == set()
    assert asked_details("Wat is een goed voorbeeld?") == set()
    assert has_detail("leeftijd", "Bent u 65 jaar of ouder?")
    assert has_detail("leeftijd", "Het hofje is voor 55-plussers.")
    assert not has_detail("leeftijd", "De woning is gelijkvloers.")


def test_hoe_before_an_adjective_of_degree_asks_for_a_figure() -> None:
    """Whatever the noun, "hoe hoog/groot" is answered by a figure; a named kind wins."""
    assert asked_details("Hoe hoog is de drempel bij de voordeur?") == {"getal"}
    assert asked_details("hoe groot mag het tuinhuis worden") == {"getal"}
    assert asked_details("Hoe hoog is de rente?") == {"percentage"}
    assert asked_details("Hoeveel woningen komen er en hoe groot worden ze?") == {"aantal"}
    assert has_detail("getal", "De woningen worden 55 vierkante meter.")
    assert has_detail("getal", "Er is één gemeenschappelijke ruimte.")
    assert not has_detail("getal", "De woningen worden ruim van opzet.")


def test_moments_within_weeks() -> None:
    assert soon("De begeleiding stopt over twee weken.") == "twee weken"
    assert soon("Volgende week moet ze de woning uit") == "Volgende week"
    assert soon("per 1 maart is hij zijn kamer kwijt") == "1 maart"
    assert soon("Het contract loopt over drie maanden af") is None
    assert soon("We willen in 2027 bouwen") is None


def test_stopwords_are_dropped() -> None:
    assert analyze("wat is de het een") == []


def test_follow_up_is_rewritten_with_the_previous_question() -> None:
    history = [
        Turn(role="user", content="Wat is de Verzilverlening?"),
        Turn(role="assistant", content="Een lening voor eigenaren [1]."),
    ]
    rewritten = standalone_question("En voor huurders?",
                                    conversation_topic(history, "En voor huurders?"))
    assert "Verzilverlening" in rewritten and "huurders" in rewritten
    assert rewritten.startswith("Voor huurders?")


def test_a_follow_up_on_a_follow_up_keeps_the_topic_of_the_conversation() -> None:
    """The topic is the last question that stood alone, with the follow-ups since; an older
    standalone question is a topic the conversation left."""
    history = [
        Turn(role="user", content="Wat doet het Ondersteuningsteam Wonen en Zorg voor gemeenten?"),
        Turn(role="assistant", content="Het helpt bij vastgelopen afspraken [1]."),
        Turn(role="user", content="Wat is de Verzilverlening?"),
        Turn(role="assistant", content="Een lening voor eigenaren [1]."),
        Turn(role="user", content="Vanaf welke leeftijd kan dat?"),
        Turn(role="assistant", content="Dat staat niet in de documenten."),
    ]
    follow_up = "En moet ik dan maandelijks aflossen?"
    rewritten = standalone_question(follow_up, conversation_topic(history, follow_up))
    assert rewritten.startswith("Moet ik dan maandelijks aflossen?")
    assert "Verzilverlening" in rewritten and "leeftijd" in rewritten
    assert "Ondersteuningsteam" not in rewritten
    assert conversation_topic(history, follow_up) == (
        "Wat is de Verzilverlening? Vanaf welke leeftijd kan dat?")
    assert conversation_topic(history[:2], follow_up) == history[0].content
    assert conversation_topic([], follow_up) == ""


@pytest.mark.parametrize("question", ["Hoeveel kost het?", "Hoeveel zijn er?",
                                      "Wie betaalt hem terug?", "Welke van de twee is beter?",
                                      "Hoe lang duurt de procedure daarna?",
                                      "Welke woningen vallen erbuiten?",
                                      "Welke kosten horen er nog meer bij?",
                                      "Hoe regel ik zoiets?", "Who pays for it?",
                                      "And for tenants?"])
def test_a_question_leaning_on_a_pronoun_is_a_follow_up(question: str) -> None:
    """Pronouns, pronominal adverbs (daarna, erbuiten), a preposition stranded by "er" and
    English pronouns all point back into the conversation."""
    assert is_elliptical(question)


def test_every_question_in_a_conversation_is_read_with_its_topic() -> None:
    """A complete question is no follow-up, yet it is joined with the topic too: follow-ups
    often carry no pronoun ("Wat is het maximumbedrag per aanvraag?"); its own words lead
    through their higher weight (`question_view`) and its own vector (`own_focus`)."""
    question = "Welke vragen beantwoordt een uitvoeringsplan bij de woonzorgvisie van een gemeente?"
    history = [Turn(role="user", content="Wat is de Verzilverlening?")]
    assert not is_elliptical(question)
    joined = standalone_question(question, conversation_topic(history, question))
    assert joined.startswith(question) and "Verzilverlening" in joined
    assert standalone_question(question, "") == question
    assert standalone_question("En voor huurders?", "") == "En voor huurders?"
    assert not is_elliptical("Wat is het Ondersteuningsteam Wonen en Zorg?")


@pytest.mark.parametrize("question", [
    "Iets heel anders: hoe vraag ik de Blijverslening aan?",
    "Nog een nieuw punt. Welke rol heeft de gemeente bij een woonzorgvisie?",
    "Another thing: who pays for the support team?",
])
def test_a_question_announcing_a_new_subject_leaves_the_topic(question: str) -> None:
    """A lead such as "Iets heel anders:" says the earlier turns no longer apply: the
    question is read alone, so the old topic cannot pull in its passages."""
    history = [Turn(role="user", content="Wat is een driepartijencontract?"),
               Turn(role="assistant", content="Een huurcontract met de corporatie [1].")]
    assert announces_new_subject(question)
    assert conversation_topic(history, question) == ""
    assert standalone_question(question, conversation_topic(history, question)) == question


@pytest.mark.parametrize("question", [
    "Een nieuwe woning: mag dat ook?",  # the rest points back
    "Andere gemeenten: hoe pakken die het aan?",
    "Welke andere opties zijn er voor huurders?",  # "andere" inside the question
    "De nieuwe regeling. Wat kost die?",
])
def test_other_or_new_alone_does_not_open_a_new_subject(question: str) -> None:
    history = [Turn(role="user", content="Wat is een driepartijencontract?")]
    assert not announces_new_subject(question)
    assert conversation_topic(history, question) == history[0].content


def test_after_a_refusal_only_a_follow_up_keeps_the_topic() -> None:
    """A refused turn's topic is not in the documents: a complete question after it stands
    alone, a follow-up still leans on it."""
    refusal = render("refusal-buiten-documenten", documents="de handreikingen")
    history = [Turn(role="user", content="Wat is de huurtoeslag in 2031?"),
               Turn(role="assistant", content=refusal)]
    assert refusal_opening() and refusal.startswith(refusal_opening())
    assert conversation_topic(history, "Hoe maak ik een lasagne?") == ""
    assert conversation_topic(history, "En in 2030?") == "Wat is de huurtoeslag in 2031?"
    answered = [history[0], Turn(role="assistant", content="Een toeslag voor huurders [1].")]
    assert conversation_topic(answered, "Hoe maak ik een lasagne?") == history[0].content


def test_instruments_match_a_follow_up_with_its_conversation_and_a_new_subject_alone() -> None:
    joined = standalone_question("Hoeveel kan ik lenen?", "Ik wil mijn koopwoning aanpassen.")
    assert situation_text("En hoeveel kan ik daarvoor lenen?", joined) == joined
    complete = "Welke vragen beantwoordt een uitvoeringsplan bij de woonzorgvisie van een gemeente?"
    assert situation_text(complete, standalone_question(complete, "Wat is de Blijverslening?")
                          ) == complete


def test_units_are_chosen_mostly_by_the_conversation_and_partly_by_the_question_itself() -> None:
    own, joined = np.array([1.0, 0.0], dtype=np.float32), np.array([0.0, 1.0], dtype=np.float32)
    focus = own_focus(own, joined)
    assert np.isclose(np.linalg.norm(focus), 1.0)
    assert float(focus @ joined) > float(focus @ own) > 0.0


def test_typing_errors_are_read_as_the_words_of_the_index() -> None:
    speller = Speller(["De hypotheek is bijna afgelost.",
                       "Het stappenplan van de corporatie en de corporaties in de regio."])
    assert speller.correct("hoe zit het met de hypotehek en het stappnplan?") == (
        "hoe zit het met de hypotheek en het stappenplan?")
    assert speller.correct("Corporatis doen mee") == "Corporaties doen mee"
    # as typed: a name inside a sentence, another form of an index word, a common Dutch or
    # English word, a short word
    for text in ("Wij wonen in Corporatia", "de corporatie", "hypotheken", "de coöperatie",
                 "housing organisations", "de hypo"):
        assert speller.correct(text) == text
