"""Pure rendering for the web chat. Input: Answer / Passage / DocRecord. Output: Markdown, rows.

Nothing here imports Gradio, so every piece is unit-testable. All text that comes from a
document (titles, sections, passages, file names) goes through `escape_md`, which turns
`<`, `>`, `&` into entities and backslash-escapes Markdown syntax: a passage containing
`<script>`, `<img onerror=...>` or `![x](http://host/x.png)` is shown as text and loads nothing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from assistant.answering import escape_md
from assistant.types import Answer, Passage

PROVENANCE = {
    "en": {
        "policy": "Policy requirement",
        "paper": "Research recommendation",
        "own": "Your document",
    },
    "zh": {"policy": "政策要求", "paper": "研究建议", "own": "本校文件"},
}
STREAM_STEPS = 12  # how many progressively longer texts a streamed answer is sent in
# GFM turns bare URLs, www. names and e-mail addresses into live links; escape_md leaves them.
# Breaking the pattern with a Markdown escape keeps the text identical on screen.
_AUTOLINK = re.compile(r"(?i)(?<=[a-z])://|\bwww\.|@")
_UNSAFE_NAME = re.compile(r"[^\w.\- ]+")
MAX_NAME_CHARS = 120


def provenance(kind: str, language: str = "en") -> str:
    """Human label for a source's kind: policy requirement, research recommendation, own."""
    labels = PROVENANCE.get(language, PROVENANCE["en"])
    return labels.get(kind, labels["own"])


def inert(markdown: str) -> str:
    """Stop GFM autolinks in already-escaped Markdown (`http://`, `www.`, `a@b`) from forming.

    Args:
        markdown: text from escape_md (or an Answer.text built with it).

    Returns:
        The same text as rendered on screen, but with no link a reader could follow.
    """
    return _AUTOLINK.sub(_break_link, markdown)


def _break_link(match: re.Match[str]) -> str:
    token = match.group(0)
    if token == "://":
        return ":\\/\\/"
    if token == "@":
        return "\\@"
    return token[:-1] + "\\."  # www. -> www\.


def answer_footer(answer: Answer) -> str:
    """A small line saying which mode answered, and any notice (e.g. an LLM fallback)."""
    zh = answer.language == "zh"
    if answer.mode == "extractive":
        mode = (
            "抽取式回答：每句均为原文引用"
            if zh
            else "extractive: every sentence is quoted verbatim"
        )
    else:
        mode = (f"由 {answer.mode} 撰写，引用已核验" if zh
                else f"written by {answer.mode}; citations verified")  # fmt: skip
    lines = [f"\n\n_{escape_md(mode)}_"]
    if answer.notice:
        lines.append(f"\n\n> **{'提示' if zh else 'Note'}:** {escape_md(answer.notice)}")
    return "".join(lines)


