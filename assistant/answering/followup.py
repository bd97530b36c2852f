"""Turn a follow-up ("En voor huurders?") into a standalone question using the history."""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.language.tokens import PLAIN
from assistant.prompts import render
from assistant.schemas import Turn

CONNECTIVE = re.compile(r"^(en|maar|ook|dus|of|en als|wat als|hoe zit het met|geldt dat)\b", re.I)
ANAPHORA = re.compile(
    r"\b(ze|zij|hun|hen|die|dat|deze|dit|daar|daarvan|daarin|daarbij|daarvoor|hiervoor|ervoor"
    r"|erbij|ervan|dan|zo'n|zulke|het programma|die regeling|die lening|dezelfde|hetzelfde)\b",
    re.I,
)
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
    if ANAPHORA.search(stripped) and len(content) < 2 * MIN_CONTENT_TERMS:
        return True
    return not QUESTION_WORD.match(stripped) and len(content) < MIN_CONTENT_TERMS


def standalone_question(question: str, history: Sequence[Turn]) -> str:
    """The question itself when it stands alone, else joined with the previous user question."""
    question = question.strip()
    previous = [
        turn.content.strip() for turn in history if turn.role == "user" and turn.content.strip()
    ]
    if not previous or not is_elliptical(question):
        return question
    stripped = (
        CONNECTIVE.sub("", question, count=1).strip(" ,")
        if CONNECTIVE.match(question)
        else question
    )
    if stripped:
        stripped = stripped[0].upper() + stripped[1:]
    return render("followup", question=stripped or question, previous=previous[-1])
