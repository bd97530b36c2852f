"""The evaluation's indexes are cached by content: a second run finds them unchanged, the
corpus + generalisation index holds both document sets and reuses the corpus's vectors,
and any change of documents or model gets its own folder (fake embedder, fixture layout)."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.datasets import CORPUS_INDEX, GENERALISATION_INDEX
from evals.indexes import prepare_index
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
