"""Append-only, hash-chained audit log of answers, with personal data masked before anything reaches the disk.

    AUDIT/audit.jsonl   one canonical JSON object a line (sorted keys, no spaces, UTF-8)
    AUDIT/audit.head    {"seq", "hash"} of the last committed entry, replaced atomically after each append
    AUDIT/audit.lock    flock: one writer at a time (a separate file, because pruning replaces audit.jsonl)
    (head and lock are named after the log file, so a log at another path gets its own)

AUDIT is `settings.audit_dir`, or `<index_dir>/../audit` so that the log survives deleting an index.

Each entry: seq, time (UTC), mode, role, question, answer, citations (source, anchor), model, refused, prev_hash
and hash = sha256 of the canonical JSON of the entry without `hash`. `verify` recomputes every hash, requires
seq to run 1, 2, 3 … and each prev_hash to be the previous entry's hash, and requires every line to be exactly
the canonical encoding of what it parses to: so any edited byte, deleted, inserted or reordered entry breaks the
chain. Cutting entries off the end leaves a valid chain, which is why the head file exists: its seq and hash must
equal the last entry's. An entry counts as committed once the head names it.

What this does not do: there is no secret in the chain, so someone who can write to the folder can rebuild the
whole log and head consistently. To catch that, copy the head hash (`assistant audit verify` prints it) somewhere
the server cannot write (a signed daily report, a second machine); `verify(path, expect_hash=…)` then checks it.

Retention (`prune`): only a prefix of old entries can go. The remaining entries stay byte-for-byte as they were;
the file starts with a segment record {"type": "segment", "pruned_through": k, "anchor_hash": hash of entry k, …}
with its own hash, and verify starts the chain at seq k+1 with prev_hash = anchor_hash. Exports taken before the
pruning therefore still match, and the number and last hash of what was pruned stay on record.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from ..errors import AssistantError
from ..index.store import write_atomic
from .privacy import mask_pii

log = logging.getLogger(__name__)
GENESIS = "0" * 64
LOG_NAME, HEAD_NAME = "audit.jsonl", "audit.head"
ROLES_BY_MODE = {"staff": "staff", "kiosk": "citizen"}


class AuditError(AssistantError):
    """The audit log cannot be written safely; answering without a record would break the audit promise."""


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries: int
    problem: str | None = None
    last_seq: int = 0
    last_hash: str = GENESIS
    pruned_through: int = 0

    def to_json(self) -> dict:
        return {"ok": self.ok, "entries": self.entries, "problem": self.problem, "last_seq": self.last_seq,
                "last_hash": self.last_hash, "pruned_through": self.pruned_through}


def canonical(obj: dict) -> bytes:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def entry_hash(entry: dict) -> str:
    return hashlib.sha256(canonical({k: v for k, v in entry.items() if k != "hash"})).hexdigest()


def now_utc() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def audit_path(settings) -> Path:
    """The log file for these settings (`audit_dir` is read defensively: older settings lack it)."""
    folder = str(getattr(settings, "audit_dir", "") or "")
    return (Path(folder) if folder else Path(settings.index_dir).parent / "audit") / LOG_NAME


@contextlib.contextmanager
def _locked(path: Path, exclusive: bool) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _read_head(path: Path) -> dict | None:
    head = path.with_suffix(".head")
    if not head.is_file():
        return None
    try:
        data = json.loads(head.read_text(encoding="utf-8"))
        return {"seq": int(data["seq"]), "hash": str(data["hash"])}
    except (ValueError, KeyError, TypeError):
        return {"seq": -1, "hash": "?"}


def _write_head(path: Path, seq: int, digest: str) -> None:
    write_atomic(path.with_suffix(".head"), canonical({"seq": seq, "hash": digest}) + b"\n")


def _last_line(path: Path) -> tuple[bytes, bool]:
    """The last line of the log and whether it is complete (ends in a newline), reading only the tail."""
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        block, data = 4096, b""
        while size > 0:
            step = min(block, size)
            size -= step
            fh.seek(size)
            data = fh.read(step) + data
            if data.rstrip(b"\n").count(b"\n") >= 1 or size == 0:
                break
            block *= 2
    complete = data.endswith(b"\n")
    lines = data.rstrip(b"\n").split(b"\n") if data.strip() else [b""]
    return lines[-1], complete


def _tip(path: Path) -> tuple[int, str]:
    """(seq, hash) that the next entry chains onto, checked against the head before anything is appended."""
    head = _read_head(path)
    if not path.is_file() or path.stat().st_size == 0:
        if head and head["seq"] != 0:
            raise AuditError(f"감사 기록 파일이 비어 있는데 head에는 {head['seq']}번까지 기록되어 있습니다. "
                             "`assistant audit verify`로 확인해 주세요.")
        return 0, GENESIS
    line, complete = _last_line(path)
    if not complete:
        raise AuditError("감사 기록의 마지막 줄이 끝나지 않았습니다(쓰기 중 중단). `assistant audit verify`로 확인해 주세요.")
    try:
        last = json.loads(line)
        if last.get("type") == "segment":
            seq, digest = int(last["pruned_through"]), last["anchor_hash"]
        else:
            seq, digest = int(last["seq"]), last["hash"]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise AuditError("감사 기록의 마지막 줄을 읽을 수 없습니다. `assistant audit verify`로 확인해 주세요.") from exc
    if head == {"seq": seq, "hash": digest}:
        return seq, digest
    if head and head["seq"] == seq - 1 and last.get("prev_hash") == head["hash"] and entry_hash(last) == digest:
        # the previous append wrote its line but stopped before the head: the entry is intact, commit it now
        log.warning("audit.head_rolled_forward", extra={"seq": seq})
        _write_head(path, seq, digest)
        return seq, digest
    raise AuditError("감사 기록과 head 파일이 맞지 않습니다(기록이 지워지거나 바뀌었을 수 있습니다). "
                     "`assistant audit verify`로 확인하기 전에는 새 기록을 남기지 않습니다.")


def repair(path: Path) -> dict:
    """After a crash mid-append: move an unfinished last line (never committed in the head) aside, so that answering
    can go on. Repairs nothing else: whatever remains must verify against the head, or it is left untouched."""
    path = Path(path)
    with _locked(path, exclusive=True):
        if not path.is_file():
            return {"repaired": False, "problem": None}
        data = path.read_bytes()
        cut = data.rfind(b"\n") + 1
        if cut == len(data):
            result = _verify(path, None)
            return {"repaired": False, "problem": result.problem}
        kept, torn = data[:cut], data[cut:]
        staging = path.with_suffix(".repair")  # same stem: verified against the same .head file
        staging.write_bytes(kept)
        result = _verify(staging, None)
        if not result.ok:
            staging.unlink()
            raise AuditError("마지막 줄 말고도 감사 기록이 head와 맞지 않아 자동으로 고칠 수 없습니다: "
                             f"{result.problem} 관리자가 직접 확인해야 합니다.")
        aside = path.with_name(f"{path.name}.torn-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}")
        aside.write_bytes(torn)
        os.replace(staging, path)
    log.warning("audit.repaired", extra={"torn_bytes": len(torn), "kept_to": str(aside)})
    return {"repaired": True, "torn_bytes": len(torn), "moved_to": str(aside), "last_seq": result.last_seq}


def append(path: Path, record: dict) -> dict:
    """Masks `record`'s question and answer, chains it, appends it and commits it in the head. Returns the entry."""
    path = Path(path)
    with _locked(path, exclusive=True):
        seq, prev = _tip(path)
        entry = {"seq": seq + 1, "time": record.get("time") or now_utc(), "mode": record.get("mode"),
                 "role": record.get("role"), "question": mask_pii(record.get("question") or ""),
                 "answer": mask_pii(record.get("answer") or ""),
                 "citations": [{"source": c["source"], "anchor": c["anchor"]} for c in record.get("citations", [])],
                 "model": record.get("model"), "refused": bool(record.get("refused")), "prev_hash": prev}
        if record.get("context"):  # what a conversation carried into this turn (already masked when kept)
            entry["context"] = record["context"]
        if record.get("event"):  # not an answer: e.g. a failed admin login
            entry["event"] = record["event"]
        entry["hash"] = entry_hash(entry)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, canonical(entry) + b"\n")  # one write: readers never see half an entry
            os.fsync(fd)
        finally:
            os.close(fd)
        _write_head(path, entry["seq"], entry["hash"])
    return entry


