"""Which learned models answer from an index folder: the packaged ones, or those `assistant tune` installed there.

    INDEX/tuned/<stamp>/ranker.json, memory.json (the labelled questions it reads), answerability.json,
                        report.json (what tune measured)
    INDEX/tuned/ACTIVE      the stamp in use (absent: the packaged models)
    INDEX/tuned/log.jsonl   every install and undo, with the stamps before and after

Nothing is deleted: `undo` makes the stamp that was active before the last install active again (or the packaged
models), and a later tune can always be compared with the earlier ones."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..answering.answerability import PACKAGED_MODEL
from ..answering.ranker import PACKAGED_RANKER
from ..errors import ConfigError
from .review import append_jsonl, read_jsonl

SHIPPED_RANKING = Path(__file__).with_name("shipped_ranking.json.gz")
SHIPPED_ANSWERABILITY = Path(__file__).with_name("shipped_answerability.json.gz")
MODEL_FILES = ("ranker.json", "answerability.json")


def tuned_dir(index_dir: Path) -> Path:
    return Path(index_dir) / "tuned"


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class ActiveModels:
    """The model files answers come from and where they came from ("packaged", a tune stamp, or settings)."""

    ranker: Path | None  # None: the hand-set rerank sum (ranker_model = "off")
    answerability: Path
    memory: Path | None  # the labelled questions the tuned ranker reads (none for the packaged one)
    origin: str

    def describe(self) -> dict:
        files = {"ranker": self.ranker, "memory": self.memory, "answerability": self.answerability}
        return {"origin": self.origin,
                **{name: ({"path": str(p), "sha256": sha256_of(p)} if p else None) for name, p in files.items()}}


def active_stamp(index_dir: Path) -> str | None:
    marker = tuned_dir(index_dir) / "ACTIVE"
    try:
        stamp = marker.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"학습 모델 표시 파일을 읽을 수 없습니다: {marker} ({exc})") from exc
    if not stamp:
        return None
    if not (tuned_dir(index_dir) / stamp).is_dir():
        raise ConfigError(f"학습 모델 {stamp}이(가) 색인 폴더에 없습니다: {tuned_dir(index_dir) / stamp}. "
                          "assistant tune --undo로 되돌리거나 다시 학습해 주세요.")
    return stamp


def active_models(settings) -> ActiveModels:
    """Settings that name a file win; else what `tune` installed in the index folder; else the packaged files."""
    stamp = active_stamp(settings.index_dir)
    folder = tuned_dir(settings.index_dir) / stamp if stamp else None
    if stamp:
        check_installed(settings.index_dir, stamp)
    tuned = lambda name: folder / name if folder and (folder / name).is_file() else None  # noqa: E731
    if settings.ranker_model == "off":
        ranker = None
    else:
        ranker = Path(settings.ranker_model) if settings.ranker_model else tuned("ranker.json") or PACKAGED_RANKER
    answerability = Path(settings.answerability_model) if settings.answerability_model else \
        tuned("answerability.json") or PACKAGED_MODEL
    # the memory goes with the ranker tune fitted on it, not with one the settings name
    memory = tuned("memory.json") if ranker is not None and ranker == tuned("ranker.json") else None
    origin = f"tune {stamp}" if stamp and (tuned("ranker.json") or tuned("answerability.json")) else "packaged"
    if settings.ranker_model or settings.answerability_model:
        origin += " (설정 파일이 지정한 모델 포함)"
    return ActiveModels(ranker, answerability, memory, origin)


def check_installed(index_dir: Path, stamp: str) -> None:
    """The files of an installed stamp are the ones tune wrote (their checksums are in the install record): a
    changed or damaged model file stops answers with its name rather than answering from it."""
    for name, digest in install_record(index_dir, stamp).get("sha256", {}).items():
        path = tuned_dir(index_dir) / stamp / name
        if not path.is_file() or sha256_of(path) != digest:
            raise ConfigError(f"학습 모델 파일이 설치 때와 다릅니다: {path}. assistant tune --undo로 되돌리거나 "
                              "다시 학습해 주세요.")


def log_action(index_dir: Path, record: dict) -> None:
    append_jsonl(tuned_dir(index_dir) / "log.jsonl", record)


def read_log(index_dir: Path) -> list[dict]:
    return read_jsonl(tuned_dir(index_dir) / "log.jsonl")


def install_record(index_dir: Path, stamp: str) -> dict:
    """The log line of the install that wrote `stamp` ({} when there is none)."""
    return next((r for r in reversed(read_log(index_dir)) if r.get("action") == "install" and r.get("to") == stamp),
                {})


def set_active(index_dir: Path, stamp: str | None) -> None:
    """Atomically: a reader sees the old stamp or the new one, never half a file."""
    marker = tuned_dir(index_dir) / "ACTIVE"
    tmp = marker.with_suffix(".tmp")
    tmp.write_text(stamp or "", encoding="utf-8")
    os.replace(tmp, marker)


def install(index_dir: Path, files: dict[str, dict], report: dict, by: str) -> dict:
    """Writes the new models into a new stamp folder and makes it active; returns {file: sha256}."""
    root = tuned_dir(index_dir)
    root.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.timezone.utc)
    stamp = now.strftime("%Y%m%dT%H%M%S%fZ")
    folder = root / stamp
    folder.mkdir()
    sums = {}
    for name, content in files.items():
        path = folder / name
        path.write_text(json.dumps(content, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        sums[name] = sha256_of(path)
    (folder / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    before = active_stamp(index_dir)
    set_active(index_dir, stamp)
    log_action(index_dir, {"at": now.isoformat(timespec="seconds"), "action": "install", "from": before,
                           "to": stamp, "by": by, "sha256": sums})
    return {"stamp": stamp, "sha256": sums, "previous": before}


def undo(index_dir: Path, by: str) -> dict:
    """Back to the models active before the last install that is still in effect."""
    current = active_stamp(index_dir)
    if current is None:
        raise ConfigError("되돌릴 학습 결과가 없습니다. 지금은 기본(패키지) 모델을 쓰고 있습니다.")
    previous = install_record(index_dir, current).get("from")
    set_active(index_dir, previous)
    log_action(index_dir, {"at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "action": "undo",
                           "from": current, "to": previous, "by": by})
    return {"from": current, "to": previous}
