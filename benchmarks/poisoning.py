"""How many answers one planted upload can take (issue 16).

The planted document has 60 sections whose headings and bodies echo common questions (the
golden paper and policy questions) with no substance; it is added as an own document. The
held-out questions (tests/golden/holdout2, holdout/*_en: none copied into it) are then asked;
printed: the share of answers that cite it at all, cite it as [1], or cite nothing else.

    python benchmarks/poisoning.py --copy-from /path/to/indexed/data-dir   # reuse an index
    python benchmarks/poisoning.py                                          # index the corpus

Run it with PYTHONPATH pointing at another checkout to measure that code (the upload goes
through Assistant.ingest, which every version has).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GOLDEN = REPO / "tests" / "golden"
ECHO_ID = "campus-faq"


def _questions(path: Path) -> list[str]:
    return [json.loads(line)["q"] for line in path.read_text(encoding="utf-8").splitlines() if line]


def echo_document(questions: list[str]) -> str:
    """60 sections that repeat the questions' words and say nothing."""
    parts = ["# Campus FAQ\n"]
    for i, q in enumerate(questions[:60], 1):
        words = q.rstrip("?？")
        parts.append(
            f"## {i}. {words}\n\n{words}: this is an important question for teachers, students, "
            f"enterprises and the college. {words} is answered by our college in this FAQ, "
            "and the college pays close attention to it.\n"
        )
    return "\n".join(parts)


def main() -> None:
    """Plant, ask, print."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--copy-from", help="an indexed data dir to copy (else index anew)")
    args = parser.parse_args()
    from assistant import Settings
    from assistant.pipeline import Assistant

    base = Path(tempfile.mkdtemp(prefix="poison-"))
    data = base / "data"
    if args.copy_from:
        shutil.copytree(args.copy_from, data, ignore=shutil.ignore_patterns("write.lock"))
    a = Assistant(Settings(data_dir=data))
    a.ensure_corpus()
    planted = _questions(GOLDEN / "paper_en.jsonl") + _questions(GOLDEN / "policy_en.jsonl")
    doc = base / f"{ECHO_ID}.md"
    doc.write_text(echo_document(planted), encoding="utf-8")
    report = a.ingest([doc])
    assert report.added == [ECHO_ID], report.as_dict()
    held = _questions(GOLDEN / "holdout2" / "paper_en.jsonl") + [
        q for f in sorted((GOLDEN / "holdout").glob("*_en.jsonl")) for q in _questions(f)
    ]
    held = [q for q in held if q not in planted]
    cited = first = alone = 0
    for q in held:
        answer = a.ask(q)
        ids = [p.doc_id for p in answer.citations]
        cited += ECHO_ID in ids
        first += bool(ids) and ids[0] == ECHO_ID
        alone += bool(ids) and set(ids) == {ECHO_ID}
    n = len(held)
    print(f"held-out questions: {n}")
    print(f"cite the planted document: {cited} ({cited / n:.1%})")
    print(f"  as [1]:                  {first} ({first / n:.1%})")
    print(f"  as the only source:      {alone} ({alone / n:.1%})")
    shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
