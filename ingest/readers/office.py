"""Zip-container documents: the shared zip/XML helpers, DOCX and HWPX."""
from __future__ import annotations

import re
import zipfile
import zlib
from pathlib import Path

from ..errors import CorruptDocument, EncryptedDocument, TooLarge
from ..types import Page
from . import limits
from .limits import TABLE_SEP


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
    if unpacked > limits.MAX_UNPACKED:
        zf.close()
        raise TooLarge(source, f"압축을 풀면 {unpacked / 2**20:.0f} MB로 허용치 {limits.MAX_UNPACKED / 2**20:.0f} MB를 넘습니다"
                               " (압축 폭탄 의심)")
    if unpacked > limits.RATIO_FLOOR and unpacked / packed > limits.MAX_RATIO:
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
