"""Plain data of the generative reply mode: what the model sees, what it wrote, what held up."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

# Why a generated sentence was dropped. Codes are stable: the API and the eval report count them.
Reason = Literal[
    "no-citation",  # cites no passage that exists
    "unknown-citation",  # cites a number that is not one of the passages (kept if others remain)
    "number-not-in-source",  # a number, amount, percentage or year the cited passages lack
    "name-not-in-source",  # a capitalised name (instrument, organisation) they lack
    "code-not-in-source",  # a code-like token (CANARY-7731, AB12) they lack
    "negation-mismatch",  # says "niet"/"geen" where the closest source sentence does not, or v.v.
    "too-short",  # fewer content words than a statement needs
    "low-support",  # too few of its content words occur in the cited passages
]
DROP_REASONS: frozenset[str] = frozenset(
    {
        "no-citation",
        "number-not-in-source",
        "name-not-in-source",
        "code-not-in-source",
        "negation-mismatch",
        "too-short",
        "low-support",
    }
)


@dataclass(frozen=True)
class EvidencePassage:
    """A numbered excerpt as the model sees it; `text` is the cleaned, redacted text."""

    n: int
    doc_id: str
    title: str
    section: str
    text: str


@dataclass(frozen=True)
class GeneratedSentence:
    """One sentence of model text: `body` lacking markers, `cited` the [n] it carries."""

    raw: str
    body: str
    cited: tuple[int, ...]

    @property
    def text(self) -> str:
        """The sentence as shown: body followed by its markers, like extractive answers."""
        markers = " ".join(f"[{n}]" for n in self.cited)
        return f"{self.body} {markers}".strip()


@dataclass(frozen=True)
class Verification:
    """The verdict on one generated sentence."""

    text: str
    cited: tuple[int, ...]
    supported: bool
    score: float
    reasons: tuple[str, ...] = ()
    unsupported_terms: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class VerificationSummary:
    """Counts for the response's `verification` field and the eval report."""

    kept: int
    dropped: int
    reasons: dict[str, int] = field(default_factory=dict)
    refused: bool = False

    @classmethod
    def of(cls, sentences: list[Verification], refused: bool = False) -> VerificationSummary:
        counts: Counter[str] = Counter()
        for sentence in sentences:
            if not sentence.supported:
                counts.update(r for r in sentence.reasons if r in DROP_REASONS)
        kept = sum(s.supported for s in sentences)
        return cls(kept, len(sentences) - kept, dict(sorted(counts.items())), refused)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class VerifiedAnswer:
    """The kept text (markers intact), every sentence's verdict and the summary."""

    text: str
    sentences: list[Verification]
    summary: VerificationSummary

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "sentences": [s.to_dict() for s in self.sentences],
            "summary": self.summary.to_dict(),
        }
