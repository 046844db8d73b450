"""Bytes before parsing: decoding (UTF-8, UTF-16 with BOM, GB18030), the binary check, Markdown
front matter, and HTML nesting depth. Input: file bytes or text. Output: str, (metadata, body)
or a depth.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from .errors import CorpusError


def decode_text(data: bytes, name: str = "") -> str:
    """Decode bytes as UTF-8 (with or without BOM), else GB18030 (a superset of GBK/GB2312).

    Raises:
        CorpusError: when the bytes look binary or decode as neither encoding.
    """
    label = name or "file"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as e:
            raise CorpusError(f"{label}: broken UTF-16 text ({e.reason})") from e
        return _check_controls(text, label)
    if b"\x00" in data[:8192]:
        raise CorpusError(f"{label}: looks like a binary file, not text")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return _check_controls(text, label)
    raise CorpusError(f"{label}: not UTF-8 or GB18030/GBK text")


def _check_controls(text: str, label: str) -> str:
    sample = text[:8192]
    control = sum(
        1 for c in sample if unicodedata.category(c) in {"Cc", "Co", "Cs"} and c not in "\n\r\t\f"
    )
    if control > max(8, len(sample) // 100):
        raise CorpusError(f"{label}: looks like a binary file, not text")
    return text


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Split a leading `---` YAML block off Markdown text; returns (metadata, body)."""
    if not text.startswith("---"):
        return {}, text
    match = re.match(r"^---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|$)", text, re.S)
    if not match:
        return {}, text
    import yaml

    block = match.group(1)
    if len(block) > 65536:
        raise CorpusError("front matter is longer than 64 KB")
    try:
        if any(isinstance(t, yaml.AliasToken | yaml.AnchorToken) for t in yaml.scan(block)):
            raise CorpusError("front matter uses YAML anchors/aliases, which are not allowed")
        meta = yaml.safe_load(block) or {}
    except (yaml.YAMLError, RecursionError) as e:
        raise CorpusError(f"front matter is not valid YAML: {str(e)[:200]}") from e
    if not isinstance(meta, dict):
        raise CorpusError("front matter must be a YAML mapping")
    return meta, text[match.end() :]


MAX_HTML_DEPTH = 2000
_TAG_RE = re.compile(rb"<(/?)([a-zA-Z][a-zA-Z0-9]*)[^>]*?(/?)>")
# Elements that never nest (void) or close implicitly: they do not add depth.
_FLAT_TAGS = frozenset(
    b"area base br col embed hr img input link meta param source track wbr p li td tr th dt dd "
    b"option optgroup thead tbody tfoot colgroup caption rb rt rp html head body".split()
)


def html_nesting_depth(data: bytes) -> int:
    """Approximate maximum element nesting of HTML, by a linear scan of its tags."""
    depth = deepest = 0
    for m in _TAG_RE.finditer(data):
        tag = m.group(2).lower()
        if tag in _FLAT_TAGS or m.group(3):
            continue
        if m.group(1):
            depth = max(0, depth - 1)
        else:
            depth += 1
            deepest = max(deepest, depth)
    return deepest
