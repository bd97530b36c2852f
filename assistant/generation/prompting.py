"""The generation messages: templates from prompts/, numbered excerpts, redaction first.

Everything that reaches a model (question, earlier turns, excerpts) goes through `redact`
here, in one place, so no generator can be handed personal data.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.prompts import (
    ChatPromptTemplate,
    HumanMessagePromptTemplate,
    MessagesPlaceholder,
    SystemMessagePromptTemplate,
)

from assistant.generation.types import EvidencePassage
from assistant.generation.verify import MARKER, REFUSAL, SPACE_BEFORE_PUNCT
from assistant.language.sentences import split_sentences
from assistant.privacy import redact
from assistant.prompts import load_prompt

SYSTEM_PROMPT = "generatie-regels"
USER_PROMPT = "generatie-vraag"
MAX_PASSAGE_CHARS = 1500  # three passages and the answer fit a 4096-token context
MAX_HISTORY_TURNS = 6
MAX_TURN_CHARS = 1000
SPACES = re.compile(r"[ \t]+")
BLANK_LINES = re.compile(r"\n{3,}")


class TurnLike(Protocol):
    """An earlier turn (the API's Turn model fits)."""

    @property
    def role(self) -> str: ...

    @property
    def content(self) -> str: ...


def prompt_template(system: str = SYSTEM_PROMPT, user: str = USER_PROMPT) -> ChatPromptTemplate:
    """Rules, earlier turns, then the excerpts and the question, loaded by name."""
    return ChatPromptTemplate.from_messages(
        [
            SystemMessagePromptTemplate.from_template(load_prompt(system)),
            MessagesPlaceholder("history", optional=True),
            HumanMessagePromptTemplate.from_template(load_prompt(user)),
        ]
    )


def clean_passage_text(text: str, limit: int = MAX_PASSAGE_CHARS) -> str:
    """Collapse layout whitespace and cut at a sentence or word boundary under `limit`."""
    text = BLANK_LINES.sub("\n\n", SPACES.sub(" ", text)).strip()
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = max(cut.rfind(". "), cut.rfind("\n"))
    if end < limit // 2:
        end = cut.rfind(" ")
    return cut[: end + 1].rstrip() + " …"


def prepare_passages(passages: Sequence[EvidencePassage]) -> list[EvidencePassage]:
    """The excerpts exactly as the model will see them: cleaned and redacted. The verifier
    compares against these, not against the original text."""
    return [
        replace(
            p,
            title=redact(p.title),
            section=redact(p.section),
            text=redact(clean_passage_text(p.text)),
        )
        for p in passages
    ]


def mark_sentences(text: str, n: int) -> str:
    """Every sentence of an excerpt ends with its marker ("… bij [2]."): a small model that
    copies from its source then copies the citation too."""
    parts, cursor = [], 0
    for span in split_sentences(text):
        sentence = text[span.start : span.end]
        end = len(sentence.rstrip(".!?:;…"))
        parts.append(text[cursor : span.start])
        parts.append(f"{sentence[:end]} [{n}]{sentence[end:]}")
        cursor = span.end
    parts.append(text[cursor:])
    return "".join(parts)


def format_passages(passages: Sequence[EvidencePassage]) -> str:
    """Each excerpt under "[n] (title — section)", its sentences marked with [n]."""
    blocks = []
    for p in passages:
        heading = f"{p.title} — {p.section}" if p.section and p.section != p.title else p.title
        blocks.append(f"[{p.n}] ({heading})\n{mark_sentences(p.text, p.n)}")
    return "\n\n".join(blocks)


def history_messages(history: Sequence[TurnLike]) -> list[BaseMessage]:
    """The last turns, redacted; old replies lose their [n] markers, which pointed at other
    excerpts than the ones numbered now."""
    messages: list[BaseMessage] = []
    for turn in list(history)[-MAX_HISTORY_TURNS:]:
        content = redact(turn.content[:MAX_TURN_CHARS])
        if turn.role == "user":
            messages.append(HumanMessage(content=content))
        else:
            plain = SPACE_BEFORE_PUNCT.sub(r"\1", SPACES.sub(" ", MARKER.sub("", content)))
            messages.append(AIMessage(content=plain.strip()))
    return messages


def build_messages(
    question: str,
    passages: Sequence[EvidencePassage],
    history: Sequence[TurnLike] = (),
    template: ChatPromptTemplate | None = None,
) -> tuple[list[BaseMessage], list[EvidencePassage]]:
    """The messages to send and the excerpts as sent (for verification)."""
    seen = prepare_passages(passages)
    messages = (template or prompt_template()).format_messages(
        refusal=REFUSAL,
        passages=format_passages(seen),
        question=redact(question),
        history=history_messages(history),
    )
    # A last pass over the final text: whatever a template adds is redacted too.
    safe = [m.model_copy(update={"content": redact(str(m.content))}) for m in messages]
    return safe, seen
