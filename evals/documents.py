"""Where the evaluation's documents live and how their ids and texts are read.

The harness reads documents itself (UTF-8 exactly as on disk, BOM stripped; id from
documents.yaml, else the slugified file name) instead of through ingest, so the gold data
can be checked against the documents however the product's pipeline changes. The
generalisation suite's pages stay outside corpus/; `stage_corpus` copies both into one
folder with merged metadata, which the runner ingests as a separate index. The training-only
pages in evals/data/tune-documents/ (never scored) are staged the same way with
`stage_tune_corpus`, so the trained models see questions about pages outside the corpus.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

EVALS_DIR = Path(__file__).resolve().parent
REPO_ROOT = EVALS_DIR.parent
DATA_DIR = EVALS_DIR / "data"
GENERALISATION_DIR = EVALS_DIR / "generalisation"
CORPUS_DIR = REPO_ROOT / "corpus"
METADATA_FILE = "documents.yaml"
DOCUMENT_SUFFIXES = (".txt", ".md", ".pdf")

PageSet = Literal["generalisation", "tune"]
"""The pages kept outside corpus/: the generalisation suite's, or the training-only ones."""


@dataclass(frozen=True)
class Layout:
    """The folders the harness reads; tests point them at fixtures."""

    data_dir: Path = DATA_DIR
    generalisation_dir: Path = GENERALISATION_DIR
    corpus_dir: Path = CORPUS_DIR
    tune_documents_dir: Path = DATA_DIR / "tune-documents"

    @property
    def generalisation_documents(self) -> Path:
        return self.generalisation_dir / "documents"

    @property
    def generalisation_metadata(self) -> Path:
        return self.generalisation_dir / METADATA_FILE

    @property
    def tune_documents(self) -> Path:
        return self.page_folders("tune")[0]

    def page_folders(self, pages: PageSet) -> tuple[Path, Path]:
        """A page set's documents/ folder and the documents.yaml beside it."""
        base = self.tune_documents_dir if pages == "tune" else self.generalisation_dir
        return base / "documents", base / METADATA_FILE


@dataclass(frozen=True)
class SourceDocument:
    doc_id: str
    title: str
    text: str
    path: Path


def slugify(name: str) -> str:
    """The id of a document without metadata: its file name, lowercase, `-` for the rest."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-") or "document"


def read_metadata(path: Path) -> dict[str, dict[str, Any]]:
    """documents.yaml: file name to metadata; a missing file is no metadata."""
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ValueError(f"{path}: expected a mapping of file name to metadata")
    return {str(name): dict(meta) for name, meta in data.items()}


def document_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(
        p for p in directory.rglob("*")
        if p.is_file() and p.suffix.lower() in DOCUMENT_SUFFIXES and not p.name.startswith(".")
    )


def read_text(path: Path) -> str:
    if path.suffix.lower() == ".pdf":
        from ingest.load import read_pdf  # the only format whose text needs an extractor

        return read_pdf(path, 30.0)
    text = path.read_text(encoding="utf-8")
    return text[1:] if text.startswith("\ufeff") else text


def _first_line(text: str) -> str:
    return next((s for s in (line.strip().strip("#*").strip() for line in text.splitlines())
                 if s), "")[:120]


def load_documents(directory: Path, metadata: Mapping[str, Mapping[str, Any]]
                   ) -> list[SourceDocument]:
    documents = []
    for path in document_files(directory):
        meta = metadata.get(path.name, {})
        text = read_text(path)
        doc_id = str(meta.get("id") or slugify(path.stem))
        documents.append(SourceDocument(doc_id, str(meta.get("title") or _first_line(text)
                                                     or doc_id), text, path))
    return documents


def corpus_documents(layout: Layout) -> list[SourceDocument]:
    return load_documents(layout.corpus_dir, read_metadata(layout.corpus_dir / METADATA_FILE))


def guidance_words(layout: Layout) -> frozenset[str]:
    """Every lowercase word of the shipped guidance (the corpus documents)."""
    return frozenset(word for document in corpus_documents(layout)
                     for word in re.findall(r"\w+", document.text.lower()))


def page_metadata(layout: Layout, pages: PageSet) -> dict[str, dict[str, Any]]:
    """A page set's documents.yaml (beside documents/, or inside it)."""
    documents, metadata = layout.page_folders(pages)
    return {**read_metadata(documents / METADATA_FILE), **read_metadata(metadata)}


