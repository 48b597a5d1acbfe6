"""HTML reader: block elements become lines, headings `#` lines, table rows " | " lines."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from ..errors import CorruptDocument
from ..types import Page
from .limits import TABLE_SEP
from .text import decode_text


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
