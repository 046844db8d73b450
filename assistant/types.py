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
class Signals:
    """Per-query evidence retrieval measured for one passage (empty for a passage that was not
    retrieved, e.g. a neighbouring chunk read for context).

    Kept apart from Passage.metadata, which is the document's own metadata: the answer stage
    reads these as typed attributes, and outward views add them back under the same keys.

    Attributes:
        chunk_id: the chunk scored.
        rrf: weighted reciprocal-rank-fusion score of the three channels.
        cos_minilm: MiniLM cosine with the glossary-expanded question.
        cos_minilm_asked: MiniLM cosine with the question as asked.
        cos_use: USE cosine with the expanded question.
        bm25: BM25 score over the best BM25 score of the candidates (0..1).
        bm25_raw: the BM25 score itself.
        support: USE cosine with the question as asked.
        support_expanded: language-aware cosine with the expanded question.
        ranks: rank of the chunk in each channel ("minilm", "use", "bm25"), None when absent.
        query_language: "en" or "zh".
        filtered: the caller restricted sources or kinds.
        expanded_query: the question after glossary expansion.
    """

    chunk_id: str = ""
    rrf: float = 0.0
    cos_minilm: float = 0.0
    cos_minilm_asked: float = 0.0
    cos_use: float = 0.0
    bm25: float = 0.0
    bm25_raw: float = 0.0
    support: float = 0.0
    support_expanded: float = 0.0
    ranks: dict[str, int | None] = field(default_factory=dict, hash=False)
    query_language: str = ""
    filtered: bool = False
    expanded_query: str = ""

    def as_metadata(self) -> dict[str, Any]:
        """The signals under the metadata keys outward views have always shown ({} if empty)."""
        if not self.chunk_id:
            return {}
        return {
            "chunk_id": self.chunk_id,
            "rrf": self.rrf,
            "cos_minilm": self.cos_minilm,
            "cos_minilm_asked": self.cos_minilm_asked,
            "cos_use": self.cos_use,
            "bm25": self.bm25,
            "bm25_raw": self.bm25_raw,
            "support": self.support,
            "support_expanded": self.support_expanded,
            "ranks": dict(self.ranks),
            "query_language": self.query_language,
            "filtered": self.filtered,
            "expanded_query": self.expanded_query,
        }


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
    signals: Signals = field(default_factory=Signals, compare=False, hash=False)

    @property
    def chunk_id(self) -> str:
        """Stable id of the chunk (content hash)."""
        return self.signals.chunk_id or str(self.metadata.get("chunk_id", ""))

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
