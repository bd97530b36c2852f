"""Ingest is idempotent, atomic, verified, and reports what it skipped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from assistant.config import Settings
from assistant.embedder import HashingEmbedder
from assistant.store import IndexModelMismatch, IndexProvider, load_build, read_pointer
from ingest.embed import passage_text, stored_vectors
from ingest.pipeline import EXIT_FAILED, EXIT_OK, EXIT_PARTIAL, run_ingest
from ingest.vector_cache import VectorCache, vector_cache_path
from tests.conftest import ROOT, make_settings
from tests.pdfs import write_text_pdf


class CountingEmbedder(HashingEmbedder):
    def __init__(self) -> None:
        super().__init__(256)
        self.embedded = 0

    def embed_documents(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        self.embedded += len(texts)
        return super().embed_documents(texts, show_progress)


def current_chunks(settings: Settings) -> list:
    return IndexProvider(settings, None).current().chunks


def test_unchanged_corpus_embeds_nothing(settings: Settings, corpus_copy: Path) -> None:
    settings = make_settings(settings.data_dir, corpus_dir=corpus_copy)
    embedder = CountingEmbedder()
    first = run_ingest(settings, embedder=embedder)
    assert first.status == "built" and first.exit_code == EXIT_OK
    # chunks and answer units; a text that occurs twice (or a one-sentence chunk that is
    # also its unit) is embedded once
    assert first.units > first.chunks and first.units - 5 <= first.units_embedded <= first.units
    assert embedder.embedded == first.embedded + first.units_embedded
    second = run_ingest(settings, embedder=embedder)
    assert second.status == "unchanged" and second.embedded == 0
    assert embedder.embedded == first.embedded + first.units_embedded
    assert second.build_id == first.build_id


def test_changed_document_replaces_its_chunks(settings: Settings, corpus_copy: Path) -> None:
    settings = make_settings(settings.data_dir, corpus_dir=corpus_copy)
    embedder = CountingEmbedder()
    first = run_ingest(settings, embedder=embedder)
    path = corpus_copy / "van-visie-naar-uitvoering.txt"
    path.write_text(
        path.read_text(encoding="utf-8") + "\n\nNieuwe alinea over de uitvoering.\n",
        encoding="utf-8",
    )
    embedder.embedded = 0
    second = run_ingest(settings, embedder=embedder)
    assert second.status == "built"
    assert 0 < second.embedded < first.chunks
    chunks = current_chunks(settings)
    ids = [c.chunk_id for c in chunks]
    assert len(ids) == len(set(ids))
    texts = {c.quote for c in chunks if c.doc_id == "van-visie-naar-uitvoering"}
    assert any("Nieuwe alinea" in t for t in texts)
    handle = IndexProvider(settings, None).current()
    assert handle.collection.count() == len(chunks)


def test_edit_at_the_top_reembeds_only_what_changed(settings: Settings, corpus_copy: Path
                                                     ) -> None:
    """Vectors are found by content, not position: a sentence inserted at the start of a
    document shifts every offset after it, yet only the changed texts are embedded."""
    settings = make_settings(settings.data_dir, corpus_dir=corpus_copy)
    embedder = CountingEmbedder()
    first = run_ingest(settings, embedder=embedder)
    path = corpus_copy / "wonen-met-begeleiding.txt"
    path.write_text("Een nieuwe openingszin.\n\n" + path.read_text(encoding="utf-8"),
                    encoding="utf-8")
    embedder.embedded = 0
    second = run_ingest(settings, embedder=embedder)
    assert second.status == "built" and second.build_id != first.build_id
    assert 0 < embedder.embedded <= 6
    assert second.reused >= first.chunks - 3
    cache = VectorCache(vector_cache_path(settings))
    assert len(cache) <= first.chunks + first.units + embedder.embedded
    handle = IndexProvider(settings, None).current()
    fresh = HashingEmbedder(256)
    stored = stored_vectors(handle.collection, [c.chunk_id for c in handle.chunks])
    for chunk in handle.chunks:
        expected = fresh.embed_documents(
            [passage_text(chunk, handle.documents[chunk.doc_id].context)])[0]
        assert np.allclose(stored[chunk.chunk_id], expected, atol=1e-6)


def test_removed_document_disappears(settings: Settings, corpus_copy: Path) -> None:
    settings = make_settings(settings.data_dir, corpus_dir=corpus_copy)
    run_ingest(settings, embedder=CountingEmbedder())
    (corpus_copy / "wegwijzer-prestatieafspraken.txt").unlink()
    embedder = CountingEmbedder()
    report = run_ingest(settings, embedder=embedder)
    assert report.status == "built" and embedder.embedded == 0
    handle = IndexProvider(settings, None).current()
    assert "wegwijzer-prestatieafspraken" not in handle.documents
    assert all(c.doc_id != "wegwijzer-prestatieafspraken" for c in handle.chunks)
    assert handle.collection.count() == len(handle.chunks)


def test_partial_failure_is_reported_and_rest_ingests(settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "goed.txt").write_text("Goed\n\nEen alinea over wonen met zorg in de wijk.\n")
    (folder / "kapot.pdf").write_bytes(b"%PDF-1.4 kapot")
    (folder / "leeg.md").write_text("")
    report = run_ingest(settings, [folder], embedder=CountingEmbedder())
    assert report.status == "built" and report.exit_code == EXIT_PARTIAL
    assert {Path(s["path"]).name for s in report.skipped} == {"kapot.pdf", "leeg.md"}
    saved = json.loads((settings.index_root / "last-ingest.json").read_text())
    assert saved["exit_code"] == EXIT_PARTIAL and saved["documents"] == 1


def test_nothing_usable_keeps_previous_index(settings: Settings, tmp_path: Path) -> None:
    run_ingest(settings, embedder=CountingEmbedder())
    before = read_pointer(settings)
    (tmp_path / "leeg.txt").write_text("   ")
    report = run_ingest(settings, [tmp_path / "leeg.txt"], embedder=CountingEmbedder())
    assert report.exit_code == EXIT_FAILED and "bestaande index" in (report.error or "")
    assert read_pointer(settings) == before


def test_pdf_is_ingested_with_pages_and_verbatim_quotes(settings: Settings, tmp_path: Path) -> None:
    text = (ROOT / "corpus" / "fase-4-uitvoering.txt").read_text(encoding="utf-8")
    pdf = write_text_pdf(tmp_path / "uitvoering.pdf", text.split("\n\n"), lines_per_page=25)
    report = run_ingest(settings, [pdf], embedder=CountingEmbedder())
    assert report.status == "built" and report.exit_code == EXIT_OK
    handle = IndexProvider(settings, None).current()
    document = handle.documents["uitvoering"]
    assert {c.page for c in handle.chunks} >= {1, 2}
    for chunk in handle.chunks:
        assert document.text[chunk.start : chunk.end] == chunk.quote


def test_other_model_is_refused_with_a_clear_message(fake_index: Settings) -> None:
    build_id = read_pointer(fake_index)
    assert build_id
    with pytest.raises(IndexModelMismatch, match="ander|ingesteld"):
        load_build(fake_index, build_id, "embeddinggemma-300m:full")


KILL_SCRIPT = """
import os, signal, sys
from pathlib import Path
from assistant.config import Settings
import assistant.store, ingest.index, ingest.pipeline

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

