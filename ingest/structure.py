"""Structure of Korean public documents: 조·항·호·목 and 부칙 for statutes, heading paths for manuals,
one entry per service for welfare guides. Produces `Section`s that the chunker sizes."""
from __future__ import annotations

import re
from dataclasses import dataclass

from .types import Page

CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
# "제4조(사회봉사의 신청)", "제4조 ((사회봉사의 신청))" (some exports double the parentheses), "제4조【…】"
ARTICLE_RE = re.compile(r"^제(\d+)조(?:의(\d+))?\s*(?:\(\(?([^()]{0,60})\)?\)|【([^】]{0,60})】)?\s*(.*)$")
CHAPTER_RE = re.compile(r"^제\d+(?:장|편|절|관)(?:의\d+)?(?:\s+.{1,40})?$")
ADDENDA_RE = re.compile(r"^부\s*칙(?:\s*\(([^)]*)\))?\s*(?:<([^>]*)>)?\s*$")
ANNEX_RE = re.compile(r"^\[?(별표|별지)\s*(제?\s*\d+(?:의\d+)?\s*호?)?")
PARAGRAPH_RE = re.compile(rf"^([{CIRCLED}])\s*")
ITEM_RE = re.compile(r"^(\d+)(?:의(\d+))?\.\s+")
SUBITEM_RE = re.compile(r"^([가나다라마바사아자차카타파하])\.\s+")
HEADING_RE = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
DATE_PATTERNS = (
    re.compile(r"시행일?\s*[:：]?\s*(\d{4})-(\d{1,2})-(\d{1,2})"),
    re.compile(r"\[시행\s*(\d{4})\.\s*(\d{1,2})\.\s*(\d{1,2})\.?\]"),
    re.compile(r"effective_date\s*[:：]\s*(\d{4})-(\d{1,2})-(\d{1,2})"),
    re.compile(r"(\d{4})년\s*(\d{1,2})월\s*(\d{1,2})일부터\s*시행"),
)
DEPARTMENT_RE = re.compile(r"(?:담당\s*부서|소관\s*부서|문의처)\s*[:：]\s*([^·\n]+)")
WELFARE_FIELDS = (
    "지원 대상", "선정 기준", "지원 내용", "지원 금액", "신청 방법", "신청 절차", "구비 서류", "제출 서류",
    "문의처", "담당 부서", "법적 근거", "유의 사항",
)
_FIELD_KEYS = {f.replace(" ", ""): f for f in WELFARE_FIELDS}
DOC_TYPES = ("ordinance", "law", "rule", "manual", "welfare", "other")
FOLDER_TYPES = {
    "ordinances": "ordinance", "ordinance": "ordinance", "조례": "ordinance",
    "laws": "law", "law": "law", "법령": "law",
    "rules": "rule", "rule": "rule", "규칙": "rule",
    "manuals": "manual", "manual": "manual", "매뉴얼": "manual",
    "welfare": "welfare", "복지": "welfare",
}


@dataclass(frozen=True)
class Line:
    page: int | None
    text: str  # markdown emphasis and indentation removed


@dataclass(frozen=True)
class Section:
    """A structural unit before sizing: an article, a welfare service, a manual section."""

    anchor: str
    title: str | None  # article title or heading
    header: str  # repeated at the top of every piece when the section is split
    lines: tuple[Line, ...]
    kind: str  # article | addenda | annex | service | section
    page: int | None = None


@dataclass(frozen=True)
class Outline:
    title: str
    doc_type: str
    effective_date: str | None
    department: str | None
    audience: str
    sections: tuple[Section, ...]


# a Markdown backslash escape ("4의2\. 퇴소 시 자립지원금", "\*"): the character itself, as a reader sees it
MARKDOWN_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


# an image the export left as a tag (a table or formula drawn as a picture): nothing a reader can quote, and a link
# out of the building
IMAGE_TAG = re.compile(r"<img\b[^>]*>|</img>", re.IGNORECASE)


def clean_line(text: str) -> str:
    text = text.replace("\u00a0", " ").replace("\u3000", " ")
    text = IMAGE_TAG.sub(" ", text).strip()
    text = re.sub(r"\*\*([^*]+)\*\*", r"\1", text)  # **①** -> ①
    return MARKDOWN_ESCAPE.sub(r"\1", text)


def split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """A leading `---` block of `key: value` lines overrides what is detected from the content."""
    if not text.startswith("---"):
        return {}, text
    end = text.find("\n---", 3)
    if end < 0:
        return {}, text
    meta = {}
    for raw in text[3:end].splitlines():
        if ":" in raw:
            key, value = raw.split(":", 1)
            meta[key.strip().lower()] = value.strip().strip("'\"")
    return meta, text[end + 4:].lstrip("-\n")


