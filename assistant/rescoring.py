"""Rescore: channel hits -> fused, re-scored candidates -> Passages. Pure, no I/O.

Input: the three channels' rankings and the candidates' stored vectors. Output: Passages.
The stages HybridRetriever runs after its channels, kept free of the store and the encoders
so each can be tested on hand-made lists.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np

from .citing import citation_label
from .fusion import reciprocal_rank_fusion
from .registry import ChunkData
from .types import Passage, Signals


class ScoreWeights(NamedTuple):
    """Weights of the second-stage score (a tuple, so benchmarks can grid over them)."""

    minilm: float  # MiniLM cosine with the glossary-expanded question
    asked: float  # MiniLM cosine with the question as asked
    use: float  # USE cosine with the expanded question
    bm25: float  # BM25 over the best candidate's BM25


class FusionWeights(NamedTuple):
    """Weight of each channel's ranking in reciprocal-rank fusion."""

    minilm: float
    use: float
    bm25: float


# Second-stage score, per question language:
#   minilm * cos_MiniLM(expanded) + asked * cos_MiniLM(question as asked)
#   + use * cos_USE(expanded) + bm25 * BM25/max(BM25).
# The glossary expansion adds recall but also pulls towards whichever section uses the added
# words; the cosine to the question as asked keeps the user's own intent in the score. Chosen
# by 10-fold cross-validation over the 101 English paper questions (golden + held-out): hit@1
# 0.873 -> 0.928 out of fold (python benchmarks/second_stage.py). MiniLM is an English
# model, so Chinese questions lean on USE and the glossary's BM25 terms (no asked-cosine).
SCORE_WEIGHTS = {"en": ScoreWeights(0.5, 1.0, 0.5, 0.25), "zh": ScoreWeights(0.5, 0.0, 1.0, 0.5)}
# MiniLM is an English model: on Chinese questions its ranking is weak.
FUSION_WEIGHTS = {"en": FusionWeights(1.0, 1.0, 1.0), "zh": FusionWeights(0.5, 1.0, 1.0)}


@dataclass(frozen=True)
class QueryPlan:
    """One question made ready for the channels.

    Attributes:
        question: as asked.
        query: expanded with the domain glossary (what the channels rank by).
        lang: "en" or "zh".
        sources: documents the caller restricted the search to, or None.
        kinds: kinds the caller restricted the search to, or None.
        exclude: documents never searched (other-language translations, superseded uploads).
        where: the Chroma filter of sources and kinds.
        n: candidates each channel returns.
        dense_n: neighbours asked of Chroma (twice n when exclusions are filtered afterwards).
        asked_too: MiniLM also encodes the question as asked (for the second stage).
    """

    question: str
    query: str
    lang: str
    sources: list[str] | None
    kinds: list[str] | None
    exclude: list[str]
    where: dict[str, Any] | None
    n: int
    dense_n: int
    asked_too: bool


@dataclass(frozen=True)
class QueryVectors:
    """The question's vectors: expanded and as asked, per encoder."""

    minilm: np.ndarray
    minilm_asked: np.ndarray
    use: np.ndarray
    use_asked: np.ndarray


@dataclass(frozen=True)
class ChannelHits:
    """What the three channels found: chunk ids best first (BM25 with its raw score)."""

    minilm: list[str]
    use: list[str]
    lexical: list[tuple[str, float]]

    @cached_property
    def lexical_ids(self) -> list[str]:
        """The lexical channel's ranking without scores."""
        return [cid for cid, _ in self.lexical]

    @cached_property
    def bm25(self) -> dict[str, float]:
        """Raw BM25 score by chunk id."""
        return dict(self.lexical)

    @cached_property
    def best_bm25(self) -> float:
        """The best raw BM25 score (1.0 when there is none, so dividing by it is safe)."""
        return max(self.bm25.values(), default=0.0) or 1.0

    @cached_property
    def ranks(self) -> dict[str, dict[str, int]]:
        """Each channel's rank of its chunk ids, by channel name."""
        lists = (("minilm", self.minilm), ("use", self.use), ("bm25", self.lexical_ids))
        return {name: {cid: r for r, cid in enumerate(ids)} for name, ids in lists}


def _support(cos_minilm: float, cos_use: float, lang: str) -> float:
    """Evidence that a passage is about the question as asked (language-aware cosine)."""
    return cos_use if lang == "zh" else 0.5 * (cos_minilm + cos_use)


