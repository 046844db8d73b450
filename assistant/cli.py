"""The `assistant` command: argument parsing and error rendering only."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import cli_parser
from .cli_parser import Command, assistant_from_args, settings_from_args
from .terminal import for_terminal, json_for_terminal

EXIT_OK, EXIT_ERROR, EXIT_PARTIAL, EXIT_USAGE = 0, 1, 3, 2


def _progress_printer() -> Any:
    if sys.stderr.isatty():
        from tqdm import tqdm

        bar: dict[str, Any] = {}

        def on_progress(name: str, done: int, total: int) -> None:
            if "bar" not in bar:
                bar["bar"] = tqdm(total=total, unit="file", file=sys.stderr)
            bar["bar"].n = done
            bar["bar"].set_postfix_str(name[-30:])
            bar["bar"].refresh()
            if done >= total:
                bar["bar"].close()

        return on_progress

    def plain(name: str, done: int, total: int) -> None:
        if name:
            print(f"[{done + 1}/{total}] {name}", file=sys.stderr, flush=True)

    return plain


def cmd_ingest(args: argparse.Namespace) -> int:
    """assistant ingest PATH..."""
    from .provenance import Arrival

    assistant = assistant_from_args(args)
    assistant.ensure_corpus()
    report = assistant.ingest(
        args.paths,
        title=args.title,
        kind=args.kind,
        doc_id=args.doc_id,
        progress=_progress_printer(),
        arrival=Arrival.local("cli"),
    )
    if args.json:
        print(_json(report.as_dict()))
    else:
        for label, items in (
            ("added", report.added),
            ("updated", report.updated),
            ("unchanged", report.unchanged),
        ):
            for doc_id in items:
                print(for_terminal(f"{label:9} {doc_id}"))
        for skipped in report.skipped:
            print(for_terminal(f"skipped   {skipped.path}: {skipped.reason}"))
        print(
            f"{report.status}: {len(report.added)} added, {len(report.updated)} updated, "
            f"{len(report.unchanged)} unchanged, {len(report.skipped)} skipped, "
            f"{report.chunks_written} chunks written"
        )
    return {"ok": EXIT_OK, "partial": EXIT_PARTIAL}.get(report.status, EXIT_ERROR)


def cmd_search(args: argparse.Namespace) -> int:
    """assistant search "q" [--k N] [--json]."""
    assistant = assistant_from_args(args)
    passages = assistant.retrieve(args.question, k=args.k, sources=args.source, kinds=args.kind)
    if args.json:
        out = [
            {
                "rank": i + 1,
                "score": p.score,
                "doc_id": p.doc_id,
                "title": p.title,
                "section": p.section,
                "citation": p.citation,
                "kind": p.kind,
                "text": p.text,
            }
            for i, p in enumerate(passages)
        ]
        print(json_for_terminal(json.dumps(out, ensure_ascii=False, indent=2)))
    else:
        for i, p in enumerate(passages, 1):
            print(for_terminal(f"[{i}] {p.score:.3f}  {p.citation}"))
            print(for_terminal(f"    {p.text[:300]}{'…' if len(p.text) > 300 else ''}"))
    return EXIT_OK


def cmd_ask(args: argparse.Namespace) -> int:
    """assistant ask "q"."""
    assistant = assistant_from_args(args)
    answer = assistant.ask(args.question, sources=args.source, kinds=args.kind)
    if args.json:
        print(
            _json(
                {
                    "text": answer.text,
                    "grounded": answer.grounded,
                    "mode": answer.mode,
                    "notice": answer.notice,
                    "unsupported_sentences": answer.unsupported_sentences,
                    "citations": [
                        {"n": i + 1, "citation": p.citation, "doc_id": p.doc_id, "text": p.text}
                        for i, p in enumerate(answer.citations)
                    ],
                }
            )
        )
    else:
        print(for_terminal(_plain_text(answer.text)))
    if answer.notice:
        print(for_terminal(f"note: {answer.notice}"), file=sys.stderr)
    return EXIT_OK


def _json(value: Any) -> str:
    return json_for_terminal(json.dumps(value, ensure_ascii=False, indent=2))


def _plain_text(markdown: str) -> str:
    """The answer for a terminal: Markdown escapes and HTML entities undone (text stays text)."""
    import html

    return html.unescape(re.sub(r"\\([\\`*_\[\]()#+!|~>{}])", r"\1", markdown))


def cmd_docs(args: argparse.Namespace) -> int:
    """assistant docs [--json]."""
    records = assistant_from_args(args).documents()
    rows = [
        {
            "doc_id": r.doc_id,
            "title": r.title,
            "kind": r.kind,
            "issuer": r.metadata.get("issuer", ""),
            "date": str(r.metadata.get("date", "")),
            "chunks": r.chunks,
            **{
                k: v
                for k, v in r.metadata.items()
                if k not in {"title", "kind", "issuer", "date", "path"}
            },
        }
        for r in records
    ]
    if args.json:
        print(json_for_terminal(json.dumps(rows, ensure_ascii=False, indent=2)))
    else:
        for row in rows:
            line = (
                f"{row['kind']:7} {row['date'][:10]:10} {row['chunks']:4}  "
                f"{row['doc_id']}  {row['title'][:70]}"
            )
            print(for_terminal(line))
        print(f"{len(rows)} documents, {sum(r['chunks'] for r in rows)} chunks")
    return EXIT_OK


def cmd_remove(args: argparse.Namespace) -> int:
    """assistant remove DOC_ID."""
    from .errors import InvalidInputError

    assistant = assistant_from_args(args)
    if not assistant.remove(args.doc_id):
        raise InvalidInputError(f"No document with doc_id '{args.doc_id}'; see `assistant docs`.")
    print(f"removed {args.doc_id}")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    """assistant check: compare the registry with the index and probe vector search."""
    from .maintenance import check_index

    settings = settings_from_args(args)
    problems = check_index(settings)
    for problem in problems:
        print(f"problem   {problem}")
    if problems:
        print(f"{len(problems)} problem(s); run `assistant reindex` to rebuild the index.")
        return EXIT_ERROR
    print("ok: the index is consistent")
    return EXIT_OK


def cmd_reindex(args: argparse.Namespace) -> int:
    """assistant reindex: rebuild the index from the recorded source files and the corpus."""
    from .maintenance import reindex

    report = reindex(settings_from_args(args), progress=_progress_printer())
    for skipped in report.skipped:
        print(f"skipped   {skipped.path}: {skipped.reason}")
    print(
        f"reindexed: {len(report.added)} documents, {report.chunks_written} chunks written, "
        f"{len(report.skipped)} skipped"
    )
    return {"ok": EXIT_OK, "partial": EXIT_PARTIAL}.get(report.status, EXIT_ERROR)


def cmd_eval_answers(args: argparse.Namespace) -> int:
    """assistant eval --answers [FILE ...]: the answer-level figures (answer_eval.py)."""
    from .answer_eval import evaluate_answers, extractive_twin, load_answer_set
    from .errors import InvalidInputError
    from .evaluation import GOLDEN_DIR

    files = [Path(f) for f in args.answers] or sorted((GOLDEN_DIR / "answers").glob("*.jsonl"))
    assistant = assistant_from_args(args)
    # with an LLM, the extractive mode answers the same questions first, for the side-by-side
    modes = [assistant] if assistant.llm is None else [extractive_twin(assistant), assistant]
    results = []
    for path in files:
        if not path.is_file():
            raise InvalidInputError(f"Answer set {path} not found.")
        items = load_answer_set(path)
        if args.limit and args.limit < len(items):  # spread over the set: every kind of question
            items = items[:: len(items) // args.limit][: args.limit]
        # an LLM answer takes seconds: each question once (the whole set), not again per language
        for lang in ("en", "zh", None) if len(modes) == 1 else (None,):
            subset = [i for i in items if lang is None or i.get("lang") == lang]
            for mode in modes if subset else []:
                tag = "" if len(modes) == 1 else (" llm" if mode.llm is not None else " extr")
                name = f"{path.stem}/{lang or 'all'}{tag}"
                results.append(evaluate_answers(mode, name, subset))
    if args.json:
        print(json.dumps([r.as_dict() for r in results], indent=2))
        return EXIT_OK
    cols = ("key_recall", "fact_first_line", "point_precision", "trap_refusal", "false_refusal",
            "followup_accuracy", "language_match", "points_per_answer", "p50_ms",
            "s_per_answer")  # fmt: skip
    heads = ("keys", "fact1st", "precis", "traps", "falseref", "follow", "lang", "points", "p50ms",
             "s/answer")  # fmt: skip
    print(f"{'set':21} {'n':>4} " + " ".join(f"{h:>8}" for h in heads))
    for r in results:
        row = r.as_dict()
        print(f"{r.name:21} {r.n:4} " + " ".join(f"{row[c]:8.3f}" for c in cols))
    if args.verbose:
        for r in results:
            for failure in r.failures:
                print(f"  {r.name}: {json.dumps(failure, ensure_ascii=False)}")
    return EXIT_OK


def cmd_eval(args: argparse.Namespace) -> int:
    """assistant eval."""
    from .evaluation import GOLDEN_DIR, run_eval

    if args.answers is not None:
        return cmd_eval_answers(args)
    if args.gaps is not None:
        from .gap_cli import cmd_eval_gaps

        return cmd_eval_gaps(args, settings_from_args(args))
    results = run_eval(
        assistant_from_args(args),
        Path(args.golden) if args.golden else GOLDEN_DIR,
        compare=args.compare or args.all,
        baseline=args.baseline or args.all,
    )
    if args.json:
        print(json.dumps([r.as_dict() for r in results], indent=2))
        return EXIT_OK
    print(f"{'set':22} {'n':>4} {'hit@1':>6} {'hit@3':>6} {'MRR':>6} {'grounded':>9} {'p50 ms':>7}")
    for r in results:
        if r.name == "offtopic":
            print(f"{r.name:22} {r.n:4}  refused {r.hit1:.3f} (grounded {r.grounded:.3f})")
        elif "baseline" in r.name:
            print(
                f"{r.name:22} {r.n:4} {r.hit1:6.3f} {r.hit3:6.3f} {r.mrr:6.3f} "
                f"{'':9} {r.p50_ms:7.1f}"
            )
        else:
            print(
                f"{r.name:22} {r.n:4} {r.hit1:6.3f} {r.hit3:6.3f} {r.mrr:6.3f} "
                f"{r.grounded:9.3f} {r.p50_ms:7.1f}"
            )
    if args.verbose:
        for r in results:
            for miss in r.misses:
                print(f"  {r.name} miss: {json.dumps(miss, ensure_ascii=False)}")
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    """assistant serve [--host H] [--port P]."""
    from ui.app import main as serve_main

    return serve_main(
        settings_from_args(args),
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        allow_upload=getattr(args, "allow_upload", None),
    )


COMMANDS: dict[str, Command] = {
    "ingest": cmd_ingest,
    "search": cmd_search,
    "ask": cmd_ask,
    "docs": cmd_docs,
    "remove": cmd_remove,
    "check": cmd_check,
    "reindex": cmd_reindex,
    "eval": cmd_eval,
    "serve": cmd_serve,
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used by the docs)."""
    return cli_parser.build_parser(COMMANDS)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `assistant` command."""
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    from .errors import AssistantError

    try:
        return int(args.func(args))
    except AssistantError as e:  # a damaged index too: the Store wraps every Chroma failure
        print(for_terminal(f"error: {e}"), file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
