"""Evaluate retrieval and refusal on the golden sets. Input: tests/golden/*.jsonl. Output: metrics."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .answering import is_supported
from .config import REPO_ROOT
from .errors import InvalidInputError
from .ingestion import detect_language

if TYPE_CHECKING:
    from .pipeline import Assistant

GOLDEN_DIR = REPO_ROOT / "tests" / "golden"
PAPER_ID = "high-skilled-talent-training"


@dataclass
class SetResult:
    """Metrics of one golden set."""

    name: str
    n: int = 0
    hit1: float = 0.0
    hit3: float = 0.0
    mrr: float = 0.0
    grounded: float = 0.0
    misses: list[dict[str, Any]] = field(default_factory=list)
    p50_ms: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON view (without the per-question misses)."""
        return {
            "set": self.name,
            "n": self.n,
            "hit@1": round(self.hit1, 3),
            "hit@3": round(self.hit3, 3),
            "mrr": round(self.mrr, 3),
            "grounded": round(self.grounded, 3),
            "p50_ms": round(self.p50_ms, 1),
        }


def load_set(path: Path) -> list[dict[str, Any]]:
    """Read one JSONL golden file."""
    if not path.is_file():
        raise InvalidInputError(f"Golden set {path} not found.")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _rank(passages: list[Any], item: dict[str, Any]) -> int | None:
    for i, p in enumerate(passages):
        if "sections" in item:
            if p.doc_id == PAPER_ID and p.metadata.get("section_key") in item["sections"]:
                return i
        elif p.doc_id in item.get("doc_ids", []):
            return i
    return None


def evaluate_set(
    assistant: Assistant, name: str, items: list[dict[str, Any]], *, restrict_paper: bool
) -> SetResult:
    """hit@1, hit@3, MRR and grounded rate of one set."""
    res = SetResult(name, n=len(items))
    times = []
    for item in items:
        t0 = time.perf_counter()
        sources = [PAPER_ID] if restrict_paper else None
        passages = assistant.retrieve(item["q"], k=8, sources=sources)
        times.append(time.perf_counter() - t0)
        rank = _rank(passages, item)
        res.hit1 += rank == 0
        res.hit3 += rank is not None and rank < 3
        res.mrr += 1 / (rank + 1) if rank is not None else 0
        # grounded as ask() decides it: on the whole corpus, not the restricted search
        grounded_passages = assistant.retrieve(item["q"], k=8) if restrict_paper else passages
        res.grounded += is_supported(grounded_passages, detect_language(item["q"]))
        if rank != 0:
            res.misses.append(
                {
                    "q": item["q"],
                    "want": item.get("sections") or item.get("doc_ids"),
                    "got": [
                        p.metadata.get("section_key") if p.doc_id == PAPER_ID else p.doc_id
                        for p in passages[:3]
                    ],
                }
            )
    if items:
        res.hit1 /= len(items)
        res.hit3 /= len(items)
        res.mrr /= len(items)
        res.grounded /= len(items)
        res.p50_ms = sorted(times)[len(times) // 2] * 1000
    return res


def evaluate_offtopic(assistant: Assistant, items: list[dict[str, Any]]) -> SetResult:
    """Share of off-topic questions correctly refused (reported in `grounded` as refusals)."""
    res = SetResult("offtopic", n=len(items))
    refused = 0
    for item in items:
        passages = assistant.retrieve(item["q"], k=8)
        if is_supported(passages, detect_language(item["q"])):
            res.misses.append({"q": item["q"], "got": [p.doc_id for p in passages[:1]]})
        else:
            refused += 1
    res.grounded = 1 - refused / len(items) if items else 0.0
    res.hit1 = refused / len(items) if items else 0.0
    return res


def run_eval(assistant: Assistant, golden_dir: Path = GOLDEN_DIR) -> list[SetResult]:
    """Run every golden set that exists in golden_dir."""
    results = []
    for name, restrict in (
        ("paper_en", True),
        ("paper_zh", True),
        ("policy_en", False),
        ("policy_zh", False),
    ):
        path = golden_dir / f"{name}.jsonl"
        if path.is_file():
            results.append(evaluate_set(assistant, name, load_set(path), restrict_paper=restrict))
    path = golden_dir / "offtopic.jsonl"
    if path.is_file():
        results.append(evaluate_offtopic(assistant, load_set(path)))
    return results
