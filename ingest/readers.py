"""File readers: bytes on disk -> pages of text. They know formats, not structure.

Every reader returns `list[Page]`; only PDFs have page numbers. Structure the parser needs is written into the text:
headings become markdown `#` lines, paragraphs become lines, table rows become one line with cells joined by " | ".
A file whose bytes say it is another format than its name (a PDF saved as .docx, an HWP saved as .txt) is read by
what its bytes say when that is a document format we read; otherwise the error names both.
"""
from __future__ import annotations

import io
import logging
import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

from .errors import (CorruptDocument, EmptyDocument, EncryptedDocument, IngestError, NeedsOCR, TooLarge,
                     UnknownEncoding, UnsupportedFormat)
from .types import Page

log = logging.getLogger(__name__)

# A zip (DOCX/HWPX) or zlib stream (HWP) that expands past these is refused before it is expanded: a zip bomb.
MAX_UNPACKED = 200 * 2**20
MAX_RATIO = 100
RATIO_FLOOR = 2**20  # tiny XML parts legitimately compress very well; judge the ratio only past 1 MB
MIN_TEXT_CHARS = 16  # a PDF with fewer non-space characters on every page has no real text layer (scan)
SNIFF_BYTES = 8192

TABLE_SEP = " | "


# ---------------------------------------------------------------- text and markdown

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


# ---------------------------------------------------------------- PDF

def read_pdf(path: Path, source: str) -> list[Page]:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError

    data = path.read_bytes()
    if b"%PDF-" not in data[:1024]:
        raise CorruptDocument(source, "PDF 머리(%PDF-)가 없어 PDF 파일이 아닙니다")
    # Acrobat only requires %%EOF within the last 1024 bytes; without it the file was cut off (e.g. a failed
    # upload). pypdf would quietly recover the first pages, and a document missing its end must not look whole.
    if b"%%EOF" not in data[-1024:]:
        raise CorruptDocument(source, "PDF 파일 끝(%%EOF)이 없습니다. 전송 중 잘렸을 수 있습니다")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:  # many "protected" PDFs only forbid editing and open with an empty password
                if not reader.decrypt(""):
                    raise EncryptedDocument(source)
            except (FileNotDecryptedError, NotImplementedError, DependencyError) as exc:
                raise EncryptedDocument(source) from exc
        pages, failed = [], 0
        for i, page in enumerate(reader.pages):
            try:
                text = page.extract_text() or ""
            except Exception as exc:  # one unreadable page must not lose the others; it is logged, not hidden
                log.warning("pdf.page_failed", extra={"source": source, "page": i + 1, "error": repr(exc)})
                text, failed = "", failed + 1
            pages.append(Page(i + 1, text))
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, struct.error) as exc:
        raise CorruptDocument(source, f"PDF 구조 오류: {type(exc).__name__}") from exc
    if not pages:
        raise EmptyDocument(source, "쪽이 없습니다")
    if failed == len(pages):
        raise CorruptDocument(source, "어느 쪽에서도 글자를 꺼내지 못했습니다")
    if max(len(re.sub(r"\s", "", p.text)) for p in pages) < MIN_TEXT_CHARS:
        raise NeedsOCR(source, f"{len(pages)}쪽 모두 글자가 없습니다")
    return pages


# ---------------------------------------------------------------- HTML