def to_lines(pages: list[Page]) -> list[Line]:
    out = []
    for page in pages:
        for raw in page.text.splitlines():
            text = clean_line(raw)
            if text:
                out.append(Line(page.number, text))
    return out


def find_date(text: str) -> str | None:
    for pattern in DATE_PATTERNS:
        m = pattern.search(text)
        if m:
            y, mo, d = (int(g) for g in m.groups())
            return f"{y:04d}-{mo:02d}-{d:02d}"
    return None


def find_department(text: str) -> str | None:
    m = DEPARTMENT_RE.search(text)
    return m.group(1).strip().rstrip(".") if m else None


def field_name(text: str) -> str | None:
    """`### 지원 대상` or a bare `지원대상` line (PDF) -> the canonical field name."""
    m = HEADING_RE.match(text)
    bare = (m.group(2) if m else text).strip().strip("[]<>■□○●◆◇▶ ")
    return _FIELD_KEYS.get(bare.replace(" ", ""))


def article_label(m: re.Match) -> str:
    return f"제{m.group(1)}조" + (f"의{m.group(2)}" if m.group(2) else "")


def strip_heading(text: str) -> str:
    m = HEADING_RE.match(text)
    return m.group(2) if m else text


def is_article_start(text: str, markdown_heading: bool) -> re.Match | None:
    m = ARTICLE_RE.match(text)
    if not m:
        return None
    has_title = m.group(3) is not None or m.group(4) is not None
    # "제3조에 따른 …" at the start of a sentence is a reference, not a heading
    if markdown_heading or has_title or m.group(5).startswith("삭제"):
        return m
    return None


def parse_statute(lines: list[Line]) -> list[Section]:
    sections: list[Section] = []
    current: dict | None = None
    addenda: str | None = None  # label of the 부칙 block we are in

    def flush():
        nonlocal current
        if current and current["lines"]:
            sections.append(Section(current["anchor"], current["title"], current["header"],
                                    tuple(current["lines"]), current["kind"], current["page"]))
        current = None

    for line in lines:
        heading = HEADING_RE.match(line.text)
        text = strip_heading(line.text) if heading else line.text
        m_add = ADDENDA_RE.match(text)
        if m_add:
            flush()
            number = m_add.group(2)
            addenda = "부칙" + (f"<{number.split(',')[0].strip()}>" if number else "")
            continue
        m_art = is_article_start(text, heading is not None)
        if m_art:
            flush()
            label = article_label(m_art)
            title = (m_art.group(3) or m_art.group(4) or "").strip() or None
            anchor = f"{addenda} {label}" if addenda else label
            header = f"{label}({title})" if title else label
            body = m_art.group(5).strip()
            current = {"anchor": anchor, "title": title, "header": header, "page": line.page,
                       "kind": "addenda" if addenda else "article", "lines": [Line(line.page, body)] if body else []}
            continue
        m_annex = ANNEX_RE.match(text)
        if m_annex and (heading or len(text) < 80):
            flush()
            label = re.sub(r"\s+", "", (m_annex.group(1) + (m_annex.group(2) or "")))
            current = {"anchor": label, "title": text, "header": text, "kind": "annex", "page": line.page, "lines": []}
            continue
        if heading or CHAPTER_RE.match(text):
            flush()  # a chapter heading closes the article before it
            continue
        if current is None:
            if addenda:  # 부칙 without articles: "이 조례는 공포한 날부터 시행한다."
                current = {"anchor": addenda, "title": None, "header": addenda, "kind": "addenda", "page": line.page,
                           "lines": []}
            else:
                continue  # preamble text before the first article (title, 출처 lines)
        current["lines"].append(Line(line.page, text))
    flush()
    return sections


def parse_welfare(lines: list[Line], doc_title: str) -> list[Section]:
    """One section per service; its field headings stay inside the section's lines."""
    sections: list[Section] = []
    service: str | None = None
    body: list[Line] = []

    def flush():
        if service and any(field_name(x.text) is None for x in body):
            sections.append(Section(service, service, service, tuple(body), "service", body[0].page))

    for i, line in enumerate(lines):
        heading = HEADING_RE.match(line.text)
        if heading and len(heading.group(1)) == 1:
            continue  # document title
        if heading and len(heading.group(1)) == 2 and not field_name(line.text):
            flush()
            service, body = heading.group(2).strip(), []
            continue
        if not heading and not field_name(line.text) and len(line.text) <= 30 and not line.text.endswith((".", "다")):
            nxt = lines[i + 1].text if i + 1 < len(lines) else ""
            if field_name(nxt) and (not body or field_name(nxt) in ("지원 대상", "선정 기준")):
                flush()  # a bare service name (PDF) followed by its first field
                service, body = line.text.strip(), []
                continue
        if line.text.startswith(">"):
            continue  # 분류/출처 notes
        if service is None and field_name(line.text):
            service = doc_title
        if service is not None:
            body.append(Line(line.page, f"[{field_name(line.text)}]" if field_name(line.text) else line.text))
    flush()
    return sections


