"""BM25 over the index's own Dutch analysis; persisted with the build, never rebuilt to serve."""

from __future__ import annotations

import math
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import bm25s
import numpy as np

from assistant.domain import Passage
from assistant.language.tokens import Analyzer

if TYPE_CHECKING:
    from assistant.store import IndexHandle, IndexProvider


class BM25Index:
    """Index and query go through the same analyzer, so the persisted index stays consistent."""

    def __init__(self, model: bm25s.BM25, size: int, analyzer: Analyzer) -> None:
        self._model = model
        self.size = size
        self.analyzer = analyzer

    @classmethod
    def build(
        cls, texts: list[str], analyzer: Analyzer, k1: float = 1.2, b: float = 0.75
    ) -> BM25Index:
        model = bm25s.BM25(k1=k1, b=b)
        model.index([analyzer.analyze(text) or ["_"] for text in texts], show_progress=False)
        return cls(model, len(texts), analyzer)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._model.save(str(directory))

    @classmethod
    def load(cls, directory: Path, size: int, analyzer: Analyzer) -> BM25Index:
        return cls(bm25s.BM25.load(str(directory)), size, analyzer)

    @cached_property
    def idf(self) -> dict[str, float]:
        """Smoothed inverse document frequency of every indexed term, from the postings."""
        counts = np.diff(np.asarray(self._model.scores["indptr"]))
        n = float(self._model.scores["num_docs"])
        return {
            term: math.log(1 + (n - counts[i] + 0.5) / (counts[i] + 0.5))
            for term, i in self._model.vocab_dict.items()
            if term and i < len(counts)
        }

    def scores(self, query: str) -> np.ndarray:
        terms = [t for t in self.analyzer.analyze(query) if t in self._model.vocab_dict]
        if not terms:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._model.get_scores(terms), dtype=np.float32)


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
