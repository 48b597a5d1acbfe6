"""Free space for an ingest: estimated from the documents before anything is written, and a disk that fills
anyway turned into an ordinary, Korean error (the indexer then removes what the run wrote)."""
from __future__ import annotations

import errno
import os
import shutil
import sqlite3
from pathlib import Path

from ingest import Chunk

from ..errors import DiskFull

# Test hook, like ASSISTANT_CRASH_AT: skip the estimate so that a small filesystem really fills mid-way.
SKIP_ENV = "ASSISTANT_SKIP_SPACE_CHECK"
FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}


def mb(n: float) -> str:
    return f"{n / 2**20:,.1f} MB"


def folder_bytes(path: Path | None) -> int:
    if path is None or not path.is_dir():
        return 0
    return sum(p.stat().st_size for p in path.iterdir() if p.is_file())


def estimate(chunks: list[Chunk], new_chunks: int, dim: int, base: Path | None, base_chunks: int) -> int:
    """Bytes this ingest will add before the old generation can be pruned: the new generation (vectors twice:
    vectors.npy and the FAISS file; the text in the docstore and the keyword postings) and the cache rows of the
    text not embedded before (in the run's own file, then merged through the write-ahead log into the cache: three
    times). Where a generation exists its measured bytes per chunk are used when larger. A tenth more, and 1 MB."""
    text = sum(len(c.text.encode()) + len(c.embed_text.encode()) for c in chunks)
    generation = len(chunks) * (2 * dim * 4 + 512) + 2 * text
    if base_chunks:
        generation = max(generation, folder_bytes(base) * len(chunks) // base_chunks)
    per_new = dim * 4 + 256 + (text // max(len(chunks), 1))
    cache = 3 * new_chunks * per_new
    return int((generation + cache) * 1.1) + 2**20


def check_free(root: Path, needed: int) -> None:
    if os.environ.get(SKIP_ENV) == "1":
        return
    free = shutil.disk_usage(root).free
    if needed > free:
        raise DiskFull(f"디스크 공간이 부족해 색인을 시작하지 않았습니다 ({root}): 이번 색인에 약 {mb(needed)}가 "
                       f"필요한데 {mb(free)}만 남아 있습니다. {mb(needed - free)} 이상을 확보한 뒤 다시 실행해 "
                       f"주세요. 현재 색인은 바뀌지 않았습니다.")


def is_disk_full(exc: BaseException | None, root: Path | None = None) -> bool:
    """ENOSPC/EDQUOT from the OS, SQLite's "database or disk is full", FAISS's failed write ("No space left"), a
    short write (numpy: "49536 requested and 26592 written", no errno) — or any of these as the cause of another
    error. SQLite reports a shared-memory file that cannot grow only as "disk I/O error": with `root`, that counts
    while less than 1 MB is free there. Any other error is not a full disk, whatever the free space."""
    if root is not None and isinstance(exc, sqlite3.OperationalError) and "disk I/O error" in str(exc):
        try:
            if shutil.disk_usage(root).free < 2**20:
                return True
        except OSError:  # free space unknown: the I/O error is reported as itself
            pass
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, OSError) and exc.errno in FULL_ERRNOS:
            return True
        if isinstance(exc, sqlite3.OperationalError) and "full" in str(exc):
            return True
        text = str(exc)
        if "No space left" in text or "Disk quota" in text or ("requested and" in text and "written" in text):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def disk_full(root: Path, exc: BaseException, live: str | None, stage: str) -> DiskFull:
    kept = f"현재 색인({live})은 그대로 답합니다" if live else "이전 색인이 없어 답할 색인은 아직 없습니다"
    return DiskFull(f"색인하는 중에 디스크가 가득 찼습니다 ({root}; {stage}, {type(exc).__name__}). 쓰다 만 세대와 이번에 "
                    f"추가한 캐시 항목을 지웠고, {kept}. 남은 공간 {mb(shutil.disk_usage(root).free)}; 공간을 "
                    f"확보한 뒤 다시 실행해 주세요.")
