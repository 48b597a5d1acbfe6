"""The index folder: generations written beside the live one and switched atomically, a manifest checked on
load, chunks and documents in SQLite, vectors in FAISS, the keyword index, and a cache of embeddings.

    INDEX/CURRENT          name of the live generation (replaced atomically)
    INDEX/LOCK             held by the one ingest that may write
    INDEX/cache.sqlite     embeddings and keyword tokens by content hash: nothing is embedded twice
    INDEX/gen-…/           manifest.json, docstore.sqlite, vectors.npy, dense.faiss, keyword.npz
                           (the manifest, written last, records each file's size and checksum: integrity.py)
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import logging
import shutil
import sqlite3
import tarfile
import time
import zipfile
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np

from ingest import Chunk

from ..errors import IndexBusy, IndexDamaged, IndexMismatch
from .integrity import (MANIFEST, cache_check, check_generation, checked, generations, live_name, reading, seal,
                        serve)

log = logging.getLogger(__name__)
FORMAT_VERSION = 2  # 2: statute links (links.json) in every generation
# 2: one welfare field to a chunk, PDF lines unwrapped; 3: Markdown escapes read ("4의2\." is 제4호의2);
# 4: "제4조 ((제목))" read as the article's title, <img> tags dropped
CHUNKER_VERSION = "structure-4"
CHUNK_FIELDS = [f.name for f in fields(Chunk)]
DOC_COLUMNS = ["doc_id", "source", "title", "doc_type", "effective_date", "department", "audience",
               "content_sha256", "n_chunks", "ingested_at"]


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


class IndexFolder:
    def __init__(self, root: Path, keep_generations: int = 2):
        self.root = Path(root)
        self.keep_generations = max(1, keep_generations)

    def current(self) -> Path | None:
        name = live_name(self.root)
        return self.root / name if name and (self.root / name / MANIFEST).is_file() else None

    @contextlib.contextmanager
    def lock(self, wait: bool = False):
        """One writer at a time; a second ingest fails clearly instead of corrupting anything."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "LOCK", "a+") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError as exc:
                raise IndexBusy(f"다른 색인 작업이 진행 중입니다 ({self.root}). 끝난 뒤 다시 실행해 주세요.") from exc
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def new_generation(self) -> Path:
        gen = self.root / f".building-{time.time_ns()}"
        gen.mkdir(parents=True)
        return gen

    def publish(self, building: Path, checkpoint=lambda name: None) -> Path:
        """Rename the finished generation into place, then switch CURRENT: a crash before the switch leaves the
        previous generation live; a crash after it leaves the new one live. Nothing is ever half-written."""
        final = self.root / building.name.replace(".building-", "gen-")
        for file in building.iterdir():
            with open(file, "rb") as fh:
                os.fsync(fh.fileno())
        os.rename(building, final)
        fsync_dir(self.root)
        checkpoint("renamed")
        write_atomic(self.root / "CURRENT", final.name.encode())
        checkpoint("published")
        self.prune(keep={final.name})
        return final

    def prune(self, keep: set[str]) -> None:
        """Drop unfinished generations and all but the live one and the newest `keep_generations - 1` older ones
        that check out: a damaged generation never takes the place of the intact one a damaged live one falls
        back to (integrity.serve)."""
        keep = set(keep)
        spare = self.keep_generations - 1
        for gen in generations(self.root):
            if spare <= 0:
                break
            if gen.name not in keep and checked(gen).ok:
                keep.add(gen.name)
                spare -= 1
        for path in list(self.root.glob(".building-*")) + generations(self.root):
            if path.name not in keep:
                shutil.rmtree(path, ignore_errors=True)


