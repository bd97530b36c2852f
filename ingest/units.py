"""Answer units of a document (sentences, list items, table rows) tied to their chunks."""

from __future__ import annotations

import hashlib

from assistant.domain import Chunk, Document, Unit
from assistant.language.structure import UnitSpan, document_units

UNITS_VERSION = "units-v1"
INTRO_CONTEXT_CHARS = 300


def _chunk_for(span: UnitSpan, chunks: list[tuple[int, Chunk]]) -> tuple[int, Chunk] | None:
    """The chunk holding the unit, else the first one after it (a step's heading precedes
    the chunk of its text)."""
    following = None
    for position, chunk in chunks:
        if chunk.start <= span.start < chunk.end:
            return position, chunk
        if following is None and chunk.start > span.start:
            following = (position, chunk)
    return following


def embedding_text(unit: Unit, intro: str = "", context: str = "") -> str:
    """What the model sees of a unit: its document's heading, its section path, and for a
    list item its intro."""
    intro = intro[:INTRO_CONTEXT_CHARS]
    body = f"{intro} {unit.text}" if intro and not unit.intro else unit.text
    return "\n".join(part for part in (context, unit.section, body) if part)


def unit_id(document: Document, span: UnitSpan, text: str, model_key: str) -> str:
    basis = "\x1f".join([UNITS_VERSION, model_key, document.doc_id, str(span.start), text])
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:32]


def build_units(
    document: Document, chunks: list[tuple[int, Chunk]], model_key: str
) -> list[tuple[Unit, str]]:
    """Units of one document with the text to embed; `chunks` are (build position, chunk)."""
    spans = document_units(document.text)
    intros: dict[int, str] = {}
    for span in spans:
        if span.intro and span.group is not None:
            intros[span.group] = f"{intros.get(span.group, '')} {span.text}".strip()
    out: list[tuple[Unit, str]] = []
    for span in spans:
        found = _chunk_for(span, chunks)
        if found is None:
            continue
        position, chunk = found
        unit = Unit(
            unit_id="",
            doc_id=document.doc_id,
            start=span.start,
            end=span.end,
            kind=span.kind,
            text=span.text,
            section=chunk.section,
            chunk=position,
            position=len(out),
            group=span.group,
            intro=span.intro,
            leaning=span.leaning,
            question=span.question,
        )
        text = embedding_text(unit, intros.get(span.group, "") if span.group else "",
                              document.context)
        identified = Unit(**{**unit.to_dict(), "unit_id": unit_id(document, span, text, model_key)})
        out.append((identified, text))
    return out
