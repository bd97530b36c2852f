"""The evaluation's indexes are cached by content: a second run finds them unchanged, the
corpus + generalisation index holds both document sets and reuses the corpus's vectors,
and any change of documents or model gets its own folder (fake embedder, fixture layout); the
training pages have an index of their own, and in-process apps let one client ask freely."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.datasets import CORPUS_INDEX, GENERALISATION_INDEX, PAGES_INDEX
from evals.indexes import DefaultApps, prepare_index
from tests.eval_support import make_layout


@pytest.fixture(autouse=True)
def fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMBEDDING_MODEL", "hashing:64")
    monkeypatch.delenv("CHROMA_HOST", raising=False)


def test_indexes_are_cached_by_content(tmp_path: Path) -> None:
    layout = make_layout(tmp_path / "fixture")
    root = tmp_path / "cache"
    settings, built = prepare_index(CORPUS_INDEX, layout, root)
    assert built["status"] == "built" and built["documents"] == 2
    assert Path(settings.corpus_dir) == layout.corpus_dir
    assert Path(settings.data_dir).is_relative_to(root)
    _, again = prepare_index(CORPUS_INDEX, layout, root)
    assert again["status"] == "unchanged" and again["data_dir"] == built["data_dir"]

    suite_settings, suite = prepare_index(GENERALISATION_INDEX, layout, root)
    assert suite["status"] == "built" and suite["documents"] == 4
    assert suite["data_dir"] != built["data_dir"]
    assert suite["seeded_from"] == Path(built["data_dir"]).parent.name
    assert suite["reused"] > 0  # the corpus's chunks were not embedded again
    assert (Path(suite_settings.corpus_dir) / "lening-noord.txt").is_file()

    (layout.generalisation_documents / "Regeling Zuid.md").write_text(
        "Regeling Zuid\n\nVoorrang voor uitstromers, nu ook in Oost.\n", encoding="utf-8")
    _, changed = prepare_index(GENERALISATION_INDEX, layout, root)
    assert changed["data_dir"] != suite["data_dir"] and changed["status"] == "built"
    _, corpus_again = prepare_index(CORPUS_INDEX, layout, root)
    assert corpus_again["status"] == "unchanged"  # the suite's pages are not in this index


def test_pages_index_holds_corpus_and_training_pages(tmp_path: Path) -> None:
    layout = make_layout(tmp_path / "fixture")
    settings, built = prepare_index(PAGES_INDEX, layout, tmp_path / "cache")
    assert built["status"] == "built" and built["documents"] == 4
    assert (Path(settings.corpus_dir) / "traplift-oost.md").is_file()
    assert not (Path(settings.corpus_dir) / "lening-noord.txt").exists()


def test_in_process_apps_do_not_make_one_client_wait(tmp_path: Path) -> None:
    """Hundreds of questions from one in-process client: the per-client limit is off."""
    apps = DefaultApps(make_layout(tmp_path / "fixture"), tmp_path / "work", tmp_path / "cache")
    limiter = apps.app("hybrid", CORPUS_INDEX).state.limiter
    assert all(limiter.retry_after("ask", "testclient") is None for _ in range(200))
