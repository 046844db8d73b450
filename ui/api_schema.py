"""The HTTP JSON API's request and response bodies. Input: JSON / library results. Output: models.

Pydantic models for the OpenAPI schema at /api/docs (requests refuse unknown fields), and the
plain dicts the routes return for passages and documents.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_TURNS = 40  # history entries (20 question/answer pairs)
MAX_TURN_CHARS = 20_000  # one earlier answer, Sources section included


class Turn(BaseModel):
    """One earlier message of the conversation."""

    model_config = ConfigDict(extra="forbid")
    role: Literal["user", "assistant"]
    content: str = Field(max_length=MAX_TURN_CHARS)


class AskRequest(BaseModel):
    """A question, the conversation so far and optional filters."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"question": "How long must teachers spend in enterprises?"},
                {
                    "question": "那经费呢？",
                    "history": [
                        {"role": "user", "content": "如何建设双师型教师队伍？"},
                        {"role": "assistant", "content": "…"},
                    ],
                    "kinds": ["policy"],
                },
            ]
        },
    )
    question: str = Field(description="English or Chinese, up to 4,000 characters")
    history: list[Turn] = Field(default_factory=list, max_length=MAX_TURNS)
    sources: list[str] | None = Field(None, description="doc_ids to search (GET /api/documents)")
    kinds: list[str] | None = Field(None, description="kinds to search: policy, paper, own")


class RetrieveRequest(BaseModel):
    """A search: passages best first."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"question": "teacher pay", "k": 5}]}
    )
    question: str
    k: int = Field(5, description="how many passages (1-50)")
    sources: list[str] | None = None
    kinds: list[str] | None = None


class Citation(BaseModel):
    """The passage behind an answer's [n]."""

    n: int
    doc_id: str
    title: str
    section: str
    role: str = Field(description="provision, target, recommendation, problem, background ...")
    kind: str
    citation: str
    quote: str = Field(description="the sentence quoted from the passage")
    score: float


class AskResponse(BaseModel):
    """An answer: Markdown text with [n] markers; [n] is citations[n-1]."""

    text: str
    body: str = Field(description="the text without its Sources section")
    grounded: bool = Field(description="False when the documents do not support an answer")
    mode: str
    language: str
    intent: str
    notice: str
    citations: list[Citation]


class PassageOut(BaseModel):
    """One retrieved passage."""

    rank: int
    doc_id: str
    title: str
    section: str
    kind: str
    role: str
    citation: str
    score: float
    text: str


class RetrieveResponse(BaseModel):
    """Passages, best first."""

    passages: list[PassageOut]


class DocumentOut(BaseModel):
    """An indexed (committed) document."""

    doc_id: str
    title: str
    kind: str
    issuer: str
    date: str
    chunks: int
    metadata: dict[str, Any]


class ErrorBody(BaseModel):
    """What went wrong, in the package's words."""

    type: str
    message: str


class ErrorResponse(BaseModel):
    """Every error answer."""

    error: ErrorBody


def passage_out(rank: int, p: Any) -> dict[str, Any]:
    """A retrieved Passage as PassageOut's fields."""
    return {
        "rank": rank,
        "doc_id": p.doc_id,
        "title": p.title,
        "section": p.section,
        "kind": p.kind,
        "role": str(p.metadata.get("role", "")),
        "citation": p.citation,
        "score": p.score,
        "text": p.text,
    }


def document_out(r: Any) -> dict[str, Any]:
    """A DocRecord as DocumentOut's fields (the stored file's path is not shown)."""
    return {
        "doc_id": r.doc_id,
        "title": r.title,
        "kind": r.kind,
        "issuer": str(r.metadata.get("issuer", "")),
        "date": str(r.metadata.get("date", "")),
        "chunks": r.chunks,
        "metadata": {k: v for k, v in r.metadata.items() if k != "path"},
    }