class _HTMLText(HTMLParser):
    """Block elements become lines, h1..h6 become `#` lines, table rows become " | " lines."""

    SKIP = {"script", "style", "nav", "noscript", "template", "svg", "title"}  # title is kept apart
    BLOCK = {"p", "div", "section", "article", "main", "header", "footer", "aside", "li", "ul", "ol", "dl", "dt",
             "dd", "blockquote", "pre", "br", "hr", "table", "caption", "form", "figure", "figcaption", "address"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.buf: list[str] = []
        self.skip = 0
        self.pre = 0
        self.heading = 0
        self.row: list[str] | None = None
        self.cell: list[str] | None = None
        self.nested = 0  # depth of tables inside the open cell
        self.title: list[str] | None = None
        self.title_text = ""
        self.has_h1 = False

    def flush(self):
        text = "".join(self.buf)
        self.buf = []
        for raw in (text.split("\n") if self.pre else [text]):
            line = raw.rstrip() if self.pre else " ".join(raw.split())
            if line.strip():
                self.lines.append(("#" * self.heading + " " if self.heading else "") + line.strip())

    def end_cell(self):
        if self.cell is not None and self.row is not None:
            self.row.append(" ".join("".join(self.cell).split()))
        self.cell = None

    def end_row(self):
        self.end_cell()
        if self.row is not None and any(self.row):
            self.lines.append(TABLE_SEP.join(self.row))
        self.row = None

    def handle_starttag(self, tag, attrs):
        if tag == "title":
            self.title = []
        if tag in self.SKIP:
            self.skip += 1
            return
        if self.skip:
            return
        if self.cell is not None and (self.nested or tag == "table"):
            # a table inside a cell stays inside that cell as text; the outer row is what a reader sees
            self.nested += tag == "table"
            self.cell.append(" ")
        elif tag == "tr":  # old pages often leave </td> and </tr> out: a new row or cell closes the open one
            self.flush()
            self.end_row()
            self.row = []
        elif tag in ("td", "th"):
            self.end_cell()
            if self.row is None:
                self.flush()
                self.row = []
            self.cell = []
        elif self.cell is not None:
            if tag in self.BLOCK:
                self.cell.append(" ")
        elif re.fullmatch(r"h[1-6]", tag):
            self.flush()
            self.heading = int(tag[1])
            self.has_h1 |= self.heading == 1
        elif tag in self.BLOCK:
            self.flush()
            self.pre += tag == "pre"

    def handle_endtag(self, tag):
        if tag == "title" and self.title is not None:
            self.title_text, self.title = " ".join("".join(self.title).split()), None
        if tag in self.SKIP:
            self.skip = max(0, self.skip - 1)
            return
        if self.skip:
            return
        if self.nested:
            self.nested -= tag == "table"
            self.cell.append(" ")
        elif tag in ("td", "th"):
            self.end_cell()
        elif tag in ("tr", "table"):
            self.end_row()
        elif self.cell is not None:
            return
        elif re.fullmatch(r"h[1-6]", tag):
            self.flush()
            self.heading = 0
        elif tag in self.BLOCK:
            self.flush()
            self.pre -= tag == "pre" and self.pre > 0

    def handle_data(self, data):
        if self.title is not None:
            self.title.append(data)
        if self.skip:
            return
        (self.cell if self.cell is not None else self.buf).append(data)

    def text(self) -> str:
        self.end_row()
        self.flush()
        lines = self.lines
        if not self.has_h1 and self.title_text:  # the document title is what find_title looks for
            lines = [f"# {self.title_text}"] + lines
        return "\n".join(lines)


CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_\-]+)""", re.I)


def decode_html(data: bytes, source: str) -> str:
    """The declared charset first (EUC-KR pages are common on older sites), else the text-file detection."""
    m = CHARSET_RE.search(data[:4096])
    if m and not data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        enc = m.group(1).decode("ascii").lower()
        enc = {"euc-kr": "cp949", "ks_c_5601-1987": "cp949", "x-windows-949": "cp949"}.get(enc, enc)
        try:
            return data.decode(enc)
        except (LookupError, UnicodeDecodeError):
            pass  # a wrong declaration is common; fall back to detection
    return decode_text(data, source)


def read_html(path: Path, source: str) -> list[Page]:
    data = path.read_bytes()
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CorruptDocument(source, "HTML 파일에 이진 데이터가 있습니다")
    parser = _HTMLText()
    parser.feed(decode_html(data, source))
    parser.close()
    return [Page(None, parser.text())]


# ---------------------------------------------------------------- zip containers (DOCX, HWPX)

def local(tag: str) -> str:
    """`{namespace}p` -> `p`: OOXML transitional/strict and HWPX 2011/2016 differ only in namespaces."""
    return tag.rsplit("}", 1)[-1]


def open_zip(path: Path, source: str) -> zipfile.ZipFile:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise CorruptDocument(source, "ZIP 구조가 손상되었습니다") from exc
    infos = zf.infolist()
    unpacked = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    # zipfile never returns more than the declared file_size, so checking declared sizes bounds real memory use
    if unpacked > MAX_UNPACKED:
        zf.close()
        raise TooLarge(source, f"압축을 풀면 {unpacked / 2**20:.0f} MB로 허용치 {MAX_UNPACKED / 2**20:.0f} MB를 넘습니다"
                               " (압축 폭탄 의심)")
    if unpacked > RATIO_FLOOR and unpacked / packed > MAX_RATIO:
        zf.close()
        raise TooLarge(source, f"압축률이 {unpacked / packed:.0f}배로 비정상입니다 (압축 폭탄 의심)")
    return zf


def read_xml(zf: zipfile.ZipFile, name: str, source: str):
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    try:
        return fromstring(zf.read(name))  # defusedxml: no DTDs/entities, so no billion-laughs expansion
    except KeyError as exc:
        raise CorruptDocument(source, f"{name} 항목이 없습니다") from exc
    except (ParseError, DefusedXmlException, zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise CorruptDocument(source, f"{name}: {type(exc).__name__}") from exc


TITLE = -1  # level of a DOCX "Title" paragraph; 0 is body text, 1.. are heading levels


def outline_text(items: list[tuple[int, str]]) -> str:
    """(level, text) lines -> text with markdown headings.

    structure.find_title takes the first `#` line as the document's title. So when the document has a title of its
    own (a Title-style paragraph, or a plain paragraph before the first heading, as ordinances in 한글 usually
    have), headings move one level down and `#` is left to that title; otherwise heading 1 is `#`."""
    shift = 1 if any(lv == TITLE for lv, _ in items) or items and items[0][0] == 0 else 0
    lines = []
    for level, text in items:
        if level == TITLE:
            lines.append(f"# {text}")
        elif level:
            lines.append(f"{'#' * min(level + shift, 6)} {text}")
        else:
            lines.append(text)
    return "\n".join(lines)


# ---------------------------------------------------------------- DOCX

def docx_heading_levels(zf: zipfile.ZipFile, source: str) -> dict[str, int]:
    """styleId -> heading level. Style ids are localised (Korean Word writes "1" for 제목 1), so go by the
    English style name Word always stores, or by the style's outline level."""
    if "word/styles.xml" not in zf.namelist():
        return {}
    levels = {}
    for style in read_xml(zf, "word/styles.xml", source):
        if local(style.tag) != "style":
            continue
        sid = next((v for k, v in style.attrib.items() if local(k) == "styleId"), "")
        name = next((v for el in style if local(el.tag) == "name" for k, v in el.attrib.items() if local(k) == "val"),
                    "").lower()
        m = re.fullmatch(r"heading (\d)", name)
        if name == "title":
            levels[sid] = TITLE
        elif m:
            levels[sid] = int(m.group(1))
        else:
            level = docx_outline_level(style)
            if level:
                levels[sid] = level
    return levels


