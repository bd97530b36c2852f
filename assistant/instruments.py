"""Catalogue of financial instruments and support options, and which of them fit a question.

Entries, verbatim sources and the lexical matching rules live in corpus/instruments.yaml so
helpdesk leads can refine cue words without touching code. This module validates that file
(JSON Schema plus checks the schema cannot express, such as quotes against the documents) and
applies the rules with plain Dutch lexical analysis, because no model is available here.
"""

from __future__ import annotations

import json
import math
import re
import string
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from assistant.lexical import fold, stem, stem_words
from ingest.load import load_corpus

CATALOGUE_FILE = "instruments.yaml"
SCHEMA_FILE = "instruments.schema.json"

OWZ_MAX_HOURS = 80
OWZ_LOCAL_FRACTION = 1 / 3
OWZ_LOCAL_MAX_EUR = 4000.0
OWZ_RIJK_MAX_EUR = 8000.0

SHORT_GAP = 2
LONG_GAP = 6
NEGATION_WINDOW = 2
NUMBER_WINDOW = 3
HISTORY_TURNS = 3
STRENGTH_NAMED, STRENGTH_CUE, STRENGTH_ALTERNATIVE = 3, 2, 1

_TOKEN = re.compile(r"\d+(?:[.,]\d+)*\+?|[a-z0-9]+\+?")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


class CatalogueError(Exception):
    """The catalogue file is invalid; the message names the entry and what is wrong."""


@dataclass(frozen=True)
class Source:
    """A verbatim passage: documents[doc_id].text[start:end] == quote."""

    doc_id: str
    quote: str
    start: int
    end: int


@dataclass(frozen=True)
class Instrument:
    id: str
    name: str
    kind: str
    for_whom: tuple[str, ...]
    conditions: dict[str, Any] = field(hash=False)
    purpose: str
    sources: tuple[Source, ...]


@dataclass(frozen=True)
class Suggestion:
    """An instrument for a question: fits=False means the situation rules it out (see why)."""

    instrument: Instrument
    why: str
    fits: bool
    source: Source


# --- lexical analysis -------------------------------------------------------------------


@dataclass(frozen=True)
class _Text:
    words: tuple[str, ...]
    stems: tuple[str, ...]

    @classmethod
    def of(cls, text: str) -> _Text:
        words = tuple(_TOKEN.findall(fold(text)))
        return cls(words, tuple(stem_words(list(words))))


@dataclass(frozen=True)
class _Part:
    pattern: str
    glob: bool
    gap: int


@dataclass(frozen=True)
class _Term:
    """A word or phrase; stems compare, '*' parts glob on the folded word, '...' widens a gap."""

    parts: tuple[_Part, ...]

    @classmethod
    def parse(cls, term: str) -> _Term:
        parts: list[_Part] = []
        gap = SHORT_GAP
        for chunk in fold(term).split():
            if chunk == "...":
                gap = LONG_GAP
                continue
            if "*" in chunk:
                parts.append(_Part(chunk, True, gap))
            else:
                parts.extend(_Part(stem(w), False, gap) for w in _TOKEN.findall(chunk))
            gap = SHORT_GAP
        if not parts:
            raise CatalogueError(f"term {term!r} bevat geen woorden")
        return cls(tuple(parts))

    def _part_at(self, part: _Part, text: _Text, i: int) -> bool:
        if part.glob:
            return fnmatchcase(text.words[i], part.pattern)
        return text.stems[i] == part.pattern

    def _rest_from(self, text: _Text, index: int, previous: int) -> bool:
        if index == len(self.parts):
            return True
        part = self.parts[index]
        last = min(len(text.words), previous + part.gap + 2)
        return any(self._part_at(part, text, i) and self._rest_from(text, index + 1, i)
                   for i in range(previous + 1, last))

    def starts(self, text: _Text) -> list[int]:
        """Token positions where a match of this term begins."""
        first = self.parts[0]
        return [i for i in range(len(text.words))
                if self._part_at(first, text, i) and self._rest_from(text, 1, i)]


def _terms(values: Iterable[str]) -> tuple[_Term, ...]:
    return tuple(_Term.parse(v) for v in values)


def _any_match(terms: Sequence[_Term], text: _Text) -> bool:
    return any(term.starts(text) for term in terms)


# --- matching rules ----------------------------------------------------------------------


_GroupRef = frozenset[str]


@dataclass(frozen=True)
class _Cue:
    groups: tuple[_GroupRef, ...]
    why: str
    source: int


