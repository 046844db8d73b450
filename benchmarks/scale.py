"""Scale benchmark: ingest throughput, retrieve latency and peak memory at 1k / 10k / 100k chunks.

The corpora are synthetic but built only from the real corpus: Markdown documents whose
titles, section headings and sentences are sampled (seeded RNG, so every run builds the same
files) from corpus/. Each size runs in its own child process so peak RSS is per size.

For each size it prints:
- ingest throughput (chunks/s) through the real `Assistant.ingest` (files -> sandboxed load
  -> split -> MiniLM + USE embeddings -> Chroma -> commit), and its ratio to the raw encode
  throughput of the same texts: raw sentence-transformers MiniLM alone, and raw MiniLM + USE
  (our ingest embeds with both, so MiniLM+USE is the honest limit);
- retrieve p50 / p95 over the golden questions (after one warm-up query that builds BM25);
- the cost of one registry refresh (Store.registry, done at most every 2 s per process);
- peak RSS of the child process.

Usage:
    .venv/bin/python benchmarks/scale.py                    # 1k and 10k
    .venv/bin/python benchmarks/scale.py --sizes 100000 --reuse-embeddings

--reuse-embeddings keeps the vectors of every text in benchmarks/out/cache/ (one folder per
model and text list, one shard per ingest batch): the first run encodes and saves them, a
re-run skips encoding, so its "ingest" number is the store path alone (labelled "cached" in
the table). A run that was interrupted resumes: only the texts not yet cached are encoded
(the result's "cached_before" says how many were not; a partly cached number is not a
throughput).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "benchmarks" / "out"
CORPUS = REPO / "corpus"
sys.path.insert(0, str(REPO))


# ---------------------------------------------------------------- synthetic corpus


def _vocabulary() -> tuple[list[str], list[str], list[str]]:
    """Sentences, headings and titles of the real corpus."""
    sentences: list[str] = []
    headings: list[str] = []
    titles: list[str] = []
    for path in sorted(CORPUS.rglob("*")):
        if path.suffix not in {".md", ".txt"}:
            continue
        text = path.read_text(encoding="utf-8")
        if text.startswith("---"):
            front, _, text = text[3:].partition("\n---")
            m = re.search(r"^title:\s*(.+)$", front, re.M)
            if m:
                titles.append(m.group(1).strip().strip('"'))
        for line in text.splitlines():
            line = line.strip()
            if not line:
                continue
            if line.startswith("#") or (len(line) < 90 and re.match(r"^\d+(\.\d+)*\.?\s+\S", line)):
                headings.append(re.sub(r"^[#\d.\s]+", "", line).strip() or line)
                continue
            for s in re.split(r"(?<=[.!?。！？])\s*", line):
                if len(s) > 25:
                    sentences.append(s.strip())
    return sentences, [h for h in headings if len(h) > 3], titles


def build_corpus(n_chunks: int, folder: Path, seed: int = 7) -> tuple[list[str], int]:
    """Write Markdown documents to folder until they split into >= n_chunks chunks.

    Returns the embed texts of all chunks (in ingest order) and the number of documents.
    """
    from assistant.chunking import split_document
    from assistant.ingestion import load_file

    rng = np.random.default_rng(seed)
    sentences, headings, titles = _vocabulary()
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / ".complete"
    texts: list[str] = []
    n_docs = 0
    while len(texts) < n_chunks:
        title = f"{titles[rng.integers(len(titles))]} (synthetic {n_docs:06d})"
        lines = ["---", f"doc_id: syn-{n_docs:06d}", f"title: {json.dumps(title)}", "kind: own"]
        lines += ["---", ""]
        lines.append(f"# {title}\n")
        for s in range(int(rng.integers(4, 9))):
            lines.append(f"## {s + 1}. {headings[rng.integers(len(headings))]}\n")
            for _ in range(int(rng.integers(1, 4))):
                k = int(rng.integers(3, 8))
                para = " ".join(sentences[i] for i in rng.integers(len(sentences), size=k))
                lines.append(para + "\n")
        path = folder / f"syn-{n_docs:06d}.md"
        if not marker.exists():
            path.write_text("\n".join(lines), encoding="utf-8")
        doc = load_file(path)
        texts.extend(c.embed_text for c in split_document(doc))
        n_docs += 1
    marker.write_text(str(n_docs))
    return texts, n_docs


# ---------------------------------------------------------------- embedding cache


class CachingEncoder:
    """Wraps an encoder's encode_documents with an on-disk text -> vector cache (benchmark only).

    New vectors are appended to the shard folder after every batch, so an interrupted 100k
    run keeps what it encoded and a re-run only encodes the rest. Vectors are read back from
    their shard when needed (a few shards kept in memory), so the cache adds little to the
    peak RSS that the benchmark reports.
    """

    def __init__(
        self, inner: object, index: dict[str, tuple[str, int]], *, encode: bool, shards: Path
    ) -> None:
        self.inner = inner
        self.index = index  # text key -> (shard file, row)
        self.encode = encode
        self.shards = shards
        self.name = inner.name  # type: ignore[attr-defined]
        self.dim = inner.dim  # type: ignore[attr-defined]
        self.encoded = 0  # texts encoded by the model in this run
        self.encode_s = 0.0  # wall seconds inside the model
        self.encode_cpu_s = 0.0

    def encode_documents(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if _key(t) not in self.index]
        fresh: dict[str, np.ndarray] = {}
        if missing:
            if not self.encode:
                raise RuntimeError(f"{len(missing)} texts are not in the embedding cache")
            t, c = time.perf_counter(), time.process_time()
            vecs = np.asarray(self.inner.encode_documents(missing), dtype=np.float32)  # type: ignore[attr-defined]
            self.encode_s += time.perf_counter() - t
            self.encode_cpu_s += time.process_time() - c
            self.encoded += len(missing)
            keys = [_key(t) for t in missing]
            fresh = dict(zip(keys, vecs, strict=True))
            self.shards.mkdir(parents=True, exist_ok=True)
            n = len(list(self.shards.glob("*.npz")))
            part = self.shards / f"part-{n:05d}.npz"
            tmp = self.shards / f".part-{n:05d}.npz"
            np.savez(tmp, k=np.array(keys), v=vecs)
            tmp.rename(part)
            self.index.update((k, (str(part), i)) for i, k in enumerate(keys))
        if not texts:
            return np.zeros((0, self.dim))
        rows = []
        for t in texts:
            k = _key(t)
            if k in fresh:
                rows.append(fresh[k])
            else:
                part, i = self.index[k]
                rows.append(_shard_vectors(part)[i])
        return np.stack(rows)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.inner.encode_queries(texts)  # type: ignore[attr-defined]


@functools.lru_cache(maxsize=4)
def _shard_vectors(part: str) -> np.ndarray:
    with np.load(part) as z:
        return z["v"]


def _key(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def _shard_dir(model: str, texts: list[str]) -> Path:
    digest = hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:16]
    return OUT / "cache" / f"{model}-{len(texts)}-{digest}"


def _load_cache(model: str, texts: list[str]) -> dict[str, tuple[str, int]]:
    """Where each cached vector is: text key -> (shard file, row)."""
    index: dict[str, tuple[str, int]] = {}
    for part in sorted(_shard_dir(model, texts).glob("part-*.npz")):
        with np.load(part) as z:
            index.update((k, (str(part), i)) for i, k in enumerate(z["k"].tolist()))
    return index


# ---------------------------------------------------------------- one size (child process)


def _questions() -> list[str]:
    out = []
    for name in ("paper_en", "paper_zh", "policy_en", "policy_zh"):
        for line in (REPO / "tests" / "golden" / f"{name}.jsonl").read_text().splitlines():
            if line.strip():
                out.append(json.loads(line)["q"])
    return out[::3]  # 48 questions, en and zh


def run_size(n: int, reuse: bool, raw_sample: int) -> dict[str, object]:
    """Build, ingest and query one corpus size; returns the measurements."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from assistant.config import Settings
    from assistant.embeddings import default_encoders, minilm_path
    from assistant.pipeline import Assistant

    docs = OUT / f"scale-{n}" / "docs"
    texts, n_docs = build_corpus(n, docs)
    data = OUT / f"scale-{n}" / "data"
    import shutil

    shutil.rmtree(data, ignore_errors=True)
    result: dict[str, object] = {"size": n, "chunks": len(texts), "docs": n_docs}

    # raw encode throughput on (a sample of) the same texts: the limit on this machine
    sample = texts[: min(raw_sample, len(texts))]
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    st = SentenceTransformer(str(minilm_path()), device="cpu", local_files_only=True)
    st.encode(sample[:64], batch_size=64)  # warm-up
    t, c = time.perf_counter(), time.process_time()
    st.encode(sample, batch_size=64, normalize_embeddings=True)
    raw_minilm = len(sample) / (time.perf_counter() - t)
    raw_minilm_cpu = len(sample) / (time.process_time() - c)
    _, use = default_encoders()
    use.encode_documents(sample[:64])  # warm-up (loads weights)
    t, c = time.perf_counter(), time.process_time()
    use.encode_documents(sample)
    raw_use = len(sample) / (time.perf_counter() - t)
    raw_use_cpu = len(sample) / (time.process_time() - c)
    result.update(raw_sample=len(sample), raw_minilm=raw_minilm, raw_use=raw_use)
    result["raw_both"] = 1.0 / (1.0 / raw_minilm + 1.0 / raw_use)
    # per CPU-second too: on a shared machine wall-clock rates swing with the neighbours' load
    result["raw_minilm_cpu"] = raw_minilm_cpu
    result["raw_both_cpu"] = 1.0 / (1.0 / raw_minilm_cpu + 1.0 / raw_use_cpu)
    del st

    assistant = Assistant(Settings(data_dir=data, auto_ingest=False))
    caches = {}
    cached = False
    if reuse:
        caches = {m: _load_cache(m, texts) for m in ("minilm", "use")}
        unique = {_key(t) for t in texts}
        cached = all(unique <= c.keys() for c in caches.values())
        result["cached_before"] = min(len(unique & c.keys()) for c in caches.values())
        # model load is not ingest throughput; a cached run loads and uses both models too,
        # so that its peak RSS includes them (only the encoding time is saved)
        assistant.minilm.langchain_embeddings()
        assistant.minilm.encode_documents(texts[:256])
        assistant.use.encode_documents(texts[:256])
        for m in ("minilm", "use"):
            enc = CachingEncoder(
                getattr(assistant, m), caches[m], encode=not cached, shards=_shard_dir(m, texts)
            )
            setattr(assistant, m, enc)
    else:
        assistant.minilm.langchain_embeddings()  # model load is not ingest throughput
    t, c = time.perf_counter(), time.process_time()
    report = assistant.ingest([docs])
    ingest_s = time.perf_counter() - t
    result["ingest_cps_cpu"] = report.chunks_written / (time.process_time() - c)
    if report.skipped:
        raise SystemExit(f"ingest skipped files: {report.skipped[:3]}")
    result.update(
        ingest_s=ingest_s,
        ingest_cps=report.chunks_written / ingest_s,
        cached=cached,
        written=report.chunks_written,
    )
    if reuse and result.get("cached_before") and not cached:
        # A resumed run: project the full ingest from what was measured in this one: the
        # encode time per text (both models, inside the ingest) scaled to every chunk, plus the
        # rest of the ingest (parse, split, Chroma writes, commits) which covered every chunk.
        enc = [assistant.minilm, assistant.use]
        n_enc = min(e.encoded for e in enc)  # type: ignore[attr-defined]
        enc_s = sum(e.encode_s for e in enc)  # type: ignore[attr-defined]
        enc_cpu = sum(e.encode_cpu_s for e in enc)  # type: ignore[attr-defined]
        rest_s = ingest_s - enc_s
        rest_cpu = report.chunks_written / result["ingest_cps_cpu"] - enc_cpu
        full_s = enc_s * report.chunks_written / n_enc + rest_s
        full_cpu = enc_cpu * report.chunks_written / n_enc + rest_cpu
        result.update(
            encoded=n_enc,
            encode_s=enc_s,
            rest_s=rest_s,
            projected_cps=report.chunks_written / full_s,
            projected_cps_cpu=report.chunks_written / full_cpu,
        )

    result.update(measure_queries(assistant))
    return result


