"""Is a generation still what was written? The manifest (written last, atomically) records every file's size and
a fast checksum, and a digest of itself. Loading checks what it can afford every time and serves the newest intact
generation; `assistant index verify` checks everything.

    every load      manifest parses and matches its own digest; each recorded file is there with its size;
                    headers: SQLite magic and page count, .npy shape, FAISS dimension and ntotal, zip end record
    load            + the checksum of every file, while the generation is at most LOAD_CHECKSUM_BYTES
    index verify    + the checksum of every file whatever the size, and of every kept generation

A damaged live generation is never answered from: the newest older one that checks out is served instead (and the
reason is shown on the admin page, in `info`, `/readyz` and the log), or, with none, a Korean error names the file
and the fix. docs/PERFORMANCE.md has what the checks cost at 10k and 1M chunks.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import stat
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import IndexDamaged, IndexFileDamaged, IndexMissing

log = logging.getLogger(__name__)
MANIFEST = "manifest.json"
SELF_DIGEST = "manifest_sha256"
# Checksums on every load up to this size of generation (by algorithm). Measured at 1M chunks (4.6 GB, HNSW): xxh3
# 0.8 s warm / 4.3 s cold against a 15.9 s load; BLAKE2 8.3 s. Past it only `index verify` reads every byte.
LOAD_CHECKSUM_BYTES = {"xxh3_64": 8 * 2**30, "blake2b-128": 2 * 2**30}
SQLITE_MAGIC = b"SQLite format 3\x00"


def default_algorithm() -> str:
    try:
        import xxhash  # noqa: F401
    except ImportError:
        return "blake2b-128"
    return "xxh3_64"


def _hasher(algorithm: str):
    """None when this installation cannot compute `algorithm` (xxh3 sealed where xxhash was installed, or a name
    this version does not know): check_generation reports that as a problem, never as a pass."""
    if algorithm == "xxh3_64":
        try:
            import xxhash
        except ImportError:
            return None
        return xxhash.xxh3_64()
    if algorithm == "blake2b-128":
        return hashlib.blake2b(digest_size=16)
    return None


def checksum(path: Path, algorithm: str) -> str:
    h = _hasher(algorithm)
    if h is None:
        raise ValueError(f"checksum algorithm {algorithm!r} is not available here")  # callers check first
    buf = bytearray(8 << 20)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as fh:
        while n := fh.readinto(buf):
            h.update(view[:n])
    return h.hexdigest()


def _recorded(gen: Path) -> list[Path]:
    # top-level files only: hidden names are temporary files of write_atomic
    return sorted(p for p in gen.iterdir() if p.is_file() and p.name != MANIFEST and not p.name.startswith("."))


def seal(manifest: dict, gen: Path) -> dict:
    """The manifest with every file's size and checksum and a digest of itself: call after all files are written."""
    algorithm = default_algorithm()
    files = {p.name: {"size": p.stat().st_size, "checksum": checksum(p, algorithm)} for p in _recorded(gen)}
    sealed = {k: v for k, v in manifest.items() if k != SELF_DIGEST} | {"integrity": {"algorithm": algorithm,
                                                                                     "files": files}}
    return sealed | {SELF_DIGEST: manifest_digest(sealed)}


