"""Pure rendering for the web chat. Input: Answer / Passage / upload results. Output: Markdown.

Nothing here imports Gradio, so every piece is unit-testable. All text that comes from a
document (titles, sections, passages, file names) goes through `escape_md`, which turns
`<`, `>`, `&` into entities and backslash-escapes Markdown syntax: a passage containing
`<script>`, `<img onerror=...>` or `![x](http://host/x.png)` is shown as text and loads nothing.
Our own wording comes from prompts/ui.<language>.yaml (ui.i18n): what belongs to an answer
follows the answer's language, the rest the language the page shows. The documents table,
filter and timeline are ui.documents'.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from assistant.citing import added_note
from assistant.text import escape_md
from assistant.types import Answer, Passage

from .i18n import language_of, text

KINDS = ("policy", "paper", "own")  # provenance.<kind>, kind.<kind>, filters.kind_<kind>
UPLOAD_STATUSES = (
    "added",
    "updated",
    "unchanged",
    "refused",
    "skipped",
    "version",
)  # upload.<status>
STREAM_STEPS = 12  # how many progressively longer texts a streamed answer is sent in
# GFM turns bare URLs, www. names and e-mail addresses into live links; escape_md leaves them.
# Breaking the pattern with a Markdown escape keeps the text identical on screen.
_AUTOLINK = re.compile(r"(?i)(?<=[a-z])://|\bwww\.|@")


def provenance(kind: str, language: str = "en") -> str:
    """Human label for a source's kind: policy requirement, research recommendation, own."""
    return text(language, f"provenance.{kind if kind in KINDS else 'own'}")


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
    lang = language_of(answer.language)
    if answer.mode == "extractive":
        mode = text(lang, "footer.extractive")
    else:
        mode = text(lang, "footer.llm", mode=answer.mode)
    lines = [f"\n\n_{escape_md(mode)}_"]
    if answer.notice:
        lines.append(f"\n\n> **{text(lang, 'footer.note')}:** {escape_md(answer.notice)}")
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


def passage_provenance(passage: Passage, language: str = "en") -> str:
    """The label the answer gave a passage (its kind and role), else its kind's label."""
    label = passage.metadata.get("provenance")
    return str(label) if label else provenance(passage.kind, language)


def source_label(n: int, passage: Passage, language: str = "en") -> str:
    """Plain-text label of source [n] (shown as an accordion title, rendered as text)."""
    parts = [f"[{n}] {passage.title}"]
    if passage.section:
        parts.append(f"§{passage.section}")
    parts.append(passage_provenance(passage, language))
    parts.append(text(language, "source.label_score", score=f"{passage.score:.3f}"))
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
        language: answer language, for the field names and the provenance label.

    Returns:
        Markdown in which every piece of document text is escaped.
    """
    meta = passage.metadata
    lang = language_of(language)
    fields = [
        ("source.document", escape_md(passage.doc_id)),
        ("source.section", escape_md(passage.section) if passage.section else "—"),
        ("source.provenance", escape_md(passage_provenance(passage, lang))),
        ("source.score", f"{passage.score:.3f}"),
    ]
    for name, key in (
        ("issuer", "source.issuer"),
        ("date", "source.date"),
        ("translation_note", "source.translation"),
    ):
        if meta.get(name):
            fields.append((key, escape_md(str(meta[name]))))
    if passage.kind == "own" and added_note(meta, lang):  # who added an upload, when, how
        fields.append(("source.added", escape_md(added_note(meta, lang))))
    # titles and metadata are text: no link may form in them (inert), as in the passages
    lines = [f"**[{n}] {inert(escape_md(passage.title))}**", ""]
    lines += [f"- {text(lang, key, value=inert(value))}" for key, value in fields]
    if meta.get("quote"):
        lines += ["", text(lang, "source.quoted"), "", "> " + _inline(str(meta["quote"])), ""]
    lines += ["", text(lang, "source.passage"), "", "> " + _inline(passage.text), ""]
    if meta.get("original_text"):
        section = escape_md(str(meta.get("original_section", "")))
        lines += [
            text(lang, "source.original", section=section),
            "",
            "> " + _inline(str(meta["original_text"])),
            "",
        ]
    if before or after:
        context = ""
        if before:
            context += "…" + _inline(before) + " "
        context += "<mark>" + _inline(passage.text) + "</mark>"
        if after:
            context += " " + _inline(after) + "…"
        lines += [text(lang, "source.in_context"), "", context, ""]
    return "\n".join(lines)


def sources_overview(answer: Answer) -> str:
    """Short Markdown line above the source accordions, in the answer's language."""
    lang = language_of(answer.language)
    if not answer.grounded or not answer.citations:
        return text(lang, "sources.none")
    n = len(answer.citations)
    if n == 1:
        return text(lang, "sources.overview_one")
    return text(lang, "sources.overview_many", n=n)


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


def memo_markdown(
    turns: Sequence[Mapping[str, Any]], now: datetime | None = None, language: str = "en"
) -> str:
    """The conversation as a Markdown memo: each question, its cited answer, then references.

    Args:
        turns: records made by `turn_record`, oldest first.
        now: export time (default: now).
        language: the page's language, for the memo's headings and provenance labels.

    Returns:
        Markdown text (answers are already escaped; questions are escaped here).
    """
    stamp = (now or datetime.now().astimezone()).strftime("%Y-%m-%d %H:%M")
    lines = [text(language, "memo.title"), "", text(language, "memo.exported", stamp=stamp), ""]
    refs: dict[tuple[str, str], Mapping[str, Any]] = {}
    for i, turn in enumerate(turns, 1):
        lines += [f"## {i}. {escape_md(str(turn.get('question', '')))}", ""]
        lines += [inert(str(turn.get("answer", "")).strip()), ""]
        for s in turn.get("sources", []):
            refs.setdefault((s["doc_id"], s["section"]), s)
    if refs:
        lines += [text(language, "memo.references"), ""]
        for s in refs.values():
            section = f", §{escape_md(s['section'])}" if s["section"] else ""
            line = f"- {escape_md(s['title'])} ({escape_md(s['doc_id'])}){section} — "
            lines.append(inert(line) + provenance(s["kind"], language))
        lines.append("")
    return "\n".join(lines)


def upload_results_markdown(results: Sequence[Mapping[str, str]], language: str = "en") -> str:
    """Per-file outcome of an upload as a Markdown table (names and reasons escaped).

    The header and the result words follow `language`; the details are ui.uploads' and the
    library's messages, which are English.
    """
    if not results:
        return text(language, "upload.no_files")
    lines = [text(language, "upload.table_head"), "|---|---|---|"]
    for r in results:
        status = r.get("status", "")
        if status in UPLOAD_STATUSES:
            status = text(language, f"upload.{status}")
        cells = [r.get("file", ""), status, r.get("detail", "")]
        lines.append("| " + " | ".join(escape_md(c).replace("\n", " ") for c in cells) + " |")
    return "\n".join(lines)