def measure_queries(assistant: object) -> dict[str, object]:
    """Retrieve latency (wall and CPU ms), registry costs and peak RSS of this process."""
    a = assistant
    questions = _questions()
    out: dict[str, object] = {}
    t = time.perf_counter()
    a.retrieve(questions[0], k=5)  # type: ignore[attr-defined]  # builds/loads BM25, encoders
    out["first_query_s"] = time.perf_counter() - t
    a.retrieve("如何建设双师型教师队伍", k=5)  # type: ignore[attr-defined]  # jieba's dictionary
    lat, cpu = [], []
    for q in questions:
        a.minilm.forget_questions()  # type: ignore[attr-defined]  # no cached question vectors
        a.use.forget_questions()  # type: ignore[attr-defined]
        t, c = time.perf_counter(), time.process_time()
        a.retrieve(q, k=5)  # type: ignore[attr-defined]
        lat.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    lat.sort()
    out.update(
        p50_ms=statistics.median(lat),
        p95_ms=lat[int(0.95 * (len(lat) - 1))],
        p50_cpu_ms=statistics.median(cpu),
    )
    store = a.store  # type: ignore[attr-defined]
    t = time.perf_counter()
    for _ in range(5):
        store.registry(fresh=True)
    out["registry_ms"] = (time.perf_counter() - t) * 200  # full read of every record
    t = time.perf_counter()
    for _ in range(5):
        store._registry_time -= 10  # expired cache, nothing changed: the 2 s poll
        store.registry()
    out["poll_ms"] = (time.perf_counter() - t) * 200
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def query_only(n: int) -> dict[str, object]:
    """Re-open an index built by an earlier run and measure queries only."""
    from assistant.config import Settings
    from assistant.pipeline import Assistant

    data = OUT / f"scale-{n}" / "data"
    if not data.exists():
        raise SystemExit(f"{data} does not exist: run with --sizes {n} first")
    a = Assistant(Settings(data_dir=data, auto_ingest=False))
    with a.store.write_lock():  # indexes built before the generation record existed lack it
        a.store._bump_generation()
    out: dict[str, object] = {"size": n, "chunks": a.store.chunk_count()}
    out["docs"] = len(a.store.registry())
    out.update(measure_queries(a))
    out.update(measure_small_writes(a))
    return out


