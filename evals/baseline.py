"""The naive LangChain RAG baseline the product is compared against.

Fixed-size recursive splits (1000/200), dense retrieval only through an in-memory
Chroma, top 4, the first passage as the answer; it never refuses and suggests no
instruments. It answers through the same HTTP contract as the product so the runner
measures both with identical request code.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any, Protocol

import chromadb.config
from fastapi import FastAPI, HTTPException
from langchain_chroma import Chroma
from langchain_core.documents import Document as LCDocument
from langchain_core.embeddings import Embeddings
from langchain_text_splitters import RecursiveCharacterTextSplitter
from pydantic import BaseModel, Field

CHUNK_SIZE = 1000
CHUNK_OVERLAP = 200
TOP_K = 4


class Document(Protocol):
    """What the baseline needs of a document (evals' SourceDocument, ingest's Document)."""

    @property
    def doc_id(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def text(self) -> str: ...


def huggingface_embeddings(model_name: str) -> Embeddings:
    """The product's embedding model through langchain-huggingface, plain `encode`."""
    from langchain_huggingface import HuggingFaceEmbeddings

    return HuggingFaceEmbeddings(model_name=model_name,
                                 encode_kwargs={"normalize_embeddings": True})


class _FakeModelEmbeddings(Embeddings):
    """The deterministic `hashing:N` test model behind LangChain's interface (smoke runs)."""

    def __init__(self, model_name: str) -> None:
        from assistant.config import Settings
        from assistant.embedder import get_embedder

        self.embedder = get_embedder(Settings(embedding_model=model_name))

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [list(map(float, v)) for v in self.embedder.embed_documents(texts)]

    def embed_query(self, text: str) -> list[float]:
        return list(map(float, self.embedder.embed_query(text)))


def baseline_embeddings(model_name: str) -> Embeddings:
    """The configured model for the baseline; `hashing:N` stays the offline fake."""
    if model_name.startswith("hashing:"):
        return _FakeModelEmbeddings(model_name)
    return huggingface_embeddings(model_name)


def split_documents(documents: Sequence[Document]) -> list[LCDocument]:
    """Recursive character splits with the exact start offset of each in its document."""
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP, add_start_index=True
    )
    splits: list[LCDocument] = []
    for document in documents:
        metadata = {"doc_id": document.doc_id, "title": document.title}
        for split in splitter.create_documents([document.text], metadatas=[metadata]):
            start = int(split.metadata["start_index"])
            if document.text[start:start + len(split.page_content)] != split.page_content:
                start = document.text.find(split.page_content)
            if start < 0:
                raise ValueError(f"split not found in {document.doc_id}")
            split.metadata["start_index"] = start
            splits.append(split)
    return splits


class NaiveLangchainBaseline:
    """Chroma over recursive splits; `ask` returns the product's response shape."""

    def __init__(self, documents: Sequence[Document], embeddings: Embeddings) -> None:
        self.documents = {document.doc_id: document for document in documents}
        self.store = Chroma(
            collection_name=f"naive-{uuid.uuid4().hex}",
            embedding_function=embeddings,
            client_settings=chromadb.config.Settings(anonymized_telemetry=False,
                                                     is_persistent=False),
            collection_metadata={"hnsw:space": "cosine"},
        )
        self.store.add_documents(split_documents(documents))

    def ask(self, question: str) -> dict[str, Any]:
        started = time.perf_counter()
        hits = self.store.similarity_search_with_score(question, k=TOP_K)
        retrieved = time.perf_counter()
        citations = []
        for n, (split, distance) in enumerate(hits, start=1):
            start = int(split.metadata["start_index"])
            citations.append({
                "n": n, "doc_id": split.metadata["doc_id"], "title": split.metadata["title"],
                "section": "", "quote": split.page_content, "start": start,
                "end": start + len(split.page_content), "score": 1.0 - float(distance),
            })
        answer = citations[0]["quote"] if citations else ""
        done = time.perf_counter()
        return {
            "answer": answer, "answerable": True, "standalone_question": question,
            "citations": citations, "instruments": [],
            "timings_ms": {"retrieve": (retrieved - started) * 1000,
                           "answer": (done - retrieved) * 1000,
                           "total": (done - started) * 1000},
        }


class _Turn(BaseModel):
    role: str
    content: str


class _AskBody(BaseModel):
    question: str
    history: list[_Turn] = Field(default_factory=list)
    top_k: int = TOP_K


def create_app(documents: Sequence[Document], embeddings: Embeddings) -> FastAPI:
    """The baseline behind /api/ask and /api/documents/{doc_id}; history is ignored."""
    baseline = NaiveLangchainBaseline(documents, embeddings)
    app = FastAPI(title="naive-langchain baseline")

    @app.post("/api/ask")
    def ask(body: _AskBody) -> dict[str, Any]:
        return baseline.ask(body.question)

    @app.get("/api/documents/{doc_id}")
    def document(doc_id: str) -> dict[str, Any]:
        found = baseline.documents.get(doc_id)
        if found is None:
            raise HTTPException(status_code=404, detail="onbekend document")
        return {"doc_id": found.doc_id, "title": found.title, "text": found.text}

    return app
