"""Read a question in the light of the conversation: the topic of the earlier turns joins it
at a lower weight, so "En voor huurders?" finds the loan the first turn named, while the
question's own words and meaning still lead (a new subject is not drowned by the old one)."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from assistant.language.tokens import ENGLISH_STOPWORDS, PLAIN, STOPWORDS
from assistant.prompts import refusal_opening, render
from assistant.schemas import Turn

CONNECTIVE = re.compile(
    r"^(en|maar|ook|dus|of|en als|wat als|hoe zit het met|geldt dat"
    r"|and|but|so|or|and if|what if|what about|how about)\b",
    re.I,
)
# Prepositions that combine with er/daar/hier into a pronominal adverb ("daarin", "ermee") or
# strand at the end of the clause when the pronoun moved ("Welke staan er als voorbeeld in?").
PREPOSITIONS = (
    "aan|achter|af|bij|binnen|boven|buiten|door|heen|in|langs|mee|na|naar|om|onder|op|over"
    "|tegen|toe|tussen|uit|van|vanaf|vandaan|voor|zonder"
)
ANAPHORA = re.compile(
    r"\b(ze|zij|hun|hen|hem|die|dat|deze|dit|daar|dan|zo'n|zulke|zoiets|dergelijke"
    r"|dezelfde|hetzelfde|beide|beiden|(?:de|die|deze) (?:twee|drie)"
    rf"|(?:er|daar|hier)(?:{PREPOSITIONS})"
    # English questions lean on the conversation the same way ("Is there an age limit for it?").
    r"|it|its|they|them|their|these|those|this)\b",
    re.I,
)
STRANDED = re.compile(rf"\b(?:er|daar|hier)\b.*\b(?:{PREPOSITIONS})\W*$", re.I)
# A clause-final "het" or "er" is a pronoun (an article needs a noun after it):
# "Hoeveel kost het?", "Hoeveel zijn er?".
FINAL_PRONOUN = re.compile(r"\b(het|er)\W*$", re.I)
QUESTION_WORD = re.compile(
    r"^(wat|wie|welke?|waar|wanneer|waarom|hoe|hoeveel|kan|kunnen|mag|moet|is|zijn|heeft|hebben"
    r"|geldt|bestaat|krijg|krijgt)\b",
    re.I,
)
# A speaker may announce that a new subject starts ("Iets anders: ...", "Nog een vraag, over
# iets nieuws. ...", "Different question: ..."): a lead of at most four words, one of them
# "other" or "new", set off by a colon, full stop or dash before a question of its own.
NEW_SUBJECT = re.compile(
    r"^\W*((?:\w+[\s,]+){0,3}?(?:ander|andere|anders|nieuw|nieuwe|other|another|different|new)"
    r"(?:[\s,]+\w+){0,3}?)\s*[:.;!\u2013\u2014]\s*(?=\S)",
    re.I,
)
MIN_CONTENT_WORDS = 4
FUNCTION_WORDS = STOPWORDS | ENGLISH_STOPWORDS
# How much the question's own vector weighs against that of the question joined with the
# topic when units are chosen; chosen on conversations over the corpus and the training pages.
OWN_MEANING = 0.3


def is_elliptical(question: str) -> bool:
    """Connective-led, pronoun-laden or fragmentary questions lean on the conversation;
    a complete question ("Wat is de hoofdstad van Frankrijk?") stands alone."""
    stripped = question.strip()
    if CONNECTIVE.match(stripped):
        return True
    words = content_words(stripped)
    if _points_back(stripped) and len(words) < 2 * MIN_CONTENT_WORDS:
        return True
    return not QUESTION_WORD.match(stripped) and len(words) < MIN_CONTENT_WORDS


def content_words(text: str) -> list[str]:
    return [w for w in PLAIN.words(text) if w not in FUNCTION_WORDS]


def _points_back(text: str) -> bool:
    return bool(ANAPHORA.search(text) or FINAL_PRONOUN.search(text) or STRANDED.search(text))


def announces_new_subject(question: str) -> bool:
    """Whether the text opens with a lead announcing a new subject and what follows does not
    point back ("Een nieuwe woning: mag dat?" still does)."""
    lead = NEW_SUBJECT.match(question)
    if not lead:
        return False
    rest = question[lead.end():].strip()
    return (not CONNECTIVE.match(rest) and not _points_back(rest)
            and len(content_words(rest)) >= 2)


def conversation_topic(history: Sequence[Turn], question: str) -> str:
    """The topic by now: the last user question that stood alone, with the follow-ups asked
    since (a third turn "En moet ik dan aflossen?" after "Vanaf welke leeftijd kan dat?" still
    means the loan the first turn named); "" if no user turn came yet, or when the new turn
    stands alone right after a refusal (a refused topic is not in the sources and only adds
    noise to a complete request; a follow-up still needs it), or when the speaker says a new
    subject starts."""
    if announces_new_subject(question):
        return ""
    if _last_answer_refused(history) and not is_elliptical(question):
        return ""
    chain: list[str] = []
    for turn in reversed(history):
        text = turn.content.strip()
        if turn.role != "user" or not text:
            continue
        chain.insert(0, text)
        if not is_elliptical(text):
            break
    return " ".join(chain)


def _last_answer_refused(history: Sequence[Turn]) -> bool:
    opening = refusal_opening()
    last = next((t.content.strip() for t in reversed(history) if t.role != "user"), "")
    return bool(opening) and last.startswith(opening)


def standalone_question(question: str, topic: str) -> str:
    """The text with the topic of the earlier turns appended (`conversation_topic`); the text
    alone when no turn came before. Every turn after the first gets the topic: many follow-ups
    carry no pronoun at all ("Wat is het maximumbedrag per aanvraag?"), and a new subject
    keeps the lead because its own words and meaning weigh more (`own_focus`)."""
    question = question.strip()
    if not topic:
        return question
    stripped = (
        CONNECTIVE.sub("", question, count=1).strip(" ,")
        if CONNECTIVE.match(question)
        else question
    )
    if stripped:
        stripped = stripped[0].upper() + stripped[1:]
    return render("followup", question=stripped or question, previous=topic)


def own_focus(own: np.ndarray, joined: np.ndarray) -> np.ndarray:
    """The vector units are chosen by: for 0.7 the text with its topic (what the exchange is
    about), for 0.3 the text alone (what is asked now), unit length."""
    blended = OWN_MEANING * own + (1.0 - OWN_MEANING) * joined
    norm = float(np.linalg.norm(blended))
    return (blended / norm if norm else blended).astype(np.float32)


def situation_text(question: str, joined: str) -> str:
    """The text instruments are matched on: with its topic for a follow-up (its situation was
    told in earlier turns), alone when it stands alone (a new subject does not inherit the
    instruments of the old one)."""
    return joined if is_elliptical(question) else question.strip()
