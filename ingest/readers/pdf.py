"""PDF reader (pypdf): one Page per PDF page, with its page number."""
from __future__ import annotations

import io
import logging
import re
import struct
from pathlib import Path

from ..errors import CorruptDocument, EmptyDocument, EncryptedDocument, NeedsOCR
from ..types import Page
from .limits import MIN_TEXT_CHARS

log = logging.getLogger(__package__)  # "ingest.readers": the logger name these records have always carried

# pypdf can run a heading into the sentence before it ("받을 수 없습니다.### 지원 내용")
GLUED_HEADING = re.compile(r"(?<=[.!?다요」)\]])[ \t]*(?=#{1,6}[ \t]+\S)")
# lines that start something of their own: headings, fields, bullets, 조/항/호/목 markers, notes
LINE_START = re.compile(r"^\s*(?:#|\[|[-·•※○□■▶>]|[①-⑳]|\d+(?:의\d+)?\.|[가-하]\.|제\s*\d+\s*조(?:의\s*\d+)?\s*[(（]|부\s*칙)")
LINE_END = re.compile(r"[.!?:;다요」』)\]]\s*$")


def unwrap(text: str) -> str:
    """Undo the page layout's line wrapping: a line that runs to the page's width without ending its sentence
    continues on the next line (Korean wraps between words), unless that line starts a heading, field, bullet or
    article of its own. Headings glued to the line before get their own line. Quotes are then whole sentences."""
    lines = GLUED_HEADING.sub("\n", text).split("\n")
    lengths = sorted(len(x.strip()) for x in lines if len(x.strip()) >= 10)
    width = lengths[int(0.75 * (len(lengths) - 1))] if lengths else 0  # a typical full line, not the longest
    out: list[str] = []
    for line in lines:
        prev = out[-1].strip() if out else ""
        wrapped = len(prev) >= max(25, 0.7 * width) and not LINE_END.search(prev) and not prev.startswith("#")
        if out and wrapped and line.strip() and not LINE_START.match(line):
            out[-1] = f"{out[-1].rstrip()} {line.strip()}"
        else:
            out.append(line)
    return "\n".join(out)


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
            pages.append(Page(i + 1, unwrap(text)))
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, struct.error) as exc:
        raise CorruptDocument(source, f"PDF 구조 오류: {type(exc).__name__}") from exc
    if not pages:
        raise EmptyDocument(source, "쪽이 없습니다")
    if failed == len(pages):
        raise CorruptDocument(source, "어느 쪽에서도 글자를 꺼내지 못했습니다")
    if max(len(re.sub(r"\s", "", p.text)) for p in pages) < MIN_TEXT_CHARS:
        raise NeedsOCR(source, f"{len(pages)}쪽 모두 글자가 없습니다")
    return pages
