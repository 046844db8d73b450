"""Reciprocal rank fusion. Input: ranked id lists. Output: one fused ranking. Pure, no I/O."""

from __future__ import annotations

from collections.abc import Sequence

# k=60 is the constant of Cormack et al. (2009): it damps the head of each list so that a
# document ranked well by several retrievers beats one ranked first by a single retriever.
RRF_K = 60


def reciprocal_rank_fusion(
    ranked_lists: Sequence[Sequence[str]],
    *,
    k: int = RRF_K,
    weights: Sequence[float] | None = None,
) -> list[tuple[str, float]]:
    """Fuse ranked lists of ids into one list of (id, score), best first.

    Args:
        ranked_lists: each a list of ids, best first (duplicates inside a list count once).
        k: the RRF damping constant (must be > 0).
        weights: one non-negative weight per list (default all 1).

    Returns:
        (id, fused score) sorted by score descending, ties broken by id for determinism.

    Raises:
        ValueError: weights of the wrong length or negative, or k <= 0.
    """
    if k <= 0:
        raise ValueError(f"k must be > 0, got {k}")
    if weights is None:
        weights = [1.0] * len(ranked_lists)
    if len(weights) != len(ranked_lists):
        raise ValueError(f"got {len(weights)} weights for {len(ranked_lists)} lists")
    if any(w < 0 for w in weights):
        raise ValueError("weights must be non-negative")
    scores: dict[str, float] = {}
    for ranking, weight in zip(ranked_lists, weights, strict=True):
        seen: set[str] = set()
        for rank, item in enumerate(ranking):
            if item in seen:
                continue
            seen.add(item)
            scores[item] = scores.get(item, 0.0) + weight / (k + rank + 1)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
