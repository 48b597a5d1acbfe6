"""Boundary types of the ingest stage: what readers produce and what the index consumes."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Page:
    """Text of one page (PDF) or of the whole file (page=None)."""

    number: int | None
    text: str


@dataclass(frozen=True)
class DocMeta:
    """Document-level metadata; every chunk of the document inherits it."""

    doc_id: str
    source: str
    title: str
    doc_type: str
    effective_date: str | None
    department: str | None
    audience: str
    content_sha256: str


@dataclass(frozen=True)
class Chunk:
    """One retrievable unit, with the metadata of DESIGN.md."""

    chunk_id: str
    doc_id: str
    source: str
    title: str
    doc_type: str
    anchor: str
    article_title: str | None
    page: int | None
    effective_date: str | None
    department: str | None
    content_sha256: str
    audience: str
    text: str

    @property
    def embed_text(self) -> str:
        """What the embedder and keyword index see: the body prefixed by where it stands."""
        head = f"{self.title} {self.anchor}"
        if self.article_title and self.article_title not in self.anchor:
            head += f"({self.article_title})"
        return f"{head}\n{self.text}"


@dataclass(frozen=True)
class ParsedDocument:
    meta: DocMeta
    chunks: tuple[Chunk, ...]


@dataclass(frozen=True)
class Failure:
    """A file that could not be ingested, with a Korean reason for the admin."""

    source: str
    error: str


@dataclass(frozen=True)
class IngestBatch:
    documents: tuple[ParsedDocument, ...] = ()
    failures: tuple[Failure, ...] = field(default_factory=tuple)
