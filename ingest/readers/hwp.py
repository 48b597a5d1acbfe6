"""HWP 5.0 reader (OLE compound file with zlib-compressed record streams)."""
from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

from ..errors import CorruptDocument, EncryptedDocument, IngestError, TooLarge, UnsupportedFormat
from ..types import Page
from . import limits
from .limits import TABLE_SEP
from .office import outline_text


# ---------------------------------------------------------------- HWP 5.0 (OLE compound file)

HWP_SIGNATURE = b"HWP Document File"
HWPTAG_BEGIN = 0x10
TAG_PARA_SHAPE = HWPTAG_BEGIN + 9  # in DocInfo
TAG_PARA_HEADER = HWPTAG_BEGIN + 50
TAG_PARA_TEXT = HWPTAG_BEGIN + 51
TAG_CTRL_HEADER = HWPTAG_BEGIN + 55
TAG_LIST_HEADER = HWPTAG_BEGIN + 56
CTRL_TABLE = b"tbl "[::-1]  # control ids are stored as little-endian DWORDs of 4 ASCII letters
# Control characters in PARA_TEXT: "char" controls take one UTF-16 unit, inline/extended ones take eight.
HWP_CHAR_CONTROLS = {0, 10, 13, 24, 25, 26, 27, 28, 29, 30, 31}
HWP_SPACE_CONTROLS = {9, 10, 24, 30, 31}  # tab, line break, hyphen, non-breaking and fixed-width spaces


def hwp_records(data: bytes):
    """(tag, level, payload) of each record: a 32-bit header of tag (10 bits), level (10) and size (12)."""
    pos = 0
    while pos + 4 <= len(data):
        (header,) = struct.unpack_from("<I", data, pos)
        pos += 4
        tag, level, size = header & 0x3FF, (header >> 10) & 0x3FF, header >> 20
        if size == 0xFFF:  # long record: the real size follows
            (size,) = struct.unpack_from("<I", data, pos)
            pos += 4
        yield tag, level, data[pos:pos + size]
        pos += size


