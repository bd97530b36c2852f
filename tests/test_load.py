"""Loading: supported formats, metadata, and bad files reported and skipped."""

from __future__ import annotations

from pathlib import Path

from ingest.load import load_paths, read_pdf
from tests.conftest import CORPUS
from tests.pdfs import write_encrypted_pdf, write_text_pdf


def test_corpus_loads_with_metadata() -> None:
    result = load_paths([CORPUS])
    assert not result.skipped
    ids = {d.doc_id for d in result.documents}
    assert ids == {
        "fase-4-uitvoering",
        "fase-2-visie",
        "wonen-met-begeleiding",
        "wegwijzer-prestatieafspraken",
        "van-visie-naar-uitvoering",
    }
    manifest = next(d for d in result.documents if d.doc_id == "wonen-met-begeleiding")
    assert manifest.kind == "handreiking" and manifest.publisher == "Platform31"
    original = (CORPUS / "fase-2-visie.txt").read_text(encoding="utf-8")
    assert next(d for d in result.documents if d.doc_id == "fase-2-visie").text == original


def test_markdown_and_text_files_get_ids_from_names(tmp_path: Path) -> None:
    (tmp_path / "Mijn Notitie.md").write_text("# Notitie over wonen\n\nTekst over zorg.\n")
    (tmp_path / "extra.txt").write_text("Extra\n\nNog een alinea.\n")
    result = load_paths([tmp_path])
    docs = {d.doc_id: d for d in result.documents}
    assert set(docs) == {"mijn-notitie", "extra"}
    assert docs["mijn-notitie"].title == "Notitie over wonen (Mijn Notitie.md)"


def test_pages_without_metadata_get_distinguishing_titles(tmp_path: Path) -> None:
    for town in ("Lindewaard", "Oosterveld"):
        (tmp_path / f"blijverslening-{town.lower()}.md").write_text(
            "# Blijverslening\n\nDe gemeente " + town + " verstrekt de lening.\n"
        )
    titles = {d.title for d in load_paths([tmp_path]).documents}
    assert titles == {"Blijverslening (blijverslening-lindewaard.md)",
                      "Blijverslening (blijverslening-oosterveld.md)"}


def test_pdf_text_is_extracted_with_page_breaks(tmp_path: Path) -> None:
    text = (CORPUS / "wegwijzer-prestatieafspraken.txt").read_text(encoding="utf-8")
    pdf = write_text_pdf(tmp_path / "wegwijzer.pdf", text.split("\n\n"), lines_per_page=20)
    extracted = read_pdf(pdf, timeout_s=30)
    assert "\f" in extracted
    assert "Wegwijzer prestatieafspraken" in extracted


def test_bad_files_are_reported_and_skipped(tmp_path: Path) -> None:
    good = tmp_path / "goed.txt"
    good.write_text("Goed document\n\nMet echte inhoud over wonen en zorg.\n")
    (tmp_path / "leeg.txt").write_text("")
    (tmp_path / "latin1.txt").write_bytes("Caf\xe9 met zorg".encode("latin-1"))
    (tmp_path / "kapot.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ngarbage")
    (tmp_path / "nul.pdf").write_bytes(b"")
    (tmp_path / "plaatje.png").write_bytes(b"\x89PNG\r\n")
    source = write_text_pdf(tmp_path / "bron.pdf", ["Een geheime tekst over wonen."])
    write_encrypted_pdf(source, tmp_path / "versleuteld.pdf")
    source.unlink()
    result = load_paths([tmp_path], pdf_timeout_s=30)
    assert [d.doc_id for d in result.documents] == ["goed"]
    reasons = {Path(s.path).name: s.reason for s in result.skipped}
    assert reasons["leeg.txt"] == "leeg bestand"
    assert "UTF-8" in reasons["latin1.txt"]
    assert "PDF" in reasons["kapot.pdf"]
    assert reasons["nul.pdf"] == "leeg bestand"
    assert "niet ondersteund" in reasons["plaatje.png"]
    assert "versleutelde PDF" in reasons["versleuteld.pdf"]


def test_pdf_extraction_has_a_time_limit(tmp_path: Path) -> None:
    pdf = write_text_pdf(tmp_path / "traag.pdf", ["tekst " * 50] * 40)
    result = load_paths([pdf], pdf_timeout_s=0.001)
    assert not result.documents
    assert "langer dan" in result.skipped[0].reason