@dataclass(frozen=True)
class _Alternative:
    instrument_id: str
    why: str
    source: int


@dataclass(frozen=True)
class _RuleOut:
    when: tuple[_GroupRef, ...]
    unless: frozenset[str]
    fact: str | None
    below: float | None
    above: float | None
    why: str
    source: int
    instead: tuple[_Alternative, ...]


@dataclass(frozen=True)
class _Matcher:
    why: str
    names: tuple[_Term, ...]
    cues: tuple[_Cue, ...]
    rule_out: tuple[_RuleOut, ...]
    about: frozenset[str]

    def concerns(self, analysis: _Analysis) -> bool:
        """Whether a turn speaks to this instrument's cues or conditions ("En voor huurders?")."""
        groups = set(self.about) | {g for cue in self.cues for ref in cue.groups for g in ref}
        for rule in self.rule_out:
            groups.update(g for ref in rule.when for g in ref)
            groups.update(rule.unless)
        facts = {rule.fact for rule in self.rule_out}
        return bool(groups & analysis.groups) or (
            ("units" in facts and analysis.units is not None)
            or ("hours" in facts and analysis.hours is not None))


@dataclass(frozen=True)
class _Analysis:
    """What one text says: signal groups, named instruments and numeric facts."""

    groups: frozenset[str]
    named: frozenset[str]
    units: int | None
    hours: float | None
    refers: bool
    continues: bool

    def over(self, older: _Analysis, exclusive: Sequence[frozenset[str]]) -> _Analysis:
        """Combine with earlier turns; where both speak to the same fact, this one wins."""
        overridden = set().union(*(e for e in exclusive if e & self.groups))
        kept = {g for g in older.groups if g not in overridden}
        return _Analysis(
            groups=self.groups | kept,
            named=self.named | older.named,
            units=self.units if self.units is not None else older.units,
            hours=self.hours if self.hours is not None else older.hours,
            refers=self.refers,
            continues=self.continues,
        )


@dataclass(frozen=True)
class _Hit:
    strength: int
    why: str
    source: int


def _number(word: str, words: Mapping[str, int]) -> float | None:
    if word in words:
        return float(words[word])
    if not _NUMBER.fullmatch(word):
        return None
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+", word):
        return float(word.replace(".", ""))
    return float(word.replace(",", "."))


@dataclass(frozen=True)
class _Rules:
    signals: Mapping[str, tuple[_Term, ...]]
    negators: frozenset[str]
    number_words: Mapping[str, int]
    unit_nouns: tuple[_Term, ...]
    single_household: tuple[_Term, ...]
    hour_nouns: tuple[_Term, ...]
    followup_max_tokens: int
    pronouns: tuple[_Term, ...]
    openers: tuple[_Term, ...]
    anaphora: tuple[_Term, ...]
    exclusive: tuple[frozenset[str], ...]
    matchers: Mapping[str, _Matcher]

    def _negated(self, text: _Text, position: int) -> bool:
        before = text.stems[max(0, position - NEGATION_WINDOW):position]
        return any(stem in self.negators for stem in before)

    def _groups(self, text: _Text) -> frozenset[str]:
        return frozenset(
            name for name, terms in self.signals.items()
            if any(not self._negated(text, p) for term in terms for p in term.starts(text))
        )

    def _count_before(self, text: _Text, nouns: Sequence[_Term]) -> float | None:
        found: list[float] = []
        for noun in nouns:
            for position in noun.starts(text):
                for i in range(position - 1, max(-1, position - 1 - NUMBER_WINDOW), -1):
                    value = _number(text.words[i], self.number_words)
                    if value is not None:
                        found.append(value)
                        break
        return max(found) if found else None

    def analyse(self, raw: str) -> _Analysis:
        text = _Text.of(raw)
        groups = self._groups(text)
        units = self._count_before(text, self.unit_nouns)
        if units is None and _any_match(self.single_household, text):
            units = 1
        hours = self._count_before(text, self.hour_nouns)
        named = frozenset(i for i, m in self.matchers.items() if _any_match(m.names, text))
        short = len(text.words) <= self.followup_max_tokens
        refers = _any_match(self.anaphora, text) or (short and _any_match(self.pronouns, text))
        continues = short or any(0 in term.starts(text) for term in self.openers)
        return _Analysis(groups, named, None if units is None else int(units), hours,
                         refers, continues)

    def hits(self, named: frozenset[str], groups: frozenset[str],
             fresh: frozenset[str] | None) -> dict[str, _Hit]:
        """Instruments named or cued; with `fresh`, a cue needs one group from the current turn."""
        found: dict[str, _Hit] = {}
        for instrument_id, matcher in self.matchers.items():
            if instrument_id in named:
                found[instrument_id] = _Hit(STRENGTH_NAMED, matcher.why, 0)
                continue
            for cue in matcher.cues:
                satisfied = all(ref & groups for ref in cue.groups)
                touched = fresh is None or any(ref & fresh for ref in cue.groups)
                if satisfied and touched:
                    found[instrument_id] = _Hit(STRENGTH_CUE, cue.why, cue.source)
                    break
        return found


