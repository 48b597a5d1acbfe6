"""File readers: bytes on disk -> pages of text. They know formats, not structure.

Every reader returns `list[Page]`; only PDFs have page numbers. Structure the parser needs is written into the text:
headings become markdown `#` lines, paragraphs become lines, table rows become one line with cells joined by " | ".
A file whose bytes say it is another format than its name (a PDF saved as .docx, an HWP saved as .txt) is read by
what its bytes say when that is a document format we read; otherwise the error names both.
"""
from __future__ import annotations

import logging
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

from ..errors import EmptyDocument, EncryptedDocument, UnsupportedFormat
from ..types import Page
from . import hwp, html, limits, office, pdf, text
from .hwp import HWP_SIGNATURE, hwp_para_text, read_hwp
from .html import read_html
from .limits import SNIFF_BYTES
from .office import read_docx, read_hwpx
from .pdf import read_pdf
from .text import decode_text, read_text

log = logging.getLogger(__name__)


# ---------------------------------------------------------------- dispatch

FORMAT_NAMES = {"text": "텍스트", "html": "HTML 문서", "pdf": "PDF", "docx": "DOCX(워드)", "hwpx": "HWPX(한글)",
                "hwp": "HWP(한글)", "zip": "ZIP 압축 파일",
                "binary": "알 수 없는 이진 파일"}
READERS: dict[str, Callable[[Path, str], list[Page]]] = {
    "text": read_text,
    "html": read_html,
    "pdf": read_pdf,
    "docx": read_docx,
    "hwpx": read_hwpx,
    "hwp": read_hwp,
}
SUFFIXES = {
    ".md": "text", ".markdown": "text", ".txt": "text",
    ".html": "html", ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
    ".hwpx": "hwpx",
    ".hwp": "hwp",
}
DOCUMENT_FORMATS = {"pdf", "docx", "hwpx", "hwp"}  # unmistakable by their bytes, so read as what they are
IMAGE_MAGIC = {b"\x89PNG": "PNG", b"\xff\xd8\xff": "JPEG", b"GIF8": "GIF", b"II*\x00": "TIFF", b"MM\x00*": "TIFF",
               b"BM": "BMP"}


def sniff(path: Path, head: bytes) -> str:
    """What the bytes say the file is: a key of READERS, or a Korean description of a format we do not read."""
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as zf:
                names = set(zf.namelist())
        except (zipfile.BadZipFile, OSError):
            return "zip"  # a damaged zip: the claimed reader (if it is a zip format) reports it
        if "word/document.xml" in names:
            return "docx"
        if any(n.startswith("Contents/section") for n in names) or "mimetype" in names and b"hwp" in head[:100]:
            return "hwpx"
        if any(n.startswith(("xl/", "ppt/")) for n in names):
            return "엑셀/파워포인트(OOXML) 문서"
        return "zip"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        import olefile

        try:
            with olefile.OleFileIO(str(path)) as ole:
                if ole.exists("FileHeader"):
                    return "hwp"
                if ole.exists("EncryptedPackage"):
                    return "encrypted-office"
        except (OSError, ValueError, struct.error):
            return "hwp"  # damaged OLE: read_hwp gives the specific reason
        return "구형 MS Office(OLE) 문서"
    if head.startswith(HWP_SIGNATURE):
        return "hwp"  # HWP 3.x; read_hwp explains it
    for magic, name in IMAGE_MAGIC.items():
        if head.startswith(magic):
            return f"{name} 이미지"
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "binary"
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith((b"<!doctype html", b"<html")):
        return "html"
    return "text"


def choose_reader(path: Path, source: str) -> str:
    claimed = SUFFIXES.get(path.suffix.lower())
    if claimed is None:
        raise UnsupportedFormat(source, path.suffix or "확장자 없음")
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    actual = sniff(path, head)
    if actual == claimed or actual == "binary" or actual == "zip" and claimed in ("docx", "hwpx"):
        return claimed  # unknown bytes under a binary suffix: the reader reports what is wrong with it
    if actual in DOCUMENT_FORMATS:
        log.info("ingest.renamed", extra={"source": source, "suffix": path.suffix, "actual": actual})
        return actual
    if actual in ("text", "html") and claimed in ("text", "html"):
        return claimed  # an .md with some HTML, or a plain .html page: either reader keeps all the text
    if actual == "encrypted-office":
        raise EncryptedDocument(source, "암호가 걸린 MS Office 문서입니다")
    described = FORMAT_NAMES.get(actual, actual)
    hint = " 스캔 이미지라면 OCR 처리 후 PDF로 올려 주세요" if "이미지" in actual else ""
    raise UnsupportedFormat(source, f"확장자는 {path.suffix}이지만 실제 내용은 {described}입니다.{hint}")


def supported_suffixes() -> frozenset[str]:
    return frozenset(SUFFIXES)


def read_pages(path: Path, source: str) -> list[Page]:
    pages = READERS[choose_reader(path, source)](path, source)
    if not any(p.text.strip() for p in pages):
        raise EmptyDocument(source)
    return pages