def measure_small_writes(a: object) -> dict[str, object]:
    """A script adds one small document to the big index and removes it again (wall s).

    Also the full orphan scan that an ingest pays only after an interrupted write.
    """
    import tempfile

    store = a.store  # type: ignore[attr-defined]
    a.minilm.langchain_embeddings()  # type: ignore[attr-defined]  # model load is not the write
    with store.write_lock():
        t = time.perf_counter()
        store.collect_orphans()
        scan_s = time.perf_counter() - t
    folder = Path(tempfile.mkdtemp(prefix="scale-one-doc-"))
    doc = folder / "one-new-rule.md"
    doc.write_text(
        "# One new rule\n\n## 1. Teachers in companies\n\nEvery specialty teacher spends at "
        "least one month a year in a partner company.\n",
        encoding="utf-8",
    )
    t = time.perf_counter()
    report = a.ingest([doc])  # type: ignore[attr-defined]
    add_s = time.perf_counter() - t
    t = time.perf_counter()
    a.retrieve("How long do teachers spend in partner companies?", k=5)  # type: ignore[attr-defined]
    first_after_s = time.perf_counter() - t
    t = time.perf_counter()
    a.remove(report.added[0])  # type: ignore[attr-defined]
    remove_s = time.perf_counter() - t
    a.retrieve("How long do teachers spend in partner companies?", k=5)  # type: ignore[attr-defined]
    return {
        "orphan_scan_s": scan_s,
        "add_doc_s": add_s,
        "first_query_after_add_s": first_after_s,
        "remove_doc_s": remove_s,
    }


