"""Helpdesk triage of reported knelpunten: themes, fase, urgency, support and similar cases.

Classification is lexical and explainable: weighted cue words and phrases from
corpus/triage_taxonomy.yaml, matched on Snowball-stemmed Dutch tokens (with prefix and
infix wildcards for compounds), plus a small bonus for overlap with each theme's
description. The report is redacted first; nothing downstream sees the original text.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import jsonschema
import yaml

from assistant.domain import Passage
from assistant.language.normalize import fold
from assistant.language.tokens import stem, stem_words
from assistant.privacy import PLACEHOLDERS, redact

log = logging.getLogger(__name__)

TAXONOMY_FILE = "triage_taxonomy.yaml"
DOCUMENTS_FILE = "documents.yaml"
INSTRUMENTS_FILE = "instruments.yaml"
THEME_IDS = (
    "woningvoorraad",
    "ruimtelijke-samenhang",
    "sociaal-domein",
    "scheiden-wonen-zorg",
    "financiering",
    "samenwerking-proces",
    "regelgeving",
)
FASE_IDS = ("analyse", "visie", "prestatieafspraken", "uitvoering", "unknown")
UNKNOWN_FASE = "unknown"
SUPPORT_IDS = (
    "verzilverlening",
    "blijverslening",
    "stimuleringsregeling-wonen-en-zorg",
    "ondersteuningsteam-wonen-en-zorg",
    "aangewezen-gebouw",
    "knelpunt-melden",
)
# Function words that say nothing about a theme; used for description overlap only.
STOPWORDS = frozenset({
    "aan", "al", "alle", "als", "bij", "dan", "dat", "de", "deze", "die", "dit", "door", "een",
    "en", "er", "geen", "haar", "hem", "het", "hier", "hij", "hoe", "hun", "ik", "in", "is", "je",
    "kan", "kunnen", "maar", "meer", "met", "moet", "moeten", "na", "naar", "niet", "nog", "nu",
    "of", "om", "omdat", "ons", "onze", "ook", "op", "over", "te", "tot", "u", "uit", "van",
    "voor", "waar", "wat", "we", "wel", "welke", "wie", "wij", "wil", "willen", "wordt", "worden",
    "ze", "zich", "zij", "zijn", "zo", "zoals", "zou", "zouden",
})

_PLACEHOLDER_RE = re.compile("|".join(re.escape(p) for p in PLACEHOLDERS))
_TOKEN_RE = re.compile(r"[a-z0-9]+")


class TaxonomyError(ValueError):
    """The taxonomy file is invalid or a citation does not match the corpus text."""


class Retriever(Protocol):
    def retrieve(
        self, query: str, top_k: int, doc_ids: list[str] | None = None
    ) -> list[Passage]: ...


@dataclass(frozen=True)
class Analysed:
    """A text as tokens and stems, with memoised lookups; cues are matched against this."""

    tokens: tuple[str, ...]
    stems: tuple[str, ...]
    _memo: dict[tuple[str, str], frozenset[int]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def of(cls, text: str) -> Analysed:
        tokens = tuple(_TOKEN_RE.findall(fold(_PLACEHOLDER_RE.sub(" ", text))))
        return cls(tokens, tuple(stem_words(list(tokens))))

    def content_stems(self, ignore: frozenset[str]) -> set[str]:
        return {
            stem for token, stem in zip(self.tokens, self.stems, strict=True)
            if len(token) > 3 and token not in STOPWORDS and stem not in ignore
        }

    def where(self, mode: str, value: str) -> frozenset[int]:
        """Token positions matching one cue word; computed once per (mode, value)."""
        key = (mode, value)
        if key not in self._memo:
            if mode == "stem":
                hits = (i for i, stem in enumerate(self.stems) if stem == value)
            else:
                test = {
                    "prefix": str.startswith, "suffix": str.endswith,
                    "contains": str.__contains__,
                }[mode]
                hits = (i for i, token in enumerate(self.tokens) if test(token, value))
            self._memo[key] = frozenset(hits)
        return self._memo[key]


@dataclass(frozen=True)
class TokenPattern:
    """One word position of a cue: alternatives of (mode, value)."""

    alternatives: tuple[tuple[str, str], ...]

    def positions(self, doc: Analysed) -> frozenset[int]:
        return frozenset().union(*(doc.where(mode, value) for mode, value in self.alternatives))


@dataclass(frozen=True)
class Cue:
    """A word, phrase or "a ~ b" proximity pattern from the taxonomy (syntax: cue_syntax)."""

    text: str
    parts: tuple[tuple[TokenPattern, ...], ...]
    window: int

    @classmethod
    def compile(cls, text: str, window: int) -> Cue:
        parts = []
        for part in text.split("~"):
            words = part.split()
            if not words:
                raise TaxonomyError(f"lege cue of cue-deel in {text!r}")
            parts.append(tuple(_compile_word(word, text) for word in words))
        return cls(text, tuple(parts), window)

    @staticmethod
    def _starts(part: tuple[TokenPattern, ...], doc: Analysed) -> list[int]:
        following = [pattern.positions(doc) for pattern in part[1:]]
        return [
            i for i in part[0].positions(doc)
            if all(i + j in hits for j, hits in enumerate(following, start=1))
        ]

    def matches(self, doc: Analysed) -> bool:
        positions = []
        for part in self.parts:
            starts = self._starts(part, doc)
            if not starts:
                return False
            positions.append(starts)
        return any(
            all(any(abs(other - anchor) <= self.window for other in rest) for rest in positions[1:])
            for anchor in positions[0]
        )


def _compile_word(word: str, cue: str) -> TokenPattern:
    alternatives = []
    for alternative in fold(word).split("/"):
        core = alternative.strip("*")
        if not core or not _TOKEN_RE.fullmatch(core):
            raise TaxonomyError(f"cue {cue!r}: {alternative!r} is geen enkel woord")
        starts, ends = alternative.startswith("*"), alternative.endswith("*")
        if starts and ends:
            alternatives.append(("contains", core))
        elif ends:
            alternatives.append(("prefix", core))
        elif starts:
            alternatives.append(("suffix", core))
        else:
            alternatives.append(("stem", stem(core)))
    return TokenPattern(tuple(alternatives))


@dataclass(frozen=True)
class CueSet:
    """Weighted cues; the score of a text is the sum of the weights of the cues it contains."""

    cues: tuple[tuple[Cue, float], ...]

    def matched(self, doc: Analysed) -> list[tuple[Cue, float]]:
        return [(cue, weight) for cue, weight in self.cues if cue.matches(doc)]

    def score(self, doc: Analysed) -> float:
        return sum(weight for _, weight in self.matched(doc))


@dataclass(frozen=True)
class Citation:
    doc_id: str
    title: str
    section: str
    quote: str
    start: int
    end: int
    content: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    def as_dict(self, n: int, score: float) -> dict[str, Any]:
        return {
            "n": n, "doc_id": self.doc_id, "title": self.title, "section": self.section,
            "quote": self.quote, "start": self.start, "end": self.end, "score": round(score, 4),
        }


@dataclass(frozen=True)
class Theme:
    id: str
    label: str
    description: str
    cues: CueSet
    description_stems: frozenset[str]
    citations: tuple[Citation, ...]


@dataclass(frozen=True)
class Fase:
    id: str
    label: str
    cues: CueSet


@dataclass(frozen=True)
class SupportRule:
    """Fires on cues, predicted themes or fase, matched similar items, urgency, or as fallback."""

    why: str
    cues: CueSet | None = None
    themes: frozenset[str] = frozenset()
    fases: frozenset[str] = frozenset()
    similar: frozenset[str] = frozenset()
    urgent: bool = False
    fallback: bool = False


@dataclass(frozen=True)
class NotFitting:
    """A condition under which a suggested option does not fit (unless `unless` matches)."""

    cues: CueSet
    unless: CueSet
    why: str

    def applies(self, doc: Analysed) -> bool:
        return self.cues.score(doc) > 0 and self.unless.score(doc) == 0


@dataclass(frozen=True)
class SupportOption:
    id: str
    name: str
    rules: tuple[SupportRule, ...]
    not_fitting: tuple[NotFitting, ...] = ()


@dataclass(frozen=True)
class SimilarItem:
    id: str
    title: str
    cues: CueSet
    citation: Citation


@dataclass(frozen=True)
class Taxonomy:
    """The validated taxonomy with compiled cues; immutable, safe to share between threads."""

    themes: tuple[Theme, ...]
    fases: tuple[Fase, ...]
    fase_priority: tuple[str, ...]
    fase_min_score: float
    theme_min_score: float
    theme_relative: float
    max_themes: int
    description_weight: float
    description_cap: float
    generic_stems: frozenset[str]
    urgent_cues: CueSet
    deadline_cues: CueSet
    risk_cues: CueSet
    support: tuple[SupportOption, ...]
    max_support: int
    similar: tuple[SimilarItem, ...]
    similar_min_score: float
    max_similar: int


@dataclass
class TriageResult:
    themes: list[dict[str, Any]]
    fase: str
    support: list[dict[str, Any]]
    citations: list[dict[str, Any]]
    similar: list[dict[str, Any]]
    urgent: bool
    redacted_report: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TriageResult:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})


_CUES_SCHEMA = {
    "type": "object",
    "properties": {
        level: {"type": "array", "items": {"type": "string", "minLength": 1}}
        for level in ("strong", "normal", "weak")
    },
    "additionalProperties": False,
}
_CITATION_SCHEMA = {
    "type": "object",
    "required": ["doc_id", "quote", "start", "end"],
    "properties": {
        "doc_id": {"type": "string"}, "quote": {"type": "string", "minLength": 1},
        "start": {"type": "integer", "minimum": 0}, "end": {"type": "integer", "minimum": 1},
        "section": {"type": "string"},
    },
    "additionalProperties": False,
}
_STRINGS = {"type": "array", "items": {"type": "string", "minLength": 1}}
_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["weights", "themes", "fases", "urgency", "support", "similar"],
    "properties": {
        "weights": {
            "type": "object", "required": ["strong", "normal", "weak"],
            "additionalProperties": {"type": "number"},
        },
        "proximity_window": {"type": "integer", "minimum": 1},
        "themes": {"type": "array", "items": {
            "type": "object",
            "required": ["id", "label", "description", "cues", "citations"],
            "properties": {
                "id": {"enum": list(THEME_IDS)}, "label": {"type": "string", "minLength": 1},
                "description": {"type": "string", "minLength": 1}, "cues": _CUES_SCHEMA,
                "citations": {"type": "array", "minItems": 1, "items": _CITATION_SCHEMA},
            },
        }},
        "fases": {"type": "array", "items": {
            "type": "object", "required": ["id", "label", "cues"],
            "properties": {"id": {"enum": list(FASE_IDS)}, "label": {"type": "string"},
                           "cues": _CUES_SCHEMA},
        }},
        "fase_priority": {"type": "array", "items": {"enum": list(FASE_IDS)}},
        "urgency": {
            "type": "object", "required": ["strong", "deadline", "risk"],
            "properties": {"strong": _STRINGS, "deadline": _STRINGS, "risk": _STRINGS},
            "additionalProperties": False,
        },
        "support": {"type": "array", "items": {
            "type": "object", "required": ["id", "name", "rules"],
            "properties": {
                "id": {"enum": list(SUPPORT_IDS)}, "name": {"type": "string", "minLength": 1},
                "rules": {"type": "array", "minItems": 1, "items": {
                    "type": "object", "required": ["why"],
                    "properties": {
                        "why": {"type": "string", "minLength": 1}, "cues": _STRINGS,
                        "themes": {"type": "array", "items": {"enum": list(THEME_IDS)}},
                        "fases": {"type": "array", "items": {"enum": list(FASE_IDS)}},
                        "similar": _STRINGS,
                        "urgent": {"type": "boolean"}, "fallback": {"type": "boolean"},
                    },
                    "additionalProperties": False,
                }},
                "not_fitting": {"type": "array", "items": {
                    "type": "object", "required": ["cues", "why"],
                    "properties": {"cues": _STRINGS, "unless": _STRINGS,
                                   "why": {"type": "string", "minLength": 1}},
                    "additionalProperties": False,
                }},
            },
        }},
        "similar": {"type": "array", "items": {
            "type": "object", "required": ["id", "title", "cues", "citation"],
            "properties": {"id": {"type": "string"}, "title": {"type": "string", "minLength": 1},
                           "cues": _CUES_SCHEMA, "citation": _CITATION_SCHEMA},
        }},
    },
}


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise TaxonomyError(f"{path}: geen geldige YAML ({exc})") from exc


def _documents(corpus_dir: Path) -> dict[str, tuple[str, Path]]:
    """doc_id -> (title, path) from documents.yaml; unlisted .txt files count by file name."""
    found = {path.stem: (path.stem, path) for path in sorted(corpus_dir.glob("*.txt"))}
    meta_path = corpus_dir / DOCUMENTS_FILE
    meta = _read_yaml(meta_path) if meta_path.is_file() else {}
    for file_name, info in (meta or {}).items():
        if isinstance(info, dict) and (corpus_dir / str(file_name)).is_file():
            doc_id = str(info.get("id") or Path(str(file_name)).stem)
            found[doc_id] = (str(info.get("title") or doc_id), corpus_dir / str(file_name))
    return found


def _instrument_names(corpus_dir: Path) -> dict[str, str]:
    """Names from instruments.yaml when it exists: a list, {"instruments": [...]} or {id: {...}}."""
    path = corpus_dir / INSTRUMENTS_FILE
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        log.warning("%s niet gelezen, namen uit de taxonomie gebruikt: %s", path, exc)
        return {}
    if isinstance(data, dict) and isinstance(data.get("instruments"), list):
        data = data["instruments"]
    entries: list[tuple[Any, Any]] = []
    if isinstance(data, list):
        entries = [(e.get("id"), e) for e in data if isinstance(e, dict)]
    elif isinstance(data, dict):
        entries = [(e.get("id", key), e) for key, e in data.items() if isinstance(e, dict)]
    return {
        str(key): str(entry["name"]) for key, entry in entries
        if key and isinstance(entry.get("name"), str) and entry["name"].strip()
    }


class _Builder:
    """Turns the raw YAML into a Taxonomy, verifying every citation against the corpus."""

    def __init__(self, raw: dict[str, Any], corpus_dir: Path) -> None:
        self.raw = raw
        self.weights = {k: float(v) for k, v in raw["weights"].items()}
        self.window = int(raw.get("proximity_window", 8))
        self.documents = _documents(corpus_dir)
        self.texts: dict[str, str] = {}

    def cues(self, spec: dict[str, list[str]] | list[str] | None) -> CueSet:
        if spec is None:
            return CueSet(())
        levels = {"normal": spec} if isinstance(spec, list) else spec
        compiled: dict[tuple[tuple[TokenPattern, ...], ...], tuple[Cue, float]] = {}
        for level, texts in levels.items():
            for text in texts:
                cue = Cue.compile(text, self.window)
                weight = self.weights[level]
                # "wijk" and "wijken" share a stem: count such a cue once, at its highest weight.
                if cue.parts not in compiled or compiled[cue.parts][1] < weight:
                    compiled[cue.parts] = (cue, weight)
        return CueSet(tuple(compiled.values()))

    def text(self, doc_id: str) -> str:
        if doc_id not in self.texts:
            if doc_id not in self.documents:
                raise TaxonomyError(f"citaat verwijst naar onbekend document {doc_id!r}")
            text = self.documents[doc_id][1].read_text(encoding="utf-8")
            self.texts[doc_id] = text.removeprefix("\ufeff")
        return self.texts[doc_id]

    def citation(self, spec: dict[str, Any]) -> Citation:
        doc_id, quote, start, end = spec["doc_id"], spec["quote"], spec["start"], spec["end"]
        if self.text(doc_id)[start:end] != quote:
            raise TaxonomyError(
                f"citaat klopt niet met {doc_id}[{start}:{end}]: {quote[:60]!r}"
            )
        return Citation(
            doc_id, self.documents[doc_id][0], str(spec.get("section", "")), quote, start, end,
            frozenset(Analysed.of(quote).content_stems(frozenset())),
        )

    def build(self, names: dict[str, str]) -> Taxonomy:
        raw = self.raw
        themes = tuple(self.theme(spec) for spec in raw["themes"])
        fases = tuple(Fase(f["id"], f["label"], self.cues(f["cues"])) for f in raw["fases"])
        _require_ids("thema", [t.id for t in themes], THEME_IDS)
        _require_ids("fase", [f.id for f in fases], FASE_IDS)
        similar_ids = {item["id"] for item in raw["similar"]}
        for option in raw["support"]:
            for rule in option["rules"]:
                unknown = set(rule.get("similar", ())) - similar_ids
                if unknown:
                    raise TaxonomyError(
                        f"steunregel {option['id']}: onbekende vraagstukken {sorted(unknown)}"
                    )
        selection = raw.get("theme_selection", {})
        urgency = raw["urgency"]
        return Taxonomy(
            themes=themes,
            fases=fases,
            fase_priority=tuple(raw.get("fase_priority", FASE_IDS)),
            fase_min_score=float(raw.get("fase_min_score", 2.0)),
            theme_min_score=float(selection.get("min_score", 2.0)),
            theme_relative=float(selection.get("relative_to_best", 0.4)),
            max_themes=int(selection.get("max_themes", 3)),
            description_weight=float(selection.get("description_weight", 0.4)),
            description_cap=float(selection.get("description_cap", 1.2)),
            generic_stems=frozenset(stem_words(
                [fold(w) for w in raw.get("generic_words", [])]
            )),
            urgent_cues=self.cues(urgency["strong"]),
            deadline_cues=self.cues(urgency["deadline"]),
            risk_cues=self.cues(urgency["risk"]),
            support=tuple(self.support(spec, names) for spec in raw["support"]),
            max_support=int(raw.get("max_support", 3)),
            similar=tuple(
                SimilarItem(s["id"], s["title"], self.cues(s["cues"]), self.citation(s["citation"]))
                for s in raw["similar"]
            ),
            similar_min_score=float(raw.get("similar_min_score", 2.0)),
            max_similar=int(raw.get("max_similar", 3)),
        )

    def theme(self, spec: dict[str, Any]) -> Theme:
        description = Analysed.of(spec["description"])
        return Theme(
            id=spec["id"],
            label=spec["label"],
            description=spec["description"],
            cues=self.cues(spec["cues"]),
            description_stems=frozenset(description.content_stems(frozenset())),
            citations=tuple(self.citation(c) for c in spec["citations"]),
        )

    def support(self, spec: dict[str, Any], names: dict[str, str]) -> SupportOption:
        rules = tuple(
            SupportRule(
                why=" ".join(rule["why"].split()),
                cues=self.cues(rule["cues"]) if "cues" in rule else None,
                themes=frozenset(rule.get("themes", ())),
                fases=frozenset(rule.get("fases", ())),
                similar=frozenset(rule.get("similar", ())),
                urgent=bool(rule.get("urgent", False)),
                fallback=bool(rule.get("fallback", False)),
            )
            for rule in spec["rules"]
        )
        return SupportOption(
            id=spec["id"],
            name=names.get(spec["id"], spec["name"]),
            rules=rules,
            not_fitting=tuple(
                NotFitting(self.cues(n["cues"]), self.cues(n.get("unless", [])),
                           " ".join(n["why"].split()))
                for n in spec.get("not_fitting", ())
            ),
        )


def _require_ids(kind: str, found: list[str], expected: tuple[str, ...]) -> None:
    if sorted(found) != sorted(expected):
        raise TaxonomyError(f"{kind}-ids moeten precies {list(expected)} zijn, gevonden: {found}")


def load_taxonomy(corpus_dir: Path) -> Taxonomy:
    """Load and validate corpus/triage_taxonomy.yaml; raises TaxonomyError on any mismatch."""
    corpus_dir = Path(corpus_dir)
    raw = _read_yaml(corpus_dir / TAXONOMY_FILE)
    try:
        jsonschema.validate(raw, _SCHEMA)
    except jsonschema.ValidationError as exc:
        location = "/".join(str(p) for p in exc.absolute_path)
        raise TaxonomyError(f"{TAXONOMY_FILE}: {location}: {exc.message}") from exc
    return _Builder(raw, corpus_dir).build(_instrument_names(corpus_dir))


def _theme_scores(doc: Analysed, taxonomy: Taxonomy) -> dict[str, float]:
    content = doc.content_stems(taxonomy.generic_stems)
    scores = {}
    for theme in taxonomy.themes:
        overlap = len(content & theme.description_stems) * taxonomy.description_weight
        scores[theme.id] = theme.cues.score(doc) + min(taxonomy.description_cap, overlap)
    return scores


def _select_themes(scores: dict[str, float], taxonomy: Taxonomy) -> list[str]:
    best = max(scores.values(), default=0.0)
    ranked = sorted(scores, key=lambda t: (-scores[t], THEME_IDS.index(t)))
    chosen = [
        t for t in ranked
        if scores[t] >= taxonomy.theme_min_score and scores[t] >= taxonomy.theme_relative * best
    ]
    return chosen[: taxonomy.max_themes]


def _fase(doc: Analysed, taxonomy: Taxonomy) -> str:
    scores = {fase.id: fase.cues.score(doc) for fase in taxonomy.fases if fase.id != UNKNOWN_FASE}
    priority = list(taxonomy.fase_priority)
    ranked = sorted(
        scores, key=lambda f: (-scores[f], priority.index(f) if f in priority else len(priority))
    )
    if not ranked or scores[ranked[0]] < taxonomy.fase_min_score:
        return UNKNOWN_FASE
    return ranked[0]


def _is_urgent(doc: Analysed, taxonomy: Taxonomy) -> bool:
    """Someone may lose their home or be unsafe, or a deadline within weeks meets a risk."""
    if taxonomy.urgent_cues.score(doc) > 0:
        return True
    return taxonomy.deadline_cues.score(doc) > 0 and taxonomy.risk_cues.score(doc) > 0


@dataclass(frozen=True)
class _Findings:
    """What support rules may condition on, computed once per report."""

    doc: Analysed
    themes: frozenset[str]
    fase: str
    similar: frozenset[str]
    urgent: bool


def _rule_score(rule: SupportRule, found: _Findings) -> float:
    if rule.urgent:
        return 3.0 if found.urgent else 0.0
    if rule.cues is not None:
        return float(len(rule.cues.matched(found.doc)))
    if rule.themes:
        return 1.0 if rule.themes & found.themes else 0.0
    if rule.similar:
        return 1.5 if rule.similar & found.similar else 0.0
    if rule.fases:
        return 0.5 if found.fase in rule.fases else 0.0
    return 0.0


def _support(findings: _Findings, taxonomy: Taxonomy) -> list[dict[str, Any]]:
    doc = findings.doc
    found: list[tuple[float, bool, dict[str, Any]]] = []
    for option in taxonomy.support:
        scored = [(_rule_score(r, findings), r) for r in option.rules]
        score, best = max(scored, key=lambda pair: pair[0])
        if score > 0:
            found.append((score, *_suggestion(option, best, doc)))
    if not found:
        for option in taxonomy.support:
            fallback = next((r for r in option.rules if r.fallback), None)
            if fallback is not None:
                found.append((0.1, *_suggestion(option, fallback, doc)))
    found.sort(key=lambda item: (not item[1], -item[0]))
    return [suggestion for _, _, suggestion in found[: taxonomy.max_support]]


def _suggestion(option: SupportOption, rule: SupportRule,
                doc: Analysed) -> tuple[bool, dict[str, Any]]:
    reasons = [n.why for n in option.not_fitting if n.applies(doc)]
    why = " ".join([rule.why, *reasons])
    return not reasons, {"id": option.id, "name": option.name, "why": why, "fits": not reasons}


def _similar(doc: Analysed, taxonomy: Taxonomy) -> list[tuple[float, SimilarItem]]:
    scored = [(item.cues.score(doc), item) for item in taxonomy.similar]
    return sorted(
        ((s, item) for s, item in scored if s >= taxonomy.similar_min_score),
        key=lambda pair: -pair[0],
    )[: taxonomy.max_similar]


def _squash(score: float) -> float:
    """Map an unbounded cue score to (0, 1) so API consumers get a comparable number."""
    return score / (score + 3.0) if score > 0 else 0.0


def _taxonomy_citations(doc: Analysed, taxonomy: Taxonomy, themes: list[str],
                        scores: dict[str, float], top_k: int) -> list[dict[str, Any]]:
    by_id = {theme.id: theme for theme in taxonomy.themes}
    report_stems = doc.content_stems(taxonomy.generic_stems)
    candidates: dict[tuple[str, int], tuple[float, Citation]] = {}
    for theme_id in themes:
        for citation in by_id[theme_id].citations:
            overlap = len(report_stems & citation.content)
            score = _squash(scores[theme_id]) + 0.05 * overlap
            key = (citation.doc_id, citation.start)
            if key not in candidates or candidates[key][0] < score:
                candidates[key] = (score, citation)
    ranked = sorted(candidates.values(), key=lambda pair: -pair[0])[:top_k]
    return [citation.as_dict(n, score) for n, (score, citation) in enumerate(ranked, start=1)]


def _retrieved_citations(retriever: Retriever, query: str, top_k: int) -> list[dict[str, Any]]:
    passages = retriever.retrieve(query, top_k)
    return [
        {
            "n": n, "doc_id": p.chunk.doc_id, "title": p.chunk.title, "section": p.chunk.section,
            "quote": p.chunk.quote, "start": p.chunk.start, "end": p.chunk.end,
            "score": float(p.score),
        }
        for n, p in enumerate(passages[:top_k], start=1)
    ]


def triage(report: str, taxonomy: Taxonomy, retriever: Retriever | None = None,
           top_k: int = 3) -> TriageResult:
    """Classify a reported knelpunt; the report is redacted before anything else sees it."""
    redacted = redact(report).strip()
    doc = Analysed.of(redacted)
    scores = _theme_scores(doc, taxonomy)
    themes = _select_themes(scores, taxonomy)
    fase = _fase(doc, taxonomy)
    urgent = _is_urgent(doc, taxonomy)
    similar = _similar(doc, taxonomy)
    findings = _Findings(
        doc, frozenset(themes), fase, frozenset(item.id for _, item in similar), urgent
    )
    labels = {theme.id: theme.label for theme in taxonomy.themes}
    citations: list[dict[str, Any]] = []
    if retriever is not None and redacted:
        try:
            citations = _retrieved_citations(retriever, redacted, top_k)
        except Exception as exc:  # retrieval is an extra; triage must still answer
            log.warning("retrieval voor triage mislukt (%s); taxonomiecitaten gebruikt",
                        type(exc).__name__)
    if not citations:
        citations = _taxonomy_citations(doc, taxonomy, themes, scores, top_k)
    return TriageResult(
        themes=[
            {"id": t, "label": labels[t], "score": round(_squash(scores[t]), 4)} for t in themes
        ],
        fase=fase,
        support=_support(findings, taxonomy) if redacted else [],
        citations=citations,
        similar=[
            {"title": item.title, "citation": item.citation.as_dict(n, _squash(score))}
            for n, (score, item) in enumerate(similar, start=1)
        ],
        urgent=urgent,
        redacted_report=redacted,
    )