def _rule_applies(rule: _RuleOut, analysis: _Analysis) -> bool:
    if rule.fact is not None:
        value = analysis.units if rule.fact == "units" else analysis.hours
        if value is None:
            return False
        return (rule.below is not None and value < rule.below) or (
            rule.above is not None and value > rule.above)
    return all(ref & analysis.groups for ref in rule.when) and not rule.unless & analysis.groups


# --- catalogue -----------------------------------------------------------------------------


class Catalogue:
    """The loaded, validated instruments in file order, with their matching rules."""

    def __init__(self, instruments: Sequence[Instrument], rules: _Rules) -> None:
        self._instruments = list(instruments)
        self._by_id = {i.id: i for i in instruments}
        self.rules = rules

    def all(self) -> list[Instrument]:
        return list(self._instruments)

    def get(self, instrument_id: str) -> Instrument | None:
        return self._by_id.get(instrument_id)

    def __iter__(self) -> Iterator[Instrument]:
        return iter(self._instruments)

    def __len__(self) -> int:
        return len(self._instruments)


def _schema_errors(data: Any, schema: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema)
    messages = []
    for error in sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.path]):
        path = list(error.absolute_path)
        where = "/".join(str(p) for p in path) or "(root)"
        entry = ""
        if len(path) >= 2 and path[0] == "instruments" and isinstance(path[1], int):
            item = data["instruments"][path[1]]
            entry = f"instrument {item.get('id', path[1])!r}: " if isinstance(item, dict) else ""
        messages.append(f"{entry}{where}: {error.message}")
    return messages


def _template_fields(template: str) -> set[str]:
    """Placeholder names in a why template; '' stands for a positional or broken placeholder."""
    try:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError:
        return {""}


