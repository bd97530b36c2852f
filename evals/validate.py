"""Validation of gold data files: the JSON Schemas plus what a schema cannot check.

Strict because a wrong gold quote silently turns a correct answer into a miss: every quote
must be an exact substring of one of its gold documents (corpus/ or the generalisation
suite's documents/), every key fact must lie inside a gold quote, and ids must be unique
across all files. The training-only questions in evals/data/tune-documents/ are checked
against corpus/ + their own pages instead: those pages are in no evaluation index, so no
other file may cite them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from evals.datasets import SCHEMA_DIR, display_path, item_type, read_jsonl
from evals.documents import Layout, PageSet, corpus_documents, page_documents, texts_by_id
from evals.metrics import extract_personal_data, normalise

SCHEMAS = {"question": "question.schema.json", "triage": "triage.schema.json"}


@cache
def validator(kind: str) -> Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / SCHEMAS[kind]).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def schema_problems(row: Mapping[str, Any], kind: str) -> list[str]:
    problems = []
    for error in sorted(validator(kind).iter_errors(row), key=lambda e: list(e.absolute_path)):
        where = ".".join(str(p) for p in error.absolute_path)
        problems.append(f"{where + ': ' if where else ''}{error.message}")
    return problems


def question_problems(raw: Mapping[str, Any], texts: Mapping[str, str]) -> list[str]:
    """Problems with one question item; an empty list means it is usable as gold."""
    problems = schema_problems(raw, "question")
    if problems:
        return problems
    docs = list(raw["gold_docs"])
    unknown = [doc for doc in docs if doc not in texts]
    if unknown:
        problems.append(f"gold_docs: unknown document(s) {', '.join(unknown)}")
    quotes = list(raw["gold_quotes"])
    for quote in quotes:
        if not any(quote in texts.get(doc, "") for doc in docs):
            problems.append(f"gold quote not verbatim in {docs}: {quote[:60]!r}")
    normalised = [normalise(quote) for quote in quotes]
    problems.extend(
        f"key fact not inside a gold quote: {fact!r}"
        for fact in raw["key_facts"] if not any(normalise(fact) in q for q in normalised)
    )
    return problems


def triage_problems(raw: Mapping[str, Any], texts: Mapping[str, str]) -> list[str]:
    problems = schema_problems(raw, "triage")
    if problems:
        return problems
    unknown = [doc for doc in raw["gold_docs"] if doc not in texts]
    if unknown:
        problems.append(f"gold_docs: unknown document(s) {', '.join(unknown)}")
    if raw.get("contains_pii") and not extract_personal_data(raw["report"]):
        problems.append("contains_pii but no personal data recognised (leaks go unmeasured)")
    return problems


def _origin_problem(row: Mapping[str, Any], path: Path, layout: Layout) -> str | None:
    """The suite's items say origin generalisation; tune/holdout items never do."""
    origin = row.get("origin")
    try:
        path.resolve().relative_to(layout.generalisation_dir.resolve())
        in_suite = True
    except ValueError:
        in_suite = False
    if in_suite and origin != "generalisation":
        return f"origin should be 'generalisation' in {layout.generalisation_dir.name}/"
    try:
        path.resolve().relative_to(layout.data_dir.resolve())
    except ValueError:
        return None
    return "origin 'generalisation' belongs in evals/generalisation/" if (
        origin == "generalisation") else None


@dataclass
class Validation:
    problems: list[str] = field(default_factory=list)
    files: int = 0
    questions: int = 0
    triage: int = 0
    gold_quotes: int = 0

    def summary(self) -> str:
        return (f"{self.questions} questions, {self.triage} triage reports, "
                f"{self.gold_quotes} gold quotes in {self.files} file(s)")


def document_texts(layout: Layout, pages: PageSet = "generalisation"
                   ) -> tuple[dict[str, str], list[str]]:
    """Texts of the corpus and a page set's documents by id, and clashes between them."""
    corpus = texts_by_id(corpus_documents(layout))
    extra = texts_by_id(page_documents(layout, pages))
    clashes = [f"document id {doc_id} is in corpus/ and in the {pages} documents"
               for doc_id in sorted(set(corpus) & set(extra))]
    return {**corpus, **extra}, clashes


def validate_paths(paths: Sequence[Path], layout: Layout | None = None,
                   texts: Mapping[str, str] | None = None) -> Validation:
    """Validate JSONL files of question and/or triage items together (ids must be unique
    across all of them). Without `texts`, files under the tune documents' folder are checked
    against corpus + tune documents, the others against corpus + generalisation documents."""
    layout = layout or Layout()
    result = Validation()
    texts_for: dict[PageSet, Mapping[str, str]] = {}
    if texts is not None:
        texts_for = {"generalisation": texts, "tune": texts}
    seen: dict[str, str] = {}
    for path in paths:
        name = display_path(path)
        in_tune = path.resolve().is_relative_to(layout.tune_documents_dir.resolve())
        pages: PageSet = "tune" if in_tune else "generalisation"
        if pages not in texts_for:
            texts_for[pages], clashes = document_texts(layout, pages)
            result.problems.extend(clashes)
        file_texts = texts_for[pages]
        try:
            rows = read_jsonl(path)
        except (OSError, ValueError) as exc:
            result.problems.append(f"{name}: {exc}")
            continue
        result.files += 1
        if not rows:
            result.problems.append(f"{name}: no items")
        for number, row in enumerate(rows, start=1):
            item_id = str(row.get("id", f"line {number}"))
            where = f"{name}:{item_id}"
            if item_id in seen:
                result.problems.append(f"{where}: duplicate id (also in {seen[item_id]})")
            seen.setdefault(item_id, name)
            kind = item_type(row)
            if kind is None:
                result.problems.append(f"{where}: neither a question nor a triage report")
                continue
            check = question_problems if kind == "question" else triage_problems
            result.problems.extend(f"{where}: {p}" for p in check(row, file_texts))
            origin = _origin_problem(row, path, layout)
            if origin:
                result.problems.append(f"{where}: {origin}")
            if kind == "question":
                result.questions += 1
                result.gold_quotes += len(row.get("gold_quotes") or [])
            else:
                result.triage += 1
    return result


def default_paths(layout: Layout) -> list[Path]:
    """Every JSONL file under evals/data (tune-documents/ included), evals/generalisation and
    the tune documents' folder wherever a layout puts it."""
    folders: Iterable[Path] = (layout.data_dir, layout.generalisation_dir,
                               layout.tune_documents_dir)
    return sorted({p for folder in folders if folder.is_dir() for p in folder.rglob("*.jsonl")})
