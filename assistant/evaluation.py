"""Evaluate retrieval and refusal. Input: tests/golden/*.jsonl. Output: metrics per set."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import REPO_ROOT
from .errors import InvalidInputError
from .ingestion import detect_language
from .support import is_supported

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
    return [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def _rank(passages: list[Any], item: dict[str, Any]) -> int | None:
    for i, p in enumerate(passages):
        if "sections" in item:
            if p.doc_id == PAPER_ID and p.metadata.get("section_key") in item["sections"]:
                return i
        elif (p.metadata.get("translation_of") or p.doc_id) in item.get("doc_ids", []):
            return i  # either language version of the expected document
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


class Baseline:
    """The plain LangChain pipeline the issue compares against, over the paper only.

    RecursiveCharacterTextSplitter(1000, 200) + langchain_chroma.Chroma (a temporary folder) +
    the same all-MiniLM-L6-v2 through HuggingFaceEmbeddings + similarity_search(k).
    """

    def __init__(self, paper: Path) -> None:
        """Build the baseline index of the paper (loads sentence-transformers)."""
        import tempfile

        from langchain_chroma import Chroma
        from langchain_huggingface import HuggingFaceEmbeddings
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        from .embeddings import minilm_path
        from .ingestion import load_file

        self.doc = load_file(paper)
        splitter = RecursiveCharacterTextSplitter(
            chunk_size=1000, chunk_overlap=200, add_start_index=True
        )
        emb = HuggingFaceEmbeddings(model_name=str(minilm_path()), model_kwargs={"device": "cpu"})
        self.store = Chroma(
            collection_name="baseline",
            embedding_function=emb,
            persist_directory=tempfile.mkdtemp(prefix="baseline-chroma-"),
        )
        self.store.add_documents(splitter.create_documents([self.doc.text]))

    def rank(self, item: dict[str, Any], k: int = 5) -> tuple[int | None, float]:
        """Rank of the first chunk overlapping an expected section, and the search time."""
        t0 = time.perf_counter()
        hits = self.store.similarity_search(item["q"], k=k)
        elapsed = time.perf_counter() - t0
        wanted = [s for s in self.doc.sections if s.key in item["sections"]]
        for i, hit in enumerate(hits):
            start = int(hit.metadata["start_index"])
            end = start + len(hit.page_content)
            if any(start < s.body_end and end > s.body_start for s in wanted):
                return i, elapsed
        return None, elapsed


def evaluate_baseline(baseline: Baseline, name: str, items: list[dict[str, Any]]) -> SetResult:
    """hit@1, hit@3, MRR of the plain LangChain baseline on a paper set."""
    res = SetResult(f"{name} (baseline)", n=len(items))
    times = []
    for item in items:
        rank, elapsed = baseline.rank(item)
        times.append(elapsed)
        res.hit1 += rank == 0
        res.hit3 += rank is not None and rank < 3
        res.mrr += 1 / (rank + 1) if rank is not None else 0
    if items:
        res.hit1 /= len(items)
        res.hit3 /= len(items)
        res.mrr /= len(items)
        res.p50_ms = sorted(times)[len(times) // 2] * 1000
    return res


def run_eval(
    assistant: Assistant,
    golden_dir: Path = GOLDEN_DIR,
    *,
    compare: bool = False,
    baseline: bool = False,
) -> list[SetResult]:
    """Run every golden set that exists in golden_dir.

    Args:
        assistant: the engine to evaluate.
        golden_dir: folder of *.jsonl sets.
        compare: also evaluate with the second stage off (plain weighted RRF).
        baseline: also evaluate the plain LangChain baseline on the paper sets.
    """
    results = []
    base = None
    if baseline:
        from .config import BUNDLED_CORPUS

        base = Baseline(BUNDLED_CORPUS / f"{PAPER_ID}.txt")
    for name, restrict in (
        ("paper_en", True),
        ("paper_zh", True),
        ("policy_en", False),
        ("policy_zh", False),
    ):
        path = golden_dir / f"{name}.jsonl"
        if not path.is_file():
            continue
        items = load_set(path)
        if base is not None and restrict:
            results.append(evaluate_baseline(base, name, items))
        if compare:
            stage = assistant.retriever.second_stage
            assistant.retriever.second_stage = False
            try:
                rrf = evaluate_set(assistant, name, items, restrict_paper=restrict)
            finally:
                assistant.retriever.second_stage = stage
            rrf.name = f"{name} (RRF only)"
            results.append(rrf)
        results.append(evaluate_set(assistant, name, items, restrict_paper=restrict))
    path = golden_dir / "offtopic.jsonl"
    if path.is_file():
        results.append(evaluate_offtopic(assistant, load_set(path)))
    return results
