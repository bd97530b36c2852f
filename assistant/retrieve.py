"""Retrieval seam: BM25 with Dutch analysis, dense Chroma search, and their fusion."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from assistant.domain import Passage
from assistant.embedder import Embedder
from assistant.store import IndexHandle, IndexModelMismatch, IndexProvider


class Retriever(Protocol):
    def retrieve(
        self, query: str, top_k: int, doc_ids: list[str] | None = None
    ) -> list[Passage]: ...


@dataclass(frozen=True)
class FusionParams:
    """Reciprocal rank fusion; values chosen by measurement (evals, see README)."""

    k: float = 60.0
    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    depth: int = 30


class LexicalRetriever:
    def __init__(self, provider: IndexProvider) -> None:
        self.provider = provider

    def ranked(
        self, handle: IndexHandle, query: str, depth: int, doc_ids: list[str] | None
    ) -> list[tuple[int, float]]:
        scores = handle.bm25.scores(query)
        mask = handle.doc_mask(doc_ids)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        order = np.argsort(-scores, kind="stable")[:depth]
        return [(int(i), float(scores[i])) for i in order if scores[i] > 0]

    def retrieve(self, query: str, top_k: int, doc_ids: list[str] | None = None) -> list[Passage]:
        handle = self.provider.current()
        return [
            Passage(handle.chunks[i], s, lexical=s)
            for i, s in self.ranked(handle, query, top_k, doc_ids)
        ]


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


class HybridRetriever:
    """Weighted reciprocal rank fusion of the dense and lexical rankings."""

    def __init__(
        self, dense: DenseRetriever, lexical: LexicalRetriever, params: FusionParams | None = None
    ) -> None:
        self.dense = dense
        self.lexical = lexical
        self.params = params or FusionParams()

    def retrieve(self, query: str, top_k: int, doc_ids: list[str] | None = None) -> list[Passage]:
        handle = self.dense.provider.current()
        params = self.params
        dense = self.dense.ranked(handle, query, params.depth, doc_ids)
        lexical = self.lexical.ranked(handle, query, params.depth, doc_ids)
        fused: dict[int, float] = {}
        for weight, ranking in ((params.dense_weight, dense), (params.lexical_weight, lexical)):
            for rank, (index, _) in enumerate(ranking):
                fused[index] = fused.get(index, 0.0) + weight / (params.k + rank + 1)
        dense_scores = dict(dense)
        lexical_scores = dict(lexical)
        order = sorted(fused, key=lambda i: (-fused[i], i))[:top_k]
        return [
            Passage(handle.chunks[i], fused[i], dense_scores.get(i), lexical_scores.get(i))
            for i in order
        ]