def _entries(path: Path) -> Iterator[tuple[int, bytes]]:
    with open(path, "rb") as fh:
        for number, line in enumerate(fh, 1):
            yield number, line


def _verify(path: Path, expect_hash: str | None) -> VerifyResult:
    count, seq, prev, pruned = 0, 0, GENESIS, 0

    def fail(problem: str) -> VerifyResult:
        return VerifyResult(False, count, problem, seq, prev, pruned)

    if path.is_file():
        for number, raw in _entries(path):
            if not raw.endswith(b"\n"):
                return fail(f"{number}번째 줄이 끝나지 않았습니다(잘렸거나 쓰기 중 중단).")
            try:
                entry = json.loads(raw.decode("utf-8"))  # strict: json.loads(bytes) would let broken UTF-8 through
                same = isinstance(entry, dict) and canonical(entry) + b"\n" == raw
            except ValueError:  # also UnicodeError
                return fail(f"{number}번째 줄을 JSON으로 읽을 수 없습니다(내용이 바뀌었습니다).")
            if not same:
                return fail(f"{number}번째 줄의 형식이 기록 당시와 다릅니다(내용이 바뀌었습니다).")
            if entry.get("hash") != entry_hash(entry):
                return fail(f"{number}번째 줄의 해시가 내용과 맞지 않습니다(내용이 바뀌었습니다).")
            if entry.get("type") == "segment":
                if number != 1:
                    return fail(f"{number}번째 줄: 보존기간 정리 기록은 파일 맨 앞에만 올 수 있습니다.")
                seq, prev, pruned = int(entry["pruned_through"]), entry["anchor_hash"], int(entry["pruned_through"])
                continue
            if entry.get("seq") != seq + 1:
                return fail(f"{number}번째 줄: 순번이 {seq + 1}이어야 하는데 {entry.get('seq')}입니다"
                            "(기록이 지워졌거나 끼워 넣어졌거나 순서가 바뀌었습니다).")
            if entry.get("prev_hash") != prev:
                return fail(f"{number}번째 줄(순번 {seq + 1}): 앞 기록의 해시와 연결되지 않습니다.")
            count, seq, prev = count + 1, entry["seq"], entry["hash"]
    head = _read_head(path)
    if head is None:
        if seq or pruned:
            return fail("head 파일(audit.head)이 없습니다: 마지막 기록이 잘려 나갔는지 확인할 수 없습니다.")
    elif head != {"seq": seq, "hash": prev}:
        if head["seq"] > seq:
            return fail(f"마지막 기록이 잘려 나갔습니다: head에는 {head['seq']}번까지 있는데 파일에는 {seq}번까지만 있습니다.")
        return fail(f"head 파일(순번 {head['seq']})이 마지막 기록(순번 {seq})과 맞지 않습니다.")
    if expect_hash and expect_hash != prev and not _chain_contains(path, expect_hash):
        return fail(f"따로 보관한 해시 {expect_hash[:12]}…가 기록에 없습니다(기록 전체가 다시 쓰였을 수 있습니다).")
    return VerifyResult(True, count, None, seq, prev, pruned)


