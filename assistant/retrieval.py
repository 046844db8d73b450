"""Retrieve: question -> ranked Passages (MiniLM ‖ USE ‖ BM25 -> RRF -> second stage).

Input: a question and filters. Output: list[Passage], best first.

The stages, each a small list-in/list-out step: plan the query (language, glossary
expansion, exclusions) -> three channels (dense MiniLM, dense USE, lexical BM25) -> weighted
reciprocal-rank fusion -> re-scoring of the best fused candidates -> Passages.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from .embeddings import MiniLMEncoder, UseEncoder
from .glossary import chinese_terms, expand
from .indexing import Store
from .ingestion import detect_language
from .lexical import LexicalIndex
from .registry import VectorSpace, is_committed
from .rescoring import (
    FUSION_WEIGHTS,
    SCORE_WEIGHTS,
    ChannelHits,
    QueryPlan,
    QueryVectors,
    best_first,
    fuse,
    measure,
    rescore,
    to_passage,
)
from .types import Passage

logger = logging.getLogger(__name__)
RESCORE_POOL = 24  # fused candidates re-scored at least (2 k when that is more)
_CHANNELS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="retrieval-channel")


def _where(
    sources: list[str] | None, kinds: list[str] | None, exclude: list[str] | None = None
) -> dict[str, Any] | None:
    clauses: list[dict[str, Any]] = []
    if sources:
        clauses.append({"doc_id": {"$in": list(sources)}})
    if kinds:
        clauses.append({"kind": {"$in": list(kinds)}})
    if exclude:
        clauses.append({"doc_id": {"$nin": list(exclude)}})
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

    def _other_language_versions(self, lang: str) -> list[str]:
        """Documents that translate another document into a language other than ``lang``."""
        return sorted(
            rec.doc_id
            for rec in self.store.registry().values()
            if rec.metadata.get("translation_of") and rec.metadata.get("lang", "zh") != lang
        )

    def _superseded(self, sources: list[str] | None) -> list[str]:
        """Earlier versions of uploads (kept and listed, not searched unless asked for)."""
        return sorted(
            rec.doc_id
            for rec in self.store.registry().values()
            if rec.metadata.get("superseded_by") and rec.doc_id not in (sources or ())
        )

    def plan(
        self,
        question: str,
        k: int,
        *,
        sources: list[str] | None = None,
        kinds: list[str] | None = None,
        pool: int = 30,
    ) -> QueryPlan:
        """The question's language, expansion, exclusions and candidate counts."""
        lang = detect_language(question)
        query = expand(question)
        # a translation into the other language is not searched: its original is, in the
        # question's language (an English question reads the English paper, not its Chinese
        # rendering; a Chinese one reads both, since USE and the glossary cross languages)
        exclude = self._other_language_versions(lang) + self._superseded(sources)
        # exclusions are filtered out after the query, not by a Chroma `where` (a filtered
        # read on the embedded store fails while another process commits): twice as many
        # neighbours are asked for
        n = max(pool, k * 3)
        asked_too = SCORE_WEIGHTS[lang].asked > 0 and query != question and self.second_stage
        return QueryPlan(
            question=question,
            query=query,
            lang=lang,
            sources=sources,
            kinds=kinds,
            exclude=exclude,
            where=_where(sources, kinds),
            n=n,
            dense_n=2 * n if exclude else n,
            asked_too=asked_too,
        )

    def minilm_channel(self, plan: QueryPlan) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Dense MiniLM channel: (expanded vector, as-asked vector, chunk ids best first)."""
        # the expanded and the as-asked question in one batch: one onnxruntime call
        if plan.asked_too:
            vec, asked = self.minilm.encode_queries([plan.query, plan.question])
        else:
            vec = asked = self.minilm.encode_queries([plan.query])[0]
        ids = self.store.query_dense(
            VectorSpace.MINILM, vec, plan.dense_n, plan.where, set(plan.exclude)
        )
        return vec, asked, ids[: plan.n]

    def use_channel(self, plan: QueryPlan) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Dense USE channel: (expanded vector, as-asked vector, chunk ids best first)."""
        # The expanded query ranks; the question as asked measures support (the expansion
        # would otherwise make an off-topic "TLS certificates" question look on-topic).
        if plan.query == plan.question:  # nothing to expand: one encoding serves both
            q_use = raw_use = self.use.encode_queries([plan.query])[0]
        else:
            q_use, raw_use = self.use.encode_queries([plan.query, plan.question])
        ids = self.store.query_dense(
            VectorSpace.USE, q_use, plan.dense_n, plan.where, set(plan.exclude)
        )
        return q_use, raw_use, ids[: plan.n]

    def lexical_channel(self, plan: QueryPlan) -> list[tuple[str, float]]:
        """BM25 channel: (chunk id, raw BM25 score), best first."""
        filters: dict[str, Any] = {
            "sources": plan.sources,
            "kinds": plan.kinds,
            "exclude": plan.exclude,
        }
        hits = self.lexical.search(plan.query, plan.n, **filters)
        zh_terms = chinese_terms(plan.question) if plan.lang == "en" else ""
        if not (zh_terms and self.lexical.has_chinese()):
            return hits
        # An English question on Chinese documents: their BM25 comes from the Chinese forms
        # of the question's glossary terms (English chunks keep their plain-query score).
        zh_hits = self.lexical.search(
            f"{plan.query} {zh_terms}", plan.n, chinese_only=True, **filters
        )
        zh_ids = {cid for cid, _ in zh_hits}
        merged = [(cid, s) for cid, s in hits if cid not in zh_ids] + zh_hits
        return sorted(merged, key=lambda hit: -hit[1])[: plan.n]

    def channels(self, plan: QueryPlan) -> tuple[QueryVectors, ChannelHits]:
        """Run the three channels; MiniLM on a worker thread beside USE and BM25."""
        # onnxruntime, NumPy and Chroma release the GIL, so on two cores the channels overlap
        # (~30% less latency)
        minilm_future = _CHANNELS.submit(self.minilm_channel, plan)
        q_use, raw_use, dense_use = self.use_channel(plan)
        lexical_hits = self.lexical_channel(plan)
        q_minilm, asked_minilm, dense_minilm = minilm_future.result()
        return (
            QueryVectors(q_minilm, asked_minilm, q_use, raw_use),
            ChannelHits(dense_minilm, dense_use, lexical_hits),
        )

    def retrieve(
        self,
        question: str,
        k: int,
        *,
        sources: list[str] | None = None,
        kinds: list[str] | None = None,
        pool: int = 30,
    ) -> list[Passage]:
        """Hybrid retrieval; see the module docstring. Arguments are validated by the caller.

        Stage 1 gathers candidates from three channels (dense MiniLM, dense USE, BM25), each on
        the question expanded with the domain glossary. Stage 2 (default) scores every
        candidate by a weighted sum of the cosines (expanded and as-asked question) and the
        normalised BM25 (SCORE_WEIGHTS): measured on the golden sets, this beats RRF of the
        same channels (see `assistant eval --compare`). Without the second stage the ranking
        is plain weighted RRF.
        """
        # Refresh the registry first: when another process committed, this re-opens the store's
        # collections, and both dense channels must then query the same (new) client.
        self.store.registry()
        plan = self.plan(question, k, sources=sources, kinds=kinds, pool=pool)
        vectors, hits = self.channels(plan)
        # the second stage re-scores the best fused candidates (not the whole union of lists)
        fused = fuse(hits, FUSION_WEIGHTS[plan.lang], max(RESCORE_POOL, 2 * k))
        data = self.store.fetch([cid for cid, _ in fused])
        registry = self.store.registry()
        scored = rescore(
            fused,
            data,
            committed=lambda meta: is_committed(registry, meta),
            measure_one=lambda cid, rrf, vecs: measure(cid, rrf, vecs, vectors, hits, plan),
            weights=SCORE_WEIGHTS[plan.lang] if self.second_stage else None,
        )
        return best_first([to_passage(*row) for row in scored], k)
