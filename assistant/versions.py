"""Language versions: each hit shown in the question's language where its document has that
version (a brief's Chinese twin, the project's Chinese rendering of the paper), the same section
in two languages counted once, and the English original one click away.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .citing import localised_citation, passage_from_row, twin_passage
from .evidence import FACT_DOCUMENT_FLOOR, title_share, tokens
from .glossary import expand
from .intent import Query
from .roles import Role
from .types import Passage


@dataclass(frozen=True)
class Library:
    """What the answerer may read of the index besides retrieval (narrow, read-only)."""

    # doc_id -> the same document in another language ({"zh": doc_id, "en": doc_id}), if any
    versions: Callable[[str], dict[str, str]]
    # (doc_id, section index or None) -> [(chunk id, text, metadata)] of committed chunks
    chunks: Callable[[str, int | None], list[tuple[str, str, dict[str, Any]]]]
    # language -> one line on what the corpus covers
    coverage: Callable[[str], str]
    # doc_id of the paper, if one is indexed
    paper_id: Callable[[], str | None]
    # question -> the documents it names by title ("职业教育法", "Made in China 2025"), all versions
    named: Callable[[str], list[str]] = lambda question: []


class Versions:
    """Maps passages to the question's language, through the Library."""

    def __init__(self, library: Library) -> None:
        """Args: library: read-only access to document versions and sections."""
        self.library = library

    def doc_language(self, p: Passage) -> str:
        """The language of a passage's document, not of the chunk (an English chunk full of
        Chinese names can look Chinese to detect_language)."""
        versions = self.library.versions(p.doc_id)
        lang = next((k for k, v in versions.items() if v == p.doc_id), "")
        return lang or str(p.metadata.get("lang", "en"))

    def in_language(self, query: Query, passages: Sequence[Passage]) -> list[Passage]:
        """Each hit in the question's language where its document has that version; one per
        (document, section) across languages, best first."""
        out: list[Passage] = []
        seen: set[tuple[str, int]] = set()
        for p in passages:
            versions = self.library.versions(p.doc_id)
            base = versions.get("en", p.doc_id)
            index = int(p.metadata.get("section_index", -1))
            key = (base, index if index >= 0 else hash(p.chunk_id))
            if key in seen:
                continue
            seen.add(key)
            if index < 0:
                out.append(p)
                continue
            target = versions.get(query.language)
            shown = target if target and self.doc_language(p) != query.language else p.doc_id
            # the whole section, so the sentence that answers is there even when retrieval
            # found its neighbour ("adopted in 1996" vs "in force since 1 May 2022")
            rows = self.library.chunks(shown, index) or [(p.chunk_id, p.text, p.metadata)]
            is_translation = shown != p.doc_id or bool(p.metadata.get("translation_of"))
            original = self._original(p, versions, index) if is_translation else None
            for chunk_id, text, meta in rows:
                if chunk_id != p.chunk_id:
                    out.append(twin_passage(p, chunk_id, text, meta, original))
                elif original is not None and original.doc_id != p.doc_id:
                    extra = {"original_text": original.text, "original_section": original.section}
                    out.append(dataclasses.replace(p, metadata={**p.metadata, **extra}))
                else:
                    out.append(dataclasses.replace(p, metadata={**p.metadata}))
        return out

    def closest(self, query: Query, passages: Sequence[Passage], n: int) -> list[str]:
        """Citations of the n nearest documents, in the question's language, each once (the
        English and the Chinese version of one brief are one document)."""
        out: list[str] = []
        seen: set[str] = set()
        for p in self.in_language(query, passages[: 2 * n + 2]):
            base = self.library.versions(p.doc_id).get("en", p.doc_id)
            if base not in seen:
                seen.add(base)
                out.append(localised_citation(p, query.language))
            if len(out) == n:
                break
        return out

    def with_whole_document(self, query: Query, passages: list[Passage]) -> list[Passage]:
        """A fact about a document (its date, number, issuer) may sit in another of its
        sections than the one retrieval found: add the rest of the best passage's document."""
        best = passages[0].score
        q_tokens = tokens(expand(query.search_text))
        near = [p for p in passages if p.score >= FACT_DOCUMENT_FLOOR * best] or passages[:1]
        # the document the question names by title, among the passages close to the best
        top = max(near, key=lambda p: (title_share(p, q_tokens), p.score))
        top = dataclasses.replace(top, score=max(top.score, best))
        have = {p.chunk_id for p in passages}
        extra = []
        for chunk_id, text, meta in self.library.chunks(top.doc_id, None):
            if chunk_id in have or Role.parse(meta.get("role")) is Role.EDITORIAL:
                continue
            row = twin_passage(top, chunk_id, text, meta, None)
            extra.append(dataclasses.replace(row, score=top.score))
        if top.doc_id != passages[0].doc_id:  # the named document's retrieved sections too
            passages = [
                dataclasses.replace(p, score=max(p.score, best)) if p.doc_id == top.doc_id else p
                for p in passages
            ]
        return passages + extra

    def _original(self, hit: Passage, versions: dict[str, str], index: int) -> Passage | None:
        """For a translated section shown instead of a hit: the English original's section."""
        base = versions.get("en")
        if not base or base == hit.doc_id:
            return hit if self.doc_language(hit) == "en" else None
        rows = self.library.chunks(base, index)
        if not rows:
            return None
        chunk_id, _, meta = rows[0]
        text = " ".join(r[1] for r in rows)
        return passage_from_row(chunk_id, text, meta, score=hit.score)
