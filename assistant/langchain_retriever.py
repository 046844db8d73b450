"""LangChain adapter: the hybrid retriever as a BaseRetriever returning Documents."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever


class PolicyRetriever(BaseRetriever):
    """Wraps assistant.retrieve(); each Document carries the Passage fields as metadata."""

    k: int = 5
    sources: list[str] | None = None
    kinds: list[str] | None = None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        from . import retrieve

        passages = retrieve(query, k=self.k, sources=self.sources, kinds=self.kinds)
        return [
            Document(
                page_content=p.text,
                metadata={
                    **{
                        k: v
                        for k, v in p.metadata.items()
                        if isinstance(v, str | int | float | bool)
                    },
                    "doc_id": p.doc_id,
                    "title": p.title,
                    "section": p.section,
                    "score": p.score,
                    "citation": p.citation,
                },
                id=p.chunk_id or None,
            )
            for p in passages
        ]

    def __repr__(self) -> str:
        """Short form for logs."""
        return f"PolicyRetriever(k={self.k})"

    def model_post_init(self, __context: Any) -> None:
        """Nothing to load until the first query."""
