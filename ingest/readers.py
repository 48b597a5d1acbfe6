"""File readers: bytes on disk -> pages of text. They know formats, not structure."""
from __future__ import annotations

import io
from pathlib import Path

from .errors import CorruptDocument, EmptyDocument, EncryptedDocument, NeedsOCR, UnknownEncoding, UnsupportedFormat
from .types import Page


def decode_text(data: bytes, source: str) -> str:
    """UTF-8 first (with or without BOM), then the legacy Korean code pages."""
    for enc in ("utf-8-sig", "cp949"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
    except ImportError:  # optional helper; the two encodings above cover Korean office files
        best = None
    if best is None:
        raise UnknownEncoding(source)
    return str(best)


def read_text(path: Path, source: str) -> list[Page]:
    data = path.read_bytes()
    if b"\x00" in data[:4096]:
        raise CorruptDocument(source, "텍스트 파일에 이진 데이터가 있습니다")
    return [Page(None, decode_text(data, source))]


def read_pdf(path: Path, source: str) -> list[Page]:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    try:
        reader = PdfReader(io.BytesIO(path.read_bytes()))
        if reader.is_encrypted:
            try:  # many "protected" PDFs only forbid editing and open with an empty password
                if not reader.decrypt(""):
                    raise EncryptedDocument(source)
            except (FileNotDecryptedError, NotImplementedError) as exc:
                raise EncryptedDocument(source) from exc
        pages = [Page(i + 1, page.extract_text() or "") for i, page in enumerate(reader.pages)]
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise CorruptDocument(source, type(exc).__name__) from exc
    if not pages:
        raise EmptyDocument(source)
    if not any(p.text.strip() for p in pages):
        raise NeedsOCR(source)
    return pages


READERS = {
    ".md": read_text,
    ".markdown": read_text,
    ".txt": read_text,
    ".pdf": read_pdf,
}


def supported_suffixes() -> frozenset[str]:
    return frozenset(READERS)


def read_pages(path: Path, source: str) -> list[Page]:
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise UnsupportedFormat(source, path.suffix or "확장자 없음")
    pages = reader(path, source)
    if not any(p.text.strip() for p in pages):
        raise EmptyDocument(source)
    return pages
