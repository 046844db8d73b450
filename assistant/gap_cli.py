"""`assistant requirements` and `assistant gaps`: argument handling and output only.

Input: parsed arguments and Settings. Output: text on stdout or a file; an exit code.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import InvalidInputError

if TYPE_CHECKING:
    from .config import Settings


def add_commands(sub: Any, settings: Any, assistant: Any) -> None:
    """Register both commands on the CLI's subparsers.

    Args:
        sub: the subparsers object of the `assistant` parser.
        settings: callable args -> Settings (the CLI's own).
        assistant: callable args -> Assistant (the CLI's own).
    """
    p = sub.add_parser("requirements", help="list the national requirement records")
    p.add_argument("--theme", help="T1-T8, or a word of a theme's name (e.g. teachers)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=lambda args: cmd_requirements(args, settings(args)))

    p = sub.add_parser("gaps", help="check our documents against the national requirements")
    p.add_argument(
        "--source", action="append", help="a doc_id to check (repeatable; default: all own)"
    )
    p.add_argument("--as-of", help="evaluate what applied on this date (YYYY-MM-DD; default today)")
    p.add_argument("--format", default="md", help="md (default), docx or json")
    p.add_argument("--out", help="write the report to this file (required for docx)")
    p.add_argument("--lang", default="en", help="report language: en (default) or zh")
    p.add_argument(
        "--requirements",
        action="append",
        default=[],
        metavar="FILE",
        help="also check against these *.requirements.yaml files (e.g. a provincial document)",
    )
    p.set_defaults(func=lambda args: cmd_gaps(args, assistant(args)))


def cmd_requirements(args: argparse.Namespace, settings: Settings) -> int:
    """assistant requirements [--theme T] [--json]."""
    from datetime import date

    from .requirements import load_requirements, select

    records = select(load_requirements([settings.corpus_dir / "policies"]), args.theme)
    today = date.today()
    if args.json:
        rows = [{**r.as_dict(), "status": r.time_status(today).value} for r in records]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for r in records:
        measure = f"  [{r.measure_text}]" if r.measure_text else ""
        deadline = f" by {r.deadline.isoformat()}" if r.deadline else ""
        print(f"{r.id}  {r.theme} {r.kind}, {r.check}; {r.time_status(today).value}{deadline}")
        print(f"    {r.statement_en}{measure}")
        print(f"    {r.doc_id} §{r.section}")
    checked = sum(r.checkable for r in records)
    print(f"{len(records)} requirements ({checked} checked against colleges)")
    return 0


def cmd_gaps(args: argparse.Namespace, assistant: Any) -> int:
    """assistant gaps [--source DOC_ID ...] [--as-of D] [--format F] [--out PATH] [--lang L]."""
    from .gap_report import ReportFormat, render_docx, render_json, render_markdown, report_wording
    from .gaps import parse_as_of, run_gap_check

    fmt = ReportFormat.from_str(args.format)
    lang = str(args.lang).strip().lower()
    if lang not in ("en", "zh"):
        raise InvalidInputError(f"--lang is en or zh, got {args.lang!r}.")
    if fmt is ReportFormat.DOCX and not args.out:
        raise InvalidInputError("A DOCX report is a file: give --out PATH.docx.")
    extra = [Path(f) for f in args.requirements]
    missing = [str(f) for f in extra if not f.is_file()]
    if missing:
        raise InvalidInputError(f"Requirement file(s) not found: {', '.join(missing)}.")
    assistant.ensure_corpus()
    report = run_gap_check(assistant, args.source, parse_as_of(args.as_of), requirement_files=extra)
    words = report_wording(assistant.settings.prompts_dir, lang)
    if fmt is ReportFormat.DOCX:
        data: bytes | str = render_docx(report, lang, words)
    elif fmt is ReportFormat.JSON:
        data = json.dumps(render_json(report, lang, words), ensure_ascii=False, indent=2) + "\n"
    else:
        data = render_markdown(report, lang, words)
    if args.out:
        out = Path(args.out)
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(data, bytes):
                out.write_bytes(data)
            else:
                out.write_text(data, encoding="utf-8")
        except OSError as e:
            raise InvalidInputError(f"Cannot write the report to {out}: {e}") from e
        statuses = [ln.status.value for ln in report.lines]
        summary = ", ".join(
            f"{statuses.count(s)} {s.replace('_', ' ')}"
            for s in ("falls_short", "meets", "unclear", "not_mentioned")
        )
        print(f"wrote {out} ({len(report.lines)} requirements: {summary})", file=sys.stderr)
    else:
        sys.stdout.write(str(data))
    return 0


def cmd_eval_gaps(args: argparse.Namespace, settings: Settings) -> int:
    """assistant eval --gaps [FOLDER ...]: status accuracy on the gap-report sets."""
    from .evaluation import GOLDEN_DIR
    from .gap_eval import run_gap_eval

    folders = [Path(f) for f in args.gaps]
    if not folders:
        base = GOLDEN_DIR / "gaps"
        extra = sorted(d for d in base.iterdir() if (d / "truth.yaml").is_file())
        folders = [base, *extra]  # the planted set, then the unseen sets beside it
    results = [r for folder in folders for r in run_gap_eval(folder, settings)]
    if args.json:
        print(json.dumps([r.as_dict() for r in results], ensure_ascii=False, indent=2))
        return 0
    print(f"{'set':28} {'n':>4} {'status':>7} {'meets':>6} {'cited':>6} {'uncited':>8}")
    for r in results:
        print(
            f"{r.name:28} {r.n:4} {r.accuracy:7.3f} {r.meets:6} {r.meets_cited_share:6.3f} "
            f"{r.meets - r.meets_cited:8}"
        )
    if args.verbose:
        for r in results:
            if not r.name.endswith("/all"):
                for miss in r.misses:
                    print(f"  miss: {json.dumps(miss, ensure_ascii=False)}")
    return 0
