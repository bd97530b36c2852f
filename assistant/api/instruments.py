"""GET /api/instruments and /api/instruments/{id}: the catalogue of instruments and support."""

from __future__ import annotations

from fastapi import APIRouter, Path

from assistant.api.deps import AssistantDep
from assistant.api.errors import not_found, responses
from assistant.schemas import InstrumentEntry
from assistant.service import UnknownInstrument

router = APIRouter(tags=["instrumenten"])


@router.get("/api/instruments", response_model=list[InstrumentEntry], responses=responses(503))
async def instruments(assistant: AssistantDep) -> list[InstrumentEntry]:
    return [InstrumentEntry(**entry) for entry in assistant.catalogue_entries()]


@router.get("/api/instruments/{instrument_id}", response_model=InstrumentEntry,
            responses=responses(404, 422, 503))
async def instrument(assistant: AssistantDep,
                     instrument_id: str = Path(max_length=200)) -> InstrumentEntry:
    try:
        return InstrumentEntry(**assistant.catalogue_entry(instrument_id))
    except UnknownInstrument as exc:
        raise not_found("instrument", instrument_id) from exc