def docx_outline_level(el) -> int:
    for sub in el.iter():
        if local(sub.tag) == "outlineLvl":
            val = next((v for k, v in sub.attrib.items() if local(k) == "val"), "9")
            return int(val) + 1 if val.isdigit() and int(val) < 9 else 0  # 9 means body text
    return 0


def docx_text(el) -> str:
    parts = []
    for sub in el.iter():
        tag = local(sub.tag)
        if tag == "t" and sub.text:  # w:delText (deleted revisions) is a different tag and so left out
            parts.append(sub.text)
        elif tag in ("tab", "br", "cr"):
            parts.append(" ")
    return " ".join("".join(parts).split())


def docx_blocks(body, levels: dict[str, int], out: list[tuple[int, str]]) -> None:
    for el in body:
        tag = local(el.tag)
        if tag == "p":
            text = docx_text(el)
            if not text:
                continue
            level = 0
            for ppr in el:
                if local(ppr.tag) == "pPr":
                    style = next((v for s in ppr if local(s.tag) == "pStyle"
                                  for k, v in s.attrib.items() if local(k) == "val"), None)
                    level = levels.get(style, 0) if style else 0
                    level = level or docx_outline_level(ppr)
            out.append((level, text))
        elif tag == "tbl":
            for tr in el:
                if local(tr.tag) == "tr":
                    cells = [docx_text(tc) for tc in tr if local(tc.tag) == "tc"]
                    if any(cells):
                        out.append((0, TABLE_SEP.join(cells)))
        elif tag in ("sdt", "sdtContent", "customXml", "ins", "smartTag"):  # wrappers around ordinary blocks
            docx_blocks(el, levels, out)