def fuse(hits: ChannelHits, weights: FusionWeights, limit: int) -> list[tuple[str, float]]:
    """Weighted RRF of the three channels' rankings, cut to the ``limit`` best."""
    fused = reciprocal_rank_fusion(
        [hits.minilm, hits.use, hits.lexical_ids],
        weights=[weights.minilm, weights.use, weights.bm25],
    )
    return fused[:limit]


def measure(
    chunk_id: str,
    rrf: float,
    vectors: tuple[np.ndarray, np.ndarray],
    q: QueryVectors,
    hits: ChannelHits,
    plan: QueryPlan,
) -> Signals:
    """The signals of one fused candidate: its cosines with the question, BM25 and ranks."""
    v_minilm, v_use = vectors
    cos_minilm = float(v_minilm @ q.minilm)
    cos_use = float(v_use @ q.use)
    return Signals(
        chunk_id=chunk_id,
        rrf=rrf,
        cos_minilm=cos_minilm,
        cos_minilm_asked=float(v_minilm @ q.minilm_asked),
        cos_use=cos_use,
        bm25=hits.bm25.get(chunk_id, 0.0) / hits.best_bm25,
        bm25_raw=hits.bm25.get(chunk_id, 0.0),
        support=float(v_use @ q.use_asked),
        support_expanded=_support(cos_minilm, cos_use, plan.lang),
        ranks={name: r.get(chunk_id) for name, r in hits.ranks.items()},
        query_language=plan.lang,
        filtered=bool(plan.sources or plan.kinds),
        expanded_query=plan.query,
    )


def second_stage_score(s: Signals, w: ScoreWeights, passage_lang: str) -> float:
    """The weighted sum of the signals (SCORE_WEIGHTS) that ranks the fused candidates."""
    if passage_lang == "zh":
        # MiniLM cannot read a Chinese passage: its cosines are noise there (for an English
        # question and for a Chinese one), so the multilingual USE cosine carries the whole
        # dense weight
        return (w.minilm + w.asked + w.use) * s.cos_use + w.bm25 * s.bm25
    return (
        w.minilm * s.cos_minilm + w.asked * s.cos_minilm_asked + w.use * s.cos_use + w.bm25 * s.bm25
    )


def rescore(
    fused: Sequence[tuple[str, float]],
    data: Mapping[str, ChunkData],
    committed: Callable[[dict[str, Any]], bool],
    measure_one: Callable[[str, float, tuple[np.ndarray, np.ndarray]], Signals],
    weights: ScoreWeights | None,
) -> list[tuple[str, dict[str, Any], Signals, float]]:
    """(text, metadata, signals, score) of the fused candidates, in fused order.

    Args:
        fused: (chunk id, RRF score), best first.
        data: the candidates' stored text, metadata and vectors.
        committed: whether a chunk's metadata belongs to a committed document version.
        measure_one: the signals of one candidate (see measure()).
        weights: the second stage's weights; None ranks by RRF over the best RRF alone.
    """
    best_rrf = fused[0][1] if fused else 1.0
    out = []
    for chunk_id, rrf in fused:
        if chunk_id not in data:
            continue
        text, meta, v_minilm, v_use = data[chunk_id]
        if not committed(meta):
            continue  # from a BM25 index a moment older than a remove or an update
        signals = measure_one(chunk_id, rrf, (v_minilm, v_use))
        if weights is not None:
            score = second_stage_score(signals, weights, str(meta.get("lang")))
        else:
            score = rrf / best_rrf
        out.append((text, meta, signals, score))
    return out


def to_passage(text: str, meta: dict[str, Any], signals: Signals, score: float) -> Passage:
    """A re-scored candidate as the Passage callers get."""
    section = str(meta.get("section", ""))
    title = str(meta.get("title", meta.get("doc_id", "")))
    kind = str(meta.get("kind", "own"))
    return Passage(
        text=text,
        doc_id=str(meta.get("doc_id", "")),
        title=title,
        section=section,
        score=round(score, 6),
        citation=citation_label(title, kind, section, meta),
        metadata=dict(meta),  # a copy: the store caches the fetched dict
        signals=signals,
    )


def best_first(passages: list[Passage], k: int) -> list[Passage]:
    """The k best passages: score descending, ties broken by chunk id."""
    return sorted(passages, key=lambda p: (-p.score, p.chunk_id))[:k]
