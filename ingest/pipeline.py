"""Files and folders -> parsed documents with chunks, plus a Korean reason for every file that failed."""
from __future__ import annotations

import fnmatch
import hashlib
import json
import logging
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from .chunk import make_chunks
from .errors import EmptyDocument, IngestError, TooLarge
from .readers import read_pages, supported_suffixes
from .structure import outline, split_front_matter
from .types import DocMeta, Failure, IngestBatch, Page, ParsedDocument

log = logging.getLogger(__name__)
IGNORE_FILE = ".assistantignore"
SIDECAR = ".meta.json"  # `규칙.pdf.meta.json` beside a file overrides detected metadata (title, doc_type, …)


def doc_id_for(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def normalised_sha(pages: list[Page]) -> str:
    text = "\n".join(re.sub(r"[ \t]+", " ", p.text).strip() for p in pages)
    return hashlib.sha256(text.encode()).hexdigest()


def ignore_patterns(root: Path) -> list[str]:
    file = root / IGNORE_FILE
    if not file.is_file():
        return []
    return [x.strip() for x in file.read_text(encoding="utf-8").splitlines() if x.strip() and not x.startswith("#")]


def discover(paths: Iterable[Path]) -> Iterator[tuple[Path, Path, str]]:
    """(root, file, source) for every candidate file; source is relative to the root that was given."""
    for given in paths:
        given = Path(given)
        if given.is_file() or given.is_symlink() and not given.is_dir():
            yield given.parent, given, given.name
            continue
        root = given
        patterns = ignore_patterns(root)
        for file in sorted(root.rglob("*")):
            rel = file.relative_to(root).as_posix()
            if any(part.startswith(".") for part in rel.split("/")):
                continue
            if any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(file.name, p) for p in patterns):
                continue
            if file.name.endswith(SIDECAR):
                continue
            if file.is_file() or file.is_symlink():
                yield root, file, rel


def parse_file(root: Path, file: Path, source: str, max_chars: int, max_bytes: int) -> ParsedDocument:
    resolved = file.resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise IngestError(source, "문서 폴더 밖을 가리키는 링크는 읽지 않습니다")
    size = resolved.stat().st_size
    if size == 0:
        raise EmptyDocument(source)
    if size > max_bytes:
        raise TooLarge(source, f"{size / 2**20:.1f} MB > {max_bytes / 2**20:.0f} MB")
    pages = read_pages(resolved, source)
    parsed = parse_pages(pages, source, read_sidecar(file, source), max_chars)
    if not parsed.chunks:
        raise EmptyDocument(source, "본문을 찾지 못했습니다")
    return parsed


def parse_pages(pages: list[Page], source: str, overrides: dict[str, str], max_chars: int) -> ParsedDocument:
    """Pages of one document into its metadata and chunks: front matter, then `overrides` (a sidecar file, a
    llama-index Document's metadata) on top, the outline, the chunks."""
    front, first = split_front_matter(pages[0].text)
    front.update(overrides)
    pages = [Page(pages[0].number, first)] + pages[1:]
    plan = outline(pages, source, front)
    meta = DocMeta(doc_id=doc_id_for(source), source=source, title=plan.title, doc_type=plan.doc_type,
                   effective_date=plan.effective_date, department=plan.department, audience=plan.audience,
                   content_sha256=normalised_sha(pages))
    return ParsedDocument(meta, make_chunks(meta, plan.sections, max_chars))


def read_sidecar(file: Path, source: str) -> dict[str, str]:
    sidecar = file.with_name(file.name + SIDECAR)
    if not sidecar.is_file():
        return {}
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IngestError(source, f"메타데이터 파일 {sidecar.name}의 형식이 올바르지 않습니다") from exc
    return {str(k).lower(): str(v) for k, v in data.items() if v is not None}


def load_documents(paths: Iterable[Path], max_chars: int = 700, max_bytes: int = 50 * 2**20) -> IngestBatch:
    documents, failures = [], []
    for root, file, source in discover(paths):
        if file.suffix.lower() not in supported_suffixes() and not file.is_symlink():
            failures.append(Failure(source, f"{source}: 지원하지 않는 파일 형식입니다 ({file.suffix or '확장자 없음'})"))
            continue
        try:
            documents.append(parse_file(root, file, source, max_chars, max_bytes))
        except IngestError as exc:
            log.warning("ingest.failed", extra={"source": source, "reason": exc.user_message})
            failures.append(Failure(source, exc.user_message))
        except Exception as exc:  # a reader bug must not lose the rest of the batch; it is reported, not hidden
            log.exception("ingest.crashed", extra={"source": source})
            failures.append(Failure(source, f"{source}: 읽는 중 예기치 못한 오류가 발생했습니다 ({type(exc).__name__})"))
    return IngestBatch(tuple(documents), tuple(failures))
