"""Real PDF files for tests, built with reportlab and pypdf."""

from __future__ import annotations

from pathlib import Path

from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas


def write_text_pdf(path: Path, paragraphs: list[str], lines_per_page: int = 40) -> Path:
    """A PDF whose pages hold `paragraphs` as wrapped text lines."""
    pdf = canvas.Canvas(str(path), pagesize=A4)
    y = 800
    used = 0
    for paragraph in paragraphs:
        words = paragraph.split()
        line = ""
        for word in words + [""]:
            if word and len(line) + len(word) < 90:
                line = f"{line} {word}".strip()
                continue
            pdf.drawString(40, y, line)
            y -= 16
            used += 1
            line = word
            if used >= lines_per_page:
                pdf.showPage()
                y, used = 800, 0
        y -= 16
    pdf.save()
    return path


def write_encrypted_pdf(source: Path, target: Path, password: str = "geheim") -> Path:
    writer = PdfWriter(clone_from=PdfReader(source))
    writer.encrypt(user_password=password, owner_password=password, algorithm="RC4-128")
    with target.open("wb") as handle:
        writer.write(handle)
    return target