# ---------------------------------------------------------------- driver


def _table(rows: list[dict[str, object]]) -> str:
    head = (
        f"{'chunks':>7} {'docs':>5} {'ingest c/s':>10} {'raw MiniLM':>10} {'raw M+USE':>9} "
        f"{'÷MiniLM':>7} {'÷M+USE':>7} {'p50 ms':>7} {'p95 ms':>7} {'reg ms':>6} {'RSS MB':>7}"
    )
    lines = ["wall-clock chunks/s:", head]
    for r in rows:
        tag = "*" if r["cached"] else ("~" if r.get("cached_before") else " ")
        lines.append(
            f"{r['chunks']:>7} {r['docs']:>5} {r['ingest_cps']:>9.1f}{tag} "
            f"{r['raw_minilm']:>10.1f} "
            f"{r['raw_both']:>9.1f} {r['ingest_cps'] / r['raw_minilm']:>7.2f} "  # type: ignore[operator]
            f"{r['ingest_cps'] / r['raw_both']:>7.2f} "  # type: ignore[operator]
            f"{r['p50_ms']:>7.1f} {r['p95_ms']:>7.1f} "
            f"{r['registry_ms']:>6.1f} {r['peak_rss_mb']:>7.0f}"
        )
    lines.append("per CPU-second of this process (robust to the neighbours' load):")
    for r in rows:
        lines.append(
            f"{r['chunks']:>7} ingest {r['ingest_cps_cpu']:.1f} c/cpu-s; raw MiniLM "
            f"{r['raw_minilm_cpu']:.1f}, raw MiniLM+USE {r['raw_both_cpu']:.1f}; ratios "
            f"{r['ingest_cps_cpu'] / r['raw_minilm_cpu']:.2f} / "  # type: ignore[operator]
            f"{r['ingest_cps_cpu'] / r['raw_both_cpu']:.2f}"  # type: ignore[operator]
        )
    if any(r["cached"] for r in rows):
        lines.append("* ingest with cached vectors (no encoding): store path only")
    for r in rows:
        if r.get("cached_before") and not r["cached"]:
            lines.append(
                f"~ {r['chunks']}: resumed run ({r['cached_before']} vectors cached before, "
                f"{r['encoded']} encoded now in {r['encode_s']:.0f} s; parse + split + store "
                f"{r['rest_s']:.0f} s for all). Projected full ingest: "
                f"{r['projected_cps']:.1f} c/s wall = {r['projected_cps'] / r['raw_both']:.2f} "
                f"of raw MiniLM+USE; {r['projected_cps_cpu']:.1f} c/cpu-s = "
                f"{r['projected_cps_cpu'] / r['raw_both_cpu']:.2f} (MiniLM alone "
                f"{r['projected_cps_cpu'] / r['raw_minilm_cpu']:.2f})"
            )
    return "\n".join(lines)


