"""A synthetic Dutch corpus at k× the real one, built reproducibly from the real documents.

Variant 0 of every document is the original file, unchanged, so 1× is exactly the
real corpus. Each further variant v of a document is made with a random generator seeded by
(seed, file name, v):

1. the document is split into blocks at blank lines, keeping the layout between them;
2. the sentences of its prose blocks (single-line blocks of two or more sentences that are
   not list items or table rows) are pooled, shuffled, and dealt back to those blocks, each
   block keeping its number of sentences — so sentences move across paragraphs of the same
   document, while headings, lists and tables keep their place;
3. every Dutch municipality named in the text (from `MUNICIPALITIES`) is swapped for another
   one from that list, consistently within the variant;
4. numbers vary: years (1950–2050) shift by up to three years, other numbers of 10 or more
   are scaled by a factor in [0.6, 1.4] (thousands separators kept); smaller numbers, which
   are mostly list and phase numbering, stay.

Variants get their own id (`<id>-v003`) and title in `documents.yaml`; the structured data
beside the documents (instrument catalogue, triage taxonomy) is copied unchanged so the
assistant runs on the synthetic corpus as on the real one.
"""

from __future__ import annotations

import random
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from assistant.language.sentences import split_sentences
from ingest.load import DATA_SUFFIXES, METADATA_FILE, SUPPORTED

DEFAULT_SEED = 20261122

MUNICIPALITIES = (
    "Almere", "Alkmaar", "Amersfoort", "Amstelveen", "Apeldoorn", "Arnhem", "Assen", "Bernheze",
    "Breda", "Delft", "Deventer", "Doetinchem", "Dordrecht", "Ede", "Eindhoven", "Emmen",
    "Enschede", "Goes", "Gouda", "Groningen", "Haarlem", "Harderwijk", "Heerenveen", "Heerlen",
    "Helmond", "Hengelo", "Hilversum", "Hoogeveen", "Hoorn", "Kampen", "Leeuwarden", "Leiden",
    "Lelystad", "Maassluis", "Maastricht", "Meppel", "Middelburg", "Nijmegen", "Oldenzaal",
    "Oss", "Purmerend", "Roosendaal", "Rotterdam", "Schiedam", "Sittard-Geleen", "Terneuzen",
    "Tilburg", "Utrecht", "Veenendaal", "Venlo", "Vlaardingen", "Vlissingen", "Woerden",
    "Zaanstad", "Zoetermeer", "Zwolle",
)
_PLACE = re.compile(r"\b(" + "|".join(sorted(MUNICIPALITIES, key=len, reverse=True)) + r")\b")
_NUMBER = re.compile(r"\b\d+(?:\.\d{3})*\b")
_BLOCK_BREAK = re.compile(r"(\n[ \t]*\n)")
_NOT_PROSE = re.compile(r"^\s*(?:[-•*>]|\d{1,2}[.)]|\(\d{1,2}\))")


@dataclass(frozen=True)
class CorpusInfo:
    """What was written: counts and size, for the report."""

    factor: int
    documents: int
    characters: int
    directory: Path


def _is_prose(block: str) -> bool:
    return "\n" not in block.strip() and "\t" not in block and not _NOT_PROSE.match(block)


def _sentences(block: str) -> list[str]:
    return [block[s.start:s.end] for s in split_sentences(block)]


def _shuffle_sentences(blocks: list[str], rng: random.Random) -> list[str]:
    """Deal the pooled prose sentences back to the prose blocks, each keeping its count."""
    prose = {i: _sentences(b) for i, b in enumerate(blocks) if _is_prose(b)}
    prose = {i: s for i, s in prose.items() if len(s) >= 2}
    pool = [sentence for sentences in prose.values() for sentence in sentences]
    rng.shuffle(pool)
    out = list(blocks)
    cursor = 0
    for i, sentences in prose.items():
        lead = blocks[i][: len(blocks[i]) - len(blocks[i].lstrip())]
        out[i] = lead + " ".join(pool[cursor:cursor + len(sentences)])
        cursor += len(sentences)
    return out


def _vary_number(match: re.Match[str], rng: random.Random) -> str:
    raw = match.group(0)
    value = int(raw.replace(".", ""))
    if "." not in raw and 1950 <= value <= 2050:
        return str(value + rng.randint(-3, 3))
    if value < 10:
        return raw
    varied = max(10, round(value * rng.uniform(0.6, 1.4)))
    return f"{varied:,}".replace(",", ".") if "." in raw else str(varied)


def perturb(text: str, rng: random.Random) -> str:
    """One synthetic variant of a document's text (see the module docstring)."""
    parts = _BLOCK_BREAK.split(text)
    blocks, breaks = parts[0::2], parts[1::2]
    blocks = _shuffle_sentences(blocks, rng)
    joined = "".join(b + (breaks[i] if i < len(breaks) else "") for i, b in enumerate(blocks))
    places = {name: rng.choice(MUNICIPALITIES) for name in sorted(set(_PLACE.findall(joined)))}
    joined = _PLACE.sub(lambda m: places[m.group(0)], joined)
    return _NUMBER.sub(lambda m: _vary_number(m, rng), joined)


def _source_files(source_dir: Path) -> list[Path]:
    return sorted(p for p in source_dir.iterdir()
                  if p.is_file() and p.suffix.lower() in SUPPORTED and p.suffix.lower() != ".pdf")


def build_corpus(source_dir: Path, target_dir: Path, factor: int,
                 seed: int = DEFAULT_SEED) -> CorpusInfo:
    """Write `factor` variants of every text document in `source_dir` to `target_dir`."""
    if factor < 1:
        raise ValueError("factor must be at least 1")
    target_dir.mkdir(parents=True, exist_ok=True)
    metadata_path = source_dir / METADATA_FILE
    metadata: dict[str, Any] = (
        yaml.safe_load(metadata_path.read_text(encoding="utf-8")) or {}
        if metadata_path.is_file() else {}
    )
    out_metadata: dict[str, Any] = {}
    characters = documents = 0
    for path in _source_files(source_dir):
        text = path.read_text(encoding="utf-8")
        meta = dict(metadata.get(path.name) or {})
        doc_id = str(meta.get("id") or path.stem)
        title = str(meta.get("title") or doc_id)
        for variant in range(factor):
            if variant == 0:
                name, body, variant_meta = path.name, text, meta
            else:
                rng = random.Random(f"{seed}:{path.name}:{variant}")
                name = f"{path.stem}-v{variant:03d}{path.suffix}"
                body = perturb(text, rng)
                variant_meta = {**meta, "id": f"{doc_id}-v{variant:03d}",
                                "title": f"{title} (synthetisch {variant})"}
            (target_dir / name).write_text(body, encoding="utf-8")
            out_metadata[name] = variant_meta
            characters += len(body)
            documents += 1
    for path in source_dir.iterdir():
        if path.suffix.lower() in DATA_SUFFIXES and path.name != METADATA_FILE:
            shutil.copy2(path, target_dir / path.name)
    (target_dir / METADATA_FILE).write_text(
        yaml.safe_dump(out_metadata, allow_unicode=True, sort_keys=True), encoding="utf-8")
    return CorpusInfo(factor, documents, characters, target_dir)
