"""The `assistant` command: argument parsing and error rendering only."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .terminal import for_terminal, json_for_terminal

EXIT_OK, EXIT_ERROR, EXIT_PARTIAL, EXIT_USAGE = 0, 1, 3, 2


def _settings(args: argparse.Namespace) -> Any:
    from .config import Settings

    overrides: dict[str, Any] = {}
    if getattr(args, "chroma_url", None):
        overrides["chroma_url"] = args.chroma_url
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = Path(args.data_dir)
    if getattr(args, "llm", None):
        overrides["llm"] = args.llm
    if getattr(args, "llm_base_url", None):
        overrides["llm_base_url"] = args.llm_base_url
    return Settings(**overrides)


def _assistant(args: argparse.Namespace) -> Any:
    from . import get_assistant

    return get_assistant(_settings(args))


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

    assistant = _assistant(args)
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
    assistant = _assistant(args)
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
    assistant = _assistant(args)
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
    records = _assistant(args).documents()
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

    assistant = _assistant(args)
    if not assistant.remove(args.doc_id):
        raise InvalidInputError(f"No document with doc_id '{args.doc_id}'; see `assistant docs`.")
    print(f"removed {args.doc_id}")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    """assistant check: compare the registry with the index and probe vector search."""
    from .maintenance import check_index

    settings = _settings(args)
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

    report = reindex(_settings(args), progress=_progress_printer())
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
    assistant = _assistant(args)
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

        return cmd_eval_gaps(args, _settings(args))
    results = run_eval(
        _assistant(args),
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
        _settings(args),
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        allow_upload=getattr(args, "allow_upload", None),
    )


def _global_options(parser: argparse.ArgumentParser, **defaults: Any) -> None:
    """The options every command reads into Settings (see _settings)."""
    parser.add_argument("--chroma-url", help="use a Chroma server (http://host:port)", **defaults)
    parser.add_argument("--data-dir", help="where the embedded index lives", **defaults)
    parser.add_argument(
        "--llm",
        help="write answers with an LLM: ollama:<model> or openai:<model> (docs/llm.md)",
        **defaults,
    )
    parser.add_argument(
        "--llm-base-url", help="the LLM server, e.g. http://127.0.0.1:11434", **defaults
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used by the docs)."""
    parser = argparse.ArgumentParser(
        prog="assistant", description="Policy guidance assistant: cited countermeasures."
    )
    _global_options(parser)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="index files or folders")
    p.add_argument("paths", nargs="+")
    p.add_argument("--title")
    p.add_argument(
        "--kind",
        help="own (default) or, as an administrator, policy / paper (logged in audit.jsonl); "
        "front matter cannot set it",
    )
    p.add_argument("--doc-id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ingest)

    for name, func, help_text in (
        ("search", cmd_search, "show the best passages"),
        ("ask", cmd_ask, "answer with cited countermeasures"),
    ):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("question")
        p.add_argument("--source", action="append", help="restrict to a doc_id (repeatable)")
        p.add_argument("--kind", action="append", help="restrict to paper/policy/own (repeatable)")
        p.add_argument("--json", action="store_true")
        if name == "search":
            p.add_argument("--k", type=int, default=5)
        p.set_defaults(func=func)

    p = sub.add_parser("docs", help="list indexed documents")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_docs)

    p = sub.add_parser("remove", help="delete one document from the index")
    p.add_argument("doc_id")
    p.set_defaults(func=cmd_remove)

    p = sub.add_parser("check", help="check the index for damage or half-indexed documents")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("reindex", help="rebuild the index from the recorded source files")
    p.set_defaults(func=cmd_reindex)

    p = sub.add_parser("eval", help="retrieval quality on the golden sets")
    p.add_argument("--golden", help="folder of golden *.jsonl files")
    p.add_argument("--json", action="store_true")
    p.add_argument("-v", "--verbose", action="store_true", help="list the misses")
    p.add_argument("--compare", action="store_true", help="also without the second stage")
    p.add_argument("--baseline", action="store_true", help="also the plain LangChain baseline")
    p.add_argument("--all", action="store_true", help="--compare and --baseline")
    p.add_argument(
        "--answers",
        nargs="*",
        metavar="FILE",
        help="score answers, not passages (default: tests/golden/answers/*.jsonl); with --llm, "
        "beside the extractive mode's figures",
    )
    p.add_argument(
        "--limit", type=int, metavar="N", help="with --answers: N questions spread over each set"
    )
    p.add_argument(
        "--gaps",
        nargs="*",
        metavar="FOLDER",
        help="score the gap report on planted plans (default: tests/golden/gaps and its sets)",
    )
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("serve", help="run the web chat")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--allow-upload", action="store_true", default=None)
    p.set_defaults(func=cmd_serve)

    from .gap_cli import add_commands  # `assistant requirements`, `assistant gaps`

    add_commands(sub, _settings, _assistant)
    for command in sub.choices.values():
        # also after the command (`assistant serve --llm ...`); absent there, the value given
        # before the command (or None) stands
        _global_options(command, default=argparse.SUPPRESS)
    return parser


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
