"""Plain text and markdown: decode_text (also used by the HTML reader) and read_text."""
from __future__ import annotations

from pathlib import Path

from ..errors import CorruptDocument, UnknownEncoding
from ..types import Page


def decode_text(data: bytes, source: str) -> str:
    """UTF-8 first (with or without BOM), UTF-16 with a BOM (Windows "Unicode"), then the legacy Korean code pages."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise UnknownEncoding(source) from exc
    for enc in ("utf-8-sig", "cp949"):  # cp949 is a superset of EUC-KR, so EUC-KR files decode here too
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
    except ImportError:  # optional helper; the encodings above cover Korean office files
        best = None
    if best is None:
        raise UnknownEncoding(source)
    return str(best)


def read_text(path: Path, source: str) -> list[Page]:
    data = path.read_bytes()
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CorruptDocument(source, "텍스트 파일에 이진 데이터가 있습니다")
    return [Page(None, decode_text(data, source))]
