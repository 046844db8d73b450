"""Answer latency: warm `ask` vs warm `retrieve` vs a plain LangChain "retrieve and stuff" baseline.

Baseline (same process): RecursiveCharacterTextSplitter(1000, 200) over the paper +
langchain_chroma.Chroma + all-MiniLM-L6-v2 (HuggingFaceEmbeddings) + similarity_search(k=5),
the hits joined into a numbered answer text (what a no-LLM LangChain "stuff" chain shows).
Ours: assistant.ask() (intent, retrieval, answerability, sentence choice, language versions,
rendering). Every question is asked once to warm the caches, then timed in alternating blocks.

Questions: tests/golden/answers/*.jsonl (follow-ups asked with their first turn as history).

Usage: python benchmarks/answers.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("ASSISTANT_DATA_DIR", tempfile.mkdtemp(prefix="bench-answers-"))

import assistant  # noqa: E402  (sets the offline environment first)
from assistant.evaluation import Baseline  # noqa: E402

PAPER = REPO / "corpus" / "high-skilled-talent-training.txt"


def load() -> list[dict]:
    items: list[dict] = []
    for path in sorted((REPO / "tests" / "golden" / "answers").glob("*.jsonl")):
        items += [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x]
    return items


def timed(fn, *args, **kwargs) -> float:
    engine = assistant.get_assistant()
    engine.minilm.forget_questions()  # each call embeds its question from scratch
    engine.use.forget_questions()
    t0 = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    items = load()
    engine = assistant.get_assistant()
    engine.ensure_corpus()
    baseline = Baseline(PAPER)

    def ask(item: dict) -> None:
        history = [(q, "") for q in item.get("history", [])] or None
        engine.ask(item["q"], history=history)

    def stuff(item: dict) -> None:
        hits = baseline.store.similarity_search(item["q"], k=5)
        "\n".join(f"{n}. {h.page_content} [{n}]" for n, h in enumerate(hits, 1))

    for item in items:  # warm: models, caches, sentence vectors
        ask(item)
        stuff(item)
        assistant.retrieve(item["q"], k=5)
    ours, retr, base = [], [], []
    for _ in range(args.repeat):
        for item in items:
            ours.append(timed(ask, item))
            retr.append(timed(assistant.retrieve, item["q"], k=5))
            base.append(timed(stuff, item))

    def p(values: list[float], q: float) -> float:
        return sorted(values)[min(len(values) - 1, int(q * len(values)))] * 1000

    print(f"{len(items)} questions x {args.repeat}, warm")
    print(f"{'':28} {'p50 ms':>8} {'p95 ms':>8}")
    for name, values in (
        ("assistant.ask", ours),
        ("assistant.retrieve (k=5)", retr),
        ("LangChain retrieve+stuff", base),
    ):
        print(f"{name:28} {p(values, 0.5):8.1f} {p(values, 0.95):8.1f}")
    print(
        f"ask / baseline p50: {statistics.median(ours) / statistics.median(base):.2f}x; "
        f"ask / retrieve p50: {statistics.median(ours) / statistics.median(retr):.2f}x"
    )


if __name__ == "__main__":
    main()