class _Builder:
    """Turns validated YAML into dataclasses, raising CatalogueError that names the entry."""

    def __init__(self, data: dict[str, Any], texts: Mapping[str, str]) -> None:
        self.data = data
        self.texts = texts
        self.signal_names = set(data["matching"]["signals"])
        self.ids = [entry["id"] for entry in data["instruments"]]

    def refs(self, owner: str, raw_refs: Sequence[str | list[str]]) -> tuple[_GroupRef, ...]:
        refs = tuple(frozenset([r] if isinstance(r, str) else r) for r in raw_refs)
        unknown = set().union(*refs) - self.signal_names
        if unknown:
            raise CatalogueError(f"{owner}: onbekende signalen {sorted(unknown)}")
        return refs

    def sources(self, entry: dict[str, Any]) -> tuple[Source, ...]:
        result = []
        for n, raw in enumerate(entry["sources"]):
            owner = f"instrument {entry['id']!r}, bron {n}"
            text = self.texts.get(raw["doc_id"])
            if text is None:
                raise CatalogueError(f"{owner}: onbekend document {raw['doc_id']!r}")
            if text[raw["start"]:raw["end"]] != raw["quote"]:
                found = text.find(raw["quote"])
                hint = (f"het citaat staat op {found}-{found + len(raw['quote'])}" if found >= 0
                        else "het citaat komt niet letterlijk in het document voor")
                raise CatalogueError(
                    f"{owner}: citaat is niet letterlijk {raw['doc_id']}[{raw['start']}:"
                    f"{raw['end']}]; {hint}"
                )
            result.append(Source(raw["doc_id"], raw["quote"], raw["start"], raw["end"]))
        return tuple(result)

    def index(self, owner: str, value: int, sources: Sequence[Source]) -> int:
        if value >= len(sources):
            raise CatalogueError(f"{owner}: bron {value} bestaat niet ({len(sources)} bronnen)")
        return value

    def why(self, owner: str, template: str, conditions: Mapping[str, Any],
            fact: str | None = None) -> str:
        allowed = {k for k, v in conditions.items() if isinstance(v, str | int | float)}
        unknown = _template_fields(template) - allowed - ({fact} if fact else set())
        if unknown:
            raise CatalogueError(f"{owner}: onbekende velden {sorted(unknown)} in why")
        return " ".join(template.split())

    def threshold(self, owner: str, key: str | None, conditions: Mapping[str, Any]) -> float | None:
        if key is None:
            return None
        value = conditions.get(key)
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise CatalogueError(f"{owner}: conditions.{key} ontbreekt of is geen getal")
        return float(value)

    def matcher(self, entry: dict[str, Any], sources: Sequence[Source]) -> _Matcher:
        label = f"instrument {entry['id']!r}"
        match, conditions = entry["match"], entry["conditions"]
        cues = []
        for n, raw in enumerate(match.get("cues", [])):
            owner = f"{label}, cue {n}"
            why = self.why(owner, raw.get("why", match["why"]), conditions)
            cues.append(_Cue(self.refs(owner, raw["all"]), why,
                             self.index(owner, raw.get("source", 0), sources)))
        rules = []
        for n, raw in enumerate(match.get("rule_out", [])):
            owner = f"{label}, rule_out {n}"
            alternatives = []
            for alt in raw.get("instead", []):
                if alt["id"] not in self.ids or alt["id"] == entry["id"]:
                    raise CatalogueError(f"{owner}: alternatief {alt['id']!r} bestaat niet")
                alternatives.append(_Alternative(alt["id"], self.why(owner, alt["why"], {}),
                                                 alt.get("source", 0)))
            rules.append(_RuleOut(
                when=self.refs(owner, raw.get("when", [])),
                unless=frozenset().union(*self.refs(owner, raw.get("unless", []))),
                fact=raw.get("fact"),
                below=self.threshold(owner, raw.get("below"), conditions),
                above=self.threshold(owner, raw.get("above"), conditions),
                why=self.why(owner, raw["why"], conditions, raw.get("fact")),
                source=self.index(owner, raw.get("source", 0), sources),
                instead=tuple(alternatives),
            ))
        about = frozenset().union(*self.refs(label, match.get("about", [])))
        return _Matcher(self.why(label, match["why"], conditions), _terms(match["names"]),
                        tuple(cues), tuple(rules), about)

    def build(self) -> Catalogue:
        duplicates = {i for i in self.ids if self.ids.count(i) > 1}
        if duplicates:
            raise CatalogueError(f"dubbele instrument-id's: {sorted(duplicates)}")
        instruments, matchers = [], {}
        for entry in self.data["instruments"]:
            sources = self.sources(entry)
            matchers[entry["id"]] = self.matcher(entry, sources)
            instruments.append(Instrument(
                id=entry["id"], name=entry["name"], kind=entry["kind"],
                for_whom=tuple(entry["for_whom"]), conditions=entry["conditions"],
                purpose=" ".join(entry["purpose"].split()), sources=sources,
            ))
        for alt in (a for m in matchers.values() for r in m.rule_out for a in r.instead):
            target = next(i for i in instruments if i.id == alt.instrument_id)
            self.index(f"alternatief {alt.instrument_id!r}", alt.source, target.sources)
        return Catalogue(instruments, self.rules(matchers))

    def rules(self, matchers: Mapping[str, _Matcher]) -> _Rules:
        raw = self.data["matching"]
        exclusive = self.refs("matching.exclusive", [list(e) for e in raw["exclusive"]])
        return _Rules(
            signals={name: _terms(terms) for name, terms in raw["signals"].items()},
            negators=frozenset(stem(fold(n)) for n in raw["negators"]),
            number_words={fold(k): v for k, v in raw["number_words"].items()},
            unit_nouns=_terms(raw["facts"]["units"]["nouns"]),
            single_household=_terms(raw["facts"]["units"]["single"]),
            hour_nouns=_terms(raw["facts"]["hours"]["nouns"]),
            followup_max_tokens=raw["followup"]["max_tokens"],
            pronouns=_terms(raw["followup"]["pronouns"]),
            openers=_terms(raw["followup"]["openers"]),
            anaphora=_terms(raw["followup"]["anaphora"]),
            exclusive=exclusive,
            matchers=matchers,
        )


