"""Retrieve: question -> ranked Passages. Hybrid: dense MiniLM ‖ dense USE ‖ BM25 -> RRF -> rescoring.

Input: a question and filters. Output: list[Passage], best first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from .embeddings import MiniLMEncoder, UseEncoder
from .fusion import reciprocal_rank_fusion
from .indexing import Store
from .ingestion import detect_language
from .lexical import LexicalIndex
from .types import Passage

logger = logging.getLogger(__name__)

KIND_LABELS = {"paper": "paper", "policy": "policy", "own": "your document"}


@dataclass(frozen=True)
class Candidate:
    """A fused candidate before it becomes a Passage."""

    chunk_id: str
    rrf: float
    ranks: dict[str, int]


def citation_label(title: str, kind: str, section: str, meta: dict[str, Any]) -> str:
    """Human-readable citation, e.g. 'Title (paper), §4.3 Attach importance to ...'."""
    bits = [KIND_LABELS.get(kind, kind)]
    if kind == "policy":
        bits = [b for b in (meta.get("issuer"), str(meta.get("date", ""))[:4], meta.get("doc_number")) if b]
    label = f"{title} ({', '.join(str(b) for b in bits)})" if bits else title
    return f"{label}, §{section}" if section else label


def _where(sources: list[str] | None, kinds: list[str] | None) -> dict[str, Any] | None:
    clauses: list[dict[str, Any]] = []
    if sources:
        clauses.append({"doc_id": {"$in": list(sources)}})
    if kinds:
        clauses.append({"kind": {"$in": list(kinds)}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


class HybridRetriever:
    """Dense (two encoders) and lexical retrieval, fused by RRF, then re-scored."""

    def __init__(
        self,
        store: Store,
        lexical: LexicalIndex,
        minilm: MiniLMEncoder,
        use: UseEncoder,
        *,
        second_stage: bool = True,
    ) -> None:
        """Wire the stages.

        Args:
            store: Chroma collections.
            lexical: BM25 index derived from the store.
            minilm: English encoder (query side).
            use: multilingual encoder.
            second_stage: re-score fused candidates with the encoders' cosines.
        """
        self.store = store
        self.lexical = lexical
        self.minilm = minilm
        self.use = use
        self.second_stage = second_stage

    def _dense(self, coll: Any, vec: np.ndarray, n: int, where: dict[str, Any] | None) -> list[str]:
        count = coll.count()
        if count == 0:
            return []
        got = coll.query(
            query_embeddings=[vec.tolist()],
            n_results=min(n, count),
            where=where,
            include=["metadatas"],
        )
        registry = self.store.registry()
        out = []
        for chunk_id, meta in zip(got["ids"][0], got["metadatas"][0], strict=False):
            rec = registry.get(str((meta or {}).get("doc_id", "")))
            if rec is not None and rec.doc_hash == (meta or {}).get("doc_hash"):
                out.append(chunk_id)
        return out

    def retrieve(
        self,
        question: str,
        k: int,
        *,
        sources: list[str] | None = None,
        kinds: list[str] | None = None,
        pool: int = 30,
    ) -> list[Passage]:
        """Hybrid retrieval; see the module docstring. Arguments are validated by the caller."""
        lang = detect_language(question)
        q_minilm = self.minilm.encode_queries([question])[0]
        q_use = self.use.encode_queries([question])[0]
        where = _where(sources, kinds)
        n = max(pool, k * 3)
        dense_minilm = self._dense(self.store.minilm, q_minilm, n, where)
        dense_use = self._dense(self.store.use, q_use, n, where)
        lexical = [cid for cid, _ in self.lexical.search(question, n, sources=sources, kinds=kinds)]
        # MiniLM is an English model: on Chinese questions its ranking is close to random.
        weights = [0.2, 1.5, 1.0] if lang == "zh" else [1.0, 1.0, 1.0]
        fused = reciprocal_rank_fusion([dense_minilm, dense_use, lexical], weights=weights)
        head = fused[: max(n, k)]
        data = self.store.fetch([cid for cid, _ in head])
        best_rrf = head[0][1] if head else 1.0
        ranks = {
            name: {cid: r for r, cid in enumerate(lst)}
            for name, lst in (("minilm", dense_minilm), ("use", dense_use), ("bm25", lexical))
        }
        passages = []
        for chunk_id, rrf in head:
            if chunk_id not in data:
                continue
            text, meta, v_minilm, v_use = data[chunk_id]
            cos_minilm = float(v_minilm @ q_minilm)
            cos_use = float(v_use @ q_use)
            rrf_norm = rrf / best_rrf
            if self.second_stage:
                dense = cos_use if lang == "zh" else 0.5 * (cos_use + cos_minilm)
                score = 0.6 * dense + 0.4 * rrf_norm
            else:
                score = rrf_norm
            meta = {
                **meta,
                "chunk_id": chunk_id,
                "rrf": rrf,
                "cos_minilm": cos_minilm,
                "cos_use": cos_use,
                "ranks": {name: r.get(chunk_id) for name, r in ranks.items()},
                "query_language": lang,
            }
            section = str(meta.get("section", ""))
            title = str(meta.get("title", meta.get("doc_id", "")))
            kind = str(meta.get("kind", "own"))
            passages.append(
                Passage(
                    text=text,
                    doc_id=str(meta.get("doc_id", "")),
                    title=title,
                    section=section,
                    score=round(score, 6),
                    citation=citation_label(title, kind, section, meta),
                    metadata=meta,
                )
            )
        passages.sort(key=lambda p: (-p.score, p.chunk_id))
        return passages[:k]
