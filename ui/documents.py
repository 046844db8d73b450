"""Pure rendering of the document list. Input: DocRecords. Output: rows, choices, points.

The documents table, the document filter and the policy timeline of the web chat, in the
language the page shows. Nothing here imports Gradio; values are metadata as indexed (the page
renders table cells and labels as text).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from assistant.citing import added_note

from .i18n import catalog, language_of, text


def _word(language: str, key: str, default: str) -> str:
    """The catalog's word for a data value (a kind, a level), or the value itself."""
    return catalog(language).get(key, default)


DOC_COLUMNS = ["doc_id", "title", "title_zh", "kind", "issuer", "date", "level", "chunks", "added",
               "status"]  # fmt: skip


def doc_columns(language: str = "en") -> list[str]:
    """Headers of the documents table in the page's language (English: the DOC_COLUMNS)."""
    return [text(language, f"docs.column_{name}") for name in DOC_COLUMNS]


def _kind_word(kind: str, language: str) -> str:
    return _word(language, f"kind.{kind}", kind)


def _level_word(level: str, language: str) -> str:
    key = "level." + re.sub(r"\W+", "_", level.strip().lower()).strip("_")
    return _word(language, key, level)


def document_rows(records: Iterable[Any], language: str = "en") -> list[list[Any]]:
    """Rows of the documents table (DocRecord-like objects: doc_id, chunks, metadata).

    Kinds and issuing levels are named in `language`; everything else is the metadata as is.
    """
    rows = []
    for r in records:
        meta = r.metadata
        level = str(meta.get("level", ""))
        rows.append(
            [
                r.doc_id,
                str(meta.get("title", r.doc_id)),
                str(meta.get("title_zh", "")),
                _kind_word(str(meta.get("kind", "own")), language),
                str(meta.get("issuer", "")),
                str(meta.get("date", "")),
                _level_word(level, language) if level else "",
                int(r.chunks),
                added_note(meta, language),
                text(language, "docs.superseded_by", doc_id=str(meta["superseded_by"]))
                if meta.get("superseded_by")
                else "",
            ]
        )
    return rows


def document_choices(records: Iterable[Any], language: str = "en") -> list[tuple[str, str]]:
    """(label, doc_id) pairs for the document filter; Chinese titles on a Chinese page."""
    choices = []
    for r in records:
        title = _title(r, language)
        kind = _kind_word(str(r.metadata.get("kind", "own")), language)
        label = text(language, "filters.document_choice", title=title, kind=kind)
        choices.append((label, r.doc_id))
    return choices


def _title(record: Any, language: str) -> str:
    meta = record.metadata
    if language_of(language) == "zh" and meta.get("title_zh"):
        return str(meta["title_zh"])
    return str(meta.get("title", record.doc_id))


def timeline_points(records: Iterable[Any], language: str = "en") -> list[dict[str, Any]]:
    """Policy documents as (year, level, title) points for the timeline plot.

    A translation of a listed document (`translation_of`) is not a second policy: one point
    per document, titled in `language` where a Chinese title exists, levels named in it too.
    """
    records = list(records)
    listed = {r.doc_id for r in records}
    points = []
    for r in records:
        meta = r.metadata
        if meta.get("kind") != "policy" or meta.get("translation_of") in listed:
            continue
        match = re.search(r"(19|20)\d{2}", str(meta.get("date", "")))
        if not match:
            continue
        points.append(
            {
                "year": int(match.group(0)),
                "level": _level_word(str(meta.get("level") or "unknown"), language),
                "title": _title(r, language),
            }
        )
    return sorted(points, key=lambda p: (p["year"], p["level"]))