def load_catalogue(corpus_dir: Path) -> Catalogue:
    """Load corpus/instruments.yaml; raise CatalogueError on schema or quote problems."""
    path = corpus_dir / CATALOGUE_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        schema = json.loads((corpus_dir / SCHEMA_FILE).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, json.JSONDecodeError) as exc:
        raise CatalogueError(f"{path}: niet te lezen: {exc}") from exc
    errors = _schema_errors(data, schema)
    if errors:
        raise CatalogueError(f"{path} voldoet niet aan {SCHEMA_FILE}: " + "; ".join(errors[:10]))
    texts = {document.doc_id: document.text for document in load_corpus(corpus_dir)}
    try:
        return _Builder(data, texts).build()
    except CatalogueError as exc:
        raise CatalogueError(f"{path}: {exc}") from None


# --- suggestions ---------------------------------------------------------------------------


def _fill(template: str, instrument: Instrument, analysis: _Analysis) -> str:
    values: dict[str, Any] = {k: v for k, v in instrument.conditions.items()
                              if isinstance(v, str | int | float)}
    if analysis.units is not None:
        values["units"] = analysis.units
    if analysis.hours is not None:
        values["hours"] = f"{analysis.hours:g}"
    return template.format_map(values)


def _user_turns(history: Sequence[Mapping[str, Any]] | None) -> list[str]:
    turns = [str(t.get("content", "")) for t in history or [] if t.get("role") == "user"]
    return turns[-HISTORY_TURNS:]


def suggest(question: str, catalogue: Catalogue,
            history: list[dict[str, Any]] | None = None) -> list[Suggestion]:
    """Instruments that fit (or are explicitly ruled out for) the question; [] when none apply.

    Earlier user turns fill in facts the question leaves open (current turn wins on conflicts)
    and, for a follow-up that names nothing itself ("En voor huurders?"), supply the topic:
    instruments found in those turns are kept when the follow-up refers back ("daarvan") or
    speaks to their cues, conditions or `about` signals, and are then judged on the combined
    facts, so an eigenaar's question followed by "En als ik huur?" rules the Verzilverlening out.
    """
    rules = catalogue.rules
    current = rules.analyse(question)
    context: _Analysis | None = None
    for turn in _user_turns(history):
        analysis = rules.analyse(turn)
        context = analysis if context is None else analysis.over(context, rules.exclusive)
    merged = current if context is None else current.over(context, rules.exclusive)
    if context is not None and not current.named and (current.refers or current.continues):
        hits = rules.hits(context.named, context.groups, fresh=None)
        hits.update(rules.hits(merged.named, merged.groups, fresh=None))
        if not current.refers:
            hits = {i: h for i, h in hits.items() if rules.matchers[i].concerns(current)}
    else:
        hits = rules.hits(current.named, merged.groups, fresh=current.groups)

    ranked: dict[str, tuple[int, Suggestion]] = {}
    pending = sorted(hits.items(), key=lambda item: -item[1].strength)
    while pending:
        instrument_id, hit = pending.pop(0)
        instrument = catalogue.get(instrument_id)
        if instrument is None or instrument_id in ranked:
            continue
        suggestion = Suggestion(instrument, _fill(hit.why, instrument, merged), True,
                                instrument.sources[hit.source])
        for rule in rules.matchers[instrument_id].rule_out:
            if _rule_applies(rule, merged):
                suggestion = Suggestion(instrument, _fill(rule.why, instrument, merged), False,
                                        instrument.sources[rule.source])
                pending.extend((a.instrument_id, _Hit(STRENGTH_ALTERNATIVE, a.why, a.source))
                               for a in rule.instead if a.instrument_id not in hits)
                break
        ranked[instrument_id] = (hit.strength, suggestion)
    order = {instrument.id: n for n, instrument in enumerate(catalogue)}
    return [s for _, s in sorted(ranked.values(),
                                 key=lambda r: (not r[1].fits, -r[0], order[r[1].instrument.id]))]


