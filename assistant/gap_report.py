"""The gap report as a Markdown memo, a DOCX file and JSON. Input: GapReport. Output: text/bytes.

All three are built from one list of rows (``report_rows``), so the memo and the DOCX list the
same lines in the same order. Wording comes from prompts/gaps.<lang>.yaml. College sentences
are untrusted text: escaped in the memo, plain runs in the DOCX.
"""

from __future__ import annotations

import io
from enum import StrEnum
from pathlib import Path
from typing import Any

from .errors import InvalidInputError, PromptError
from .gaps import ORDER, GapLine, GapReport
from .prompts import read_wording
from .requirements import THEMES, TimeStatus
from .text import escape_md


def report_wording(prompts_dir: Path, language: str) -> dict[str, str]:
    """prompts/gaps.<language>.yaml, checked to have the English file's keys.

    Raises:
        PromptError: a file is missing or malformed, or its keys differ from the English ones.
    """
    lang = "zh" if language == "zh" else "en"
    words = read_wording(prompts_dir / f"gaps.{lang}.yaml")
    if lang != "en":
        english = read_wording(prompts_dir / "gaps.en.yaml")
        if set(words) != set(english):
            raise PromptError(
                f"prompts/gaps.{lang}.yaml: keys differ from gaps.en.yaml: "
                f"{sorted(set(words) ^ set(english))}"
            )
    return words


def _theme_name(theme: str, lang: str) -> str:
    en, zh = THEMES.get(theme, (theme, theme))
    return f"{theme} {zh if lang == 'zh' else en}"


def _brief(line: GapLine, lang: str) -> str:
    r = line.requirement
    title = r.title_zh if lang == "zh" and r.title_zh else r.title
    section = r.section_zh if lang == "zh" and r.section_zh else r.section
    return f"{title}, §{section}"


def _dates(line: GapLine, w: dict[str, str]) -> str:
    r = line.requirement
    parts = [w["issued"].format(date=r.doc_date)] if r.doc_date else []
    if r.deadline:
        key = "deadline_passed" if line.time_status is TimeStatus.TARGET_PASSED else "deadline"
        parts.append(w[key].format(date=r.deadline.isoformat()))
    parts.append(w[f"time.{line.time_status.value}"])
    return "; ".join(parts)


def report_rows(report: GapReport, lang: str, w: dict[str, str]) -> list[dict[str, Any]]:
    """One row per report line: the fields every format shows, already worded."""
    rows = []
    for n, line in enumerate(report.lines, 1):
        r = line.requirement
        rows.append(
            {
                "n": n,
                "id": r.id,
                "status": line.status.value,
                "status_label": w[f"status.{line.status.value}"],
                "theme": _theme_name(r.theme, lang),
                "statement": r.statement(lang),
                "source": _brief(line, lang),
                "dates": _dates(line, w),
                "time_status": line.time_status.value,
                "required": line.required,
                "conflict": line.conflict,
                "evidence": [
                    {
                        "status": e.status.value,
                        "status_label": w[f"status.{e.status.value}"],
                        "sentence": e.sentence,
                        "citation": e.citation,
                        "doc_id": e.doc_id,
                        "section": e.section,
                        "found": e.found,
                        "reason": w.get(f"reason.{e.reason}", e.reason),
                    }
                    for e in line.evidence
                ],
            }
        )
    return rows


def summary_rows(report: GapReport, lang: str, w: dict[str, str]) -> list[list[str]]:
    """The summary table: a header, one row per theme, and the totals."""
    head = [w["theme"], *(w[f"status.{s.value}"] for s in ORDER), w["total"]]
    rows = [head]
    totals = [0] * len(ORDER)
    for theme, counts in report.counts().items():
        values = [counts[s] for s in ORDER]
        totals = [a + b for a, b in zip(totals, values, strict=True)]
        rows.append([_theme_name(theme, lang), *map(str, values), str(sum(values))])
    rows.append([w["all_themes"], *map(str, totals), str(sum(totals))])
    return rows


def cannot_judge(report: GapReport, lang: str, w: dict[str, str]) -> list[tuple[str, list[str]]]:
    """(heading, items) groups of what the report does not judge."""
    groups: list[tuple[str, list[str]]] = []
    for reason in ("not_yet", "superseded", "national"):
        items = [
            f"{nj.requirement.statement(lang)} ({nj.requirement.id}; "
            f"{w[f'time.{nj.time_status.value}']})"
            for nj in report.not_judged
            if nj.reason == reason
        ]
        if items:
            groups.append((w[f"not_judged.{reason}"], items))
    if report.unrecorded:
        groups.append(
            (
                w["unrecorded"].format(count=len(report.unrecorded)),
                [f"{doc_id}: §{heading}" for doc_id, heading in report.unrecorded],
            )
        )
    return groups


