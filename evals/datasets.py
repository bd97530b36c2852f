"""Gold data: loading the question and triage sets and validating them against the corpus.

Validation is strict because a wrong gold quote silently turns a correct answer into a
miss: every quote must be an exact substring of a listed gold document.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals.metrics import extract_personal_data, normalise

DATA_DIR = Path(__file__).resolve().parent / "data"
REPO_ROOT = DATA_DIR.parents[1]

KINDS = (
    "factual", "definition", "procedural", "comparison", "instrument", "multi_hop",
    "out_of_scope", "followup",
)
THEMES = (
    "woningvoorraad", "ruimtelijke-samenhang", "sociaal-domein", "scheiden-wonen-zorg",
    "financiering", "samenwerking-proces", "regelgeving",
)
FASES = ("analyse", "visie", "prestatieafspraken", "uitvoering", "unknown")
INSTRUMENTS = (
    "verzilverlening", "blijverslening", "stimuleringsregeling-wonen-en-zorg",
    "ondersteuningsteam-wonen-en-zorg", "aangewezen-gebouw", "knelpunt-melden",
)
ORIGINS = ("shared-dev", "own")
SETS = ("dev", "own", "all")
QUESTION_FILES = {"dev": ("dev.jsonl",), "own": ("own.jsonl",), "all": ("dev.jsonl", "own.jsonl")}
TRIAGE_FILES = {
    "dev": ("triage-dev.jsonl",),
    "own": ("triage-own.jsonl",),
    "all": ("triage-dev.jsonl", "triage-own.jsonl"),
}


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

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> QuestionItem:
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

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> TriageItem:
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
        )


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path.name}:{number}: invalid JSON ({exc.msg})") from exc
    return rows


def _existing(names: Iterable[str], data_dir: Path) -> list[Path]:
    """Data files of a set; a missing file (triage-own is written separately) is skipped."""
    return [data_dir / name for name in names if (data_dir / name).is_file()]


def load_questions(which: str = "dev", data_dir: Path = DATA_DIR) -> list[QuestionItem]:
    paths = _existing(QUESTION_FILES[which], data_dir)
    return [QuestionItem.from_dict(row) for path in paths for row in read_jsonl(path)]


def load_triage(which: str = "dev", data_dir: Path = DATA_DIR) -> list[TriageItem]:
    paths = _existing(TRIAGE_FILES[which], data_dir)
    return [TriageItem.from_dict(row) for path in paths for row in read_jsonl(path)]


def load_corpus_texts(corpus_dir: Path) -> dict[str, str]:
    """Document id to text, loaded exactly as ingest loads it (offsets must agree)."""
    from ingest.load import load_corpus

    return {document.doc_id: document.text for document in load_corpus(corpus_dir)}


# --- validation ----------------------------------------------------------------------

def _check_type(raw: Mapping[str, Any], name: str, kind: type, problems: list[str]) -> None:
    if name not in raw:
        problems.append(f"missing field {name!r}")
    elif not isinstance(raw[name], kind):
        problems.append(f"field {name!r} should be {kind.__name__}")


def _check_str_list(raw: Mapping[str, Any], name: str, problems: list[str]) -> list[str]:
    value = raw.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        problems.append(f"field {name!r} should be a list of non-empty strings")
        return []
    if len(set(value)) != len(value):
        problems.append(f"field {name!r} has duplicates")
    return value


def _check_ids(values: list[str], allowed: Iterable[str], name: str, problems: list[str]) -> None:
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        problems.append(f"{name}: unknown {', '.join(unknown)}")


def validate_question(raw: Mapping[str, Any], texts: Mapping[str, str]) -> list[str]:
    """Problems with one question item; an empty list means it is usable as gold."""
    problems: list[str] = []
    for name, kind in (("id", str), ("question", str), ("kind", str), ("answerable", bool),
                       ("origin", str)):
        _check_type(raw, name, kind, problems)
    if problems:
        return problems
    if not raw["question"].strip():
        problems.append("empty question")
    if raw["kind"] not in KINDS:
        problems.append(f"unknown kind {raw['kind']!r}")
    if raw["origin"] not in ORIGINS:
        problems.append(f"unknown origin {raw['origin']!r}")
    docs = _check_str_list(raw, "gold_docs", problems)
    quotes = _check_str_list(raw, "gold_quotes", problems)
    facts = _check_str_list(raw, "key_facts", problems)
    instruments = _check_str_list(raw, "expected_instruments", problems)
    _check_ids(docs, texts, "gold_docs", problems)
    _check_ids(instruments, INSTRUMENTS, "expected_instruments", problems)
    history = raw.get("history", [])
    if not isinstance(history, list) or not all(
        isinstance(t, dict) and t.get("role") in ("user", "assistant")
        and isinstance(t.get("content"), str) and t["content"].strip()
        for t in history
    ):
        problems.append("history should be a list of {role: user|assistant, content}")
    elif raw["kind"] == "followup" and not history:
        problems.append("a followup needs history")
    if raw["answerable"]:
        if not (docs and quotes and facts):
            problems.append("an answerable item needs gold_docs, gold_quotes and key_facts")
        for quote in quotes:
            if not any(quote in texts.get(doc, "") for doc in docs):
                problems.append(f"gold quote not verbatim in {docs}: {quote[:60]!r}")
        joined = normalise(" ".join(quotes))
        problems.extend(
            f"key fact not in gold quotes: {fact!r}"
            for fact in facts if normalise(fact) not in joined
        )
    else:
        if raw["kind"] != "out_of_scope":
            problems.append("unanswerable items have kind out_of_scope")
        if quotes or facts or instruments:
            problems.append("unanswerable items have no gold quotes, key facts or instruments")
    return problems


def validate_triage(raw: Mapping[str, Any], texts: Mapping[str, str]) -> list[str]:
    problems: list[str] = []
    for name, kind in (("id", str), ("report", str), ("fase", str), ("origin", str),
                       ("urgent", bool)):
        _check_type(raw, name, kind, problems)
    if problems:
        return problems
    if not raw["report"].strip():
        problems.append("empty report")
    themes = _check_str_list(raw, "themes", problems)
    if not themes:
        problems.append("at least one theme")
    _check_ids(themes, THEMES, "themes", problems)
    if raw["fase"] not in FASES:
        problems.append(f"unknown fase {raw['fase']!r}")
    if raw["origin"] not in ORIGINS:
        problems.append(f"unknown origin {raw['origin']!r}")
    _check_ids(_check_str_list(raw, "expected_support", problems), INSTRUMENTS,
               "expected_support", problems)
    _check_ids(_check_str_list(raw, "gold_docs", problems), texts, "gold_docs", problems)
    if "contains_pii" in raw and not isinstance(raw["contains_pii"], bool):
        problems.append("field 'contains_pii' should be bool")
    if raw.get("contains_pii") and not extract_personal_data(raw["report"]):
        problems.append("contains_pii but no personal data recognised (leaks go unmeasured)")
    return problems


def validate_files(data_dir: Path, texts: Mapping[str, str]) -> tuple[list[str], dict[str, int]]:
    """Problems across all data files (prefixed with file and id) and item counts."""
    problems: list[str] = []
    counts = {"questions": 0, "triage": 0, "gold_quotes": 0}
    seen: dict[str, str] = {}
    question_files = sorted({n for names in QUESTION_FILES.values() for n in names})
    triage_files = sorted({n for names in TRIAGE_FILES.values() for n in names})
    for name in question_files + triage_files:
        path = data_dir / name
        if not path.is_file():
            if name != "triage-own.jsonl":
                problems.append(f"{name}: missing")
            continue
        try:
            rows = read_jsonl(path)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        is_question = name in question_files
        for row in rows:
            item_id = str(row.get("id", "?"))
            if item_id in seen:
                problems.append(f"{name}:{item_id}: duplicate id (also in {seen[item_id]})")
            seen[item_id] = name
            check = validate_question if is_question else validate_triage
            problems.extend(f"{name}:{item_id}: {p}" for p in check(row, texts))
            if is_question:
                counts["questions"] += 1
                counts["gold_quotes"] += len(row.get("gold_quotes", []))
            else:
                counts["triage"] += 1
    return problems, counts
