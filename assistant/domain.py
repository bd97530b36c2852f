"""Plain data shared by ingest and serve: documents, chunks, answer units, retrieved passages."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Document:
    """A source text exactly as received; offsets everywhere point into `text`."""

    doc_id: str
    title: str
    text: str
    kind: str = "document"
    publisher: str = ""
    phase: str | None = None
    source: str = ""
    sha256: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def metadata(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("text")
        return data

    @property
    def context(self) -> str:
        """The heading every chunk of the document stands under: its title, and its publisher
        where the title does not name it. A municipal page's figures ("€ 21,80 per maand")
        rarely repeat the municipality a question names; this heading does."""
        title = self.title.strip()
        publisher = self.publisher.strip()
        if publisher and publisher.casefold() not in title.casefold():
            return f"{title} ({publisher})" if title else publisher
        return title


@dataclass(frozen=True)
class Chunk:
    """A searchable piece of a document. `quote` is document.text[start:end], verbatim."""

    chunk_id: str
    doc_id: str
    title: str
    section: str
    start: int
    end: int
    quote: str
    search_text: str
    page: int | None = None
    position: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Chunk:
        return cls(**data)


@dataclass(frozen=True)
class Unit:
    """A sentence, list item or table row that an answer may quote: document.text[start:end].

    `chunk` is the position of the chunk it belongs to in the build; `group` numbers the
    lists and step plans of its document (an `intro` unit introduces its group's items);
    `leaning` units open with a word that points back to the sentence before them.
    """

    unit_id: str
    doc_id: str
    start: int
    end: int
    kind: str
    text: str
    section: str
    chunk: int
    position: int
    group: int | None = None
    intro: bool = False
    leaning: bool = False
    question: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Unit:
        return cls(**data)


@dataclass(frozen=True)
class Passage:
    """A chunk as returned by a retriever, with the fused score and the raw signals behind it."""

    chunk: Chunk
    score: float
    dense: float | None = None
    lexical: float | None = None
