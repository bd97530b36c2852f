"""Request and response models of the HTTP API, named by role."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

MAX_QUESTION_CHARS = 2000
MAX_HISTORY_TURNS = 20
MAX_ANSWER_TURN_CHARS = 12_000
MAX_REPORT_CHARS = 5000
# Control characters other than tab and line breaks (C0, DEL, C1). The same class is written
# into the OpenAPI schema as a pattern, so clients and schema-based tests see the rule.
_CONTROL = "\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f"
TEXT_PATTERN = f"^[^{_CONTROL}]*$"
NON_BLANK_PATTERN = f"^[^{_CONTROL}]*[^{_CONTROL}\\s][^{_CONTROL}]*$"
SLUG_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"


def clean_text(value: str) -> str:
    """Text as the assistant accepts it: valid Unicode (no lone surrogates), NFC, line breaks
    as \\n, and no control characters except tab and newline; otherwise a Dutch 422."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise PydanticCustomError(
            "text_invalid", "De tekst bevat ongeldige Unicode-tekens (bijvoorbeeld een losse "
            "surrogaat); verstuur geldige UTF-8-tekst."
        ) from exc
    value = unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n"))
    for char in value:
        if char not in "\n\t" and unicodedata.category(char) == "Cc":
            raise PydanticCustomError(
                "text_invalid", "De tekst bevat een onzichtbaar stuurteken (U+{code}); "
                "verwijder het en probeer het opnieuw.", {"code": f"{ord(char):04X}"}
            )
    return value


Text = Annotated[
    str, AfterValidator(clean_text), Field(json_schema_extra={"pattern": TEXT_PATTERN})
]
NonBlankText = Annotated[
    str, AfterValidator(clean_text), Field(json_schema_extra={"pattern": NON_BLANK_PATTERN})
]
Identifier = Annotated[
    str, AfterValidator(clean_text),
    Field(min_length=1, max_length=200, json_schema_extra={"pattern": TEXT_PATTERN}),
]


class _Request(BaseModel):
    """Request bodies refuse unknown fields, so a typo is a 422 rather than silently ignored."""

    model_config = ConfigDict(extra="forbid")


class Turn(_Request):
    # the role-dependent bound, for the schema: a user turn is a question (2.000 tekens)
    model_config = ConfigDict(extra="forbid", json_schema_extra={"anyOf": [
        {"properties": {"role": {"const": "user"},
                        "content": {"maxLength": MAX_QUESTION_CHARS}}},
        {"properties": {"role": {"const": "assistant"}}},
    ]})

    role: Literal["user", "assistant"]
    content: Text = Field(
        max_length=MAX_ANSWER_TURN_CHARS,
        description="Een eerdere vraag (maximaal 2.000 tekens) of een eerder antwoord "
        "(maximaal 12.000 tekens).",
    )

    @model_validator(mode="after")
    def _bounded(self) -> Turn:
        if self.role == "user" and len(self.content) > MAX_QUESTION_CHARS:
            raise PydanticCustomError(
                "turn_too_long", "Een eerdere vraag is te lang ({n} tekens); het maximum is "
                "2.000 tekens.", {"n": len(self.content)}
            )
        return self


