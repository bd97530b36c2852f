"""Request and response models of the HTTP API, named by role."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Turn(BaseModel):
    role: Literal["user", "assistant"]
    content: str = Field(max_length=20_000)


class AskRequest(BaseModel):
    question: str = Field(
        description="De vraag in gewone taal (maximaal 2.000 tekens).",
        examples=["Welke lening is er voor huurders die hun woning willen aanpassen?"],
    )
    history: list[Turn] = Field(
        default_factory=list,
        description="Eerdere beurten in dit gesprek (maximaal 20), oudste eerst.",
        examples=[
            [
                {"role": "user", "content": "Wat is de Verzilverlening?"},
                {
                    "role": "assistant",
                    "content": "De Verzilverlening is er voor Nederlanders met een koopwoning [1].",
                },
            ]
        ],
    )
    top_k: int = Field(default=5, ge=1, le=20, description="Aantal bronpassages.")
    doc_ids: list[str] | None = Field(
        default=None,
        description="Alleen in deze documenten zoeken.",
        examples=[["fase-4-uitvoering"]],
    )


class Citation(BaseModel):
    n: int
    doc_id: str
    title: str
    section: str
    quote: str = Field(description="Letterlijk de documenttekst van start tot end.")
    start: int
    end: int
    score: float
    cited: bool = Field(
        default=True, description="Of het antwoord naar deze bron verwijst (anders: ook gevonden)."
    )


class AnswerSegment(BaseModel):
    """One quoted unit of the answer, in reading order."""

    n: int = Field(description="Nummer van de bron in `citations`.")
    doc_id: str
    start: int
    end: int
    quote: str = Field(description="Letterlijk de documenttekst van start tot end.")
    text: str = Field(description="Dezelfde tekst zonder opmaaktekens (lijsttekens, **vet**).")
    kind: Literal["sentence", "list-item", "table-row"] = "sentence"
    group: int | None = Field(
        default=None, description="Segmenten met hetzelfde groepsnummer vormen één lijst."
    )


class Refusal(BaseModel):
    reason: str = Field(description="Soort weigering, bijvoorbeeld `niet-in-documenten`.")
    message: str = Field(description="Uitleg voor de gebruiker.")


class ConflictValue(BaseModel):
    value: str
    n: int


class Conflict(BaseModel):
    """Sources that give different figures for the same thing."""

    about: str
    values: list[ConflictValue]


class InstrumentSuggestion(BaseModel):
    id: str
    name: str
    kind: str
    why: str
    fits: bool
    source: Citation | None = None


class AskResponse(BaseModel):
    answer: str
    answerable: bool
    standalone_question: str
    citations: list[Citation]
    segments: list[AnswerSegment] = Field(default_factory=list)
    refusal: Refusal | None = None
    conflicts: list[Conflict] = Field(default_factory=list)
    instruments: list[InstrumentSuggestion] = Field(default_factory=list)
    timings_ms: dict[str, float] = Field(default_factory=dict)


class Theme(BaseModel):
    id: str
    label: str
    score: float
    reason: str = Field(default="", description="Waarom dit thema, in gewone taal.")


class UrgencyReason(BaseModel):
    signal: str = Field(description="Het soort risico, bijvoorbeeld `woningverlies`.")
    quote: str = Field(description="De woorden uit de (geanonimiseerde) melding.")


class Support(BaseModel):
    id: str
    name: str
    why: str
    fits: bool


class Similar(BaseModel):
    title: str
    citation: Citation


class TriageRequest(BaseModel):
    report: str = Field(
        description="De melding van een knelpunt (maximaal 5.000 tekens).",
        examples=[
            "De onderhandelingen over de prestatieafspraken zitten vast op wonen en zorg. "
            "Partijen vertrouwen elkaar niet meer. Wie kan ons helpen?"
        ],
    )


class TriageResponse(BaseModel):
    id: str
    short_id: str = Field(description="Leesbaar meldingsnummer, bijvoorbeeld KP-2026-0042.")
    themes: list[Theme]
    fase: str
    support: list[Support]
    citations: list[Citation]
    similar: list[Similar]
    urgent: bool
    urgency_reasons: list[UrgencyReason] = Field(default_factory=list)
    redacted_report: str


class Label(BaseModel):
    id: str
    label: str
    description: str = ""


class TriageLabels(BaseModel):
    """Every label the desk shows, from the taxonomy, so the page holds none of its own."""

    themes: list[Label]
    fases: list[Label]
    statuses: list[Label]
    support: list[Label]


class TriageItem(TriageResponse):
    status: str
    note: str
    created_at: str
    updated_at: str


class TriageList(BaseModel):
    items: list[TriageItem]
    total: int


class TriageUpdate(BaseModel):
    status: Literal["nieuw", "in-behandeling", "afgehandeld"] | None = None
    note: str | None = Field(default=None, max_length=5000)


class FeedbackRequest(BaseModel):
    rating: Literal["up", "down"]
    reason: str = Field(default="", max_length=2000)
    question: str = Field(max_length=20_000)
    answer: str = Field(max_length=50_000)
    citations: list[Citation] = Field(default_factory=list)
    replaces: str | None = Field(
        default=None, max_length=64,
        description="Id van een eerdere beoordeling van hetzelfde antwoord die vervalt.",
    )


class FeedbackResponse(BaseModel):
    id: str
    created_at: str
