"""How well can the second stage rank the paper's sections? Weights, cross-validation, ceiling.

The second stage scores each fused candidate with a weighted sum of four signals (see
assistant.retrieval.SCORE_WEIGHTS): MiniLM cosine to the glossary-expanded question, MiniLM
cosine to the question as asked, USE cosine to the expanded question, normalised BM25. This
script reads those signals from the real pipeline (retrieve(k=24) restricted to the paper,
whose 30 chunks all fit in the pool) for every English paper question and prints:

- hit@1 per set with the shipped weights and with the previous three-signal weights;
- 10-fold cross-validation over golden + held-out (weights picked on 9/10 by grid search,
  scored on the 10th; 20 shuffles): the estimate for questions nobody tuned on;
- the ceiling: the best weights chosen on each set itself (in-sample, optimistic). When even
  this stays under a target, no re-weighting of these signals can reach it.

Usage: python benchmarks/second_stage.py
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("ASSISTANT_DATA_DIR", tempfile.mkdtemp(prefix="bench-second-stage-"))

import assistant  # noqa: E402  (sets the offline environment first)
from assistant.evaluation import PAPER_ID  # noqa: E402
from assistant.retrieval import RESCORE_POOL, SCORE_WEIGHTS  # noqa: E402

SETS = {
    "golden": REPO / "tests/golden/paper_en.jsonl",
    "held-out": REPO / "tests/golden/holdout/paper_en.jsonl",
    "held-out 2": REPO / "tests/golden/holdout2/paper_en.jsonl",
}
SIGNALS = ("cos_minilm", "cos_minilm_asked", "cos_use", "bm25")
PREVIOUS = (1.0, 0.0, 0.75, 0.5)  # the three-signal weights before cos_minilm_asked
GRID_VALUES = (0.0, 0.25, 0.5, 0.75, 1.0)


def collect(path: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per question: signals of every candidate (rows) and which candidates are right."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        passages = assistant.retrieve(item["q"], k=RESCORE_POOL, sources=[PAPER_ID])
        x = np.array([[float(getattr(p.signals, s)) for s in SIGNALS] for p in passages])
        y = np.array([p.metadata.get("section_key") in item["sections"] for p in passages])
        out.append((x, y))
    return out


def hits(questions: list[tuple[np.ndarray, np.ndarray]], grid: np.ndarray) -> np.ndarray:
    """hits[q, g] = 1 when weights grid[g] put a right candidate first for question q."""
    return np.array([y[np.argmax(x @ grid.T, axis=0)] for x, y in questions], dtype=float)


def cross_validate(h: np.ndarray, shuffles: int = 20) -> tuple[float, float]:
    """10-fold CV of picking weights by grid search: mean and std of out-of-fold hit@1.

    Ties between equally good weight vectors on the training folds are averaged.
    """
    rng = np.random.default_rng(0)
    scores = []
    for _ in range(shuffles):
        perm = rng.permutation(len(h))
        total = 0.0
        for fold in np.array_split(perm, 10):
            mean = h[np.setdiff1d(perm, fold)].mean(0)
            tied = np.flatnonzero(mean == mean.max())
            total += h[np.ix_(fold, tied)].mean(1).sum()
        scores.append(total / len(h))
    return float(np.mean(scores)), float(np.std(scores))


def main() -> int:
    data = {name: collect(path) for name, path in SETS.items() if path.exists()}
    grid = np.array([w for w in itertools.product(GRID_VALUES, repeat=4) if max(w) == 1.0])
    shipped = np.array([SCORE_WEIGHTS["en"]])
    previous = np.array([PREVIOUS])
    print(f"signals: {', '.join(SIGNALS)}; grid {len(grid)} weight vectors over {GRID_VALUES}")
    print(f"{'set':<12} {'n':>3} {'shipped':>8} {'previous':>9} {'ceiling (in-sample)':>20}")
    for name, qs in data.items():
        h = hits(qs, grid)
        best = h.mean(0).argmax()
        print(
            f"{name:<12} {len(qs):>3} {hits(qs, shipped).mean():>8.3f} "
            f"{hits(qs, previous).mean():>9.3f} {h.mean(0)[best]:>8.3f} at {grid[best]}"
        )
    pooled = data["golden"] + data["held-out"]
    mean, std = cross_validate(hits(pooled, grid))
    print(
        f"10-fold CV over golden + held-out ({len(pooled)} questions, 20 shuffles): "
        f"hit@1 {mean:.3f} ± {std:.3f}"
    )
    without = np.array([w for w in grid if w[1] == 0.0])  # without the as-asked cosine
    mean, std = cross_validate(hits(pooled, without))
    print(f"  same, without cos_minilm_asked: hit@1 {mean:.3f} ± {std:.3f}")
    if "held-out 2" in data:
        all_q = pooled + data["held-out 2"]
        ha = hits(all_q, grid)
        best = ha.mean(0).argmax()
        print(
            f"ceiling over all {len(all_q)} questions (one weight vector): "
            f"{ha.mean(0)[best]:.3f} at {grid[best]}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
