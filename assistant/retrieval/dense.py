"""Dense search: the question's embedding against the chunk vectors in Chroma."""

from __future__ import annotations

from assistant.domain import Passage
from assistant.embedder import Embedder
from assistant.store import IndexHandle, IndexModelMismatch, IndexProvider


class DenseRetriever:
    def __init__(self, provider: IndexProvider, embedder: Embedder) -> None:
        self.provider = provider
        self.embedder = embedder

    def ranked(
        self, handle: IndexHandle, query: str, depth: int, doc_ids: list[str] | None
    ) -> list[tuple[int, float]]:
        vector = self.embedder.embed_query(query)
        if vector.shape[0] != handle.manifest["dimension"]:
            raise IndexModelMismatch(
                f"De index heeft {handle.manifest['dimension']} dimensies, het model geeft er "
                f"{vector.shape[0]}. Voer `assistant ingest` opnieuw uit met dit model."
            )
        return handle.dense_search(vector, depth, doc_ids)

    def retrieve(self, query: str, top_k: int, doc_ids: list[str] | None = None) -> list[Passage]:
        handle = self.provider.current()
        return [
            Passage(handle.chunks[i], s, dense=s)
            for i, s in self.ranked(handle, query, top_k, doc_ids)
        ]
