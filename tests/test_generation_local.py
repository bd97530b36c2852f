"""The real 0.5B model through xllamacpp, end to end: verified sentences or a clean fallback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assistant.config import DEFAULT_LLM_PATH
from assistant.generation.chat import LocalChatModel, ModelMissing, verified_model_path
from assistant.generation.generate import DroppedEvent, FinalEvent, SentenceEvent, generate_answer
from assistant.generation.types import EvidencePassage

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
SMALL_MODEL = DEFAULT_LLM_PATH.with_name("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")


def paragraph(doc: str, opening: str) -> str:
    """The paragraph of a corpus document that starts with `opening`, verbatim."""
    text = (ROOT / "corpus" / f"{doc}.txt").read_text(encoding="utf-8")
    start = text.index(opening)
    end = text.find("\n\n", start)
    return text[start : end if end != -1 else len(text)].strip()


def passages() -> list[EvidencePassage]:
    owz = paragraph("fase-4-uitvoering", "Het gaat om kortdurende inzet")
    return [
        EvidencePassage(
            1,
            "fase-4-uitvoering",
            "Fase 4 – Uitvoering",
            "Blijverslening",
            paragraph("fase-4-uitvoering", "De Blijverslening kan mensen helpen"),
        ),
        EvidencePassage(2, "fase-4-uitvoering", "Fase 4 – Uitvoering",
                        "Ondersteuningsteam Wonen en Zorg", owz),
    ]


@pytest.fixture(scope="module")
def small_model() -> LocalChatModel:
    path = Path(os.environ.get("LLM_SMALL_MODEL_PATH", str(SMALL_MODEL)))
    try:
        model_path = verified_model_path(path)
    except ModelMissing as missing:
        pytest.skip(f"0.5B model absent ({missing}); `make llm-small` assembles it")
    return LocalChatModel(model_path=str(model_path), n_threads=2, n_ctx=2048, max_tokens=160)


@pytest.mark.parametrize(
    "question",
    [
        "Is de Blijverslening ook voor mensen met een huurwoning?",
        "Hoeveel uur ondersteuning geeft het Ondersteuningsteam Wonen en Zorg?",
    ],
)
def test_real_model_gives_verified_sentences_or_a_clean_fallback(
    small_model: LocalChatModel, question: str
) -> None:
    evidence = passages()
    events = list(generate_answer(question, evidence, [], small_model))
    final = events[-1]
    assert isinstance(final, FinalEvent)
    assert final.generator == "local"
    assert final.raw_text.strip(), "the model produced no text"
    shown = [e.verification for e in events if isinstance(e, SentenceEvent)]
    dropped = [e.verification for e in events if isinstance(e, DroppedEvent)]
    assert final.answer.summary.kept == len(shown)
    assert final.answer.summary.dropped == len(dropped)
    numbers = {p.n for p in evidence}
    for verdict in shown:
        assert verdict.supported and verdict.cited and set(verdict.cited) <= numbers
    for verdict in dropped:
        assert not verdict.supported and verdict.reasons
    if final.fallback:
        assert final.fallback_reason in {"refused", "nothing-verified", "mostly-unsupported"}
    else:
        assert shown and final.answer.text == " ".join(v.text for v in shown)
    assert final.timings_ms["total"] > 0
