"""Sizing: sections become chunks that never cross an article or service boundary.

An article (or service, or manual section) is one chunk when it fits; otherwise it splits at 항, then 호
boundaries (fields for welfare services), and every piece repeats the article heading so it stands alone."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from .structure import Section, line_anchors
from .types import Chunk, DocMeta

SENTENCE_END = re.compile(r"(?<=[.?!다])\s+")


@dataclass(frozen=True)
class Unit:
    lines: tuple[str, ...]
    labels: tuple[str, ...]  # line anchors (statutes) or field names (welfare)
    context: str | None = None  # the 항 lead repeated when a piece starts inside the 항
    page: int | None = None

    @property
    def size(self) -> int:
        return sum(len(x) + 1 for x in self.lines)


def split_long(unit: Unit, budget: int) -> list[Unit]:
    """A single 호 or paragraph longer than a chunk: cut between sentences (or hard, as a last resort)."""
    if unit.size <= budget:
        return [unit]
    text = " ".join(unit.lines)
    parts, buf = [], ""
    for sentence in SENTENCE_END.split(text):
        while len(sentence) > budget:
            if buf:
                parts.append(buf)
                buf = ""
            parts.append(sentence[:budget])
            sentence = sentence[budget:]
        if buf and len(buf) + len(sentence) + 1 > budget:
            parts.append(buf)
            buf = ""
        buf = f"{buf} {sentence}".strip()
    if buf:
        parts.append(buf)
    label = unit.labels[0] if unit.labels else ""
    return [Unit((p,), (label,), unit.context, unit.page) for p in parts]


def statute_units(section: Section, budget: int) -> list[Unit]:
    texts = [x.text for x in section.lines]
    anchors = line_anchors(section.anchor, texts)
    blocks: list[list[int]] = []  # line indexes grouped by 항
    for i, anchor in enumerate(anchors):
        paragraph = anchor.split(" ")[:len(section.anchor.split(" ")) + 1]
        if not blocks or paragraph != anchors[blocks[-1][0]].split(" ")[:len(paragraph)]:
            blocks.append([i])
        else:
            blocks[-1].append(i)
    units: list[Unit] = []
    for block in blocks:
        unit = Unit(tuple(texts[i] for i in block), tuple(anchors[i] for i in block), None, section.lines[block[0]].page)
        if unit.size <= budget:
            units.append(unit)
            continue
        lead = texts[block[0]]
        groups: list[list[int]] = []
        for i in block:
            if not groups or anchors[i] != anchors[groups[-1][0]]:
                groups.append([i])
            else:
                groups[-1].append(i)
        for n, group in enumerate(groups):
            context = lead[:160] if n > 0 else None
            sub = Unit(tuple(texts[i] for i in group), tuple(anchors[i] for i in group), context,
                       section.lines[group[0]].page)
            units.extend(split_long(sub, budget - len(context or "")))
    return units


def is_field_heading(text: str) -> bool:
    return text.startswith("[") and text.endswith("]")


def field_units(section: Section, budget: int) -> list[Unit]:
    """Welfare services split at their fields (`[지원 대상]` lines); manuals at their lines. A field's heading stays
    a line of its own at the head of its first unit, also when a long field is cut."""
    units: list[Unit] = []
    field = None
    for line in section.lines:
        if is_field_heading(line.text):
            field = line.text[1:-1]
            units.append(Unit((line.text,), (field,), None, line.page))
        elif units and units[-1].labels[0] == field and field is not None:
            last = units[-1]
            units[-1] = Unit(last.lines + (line.text,), last.labels + (field,), None, last.page)
        else:
            units.append(Unit((line.text,), (field or "",), None, line.page))
    out: list[Unit] = []
    for unit in units:
        if not is_field_heading(unit.lines[0]):
            out.extend(split_long(unit, budget))
        elif unit.size <= budget:
            out.append(unit)
        else:  # cut the body; the heading heads the first part
            heading = unit.lines[0]
            parts = split_long(Unit(unit.lines[1:], unit.labels[1:], None, unit.page), budget - len(heading) - 1)
            out.append(Unit((heading,) + parts[0].lines, unit.labels[:1] + parts[0].labels, None, unit.page))
            out.extend(parts[1:])
    return out


def pack(units: list[Unit], budget: int) -> list[list[Unit]]:
    """Consecutive units grouped into pieces of at most `budget` characters (a unit larger than that alone)."""
    pieces: list[list[Unit]] = []
    current: list[Unit] = []
    for unit in units:
        if current and sum(u.size for u in current) + unit.size > budget:
            pieces.append(current)
            current = []
        current.append(unit)
    if current:
        pieces.append(current)
    return pieces


def service_pieces(units: list[Unit], budget: int) -> list[list[Unit]]:
    """A welfare guide's fields, one to a piece: "who", "how much", "where to apply" are asked separately, and a
    chunk holding several fields is found for all of them and quoted for the wrong one. A field of one line or none
    (a phone number under 문의처) is too thin to stand alone and rides with the next field (the last with the one
    before); a field longer than a chunk is cut at its lines."""
    fields: list[list[Unit]] = []
    for unit in units:
        if not fields or is_field_heading(unit.lines[0]):
            fields.append([unit])
        else:
            fields[-1].append(unit)
    pieces = [piece for units_of_field in fields for piece in pack(units_of_field, budget)]
    thin = lambda piece: sum(len(u.lines) for u in piece) <= 2  # noqa: E731 - a heading and one line
    out: list[list[Unit]] = []
    for piece in pieces:
        if out and thin(out[-1]) and is_field_heading(piece[0].lines[0]):
            out[-1] = out[-1] + piece
        else:
            out.append(piece)
    if len(out) > 1 and thin(out[-1]):
        out[-2:] = [out[-2] + out[-1]]
    return out


def piece_anchor(section: Section, units: list[Unit], whole: bool) -> str:
    if whole:
        return section.anchor
    labels = [label for unit in units for label in unit.labels if label]
    if section.kind in ("article", "addenda", "annex"):
        paragraphs = sorted({a.split(" ")[len(section.anchor.split(" "))] for a in labels
                             if len(a.split(" ")) > len(section.anchor.split(" "))},
                            key=lambda a: labels.index(next(x for x in labels if a in x)))
        if not paragraphs:
            return section.anchor
        if len(paragraphs) == 1:
            items = [a.split(" ")[-1] for a in labels if a.endswith("호") or "호의" in a.split(" ")[-1]]
            if items and units[0].context is not None:
                span = items[0] if items[0] == items[-1] else f"{items[0]}~{items[-1]}"
                return f"{section.anchor} {paragraphs[0]} {span}"
            return f"{section.anchor} {paragraphs[0]}"
        return f"{section.anchor} {paragraphs[0]}~{paragraphs[-1]}"
    fields = list(dict.fromkeys(label for label in labels))
    if section.kind == "service" and fields:
        return f"{section.anchor} > {', '.join(fields)}"
    return section.anchor


def size_section(section: Section, max_chars: int) -> list[tuple[str, str, int | None]]:
    """(anchor, text, page) pieces of one section."""
    header = section.header
    body = [x.text for x in section.lines]
    whole = "\n".join([header] + body)
    budget = max(200, max_chars - len(header) - 1)
    if section.kind == "service":
        pieces = service_pieces(field_units(section, budget), budget)
        if len(pieces) == 1 and len(whole) <= max_chars:
            return [(section.anchor, whole, section.page)]
    elif len(whole) <= max_chars:
        return [(section.anchor, whole, section.page)]
    else:
        units = statute_units(section, budget) if section.kind in ("article", "addenda", "annex") \
            else field_units(section, budget)
        pieces = pack(units, budget)
    out = []
    for piece in pieces:
        lines = [header]
        if piece[0].context and piece[0].context not in piece[0].lines:
            lines.append(piece[0].context + " …")
        lines += [line for unit in piece for line in unit.lines]
        out.append((piece_anchor(section, piece, False), "\n".join(lines), piece[0].page or section.page))
    return out


def make_chunks(meta: DocMeta, sections: tuple[Section, ...], max_chars: int) -> tuple[Chunk, ...]:
    chunks = []
    for section in sections:
        for anchor, text, page in size_section(section, max_chars):
            digest = hashlib.sha256(f"{meta.doc_id}\x00{len(chunks)}\x00{anchor}\x00{text}".encode()).hexdigest()[:24]
            chunks.append(Chunk(
                chunk_id=digest, doc_id=meta.doc_id, source=meta.source, title=meta.title, doc_type=meta.doc_type,
                anchor=anchor, article_title=section.title if section.kind in ("article", "addenda") else None,
                page=page, effective_date=meta.effective_date,
                department=service_department(section) or meta.department,
                content_sha256=meta.content_sha256, audience=meta.audience, text=text,
            ))
    return tuple(chunks)


def service_department(section: Section) -> str | None:
    """A welfare service's 문의처/담당 부서 field: the first line under it."""
    if section.kind != "service":
        return None
    lines = [x.text for x in section.lines]
    for i, text in enumerate(lines[:-1]):
        if text in ("[문의처]", "[담당 부서]"):
            return lines[i + 1][:120]
    return None
