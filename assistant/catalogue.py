"""What the index holds, read for the answer stage: language versions, the documents a question
names by title, the paper's id, a coverage line, and cached sections.

Input: a Store. Output: the Library callables (assistant.versions.Library); every table is
rebuilt when the store's fingerprint changes.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from typing import Any

from .indexing import DocRecord, Store
from .lexical import tokenize

SECTION_CACHE = 2048  # sections (and whole documents) kept for the answer stage


class Catalogue:
    """Read-only tables over the committed documents, cached per corpus version."""

    def __init__(self, store: Store) -> None:
        """Read through a store; nothing is loaded until asked.

        Args:
            store: the index whose registry and chunks are read.
        """
        self._store = store
        self._versions_cache: tuple[str, dict[str, dict[str, str]]] = ("", {})
        self._names_cache: tuple[str, dict[str, set[str]]] = ("", {})
        self._words_cache: tuple[str, list[tuple[str, str, frozenset[str]]]] = ("", [])
        self._sections: OrderedDict[tuple[str, str, int | None], list[Any]] = OrderedDict()
        self._sections_lock = threading.Lock()

    def versions(self, doc_id: str) -> dict[str, str]:
        """The language versions of a document: {"en": doc_id, "zh": doc_id} (one entry if none).

        A translation names its original in ``translation_of`` (front matter or sidecar).
        """
        registry = self._store.registry()
        rec = registry.get(doc_id)
        if rec is None:
            return {}
        base = str(rec.metadata.get("translation_of") or doc_id)
        table = self._versions_table(registry)
        return table.get(base, {str(rec.metadata.get("lang", "en")): doc_id})

    def _versions_table(self, registry: dict[str, DocRecord]) -> dict[str, dict[str, str]]:
        key = self._store.fingerprint()
        if self._versions_cache[0] != key:
            table: dict[str, dict[str, str]] = {}
            for rec in registry.values():
                base = str(rec.metadata.get("translation_of") or "")
                if base and base in registry:
                    table.setdefault(base, {"en": base})[str(rec.metadata.get("lang", "zh"))] = (
                        rec.doc_id
                    )
            self._versions_cache = (key, table)
        return self._versions_cache[1]

    def section_chunks(
        self, doc_id: str, section_index: int | None = None
    ) -> list[tuple[str, str, dict[str, Any]]]:
        """A committed document's chunks (or one section's), cached until the corpus changes."""
        key = (self._store.fingerprint(), doc_id, section_index)
        with self._sections_lock:
            hit = self._sections.get(key)
            if hit is not None:
                self._sections.move_to_end(key)
                return hit
        rows = self._store.section_chunks(doc_id, section_index)
        if not rows:
            return rows  # nothing, or a read that failed under a concurrent write: not kept
        with self._sections_lock:
            self._sections[key] = rows
            while len(self._sections) > SECTION_CACHE:
                self._sections.popitem(last=False)
        return rows

    def named_documents(self, question: str) -> list[str]:
        """Policy documents whose title the question writes out (both language versions).

        A title counts without its "of the People's Republic of China" / "中华人民共和国" part
        and without a trailing parenthesis ("(revised 2022)"): "职业教育法" names
        《中华人民共和国职业教育法》; a question naming two documents gets both.
        """
        lowered = question.lower()
        found: list[str] = []
        for doc_id, names in self._title_names().items():
            if any(name in lowered for name in names):
                found.extend(v for v in self.versions(doc_id).values() if v not in found)
        if found:
            return found
        # "the 2017 industry-education integration opinions": the document's year and most of
        # the words of one of its titles
        asked = set(tokenize(question))
        for doc_id, year, words in self._title_words():
            if year and year in question and len(words & asked) >= 3 and len(words - asked) <= 2:
                found.extend(v for v in self.versions(doc_id).values() if v not in found)
        return found

    def _title_words(self) -> list[tuple[str, str, frozenset[str]]]:
        """(doc_id, year, the words of one title) for the policy documents' titles."""
        key = self._store.fingerprint()
        if self._words_cache[0] != key:
            entries = []
            for rec in self._store.registry().values():
                if rec.kind == "policy" and not rec.metadata.get("translation_of"):
                    year = str(rec.metadata.get("date", ""))[:4]
                    for title in (rec.title, str(rec.metadata.get("title_zh", ""))):
                        words = frozenset(tokenize(_core_title(title)))
                        if words:
                            entries.append((rec.doc_id, year, words))
            self._words_cache = (key, entries)
        return self._words_cache[1]

    def _title_names(self) -> dict[str, set[str]]:
        """doc_id -> the lower-cased core titles of the policy documents (per corpus version)."""
        key = self._store.fingerprint()
        if self._names_cache[0] != key:
            names = {}
            for rec in self._store.registry().values():
                if rec.kind == "policy" and not rec.metadata.get("translation_of"):
                    titles = (rec.title, str(rec.metadata.get("title_zh", "")))
                    # a brief may list the names it is widely known by ("职教20条")
                    aliases = str(rec.metadata.get("aliases", "")).split(", ")
                    names[rec.doc_id] = {_core_title(t).lower() for t in titles} - {""}
                    names[rec.doc_id] |= {a.strip().lower() for a in aliases if len(a.strip()) > 3}
            self._names_cache = (key, names)
        return self._names_cache[1]

    def paper_id(self) -> str | None:
        """The doc_id of the paper (the first by id if several), or None."""
        papers = [
            r.doc_id
            for r in self._store.registry().values()
            if r.kind == "paper" and not r.metadata.get("translation_of")
        ]
        return sorted(papers)[0] if papers else None

    def coverage(self, language: str) -> str:
        """One line on what the indexed documents cover (said when a question is not covered)."""
        records = [
            r for r in self._store.registry().values() if not r.metadata.get("translation_of")
        ]
        kinds = {r.kind for r in records}
        parts = []
        if "paper" in kinds:
            parts.append(
                "如何培养高技能人才：教育理念与顶层设计、课程与教学评价改革、双师型教师培养与激励、实训平台与社会支持"
                if language == "zh"
                else "how higher vocational colleges can train high-skilled talent (top-level "
                "design, curriculum and evaluation reform, dual-qualified teachers and their pay "
                "and promotion, training platforms and outside support)"
            )
        policies = [r for r in records if r.kind == "policy"]
        if policies:
            parts.append(
                f"{len(policies)} 份国家职业教育政策摘要"
                if language == "zh"
                else f"{len(policies)} national vocational-education policy briefs"
            )
        own = [r.title for r in records if r.kind == "own"]
        if own:
            parts.append(
                ("本校文件：" if language == "zh" else "your documents: ") + "; ".join(own[:5])
            )
        return "; ".join(parts) or ("（暂无文件）" if language == "zh" else "(nothing yet)")


def _core_title(title: str) -> str:
    """A title as people write it: no "of the People's Republic of China", no trailing
    parenthesis; "" when too short to name a document safely."""
    core = re.sub(r"\s*[(（][^()（）]*[)）]\s*$", "", title)
    core = re.sub(r"(?i)\s+of the people's republic of china|中华人民共和国", "", core).strip()
    short = len(core) < 4 if re.search(r"[\u4e00-\u9fff]", core) else len(core.split()) < 3
    return "" if short else core