def _chain_contains(path: Path, digest: str) -> bool:
    needle = f'"hash":"{digest}"'.encode()
    return path.is_file() and any(needle in raw for _, raw in _entries(path))


def verify(path: Path, expect_hash: str | None = None) -> VerifyResult:
    """Checks the whole chain and the head. `expect_hash`: a hash recorded outside the server earlier."""
    path = Path(path)
    with _locked(path, exclusive=False):
        return _verify(path, expect_hash)


def export(path: Path, since: date | None = None) -> list[dict]:
    """Entries (masked, as stored, hashes included) whose UTC date is on or after `since`."""
    path = Path(path)
    if not path.is_file():
        return []
    with _locked(path, exclusive=False):
        rows = [json.loads(raw) for _, raw in _entries(path) if raw.strip()]
    rows = [r for r in rows if r.get("type") != "segment"]
    return [r for r in rows if since is None or str(r.get("time", ""))[:10] >= since.isoformat()]


def prune(path: Path, keep_days: int, now: datetime | None = None) -> int:
    """Drops the oldest entries (a prefix) older than `keep_days`; returns how many went. See the module notes."""
    path = Path(path)
    if keep_days <= 0 or not path.is_file():
        return 0
    cutoff = ((now or datetime.now(timezone.utc)) - timedelta(days=keep_days)).isoformat(timespec="milliseconds")
    cutoff = cutoff.replace("+00:00", "Z")
    with _locked(path, exclusive=True):
        check = _verify(path, None)
        if not check.ok:
            raise AuditError(f"감사 기록이 온전하지 않아 보존기간 정리를 하지 않습니다: {check.problem}")
        lines = [raw for _, raw in _entries(path)]
        body = lines[1:] if lines and json.loads(lines[0]).get("type") == "segment" else lines
        old = 0
        for raw in body:
            if json.loads(raw)["time"] >= cutoff:
                break
            old += 1
        if not old:
            return 0
        last_old = json.loads(body[old - 1])
        segment = {"type": "segment", "time": now_utc(), "pruned_through": last_old["seq"],
                   "anchor_hash": last_old["hash"], "keep_days": keep_days}
        segment["hash"] = entry_hash(segment)
        write_atomic(path, canonical(segment) + b"\n" + b"".join(body[old:]))
        log.info("audit.pruned", extra={"pruned": old, "through_seq": last_old["seq"]})
        return old


