"""Retrieve: question -> ranked Passages (MiniLM ‖ USE ‖ BM25 -> RRF -> second stage).

Input: a question and filters. Output: list[Passage], best first.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from .citing import citation_label
from .embeddings import MiniLMEncoder, UseEncoder
from .fusion import reciprocal_rank_fusion
from .glossary import chinese_terms, expand
from .indexing import Store
from .ingestion import detect_language
from .lexical import LexicalIndex
from .registry import VectorSpace, is_committed
from .types import Passage

logger = logging.getLogger(__name__)

# Second-stage score, per question language:
#   w_minilm * cos_MiniLM(expanded) + w_asked * cos_MiniLM(question as asked)
#   + w_use * cos_USE(expanded) + w_bm25 * BM25/max(BM25).
# The glossary expansion adds recall but also pulls towards whichever section uses the added
# words; the cosine to the question as asked keeps the user's own intent in the score. Chosen
# by 10-fold cross-validation over the 101 English paper questions (golden + held-out): hit@1
# 0.873 -> 0.928 out of fold (python benchmarks/second_stage.py). MiniLM is an English
# model, so Chinese questions lean on USE and the glossary's BM25 terms (no asked-cosine).
RESCORE_POOL = 24
_CHANNELS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="retrieval-channel")
SCORE_WEIGHTS = {"en": (0.5, 1.0, 0.5, 0.25), "zh": (0.5, 0.0, 1.0, 0.5)}


def _support(cos_minilm: float, cos_use: float, lang: str) -> float:
    """Evidence that a passage is about the question as asked (language-aware cosine)."""
    return cos_use if lang == "zh" else 0.5 * (cos_minilm + cos_use)


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
        lang = detect_language(question)
        query = expand(question)
        # The expanded query ranks; the question as asked measures support (the expansion
        # would otherwise make an off-topic "TLS certificates" question look on-topic).
        # Support is measured with USE only (~2 ms a text); MiniLM encodes the question as
        # asked only for the second stage's fourth signal.
        # a translation into the other language is not searched: its original is, in the
        # question's language (an English question reads the English paper, not its Chinese
        # rendering; a Chinese one reads both, since USE and the glossary cross languages)
        exclude = self._other_language_versions(lang) + self._superseded(sources)
        # filtered out after the query, not by a Chroma `where` (a filtered read on the
        # embedded store fails while another process commits); twice as many asked for
        where = _where(sources, kinds)
        n = max(pool, k * 3)
        dense_n = 2 * n if exclude else n
        skip = set(exclude)

        w_minilm, w_asked, w_use, w_bm25 = SCORE_WEIGHTS[lang]
        asked_too = w_asked > 0 and query != question and self.second_stage

        def minilm_channel() -> tuple[np.ndarray, np.ndarray, list[str]]:
            # the expanded and the as-asked question in one batch: one onnxruntime call
            if asked_too:
                vec, asked = self.minilm.encode_queries([query, question])
            else:
                vec = asked = self.minilm.encode_queries([query])[0]
            return (
                vec,
                asked,
                self.store.query_dense(VectorSpace.MINILM, vec, dense_n, where, skip)[:n],
            )

        # The MiniLM channel runs beside the USE and BM25 channels: onnxruntime, NumPy and
        # Chroma release the GIL, so on two cores the channels overlap (~30% less latency).
        minilm_future = _CHANNELS.submit(minilm_channel)
        if query == question:  # nothing to expand: one encoding serves both purposes
            q_use = raw_use = self.use.encode_queries([query])[0]
        else:
            q_use, raw_use = self.use.encode_queries([query, question])
        dense_use = self.store.query_dense(VectorSpace.USE, q_use, dense_n, where, skip)[:n]
        lexical_hits = self.lexical.search(query, n, sources=sources, kinds=kinds, exclude=exclude)
        zh_terms = chinese_terms(question) if lang == "en" else ""
        if zh_terms and self.lexical.has_chinese():
            # An English question on Chinese documents: their BM25 comes from the Chinese forms
            # of the question's glossary terms (English chunks keep their plain-query score).
            zh_hits = self.lexical.search(
                f"{query} {zh_terms}",
                n,
                sources=sources,
                kinds=kinds,
                chinese_only=True,
                exclude=exclude,
            )
            zh_ids = {cid for cid, _ in zh_hits}
            merged = [(cid, s) for cid, s in lexical_hits if cid not in zh_ids] + zh_hits
            lexical_hits = sorted(merged, key=lambda hit: -hit[1])[:n]
        q_minilm, asked_minilm, dense_minilm = minilm_future.result()
        lexical = [cid for cid, _ in lexical_hits]
        bm25 = dict(lexical_hits)
        best_bm25 = max(bm25.values(), default=0.0) or 1.0
        # MiniLM is an English model: on Chinese questions its ranking is weak.
        weights = [0.5, 1.0, 1.0] if lang == "zh" else [1.0, 1.0, 1.0]
        # The second stage re-scores the best fused candidates (not the whole union of lists).
        fused = reciprocal_rank_fusion([dense_minilm, dense_use, lexical], weights=weights)
        fused = fused[: max(RESCORE_POOL, 2 * k)]
        data = self.store.fetch([cid for cid, _ in fused])
        best_rrf = fused[0][1] if fused else 1.0
        ranks = {
            name: {cid: r for r, cid in enumerate(lst)}
            for name, lst in (("minilm", dense_minilm), ("use", dense_use), ("bm25", lexical))
        }
        passages = []
        registry = self.store.registry()
        for chunk_id, rrf in fused:
            if chunk_id not in data:
                continue
            text, meta, v_minilm, v_use = data[chunk_id]
            if not is_committed(registry, meta):
                continue  # from a BM25 index a moment older than a remove or an update
            cos_minilm = float(v_minilm @ q_minilm)
            cos_asked = float(v_minilm @ asked_minilm)
            cos_use = float(v_use @ q_use)
            bm25_norm = bm25.get(chunk_id, 0.0) / best_bm25
            if self.second_stage and meta.get("lang") == "zh":
                # MiniLM cannot read a Chinese passage: its cosines are noise there (for an
                # English question and for a Chinese one), so the multilingual USE cosine
                # carries the whole dense weight
                score = (w_minilm + w_asked + w_use) * cos_use + w_bm25 * bm25_norm
            elif self.second_stage:
                score = (
                    w_minilm * cos_minilm
                    + w_asked * cos_asked
                    + w_use * cos_use
                    + w_bm25 * bm25_norm
                )
            else:
                score = rrf / best_rrf
            meta = {
                **meta,
                "chunk_id": chunk_id,
                "rrf": rrf,
                "cos_minilm": cos_minilm,
                "cos_minilm_asked": cos_asked,
                "cos_use": cos_use,
                "bm25": bm25_norm,
                "bm25_raw": bm25.get(chunk_id, 0.0),
                "support": float(v_use @ raw_use),
                "support_expanded": _support(cos_minilm, cos_use, lang),
                "ranks": {name: r.get(chunk_id) for name, r in ranks.items()},
                "query_language": lang,
                "filtered": bool(sources or kinds),
                "expanded_query": query,
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
