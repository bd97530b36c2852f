"""Quotes of data files located in the live documents, by their text (not stored offsets).

A catalogue or taxonomy names its sources by document id and quote; on load each quote is
found in the document as the index holds it, so an edit elsewhere in the file moves nothing
and a quote that no longer occurs disables only that source (reported, never fatal).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from assistant.domain import Document


class StrictSpec(BaseModel):
    """A data-file entry: unknown keys are errors, values are read-only once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceSpec(StrictSpec):
    """A passage a data file cites: the document and the verbatim quote that locates it."""

    doc_id: str
    quote: str = Field(min_length=1)


@dataclass(frozen=True)
class Source:
    """A verbatim passage: documents[doc_id].text[start:end] == quote."""

    doc_id: str
    quote: str
    start: int
    end: int


def _pattern(quote: str) -> re.Pattern[str]:
    """The quote with any run of whitespace matching any other (YAML folds line breaks)."""
    words = quote.split()
    return re.compile(r"\s+".join(re.escape(w) for w in words))


def locate(doc_id: str, quote: str, documents: Mapping[str, Document]) -> Source | str:
    """The source as it stands in the document, or the reason it cannot be found."""
    document = documents.get(doc_id)
    if document is None:
        return f"document {doc_id!r} staat niet in de index"
    match = _pattern(quote).search(document.text)
    if match is None:
        return f"citaat komt niet (meer) letterlijk voor in {doc_id}: {quote[:60]!r}"
    return Source(doc_id, match.group(0), match.start(), match.end())