def _query_table(rows: list[dict[str, object]]) -> str:
    lines = [
        f"{'chunks':>7} {'docs':>5} {'p50 ms':>7} {'p95 ms':>7} {'p50 CPU ms':>10} "
        f"{'registry read ms':>16} {'2 s poll ms':>11} {'RSS MB':>7}"
    ]
    for r in rows:
        lines.append(
            f"{r['chunks']:>7} {r['docs']:>5} {r['p50_ms']:>7.1f} {r['p95_ms']:>7.1f} "
            f"{r['p50_cpu_ms']:>10.1f} {r['registry_ms']:>16.1f} {r['poll_ms']:>11.1f} "
            f"{r['peak_rss_mb']:>7.0f}"
        )
    lines.append("one small document into the big index (wall s; model already loaded):")
    lines.append(
        f"{'chunks':>7} {'add 1 doc':>9} {'1st query after':>15} {'remove it':>9} "
        f"{'orphan scan (only after a crash)':>33}"
    )
    for r in rows:
        lines.append(
            f"{r['chunks']:>7} {r['add_doc_s']:>9.2f} {r['first_query_after_add_s']:>15.2f} "
            f"{r['remove_doc_s']:>9.2f} {r['orphan_scan_s']:>33.2f}"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated chunk counts")
    parser.add_argument("--reuse-embeddings", action="store_true", help="cache vectors on disk")
    parser.add_argument(
        "--raw-sample", type=int, default=2000, help="texts used to measure raw encode speed"
    )
    parser.add_argument(
        "--query-only",
        action="store_true",
        help="re-open the indexes of an earlier run and measure queries only (same load for all)",
    )
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        res = (
            query_only(args.one)
            if args.query_only
            else run_size(args.one, args.reuse_embeddings, args.raw_sample)
        )
        print("RESULT " + json.dumps(res))
        return 0
    rows = []
    for n in [int(s) for s in args.sizes.split(",") if s.strip()]:
        cmd = [sys.executable, __file__, "--one", str(n), "--raw-sample", str(args.raw_sample)]
        if args.reuse_embeddings:
            cmd.append("--reuse-embeddings")
        if args.query_only:
            cmd.append("--query-only")
        t = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
        if proc.returncode or line is None:
            print(proc.stdout[-2000:], proc.stderr[-4000:], file=sys.stderr)
            return 1
        rows.append(json.loads(line[7:]))
        print(f"size {n}: done in {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    print(_query_table(rows) if args.query_only else _table(rows))
    if len(rows) > 1:
        small, big = rows[0], rows[-1]
        print(
            f"p50 ratio {big['chunks']} vs {small['chunks']} chunks: "
            f"{big['p50_ms'] / small['p50_ms']:.2f}x (target <= 3)"  # type: ignore[operator]
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
