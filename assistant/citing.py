"""How a passage is named to the reader: citation labels, provenance groups, point headings,
document names, and the Sources section. Pure: one home for these words, used by the extractive
and the LLM answerers and by retrieval (the label each Passage carries).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

from .roles import Role, passage_role
from .text import escape_md
from .types import Passage

KIND_LABELS = {"paper": "paper", "policy": "policy", "own": "your document"}


def added_note(meta: dict[str, Any], language: str = "en") -> str:
    """Who added an own document, how and when: 'added by dean via web, 2026-12-03' (or '')."""
    who = str(meta.get("added_by", ""))
    if not who:
        return ""
    via = str(meta.get("added_via", ""))
    day = str(meta.get("added_at", ""))[:10]
    if language == "zh":
        how = {"web": "网页上传", "cli": "命令行导入", "api": "程序导入"}.get(via, via)
        return f"{who}{how}" + (f"，{day}" if day else "")
    return f"added by {who} via {via}" + (f", {day}" if day else "")


def citation_label(title: str, kind: str, section: str, meta: dict[str, Any]) -> str:
    """Human-readable citation, e.g. 'Title (paper), §4.3 Attach importance to ...'.

    An own document says who added it: 'Plan (your document, added by dean via web, 2026-12-03)'.
    """
    bits = [KIND_LABELS.get(kind, kind)]
    if kind == "own" and added_note(meta):
        bits.append(added_note(meta))
    if kind == "policy":
        bits = [b for b in (meta.get("issuer"), str(meta.get("date", ""))[:4], _number(meta)) if b]
    label = f"{title} ({', '.join(str(b) for b in bits)})" if bits else title
    return f"{label}, §{section}" if section else label


def _number(meta: dict[str, Any]) -> str:
    """The document number, with the brief's caveat when it is not verified."""
    number = str(meta.get("doc_number", "") or "")
    note = str(meta.get("doc_number_note", "") or "")
    return f"{number}, {note}" if number and note else number


def localised_citation(passage: Passage, language: str) -> str:
    """The citation label, led by the Chinese title for Chinese questions when one is known."""
    title_zh = str(passage.metadata.get("title_zh", ""))
    citation = passage.citation
    if language != "zh":
        return citation
    note = added_note(passage.metadata)
    if passage.kind == "own" and note:
        citation = citation.replace(
            f" (your document, {note})", f"（本校文件，{added_note(passage.metadata, 'zh')}）", 1
        )
    for en, zh in _KIND_ZH.items():
        citation = citation.replace(en, zh, 1)
    if not title_zh or f"《{title_zh}》" in citation:
        return citation
    if citation.startswith(title_zh):  # a Chinese version: its own title, in 《》
        return f"《{title_zh}》{citation[len(title_zh) :]}"
    return f"《{title_zh}》 {citation}"


_KIND_ZH = {" (paper)": "（论文）", " (your document)": "（本校文件）"}


def provenance_group(passage: Passage) -> str:
    """The wording key of a passage's provenance: its kind and its section's role."""
    return point_group(passage, passage_role(passage.metadata))


# A provision that grants a permission ("may", "可", "扩大……自主权") binds the state, not the
# college: the college may choose it. Such a sentence is grouped as a permission.
_PERMITS = re.compile(
    r"\b(may|can|could|(is|are) (allowed|permitted|free|entitled) to|(has|have) the right|"
    r"autonomy)\b|可以|(?<![不许])可(?![能持靠行视见])|允许|准许|有权|自主权",
    re.I,
)
_OBLIGES = re.compile(
    r"\b(must|shall|should|required|requires|is to|are to|has to|have to|needs?|no less than|"
    r"at least|may not|cannot|can not)\b|"
    r"应当|应该|必须|(?<![必无])须|不得|不少于|至少|(?<![适对反响供相])应(?![用届])",
    re.I,
)


def permits_only(sentence: str) -> bool:
    """A sentence that allows something and obliges nothing."""
    return bool(_PERMITS.search(sentence)) and not _OBLIGES.search(sentence)


