"""Policy guidance assistant: cited countermeasures for higher vocational colleges.

Public API (stable, see DESIGN.md): retrieve(), ask(), ingest(), as_retriever().
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import Settings
from .errors import (
    AssistantError,
    ConfigError,
    CorpusError,
    InvalidInputError,
    LLMError,
    ModelUnavailableError,
    PromptError,
    StoreBusyError,
    StoreError,
)
from .types import Answer, IngestReport, Kind, Passage, SkippedFile

if TYPE_CHECKING:
    from .pipeline import Assistant

__all__ = [
    "Answer",
    "AssistantError",
    "ConfigError",
    "CorpusError",
    "IngestReport",
    "InvalidInputError",
    "Kind",
    "LLMError",
    "ModelUnavailableError",
    "Passage",
    "PromptError",
    "Settings",
    "SkippedFile",
    "StoreBusyError",
    "StoreError",
    "as_retriever",
    "ask",
    "ask_stream",
    "get_assistant",
    "ingest",
    "reset",
    "retrieve",
]

_default: Assistant | None = None
_default_lock = threading.Lock()


def get_assistant(settings: Settings | None = None) -> Assistant:
    """The process-wide Assistant (built on first use from the environment or `settings`)."""
    global _default
    from .pipeline import Assistant

    with _default_lock:
        if settings is not None:
            _default = Assistant.from_settings(settings)
        elif _default is None:
            _default = Assistant.from_settings()
        return _default


def reset() -> None:
    """Forget the process-wide Assistant (the next call re-reads the environment)."""
    global _default
    with _default_lock:
        _default = None


def retrieve(
    question: str,
    k: int = 5,
    sources: Sequence[str] | None = None,
    *,
    kinds: Sequence[str] | None = None,
) -> list[Passage]:
    """Find the passages that best answer a question.

    Args:
        question: the question, in English or Chinese.
        k: how many passages (1-100).
        sources: optional doc_ids to restrict the search to.
        kinds: optional kinds to restrict to ("paper", "policy", "own").

    Returns:
        Passages, best first (score: higher is better).

    Raises:
        InvalidInputError: empty or over-long question, k out of range, unknown source or kind.
    """
    return get_assistant().retrieve(question, k=k, sources=sources, kinds=kinds)


def ask(
    question: str,
    history: Sequence[Any] | None = None,
    *,
    sources: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
) -> Answer:
    """Answer with numbered countermeasures citing [n] -> answer.citations[n-1].

    Args:
        question: the question, in English or Chinese.
        history: earlier turns, as (user, assistant) pairs or {"role", "content"} dicts.
        sources: optional doc_ids to restrict to.
        kinds: optional kinds to restrict to.

    Returns:
        An Answer; grounded=False (and a plain "not covered" text) when the corpus lacks support.

    Raises:
        InvalidInputError: bad question or filters.
    """
    return get_assistant().ask(question, history, sources=sources, kinds=kinds)


def ask_stream(
    question: str,
    history: Sequence[Any] | None = None,
    *,
    sources: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
) -> Iterator[str | Answer]:
    """Like ask(), streamed: yields the text so far while an LLM writes, then the final Answer.

    Without an LLM it yields just the Answer. The last item is always an Answer.
    """
    return get_assistant().ask_stream(question, history, sources=sources, kinds=kinds)


def ingest(
    paths: Iterable[str | Path],
    *,
    title: str | None = None,
    kind: str | None = None,
    doc_id: str | None = None,
) -> IngestReport:
    """Index files or folders (PDF, DOCX, HTML, Markdown, text); unchanged files are skipped.

    Args:
        paths: files or folders.
        title: override the title (one file).
        kind: override the kind ("paper", "policy", "own").
        doc_id: override the doc_id (one file).

    Returns:
        An IngestReport listing added, updated, unchanged and skipped files (with reasons).
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    return get_assistant().ingest(paths, title=title, kind=kind, doc_id=doc_id)


def as_retriever(
    k: int = 5,
    *,
    sources: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
    assistant: Assistant | None = None,
) -> Any:
    """A LangChain BaseRetriever over the same engine (for users' own chains).

    Args:
        k: passages per query (``invoke(question, k=1)`` overrides it per call).
        sources: optional doc_ids to restrict to.
        kinds: optional kinds to restrict to.
        assistant: an engine the caller built; the package's default one when None.
    """
    from .langchain_retriever import PolicyRetriever

    return PolicyRetriever(
        k=k,
        sources=list(sources) if sources else None,
        kinds=list(kinds) if kinds else None,
        assistant=assistant,
    )