def hwp_para_text(payload: bytes) -> str:
    units = struct.unpack(f"<{len(payload) // 2}H", payload[: len(payload) // 2 * 2])
    keep: list[int] = []
    i = 0
    while i < len(units):
        c = units[i]
        if c >= 32:
            keep.append(c)
            i += 1
            continue
        if c in HWP_SPACE_CONTROLS:
            keep.append(32)
        elif c == 11:  # a table or drawing sits here: text before and after it are separate lines
            keep.append(10)
        i += 1 if c in HWP_CHAR_CONTROLS else 8
    # decode the kept UTF-16 units together so that surrogate pairs (rare Hanja) come out whole
    return struct.pack(f"<{len(keep)}H", *keep).decode("utf-16-le", errors="replace")


def inflate(data: bytes, source: str, name: str) -> bytes:
    """Raw deflate with a cap, so a tiny section cannot expand without bound."""
    d = zlib.decompressobj(-15)
    try:
        out = d.decompress(data, limits.MAX_UNPACKED)
    except zlib.error as exc:
        raise CorruptDocument(source, f"{name} 압축을 풀 수 없습니다") from exc
    if d.unconsumed_tail:
        raise TooLarge(source, f"{name}을(를) 풀면 {limits.MAX_UNPACKED / 2**20:.0f} MB를 넘습니다 (압축 폭탄 의심)")
    return out


def hwp_outline_levels(docinfo: bytes) -> dict[int, int]:
    """PARA_SHAPE index -> outline level (개요 1 = 1); bits 23-24 of its first DWORD are the heading kind
    (1 = outline) and bits 25-27 the level."""
    levels, index = {}, 0
    for tag, _, payload in hwp_records(docinfo):
        if tag != TAG_PARA_SHAPE or len(payload) < 4:
            continue
        (attr,) = struct.unpack_from("<I", payload)
        if (attr >> 23) & 3 == 1:
            levels[index] = ((attr >> 25) & 7) + 1
        index += 1
    return levels


def hwp_section_lines(data: bytes, levels: dict[int, int]) -> list[tuple[int, str]]:
    """Paragraph records become lines; the paragraphs inside a table's cells are gathered per row and cell."""
    lines: list[tuple[int, str]] = []
    table: dict | None = None  # {"level": ctrl level, "cells": {(row, col): [text]}, "cur": (row, col) | None}
    heading = 0

    def close_table():
        rows: dict[int, list[tuple[int, str]]] = {}
        for (row, col), texts in sorted(table["cells"].items()):
            rows.setdefault(row, []).append((col, " ".join(texts)))
        for row in sorted(rows):
            cells = [t for _, t in sorted(rows[row])]
            if any(cells):
                lines.append((0, TABLE_SEP.join(cells)))

    for tag, level, payload in hwp_records(data):
        if table is not None and level <= table["level"]:
            close_table()
            table = None
        if tag == TAG_PARA_HEADER and len(payload) >= 10:
            heading = levels.get(struct.unpack_from("<H", payload, 8)[0], 0)
        elif tag == TAG_PARA_TEXT:
            for piece in hwp_para_text(payload).split("\n"):
                text = " ".join(piece.split())
                if not text:
                    continue
                if table is not None and table["cur"] is not None:
                    table["cells"].setdefault(table["cur"], []).append(text)
                else:
                    lines.append((heading, text))
        elif tag == TAG_CTRL_HEADER and payload[:4] == CTRL_TABLE and table is None:
            table = {"level": level, "cells": {}, "cur": None}
        elif tag == TAG_LIST_HEADER and table is not None and level == table["level"] + 1 and len(payload) >= 12:
            col, row = struct.unpack_from("<HH", payload, 8)  # cell address follows the 8-byte list header
            table["cur"] = (row, col)
    if table is not None:
        close_table()
    return lines


def read_hwp(path: Path, source: str) -> list[Page]:
    import olefile

    with path.open("rb") as fh:
        head = fh.read(64)
    if head.startswith(HWP_SIGNATURE):  # HWP 3.x is not a compound file; it starts with the signature itself
        raise UnsupportedFormat(source, "HWP 3.x 이전 형식입니다. 한글에서 HWP 5.0 이상(.hwp) 또는 HWPX로 다시 저장해 주세요")
    if not olefile.isOleFile(str(path)):
        raise CorruptDocument(source, "HWP 5.0 복합 문서(OLE) 구조가 아닙니다")
    try:
        ole = olefile.OleFileIO(str(path))
    except (OSError, ValueError, struct.error) as exc:
        raise CorruptDocument(source, f"OLE 구조 오류: {exc}") from exc
    with ole:
        try:
            if not ole.exists("FileHeader"):
                raise UnsupportedFormat(source, "한글(HWP) 문서가 아닌 OLE 복합 문서입니다 (구형 MS Office 등)")
            header = ole.openstream("FileHeader").read()
            if not header.startswith(HWP_SIGNATURE) or len(header) < 40:
                raise CorruptDocument(source, "HWP 파일 머리(FileHeader)가 올바르지 않습니다")
            version, flags = struct.unpack_from("<II", header, 32)
            if flags & 0x02:
                raise EncryptedDocument(source)
            if flags & 0x04:  # 배포용 문서: the body is in encrypted ViewText streams
                raise EncryptedDocument(source, "배포용 문서는 본문이 암호화되어 있습니다")
            if version >> 24 != 5:
                raise UnsupportedFormat(source, f"HWP {version >> 24}.x 형식은 지원하지 않습니다")
            compressed = bool(flags & 0x01)

            def stream(name: str) -> bytes:
                data = ole.openstream(name).read()
                return inflate(data, source, name) if compressed else data

            levels = hwp_outline_levels(stream("DocInfo")) if ole.exists("DocInfo") else {}
            sections = sorted((e for e in ole.listdir() if len(e) == 2 and e[0] == "BodyText"
                               and re.fullmatch(r"Section\d+", e[1])), key=lambda e: int(e[1][7:]))
            if not sections:
                raise CorruptDocument(source, "BodyText 본문 구역이 없습니다")
            lines = []
            for entry in sections:
                lines += hwp_section_lines(stream("/".join(entry)), levels)
        except IngestError:
            raise
        except (OSError, ValueError, struct.error) as exc:
            raise CorruptDocument(source, f"HWP 구조 오류: {type(exc).__name__}") from exc
    return [Page(None, outline_text(lines))]