def point_group(passage: Passage, role: Role, sentence: str = "") -> str:
    """The wording key of a point's provenance group (and of its Sources label); with the
    quoted sentence, a provision that only permits is told apart from one that obliges."""
    kind = passage.kind
    if kind == "policy":
        if role is Role.PROVISION:
            return "policy_permits" if sentence and permits_only(sentence) else "policy"
        if role is Role.TARGET:
            return "target"
        if role is Role.RECOMMENDATION:
            return "policy_advice"
        return "policy_background"
    if kind == "paper":
        if role is Role.RECOMMENDATION:
            return "paper"
        if role is Role.PROBLEM:
            return "problem"
        return "paper_background"
    return "own_rule" if role is Role.PROVISION else "own"


GROUP_ORDER = (
    "policy",
    "policy_permits",
    "target",
    "own_rule",
    "paper",
    "policy_advice",
    "own",
    "problem",
    "policy_background",
    "paper_background",
)


def heading(passage: Passage) -> str:
    """A short heading for a point: the section title without its numbering."""
    parts = passage.section.split(" › ") if passage.section else [passage.title]

    def strip_number(label: str) -> str:
        # "4.3 Attach ...", "1. Introduction"; not "1+X ..." or "2021—2025年 ..."
        return re.sub(r"^\d{1,2}(?:\.\d{1,2})*\.?\s+", "", label).strip()

    last = strip_number(parts[-1])
    if len(parts) >= 2 and len(parts[-1]) <= 8:  # a bare item number such as "(1)"
        last = f"{strip_number(parts[-2])} {parts[-1]}"
    return last or passage.title


def document_name(p: Passage, language: str) -> str:
    """A document as a reader names it: its title (Chinese in 《》 for Chinese readers) and
    its document number when it has one."""
    meta = p.metadata
    number = _number(meta)
    if language == "zh":
        name = f"《{meta.get('title_zh') or p.title}》"
        return f"{name}（{number}）" if number else name
    title = str(meta.get("title_en") or p.title)
    return f"{title} ({number})" if number else title


def passage_from_row(chunk_id: str, text: str, meta: dict[str, Any], *, score: float) -> Passage:
    title = str(meta.get("title", meta.get("doc_id", "")))
    section = str(meta.get("section", ""))
    kind = str(meta.get("kind", "own"))
    return Passage(
        text=text,
        doc_id=str(meta.get("doc_id", "")),
        title=title,
        section=section,
        score=score,
        citation=citation_label(title, kind, section, meta),
        metadata={**meta, "chunk_id": chunk_id},
    )


def twin_passage(
    hit: Passage, chunk_id: str, text: str, meta: dict[str, Any], original: Passage | None
) -> Passage:
    """The other-language version of a hit's section, carrying the hit's scores."""
    carried = {k: v for k, v in hit.metadata.items() if k not in meta}
    twin = passage_from_row(chunk_id, text, {**carried, **meta}, score=hit.score)
    extra: dict[str, Any] = {}
    if original is not None:
        extra = {"original_text": original.text, "original_section": original.section}
    # the hit's retrieval signals, for this chunk
    signals = dataclasses.replace(hit.signals, chunk_id=chunk_id) if hit.signals.chunk_id else None
    return dataclasses.replace(
        twin, metadata={**twin.metadata, **extra}, signals=signals or twin.signals
    )


def sources_section(
    words: dict[str, str], citations: Sequence[Passage], language: str
) -> tuple[list[str], list[Passage]]:
    """The Sources section's lines, and the citations with their provenance label and role.

    The label travels with the passage, so every view (side panel, API) says the same; a
    translated passage says so and names its original section.
    """
    lines = ["", f"**{words['sources_heading']}**", ""]
    labelled: list[Passage] = []
    for ref, p in enumerate(citations, 1):
        role = passage_role(p.metadata)
        quotes = str(p.metadata.get("quote", ""))
        label = words["label_" + point_group(p, role, quotes)]
        p = dataclasses.replace(p, metadata={**p.metadata, "provenance": label, "role": role.value})
        labelled.append(p)
        line = words["source_item"].format(
            ref=ref, citation=escape_md(localised_citation(p, language)), provenance=label
        )
        if p.metadata.get("translation_note"):
            original = p.metadata.get("original_section") or p.metadata.get("section_key", "")
            line += words["translation_mark"].format(section=escape_md(str(original)))
        lines += [line, ""]
    return lines, labelled