# --- facade helpers: plain functions taking the Assistant, so facade.py stays small ------------------------------

def enabled(settings) -> bool:
    return bool(getattr(settings, "audit_enabled", True))


def record(assistant, answer, mode: str, role: str | None = None) -> dict | None:
    """Writes one finished Answer to the audit log of `assistant.settings` (masked); None when auditing is off."""
    settings = assistant.settings
    if not enabled(settings):
        return None
    path = audit_path(settings)
    try:
        entry = append(path, {"mode": mode, "role": role or ROLES_BY_MODE.get(mode, mode), "question": answer.question,
                              "answer": answer.answer, "model": answer.model, "refused": answer.refused,
                              "citations": [{"source": c.source, "anchor": c.anchor} for c in answer.citations],
                              **({"context": answer.context} if getattr(answer, "context", None) else {})})
    except OSError as exc:
        raise AuditError(f"감사 기록을 쓸 수 없습니다({path}): {exc.strerror or exc}. 관리자에게 알려 주세요.") from exc
    days = int(getattr(settings, "audit_retention_days", 0) or 0)
    if days and entry["seq"] % 100 == 0:  # retention needs a full read: do it now and then, not on every answer
        try:
            prune(path, days)
        except AuditError as exc:  # the answer is already recorded; a broken chain is for `audit verify` to report
            log.error("audit.prune_failed", extra={"reason": str(exc)})
    return entry


def record_event(assistant, event: str, **details) -> dict | None:
    """Writes an event that is not an answer (a failed admin login …) to the audit log; None when auditing is off."""
    if not enabled(assistant.settings):
        return None
    detail = ", ".join(f"{k}={v}" for k, v in details.items())
    return append(audit_path(assistant.settings), {"mode": "admin", "role": "admin", "event": event,
                                                   "question": "", "answer": detail, "refused": True})


class AuditedStream:
    """Wraps an AnswerStream: streams the same pieces, then records the finished answer before iteration ends."""

    def __init__(self, assistant, stream, mode: str, role: str | None = None):
        self._assistant, self._stream, self._mode, self._role = assistant, stream, mode, role

    def __iter__(self) -> Iterator[str]:
        yield from self._stream
        record(self._assistant, self._stream.result, self._mode, self._role)

    def __getattr__(self, name: str):  # result, hits, question … come from the wrapped stream
        return getattr(self._stream, name)


def audited(assistant, stream, mode: str, role: str | None = None):
    """What `Assistant.ask_stream` returns: the stream itself when auditing is off."""
    return AuditedStream(assistant, stream, mode, role) if enabled(assistant.settings) else stream
