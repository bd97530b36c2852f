"""Evaluation sets: which files make up tune, holdout, generalisation and dev, and their items.

Layout (evals/README of the data helpers, fixed by the lead): `evals/data/{tune,holdout}/`
hold `questions*.jsonl` and `triage*.jsonl`; `evals/generalisation/` holds the suite's
`questions*.jsonl`, `triage*.jsonl` and the pages in `documents/` that it is scored on.
Holdout and generalisation items are *sealed*: reports and diffs show them in aggregate
only, so nobody changes the product while reading them item by item.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals.documents import EVALS_DIR, REPO_ROOT, Layout

SCHEMA_DIR = EVALS_DIR / "schema"


def _schema_enum(schema: str, *path: str) -> tuple[str, ...]:
    """Label sets come from the JSON Schemas, so the documented schema is the only list."""
    node: Any = json.loads((SCHEMA_DIR / schema).read_text(encoding="utf-8"))["properties"]
    for key in path:
        node = node[key]
    return tuple(node["enum"])


KINDS = _schema_enum("question.schema.json", "kind")
INSTRUMENTS = _schema_enum("question.schema.json", "expected_instruments", "items")
ORIGINS = _schema_enum("question.schema.json", "origin")
STYLES = _schema_enum("question.schema.json", "style", "items")
THEMES = _schema_enum("triage.schema.json", "themes", "items")
FASES = _schema_enum("triage.schema.json", "fase")

SPLITS = ("tune", "holdout")
NAMED_SETS = ("tune", "holdout", "generalisation", "dev", "pages", "conversations", "typos",
              "all")
SEALED_SETS = ("holdout", "generalisation")
CORPUS_INDEX = "corpus"
GENERALISATION_INDEX = "corpus+generalisation"
PAGES_INDEX = "corpus+pages"
# Development conversations of three or four turns (tune side, neither trained on nor gated):
# in this subfolder of tune/ (about the corpus) and of tune-documents/ (about the pages).
CONVERSATIONS = "conversations"


@dataclass(frozen=True)
class QuestionItem:
    id: str
    question: str
    kind: str
    answerable: bool
    origin: str
    gold_docs: tuple[str, ...] = ()
    gold_quotes: tuple[str, ...] = ()
    key_facts: tuple[str, ...] = ()
    expected_instruments: tuple[str, ...] = ()
    history: tuple[dict[str, str], ...] = field(default=())
    style: tuple[str, ...] = ()
    sealed: bool = False
    # the file the item came from: reports break a set down per file
    source: str = ""

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], sealed: bool = False, source: str = ""
                  ) -> QuestionItem:
        return cls(
            id=raw["id"],
            question=raw["question"],
            kind=raw["kind"],
            answerable=raw["answerable"],
            origin=raw["origin"],
            gold_docs=tuple(raw.get("gold_docs", ())),
            gold_quotes=tuple(raw.get("gold_quotes", ())),
            key_facts=tuple(raw.get("key_facts", ())),
            expected_instruments=tuple(raw.get("expected_instruments", ())),
            history=tuple(dict(turn) for turn in raw.get("history", ())),
            style=tuple(raw.get("style", ())),
            sealed=sealed,
            source=source,
        )


@dataclass(frozen=True)
class TriageItem:
    id: str
    report: str
    themes: tuple[str, ...]
    fase: str
    origin: str
    expected_support: tuple[str, ...] = ()
    gold_docs: tuple[str, ...] = ()
    urgent: bool = False
    contains_pii: bool = False
    style: tuple[str, ...] = ()
    sealed: bool = False
    # the file the item came from: reports break a set down per file
    source: str = ""

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], sealed: bool = False, source: str = ""
                  ) -> TriageItem:
        return cls(
            id=raw["id"],
            report=raw["report"],
            themes=tuple(raw["themes"]),
            fase=raw["fase"],
            origin=raw["origin"],
            expected_support=tuple(raw.get("expected_support", ())),
            gold_docs=tuple(raw.get("gold_docs", ())),
            urgent=bool(raw.get("urgent", False)),
            contains_pii=bool(raw.get("contains_pii", False)),
            style=tuple(raw.get("style", ())),
            sealed=sealed,
            source=source,
        )


@dataclass
class EvalSet:
    """One set of the report: its items, the index they are scored on and its files."""

    name: str
    questions: list[QuestionItem]
    triage: list[TriageItem]
    index: str = CORPUS_INDEX
    files: list[str] = field(default_factory=list)

    @property
    def sealed(self) -> bool:
        items: list[QuestionItem | TriageItem] = [*self.questions, *self.triage]
        return any(item.sealed for item in items)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path.name}:{number}: invalid JSON ({exc.msg})") from exc
            if not isinstance(row, dict):
                raise ValueError(f"{path.name}:{number}: not a JSON object")
            rows.append(row)
    return rows


def item_type(row: Mapping[str, Any]) -> str | None:
    """"question" or "triage", told apart by their text field."""
    if "question" in row:
        return "question"
    if "report" in row:
        return "triage"
    return None


def set_files(name: str, layout: Layout) -> list[Path]:
    """The JSONL files of a named base set: questions first, each kind's base file (the
    seeded split) before the files added later."""
    folder = {"tune": layout.data_dir / "tune", "holdout": layout.data_dir / "holdout",
              "generalisation": layout.generalisation_dir}[name]
    def base_first(path: Path) -> tuple[bool, str]:
        return path.stem not in ("questions", "triage"), path.name

    return [*sorted(folder.glob("questions*.jsonl"), key=base_first),
            *sorted(folder.glob("triage*.jsonl"), key=base_first)]


def all_data_files(layout: Layout) -> list[Path]:
    return [path for name in ("tune", "holdout", "generalisation")
            for path in set_files(name, layout)]


def _is_under(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def is_sealed_file(path: Path, layout: Layout) -> bool:
    return _is_under(path, layout.data_dir / "holdout") or _is_under(path,
                                                                     layout.generalisation_dir)


def load_files(name: str, paths: Sequence[Path], layout: Layout, index: str = CORPUS_INDEX
               ) -> EvalSet:
    questions: list[QuestionItem] = []
    triage: list[TriageItem] = []
    for path in paths:
        sealed = is_sealed_file(path, layout)
        for row in read_jsonl(path):
            kind = item_type(row)
            if kind == "question":
                questions.append(QuestionItem.from_dict(row, sealed, path.name))
            elif kind == "triage":
                triage.append(TriageItem.from_dict(row, sealed, path.name))
            else:
                raise ValueError(f"{path.name}: item {row.get('id')!r} is neither a question "
                                 "nor a triage report")
    return EvalSet(name, questions, triage, index, [display_path(p) for p in paths])


def display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _path_index(path: Path, eval_set: EvalSet, layout: Layout) -> str:
    """A file of our own is scored on the generalisation index when it lies in the suite's
    folder or cites one of the suite's documents, on the training pages' index when it cites
    one of those pages, else on the corpus alone."""
    if _is_under(path, layout.generalisation_dir):
        return GENERALISATION_INDEX
    from evals.documents import generalisation_documents, tune_documents

    items: list[QuestionItem | TriageItem] = [*eval_set.questions, *eval_set.triage]
    cited = {doc for item in items for doc in item.gold_docs}
    if cited & {document.doc_id for document in generalisation_documents(layout)}:
        return GENERALISATION_INDEX
    if cited & {document.doc_id for document in tune_documents(layout)}:
        return PAGES_INDEX
    return CORPUS_INDEX


def resolve_set(name: str, layout: Layout | None = None) -> list[EvalSet]:
    """A `--set` value as sets: tune, holdout, generalisation, dev (the shared-dev items of
    tune and holdout), pages, conversations (two sets: about the corpus, about the pages),
    typos (two sets: tune's questions that stand alone as written and mistyped), all
    (tune, holdout and generalisation, each its own set) or a path to any JSONL file of
    question and/or triage items."""
    layout = layout or Layout()
    if name == "all":
        return [s for part in ("tune", "holdout", "generalisation")
                for s in resolve_set(part, layout)]
    if name == "dev":
        parts = [load_files(split, set_files(split, layout), layout) for split in SPLITS]
        return [EvalSet(
            "dev",
            [q for part in parts for q in part.questions if q.origin == "shared-dev"],
            [t for part in parts for t in part.triage if t.origin == "shared-dev"],
            CORPUS_INDEX,
            [f for part in parts for f in part.files],
        )]
    if name in ("tune", "holdout"):
        return [load_files(name, set_files(name, layout), layout)]
    if name == "generalisation":
        return [load_files(name, set_files(name, layout), layout, GENERALISATION_INDEX)]
    if name == "pages":
        return [load_files(name, sorted(layout.tune_documents_dir.glob("questions*.jsonl")),
                           layout, PAGES_INDEX)]
    if name == "conversations":
        return [
            load_files("conversations-corpus",
                       sorted((layout.data_dir / "tune" / CONVERSATIONS).glob("questions*.jsonl")),
                       layout, CORPUS_INDEX),
            load_files("conversations-pages",
                       sorted((layout.tune_documents_dir / CONVERSATIONS).glob("questions*.jsonl")),
                       layout, PAGES_INDEX),
        ]
    if name == "typos":
        from evals.typos import typo_items  # it builds on this module's items

        tune = load_files("tune", set_files("tune", layout), layout)
        as_written, mistyped = typo_items(tune.questions)
        return [EvalSet("typos-as-written", as_written, [], CORPUS_INDEX, tune.files),
                EvalSet("typos-mistyped", mistyped, [], CORPUS_INDEX, tune.files)]
    path = Path(name)
    if not path.is_file():
        raise FileNotFoundError(f"no set or file named {name!r} (sets: {', '.join(NAMED_SETS)})")
    eval_set = load_files(display_path(path), [path], layout)
    eval_set.index = _path_index(path, eval_set, layout)
    return [eval_set]


def resolve_sets(names: Sequence[str], layout: Layout | None = None) -> list[EvalSet]:
    """Several `--set` values; a set named twice is evaluated once."""
    sets: dict[str, EvalSet] = {}
    for name in names:
        for eval_set in resolve_set(name, layout):
            sets.setdefault(eval_set.name, eval_set)
    return list(sets.values())


def load_questions(which: str = "tune", layout: Layout | None = None) -> list[QuestionItem]:
    """Every question of the set(s) `which` resolves to, in order."""
    return [item for s in resolve_set(which, layout) for item in s.questions]


def load_triage(which: str = "tune", layout: Layout | None = None) -> list[TriageItem]:
    return [item for s in resolve_set(which, layout) for item in s.triage]
