"""Retrieval: BM25 over the Dutch analysis, dense search in Chroma, and their fusion."""

from __future__ import annotations

from typing import Protocol

from assistant.domain import Passage


class Retriever(Protocol):
    def retrieve(
        self, query: str, top_k: int, doc_ids: list[str] | None = None
    ) -> list[Passage]: ...