def manifest_digest(manifest: dict) -> str:
    body = {k: v for k, v in manifest.items() if k != SELF_DIGEST}
    return hashlib.sha256(json.dumps(body, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Problem:
    file: str  # the file's name inside the generation
    what: str  # Korean, for the admin

    def __str__(self) -> str:
        return f"{self.file}: {self.what}"


@dataclass(frozen=True)
class GenerationCheck:
    generation: str
    problems: tuple[Problem, ...] = ()
    checksums: bool = False  # whether every recorded checksum was compared
    sealed: bool = True  # False for generations written before checksums were recorded
    bytes: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict:
        return {"generation": self.generation, "ok": self.ok, "checksums": self.checksums, "sealed": self.sealed,
                "bytes": self.bytes, "seconds": round(self.seconds, 4),
                "problems": [{"file": p.file, "problem": p.what} for p in self.problems]}


def read_manifest_checked(gen: Path) -> tuple[dict | None, Problem | None]:
    path = gen / MANIFEST
    try:
        manifest = json.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        return None, Problem(MANIFEST, "파일이 없습니다")
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return None, Problem(MANIFEST, f"읽을 수 없습니다 ({type(exc).__name__})")
    if not isinstance(manifest, dict):
        return None, Problem(MANIFEST, "형식이 올바르지 않습니다")
    if SELF_DIGEST in manifest and manifest[SELF_DIGEST] != manifest_digest(manifest):
        return None, Problem(MANIFEST, "내용이 기록된 요약값과 다릅니다 (손상)")
    return manifest, None


def check_generation(gen: Path, checksums: bool | None = None) -> GenerationCheck:
    """Sizes and headers always; checksums when asked, or (None) when the generation is small enough to afford."""
    started = time.perf_counter()
    manifest, problem = read_manifest_checked(gen)
    if problem:
        return GenerationCheck(gen.name, (problem,), seconds=time.perf_counter() - started)
    integrity = manifest.get("integrity") or {}
    recorded: dict = integrity.get("files") or {}
    counts = manifest.get("counts") or {}
    expect = {"chunks": counts.get("chunks"), "dim": (manifest.get("embedding") or {}).get("dim")}
    problems: list[Problem] = []
    algorithm = integrity.get("algorithm", "")
    if recorded and _hasher(algorithm) is None:  # unverifiable is not intact
        need = " (xxhash 패키지가 필요합니다)" if algorithm == "xxh3_64" else ""
        problems.append(Problem(MANIFEST, f"기록된 체크섬 방식 {algorithm!r}을 이 설치에서 계산할 수 없습니다{need}"))
    sizes = 0
    names = list(recorded) or [p.name for p in _recorded(gen)]  # an unsealed (older) generation: what is there
    for name in names:
        path = gen / name
        try:
            size = path.stat().st_size
        except OSError:
            problems.append(Problem(name, "파일이 없습니다"))
            continue
        sizes += size
        want = recorded.get(name, {}).get("size")
        if want is not None and size != want:
            problems.append(Problem(name, f"크기가 {size:,}바이트로, 기록된 {want:,}바이트와 다릅니다"))
            continue
        what = check_header(path, size, expect)
        if what:
            problems.append(Problem(name, what))
    if recorded and checksums is None:
        checksums = sizes <= LOAD_CHECKSUM_BYTES.get(algorithm, 0)
    compared = bool(recorded and checksums and not problems)
    if compared:
        for name, spec in recorded.items():
            if checksum(gen / name, algorithm) != spec.get("checksum"):
                problems.append(Problem(name, "체크섬이 기록과 다릅니다 (내용 손상)"))
    return GenerationCheck(gen.name, tuple(problems), compared, bool(recorded), sizes, time.perf_counter() - started)


def check_header(path: Path, size: int, expect: dict) -> str | None:
    """What the first and last bytes of a known file say, compared with the manifest (a few hundred bytes read)."""
    name = path.name
    try:
        with open(path, "rb") as fh:
            head = fh.read(128)
            fh.seek(max(0, size - 65536))
            tail = fh.read()
    except OSError as exc:
        return f"읽을 수 없습니다 ({exc.strerror or exc})"
    if name.endswith(".sqlite"):
        if not head.startswith(SQLITE_MAGIC) or len(head) < 100:
            return "SQLite 머리글이 올바르지 않습니다"
        page = struct.unpack(">H", head[16:18])[0]
        page = 65536 if page == 1 else page
        pages, counter, valid_for = struct.unpack(">I", head[28:32])[0], head[24:28], head[92:96]
        if page < 512 or page & (page - 1) or size % page:
            return "SQLite 파일 크기가 페이지 크기와 맞지 않습니다 (잘림)"
        if counter == valid_for and pages and pages * page != size:
            return f"SQLite 파일이 {pages:,}쪽이어야 하는데 {size // page:,}쪽입니다 (잘림)"
    elif name.endswith(".npy"):
        return _npy_problem(path, size, expect)
    elif name.endswith(".faiss"):
        if len(head) < 16:
            return "FAISS 머리글이 잘렸습니다"
        dim, ntotal = struct.unpack("<i", head[4:8])[0], struct.unpack("<q", head[8:16])[0]
        if expect["dim"] is not None and dim != expect["dim"]:
            return f"FAISS 차원 {dim}이 기록된 {expect['dim']}과 다릅니다"
        if expect["chunks"] is not None and ntotal != expect["chunks"]:
            return f"FAISS 벡터 수 {ntotal:,}가 기록된 청크 수 {expect['chunks']:,}와 다릅니다"
    elif name.endswith(".npz"):
        if not head.startswith(b"PK\x03\x04") or b"PK\x05\x06" not in tail[-(22 + 65535):]:
            return "압축(npz) 파일의 시작이나 끝이 없습니다 (잘림)"
    elif name.endswith(".json"):
        first, last = head.lstrip()[:1], tail.rstrip()[-1:]
        if first not in (b"{", b"[") or last not in (b"}", b"]"):
            return "JSON 파일의 시작이나 끝이 없습니다 (잘림)"
    return None


def _npy_problem(path: Path, size: int, expect: dict) -> str | None:
    import numpy as np

    try:
        with open(path, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            read = getattr(np.lib.format, f"read_array_header_{version[0]}_0", None)
            if read is None:
                return f"numpy 형식 버전 {version}을 알 수 없습니다"
            shape, _, dtype = read(fh)
            offset = fh.tell()
    except (ValueError, OSError, SyntaxError, TypeError) as exc:
        return f"numpy 머리글을 읽을 수 없습니다 ({type(exc).__name__})"
    if len(shape) != 2 or offset + shape[0] * shape[1] * dtype.itemsize != size:
        return f"벡터 파일의 크기가 머리글({shape})과 맞지 않습니다 (잘림)"
    if expect["chunks"] is not None and shape[0] != expect["chunks"]:
        return f"벡터 수 {shape[0]:,}가 기록된 청크 수 {expect['chunks']:,}와 다릅니다"
    if expect["dim"] is not None and shape[1] != expect["dim"]:
        return f"벡터 차원 {shape[1]}이 기록된 {expect['dim']}과 다릅니다"
    return None


# ---------------------------------------------------------------- which generation is served

@dataclass(frozen=True)
class Served:
    generation: Path
    live: str | None  # what CURRENT names (None when CURRENT itself is unreadable)
    problem: str | None = None  # Korean: why the live generation is not the one served; None when it is
    check: GenerationCheck = field(default=None, compare=False)

    @property
    def degraded(self) -> bool:
        return self.problem is not None


_CHECKED: dict[tuple, GenerationCheck] = {}  # one process checks each unchanged generation once
_WARNED: set[tuple] = set()


def _stat_key(gen: Path) -> tuple:
    """What `checked` takes for "unchanged": every file's name, size, mtime, inode and ctime. A write through the
    filesystem sets ctime (which `cp -p`, `rsync -t` or `os.utime` cannot set back, though they keep size and
    mtime), and a replaced file has a new inode. Not seen: a change that keeps all five — an in-place write with
    ctime preserved needs privileges (setting the clock, writing the block device) — and bit rot under a running
    process; `assistant index verify` reads every byte for those. `prune` picks what to keep through it too."""
    try:
        files = [(p.name, p.stat()) for p in sorted(gen.iterdir())]
    except OSError:
        return (str(gen), "unreadable")
    return (str(gen.resolve()),) + tuple((name, st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)
                                        for name, st in files if stat.S_ISREG(st.st_mode))


def checked(gen: Path) -> GenerationCheck:
    key = _stat_key(gen)
    if key not in _CHECKED:
        if len(_CHECKED) > 256:
            _CHECKED.clear()
        _CHECKED[key] = check_generation(gen)
    return _CHECKED[key]


def forget(gen: Path, problem: Problem) -> None:
    """A generation that passed the checks but failed to load (an unsealed one): never served again here."""
    _CHECKED[_stat_key(gen)] = GenerationCheck(gen.name, (problem,))


@contextlib.contextmanager
def reading(gen: Path, file: str, errors: tuple[type[BaseException], ...]):
    """Around the read of one file of a generation: `errors` (what that reader raises on a bad file) become
    IndexFileDamaged naming it; anything else is not damage and passes through."""
    try:
        yield
    except errors as exc:
        log.debug("index.read_failed", exc_info=True)  # the traceback, for `--verbose`
        what = f"읽는 중 오류가 났습니다 ({type(exc).__name__}: {str(exc)[:200]})"
        raise IndexFileDamaged(f"색인 세대 {gen.name}의 {file}: {what}. {fix_hint(gen.parent)}",
                               gen.name, file, what) from exc


def live_name(root: Path) -> str | None:
    try:
        name = (Path(root) / "CURRENT").read_bytes().decode("utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return name if name.startswith("gen-") and "/" not in name else None


def generations(root: Path) -> list[Path]:
    """Finished generations, newest first (their names are creation times)."""
    return sorted((p for p in Path(root).glob("gen-*") if p.is_dir()), key=lambda p: p.name, reverse=True)


def missing(root: Path) -> IndexMissing:
    return IndexMissing(f"색인이 없습니다: {root}. 먼저 `assistant ingest --index {root}`를 실행해 주세요.")


def fix_hint(root: Path) -> str:
    return (f"`assistant ingest --rebuild --index {root}`로 원본 문서에서 색인을 다시 만들어 주세요 "
            f"(임베딩 캐시가 온전하면 다시 임베딩하지 않습니다).")


def serve(root: Path) -> Served:
    """The live generation when it checks out, else the newest older one that does; IndexDamaged when none.
    Without CURRENT but with generations (it was deleted, or a first ingest died between rename and switch) the
    newest intact one is served: an ingest builds on it instead of starting from nothing."""
    root = Path(root)
    name, gens = live_name(root), generations(root)
    marker = root / "CURRENT"
    if name is None and not marker.exists() and not gens:
        raise missing(root)
    live = root / name if name else None
    if live is not None and live.is_dir():
        check = checked(live)
        if check.ok:
            return Served(live, name, None, check)
        problem = f"현재 세대 {name}의 {check.problems[0]}"
    elif not marker.exists():
        problem = "CURRENT 파일이 없습니다"
    else:
        problem = f"CURRENT 파일이 가리키는 세대({name or '읽을 수 없음'})가 없습니다"
    older = [g for g in gens if live is None or g.name < live.name]
    for gen in older:
        check = checked(gen)
        if check.ok:
            reason = (f"{problem}. 이전 세대 {gen.name}로 답하고 있습니다. `assistant index verify`로 확인하고 "
                      f"{fix_hint(root)}")
            if (str(root), name, gen.name) not in _WARNED:
                _WARNED.add((str(root), name, gen.name))
                log.warning("index.degraded", extra={"index": str(root), "live": name, "served": gen.name,
                                                     "problem": problem})
            return Served(gen, name, reason, check)
    log.error("index.damaged", extra={"index": str(root), "live": name, "problem": problem})
    raise IndexDamaged(f"색인이 손상되어 답할 수 없습니다: {problem}. 온전한 이전 세대도 없습니다. {fix_hint(root)}")


def health(root: Path) -> dict:
    """For the admin page, `info --json` and /readyz: ok · degraded (an older generation served, and why) ·
    damaged · missing."""
    try:
        served = serve(root)
    except IndexMissing as exc:
        return {"status": "missing", "live_generation": None, "served_generation": None, "reason": str(exc)}
    except IndexDamaged as exc:
        return {"status": "damaged", "live_generation": live_name(root), "served_generation": None,
                "reason": str(exc)}
    return {"status": "degraded" if served.degraded else "ok", "live_generation": served.live,
            "served_generation": served.generation.name, "reason": served.problem,
            "checksums_verified": served.check.checksums if served.check else False}


def verify(root: Path) -> dict:
    """`assistant index verify`: every kept generation, every byte; plus the embedding cache's own check."""
    root = Path(root)
    name = live_name(root)
    gens = generations(root)
    if name is None and not gens:
        raise missing(root)
    results = [check_generation(g, checksums=True) for g in gens]
    out = {"index": str(root), "live": name, "generations": [r.to_json() | {"live": r.generation == name}
                                                            for r in results]}
    if name and not (root / name).is_dir():
        out["problems"] = [f"CURRENT: 가리키는 세대 {name}가 없습니다"]
    out["cache"] = cache_check(root / "cache.sqlite")
    live_ok = any(r.ok and r.generation == name for r in results)
    out["ok"] = live_ok and all(r.ok for r in results) and out["cache"]["ok"] and not out.get("problems")
    return out


def cache_check(path: Path) -> dict:
    """The embedding cache: SQLite's own page check (its rows carry no checksums; a damaged cache is set aside by
    `ingest --rebuild` and the text embedded afresh)."""
    import sqlite3

    if not path.exists():
        return {"file": path.name, "ok": True, "present": False}
    started = time.perf_counter()
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = db.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error as exc:
        result = str(exc)
    ok = result == "ok"
    return {"file": path.name, "ok": ok, "present": True, "seconds": round(time.perf_counter() - started, 4),
            **({} if ok else {"problem": f"SQLite 검사 실패: {result}"})}
