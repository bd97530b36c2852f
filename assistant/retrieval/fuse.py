"""Weighted reciprocal rank fusion of the dense and lexical rankings."""

from __future__ import annotations

from dataclasses import dataclass

from assistant.domain import Passage
from assistant.retrieval.dense import DenseRetriever
from assistant.retrieval.lexical import LexicalRetriever


@dataclass(frozen=True)
class FusionParams:
    """Values chosen by measurement on the tune set (evals/tune.py)."""

    k: float = 60.0
    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    depth: int = 30


class HybridRetriever:
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
