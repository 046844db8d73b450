"""Retrieval quality and latency: ours vs a plain LangChain baseline, in one process.

Baseline: RecursiveCharacterTextSplitter(1000, 200) over the paper + langchain_chroma.Chroma
+ the same all-MiniLM-L6-v2 (HuggingFaceEmbeddings) + similarity_search(k=5).
Ours: assistant.retrieve() (glossary expansion, dense MiniLM + dense USE + BM25, second stage),
restricted to the paper for the paper sets, on the whole corpus for the policy sets.

Prints hit@1 / hit@3 / MRR per set (English and Chinese separately), with and without the
second stage, and warm latency p50/p95 with the ratio ours / baseline.

Usage: python benchmarks/retrieval.py [--golden DIR] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("ASSISTANT_DATA_DIR", tempfile.mkdtemp(prefix="bench-retrieval-"))

import assistant  # noqa: E402  (sets the offline environment first)
from assistant.evaluation import Baseline  # noqa: E402

PAPER = REPO / "corpus" / "high-skilled-talent-training.txt"
PAPER_ID = "high-skilled-talent-training"


def load(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def metrics(ranks: list[int | None]) -> tuple[float, float, float]:
    n = len(ranks) or 1
    return (
        sum(r == 0 for r in ranks) / n,
        sum(r is not None and r < 3 for r in ranks) / n,
        sum(1 / (r + 1) for r in ranks if r is not None) / n,
    )


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000


def forget_questions() -> None:
    """Each timed call embeds its question from scratch (the encoders cache recent questions)."""
    engine = assistant.get_assistant()
    engine.minilm.forget_questions()
    engine.use.forget_questions()


def ours_rank(item: dict, restrict: bool, k: int = 5) -> tuple[int | None, float]:
    forget_questions()
    t0 = time.perf_counter()
    passages = assistant.retrieve(item["q"], k=k, sources=[PAPER_ID] if restrict else None)
    elapsed = time.perf_counter() - t0
    for i, p in enumerate(passages):
        if "sections" in item:
            if p.doc_id == PAPER_ID and p.metadata.get("section_key") in item["sections"]:
                return i, elapsed
        elif p.doc_id in item["doc_ids"]:
            return i, elapsed
    return None, elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--golden", default=str(REPO / "tests" / "golden"))
    parser.add_argument("--repeat", type=int, default=3, help="latency passes over the questions")
    args = parser.parse_args()
    golden = Path(args.golden)

    t0 = time.perf_counter()
    engine = assistant.get_assistant()
    engine.ensure_corpus()
    print(
        f"our index ready in {time.perf_counter() - t0:.1f} s "
        f"({engine.store.chunk_count()} chunks, {len(engine.store.registry())} documents)"
    )
    t0 = time.perf_counter()
    base = Baseline(PAPER)
    print(f"baseline index ready in {time.perf_counter() - t0:.1f} s")

    sets = [(n, golden / f"{n}.jsonl") for n in ("paper_en", "paper_zh", "policy_en", "policy_zh")]
    sets = [(n, p) for n, p in sets if p.is_file()]
    print()
    print(f"{'set':10} {'n':>3}  {'system':22} {'hit@1':>6} {'hit@3':>6} {'MRR':>6}")
    for name, path in sets:
        items = load(path)
        restrict = name.startswith("paper")
        rows = []
        if restrict:
            rows.append(("baseline (LangChain)", [base.rank(it)[0] for it in items]))
        for stage in (False, True):
            engine.retriever.second_stage = stage
            label = "ours, second stage" if stage else "ours, RRF only"
            rows.append((label, [ours_rank(it, restrict)[0] for it in items]))
        for label, ranks in rows:
            h1, h3, mrr = metrics(ranks)
            print(f"{name:10} {len(items):3}  {label:22} {h1:6.3f} {h3:6.3f} {mrr:6.3f}")
    engine.retriever.second_stage = True

    # Warm latency in alternating blocks (baseline block, ours block, repeated) so both see the
    # same machine load over time. Not interleaved query by query: torch's OpenMP threads keep
    # spinning for a while after each baseline call and would slow whatever runs next.
    questions = [it for _, p in sets[:2] for it in load(p)]
    for it in questions[:5]:  # warm-up
        base.rank(it)
        ours_rank(it, True)
    base_t, ours_t = [], []
    for _ in range(args.repeat):
        base_t += [base.rank(it)[1] for it in questions]
        time.sleep(0.5)
        ours_t += [ours_rank(it, True)[1] for it in questions]
        time.sleep(0.5)
    print()
    print(f"warm latency over {len(base_t)} queries (k=5):")
    print(
        f"  baseline similarity_search  p50 {pct(base_t, 0.5):6.1f} ms"
        f"  p95 {pct(base_t, 0.95):6.1f} ms"
    )
    print(
        f"  ours retrieve (full)        p50 {pct(ours_t, 0.5):6.1f} ms"
        f"  p95 {pct(ours_t, 0.95):6.1f} ms"
    )
    print(
        f"  ratio ours/baseline p50: {statistics.median(ours_t) / statistics.median(base_t):.2f}x "
        "(target <= 1.5x)"
    )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {rss:.0f} MB")


if __name__ == "__main__":
    main()