def page_documents(layout: Layout, pages: PageSet) -> list[SourceDocument]:
    return load_documents(layout.page_folders(pages)[0], page_metadata(layout, pages))


def generalisation_metadata(layout: Layout) -> dict[str, dict[str, Any]]:
    return page_metadata(layout, "generalisation")


def generalisation_documents(layout: Layout) -> list[SourceDocument]:
    return page_documents(layout, "generalisation")


def tune_documents(layout: Layout) -> list[SourceDocument]:
    """The training-only pages: read by evals.train, cited only by their own questions."""
    return page_documents(layout, "tune")


def texts_by_id(documents: Iterable[SourceDocument]) -> dict[str, str]:
    return {document.doc_id: document.text for document in documents}


# --- the corpus + generalisation (or tune) folder --------------------------------------------

def _staged_files(layout: Layout, pages: PageSet = "generalisation") -> dict[str, Path]:
    """Relative name in the staged folder to source file: the corpus (documents and its
    catalogue/taxonomy data) plus the page set's pages at the top level."""
    files = {
        str(p.relative_to(layout.corpus_dir)): p
        for p in sorted(layout.corpus_dir.rglob("*"))
        if p.is_file() and p.name != METADATA_FILE and not p.name.startswith(".")
    }
    for path in document_files(layout.page_folders(pages)[0]):
        if path.name in files:
            raise ValueError(f"{pages} document {path.name} has the name of a corpus file")
        files[path.name] = path
    return files


def merged_metadata(layout: Layout, pages: PageSet = "generalisation"
                    ) -> dict[str, dict[str, Any]]:
    return {**read_metadata(layout.corpus_dir / METADATA_FILE), **page_metadata(layout, pages)}


def digest(files: Mapping[str, Path], *extra: str) -> str:
    """Content digest of named files plus extra strings (metadata, model key)."""
    sha = hashlib.sha256()
    for name in sorted(files):
        sha.update(name.encode() + b"\0" + files[name].read_bytes() + b"\0")
    for value in extra:
        sha.update(value.encode() + b"\0")
    return sha.hexdigest()[:16]


def corpus_digest(layout: Layout, model_key: str) -> str:
    files = {str(p.relative_to(layout.corpus_dir)): p
             for p in sorted(layout.corpus_dir.rglob("*")) if p.is_file()}
    return digest(files, model_key)


def staged_digest(layout: Layout, model_key: str, pages: PageSet = "generalisation") -> str:
    metadata = yaml.safe_dump(merged_metadata(layout, pages), allow_unicode=True, sort_keys=True)
    return digest(_staged_files(layout, pages), metadata, model_key)


def stage_corpus(layout: Layout, target: Path, pages: PageSet = "generalisation") -> Path:
    """Copy the corpus + a page set's documents (default: the generalisation suite's) into
    `target` with one merged documents.yaml; files are rewritten only when they differ, so
    an unchanged folder stays unchanged."""
    files = _staged_files(layout, pages)
    target.mkdir(parents=True, exist_ok=True)
    wanted = set(files) | {METADATA_FILE}
    for existing in [p for p in target.rglob("*") if p.is_file()]:
        if str(existing.relative_to(target)) not in wanted:
            existing.unlink()
    for name, source in files.items():
        destination = target / name
        if not destination.is_file() or destination.read_bytes() != source.read_bytes():
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination)
    metadata = yaml.safe_dump(merged_metadata(layout, pages), allow_unicode=True, sort_keys=True)
    meta_path = target / METADATA_FILE
    if not meta_path.is_file() or meta_path.read_text(encoding="utf-8") != metadata:
        meta_path.write_text(metadata, encoding="utf-8")
    return target


def stage_tune_corpus(layout: Layout, target: Path) -> Path:
    """The corpus + the training-only pages in one folder, for evals.train to ingest."""
    return stage_corpus(layout, target, "tune")