class Cache:
    """Embeddings and keyword tokens by content hash, shared by all generations of one index.

    A run writes what it embeds into its own file beside the cache (`cache.run-*.sqlite`, committed batch by batch,
    so a killed ingest loses no embedding work: the next run reads such leftovers and merges them) and merges it
    into `cache.sqlite` in one transaction once the new generation is written (`merge`). A run the disk stopped
    deletes its own file (`discard`): the cache is then byte for byte what it was, whatever had been embedded."""

    RUN_GLOB = "cache.run-*.sqlite"

    def __init__(self, path: Path):
        self.path = path
        self.created = not path.exists()  # made by this run: removed again if the run fails on a full disk
        self.run_path = path.with_name(f"cache.run-{time.time_ns()}.sqlite")
        self.run: sqlite3.Connection | None = None
        # SQLite's side files that this run brings into being: on a full disk it may not be able to remove them
        self.new_side_files = [p for p in (_side(path, "-wal"), _side(path, "-shm")) if not p.exists()]
        self.db = None
        try:
            self.db = sqlite3.connect(path)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("CREATE TABLE IF NOT EXISTS emb (key TEXT PRIMARY KEY, vec BLOB)")
            self.db.execute("CREATE TABLE IF NOT EXISTS tok (key TEXT PRIMARY KEY, toks TEXT)")
            self.leftovers = []
            for file in sorted(path.parent.glob(self.RUN_GLOB)):
                db = sqlite3.connect(f"file:{file}?mode=ro", uri=True)
                try:
                    db.execute("SELECT 1 FROM emb, tok LIMIT 1")
                except sqlite3.DatabaseError:  # killed before its first commit, or damaged: not read, left alone
                    db.close()
                    log.warning("cache.leftover_unreadable", extra={"file": str(file)})
                    continue
                self.leftovers.append((file, db))
        except sqlite3.DatabaseError as exc:
            from .space import is_disk_full

            if is_disk_full(exc, path.parent):
                self.discard()
                raise
            if self.db is not None:
                self.db.close()
            raise cache_damaged(path, exc) from exc

    def _sources(self) -> list[sqlite3.Connection]:
        return [self.db] + [db for _, db in self.leftovers] + ([self.run] if self.run is not None else [])

    def _get(self, table: str, column: str, keys: list[str]) -> dict:
        out: dict = {}
        for db in self._sources():
            todo = [k for k in keys if k not in out]
            for i in range(0, len(todo), 500):
                part = todo[i:i + 500]
                out.update(db.execute(f"SELECT key, {column} FROM {table} WHERE key IN ({','.join('?' * len(part))})",
                                      part))
        return out

    def _put(self, sql: str, rows: list[tuple]) -> None:
        if self.run is None:
            self.run = sqlite3.connect(self.run_path)
            self.run.execute("CREATE TABLE IF NOT EXISTS emb (key TEXT PRIMARY KEY, vec BLOB)")
            self.run.execute("CREATE TABLE IF NOT EXISTS tok (key TEXT PRIMARY KEY, toks TEXT)")
        with self.run:
            self.run.executemany(sql, rows)

    def get_vectors(self, keys: list[str], dim: int) -> dict[str, np.ndarray]:
        out = {}
        for key, blob in self._get("emb", "vec", keys).items():
            vec = np.frombuffer(blob, dtype=np.float32)
            if vec.shape[0] == dim:
                out[key] = vec
        return out

    def put_vectors(self, items: dict[str, np.ndarray]) -> None:
        self._put("INSERT OR REPLACE INTO emb VALUES (?, ?)",
                  [(k, np.asarray(v, np.float32).tobytes()) for k, v in items.items()])

    def get_tokens(self, keys: list[str]) -> dict[str, list[str]]:
        return {key: json.loads(toks) for key, toks in self._get("tok", "toks", keys).items()}

    def put_tokens(self, items: dict[str, list[str]]) -> None:
        self._put("INSERT OR REPLACE INTO tok VALUES (?, ?)",
                  [(k, json.dumps(v, ensure_ascii=False)) for k, v in items.items()])

    def merge(self) -> None:
        """This run's rows and any leftovers into cache.sqlite, in one transaction; then their files go."""
        files = [f for f, _ in self.leftovers] + ([self.run_path] if self.run is not None else [])
        self._close_sources()
        if not files:
            return
        for i, file in enumerate(files):
            self.db.execute(f"ATTACH DATABASE ? AS run{i}", (f"file:{file}?mode=ro",))
        with self.db:
            for i in range(len(files)):
                self.db.execute(f"INSERT OR IGNORE INTO emb SELECT key, vec FROM run{i}.emb")
                self.db.execute(f"INSERT OR IGNORE INTO tok SELECT key, toks FROM run{i}.tok")
        for i in range(len(files)):
            self.db.execute(f"DETACH DATABASE run{i}")
        for file in files:
            _unlink_db(file)

    def discard(self) -> None:
        """Forget this run's rows (its own file, and cache.sqlite itself if this run created it); leftovers of
        earlier runs stay, as found."""
        self.close()
        _unlink_db(self.run_path)
        if self.created:
            _unlink_db(self.path)
        for side in self.new_side_files:  # closed above: no connection of ours still maps them
            if side.exists() and (side.name.endswith("-shm") or side.stat().st_size == 0):
                side.unlink()

    def _close_sources(self) -> None:
        for _, db in getattr(self, "leftovers", []):
            db.close()
        self.leftovers = []
        if self.run is not None:
            self.run.close()

    def close(self) -> None:
        self._close_sources()
        if self.db is not None:
            self.db.close()


