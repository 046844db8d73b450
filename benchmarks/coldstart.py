"""Cold start: `assistant search "q" --json` vs a plain LangChain script, process start to result.

Both run as fresh subprocesses on an index built beforehand (3 runs each, median):
- ours: the installed `assistant` CLI on its own data dir (bundled corpus, already indexed);
- baseline: langchain_huggingface.HuggingFaceEmbeddings on the bundled MiniLM folder +
  langchain_chroma.Chroma (a persistent collection built once from the same chunks),
  similarity_search(k=5), printed as JSON.
Also prints whether the top results match (our hybrid retrieval is not MiniLM-only, so some
difference is expected; the overlap is reported, not asserted).

Usage: .venv/bin/python benchmarks/coldstart.py [--runs 3] [--question "..."]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "benchmarks" / "out" / "coldstart"
BIN = Path(sys.executable).parent
QUESTIONS = [
    "How can colleges get teachers to take part in training high-skilled talent?",
    "dual-qualified teachers",
]

BASELINE = r"""
import json, sys
from langchain_chroma import Chroma
from langchain_huggingface import HuggingFaceEmbeddings
emb = HuggingFaceEmbeddings(model_name=sys.argv[1], model_kwargs={"device": "cpu"},
                            encode_kwargs={"normalize_embeddings": True})
db = Chroma(collection_name="baseline", embedding_function=emb, persist_directory=sys.argv[2])
docs = db.similarity_search(sys.argv[3], k=5)
print(json.dumps([{"doc_id": d.metadata.get("doc_id"), "section": d.metadata.get("section", "")}
                  for d in docs]))
"""


def _env() -> dict[str, str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
    env.setdefault("HOME", str(OUT / "home"))
    return env


def _timed(cmd: list[str]) -> tuple[float, str]:
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_env(), cwd=REPO)
    elapsed = time.perf_counter() - t
    if proc.returncode:
        raise SystemExit(f"{cmd[:3]} failed:\n{proc.stderr[-3000:]}")
    return elapsed, proc.stdout


def prepare() -> tuple[Path, Path, Path]:
    """Index the bundled corpus for the CLI and build the baseline's Chroma collection."""
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("HOME", str(OUT / "home"))
    (OUT / "home").mkdir(parents=True, exist_ok=True)
    from assistant import Settings
    from assistant.embeddings import minilm_path
    from assistant.pipeline import Assistant

    data = OUT / "data"
    base = OUT / "baseline-chroma"
    script = OUT / "baseline.py"
    script.write_text(BASELINE, encoding="utf-8")
    a = Assistant(Settings(data_dir=data))
    a.ensure_corpus()
    a.retrieve(QUESTIONS[0], k=5)  # builds the BM25 cache, as any first search would
    marker = base / f"built-{a.store.fingerprint()}"
    if not marker.exists():
        import shutil

        from langchain_chroma import Chroma

        shutil.rmtree(base, ignore_errors=True)
        texts, metas = [], []
        for _ids, page_texts, page_metas in a.store.committed_chunks():
            for text, meta in zip(page_texts, page_metas, strict=True):
                texts.append(f"{meta.get('section', '')}\n{text}" if meta.get("section") else text)
                metas.append({"doc_id": meta["doc_id"], "section": meta.get("section", "")})
        Chroma.from_texts(
            texts,
            a.minilm.langchain_embeddings(),
            metadatas=metas,
            collection_name="baseline",
            persist_directory=str(base),
        )
        marker.touch()
    return data, base, minilm_path()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    data, base, model = prepare()
    rows = []
    for q in QUESTIONS:
        ours, theirs = [], []
        out_ours = out_theirs = ""
        for _ in range(args.runs):  # interleaved, so both see the same machine load
            cli = [str(BIN / "assistant"), "--data-dir", str(data), "search", q, "--json"]
            t, out_ours = _timed(cli)
            ours.append(t)
            t, out_theirs = _timed(
                [sys.executable, str(OUT / "baseline.py"), str(model), str(base), q]
            )
            theirs.append(t)
        a = [(r["doc_id"], r["section"]) for r in json.loads(out_ours)]
        b = [(r["doc_id"], r["section"]) for r in json.loads(out_theirs)]
        rows.append((q, statistics.median(ours), statistics.median(theirs), a, b, ours, theirs))
    print(f"{'question':40} {'CLI s':>6} {'LC s':>6} {'ratio':>6}  top-1 same  top-5 overlap")
    for q, o, t, a, b, _, _ in rows:
        print(
            f"{q[:40]:40} {o:6.2f} {t:6.2f} {o / t:6.2f}  {a[:1] == b[:1]!s:10} "
            f"{len(set(a) & set(b))}/5"
        )
    print(f"(median of {args.runs} runs each; target ratio <= 0.5)")
    for q, _, _, _, _, ours, theirs in rows:
        print(f"  runs {q[:30]!r}: CLI {[round(x, 2) for x in ours]}")
        print(f"  {'':{len(repr(q[:30])) + 6}} LC  {[round(x, 2) for x in theirs]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
