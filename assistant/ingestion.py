"""Load: files -> SourceDocument (text, metadata, recognised sections). No splitting here.

Input: paths of PDF, DOCX, HTML, Markdown or plain-text files. Output: SourceDocument objects
whose `text` is what every chunk and every quoted passage is a verbatim substring of.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from .errors import AssistantError, CorpusError
from .formats import (
    Block,
    blocks_from_docx,
    blocks_from_html,
    blocks_from_markdown,
    blocks_from_pdf,
    blocks_from_plain,
    decode_text,
    split_front_matter,
)
from .roles import Role, section_role, split_role_tag
from .text import CJK_RE, detect_language
from .types import Kind

__all__ = [
    "Block",
    "Section",
    "SourceDocument",
    "decode_text",
    "detect_language",
    "is_heading_line",
    "iter_files",
    "load_bytes",
    "load_file",
    "make_doc_id",
    "recognise_sections",
]

logger = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = {".txt", ".md", ".markdown", ".pdf", ".docx", ".html", ".htm"}
SIDECAR_SUFFIX = ".meta.yaml"
# Bumped when the way sections get their roles changes: documents are then re-indexed.
ROLES_VERSION = 1
_ID_RE = re.compile(r"[^a-z0-9._\-\u4e00-\u9fff]+")
_CJK_RE = CJK_RE


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


@dataclass(frozen=True)
class SourceDocument:
    """A loaded document with its recognised structure."""

    doc_id: str
    title: str
    kind: str
    text: str
    sections: list[Section]
    metadata: dict[str, Any] = field(default_factory=dict)
    content_hash: str = ""

    @property
    def language(self) -> str:
        """'zh' when a large share of the text is Chinese, else 'en'."""
        return detect_language(self.text)


def make_doc_id(name: str) -> str:
    """Normalise a file stem or a user-given id into a doc_id."""
    doc_id = _ID_RE.sub("-", unicodedata.normalize("NFKC", name).strip().lower()).strip("-.")
    return doc_id or "document"


# ----------------------------------------------------------------------------- file formats


# decode_text and the format readers live in formats.py (re-exported here).


# ----------------------------------------------------------------------------- structure

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
            and (not rest or not (rest[0].isupper() or _CJK_RE.match(rest[0])))
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
    opened: list[tuple[int, str, str, tuple[str, ...], int, int]] = []
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
    sections: list[Section] = []
    first_heading = opened[0][4] if opened else len(text)
    if text[:first_heading].strip():
        sections.append(Section("", "", (), 0, 0, first_heading))
    for i, (level, label, key, path, _heading_start, body_start) in enumerate(opened):
        end = opened[i + 1][4] if i + 1 < len(opened) else len(text)
        sections.append(
            Section(label, key, path, level, body_start, max(body_start, end), role=tags.get(i, ""))
        )
    return text, sections


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


# ----------------------------------------------------------------------------- entry points


def file_hash(data: bytes) -> str:
    """Content hash of a file's bytes (what makes re-ingesting an unchanged file a no-op)."""
    return hashlib.sha256(data).hexdigest()


def load_file(
    path: Path,
    *,
    overrides: dict[str, Any] | None = None,
    max_bytes: int = 50 * 1024 * 1024,
) -> SourceDocument:
    """Load one file into a SourceDocument (in this process; see safeload for the sandbox).

    Args:
        path: the file.
        overrides: metadata that wins over front matter and file name (title, kind, doc_id ...).
        max_bytes: refuse files larger than this (checked before reading).

    Returns:
        The loaded document.

    Raises:
        CorpusError: unreadable, unsupported, empty, too large or malformed.
    """
    path = Path(path)
    check_path(path, max_bytes)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise CorpusError(f"{path.name}: cannot read ({e.strerror})") from e
    return load_bytes(data, path, overrides=overrides)


