"""Load a file for ingestion with limits (size now; a sandboxed child process later)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .config import Settings
from .ingestion import SourceDocument, load_file


def load_file_safely(
    path: Path, *, overrides: dict[str, Any] | None, settings: Settings
) -> SourceDocument:
    """Load one file within the configured limits; raises CorpusError with a reason."""
    return load_file(path, overrides=overrides, max_bytes=settings.max_file_mb * 1024 * 1024)
