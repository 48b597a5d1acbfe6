"""Typed errors of the assistant. Each carries a Korean message that can be shown to the user as is."""
from __future__ import annotations


class AssistantError(Exception):
    """Base class: `str(exc)` is the Korean user message."""

    exit_code = 2


class ConfigError(AssistantError):
    pass


class ModelMissing(AssistantError):
    """Model weights are not installed. Nothing is downloaded; the message says which package to install."""


class IndexMissing(AssistantError):
    pass


class IndexMismatch(AssistantError):
    """The index on disk was built with another model, dimension or chunker: re-ingest."""


class IndexBusy(AssistantError):
    pass


class BadQuestion(AssistantError):
    exit_code = 1


class BackendUnavailable(AssistantError):
    pass


class IndexDamaged(AssistantError):
    """A file of the index differs from what was written (bit rot, truncation, a half-copied folder) or cannot be
    read: nothing is answered from it. The message names the file and the fix."""


class IndexFileDamaged(IndexDamaged):
    """One file of one generation could not be read although it passed the load checks (a generation written
    before checksums were recorded, or past the size checksummed on load): `generation` and `file` name it, `what`
    says why in Korean. The facade passes that generation over; nothing else is taken for damage."""

    def __init__(self, message: str, generation: str, file: str, what: str):
        super().__init__(message)
        self.generation, self.file, self.what = generation, file, what


class DiskFull(AssistantError):
    """Not enough free space for an ingest: checked before it starts and caught if the disk still fills mid-way
    (the partial generation and this run's cache rows are removed; the live generation is untouched)."""