def _side(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _unlink_db(path: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            path.with_name(path.name + suffix).unlink()


def cache_damaged(path: Path, exc: Exception) -> IndexDamaged:
    return IndexDamaged(f"임베딩 캐시 {path.name}를 읽을 수 없습니다 ({exc}). `assistant ingest --rebuild --index "
                        f"{path.parent}`는 손상된 캐시를 옆으로 옮기고 문서를 새로 임베딩합니다.")


def set_aside_damaged_cache(path: Path) -> bool:
    """`ingest --rebuild`: a cache that fails SQLite's own check is renamed (kept for inspection), not trusted."""
    if cache_check(path)["ok"]:
        return False
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for suffix in ("", "-wal", "-shm"):
        part = path.with_name(path.name + suffix)
        if part.exists():
            os.replace(part, path.with_name(f"{path.name}.damaged-{stamp}{suffix}"))
    return True


def write_manifest(gen: Path, manifest: dict) -> None:
    """Last file of a generation, written atomically, with the sizes and checksums of all the others."""
    write_atomic(gen / MANIFEST, json.dumps(seal(manifest, gen), ensure_ascii=False, indent=2).encode("utf-8"))


def write_docstore(gen: Path, documents: list[dict], chunks: list[Chunk]) -> None:
    db = sqlite3.connect(gen / "docstore.sqlite")
    with db:
        db.execute(f"CREATE TABLE documents ({', '.join(DOC_COLUMNS)}, PRIMARY KEY (doc_id))")
        db.execute(f"CREATE TABLE chunks (row INTEGER PRIMARY KEY, {', '.join(CHUNK_FIELDS)})")
        db.execute("CREATE UNIQUE INDEX chunk_ids ON chunks (chunk_id)")
        db.executemany(f"INSERT INTO documents VALUES ({','.join('?' * len(DOC_COLUMNS))})",
                       [tuple(d[c] for c in DOC_COLUMNS) for d in documents])
        db.executemany(f"INSERT INTO chunks VALUES (?, {','.join('?' * len(CHUNK_FIELDS))})",
                       [(i, *(getattr(c, f) for f in CHUNK_FIELDS)) for i, c in enumerate(chunks)])
    db.close()


# Each reader below turns what its library raises on a bad file into IndexFileDamaged naming that file.
def read_docstore(gen: Path) -> tuple[list[dict], list[Chunk]]:
    with reading(gen, "docstore.sqlite", (sqlite3.DatabaseError,)):
        db = sqlite3.connect(f"file:{gen / 'docstore.sqlite'}?mode=ro", uri=True)
        try:
            documents = [dict(zip(DOC_COLUMNS, row))
                         for row in db.execute(f"SELECT {', '.join(DOC_COLUMNS)} FROM documents")]
            chunks = [Chunk(*row) for row in db.execute(f"SELECT {', '.join(CHUNK_FIELDS)} FROM chunks ORDER BY row")]
        finally:
            db.close()
    return documents, chunks


def read_manifest(gen: Path) -> dict:
    with reading(gen, MANIFEST, (OSError, ValueError)):  # ValueError: bad UTF-8 or JSON
        return json.loads((gen / MANIFEST).read_text(encoding="utf-8"))


def read_keyword(gen: Path):
    """The keyword index (BM25Index.save's two files), read one at a time so that a bad one is named."""
    from .keyword import BM25Index

    with reading(gen, "keyword_vocab.json", (OSError, ValueError)):
        vocab = json.loads((gen / "keyword_vocab.json").read_text(encoding="utf-8"))
    # numpy reports a cut or flipped zip member as any of these; a missing member as KeyError
    with reading(gen, "keyword.npz", (OSError, ValueError, EOFError, KeyError, IndexError, zipfile.BadZipFile)):
        with np.load(gen / "keyword.npz") as data:
            arrays = [data[k] for k in ("indptr", "doc_ids", "weights", "idf")]
            n_docs = int(data["n_docs"][0])
    return BM25Index(vocab, *arrays, n_docs)


def read_dense(settings, gen: Path, threads: int = 2):
    """The dense index: FAISS reports a bad file as RuntimeError; a Milvus Lite pointer or archive as the rest.
    (The guard spans DenseIndex.load, which also moves the index to a GPU where there is one.)"""
    from .milvus_store import POINTER_FILE, load_dense_index

    if (gen / POINTER_FILE).exists():
        file, errors = POINTER_FILE, (OSError, ValueError, KeyError, tarfile.TarError)
    else:
        file, errors = "dense.faiss", (RuntimeError,)
    with reading(gen, file, errors):
        return load_dense_index(settings, gen, threads)


def check_manifest(manifest: dict, model_id: str, dim: int, root: Path) -> None:
    fix = f"`assistant ingest --index {root}`로 색인을 다시 만들어 주세요."
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexMismatch(f"색인 형식(버전 {manifest.get('format_version')})이 이 프로그램과 맞지 않습니다. {fix}")
    if manifest.get("embedding", {}).get("model") != model_id or manifest.get("embedding", {}).get("dim") != dim:
        raise IndexMismatch(f"색인이 다른 임베딩 모델({manifest.get('embedding')})로 만들어졌습니다 "
                            f"(현재: {model_id}). {fix}")
    if manifest.get("chunker_version") != CHUNKER_VERSION:
        raise IndexMismatch(f"색인의 문서 분할 방식({manifest.get('chunker_version')})이 현재({CHUNKER_VERSION})와 "
                            f"다릅니다. {fix}")


def live_generation(root: Path) -> Path:
    """The generation to answer from: the live one when its files check out, else the newest older intact one
    (integrity.serve says why); IndexMissing / IndexDamaged otherwise."""
    return serve(root).generation


def chunk_dict(chunk: Chunk) -> dict:
    return asdict(chunk)


def check_consistency(root: Path) -> dict:
    """Load the live generation and check it is whole: every part holds the same chunks, none twice.
    Used after crashes (tests, `scripts/crash_test.py`); raises AssertionError with what is wrong."""
    from .milvus_store import load_dense_index

    gen = IndexFolder(root).current()  # the live one itself, not a fallback
    assert gen is not None, "no live generation"
    check = check_generation(gen, checksums=True)
    assert check.ok, f"damaged: {check.problems}"
    manifest = read_manifest(gen)
    documents, chunks = read_docstore(gen)
    ids = [c.chunk_id for c in chunks]
    assert len(ids) == len(set(ids)), "duplicate chunks"
    assert len({d["source"] for d in documents}) == len(documents), "duplicate documents"
    assert {c.source for c in chunks} == {d["source"] for d in documents}, "chunks and documents disagree"
    assert sum(d["n_chunks"] for d in documents) == len(chunks), "chunk counts disagree"
    vectors = np.load(gen / "vectors.npy")
    assert vectors.shape[0] == len(chunks), "vectors and chunks disagree"
    assert load_dense_index(None, gen).size == len(chunks), "vector index and chunks disagree"
    assert read_keyword(gen).n_docs == len(chunks), "keyword index and chunks disagree"
    assert manifest["counts"]["chunks"] == len(chunks), "manifest counts disagree"
    return {"generation": gen.name, "documents": len(documents), "chunks": len(chunks)}
