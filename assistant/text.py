"""Words about text used by every stage: CJK detection, language, markup escaping. Pure.

The one home of these rules, so that what counts as Chinese, and how untrusted text is made
inert in Markdown, is decided once.
"""

from __future__ import annotations

import re

CJK_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]()#+!|~>{}])")


def detect_language(text: str) -> str:
    """Return 'zh' when at least a fifth of the letters are CJK ideographs, else 'en'."""
    letters = sum(1 for c in text[:4000] if c.isalpha())
    cjk = len(CJK_RE.findall(text[:4000]))
    return "zh" if letters and cjk / letters >= 0.2 else "en"


def cjk_share(text: str) -> float:
    """Share of CJK ideographs among the letters of a text (0.0 when it has none)."""
    letters = sum(1 for c in text if c.isalpha())
    return len(CJK_RE.findall(text)) / letters if letters else 0.0


def escape_md(text: str) -> str:
    """Make untrusted text inert in Markdown and HTML: entities for <>&, backslash the rest."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)
