"""Files an admin uploads (admin console, `POST /v1/ingest`): checked before they are kept, then saved atomically
under `corpus_dir/uploads`, where the next ingest picks them up."""
from __future__ import annotations

import re
from pathlib import Path

from ..errors import AssistantError


class UploadRejected(AssistantError):
    """`kind` names the reason (bad_name, bad_type, empty, too_big) for screens that word it in their own language."""

    exit_code = 1

    def __init__(self, kind: str, message: str, **details):
        super().__init__(message)
        self.kind, self.details = kind, details


def upload_dir(settings) -> Path:
    return Path(settings.corpus_dir) / "uploads"


def human_size(size: int) -> str:
    return f"{size / 2**20:.1f}MB" if size >= 2**20 else f"{max(1, round(size / 1024))}KB"


def check_upload(settings, name: str, size: int, suffixes) -> str:
    """The clean file name, or UploadRejected with a Korean message."""
    clean = Path(name.replace("\\", "/")).name
    if not clean or clean != name or clean.startswith(".") or re.search(r"[\x00-\x1f]", clean):
        raise UploadRejected("bad_name", f"{name}: 파일 이름을 쓸 수 없습니다.", name=name)
    suffix = Path(clean).suffix.lower()
    if suffix not in suffixes:
        listed = ", ".join(sorted(suffixes))
        raise UploadRejected("bad_type", f"{clean}: 지원하지 않는 파일 형식입니다 ({suffix or '-'}). 지원 형식: {listed}",
                             name=clean, suffix=suffix or "-", suffixes=listed)
    if size <= 0:
        raise UploadRejected("empty", f"{clean}: 빈 파일입니다.", name=clean)
    if size > settings.max_file_mb * 2**20:
        raise UploadRejected("too_big", f"{clean}: 파일이 너무 큽니다 ({human_size(size)}, 최대 {settings.max_file_mb}MB).",
                             name=clean, size=human_size(size), max_mb=settings.max_file_mb)
    return clean


def save_upload(settings, name: str, data: bytes) -> Path:
    """Writes an already checked upload under corpus_dir/uploads (atomically; a re-upload replaces the file)."""
    folder = upload_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / Path(name).name
    tmp = folder / f".{target.name}.part"
    tmp.write_bytes(data)
    tmp.replace(target)
    return target
