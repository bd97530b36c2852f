"""Load source files (.txt, .md, .pdf) into Documents; report and skip what cannot be read."""

from __future__ import annotations

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


def read_text_file(path: Path) -> str:
    raw = path.read_bytes()
    if not raw.strip():
        raise LoadError("leeg bestand")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LoadError(f"geen geldige UTF-8-tekst (byte {exc.start})") from exc
    if text.startswith("\ufeff"):
        text = text[1:]
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
    path: Path, meta: dict[str, Any] | None = None, pdf_timeout_s: float = 30.0
) -> Document:
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise LoadError(f"bestandstype {suffix or '(geen)'} wordt niet ondersteund")
    text = read_pdf(path, pdf_timeout_s) if suffix == ".pdf" else read_text_file(path)
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


def load_paths(paths: list[Path], pdf_timeout_s: float = 30.0) -> LoadResult:
    """Load every file under `paths`; one bad file is reported and skipped, never fatal."""
    result = LoadResult()
    seen: dict[str, str] = {}
    metadata_cache: dict[Path, dict[str, dict[str, Any]]] = {}
    for path in discover(paths):
        try:
            folder = path.parent
            if folder not in metadata_cache:
                metadata_cache[folder] = read_metadata(folder)
            document = load_file(path, metadata_cache[folder].get(path.name), pdf_timeout_s)
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
