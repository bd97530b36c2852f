"""Sets resolve to the right files and indexes, documents are read as the layout says, and
the validator (JSON Schema + verbatim quotes + key facts + unique ids) catches each kind of
mistake; the committed gold data passes it. The training-only pages and their questions are
found, staged and validated, and no evaluation set picks them up."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evals.datasets import (
    CORPUS_INDEX,
    GENERALISATION_INDEX,
    INSTRUMENTS,
    KINDS,
    ORIGINS,
    PAGES_INDEX,
    STYLES,
    load_questions,
    resolve_set,
    resolve_sets,
)
from evals.documents import (
    Layout,
    corpus_documents,
    generalisation_documents,
    stage_corpus,
    stage_tune_corpus,
    staged_digest,
    tune_documents,
)
from evals.typos import with_typos
from evals.validate import (
    default_paths,
    document_texts,
    question_problems,
    triage_problems,
    validate_paths,
)
from tests.eval_support import (
    ALPHA,
    BLIJVERS,
    NOORD_QUOTE,
    TRAPLIFT_QUOTE,
    make_layout,
    question,
    triage,
    write_jsonl,
)


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    return make_layout(tmp_path)


# --- sets --------------------------------------------------------------------------------------

def test_named_sets_resolve_to_their_files(layout: Layout) -> None:
    [tune] = resolve_set("tune", layout)
    assert [q.id for q in tune.questions] == ["t1", "t2", "t3", "t4", "t5"]  # questions*.jsonl
    assert [t.id for t in tune.triage] == ["tt1", "tt2", "tt3"]  # triage*.jsonl
    assert [t.source for t in tune.triage] == ["triage.jsonl"] * 2 + ["triage-extra.jsonl"]
    assert tune.index == CORPUS_INDEX and not tune.sealed
    [holdout] = resolve_set("holdout", layout)
    assert holdout.sealed and all(q.sealed for q in holdout.questions)
    [suite] = resolve_set("generalisation", layout)
    assert suite.index == GENERALISATION_INDEX and suite.sealed
    assert [q.id for q in suite.questions] == ["g1", "g2"] and suite.triage[0].id == "tg1"
    assert suite.questions[0].style == ("new-document", "typos")


def test_pages_are_the_training_pages_questions_on_their_own_index(layout: Layout) -> None:
    [pages] = resolve_set("pages", layout)
    assert [q.id for q in pages.questions] == ["d1", "d2"]
    assert pages.index == PAGES_INDEX and not pages.sealed
    assert "pages" not in [s.name for s in resolve_set("all", layout)]


def test_conversations_are_two_sets_on_their_own_indexes_outside_training(layout: Layout
                                                                          ) -> None:
    corpus, pages = resolve_set("conversations", layout)
    assert (corpus.name, corpus.index, corpus.questions) == ("conversations-corpus", CORPUS_INDEX,
                                                             [])
    assert pages.index == PAGES_INDEX and [q.id for q in pages.questions] == ["c1"]
    [pages_set] = resolve_set("pages", layout)
    assert "c1" not in [q.id for q in pages_set.questions]


def test_typos_are_tune_questions_as_written_and_mistyped_the_same_way_each_run(
        layout: Layout) -> None:
    written, mistyped = resolve_set("typos", layout)
    assert (written.name, mistyped.name) == ("typos-as-written", "typos-mistyped")
    [tune] = resolve_set("tune", layout)
    assert [q.id for q in written.questions] == [q.id for q in tune.questions if not q.history]
    assert [q.id for q in mistyped.questions] == [q.id for q in written.questions]
    assert not mistyped.sealed and not mistyped.triage
    text = "Welke voorwaarden gelden voor de Stimuleringsregeling wonen en zorg in gemeenten?"
    first, again = with_typos(text, "q1"), with_typos(text, "q1")
    assert first == again != text
    changed = [a for a, b in zip(text.split(), first.split(), strict=True) if a != b]
    assert 1 <= len(changed) <= 3  # about a third of the six longer words
    assert all(a[0] == b[0] and a[-1] == b[-1] for a, b in zip(text.split(), first.split(),
                                                              strict=True))


def test_dev_is_the_shared_items_of_tune_and_holdout(layout: Layout) -> None:
    [dev] = resolve_set("dev", layout)
    assert [q.id for q in dev.questions] == ["t1", "h1"]
    assert [t.id for t in dev.triage] == ["tt1"]
    assert dev.index == CORPUS_INDEX


def test_all_is_three_sets_and_repeats_are_dropped(layout: Layout) -> None:
    assert [s.name for s in resolve_set("all", layout)] == ["tune", "holdout", "generalisation"]
    assert [s.name for s in resolve_sets(["tune", "all", "tune"], layout)] == [
        "tune", "holdout", "generalisation"]
    assert [q.id for q in load_questions("all", layout)][-2:] == ["g1", "g2"]


def test_a_path_is_a_set_detected_by_field(layout: Layout, tmp_path: Path) -> None:
    mixed = write_jsonl(tmp_path / "mine.jsonl", [
        question("m1", "Wat doet de Blijverslening?", "alpha", BLIJVERS, ["woning"]),
        triage("m2", "Het loopt vast."),
    ])
    [own] = resolve_set(str(mixed), layout)
    assert [q.id for q in own.questions] == ["m1"] and [t.id for t in own.triage] == ["m2"]
    assert own.index == CORPUS_INDEX and not own.sealed
    about_suite = write_jsonl(tmp_path / "noord.jsonl", [
        question("m3", "Leeftijd?", "blijverslening-noord", NOORD_QUOTE, ["60 jaar"]),
    ])
    assert resolve_set(str(about_suite), layout)[0].index == GENERALISATION_INDEX
    about_pages = write_jsonl(tmp_path / "oost.jsonl", [
        question("m4", "En wat kost die?", "traplift-oost-wmo", TRAPLIFT_QUOTE, ["€ 20"]),
    ])
    assert resolve_set(str(about_pages), layout)[0].index == PAGES_INDEX
    with pytest.raises(FileNotFoundError):
        resolve_set(str(tmp_path / "missing.jsonl"), layout)
    write_jsonl(tmp_path / "odd.jsonl", [{"id": "x"}])
    with pytest.raises(ValueError, match="neither a question"):
        resolve_set(str(tmp_path / "odd.jsonl"), layout)


def test_label_sets_come_from_the_schemas() -> None:
    assert "followup" in KINDS and "out_of_scope" in KINDS
    assert set(ORIGINS) == {"shared-dev", "own", "generalisation"}
    assert "knelpunt-melden" in INSTRUMENTS and "false-premise" in STYLES


# --- documents ---------------------------------------------------------------------------------

def test_documents_ids_titles_and_text_as_on_disk(layout: Layout) -> None:
    corpus = {d.doc_id: d for d in corpus_documents(layout)}
    assert set(corpus) == {"alpha", "beta"}  # metadata id; slugified file name otherwise
    assert corpus["alpha"].text == ALPHA  # BOM stripped, nothing else changed
    assert corpus["alpha"].title == "Alpha" and corpus["beta"].title == "Beta"
    suite = {d.doc_id for d in generalisation_documents(layout)}
    assert suite == {"blijverslening-noord", "regeling-zuid"}


def test_staged_corpus_merges_documents_and_metadata(layout: Layout, tmp_path: Path) -> None:
    target = stage_corpus(layout, tmp_path / "staged")
    staged = Layout(corpus_dir=target)
    assert {d.doc_id for d in corpus_documents(staged)} == {
        "alpha", "beta", "blijverslening-noord", "regeling-zuid"}
    assert (target / "instruments.yaml").is_file()  # catalogue data travels with the corpus
    digest = staged_digest(layout, "model:full")
    stamp = (target / "alpha.txt").stat().st_mtime_ns
    stage_corpus(layout, target)
    assert (target / "alpha.txt").stat().st_mtime_ns == stamp  # unchanged files not rewritten
    assert staged_digest(layout, "model:256") != digest
    (layout.generalisation_documents / "lening-noord.txt").write_text("Nieuw.", "utf-8")
    assert staged_digest(layout, "model:full") != digest
    stage_corpus(layout, target)
    assert (target / "lening-noord.txt").read_text(encoding="utf-8") == "Nieuw."


def test_a_suite_page_may_not_shadow_a_corpus_file(layout: Layout, tmp_path: Path) -> None:
    (layout.generalisation_documents / "alpha.txt").write_text("Anders.", encoding="utf-8")
    with pytest.raises(ValueError, match="name of a corpus file"):
        stage_corpus(layout, tmp_path / "staged")


def test_tune_documents_are_found_and_staged_apart(layout: Layout, tmp_path: Path) -> None:
    assert {d.doc_id: d.title for d in tune_documents(layout)} == {
        "traplift-oost-wmo": "Traplift Oost", "mantelzorg-west": "Mantelzorg West"}
    target = stage_tune_corpus(layout, tmp_path / "staged")
    staged = {d.doc_id for d in corpus_documents(Layout(corpus_dir=target))}
    assert staged == {"alpha", "beta", "traplift-oost-wmo", "mantelzorg-west"}  # no suite pages
    assert staged_digest(layout, "model:full", "tune") != staged_digest(layout, "model:full")
    (layout.tune_documents / "Beta.md").write_text("Anders.", encoding="utf-8")
    with pytest.raises(ValueError, match="tune document Beta.md has the name of a corpus"):
        stage_tune_corpus(layout, target)


def test_tune_document_questions_are_in_no_set(layout: Layout) -> None:
    ids = {q.id for name in ("tune", "holdout", "generalisation", "dev")
           for q in load_questions(name, layout)}
    assert ids and not ids & {"d1", "d2"}
    assert layout.tune_documents_dir / "questions.jsonl" in default_paths(layout)


# --- the validator -------------------------------------------------------------------------------

@pytest.fixture
def texts(layout: Layout) -> dict[str, str]:
    return document_texts(layout)[0]


def _good(**overrides: Any) -> dict[str, Any]:
    item = question("x1", "Wat doet de Blijverslening?", "alpha", BLIJVERS,
                    ["woning aan te passen"], ["blijverslening"])
    item.update(overrides)
    return item


def test_validator_accepts_good_items(texts: dict[str, str]) -> None:
    assert question_problems(_good(), texts) == []
    assert question_problems(_good(style=["typos", "informal"]), texts) == []
    assert triage_problems(triage("y1", "Het loopt vast."), texts) == []


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"gold_quotes": [BLIJVERS.replace("helpt", "steunt")]}, "not verbatim"),
        ({"gold_quotes": [BLIJVERS.lower()]}, "not verbatim"),
        ({"gold_docs": ["beta"]}, "not verbatim"),
        ({"gold_docs": ["onbekend"]}, "unknown document(s) onbekend"),
        ({"key_facts": ["mantelzorg"]}, "key fact not inside a gold quote"),
        ({"kind": "smalltalk"}, "'smalltalk' is not one of"),
        ({"origin": "elsewhere"}, "'elsewhere' is not one of"),
        ({"expected_instruments": ["huurtoeslag"]}, "'huurtoeslag' is not one of"),
        ({"style": ["sarcasm"]}, "'sarcasm' is not one of"),
        ({"kind": "followup"}, "history: [] should be non-empty"),
        ({"history": [{"role": "system", "content": "x"}]}, "'system' is not one of"),
        ({"answerable": "yes"}, "is not of type 'boolean'"),
        ({"key_facts": []}, "should be non-empty"),
        ({"answerable": False}, "'out_of_scope' was expected"),
        ({"kind": "out_of_scope", "answerable": False}, "is expected to be empty"),
        ({"gold_quotes": [BLIJVERS, BLIJVERS]}, "non-unique elements"),
        ({"gold_quote": [BLIJVERS]}, "Additional properties are not allowed"),
        ({"question": "   "}, "does not match"),
    ],
)
def test_validator_rejects(texts: dict[str, str], overrides: dict[str, Any], fragment: str) -> None:
    problems = question_problems(_good(**overrides), texts)
    assert any(fragment in problem for problem in problems), problems


def test_a_key_fact_must_lie_inside_one_quote(texts: dict[str, str]) -> None:
    quotes = [BLIJVERS, "De rente is laag"]
    across = _good(gold_quotes=quotes, key_facts=["passen. De rente"])
    assert any("key fact" in p for p in question_problems(across, texts))
    typography = _good(key_facts=["WONING aan te   passen"])  # case and spacing are forgiven
    assert question_problems(typography, texts) == []


def test_triage_validator(texts: dict[str, str]) -> None:
    bad = triage("y2", "Het loopt vast.", themes=["wonen"], fase="later",
                 expected_support=["x"], contains_pii=True, gold_docs=["nergens"])
    problems = " | ".join(triage_problems(bad, texts))
    for fragment in ("'wonen' is not one of", "'later' is not one of", "'x' is not one of"):
        assert fragment in problems
    no_pii = triage("y3", "Het loopt vast.", contains_pii=True, gold_docs=["nergens"])
    problems = " | ".join(triage_problems(no_pii, texts))
    assert "unknown document(s) nergens" in problems and "no personal data" in problems


def test_validate_paths_across_files(layout: Layout, tmp_path: Path) -> None:
    result = validate_paths(default_paths(layout), layout)
    assert result.problems == []
    # conversations/ under tune-documents/ is validated against the pages as well
    assert (result.questions, result.triage, result.files) == (13, 5, 10)
    line = json.dumps(_good(), ensure_ascii=False)
    first = tmp_path / "a.jsonl"
    first.write_text(f"{line}\n", encoding="utf-8")
    second = tmp_path / "b.jsonl"
    second.write_text(f"{line}\n{{not json\n", encoding="utf-8")
    third = write_jsonl(tmp_path / "c.jsonl", [{"id": "z1", "text": "?"}])
    problems = validate_paths([first, second, third], layout).problems
    assert any("b.jsonl" in p and "invalid JSON" in p for p in problems)
    again = validate_paths([first, first], layout).problems
    assert any("duplicate id" in p for p in again)
    assert any("neither a question nor a triage report" in p for p in problems)


def test_tune_document_questions_cite_only_corpus_and_tune_pages(layout: Layout) -> None:
    write_jsonl(layout.tune_documents_dir / "questions-more.jsonl", [
        question("d3", "vanaf welke leeftijd?", "blijverslening-noord", NOORD_QUOTE, ["60 jaar"]),
        question("d4", "Wat doet de Blijverslening?", "alpha", BLIJVERS, ["woning"]),
    ])
    write_jsonl(layout.data_dir / "tune" / "questions-more.jsonl", [
        question("t9", "traplift oost?", "traplift-oost-wmo", TRAPLIFT_QUOTE, ["€ 20"]),
    ])
    unknown = [p for p in validate_paths(default_paths(layout), layout).problems
               if "unknown document" in p]
    assert len(unknown) == 2  # a tune page is in no evaluation index, a suite page not in
    assert any(":t9:" in p for p in unknown) and any(":d3:" in p for p in unknown)  # training


def test_origin_must_match_where_an_item_lives(layout: Layout) -> None:
    write_jsonl(layout.generalisation_dir / "questions-more.jsonl", [
        question("g9", "Wat doet de Blijverslening?", "alpha", BLIJVERS, ["woning"]),
    ])
    write_jsonl(layout.data_dir / "tune" / "questions-more.jsonl", [
        question("t9", "Wat doet de Blijverslening?", "alpha", BLIJVERS, ["woning"],
                 origin="generalisation"),
    ])
    problems = validate_paths(default_paths(layout), layout).problems
    assert any("g9: origin should be 'generalisation'" in p for p in problems)
    assert any("t9: origin 'generalisation' belongs in" in p for p in problems)


def test_committed_gold_data_is_valid() -> None:
    """Every file under evals/data and evals/generalisation, against corpus/ and the suite's
    documents (what `python -m evals validate` checks)."""
    layout = Layout()
    result = validate_paths(default_paths(layout), layout)
    assert result.problems == [], "\n".join(result.problems)
    assert result.questions > 0 and result.triage > 0


def test_committed_tune_documents_and_their_questions() -> None:
    """The training-only pages keep their ids (metadata for seven, file name for five), and
    every answerable question about them names one of them as its first gold document."""
    layout = Layout()
    pages = {d.doc_id for d in tune_documents(layout)}
    assert pages == {"wmo-woningaanpassing-oosterwaarde", "mantelzorgwoning-brakelveen",
                     "doorstroomregeling-senioren-lindenhof", "subsidie-samen-wonen-in-de-kern",
                     "nieuws-tussenvoorziening-dijkmark", "lenen-woningaanpassing-rivierenmeer",
                     "nieuwsbrief-woonzorgnetwerk-oostvliet",
                     "seniorenwoningen-verhuisbegeleiding-zilverlinde",
                     "beleidsnotitie-wonen-en-zorg-heeseloord", "begeleid-wonen-de-zwaluw",
                     "nieuws-woonzorgcoalitie-aalsterland", "woonzorgloket-zuiderhout"}
    paths = sorted(layout.tune_documents_dir.glob("questions*.jsonl"))
    assert [p.name for p in paths] == ["questions-catalogue.jsonl", "questions.jsonl"]
    result = validate_paths(paths, layout)
    assert result.problems == [], "\n".join(result.problems)
    rows = [json.loads(line) for path in paths
            for line in path.read_text(encoding="utf-8").splitlines()]
    assert all(r["gold_docs"][0] in pages for r in rows if r["answerable"])
    assert {r["origin"] for r in rows} == {"own"}
