"""Lexical engines compared: today's bm25s (full rebuild) against SQLite FTS5 (in place).

Both index the same pre-tokenised text (assistant.lexical.tokenize: stemming, jieba) of the
committed chunks of the bundled corpus; the corpus is then replicated to N chunks (copies of
the real chunks under new ids and document names) for the timings at scale. Prints, per size:
bm25s build time (what an add/remove costs today), FTS5 add/remove of one 25-chunk document
(one transaction), query p50 of both over the golden questions, and the top-10 overlap of
FTS5 with the bm25s ranking (on real chunk ids: the copies of one chunk tie). FTS5's bm25()
has fixed k1=1.2, b=0.75 and a different IDF from bm25s (Lucene variant, k1=1.5), so rankings
differ slightly even on the same tokens.

Usage: python benchmarks/lexical_engines.py [--sizes 510,10000,100000]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("ASSISTANT_DATA_DIR", tempfile.mkdtemp(prefix="bench-lexical-"))

import assistant  # noqa: E402  (sets the offline environment first)
from assistant.lexical import tokenize  # noqa: E402


def questions() -> list[str]:
    """Golden questions (all sets, held-out included), off-topic ones too."""
    out = []
    for path in sorted((REPO / "tests" / "golden").rglob("*.jsonl")):
        if "answers" in path.parts:
            continue
        out += [json.loads(x)["q"] for x in path.read_text("utf-8").splitlines() if x.strip()]
    return out


def corpus_tokens() -> list[tuple[str, str, list[str]]]:
    """(chunk_id, doc_id, tokens) of the committed chunks, as the lexical index makes them."""
    a = assistant.get_assistant()
    a.ensure_corpus()
    rows = []
    for ids, texts, metas in a.store.committed_chunks():
        for cid, text, meta in zip(ids, texts, metas, strict=False):
            head = "\n".join(str(meta.get(k, "")) for k in ("title", "title_zh", "section"))
            rows.append((cid, str(meta["doc_id"]), tokenize(f"{head}\n{text}") or ["__empty__"]))
    return rows


def replicate(rows: list[tuple[str, str, list[str]]], n: int) -> list[tuple[str, str, list[str]]]:
    """n chunks: the real ones, then copies under new ids and document names."""
    out = list(rows[:n])
    copy = 1
    while len(out) < n:
        out += [(f"{c}#{copy}", f"{d}#{copy}", t) for c, d, t in rows[: n - len(out)]]
        copy += 1
    return out


def fts_query(tokens: list[str]) -> str:
    """OR of the tokens as quoted phrases (no FTS5 syntax from the text)."""
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in tokens)


def tantivy_engine(rows: list[tuple[str, str, list[str]]]):
    """Index rows in tantivy (whitespace tokenizer over our tokens): build s + closures."""
    import tantivy

    sb = tantivy.SchemaBuilder()
    sb.add_text_field("tokens", tokenizer_name="whitespace")
    sb.add_text_field("chunk_id", stored=True, tokenizer_name="raw")
    sb.add_text_field("doc_id", tokenizer_name="raw", index_option="basic")
    schema = sb.build()
    index = tantivy.Index(schema, path=tempfile.mkdtemp(prefix="tantivy-"))
    writer = index.writer(heap_size=100_000_000, num_threads=1)
    t0 = time.perf_counter()
    for c, d, t in rows:
        writer.add_document(tantivy.Document(tokens=" ".join(t), chunk_id=c, doc_id=d))
    writer.commit()
    writer.wait_merging_threads()
    writer = index.writer(heap_size=50_000_000, num_threads=1)
    index.reload()
    build = time.perf_counter() - t0

    def add(doc: list[tuple[str, str, list[str]]]) -> None:
        for c, d, t in doc:
            writer.add_document(tantivy.Document(tokens=" ".join(t), chunk_id=c, doc_id=d))
        writer.commit()
        index.reload()  # readers see the write

    def remove(doc_id: str) -> None:
        writer.delete_documents_by_term("doc_id", doc_id)
        writer.commit()
        index.reload()

    def query(tokens: list[str]) -> list[str]:
        q = tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, tantivy.Query.term_query(schema, "tokens", t)) for t in tokens]
        )
        searcher = index.searcher()
        hits = searcher.search(q, 10).hits
        return [searcher.doc(addr)["chunk_id"][0] for _, addr in hits]

    return build, add, remove, query


def main() -> int:
    """Print the comparison table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="510,10000,100000")
    args = parser.parse_args()
    import bm25s
    import numpy as np

    real = corpus_tokens()
    qs = [tokenize(q) for q in questions()]
    qs = [q for q in qs if q]
    print(f"{len(real)} real chunks, {len(qs)} golden questions; load average "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")  # fmt: skip
    print(f"{'chunks':>7} {'bm25s build s':>13} {'fts5 build s':>12} {'fts5 add doc s':>14} "
          f"{'fts5 remove s':>13} {'bm25s q p50 ms':>14} {'fts5 q p50 ms':>13} "
          f"{'top10 overlap':>13} | tantivy: {'build s':>7} {'add s':>6} {'remove s':>8} "
          f"{'q p50 ms':>8} {'overlap':>7}")  # fmt: skip
    for size in (int(x) for x in args.sizes.split(",")):
        rows = replicate(real, size)
        t0 = time.perf_counter()
        bm = bm25s.BM25()
        bm.index([t for _, _, t in rows], show_progress=False)
        t_bm = time.perf_counter() - t0  # without tokenising (which today's rebuild also does)
        db_path = Path(tempfile.mkdtemp(prefix="fts5-")) / "lexical.sqlite"
        con = sqlite3.connect(db_path)
        con.execute(
            "CREATE VIRTUAL TABLE chunks USING fts5(tokens, chunk_id UNINDEXED, doc_id UNINDEXED,"
            " tokenize=\"unicode61 remove_diacritics 0 tokenchars '-'''\")"
        )
        t0 = time.perf_counter()
        with con:
            con.executemany(
                "INSERT INTO chunks(tokens, chunk_id, doc_id) VALUES (?, ?, ?)",
                ((" ".join(t), c, d) for c, d, t in rows),
            )
        t_fts = time.perf_counter() - t0
        new_doc = [(f"{c}#new", "new-doc", t) for c, _, t in real[:25]]
        t0 = time.perf_counter()
        with con:
            con.executemany(
                "INSERT INTO chunks(tokens, chunk_id, doc_id) VALUES (?, ?, ?)",
                ((" ".join(t), c, d) for c, d, t in new_doc),
            )
        t_add = time.perf_counter() - t0
        t0 = time.perf_counter()
        with con:
            con.execute("DELETE FROM chunks WHERE doc_id = ?", ("new-doc",))
        t_remove = time.perf_counter() - t0
        ids = [c for c, _, _ in rows]
        vocab = bm.vocab_dict
        lat_bm, lat_fts, overlaps = [], [], []
        for q in qs:
            known = [t for t in q if t in vocab]
            t0 = time.perf_counter()
            if known:
                docs, _ = bm.retrieve([known], k=10, show_progress=False, n_threads=1)
                top_bm = [ids[int(d)] for d in docs[0]]
            else:
                top_bm = []
            lat_bm.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            top_fts = [r[0] for r in con.execute(
                "SELECT chunk_id FROM chunks WHERE chunks MATCH ? ORDER BY rank LIMIT 10",
                (fts_query(q),),
            )]  # fmt: skip
            lat_fts.append(time.perf_counter() - t0)
            if top_bm:  # copies of one chunk tie: compare which real chunks were found
                base_bm = {c.split("#")[0] for c in top_bm}
                base_fts = {c.split("#")[0] for c in top_fts}
                overlaps.append(len(base_bm & base_fts) / len(base_bm))
        con.close()
        tv_build, tv_add, tv_remove, tv_query = tantivy_engine(rows)
        t0 = time.perf_counter()
        tv_add(new_doc)
        tv_t_add = time.perf_counter() - t0
        t0 = time.perf_counter()
        tv_remove("new-doc")
        tv_t_remove = time.perf_counter() - t0
        lat_tv, over_tv = [], []
        for q in qs:
            known = [t for t in q if t in vocab]
            t0 = time.perf_counter()
            top_tv = tv_query(q)
            lat_tv.append(time.perf_counter() - t0)
            if known:
                docs, _ = bm.retrieve([known], k=10, show_progress=False, n_threads=1)
                base_bm = {ids[int(d)].split("#")[0] for d in docs[0]}
                base_tv = {c.split("#")[0] for c in top_tv}
                over_tv.append(len(base_bm & base_tv) / len(base_bm))
        print(f"{size:>7} {t_bm:>13.2f} {t_fts:>12.2f} {t_add:>14.3f} {t_remove:>13.3f} "
              f"{1000 * statistics.median(lat_bm):>14.2f} "
              f"{1000 * statistics.median(lat_fts):>13.2f} {np.mean(overlaps):>13.3f} | "
              f"{'':9}{tv_build:>7.2f} {tv_t_add:>6.3f} {tv_t_remove:>8.3f} "
              f"{1000 * statistics.median(lat_tv):>8.2f} {np.mean(over_tv):>7.3f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