def parse_headings(lines: list[Line], doc_title: str) -> list[Section]:
    """Manuals and other documents: one section per heading, anchored by its heading path."""
    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    body: list[Line] = []

    def flush():
        if body:
            names = [name for _, name in path] or [doc_title]
            anchor = " > ".join(names)
            sections.append(Section(anchor, names[-1], anchor, tuple(body), "section", body[0].page))

    for line in lines:
        heading = HEADING_RE.match(line.text)
        if heading:
            level, name = len(heading.group(1)), heading.group(2).strip()
            if level == 1 and name == doc_title:
                continue
            flush()
            body = []
            path = [(lv, nm) for lv, nm in path if lv < level] + [(level, name)]
            continue
        if line.text.startswith(">"):
            continue
        body.append(line)
    flush()
    return sections


def detect_type(title: str, lines: list[Line], source: str, override: str | None) -> str:
    if override in DOC_TYPES:
        return override
    n_articles = sum(1 for x in lines if is_article_start(strip_heading(x.text), HEADING_RE.match(x.text) is not None))
    n_fields = sum(1 for x in lines if field_name(x.text))
    if n_fields >= 3 and n_fields > n_articles:
        return "welfare"
    if n_articles >= 2:
        compact = title.replace(" ", "")
        if compact.endswith("조례") or "조례" in compact[-8:]:
            return "ordinance"
        if compact.endswith("규칙"):
            return "rule"
        if re.search(r"(법|법률|령)$", compact):
            return "law"
        for part in reversed(source.split("/")[:-1]):
            if part.lower() in FOLDER_TYPES:
                return FOLDER_TYPES[part.lower()]
        return "ordinance" if "조례" in compact else "law"
    for part in reversed(source.split("/")[:-1]):
        if part.lower() in FOLDER_TYPES and FOLDER_TYPES[part.lower()] in ("manual", "welfare"):
            return FOLDER_TYPES[part.lower()]
    if any(HEADING_RE.match(x.text) for x in lines):
        return "manual"
    return "other"


def find_title(lines: list[Line], fallback: str) -> str:
    for line in lines[:10]:
        m = HEADING_RE.match(line.text)
        if m and len(m.group(1)) == 1:
            return m.group(2).strip()
    for line in lines[:3]:  # plain text: the first short line that is not metadata
        if len(line.text) <= 60 and not line.text.startswith(("[", ">", "담당", "제1")):
            return line.text
    return fallback


def outline(pages: list[Page], source: str, front: dict[str, str]) -> Outline:
    lines = to_lines(pages)
    stem = source.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    title = front.get("title") or find_title(lines, stem.replace("_", " "))
    doc_type = detect_type(title, lines, source, front.get("doc_type"))
    head = "\n".join(x.text for x in lines[:8])
    effective = front.get("effective_date") or find_date(head)
    department = front.get("department") or find_department(head)
    if doc_type in ("ordinance", "law", "rule"):
        sections = parse_statute(lines)
        if not effective:  # the newest 부칙's 시행일 is the version in force
            dates = [find_date(" ".join(x.text for x in s.lines)) for s in sections if s.kind == "addenda"]
            effective = next((d for d in reversed(dates) if d), None)
    elif doc_type == "welfare":
        sections = parse_welfare(lines, title)
    else:
        sections = parse_headings(lines, title)
    audience = front.get("audience", "public").lower()
    return Outline(title, doc_type, effective, department, "internal" if audience == "internal" else "public",
                   tuple(sections))


def unit_label(text: str) -> str | None:
    """The 항/호/목 label a line opens: `제2항`, `제3호`, `가목`; None for continuation lines."""
    m = PARAGRAPH_RE.match(text)
    if m:
        return f"제{CIRCLED.index(m.group(1)) + 1}항"
    m = ITEM_RE.match(text)
    if m:
        return f"제{m.group(1)}호" + (f"의{m.group(2)}" if m.group(2) else "")
    m = SUBITEM_RE.match(text)
    if m:
        return f"{m.group(1)}목"
    return None


def line_anchors(section_anchor: str, lines: list[str]) -> list[str]:
    """Anchor of each line of an article: `제5조 제2항 제3호`. Used by chunking and by citations."""
    paragraph = item = None
    out = []
    for text in lines:
        label = unit_label(text)
        if label and label.endswith("항"):
            paragraph, item = label, None
        elif label and "호" in label:
            item = label
        parts = [section_anchor] + [x for x in (paragraph, item) if x]
        out.append(" ".join(parts))
    return out