point = sys.argv[1]
if point == "embedding":
    ingest.pipeline.embed_cached = die
elif point == "vectors-written":
    ingest.index.BM25Index.build = die
elif point == "verify":
    ingest.pipeline.verify_build = die
elif point == "pointer":
    real_replace = os.replace
    assistant.store.os.replace = die
elif point == "cleanup":
    ingest.pipeline.garbage_collect = die
settings = Settings(data_dir=Path(sys.argv[2]), corpus_dir=Path(sys.argv[3]),
                    embedding_model="hashing:256")
ingest.pipeline.run_ingest(settings)
"""

QUERY_SCRIPT = """
import json, sys
from pathlib import Path
from assistant.config import Settings
from assistant.embedder import HashingEmbedder
from assistant.store import IndexProvider
settings = Settings(data_dir=Path(sys.argv[1]), embedding_model="hashing:256")
handle = IndexProvider(settings, "hashing-v1:256").current()
vector = HashingEmbedder(256).embed_query("Wat is de Blijverslening?")
dense = handle.dense_search(vector, 3)
lexical = handle.bm25.scores("Blijverslening huurwoning")
print(json.dumps({"build": handle.build_id, "count": handle.collection.count(),
                  "chunks": len(handle.chunks), "dense": len(dense),
                  "lexical_top": handle.chunks[int(lexical.argmax())].doc_id,
                  "docs": sorted(handle.documents)}))
"""


def _run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=180,
    )


@pytest.mark.parametrize("point", ["embedding", "vectors-written", "verify", "pointer", "cleanup"])
def test_kill_9_during_ingest_leaves_a_queryable_index(
    point: str, tmp_path: Path, corpus_copy: Path
) -> None:
    data = tmp_path / "data"
    first = _run(KILL_SCRIPT, "none", str(data), str(corpus_copy))
    assert first.returncode == 0, first.stderr
    before = json.loads(_run(QUERY_SCRIPT, str(data)).stdout)
    (corpus_copy / "fase-2-visie.txt").unlink()
    killed = _run(KILL_SCRIPT, point, str(data), str(corpus_copy))
    assert killed.returncode == -9
    after_run = _run(QUERY_SCRIPT, str(data))
    assert after_run.returncode == 0, after_run.stderr
    after = json.loads(after_run.stdout)
    assert after["count"] == after["chunks"] and after["dense"] == 3
    assert after["lexical_top"] == "fase-4-uitvoering"
    if point == "cleanup":
        assert "fase-2-visie" not in after["docs"]
    else:
        assert after == before
    recovered = _run(KILL_SCRIPT, "none", str(data), str(corpus_copy))
    assert recovered.returncode == 0, recovered.stderr
    final = json.loads(_run(QUERY_SCRIPT, str(data)).stdout)
    assert "fase-2-visie" not in final["docs"] and final["count"] == final["chunks"]


def test_a_change_in_what_is_embedded_rebuilds(settings: Settings, corpus_copy: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Not only the documents: a new way of writing a passage's text for the searches (its
    context, its format) is a new build, never an 'unchanged' index with old vectors."""
    settings = settings.model_copy(update={"corpus_dir": corpus_copy})
    assert run_ingest(settings).status == "built"
    assert run_ingest(settings).status == "unchanged"
    import ingest.pipeline

    monkeypatch.setattr(ingest.pipeline, "passage_text",
                        lambda chunk, context="": f"{chunk.search_text}\n{context}")
    assert run_ingest(settings).status == "built"
