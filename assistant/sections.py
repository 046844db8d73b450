"""Structure: the blocks of a loaded file -> its text and recognised sections, with roles.

Input: list[Block] (assistant.formats). Output: the document text and list[Section] with
verbatim body offsets into it; apply_roles() then gives each section its role.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from .formats import Block
from .roles import Role, section_role, split_role_tag
from .text import CJK_RE


@dataclass(frozen=True)
class Section:
    """A recognised section: heading text, a short key ("4.3", "3(1)", "第三条") and body span."""

    heading: str
    key: str
    path: tuple[str, ...]
    level: int
    body_start: int
    body_end: int
    role: str = ""  # assistant.roles.Role value; "" until the document's roles are applied
    answers: str = ""  # section keys of the problems this section answers ("3(1)"), if declared

    @property
    def label(self) -> str:
        """Human readable label: the heading, with its parent when the heading is a bare number.

        E.g. "4.3 Attach importance to ..." or "3. The problem ... › (1)".
        """
        if len(self.path) >= 2 and len(self.heading) <= 8:
            return f"{self.path[-2]} › {self.heading}"
        return self.heading


# (level, label, key, path, heading start, body start) of a section as it is opened
_Opened = tuple[int, str, str, tuple[str, ...], int, int]

_ZH_NUM = "零〇一二三四五六七八九十百千两"
# (pattern, level, kind). Levels only need the right order: 编 > 章 > 节 > 条 > 一、 > （一）
# > 1. > 1.1 > 1.1.1 > (1). Kinds: "short" = a heading line; "inline" = a numbering token
# followed by the body on the same line ("第三条 学院应当……"); "item" = a Chinese list token
# (一、 / （一）) that is a heading when the line is short and an inline item otherwise;
# "caption" = a figure/table caption (its own tiny section).
_HEADING_PATTERNS: list[tuple[re.Pattern[str], int, str]] = [
    (re.compile(r"^(Abstract|摘\s*要)\s*[:：]\s*"), 7, "inline"),
    (re.compile(rf"^第[{_ZH_NUM}\d]+编(?![^\s{_ZH_NUM}\d（(])\s*"), 1, "short"),
    (re.compile(rf"^第[{_ZH_NUM}\d]+章(?![^\s])\s*"), 2, "short"),
    (re.compile(rf"^第[{_ZH_NUM}\d]+节(?![^\s])\s*"), 3, "short"),
    (re.compile(rf"^第[{_ZH_NUM}\d]+条(?![^\s])\s*"), 4, "inline"),
    (re.compile(r"^(?:Chapter|CHAPTER)\s+[\dIVXLC]+\b\s*"), 2, "short"),
    (re.compile(r"^(?:Article|ARTICLE)\s+\d+\b\.?\s*"), 4, "inline"),
    (re.compile(rf"^[{_ZH_NUM}]+、\s*"), 5, "item"),
    (re.compile(rf"^[（(][{_ZH_NUM}]+[）)]\s*"), 6, "item"),
    (re.compile(r"^\d+\.\d+\.\d+\.?\s+"), 9, "short"),
    (re.compile(r"^\d+\.\d+\.?\s+"), 8, "short"),
    (re.compile(r"^\d+[.、]\s*(?=[^\d\s])"), 7, "short"),
    (re.compile(r"^[（(]\d+[）)]\s*"), 10, "inline"),
    (re.compile(r"^(?:Figure|Fig\.|Table|图|表)\s*\d+\s*"), 11, "caption"),
]
_MAX_HEADING_CHARS = 110
_BODY_END_RE = re.compile(r"[。；;!?！？，,：:]$")


def _looks_like_heading_line(line: str, rest: str) -> bool:
    if len(line) > _MAX_HEADING_CHARS or _BODY_END_RE.search(line):
        return False
    return not (line.endswith(".") and len(rest.split()) > 8)


def _line_heading(line: str) -> tuple[int, str, str, str] | None:
    """Classify a line: (level, kind, numbering token, rest) or None for body text.

    kind is "short", "inline" or "caption" ("item" is resolved to one of the first two).
    """
    for pattern, level, kind in _HEADING_PATTERNS:
        m = pattern.match(line)
        if not m:
            continue
        token, rest = m.group(0).strip(), line[m.end() :].strip()
        if token.lower().startswith("article") and rest[:1].islower():
            return None  # "Article 3 states that ..." is prose, "Article 3 The school ..." a rule
        if kind == "item":
            if not rest:
                return None
            kind = "short" if _looks_like_heading_line(line, rest) and len(rest) <= 40 else "inline"
        elif kind in {"short", "caption"} and not _looks_like_heading_line(line, rest):
            return None
        # "1.2 billion yuan ..." or "2.5%" is body text, "4.3 Attach importance" a heading
        if (
            token[:1].isdigit()
            and kind == "short"
            and (not rest or not (rest[0].isupper() or CJK_RE.match(rest[0])))
        ):
            return None
        return level, kind, token, rest
    return None


def is_heading_line(line: str) -> bool:
    """True when a line opens a section (used by the format readers to keep it apart)."""
    return _line_heading(line) is not None


def _section_key(token: str, kind: str, parent_key: str) -> str:
    token = token.strip().rstrip(".、:： ")
    if token.lower().startswith("abstract") or token.startswith("摘"):
        return "abstract"
    if kind == "caption":
        m = re.search(r"\d+", token)
        prefix = "fig" if token.lower().startswith(("fig", "图")) else "table"
        return f"{prefix}{m.group(0) if m else ''}"
    m = re.match(rf"^[（(]([\d{_ZH_NUM}]+)[）)]$", token)
    if m:  # a sub-item is keyed under its parent: "3(1)", "第三条(一)", "一(二)"
        return f"{parent_key}({m.group(1)})" if parent_key else f"({m.group(1)})"
    return token.replace("（", "(").replace("）", ")")


def recognise_sections(blocks: list[Block]) -> tuple[str, list[Section]]:
    """Join blocks into the document text and find its sections (with verbatim offsets).

    A section's body runs from the end of its heading (or, for inline headings such as
    "第三条 ..." and "(1) ...", the end of the numbering token) to the start of the next
    section's heading block.
    """
    parts: list[str] = []
    opened: list[_Opened] = []
    tags: dict[int, str] = {}  # index in `opened` -> role declared by a heading tag
    stack: list[tuple[int, str, str]] = []  # (level, label, key)
    offset = 0

    def open_section(level: int, label: str, key: str, heading_start: int, body_start: int) -> None:
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, label, key))
        opened.append((level, label, key, tuple(s[1] for s in stack), heading_start, body_start))

    for block in blocks:
        if not block.text:
            continue
        text = block.text
        tag = None
        if block.heading_level is not None:
            text, tag = split_role_tag(text)  # "## Core rule {.provision}" declares a role
        if parts:
            parts.append("\n\n")
            offset += 2
        start = offset
        parts.append(text)
        offset += len(text)
        classified = _line_heading(text)
        if block.heading_level is not None:
            token = classified[2] if classified else ""
            key = _section_key(token, "short", "") if token else " ".join(text.split())[:60]
            if tag is not None:
                tags[len(opened)] = tag.value
            open_section(block.heading_level, text, key, start, offset)
            continue
        if classified is None:
            continue
        level, kind, token, rest = classified
        parent_key = next((s[2] for s in reversed(stack) if s[0] < level), "")
        key = _section_key(token, kind, parent_key)
        if kind == "inline":
            open_section(level, token.rstrip(":： "), key, start, offset - len(rest))
        elif kind == "caption":
            open_section(level, block.text, key, start, start)
        else:
            open_section(level, block.text, key, start, offset)
    text = "".join(parts)
    return text, _spans(text, opened, tags)


def _spans(text: str, opened: list[_Opened], tags: dict[int, str]) -> list[Section]:
    """The sections in document order, each body running to the next heading (and a nameless
    first section for any text before the first heading)."""
    sections: list[Section] = []
    first_heading = opened[0][4] if opened else len(text)
    if text[:first_heading].strip():
        sections.append(Section("", "", (), 0, 0, first_heading))
    for i, (level, label, key, path, _heading_start, body_start) in enumerate(opened):
        end = opened[i + 1][4] if i + 1 < len(opened) else len(text)
        sections.append(
            Section(label, key, path, level, body_start, max(body_start, end), role=tags.get(i, ""))
        )
    return sections


def apply_roles(sections: list[Section], kind: str, declared: Any, links: Any) -> list[Section]:
    """Give every section its role (assistant.roles) and the problems it answers, if declared.

    Args:
        sections: as recognised, with the roles their headings declared.
        kind: the document's kind.
        declared: ``section_roles`` of the metadata ({section key: role}), if any.
        links: ``problem_links`` of the metadata ({section key: "3(1), 3(2)"}), if any.
    """
    declared = {str(k): str(v) for k, v in declared.items()} if isinstance(declared, dict) else {}
    links = {str(k): str(v) for k, v in links.items()} if isinstance(links, dict) else {}
    out = []
    for s in sections:
        role = section_role(
            kind=kind, key=s.key, label=s.heading, tagged=Role.parse(s.role), declared=declared
        )
        out.append(replace(s, role=role.value, answers=links.get(s.key, "")))
    return out
