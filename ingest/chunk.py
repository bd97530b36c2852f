"""Chunk documents by structure: headings become sections, lists and tables stay whole.

Every chunk is an exact span of the original text (`text[start:end] == quote`); the
cleaned `search_text` is what gets embedded and indexed.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from assistant.domain import Chunk, Document
from assistant.language.sentences import split_sentences
from assistant.language.structure import Line, clean_for_search, split_lines

CHUNKER_VERSION = "structure-v2"
SECTION_SEPARATOR = " › "
TABLE_FACTOR = 2
SUBHEADING = re.compile(
    r"^(Doelstelling \d+|\d{1,2}\.\s|Praktijkvoorbeeld|Voor |Tip!|Handreikingen \d)"
)


@dataclass(frozen=True)
class ChunkSettings:
    """Sizes in characters of original text; chosen by measurement in evals (see README)."""

    max_chars: int = 1200
    min_chars: int = 250


@dataclass
class Group:
    section: str
    lines: list[Line] = field(default_factory=list)
    kind: str = "paragraph"

    @property
    def start(self) -> int:
        return self.lines[0].start

    @property
    def end(self) -> int:
        return self.lines[-1].end

    def size(self) -> int:
        return self.end - self.start


def _sections_and_groups(lines: list[Line]) -> list[Group]:
    stack: list[tuple[int, str]] = []
    groups: list[Group] = []
    previous_was_heading = False
    last_level2_question = False
    for line in lines:
        if line.kind == "navigation":
            continue
        if line.kind == "heading":
            if stack and stack[-1][1] == line.text:
                continue  # duplicated heading in the source
            sub = bool(SUBHEADING.match(line.text)) or previous_was_heading
            sub = sub or (last_level2_question and line.text.endswith("?"))
            level = 2 if sub and stack else 1
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, line.text))
            last_level2_question = level == 2 and line.text.endswith("?")
            previous_was_heading = True
            continue
        previous_was_heading = False
        section = SECTION_SEPARATOR.join(text for _, text in stack)
        current = groups[-1] if groups else None
        same_section = current is not None and current.section == section
        if same_section and current is not None and _continues(current, line):
            current.lines.append(line)
            if line.kind in ("list", "table"):
                current.kind = line.kind
            continue
        groups.append(Group(section, [line], line.kind))
    return groups


def _continues(group: Group, line: Line) -> bool:
    last = group.lines[-1]
    if line.kind == "list" and (group.kind == "list" or last.text.endswith(":")):
        return True
    if line.kind == "table" and group.kind in ("table", "caption") or last.kind == "caption":
        return True
    if group.kind == "table" and len(line.text.split()) <= 6:
        return True  # figure labels beside a table
    if group.kind == "paragraph" and line.kind == "paragraph" and line.text[:1].islower():
        return not re.search(r"[.!?:]$", last.text)  # a sentence broken by a page break
    return not line.blank_before and not last.blank_after and group.kind == "paragraph"


def _split_large(group: Group, text: str, max_chars: int) -> list[tuple[int, int]]:
    """Split an oversized group at line, then sentence, boundaries. A table may run to twice
    the size: a half table answers nothing."""
    limit = TABLE_FACTOR * max_chars if group.kind == "table" else max_chars
    if group.size() <= limit:
        return [(group.start, group.end)]
    pieces: list[tuple[int, int]] = []
    units: list[tuple[int, int]] = []
    for line in group.lines:
        if line.end - line.start > max_chars:
            units.extend((s.start, s.end) for s in split_sentences(text, line.start, line.end))
        else:
            units.append((line.start, line.end))
    start, end = units[0]
    for unit_start, unit_end in units[1:]:
        if unit_end - start > max_chars:
            pieces.append((start, end))
            start = unit_start
        end = unit_end
    pieces.append((start, end))
    return pieces


def _page_of(text: str, offset: int) -> int | None:
    if "\f" not in text:
        return None
    return text.count("\f", 0, offset) + 1


def chunk_id(document: Document, start: int, end: int, quote: str, model_key: str) -> str:
    """Content-derived id: the same text, chunker and model always give the same id."""
    basis = "\x1f".join([CHUNKER_VERSION, model_key, document.doc_id, str(start), str(end), quote])
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:32]


def chunk_document(
    document: Document, settings: ChunkSettings | None = None, model_key: str = ""
) -> list[Chunk]:
    settings = settings or ChunkSettings()
    text = document.text
    spans: list[tuple[str, int, int]] = []
    for group in _sections_and_groups(split_lines(text)):
        for start, end in _split_large(group, text, settings.max_chars):
            if spans and spans[-1][0] == group.section:
                _, previous_start, previous_end = spans[-1]
                small = min(end - start, previous_end - previous_start) < settings.min_chars
                if small and end - previous_start <= settings.max_chars:
                    spans[-1] = (group.section, previous_start, end)
                    continue
            spans.append((group.section, start, end))
    chunks: list[Chunk] = []
    for section, start, end in spans:
        quote = text[start:end]
        search_text = clean_for_search(quote)
        if len(search_text.split()) < 3:
            continue
        chunks.append(
            Chunk(
                chunk_id=chunk_id(document, start, end, quote, model_key),
                doc_id=document.doc_id,
                title=document.title,
                section=section,
                start=start,
                end=end,
                quote=quote,
                search_text=search_text,
                page=_page_of(text, start),
                position=len(chunks),
            )
        )
    return chunks