def cost_split(hours: float, total_cost_eur: float) -> dict[str, Any]:
    """Who pays an Ondersteuningsteam Wonen en Zorg (OWZ) engagement, per fase-4-uitvoering.

    The gemeente or corporatie pays one third of the costs, at most € 4.000 incl. btw; the Rijk
    pays the rest, at most € 8.000. Costs above that (more than € 12.000 in total) are not
    covered by the source's arrangement and are reported as `uncovered_eur`. More than 80 hours
    is not eligible: both shares are 0 and the whole amount is uncovered. Amounts in euro,
    rounded to cents. Raises ValueError for hours <= 0, negative costs or non-finite input.
    """
    if not (math.isfinite(hours) and math.isfinite(total_cost_eur)):
        raise ValueError("uren en kosten moeten eindige getallen zijn")
    if hours <= 0 or total_cost_eur < 0:
        raise ValueError("uren moeten positief zijn en kosten niet negatief")
    eligible = hours <= OWZ_MAX_HOURS
    local = min(total_cost_eur * OWZ_LOCAL_FRACTION, OWZ_LOCAL_MAX_EUR) if eligible else 0.0
    rijk = min(total_cost_eur - local, OWZ_RIJK_MAX_EUR) if eligible else 0.0
    if not eligible:
        reason = (f"Niet in aanmerking: het OWZ is kortdurende inzet van maximaal "
                  f"{OWZ_MAX_HOURS} uur, gevraagd is {hours:g} uur.")
    elif total_cost_eur - local - rijk > 0:
        reason = ("Gemeente of corporatie betaalt het maximum van € 4.000 en het Rijk het maximum "
                  "van € 8.000; het meerdere valt buiten de regeling.")
    else:
        reason = "Gemeente of corporatie betaalt een derde (max. € 4.000), het Rijk de rest."
    return {
        "eligible": eligible,
        "hours": hours,
        "max_hours": OWZ_MAX_HOURS,
        "total_cost_eur": round(total_cost_eur, 2),
        "local_share_eur": round(local, 2),
        "rijk_share_eur": round(rijk, 2),
        "uncovered_eur": round(total_cost_eur - local - rijk, 2),
        "reason": reason,
    }


def to_api(suggestion: Suggestion, document_titles: Mapping[str, str]) -> dict[str, Any]:
    """The suggestion as assistant.schemas.InstrumentSuggestion expects it."""
    instrument, source = suggestion.instrument, suggestion.source
    return {
        "id": instrument.id,
        "name": instrument.name,
        "kind": instrument.kind,
        "why": suggestion.why,
        "fits": suggestion.fits,
        "source": {
            "n": 0,
            "doc_id": source.doc_id,
            "title": document_titles.get(source.doc_id, source.doc_id),
            "section": "",
            "quote": source.quote,
            "start": source.start,
            "end": source.end,
            "score": 1.0,
        },
    }


# --- plain-text listing --------------------------------------------------------------------

_LABELS = {
    "provider": "aanbieder",
    "housing_tenure": "woningtype",
    "housing_form": "woonvorm",
    "care_forms": "alleen voor",
    "excluded": "niet voor",
    "requires": "vereist",
    "repayment": "terugbetaling",
    "municipality_must_join": "gemeente moet aangesloten zijn",
    "municipality_decides": "gemeente bepaalt verstrekking, bijvoorbeeld",
    "target_age_min": "minimumleeftijd",
    "min_units": "minimaal aantal wooneenheden",
    "max_hours": "maximaal aantal uren",
    "cost_share": "kostenverdeling",
    "roles": "rollen",
    "takes_over_work": "neemt werk over",
    "applicant": "indiener",
    "submit_to": "indienen bij",
    "enables": "maakt mogelijk",
    "notes": "let op",
}
_TENURE = {"koop": "koopwoning", "huur": "huurwoning"}


def _euro(amount: float) -> str:
    return f"€ {amount:,.0f}".replace(",", ".")


def _condition_value(key: str, value: Any) -> str:
    if key == "cost_share":
        btw = " incl. btw" if value.get("local_incl_btw") else ""
        return (f"{' of '.join(value['local_payers'])} betaalt {value['local_fraction']} "
                f"(max. {_euro(value['local_max_eur'])}{btw}), Rijk de rest "
                f"(max. {_euro(value['rijk_max_eur'])})")
    if key == "housing_tenure":
        return ", ".join(_TENURE[v] for v in value)
    if isinstance(value, bool):
        return "ja" if value else "nee"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def format_catalogue(catalogue: Catalogue) -> str:
    """Dutch plain-text listing for `assistant instruments`."""
    lines = [f"Financiële instrumenten en ondersteuning ({len(catalogue)})", ""]
    for instrument in catalogue:
        lines.append(f"{instrument.name}  [{instrument.kind}, id: {instrument.id}]")
        lines.append(f"  Voor wie: {', '.join(instrument.for_whom)}")
        lines.append(f"  Waarvoor: {instrument.purpose}")
        lines.append("  Voorwaarden:")
        lines.extend(f"    - {_LABELS.get(key, key)}: {_condition_value(key, value)}"
                     for key, value in instrument.conditions.items())
        lines.append("  Bronnen:")
        lines.extend(f"    - {s.doc_id} [{s.start}:{s.end}]: \u201c{s.quote}\u201d"
                     for s in instrument.sources)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
