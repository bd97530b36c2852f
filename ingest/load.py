"""Load source files (.txt, .md, .pdf) into Documents; report and skip what cannot be read.

Text files are decoded by detection (BOM, UTF-8, then Western single-byte, then
charset-normalizer); binary garbage and files over the size limit are skipped with a Dutch
reason. Hidden text (HTML and Markdown comments, scripts, styles, zero-width and other
invisible characters) is replaced by spaces of the same length, so it is neither indexed nor
served, and every offset into the file stays valid.
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import multiprocessing as mp
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from assistant.domain import Document

log = logging.getLogger(__name__)

SUPPORTED = {".txt", ".md", ".pdf"}
METADATA_FILE = "documents.yaml"
DATA_SUFFIXES = {".yaml", ".yml", ".json"}  # structured data beside the documents, not documents
PAGE_BREAK = "\f"
PDF_MEMORY_LIMIT = 1 << 30
MB = 1 << 20
BOMS = (  # UTF-32 first: its little-endian BOM starts with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
KEPT_CONTROLS = frozenset("\n\r\t\f")
MAX_CONTROL_SHARE = 0.005

# Spans a reader never sees. Unterminated comments and scripts run to the end of the file:
# hiding too much is safer than serving an injected instruction.
HIDDEN_BLOCKS = re.compile(
    r"<!--.*?(?:-->|\Z)"
    r"|<(script|style|template|noscript)\b[^>]*>.*?(?:</\1\s*>|\Z)",
    re.DOTALL | re.IGNORECASE,
)
# The Markdown comment idiom: a link reference definition that points nowhere.
MARKDOWN_COMMENT = re.compile(
    r"^[ ]{0,3}\[[^\]\n]*\]:[ \t]*(?:#|<>)[ \t]*(?:\([^\n]*\)|\"[^\"\n]*\"|'[^'\n]*')?[ \t]*$",
    re.MULTILINE,
)
# Zero-width, bidirectional controls, invisible operators, fillers and tag characters.
INVISIBLE = re.compile(
    "[\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb"
    "\U000e0000-\U000e007f]"
)


def _blank(match: re.Match[str]) -> str:
    """The span as spaces, keeping its line breaks so the lines around it stay lines."""
    return "".join(c if c in "\n\r\f" else " " for c in match.group(0))


def mask_hidden(text: str) -> str:
    """Replace hidden text by spaces of the same length (offsets into `text` stay valid)."""
    text = HIDDEN_BLOCKS.sub(_blank, text)
    text = MARKDOWN_COMMENT.sub(_blank, text)
    text = INVISIBLE.sub(" ", text)
    if _controls(text):
        text = "".join(" " if unicodedata.category(c) == "Cc" and c not in KEPT_CONTROLS else c
                       for c in text)
    return text


def _controls(text: str) -> int:
    return sum(1 for c in text if unicodedata.category(c) == "Cc" and c not in KEPT_CONTROLS)


class LoadError(Exception):
    """A file that cannot become a document; the message is the reason shown to users."""


@dataclass
class Skipped:
    path: str
    reason: str


@dataclass
class LoadResult:
    documents: list[Document] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug or "document"


def read_metadata(directory: Path) -> dict[str, dict[str, Any]]:
    path = directory / METADATA_FILE
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise LoadError(f"{path}: verwacht een mapping van bestandsnaam naar metadata")
    return data


def decode_text(raw: bytes) -> str:
    """Bytes as text: a BOM decides, else UTF-8, else Windows-1252 (what Dutch documents
    not in UTF-8 nearly always are; it also reads Latin-1), else charset-normalizer."""
    for bom, encoding in BOMS:
        if raw.startswith(bom):
            try:
                return _plausible(raw.decode(encoding).removeprefix("\ufeff"))
            except UnicodeDecodeError as exc:
                raise LoadError(f"ongeldige {encoding.upper()}-tekst (byte {exc.start})") from exc
    try:
        return _plausible(raw.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    if b"\x00" not in raw:
        try:
            return _plausible(raw.decode("cp1252"))
        except UnicodeDecodeError:
            pass
    import charset_normalizer

    best = charset_normalizer.from_bytes(raw).best()
    if best is None or (b"\x00" in raw and not best.encoding.startswith("utf_")):
        raise LoadError("geen tekst: binair bestand of onbekende tekenset")
    log.info("tekenset herkend: %s", best.encoding)
    return _plausible(str(best))


def _plausible(text: str) -> str:
    """Text with more than a trace of control characters is binary data that happened to
    decode."""
    if _controls(text) > max(2, MAX_CONTROL_SHARE * len(text)):
        raise LoadError("geen tekst: binair bestand of onbekende tekenset")
    return text


def read_text_file(path: Path) -> str:
    raw = path.read_bytes()
    if not raw.strip():
        raise LoadError("leeg bestand")
    text = decode_text(raw)
    if not text.strip():
        raise LoadError("leeg bestand")
    return text


def _extract_pdf_worker(path: str, queue: Any) -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (PDF_MEMORY_LIMIT * 4, PDF_MEMORY_LIMIT * 4))
    except (ImportError, ValueError, OSError):
        pass
    try:
        from pypdf import PdfReader

        reader = PdfReader(path)
        if reader.is_encrypted:
            try:
                unlocked = reader.decrypt("")
            except Exception as exc:  # AES without `cryptography`, broken crypt dicts
                queue.put(("error", f"versleutelde PDF ({type(exc).__name__})"))
                return
            if not unlocked:
                queue.put(("error", "versleutelde PDF met wachtwoord"))
                return
        pages = [(page.extract_text() or "") for page in reader.pages]
        queue.put(("ok", PAGE_BREAK.join(pages)))
    except Exception as exc:  # pypdf raises far more than PyPdfError on broken files
        queue.put(("error", f"onleesbare PDF ({type(exc).__name__}: {exc})"[:300]))


def read_pdf(path: Path, timeout_s: float) -> str:
    """Extract text in a separate process so a hanging or exploding PDF cannot stop the ingest."""
    if path.stat().st_size == 0:
        raise LoadError("leeg bestand")
    context = mp.get_context("spawn")
    queue = context.Queue()
    worker = context.Process(target=_extract_pdf_worker, args=(str(path), queue), daemon=True)
    worker.start()
    try:
        status, payload = queue.get(timeout=timeout_s)
    except Exception as exc:
        worker.kill()
        raise LoadError(f"PDF-extractie duurde langer dan {timeout_s:g} s") from exc
    finally:
        worker.join(timeout=5)
        if worker.is_alive():
            worker.kill()
    if status != "ok":
        raise LoadError(payload)
    if not payload.replace(PAGE_BREAK, "").strip():
        raise LoadError("PDF bevat geen tekst (gescand of leeg)")
    return str(payload)


def _first_line(text: str) -> str:
    for line in text.splitlines():
        stripped = line.strip().strip("#*").strip()
        if stripped:
            return stripped[:120]
    return ""


def distinguishing_title(text: str, path: Path, meta: dict[str, Any]) -> str:
    """A title for a document without one in its metadata: its first heading alone would
    give three municipal pages the same title, so the publisher or file name is added."""
    heading = _first_line(text)
    origin = str(meta.get("publisher") or path.name)
    return f"{heading} ({origin})" if heading else origin


def load_file(
    path: Path, meta: dict[str, Any] | None = None, pdf_timeout_s: float = 30.0,
    max_file_mb: float | None = None,
) -> Document:
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise LoadError(f"bestandstype {suffix or '(geen)'} wordt niet ondersteund")
    size = path.stat().st_size
    if max_file_mb is not None and size > max_file_mb * MB:
        raise LoadError(
            f"bestand is te groot ({size / MB:.1f} MB; het maximum is {max_file_mb:g} MB, "
            "instelling MAX_FILE_MB)".replace(".", ",", 1)
        )
    text = read_pdf(path, pdf_timeout_s) if suffix == ".pdf" else read_text_file(path)
    text = mask_hidden(text)
    if not text.strip():
        raise LoadError("bestand bevat alleen verborgen tekst")
    meta = dict(meta or {})
    doc_id = str(meta.pop("id", None) or slugify(path.stem))
    title = str(meta.pop("title", None) or distinguishing_title(text, path, meta))
    return Document(
        doc_id=doc_id,
        title=title,
        text=text,
        kind=str(meta.pop("kind", "pdf" if suffix == ".pdf" else "document")),
        publisher=str(meta.pop("publisher", "")),
        phase=meta.pop("phase", None),
        source=path.name,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        extra=meta,
    )


def discover(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.is_file()
                    and p.suffix.lower() not in DATA_SUFFIXES
                    and not p.name.startswith(".")
                )
            )
        else:
            files.append(path)
    return files


def load_paths(paths: list[Path], pdf_timeout_s: float = 30.0,
               max_file_mb: float | None = None) -> LoadResult:
    """Load every file under `paths`; one bad file is reported and skipped, never fatal."""
    result = LoadResult()
    seen: dict[str, str] = {}
    metadata_cache: dict[Path, dict[str, dict[str, Any]]] = {}
    for path in discover(paths):
        try:
            folder = path.parent
            if folder not in metadata_cache:
                metadata_cache[folder] = read_metadata(folder)
            document = load_file(path, metadata_cache[folder].get(path.name), pdf_timeout_s,
                                 max_file_mb)
        except LoadError as exc:
            log.warning("overgeslagen: %s: %s", path, exc)
            result.skipped.append(Skipped(str(path), str(exc)))
            continue
        except OSError as exc:
            result.skipped.append(Skipped(str(path), f"niet te lezen ({exc.strerror})"))
            continue
        if document.doc_id in seen:
            result.skipped.append(
                Skipped(
                    str(path),
                    f"document-id {document.doc_id} komt al voor in {seen[document.doc_id]}",
                )
            )
            continue
        seen[document.doc_id] = str(path)
        result.documents.append(document)
    return result


def load_corpus(corpus_dir: Path) -> list[Document]:
    """The corpus as documents; used by modules that must check quotes against the source."""
    return load_paths([corpus_dir]).documents