class AskRequest(_Request):
    question: NonBlankText = Field(
        max_length=MAX_QUESTION_CHARS,
        description="De vraag in gewone taal (maximaal 2.000 tekens).",
        examples=["Welke lening is er voor huurders die hun woning willen aanpassen?"],
    )
    history: list[Turn] = Field(
        default_factory=list,
        max_length=MAX_HISTORY_TURNS,
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
    doc_ids: list[Identifier] | None = Field(
        default=None,
        max_length=50,
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


class Verification(BaseModel):
    """How a written answer held up, sentence by sentence, against its passages."""

    generator: str
    kept: int
    dropped: int
    reasons: dict[str, int] = Field(
        default_factory=dict, description="Waarom zinnen zijn weggelaten, per reden."
    )
    fallback: bool = Field(description="Of het letterlijke antwoord is getoond in plaats daarvan.")
    fallback_reason: str | None = None
    timings_ms: dict[str, float] = Field(default_factory=dict)


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
    generator: str = Field(
        default="extractive", description="Wie het antwoord schreef: extractive, local, openai."
    )
    extractive_answer: str | None = Field(
        default=None,
        description="Het letterlijke antwoord, als een geschreven antwoord het verving.",
    )
    verification: Verification | None = None


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


class TriageRequest(_Request):
    report: NonBlankText = Field(
        max_length=MAX_REPORT_CHARS,
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


class TriageUpdate(_Request):
    status: Literal["nieuw", "in-behandeling", "afgehandeld"] | None = None
    note: Text | None = Field(default=None, max_length=5000)


class FeedbackCitation(BaseModel):
    """A citation as the chat page sends it back with a vote (unknown fields are dropped)."""

    n: int = Field(ge=0, le=1000)
    doc_id: Identifier
    title: Text = Field(max_length=500)
    section: Text = Field(max_length=2000)
    quote: Text = Field(max_length=20_000)
    start: int = Field(ge=0, le=1_000_000_000)
    end: int = Field(ge=0, le=1_000_000_000)
    score: float = Field(ge=-1e6, le=1e6)
    cited: bool = True


class FeedbackRequest(_Request):
    rating: Literal["up", "down"]
    reason: Text = Field(default="", max_length=2000)
    question: NonBlankText = Field(max_length=20_000)
    answer: NonBlankText = Field(max_length=50_000)
    citations: list[FeedbackCitation] = Field(default_factory=list, max_length=50)
    replaces: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{32}$",
        description="Id van een eerdere beoordeling van hetzelfde antwoord die vervalt.",
    )


class FeedbackResponse(BaseModel):
    id: str
    created_at: str


class FieldError(BaseModel):
    veld: str = Field(description="Het veld met de fout, bijv. `question` of `history.0.role`.")
    melding: str = Field(description="Wat er mis is, in het Nederlands.")
    type: str = Field(description="Soort fout (machineleesbaar).")


class ErrorBody(BaseModel):
    """Every error response: a Dutch message, and per field what is wrong (422 only)."""

    detail: str = Field(description="Uitleg voor de gebruiker, in het Nederlands.")
    errors: list[FieldError] | None = Field(
        default=None, description="Bij 422: per veld wat er mis is."
    )


class Health(BaseModel):
    status: Literal["ok", "degraded", "down"] = Field(
        description="ok: alles werkt; degraded: de dienst antwoordt, maar een onderdeel ontbreekt "
        "(zie `problems`); down: er kan niets beantwoord worden."
    )
    problems: list[str] = Field(default_factory=list)
    documents: int | None = None
    chunks: int | None = None
    units: int | None = None
    embedding_model: str | None = None
    dimension: int | None = None
    index_built_at: str | None = None
    build_id: str | None = None
    retrieval_mode: str
    vector_store: Literal["embedded", "server"]
    generator: str = Field(default="extractive", description="extractive, local of openai.")


class DocumentSummary(BaseModel):
    id: str
    title: str
    kind: str
    publisher: str
    phase: str | None
    chunks: int


class DocumentDetail(BaseModel):
    doc_id: str
    title: str
    text: str = Field(description="De tekst zoals geïndexeerd; tekenposities van citaten wijzen "
                      "hierin. Verborgen tekst (HTML-commentaar, scripts) is vervangen door "
                      "spaties.")
    kind: str
    publisher: str
    phase: str | None
    source: str
    sha256: str
    extra: dict[str, Any] = Field(default_factory=dict)


class InstrumentSource(BaseModel):
    doc_id: str
    quote: str
    start: int
    end: int
    title: str


class InstrumentEntry(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    name: str
    kind: str
    for_whom: list[str]
    purpose: str
    conditions: dict[str, Any]
    sources: list[InstrumentSource]


class LoginRequest(_Request):
    name: str = Field(min_length=1, max_length=64, pattern=SLUG_PATTERN,
                      examples=["beheerder"])
    password: str = Field(min_length=1, max_length=1024, json_schema_extra={"format": "password"})


class Session(BaseModel):
    name: str = Field(description="De ingelogde medewerker.")
    csrf_token: str | None = Field(
        default=None, description="Stuur mee als header `X-CSRF-Token` bij wijzigende verzoeken "
        "met de sessiecookie (niet nodig met een bearer-token)."
    )
    expires_at: str | None = None


class SessionState(BaseModel):
    logged_in: bool
    name: str | None = None
    csrf_token: str | None = None
    expires_at: str | None = None
