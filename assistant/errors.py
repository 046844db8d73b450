"""Errors the package raises on purpose. Every one derives from AssistantError."""

from __future__ import annotations


class AssistantError(Exception):
    """Base class of every error this package raises on purpose."""


class InvalidInputError(AssistantError, ValueError):
    """The caller passed something unusable (empty question, k <= 0, unknown source ...)."""


class ConfigError(AssistantError, ValueError):
    """A setting is missing or malformed."""


class CorpusError(AssistantError):
    """A document could not be loaded (unreadable, unsupported, too large ...)."""


class StoreError(AssistantError):
    """The index is missing, corrupt or locked."""


class StoreBusyError(StoreError):
    """Another process holds the write lock of the embedded store."""


class ModelUnavailableError(AssistantError):
    """A bundled model or an optional dependency could not be loaded."""


class PromptError(AssistantError):
    """A prompt template is missing or its variables do not match."""


class LLMError(AssistantError):
    """The configured LLM failed (timeout, connection, garbage reply)."""
