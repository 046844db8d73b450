"""LangChain adapter: the hybrid retriever as a BaseRetriever returning Documents."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

if TYPE_CHECKING:
    from .types import Passage


class PolicyRetriever(BaseRetriever):
    """Retrieval as a LangChain retriever; each Document carries the Passage fields as metadata.

    ``k``, ``sources`` and ``kinds`` set on the retriever can be overridden per call
    (``retriever.invoke(question, k=1)``). ``assistant`` is the engine to query: one a caller
    built (``Assistant(Settings(...))``), or the package's default engine when None.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    k: int = 5
    sources: list[str] | None = None
    kinds: list[str] | None = None
    assistant: Any = Field(default=None, exclude=True, repr=False)

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        k: int | None = None,
        sources: list[str] | None = None,
        kinds: list[str] | None = None,
    ) -> list[Document]:
        del run_manager  # LangChain's callbacks: nothing to report beyond its own events
        from . import get_assistant

        engine = self.assistant if self.assistant is not None else get_assistant()
        passages = engine.retrieve(
            query,
            k=self.k if k is None else k,
            sources=self.sources if sources is None else sources,
            kinds=self.kinds if kinds is None else kinds,
        )
        return [_document(p) for p in passages]

    def __repr__(self) -> str:
        """Short form for logs."""
        return f"PolicyRetriever(k={self.k})"


def _document(p: Passage) -> Document:
    # the retrieval signals under their metadata keys, as LangChain users have always seen them
    shown = {**p.metadata, **p.signals.as_metadata()}
    plain = {k: v for k, v in shown.items() if isinstance(v, str | int | float | bool)}
    return Document(
        page_content=p.text,
        metadata={
            **plain,
            "doc_id": p.doc_id,
            "title": p.title,
            "section": p.section,
            "score": p.score,
            "citation": p.citation,
        },
        id=p.chunk_id or None,
    )
