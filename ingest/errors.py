"""Typed ingest errors. Each carries a Korean message that names the file, for the admin report."""
from __future__ import annotations


class IngestError(Exception):
    """A file that cannot be ingested. `user_message` is shown to admins as is."""

    reason = "문서를 읽을 수 없습니다"

    def __init__(self, source: str, detail: str = ""):
        self.source = source
        self.detail = detail
        msg = f"{source}: {self.reason}"
        if detail:
            msg += f" ({detail})"
        super().__init__(msg)

    @property
    def user_message(self) -> str:
        return str(self)


class UnsupportedFormat(IngestError):
    reason = "지원하지 않는 파일 형식입니다"


class EmptyDocument(IngestError):
    reason = "내용이 비어 있습니다"


class CorruptDocument(IngestError):
    reason = "파일이 손상되었거나 형식이 올바르지 않습니다"


class EncryptedDocument(IngestError):
    reason = "암호가 걸린 문서라 읽을 수 없습니다"


class NeedsOCR(IngestError):
    reason = "텍스트 층이 없는 스캔 문서입니다. OCR 처리 후 다시 올려 주세요"


class TooLarge(IngestError):
    reason = "파일이 허용 크기를 넘습니다"


class UnknownEncoding(IngestError):
    reason = "문자 인코딩을 알 수 없습니다 (UTF-8 또는 CP949/EUC-KR로 저장해 주세요)"