def stream_chunks(text: str, steps: int = STREAM_STEPS) -> Iterator[str]:
    """Progressively longer prefixes of `text`, cut at whitespace, ending with the full text.

    Cutting only at whitespace keeps every Markdown escape (`\\[`, `&lt;`) whole, so a partial
    answer is as inert as the final one.

    Args:
        text: the full Markdown answer.
        steps: roughly how many pieces to send.

    Yields:
        Prefixes of increasing length; the last one is `text` itself.
    """
    if steps <= 1 or len(text) < 2 * steps:
        yield text
        return
    size = max(1, len(text) // steps)
    cut = 0
    while True:
        nxt = cut + size
        if nxt >= len(text):
            break
        space = text.find(" ", nxt)
        newline = text.find("\n", nxt)
        candidates = [p for p in (space, newline) if p != -1]
        if not candidates:
            break
        cut = min(candidates)
        yield text[:cut]
    yield text


def source_label(n: int, passage: Passage, language: str = "en") -> str:
    """Plain-text label of source [n] (shown as an accordion title, rendered as text)."""
    parts = [f"[{n}] {passage.title}"]
    if passage.section:
        parts.append(f"§{passage.section}")
    parts.append(provenance(passage.kind, language))
    parts.append(f"score {passage.score:.3f}")
    return " · ".join(parts)


def _inline(text: str) -> str:
    """Escaped text with line breaks kept, as one Markdown paragraph."""
    text = re.sub(r"\n{2,}", "\n\n", text.strip("\n"))
    return inert(escape_md(text)).replace("\n", "<br>")


def source_detail(
    n: int, passage: Passage, before: str = "", after: str = "", language: str = "en"
) -> str:
    """Markdown for one source: metadata, the passage, and the passage in its context.

    Args:
        n: the citation number.
        passage: the cited passage.
        before: document text just before the passage (from Assistant.passage_context).
        after: document text just after it.
        language: answer language, for the provenance label.

    Returns:
        Markdown in which every piece of document text is escaped.
    """
    meta = passage.metadata
    lines = [
        f"**[{n}] {escape_md(passage.title)}**",
        "",
        f"- Document: {escape_md(passage.doc_id)}",
        f"- Section: {escape_md(passage.section) if passage.section else '—'}",
        f"- Provenance: {provenance(passage.kind, language)}",
        f"- Score: {passage.score:.3f}",
    ]
    for key, label in (("issuer", "Issuer"), ("date", "Date")):
        if meta.get(key):
            lines.append(f"- {label}: {escape_md(str(meta[key]))}")
    lines += ["", "**Passage**", "", "> " + _inline(passage.text), ""]
    if before or after:
        context = ""
        if before:
            context += "…" + _inline(before) + " "
        context += "<mark>" + _inline(passage.text) + "</mark>"
        if after:
            context += " " + _inline(after) + "…"
        lines += ["**In context**", "", context, ""]
    return "\n".join(lines)


def sources_overview(answer: Answer) -> str:
    """Short Markdown line above the source accordions."""
    if not answer.grounded or not answer.citations:
        return "_No sources: the indexed documents do not support an answer to this question._"
    n = len(answer.citations)
    return f"**{n} source{'s' if n != 1 else ''}** cited — open one to read the passage in context."


def turn_record(question: str, answer: Answer, now: datetime | None = None) -> dict[str, Any]:
    """A JSON-friendly record of one question and its answer (kept in the session state)."""
    return {
        "question": question,
        "answer": answer.text,
        "grounded": answer.grounded,
        "language": answer.language,
        "time": (now or datetime.now().astimezone()).isoformat(timespec="seconds"),
        "sources": [
            {
                "n": i,
                "doc_id": p.doc_id,
                "title": p.title,
                "section": p.section,
                "kind": p.kind,
                "score": round(float(p.score), 4),
                "citation": p.citation,
            }
            for i, p in enumerate(answer.citations, 1)
        ],
    }


def feedback_entry(
    turn: Mapping[str, Any], rating: str, comment: str, now: datetime | None = None
) -> dict[str, Any]:
    """One line of feedback.jsonl: rating, comment, question, answer, cited sources, time."""
    return {
        "timestamp": (now or datetime.now().astimezone()).isoformat(timespec="seconds"),
        "rating": rating,
        "comment": comment.strip(),
        "question": turn.get("question", ""),
        "answer": turn.get("answer", ""),
        "sources": [
            {"doc_id": s["doc_id"], "section": s["section"]} for s in turn.get("sources", [])
        ],
    }


def memo_markdown(turns: Sequence[Mapping[str, Any]], now: datetime | None = None) -> str:
    """The conversation as a Markdown memo: each question, its cited answer, then references.

    Args:
        turns: records made by `turn_record`, oldest first.
        now: export time (default: now).

    Returns:
        Markdown text (answers are already escaped; questions are escaped here).
    """
    stamp = (now or datetime.now().astimezone()).strftime("%Y-%m-%d %H:%M")
    lines = [
        "# Policy guidance memo",
        "",
        f"Exported {stamp} from the policy guidance assistant. Every countermeasure cites its "
        "source as [n]; the passages are quoted verbatim under each answer.",
        "",
    ]
    refs: dict[tuple[str, str], Mapping[str, Any]] = {}
    for i, turn in enumerate(turns, 1):
        lines += [f"## {i}. {escape_md(str(turn.get('question', '')))}", ""]
        lines += [inert(str(turn.get("answer", "")).strip()), ""]
        for s in turn.get("sources", []):
            refs.setdefault((s["doc_id"], s["section"]), s)
    if refs:
        lines += ["## References", ""]
        for s in refs.values():
            section = f", §{escape_md(s['section'])}" if s["section"] else ""
            lines.append(
                f"- {escape_md(s['title'])} ({escape_md(s['doc_id'])}){section} — "
                f"{provenance(s['kind'])}"
            )
        lines.append("")
    return "\n".join(lines)


DOC_COLUMNS = ["doc_id", "title", "title_zh", "kind", "issuer", "date", "level", "chunks"]


def document_rows(records: Iterable[Any]) -> list[list[Any]]:
    """Rows of the documents table (DocRecord-like objects: doc_id, chunks, metadata)."""
    rows = []
    for r in records:
        meta = r.metadata
        rows.append(
            [
                r.doc_id,
                str(meta.get("title", r.doc_id)),
                str(meta.get("title_zh", "")),
                str(meta.get("kind", "own")),
                str(meta.get("issuer", "")),
                str(meta.get("date", "")),
                str(meta.get("level", "")),
                int(r.chunks),
            ]
        )
    return rows


def timeline_points(records: Iterable[Any]) -> list[dict[str, Any]]:
    """Policy documents as (year, level, title) points for the timeline plot."""
    points = []
    for r in records:
        meta = r.metadata
        if meta.get("kind") != "policy":
            continue
        match = re.search(r"(19|20)\d{2}", str(meta.get("date", "")))
        if not match:
            continue
        points.append(
            {
                "year": int(match.group(0)),
                "level": str(meta.get("level") or "unknown"),
                "title": str(meta.get("title", r.doc_id)),
            }
        )
    return sorted(points, key=lambda p: (p["year"], p["level"]))


def sanitize_filename(name: str) -> str:
    """A safe base name for an uploaded file: no directories, no leading dots, no odd characters.

    Args:
        name: the name the browser sent (may contain `../`, `\\`, an absolute path ...).

    Returns:
        A plain file name (letters incl. Chinese, digits, `.`, `-`, `_`, space) or "upload".
    """
    name = unicodedata.normalize("NFKC", name).replace("\\", "/").split("/")[-1]
    name = _UNSAFE_NAME.sub("_", name).strip(" .")
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    stem = stem.strip(" .")[: MAX_NAME_CHARS - len(suffix) - 1] or "upload"
    return f"{stem}.{suffix}" if suffix else stem


def upload_results_markdown(results: Sequence[Mapping[str, str]]) -> str:
    """Per-file outcome of an upload as a Markdown table (names and reasons escaped)."""
    if not results:
        return "_No files were given._"
    lines = ["| File | Result | Details |", "|---|---|---|"]
    for r in results:
        cells = [escape_md(r.get(k, "")).replace("\n", " ") for k in ("file", "status", "detail")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