def check_path(path: Path, max_bytes: int) -> int:
    """Refuse unsupported, missing, empty or too large files before reading them; return size."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise CorpusError(
            f"{path.name}: unsupported file type {suffix or '(none)'}; "
            f"use one of {', '.join(sorted(SUPPORTED_SUFFIXES))}"
        )
    try:
        if not path.exists():
            raise CorpusError(f"{path.name}: not found")
        if not path.is_file():
            raise CorpusError(f"{path.name}: not a regular file")
        size = path.stat().st_size
    except OSError as e:
        raise CorpusError(f"{path.name}: cannot read ({e.strerror})") from e
    if size > max_bytes:
        raise CorpusError(
            f"{path.name}: too large ({size / 1e6:.1f} MB > {max_bytes / 1e6:.0f} MB limit; "
            "raise ASSISTANT_MAX_FILE_MB to allow it)"
        )
    if size == 0:
        raise CorpusError(f"{path.name}: the file is empty")
    return size


def load_bytes(
    data: bytes, path: Path, *, overrides: dict[str, Any] | None = None
) -> SourceDocument:
    """Parse file content (already read) into a SourceDocument; see load_file.

    Raises:
        CorpusError: the content is not a readable file of its type, or holds no text. Any
            other exception a parser raises on malformed input is turned into one.
    """
    path = Path(path)
    try:
        return _load_bytes(data, path, overrides)
    except CorpusError:
        raise
    except MemoryError as e:
        raise CorpusError(f"{path.name}: ran out of memory while parsing (malformed file?)") from e
    except RecursionError as e:
        raise CorpusError(f"{path.name}: structure nested too deeply to parse") from e
    except Exception as e:  # third-party parsers raise arbitrary types on hostile input
        logger.debug("parser failure on %s", path, exc_info=True)
        raise CorpusError(
            f"{path.name}: could not be parsed ({type(e).__name__}: {str(e)[:200]})"
        ) from e


def _load_bytes(data: bytes, path: Path, overrides: dict[str, Any] | None) -> SourceDocument:
    from .sniffing import check_signature

    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise CorpusError(f"{path.name}: unsupported file type {suffix or '(none)'}")
    if not data:
        raise CorpusError(f"{path.name}: the file is empty")
    check_signature(data, suffix, path.name)
    meta: dict[str, Any] = {}
    if suffix in {".txt", ".md", ".markdown"}:
        text = decode_text(data, path.name)
        if suffix == ".txt":
            blocks = blocks_from_plain(text, is_heading_line)
        else:
            try:
                front, text = split_front_matter(text)
            except CorpusError as e:
                raise CorpusError(f"{path.name}: {e}") from e
            meta.update(front)
            blocks = blocks_from_markdown(text, is_heading_line)
    elif suffix in {".html", ".htm"}:
        blocks, meta = blocks_from_html(data, path.name)
    elif suffix == ".docx":
        blocks, meta = blocks_from_docx(data, path.name)
    else:
        blocks, meta = blocks_from_pdf(data, path.name, is_heading_line)
    sidecar = path.with_name(path.stem + SIDECAR_SUFFIX)
    if sidecar.is_file():
        import yaml

        try:
            side = yaml.safe_load(sidecar.read_text(encoding="utf-8")) or {}
        except (yaml.YAMLError, OSError, UnicodeDecodeError) as e:
            raise CorpusError(f"{sidecar.name}: unreadable metadata ({e})") from e
        if isinstance(side, dict):
            meta.update(side)
    meta.update({k: v for k, v in (overrides or {}).items() if v is not None})
    text, sections = recognise_sections(blocks)
    declared_roles, problem_links = meta.pop("section_roles", None), meta.pop("problem_links", None)
    if not text.strip():
        raise CorpusError(f"{path.name}: no text found")
    doc_id = make_doc_id(str(meta.get("doc_id") or path.stem))
    title = " ".join(str(meta.get("title") or _title_from(path, blocks)).split())[:300]
    try:
        kind = Kind.from_str(str(meta.get("kind") or "own")).value
    except AssistantError as e:
        raise CorpusError(f"{path.name}: {e}") from e
    clean_meta = {
        str(k): _plain(v) for k, v in meta.items() if k not in {"doc_id", "title", "kind"}
    }
    sections = apply_roles(sections, kind, declared_roles, problem_links)
    clean_meta["path"] = str(path)
    clean_meta["format"] = suffix.lstrip(".")
    return SourceDocument(
        doc_id=doc_id,
        title=title or path.name,
        kind=kind,
        text=text,
        sections=sections,
        metadata=clean_meta,
        content_hash=file_hash(
            data
            + repr(sorted(meta.items(), key=str)).encode()
            + repr((declared_roles, problem_links, ROLES_VERSION)).encode()
        ),
    )


def _plain(value: Any) -> Any:
    """Metadata values as Chroma accepts them; containers are flattened, bounded, never str()'d
    whole (a YAML structure can be huge)."""
    if isinstance(value, str):
        return value[:1000]
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, list | tuple):
        items = [str(v)[:200] for v in value[:50] if isinstance(v, str | int | float | bool)]
        return ", ".join(items)
    if isinstance(value, date):
        return value.isoformat()
    return type(value).__name__


def _title_from(path: Path, blocks: list[Block]) -> str:
    for block in blocks[:3]:
        if block.heading_level == 1:
            return block.text
    return path.stem.replace("_", " ").replace("-", " ").strip() or path.name


def iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Expand files and folders (recursively) into candidate files, in a stable order."""
    for p in paths:
        p = Path(p)
        if p.is_dir():
            for child in sorted(p.rglob("*")):
                if (
                    child.is_file()
                    and not child.name.startswith(".")
                    # metadata and requirement records of a document, not documents
                    and not child.name.endswith((SIDECAR_SUFFIX, ".requirements.yaml"))
                ):
                    yield child
        else:
            yield p
