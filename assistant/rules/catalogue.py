"""corpus/instruments.yaml as pydantic models, its sources located in the live documents."""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from assistant.domain import Document
from assistant.rules.engine import Lexicon, Term, Text, number_before, terms
from assistant.rules.sources import Source, SourceSpec, StrictSpec, locate

CATALOGUE_FILE = "instruments.yaml"
ROLE_MARKERS = frozenset({"als", "namens", "wij", "we", "onze", "ons", "ik"})
ROLE_WINDOW = 3


class CatalogueError(Exception):
    """The catalogue file cannot be used; the message names the entry and what is wrong."""


class Eligibility(StrictSpec):
    fact: Literal["tenure", "role", "housing_form", "units", "hours"]
    excludes: list[str] = Field(default_factory=list)
    unless: list[str] = Field(default_factory=list)
    below: str | None = None
    above: str | None = None
    why: str
    source: int = 0
    instead: str | None = None
    instead_why: str | None = None


class InstrumentSpec(StrictSpec):
    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    name: str
    names: list[str] = Field(min_length=1)
    kind: str
    for_whom: list[str]
    purpose: str
    why: str
    conditions: dict[str, Any]
    sources: list[SourceSpec] = Field(min_length=1)
    eligibility: list[Eligibility] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> InstrumentSpec:
        for rule in self.eligibility:
            if rule.source >= len(self.sources):
                raise ValueError(f"eligibility verwijst naar bron {rule.source}, die bestaat niet")
            for key in (rule.below, rule.above):
                value = self.conditions.get(key) if key else 0
                if key and (not isinstance(value, int | float) or isinstance(value, bool)):
                    raise ValueError(f"conditions.{key} ontbreekt of is geen getal")
            allowed = {k for k, v in self.conditions.items() if isinstance(v, str | int | float)}
            allowed |= {"units", "hours"}
            for text in (rule.why, rule.instead_why or ""):
                names = {n for _, n, _, _ in string.Formatter().parse(text) if n is not None}
                if names - allowed:
                    raise ValueError(f"onbekende velden {sorted(names - allowed)} in why")
        return self


class FactsSpec(StrictSpec):
    tenure: dict[str, list[str]]
    role: dict[str, list[str]]
    housing_form: dict[str, list[str]]
    count_nouns: list[str]
    hour_nouns: list[str]


class CatalogueSpec(StrictSpec):
    version: Literal[2]
    facts: FactsSpec
    instruments: list[InstrumentSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _ids(self) -> CatalogueSpec:
        ids = [i.id for i in self.instruments]
        if len(set(ids)) != len(ids):
            doubles = sorted({i for i in ids if ids.count(i) > 1})
            raise ValueError(f"dubbele instrument-id's: {doubles}")
        for instrument in self.instruments:
            for rule in instrument.eligibility:
                if rule.instead and rule.instead not in ids:
                    raise ValueError(f"{instrument.id}: alternatief {rule.instead!r} bestaat niet")
        return self


@dataclass(frozen=True)
class Facts:
    """What a question says about the situation."""

    tenure: frozenset[str] = frozenset()
    role: frozenset[str] = frozenset()
    housing_form: frozenset[str] = frozenset()
    units: float | None = None
    hours: float | None = None

    def values(self, fact: str) -> frozenset[str]:
        found: frozenset[str] = getattr(self, fact)
        return found


@dataclass(frozen=True)
class Instrument:
    spec: InstrumentSpec
    sources: tuple[Source | None, ...]

    @property
    def id(self) -> str:
        return self.spec.id

    def source(self, index: int) -> Source | None:
        return self.sources[index] if index < len(self.sources) else None

    def first_source(self) -> Source | None:
        return next((s for s in self.sources if s is not None), None)


@dataclass
class Catalogue:
    instruments: list[Instrument]
    tenure: Lexicon
    role: Lexicon
    housing_form: Lexicon
    count_nouns: tuple[Term, ...]
    hour_nouns: tuple[Term, ...]
    problems: list[str] = field(default_factory=list)

    def get(self, instrument_id: str) -> Instrument | None:
        return next((i for i in self.instruments if i.id == instrument_id), None)

    def facts(self, question: str) -> Facts:
        text = Text.of(question)
        roles = {
            name for name, hits in self.role.found(text).items()
            if any(set(text.words[max(0, p - ROLE_WINDOW):p]) & ROLE_MARKERS for _, p in hits)
        }
        return Facts(
            tenure=frozenset(self.tenure.found(text)),
            role=frozenset(roles),
            housing_form=frozenset(self.housing_form.found(text)),
            units=number_before(text, self.count_nouns),
            hours=number_before(text, self.hour_nouns),
        )


def read_spec(corpus_dir: Path) -> CatalogueSpec:
    path = corpus_dir / CATALOGUE_FILE
    try:
        return CatalogueSpec.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogueError(f"{path}: niet te lezen: {exc}") from exc
    except ValidationError as exc:
        raise CatalogueError(f"{path}: {exc}") from exc


def build_catalogue(spec: CatalogueSpec, documents: Mapping[str, Document]) -> Catalogue:
    """Locate every source in the live documents; a missing one is a problem, not a failure."""
    problems: list[str] = []
    instruments = []
    for entry in spec.instruments:
        located: list[Source | None] = []
        for n, source in enumerate(entry.sources):
            found = locate(source.doc_id, source.quote, documents)
            if isinstance(found, str):
                problems.append(f"instrument {entry.id}, bron {n}: {found}")
                located.append(None)
            else:
                located.append(found)
        instruments.append(Instrument(entry, tuple(located)))
    facts = spec.facts
    return Catalogue(
        instruments=instruments,
        tenure=Lexicon(facts.tenure),
        role=Lexicon(facts.role),
        housing_form=Lexicon(facts.housing_form),
        count_nouns=terms(facts.count_nouns),
        hour_nouns=terms(facts.hour_nouns),
        problems=problems,
    )
