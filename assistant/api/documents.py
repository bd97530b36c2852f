"""GET /api/documents and /api/documents/{id}: the sources, to show a quote in context."""

from __future__ import annotations

from fastapi import APIRouter, Path

from assistant.api.deps import AssistantDep
from assistant.api.errors import not_found, responses
from assistant.schemas import DocumentDetail, DocumentSummary
from assistant.service import UnknownDocument, document_payload

router = APIRouter(tags=["documenten"])


@router.get("/api/documents", response_model=list[DocumentSummary], responses=responses(503))
async def documents(assistant: AssistantDep) -> list[DocumentSummary]:
    return [DocumentSummary(**row) for row in assistant.documents()]


@router.get("/api/documents/{doc_id}", response_model=DocumentDetail,
            responses=responses(404, 422, 503))
async def document(assistant: AssistantDep,
                   doc_id: str = Path(max_length=200)) -> DocumentDetail:
    """Volledige tekst en metadata; verborgen tekst is bij het inlezen al vervangen door spaties."""
    try:
        return DocumentDetail(**document_payload(assistant.document(doc_id)))
    except UnknownDocument as exc:
        raise not_found("document", doc_id) from exc
