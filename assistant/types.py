"""Result types promised to callers (fields fixed by DESIGN.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    """What kind of source a document is; decides how its advice is labelled."""

    PAPER = "paper"
    POLICY = "policy"
    OWN = "own"

    @classmethod
    def from_str(cls, value: str) -> Kind:
        """Parse a kind name, listing the valid values on error."""
        from .errors import InvalidInputError

        aliases = {"research": "paper", "own documents": "own", "document": "own", "college": "own"}
        value = aliases.get(value.strip().lower(), value.strip().lower())
        try:
            return cls(value)
        except ValueError:
            valid = ", ".join(k.value for k in cls)
            raise InvalidInputError(f"Unknown kind {value!r}; use one of: {valid}.") from None


@dataclass(frozen=True)
class Passage:
    """One retrieved chunk of a document, best first in a result list."""

    text: str
    doc_id: str
    title: str
    section: str
    score: float
    citation: str
    metadata: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def chunk_id(self) -> str:
        """Stable id of the chunk (content hash)."""
        return str(self.metadata.get("chunk_id", ""))

    @property
    def kind(self) -> str:
        """Kind of the source document: paper, policy or own."""
        return str(self.metadata.get("kind", "own"))


@dataclass(frozen=True)
class Answer:
    """An answer: Markdown text citing [n] -> citations[n-1]."""

    text: str
    citations: list[Passage]
    grounded: bool
    mode: str = "extractive"
    language: str = "en"
    notice: str = ""
    unsupported_sentences: list[str] = field(default_factory=list)
    question: str = ""
    body: str = ""  # the answer without its Sources section (what the chat bubble shows)
    intent: str = ""  # fact / todo / overview (assistant.intent.Intent)

    def __post_init__(self) -> None:
        if not self.body:
            object.__setattr__(self, "body", self.text)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly view (citations as doc_id / section / role / quote / score)."""
        return {
            "text": self.text,
            "body": self.body,
            "grounded": self.grounded,
            "mode": self.mode,
            "language": self.language,
            "intent": self.intent,
            "notice": self.notice,
            "citations": [
                {
                    "n": n,
                    "doc_id": p.doc_id,
                    "title": p.title,
                    "section": p.section,
                    "role": str(p.metadata.get("role", "")),
                    "kind": p.kind,
                    "citation": p.citation,
                    "quote": str(p.metadata.get("quote", "")),
                    "score": p.score,
                }
                for n, p in enumerate(self.citations, 1)
            ],
        }


@dataclass
class SkippedFile:
    """A file that was not indexed, and why."""

    path: str
    reason: str


@dataclass
class IngestReport:
    """What one ingest run did, per file."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    chunks_written: int = 0
    superseded: dict[str, str] = field(default_factory=dict)  # new version -> the one it replaces

    @property
    def ok(self) -> bool:
        """True when no file was skipped."""
        return not self.skipped

    @property
    def status(self) -> str:
        """'ok', 'partial' (some files skipped) or 'failed' (nothing usable)."""
        if not self.skipped:
            return "ok"
        if self.added or self.updated or self.unchanged:
            return "partial"
        return "failed"

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly view."""
        return {
            "status": self.status,
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "skipped": [{"path": s.path, "reason": s.reason} for s in self.skipped],
            "chunks_written": self.chunks_written,
            "superseded": self.superseded,
        }