def render_markdown(report: GapReport, lang: str, w: dict[str, str]) -> str:
    """The memo."""
    docs = ", ".join(f"{escape_md(t)} ({escape_md(d)})" for d, t in report.documents)
    out = [f"# {w['title']}", "", w["as_of"].format(date=report.as_of.isoformat(), documents=docs)]
    out += ["", f"## {w['summary']}", ""]
    table = summary_rows(report, lang, w)
    out.append("| " + " | ".join(table[0]) + " |")
    out.append("|" + "---|" * len(table[0]))
    out += ["| " + " | ".join(row) + " |" for row in table[1:]]
    out += ["", f"## {w['lines']}", ""]
    for row in report_rows(report, lang, w):
        out.append(f"### {row['n']}. {row['status_label']}: {row['statement']}")
        out.append("")
        out.append(f"- {w['requirement']}: `{row['id']}` · {row['theme']}")
        out.append(f"- {w['source']}: {row['source']}")
        out.append(f"- {w['dates']}: {row['dates']}")
        if row["required"]:
            out.append(f"- {w['required']}: {row['required']}")
        out.append(f"- {w['ours']}:")
        if not row["evidence"]:
            out.append(f"  - {w['none_found']}")
        for e in row["evidence"]:
            found = f"; {w['found'].format(value=e['found'])}" if e["found"] else ""
            out.append(
                f"  - **{e['status_label']}**: “{escape_md(e['sentence'])}” "
                f"({escape_md(e['citation'])}){found} — {e['reason']}"
            )
        if row["conflict"]:
            out.append(f"  - ⚠ {w['conflict']}")
        out.append("")
    out += [f"## {w['cannot_judge']}", ""]
    for heading, items in cannot_judge(report, lang, w):
        out.append(f"**{heading}**")
        out.append("")
        out += [f"- {escape_md(item)}" for item in items]
        out.append("")
    out.append(w["limits"].strip())
    return "\n".join(out) + "\n"


def render_docx(report: GapReport, lang: str, w: dict[str, str]) -> bytes:
    """The same report as a Word document (what a college office edits)."""
    from docx import Document

    doc = Document()
    doc.add_heading(w["title"], level=0)
    docs = ", ".join(f"{t} ({d})" for d, t in report.documents)
    doc.add_paragraph(w["as_of"].format(date=report.as_of.isoformat(), documents=docs))
    doc.add_heading(w["summary"], level=1)
    summary = summary_rows(report, lang, w)
    table = doc.add_table(rows=len(summary), cols=len(summary[0]))
    table.style = "Table Grid"
    for i, cells in enumerate(summary):
        for j, value in enumerate(cells):
            table.cell(i, j).text = value
    doc.add_heading(w["lines"], level=1)
    for row in report_rows(report, lang, w):
        doc.add_heading(f"{row['n']}. {row['status_label']}: {row['statement']}", level=2)
        doc.add_paragraph(f"{w['requirement']}: {row['id']} · {row['theme']}", style="List Bullet")
        doc.add_paragraph(f"{w['source']}: {row['source']}", style="List Bullet")
        doc.add_paragraph(f"{w['dates']}: {row['dates']}", style="List Bullet")
        if row["required"]:
            doc.add_paragraph(f"{w['required']}: {row['required']}", style="List Bullet")
        if not row["evidence"]:
            doc.add_paragraph(f"{w['ours']}: {w['none_found']}", style="List Bullet")
        for e in row["evidence"]:
            p = doc.add_paragraph(style="List Bullet 2")
            p.add_run(f"{e['status_label']}: ").bold = True
            found = f"; {w['found'].format(value=e['found'])}" if e["found"] else ""
            p.add_run(f"“{e['sentence']}” ({e['citation']}){found} — {e['reason']}")
        if row["conflict"]:
            doc.add_paragraph(f"⚠ {w['conflict']}", style="List Bullet 2")
    doc.add_heading(w["cannot_judge"], level=1)
    for heading, items in cannot_judge(report, lang, w):
        doc.add_paragraph().add_run(heading).bold = True
        for item in items:
            doc.add_paragraph(item, style="List Bullet")
    doc.add_paragraph(w["limits"].strip())
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def render_json(report: GapReport, lang: str, w: dict[str, str]) -> dict[str, Any]:
    """JSON-friendly view: the rows, the summary, and what was not judged."""
    return {
        "as_of": report.as_of.isoformat(),
        "language": lang,
        "documents": [{"doc_id": d, "title": t} for d, t in report.documents],
        "summary": {
            theme: {s.value: n for s, n in counts.items()}
            for theme, counts in report.counts().items()
        },
        "lines": report_rows(report, lang, w),
        "not_judged": [
            {"id": nj.requirement.id, "reason": nj.reason, "time_status": nj.time_status.value}
            for nj in report.not_judged
        ],
        "unrecorded": [{"doc_id": d, "section": s} for d, s in report.unrecorded],
    }


def plot_points(report: GapReport, lang: str, w: dict[str, str]) -> list[dict[str, Any]]:
    """Rows for a bar plot of requirements by theme and status (one row per theme x status)."""
    return [
        {"theme": _theme_name(theme, lang), "status": w[f"status.{s.value}"], "count": n}
        for theme, counts in report.counts().items()
        for s, n in counts.items()
        if n
    ]


class ReportFormat(StrEnum):
    """Output formats of `assistant gaps`."""

    MD = "md"
    DOCX = "docx"
    JSON = "json"

    @classmethod
    def from_str(cls, value: str) -> ReportFormat:
        """Parse a format name, listing the valid values on error."""
        try:
            return cls(value.strip().lower().lstrip("."))
        except ValueError:
            valid = ", ".join(f.value for f in cls)
            raise InvalidInputError(f"Unknown format {value!r}; use one of: {valid}.") from None
