"""Query expansion with a domain glossary (assistant/data/glossary.yaml). Pure, no I/O after load.

Input: a question. Output: the extra document-vocabulary terms it implies ("" when none).
Administrators say "faculty", "pay", "creativity"; the texts say "teachers", "salary system",
"innovation ability". The glossary bridges that gap for both the lexical and the dense side,
maps Chinese terms to the English vocabulary of the paper and the briefs, and gives the
lexical side the Chinese forms of an English question's terms.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from .text import CJK_RE as _CJK

_GLOSSARY = Path(__file__).with_name("data") / "glossary.yaml"


@lru_cache(maxsize=1)
def _entries() -> list[tuple[re.Pattern[str] | None, tuple[str, ...], str]]:
    import yaml

    raw = yaml.safe_load(_GLOSSARY.read_text(encoding="utf-8")) or []
    entries = []
    for item in raw:
        forms = [str(f) for f in item["ask"]]
        latin = [re.escape(f.lower()) for f in forms if not _CJK.search(f)]
        pattern = (
            re.compile(
                r"(?<![\w-])(?:" + "|".join(sorted(latin, key=len, reverse=True)) + r")(?![\w-])"
            )
            if latin
            else None
        )
        cjk = tuple(f for f in forms if _CJK.search(f))
        entries.append((pattern, cjk, str(item["add"])))
    return entries


def expansion(question: str) -> str:
    """The glossary terms implied by a question, space-separated, without duplicates."""
    lowered = question.lower()
    added: list[str] = []
    for pattern, cjk, add in _entries():
        hit = (pattern is not None and pattern.search(lowered)) or any(f in question for f in cjk)
        if hit and add not in added:
            added.append(add)
    return " ".join(added)


def chinese_terms(question: str) -> str:
    """Chinese forms of the glossary entries an English question matches ("" when none).

    Added to the lexical query only, so an English question can match a Chinese document a
    college ingested (MiniLM cannot read Chinese, and USE alone ranks it low).
    """
    lowered = question.lower()
    added: list[str] = []
    for pattern, cjk, _ in _entries():
        if cjk and pattern is not None and pattern.search(lowered):
            added.extend(f for f in cjk if f not in added)
    return " ".join(added)


def expand(question: str) -> str:
    """The question followed by its glossary expansion (or unchanged when there is none)."""
    extra = expansion(question)
    return f"{question} ({extra})" if extra else question
