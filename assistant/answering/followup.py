"""Turn a follow-up ("En voor huurders?") into a standalone question using the history."""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.language.tokens import PLAIN
from assistant.prompts import render
from assistant.schemas import Turn

CONNECTIVE = re.compile(r"^(en|maar|ook|dus|of|en als|wat als|hoe zit het met|geldt dat)\b", re.I)
ANAPHORA = re.compile(
    r"\b(ze|zij|hun|hen|hem|die|dat|deze|dit|daar|daarvan|daarin|daarbij|daarvoor|hiervoor|ervoor"
    r"|erbij|ervan|dan|zo'n|zulke|het programma|die regeling|die lening|dezelfde|hetzelfde"
    r"|beide|beiden|(?:de|die|deze) (?:twee|drie))\b",
    re.I,
)
# A clause-final "het" or "er" is a pronoun (an article needs a noun after it):
# "Hoeveel kost het?", "Hoeveel zijn er?".
FINAL_PRONOUN = re.compile(r"\b(het|er)\W*$", re.I)
QUESTION_WORD = re.compile(
    r"^(wat|wie|welke?|waar|wanneer|waarom|hoe|hoeveel|kan|kunnen|mag|moet|is|zijn|heeft|hebben"
    r"|geldt|bestaat|krijg|krijgt)\b",
    re.I,
)
MIN_CONTENT_TERMS = 4


def is_elliptical(question: str) -> bool:
    """Connective-led, pronoun-laden or fragmentary questions lean on the conversation;
    a complete question ("Wat is de hoofdstad van Frankrijk?") stands alone."""
    content = PLAIN.tokens(question)
    stripped = question.strip()
    if CONNECTIVE.match(stripped):
        return True
    if (ANAPHORA.search(stripped) or FINAL_PRONOUN.search(stripped)) and (
        len(content) < 2 * MIN_CONTENT_TERMS
    ):
        return True
    return not QUESTION_WORD.match(stripped) and len(content) < MIN_CONTENT_TERMS


def conversation_topic(history: Sequence[Turn]) -> str:
    """The topic by now: the last user question that stood alone, with the follow-ups asked
    since (a third turn "En moet ik dan aflossen?" after "Vanaf welke leeftijd kan dat?" still
    means the loan the first turn named); "" if no user turn came yet."""
    chain: list[str] = []
    for turn in reversed(history):
        question = turn.content.strip()
        if turn.role != "user" or not question:
            continue
        chain.insert(0, question)
        if not is_elliptical(question):
            break
    return " ".join(chain)


def standalone_question(question: str, topic: str) -> str:
    """The question itself when it stands alone, else joined with the conversation's topic
    (`conversation_topic`)."""
    question = question.strip()
    if not topic or not is_elliptical(question):
        return question
    stripped = (
        CONNECTIVE.sub("", question, count=1).strip(" ,")
        if CONNECTIVE.match(question)
        else question
    )
    if stripped:
        stripped = stripped[0].upper() + stripped[1:]
    return render("followup", question=stripped or question, previous=topic)
