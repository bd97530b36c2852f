"""The generative answer mode: a chat model writes, the verifier decides what is shown.

Entry points: `chat_model(settings)` for the configured generator, `generate_answer(...)` for a
verified, streamed answer over numbered passages, `verify_answer(...)` for a complete text.
"""

from assistant.generation.chat import GeneratorBusy, LocalChatModel, ModelMissing, chat_model
from assistant.generation.generate import (
    DroppedEvent,
    FinalEvent,
    GenerationEvent,
    SentenceEvent,
    generate_answer,
)
from assistant.generation.types import (
    EvidencePassage,
    GeneratedSentence,
    Verification,
    VerificationSummary,
    VerifiedAnswer,
)
from assistant.generation.verify import fallback_reason, too_little, verify_answer

__all__ = [
    "DroppedEvent",
    "EvidencePassage",
    "FinalEvent",
    "GeneratedSentence",
    "GenerationEvent",
    "GeneratorBusy",
    "LocalChatModel",
    "ModelMissing",
    "SentenceEvent",
    "Verification",
    "VerificationSummary",
    "VerifiedAnswer",
    "chat_model",
    "fallback_reason",
    "generate_answer",
    "too_little",
    "verify_answer",
]