def read_docx(path: Path, source: str) -> list[Page]:
    with open_zip(path, source) as zf:
        root = read_xml(zf, "word/document.xml", source)
        levels = docx_heading_levels(zf, source)
    body = next((el for el in root if local(el.tag) == "body"), None)
    if body is None:
        raise CorruptDocument(source, "word/document.xml에 본문(body)이 없습니다")
    items: list[tuple[int, str]] = []
    docx_blocks(body, levels, items)
    return [Page(None, outline_text(items))]


# ---------------------------------------------------------------- HWPX

def hwpx_heading_levels(zf: zipfile.ZipFile, source: str) -> dict[str, int]:
    """paraPr id -> outline level (개요 1 = 1) from Contents/header.xml, where paragraph shapes live."""
    if "Contents/header.xml" not in zf.namelist():
        return {}
    levels = {}
    for el in read_xml(zf, "Contents/header.xml", source).iter():
        if local(el.tag) != "paraPr":
            continue
        for sub in el.iter():
            if local(sub.tag) == "heading" and sub.get("type", "").upper() == "OUTLINE":
                levels[el.get("id", "")] = int(sub.get("level", "0")) + 1
                break
    return levels


def hwpx_runs(el, parts: list[str], nested: list) -> None:
    """Text of one paragraph; tables and sub-lists (footnotes, text boxes) are collected to emit after it."""
    for sub in el:
        tag = local(sub.tag)
        if tag == "t":
            parts.append(sub.text or "")
            for child in sub:  # hp:tab, hp:lineBreak and friends sit inside hp:t with text in their tails
                parts.append(" " if local(child.tag) in ("tab", "lineBreak", "nbSpace", "fwSpace") else "")
                parts.append(child.tail or "")
        elif tag in ("tbl", "subList"):
            nested.append(sub)
        else:
            hwpx_runs(sub, parts, nested)


def hwpx_paragraph(p, levels: dict[str, int], out: list[tuple[int, str]]) -> None:
    parts: list[str] = []
    nested: list = []
    hwpx_runs(p, parts, nested)
    text = " ".join("".join(parts).split())
    if text:
        out.append((levels.get(p.get("paraPrIDRef", ""), 0), text))
    for el in nested:
        if local(el.tag) == "tbl":
            for tr in (x for x in el if local(x.tag) == "tr"):
                cells = []
                for tc in (x for x in tr if local(x.tag) == "tc"):
                    inner: list[tuple[int, str]] = []
                    for sub in (x for x in tc if local(x.tag) == "subList"):
                        for cp in (x for x in sub if local(x.tag) == "p"):
                            hwpx_paragraph(cp, {}, inner)  # a nested table comes back as rows kept in this cell
                    cells.append(" ".join(t for _, t in inner))
                if any(cells):
                    out.append((0, TABLE_SEP.join(cells)))
        else:
            for sp in (x for x in el if local(x.tag) == "p"):
                hwpx_paragraph(sp, levels, out)


def read_hwpx(path: Path, source: str) -> list[Page]:
    with open_zip(path, source) as zf:
        names = zf.namelist()
        if "META-INF/manifest.xml" in names and b"encryption" in zf.read("META-INF/manifest.xml").lower():
            raise EncryptedDocument(source)
        sections = sorted((n for n in names if re.fullmatch(r"Contents/section\d+\.xml", n)),
                          key=lambda n: int(re.sub(r"\D", "", n)))
        if not sections:
            raise CorruptDocument(source, "Contents/section*.xml 본문이 없습니다")
        levels = hwpx_heading_levels(zf, source)
        items: list[tuple[int, str]] = []
        for name in sections:
            for p in read_xml(zf, name, source):  # top-level paragraphs; tables inside are handled per paragraph
                if local(p.tag) == "p":
                    hwpx_paragraph(p, levels, items)
    return [Page(None, outline_text(items))]


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
        out = d.decompress(data, MAX_UNPACKED)
    except zlib.error as exc:
        raise CorruptDocument(source, f"{name} 압축을 풀 수 없습니다") from exc
    if d.unconsumed_tail:
        raise TooLarge(source, f"{name}을(를) 풀면 {MAX_UNPACKED / 2**20:.0f} MB를 넘습니다 (압축 폭탄 의심)")
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
