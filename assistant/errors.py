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


class DiskFull(AssistantError):
    """Not enough free space for an ingest: checked before it starts and caught if the disk still fills mid-way
    (the partial generation and this run's cache rows are removed; the live generation is untouched)."""
