"""corpus/triage_taxonomy.yaml as pydantic models, citations located in the live documents."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, ValidationError

from assistant.domain import Document
from assistant.rules.sources import Source, SourceSpec, StrictSpec, locate

TAXONOMY_FILE = "triage_taxonomy.yaml"
THEME_IDS = (
    "woningvoorraad", "ruimtelijke-samenhang", "sociaal-domein", "scheiden-wonen-zorg",
    "financiering", "samenwerking-proces", "regelgeving",
)
FASE_IDS = ("visie", "prestatieafspraken", "uitvoering", "unknown")


class TaxonomyError(ValueError):
    """The taxonomy file cannot be used; the message says where and why."""


class ThemeSpec(StrictSpec):
    id: Literal[THEME_IDS]  # type: ignore[valid-type]
    label: str
    description: str
    citations: list[SourceSpec] = Field(default_factory=list)


class FaseSpec(StrictSpec):
    id: Literal[FASE_IDS]  # type: ignore[valid-type]
    label: str
    description: str


class SignalSpec(StrictSpec):
    id: str
    label: str
    description: str


class SimilarSpec(StrictSpec):
    id: str
    title: str
    citation: SourceSpec


class TaxonomySpec(StrictSpec):
    version: Literal[2]
    themes: list[ThemeSpec]
    fases: list[FaseSpec]
    urgency: list[SignalSpec] = Field(min_length=1)
    similar: list[SimilarSpec] = Field(default_factory=list)


@dataclass(frozen=True)
class Theme:
    spec: ThemeSpec
    citations: tuple[Source, ...]


@dataclass(frozen=True)
class SimilarCase:
    spec: SimilarSpec
    source: Source


@dataclass
class Taxonomy:
    themes: list[Theme]
    fases: list[FaseSpec]
    signals: list[SignalSpec]
    similar: list[SimilarCase]
    problems: list[str] = field(default_factory=list)

    def label(self, theme_id: str) -> str:
        return next((t.spec.label for t in self.themes if t.spec.id == theme_id), theme_id)


def read_taxonomy(corpus_dir: Path) -> TaxonomySpec:
    path = corpus_dir / TAXONOMY_FILE
    try:
        spec = TaxonomySpec.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as exc:
        raise TaxonomyError(f"{path}: niet te lezen: {exc}") from exc
    except ValidationError as exc:
        raise TaxonomyError(f"{path}: {exc}") from exc
    for kind, found, expected in (("thema's", [t.id for t in spec.themes], THEME_IDS),
                                  ("fases", [f.id for f in spec.fases], FASE_IDS)):
        if sorted(found) != sorted(expected):
            raise TaxonomyError(f"{path}: {kind} moeten precies {', '.join(expected)} zijn")
    return spec


def build_taxonomy(spec: TaxonomySpec, documents: Mapping[str, Document]) -> Taxonomy:
    """Locate every citation in the live documents; a missing one is reported and skipped."""
    problems: list[str] = []

    def find(owner: str, cited: SourceSpec) -> Source | None:
        found = locate(cited.doc_id, cited.quote, documents)
        if isinstance(found, str):
            problems.append(f"{owner}: {found}")
            return None
        return found

    themes = []
    for theme in spec.themes:
        located = [find(f"thema {theme.id}", c) for c in theme.citations]
        themes.append(Theme(theme, tuple(s for s in located if s is not None)))
    similar = []
    for case in spec.similar:
        source = find(f"vraagstuk {case.id}", case.citation)
        if source is not None:
            similar.append(SimilarCase(case, source))
    return Taxonomy(themes, list(spec.fases), list(spec.urgency), similar, problems)
