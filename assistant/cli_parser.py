"""The `assistant` command's arguments. Input: argv. Output: a Namespace, and Settings from it.

`build_parser` declares every command and its options; `settings_from_args` is the one place
the global options (--chroma-url, --data-dir, --llm, --llm-base-url) become Settings, for every
command, the web chat of `assistant serve` included (ui receives that Settings object).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import Settings

Command = Callable[[argparse.Namespace], int]


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Settings from the environment, overridden by the global options that were given."""
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


def assistant_from_args(args: argparse.Namespace) -> Any:
    """The process-wide Assistant for these arguments' Settings."""
    from . import get_assistant

    return get_assistant(settings_from_args(args))


def _global_options(parser: argparse.ArgumentParser, **defaults: Any) -> None:
    """The options every command reads into Settings (see settings_from_args)."""
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


def build_parser(commands: Mapping[str, Command]) -> argparse.ArgumentParser:
    """The argument parser.

    Args:
        commands: the function that runs each command, by name (ingest, search, ask, docs,
            remove, check, reindex, eval, serve); `requirements` and `gaps` are gap_cli's.

    Returns:
        The parser; a parsed command's function is its `func`.
    """
    parser = argparse.ArgumentParser(
        prog="assistant", description="Policy guidance assistant: cited countermeasures."
    )
    _global_options(parser)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_ingest(sub, commands["ingest"])
    for name, help_text in (
        ("search", "show the best passages"),
        ("ask", "answer with cited countermeasures"),
    ):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("question")
        p.add_argument("--source", action="append", help="restrict to a doc_id (repeatable)")
        p.add_argument("--kind", action="append", help="restrict to paper/policy/own (repeatable)")
        p.add_argument("--json", action="store_true")
        if name == "search":
            p.add_argument("--k", type=int, default=5)
        p.set_defaults(func=commands[name])
    _add_index_commands(sub, commands)
    _add_eval(sub, commands["eval"])

    p = sub.add_parser("serve", help="run the web chat")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--allow-upload", action="store_true", default=None)
    p.set_defaults(func=commands["serve"])

    from .gap_cli import add_commands  # `assistant requirements`, `assistant gaps`

    add_commands(sub, settings_from_args, assistant_from_args)
    for command in sub.choices.values():
        # also after the command (`assistant serve --llm ...`); absent there, the value given
        # before the command (or None) stands
        _global_options(command, default=argparse.SUPPRESS)
    return parser


def _add_ingest(sub: Any, command: Command) -> None:
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
    p.set_defaults(func=command)


def _add_index_commands(sub: Any, commands: Mapping[str, Command]) -> None:
    """docs, remove, check, reindex."""
    p = sub.add_parser("docs", help="list indexed documents")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=commands["docs"])

    p = sub.add_parser("remove", help="delete one document from the index")
    p.add_argument("doc_id")
    p.set_defaults(func=commands["remove"])

    p = sub.add_parser("check", help="check the index for damage or half-indexed documents")
    p.set_defaults(func=commands["check"])

    p = sub.add_parser("reindex", help="rebuild the index from the recorded source files")
    p.set_defaults(func=commands["reindex"])


def _add_eval(sub: Any, command: Command) -> None:
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
    p.set_defaults(func=command)
