"""Render the welfare guides kept in tools/corpus_src/*.md to corpora/welfare/*.pdf.

The PDF is the corpus file for these guides (the .md source lives outside
corpora/ so the same text is not indexed twice). Each guide is split over
several pages (a page break before "### 지원 내용" and "### 신청 방법") so that
page numbers matter to the ingest pipeline. Headings are written on their own
lines so that pypdf text extraction keeps the Markdown-like structure.

Usage:  python tools/make_corpus_pdfs.py
Needs:  fpdf2, a Korean TTF font (apt-get install fonts-nanum -> NanumGothic.ttf)
"""
from __future__ import annotations

import logging
import sys
from datetime import datetime, timezone
from pathlib import Path

from fpdf import FPDF

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "tools" / "corpus_src"
OUT = ROOT / "corpora" / "welfare"

FONT_CANDIDATES = [
    Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf"),
    Path("/usr/share/fonts/nanum/NanumGothic.ttf"),
    Path.home() / ".fonts" / "NanumGothic.ttf",
]
PAGE_BREAK_BEFORE = {"### 지원 내용", "### 신청 방법"}


def find_font() -> Path:
    for p in FONT_CANDIDATES:
        if p.exists():
            return p
    sys.exit("Korean font NanumGothic.ttf not found: apt-get install -y fonts-nanum")


def render(md_path: Path, pdf_path: Path, font: Path) -> int:
    pdf = FPDF(format="A4")
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_font("Nanum", "", str(font))
    pdf.set_title(md_path.stem)
    pdf.set_creator("tools/make_corpus_pdfs.py")
    # fixed date so that re-running the script gives byte-identical PDFs
    pdf.set_creation_date(datetime(2026, 11, 1, tzinfo=timezone.utc))
    pdf.add_page()
    w = pdf.epw

    def para(text: str, size: float, before: float = 0.0, after: float = 2.0) -> None:
        pdf.ln(before)
        pdf.set_font("Nanum", size=size)
        pdf.multi_cell(w, size * 0.55, text, align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(after)

    for raw in md_path.read_text(encoding="utf-8").splitlines():
        line = raw.rstrip()
        if not line:
            continue
        if line in PAGE_BREAK_BEFORE:
            pdf.add_page()
        if line.startswith("### "):
            para(line, 14, before=3)
        elif line.startswith("## "):
            para(line, 16, before=4)
        elif line.startswith("# "):
            para(line, 20, after=4)
        elif line.startswith("> "):
            para(line, 10, after=4)
        else:
            para(line, 12)
    pdf.output(str(pdf_path))
    return pdf.page_no()


def main() -> None:
    # fontTools reports dropped hinting tables (TSI*) while subsetting; harmless.
    logging.getLogger("fontTools.subset").setLevel(logging.ERROR)
    font = find_font()
    OUT.mkdir(parents=True, exist_ok=True)
    for md in sorted(SRC.glob("*.md")):
        target = OUT / (md.stem + ".pdf")
        pages = render(md, target, font)
        print(f"{target.relative_to(ROOT)}: {pages} pages, {target.stat().st_size} bytes")


if __name__ == "__main__":
    main()
