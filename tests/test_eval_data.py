"""The gold data is valid: quotes verbatim in the corpus, key facts inside the quotes,
fields and ids well-formed; and the validator itself catches each kind of mistake."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from evals.datasets import (
    DATA_DIR,
    INSTRUMENTS,
    KINDS,
    REPO_ROOT,
    load_corpus_texts,
    load_questions,
    load_triage,
    validate_files,
    validate_question,
    validate_triage,
)
from evals.metrics import extract_personal_data


@pytest.fixture(scope="module")
def texts() -> dict[str, str]:
    return load_corpus_texts(REPO_ROOT / "corpus")


def test_all_data_files_are_valid(texts: dict[str, str]) -> None:
    problems, counts = validate_files(DATA_DIR, texts)
    assert problems == []
    assert counts["questions"] >= 65 and counts["triage"] >= 10


def test_dev_sets_are_the_shared_copies() -> None:
    questions, triage = load_questions("dev"), load_triage("dev")
    assert len(questions) == 25 and len(triage) == 10
    assert {item.origin for item in [*questions, *triage]} == {"shared-dev"}


def test_own_questions_cover_what_dev_misses(texts: dict[str, str]) -> None:
    own = load_questions("own")
    assert len(own) >= 40
    assert {item.origin for item in own} == {"own"}
    kinds = Counter(item.kind for item in own)
    assert set(kinds) == set(KINDS)
    assert kinds["out_of_scope"] >= 8
    assert {doc for item in own for doc in item.gold_docs} == set(texts)
    assert {i for item in own for i in item.expected_instruments} == set(INSTRUMENTS)
    assert all(item.history for item in own if item.kind == "followup")
    questions = " ".join(item.question for item in own)
    for abbreviation in ("OWZ", "BWMO", "RVO", "VNG", "SCP", "GGZ"):
        assert abbreviation.casefold() in questions.casefold()


def test_ids_are_unique_across_sets() -> None:
    ids = [item.id for item in load_questions("all")] + [item.id for item in load_triage("all")]
    assert len(ids) == len(set(ids))


def test_reports_marked_with_personal_data_have_recognisable_data() -> None:
    for item in load_triage("all"):
        assert bool(extract_personal_data(item.report)) or not item.contains_pii, item.id


# --- the validator catches mistakes ------------------------------------------------------------

QUOTE = "Het SCP schreef een verkenning voor particuliere woonzorg voor ouderen."


def _question(**overrides: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": "x1", "question": "Wat schreef het SCP?", "kind": "factual", "answerable": True,
        "gold_docs": ["fase-4-uitvoering"], "gold_quotes": [QUOTE],
        "key_facts": ["particuliere woonzorg"], "expected_instruments": [], "history": [],
        "origin": "own",
    }
    item.update(overrides)
    return item


def test_validator_accepts_a_good_item(texts: dict[str, str]) -> None:
    assert validate_question(_question(), texts) == []


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"gold_quotes": [QUOTE.replace("SCP", "CBS")]}, "not verbatim"),
        ({"gold_quotes": [QUOTE.lower()]}, "not verbatim"),
        ({"gold_docs": ["fase-2-visie"]}, "not verbatim"),
        ({"gold_docs": ["onbekend"]}, "unknown onbekend"),
        ({"key_facts": ["mantelzorg"]}, "key fact not in gold quotes"),
        ({"kind": "smalltalk"}, "unknown kind"),
        ({"origin": "elsewhere"}, "unknown origin"),
        ({"expected_instruments": ["huurtoeslag"]}, "unknown huurtoeslag"),
        ({"kind": "followup"}, "a followup needs history"),
        ({"history": [{"role": "system", "content": "x"}]}, "history should be"),
        ({"answerable": "yes"}, "should be bool"),
        ({"key_facts": []}, "needs gold_docs, gold_quotes and key_facts"),
        ({"answerable": False}, "unanswerable items have kind out_of_scope"),
        ({"kind": "out_of_scope", "answerable": False}, "no gold quotes"),
        ({"gold_quotes": [QUOTE, QUOTE]}, "duplicates"),
    ],
)
def test_validator_rejects(texts: dict[str, str], overrides: dict[str, Any], fragment: str) -> None:
    problems = validate_question(_question(**overrides), texts)
    assert any(fragment in problem for problem in problems), problems


def test_validator_requires_fields(texts: dict[str, str]) -> None:
    item = _question()
    del item["question"]
    assert validate_question(item, texts) == ["missing field 'question'"]


def test_triage_validator(texts: dict[str, str]) -> None:
    good = {"id": "t1", "report": "Wij zoeken hulp bij de woonzorgvisie.",
            "themes": ["sociaal-domein"], "fase": "visie",
            "expected_support": ["ondersteuningsteam-wonen-en-zorg"],
            "gold_docs": ["fase-2-visie"], "urgent": False, "origin": "own"}
    assert validate_triage(good, texts) == []
    bad = {**good, "themes": ["wonen"], "fase": "later", "expected_support": ["x"],
           "contains_pii": True}
    problems = " | ".join(validate_triage(bad, texts))
    for fragment in ("unknown wonen", "unknown fase", "unknown x", "no personal data"):
        assert fragment in problems


def test_validate_files_reports_duplicates_and_bad_json(tmp_path: Path,
                                                        texts: dict[str, str]) -> None:
    line = json.dumps(_question(), ensure_ascii=False)
    (tmp_path / "dev.jsonl").write_text(f"{line}\n", encoding="utf-8")
    (tmp_path / "own.jsonl").write_text(f"{line}\n", encoding="utf-8")
    (tmp_path / "triage-dev.jsonl").write_text("{not json\n", encoding="utf-8")
    problems, counts = validate_files(tmp_path, texts)
    assert any("duplicate id" in p for p in problems)
    assert any("triage-dev.jsonl:1: invalid JSON" in p for p in problems)
    assert counts["questions"] == 2
