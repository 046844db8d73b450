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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import CorpusError
from .types import Kind

logger = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = {".txt", ".md", ".markdown", ".pdf", ".docx", ".html", ".htm"}
SIDECAR_SUFFIX = ".meta.yaml"
_ID_RE = re.compile(r"[^a-z0-9._\-\u4e00-\u9fff]+")
_CJK_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True)
class Block:
    """A paragraph-like unit from a file; heading_level is set when the format marks a heading."""

    text: str
    heading_level: int | None = None


@dataclass(frozen=True)
class Section:
    """A recognised section: heading text, a short key ("4.3", "3(1)", "第三条") and body span."""

    heading: str
    key: str
    path: tuple[str, ...]
    level: int
    body_start: int
    body_end: int

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


def detect_language(text: str) -> str:
    """Return 'zh' when at least a fifth of the letters are CJK ideographs, else 'en'."""
    letters = sum(1 for c in text[:4000] if c.isalpha())
    cjk = len(_CJK_RE.findall(text[:4000]))
    return "zh" if letters and cjk / letters >= 0.2 else "en"


def make_doc_id(name: str) -> str:
    """Normalise a file stem or a user-given id into a doc_id."""
    doc_id = _ID_RE.sub("-", unicodedata.normalize("NFKC", name).strip().lower()).strip("-.")
    return doc_id or "document"


# ----------------------------------------------------------------------------- file formats


def decode_text(data: bytes, path: str = "") -> str:
    """Decode bytes as UTF-8 (with or without BOM), else GB18030 (a superset of GBK/GB2312).

    Raises:
        CorpusError: when the bytes look binary or decode as neither encoding.
    """
    if b"\x00" in data[:8192]:
        raise CorpusError(f"{path or 'file'}: looks like a binary file, not text")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        control = sum(1 for c in text[:8192] if unicodedata.category(c) == "Cc" and c not in "\n\r\t\f")
        if control > max(8, len(text[:8192]) // 100):
            raise CorpusError(f"{path or 'file'}: looks like a binary file, not text")
        return text
    raise CorpusError(f"{path or 'file'}: not UTF-8 or GB18030/GBK text")


def _split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    if not text.startswith("---"):
        return {}, text
    match = re.match(r"^---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|$)", text, re.S)
    if not match:
        return {}, text
    import yaml

    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as e:
        raise CorpusError(f"front matter is not valid YAML: {e}") from e
    if not isinstance(meta, dict):
        raise CorpusError("front matter must be a YAML mapping")
    return meta, text[match.end() :]


def _blocks_from_plain(text: str) -> list[Block]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return [Block(p.strip()) for p in re.split(r"\n\s*\n|\n(?=\s*\S)", text) if p.strip()]


def _blocks_from_markdown(text: str) -> list[Block]:
    blocks: list[Block] = []
    para: list[str] = []

    def flush() -> None:
        if para:
            blocks.append(Block(" ".join(s.strip() for s in para).strip()))
            para.clear()

    for line in text.replace("\r\n", "\n").split("\n"):
        heading = re.match(r"^(#{1,6})\s+(.+?)\s*#*\s*$", line)
        if heading:
            flush()
            blocks.append(Block(heading.group(2).strip(), len(heading.group(1))))
        elif not line.strip():
            flush()
        elif _line_heading(line.strip()) is not None:
            flush()
            para.append(line)
            flush()
        else:
            para.append(line)
    flush()
    return [b for b in blocks if b.text]


def _blocks_from_html(data: bytes, path: str) -> tuple[list[Block], dict[str, Any]]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data, "lxml")
    for tag in soup(["script", "style", "noscript", "template", "iframe", "object"]):
        tag.decompose()
    meta: dict[str, Any] = {}
    if soup.title and soup.title.get_text(strip=True):
        meta["title"] = soup.title.get_text(strip=True)
    blocks: list[Block] = []
    body = soup.body or soup
    for el in body.find_all(["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "pre", "td", "blockquote"]):
        if el.find(["p", "li", "h1", "h2", "h3", "h4", "h5", "h6"]):
            continue  # a container: its children are visited on their own
        text = " ".join(el.get_text(" ", strip=True).split())
        if not text:
            continue
        level = int(el.name[1]) if el.name in {"h1", "h2", "h3", "h4", "h5", "h6"} else None
        blocks.append(Block(text, level))
    if not blocks:
        blocks = _blocks_from_plain(body.get_text("\n"))
    return blocks, meta


def _blocks_from_docx(path: Path) -> tuple[list[Block], dict[str, Any]]:
    import docx

    try:
        document = docx.Document(str(path))
    except Exception as e:  # python-docx raises many types for broken zips
        raise CorpusError(f"{path.name}: not a readable DOCX file ({type(e).__name__})") from e
    meta: dict[str, Any] = {}
    props = document.core_properties
    if props.title:
        meta["title"] = props.title
    if props.author:
        meta["author"] = props.author
    blocks: list[Block] = []
    for para in document.paragraphs:
        text = " ".join(para.text.split())
        if not text:
            continue
        style = (para.style.name if para.style is not None else "") or ""
        level = None
        m = re.match(r"(?:Heading|标题)\s*(\d)", style)
        if m:
            level = int(m.group(1))
        elif style == "Title":
            level = 1
        blocks.append(Block(text, level))
    for table in document.tables:
        for row in table.rows:
            cells = [" ".join(c.text.split()) for c in row.cells]
            line = " | ".join(c for c in cells if c)
            if line:
                blocks.append(Block(line))
    return blocks, meta


def _blocks_from_pdf(path: Path) -> tuple[list[Block], dict[str, Any]]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            raise CorpusError(f"{path.name}: the PDF is encrypted; save an unencrypted copy")
        meta: dict[str, Any] = {}
        info = reader.metadata
        if info and info.title:
            meta["title"] = str(info.title)
        pages = [page.extract_text() or "" for page in reader.pages]
    except CorpusError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, RecursionError, OSError) as e:
        raise CorpusError(f"{path.name}: not a readable PDF ({type(e).__name__}: {e})") from e
    text = "\n\n".join(pages)
    if not text.strip():
        raise CorpusError(
            f"{path.name}: the PDF has no text layer (scanned images?); run OCR first"
        )
    # PDF lines are layout lines: join them into paragraphs, keep heading-like lines apart.
    blocks: list[Block] = []
    para: list[str] = []
    for line in text.replace("\r", "\n").split("\n"):
        line = line.strip()
        if not line:
            if para:
                blocks.append(Block(_join_lines(para)))
                para = []
            continue
        if _line_heading(line) is not None and len(line) <= 120:
            if para:
                blocks.append(Block(_join_lines(para)))
                para = []
        para.append(line)
    if para:
        blocks.append(Block(_join_lines(para)))
    return blocks, meta


def _join_lines(lines: list[str]) -> str:
    out = lines[0]
    for line in lines[1:]:
        if out.endswith("-") and not out.endswith(" -"):
            out = out[:-1] + line  # de-hyphenate
        elif _CJK_RE.match(out[-1:]) and _CJK_RE.match(line[:1]):
            out += line  # Chinese lines join without a space
        else:
            out += " " + line
    return out


# ----------------------------------------------------------------------------- structure

_ZH_NUM = "零〇一二三四五六七八九十百千两"
_HEADING_PATTERNS: list[tuple[re.Pattern[str], int, str]] = [
    # (pattern, level, kind); kind "short" = a heading line, "inline" = heading + body on one
    # line, "caption" = a figure/table caption (its own tiny section)
    (re.compile(r"^(Abstract|摘\s*要)\s*[:：]\s*"), 4, "inline"),
    (re.compile(rf"^第[{_ZH_NUM}\d]+编\s*"), 1, "short"),
    (re.compile(rf"^第[{_ZH_NUM}\d]+章\s*"), 2, "short"),
    (re.compile(rf"^第[{_ZH_NUM}\d]+节\s*"), 3, "short"),
    (re.compile(rf"^第[{_ZH_NUM}\d]+条\s*"), 4, "inline"),
    (re.compile(r"^(?:Chapter|CHAPTER)\s+[\dIVXLC]+\b\s*"), 2, "short"),
    (re.compile(r"^(?:Article|ARTICLE)\s+\d+\b\.?\s*"), 4, "inline"),
    (re.compile(rf"^[{_ZH_NUM}]+、\s*"), 2, "short"),
    (re.compile(rf"^[（(][{_ZH_NUM}]+[）)]\s*"), 3, "short"),
    (re.compile(r"^\d+\.\d+\.\d+\.?\s+"), 6, "short"),
    (re.compile(r"^\d+\.\d+\.?\s+"), 5, "short"),
    (re.compile(r"^\d+[.、]\s*(?=[^\d\s])"), 4, "short"),
    (re.compile(r"^[（(]\d+[）)]\s*"), 7, "inline"),
    (re.compile(r"^(?:Figure|Fig\.|Table|图|表)\s*\d+\s*"), 8, "caption"),
]
_MAX_HEADING_CHARS = 110


def _line_heading(line: str) -> tuple[int, str, str, str] | None:
    """Classify a line: (level, kind, numbering token, rest) or None for body text."""
    for pattern, level, kind in _HEADING_PATTERNS:
        m = pattern.match(line)
        if not m:
            continue
        token, rest = m.group(0).strip(), line[m.end() :].strip()
        if kind in {"short", "caption"}:
            if len(line) > _MAX_HEADING_CHARS or re.search(r"[。；;!?！？，,]$", line):
                return None
            if line.endswith(".") and len(rest.split()) > 8:
                return None
        if token[:1].isdigit() and kind == "short":
            # "1.2 billion yuan ..." or "2.5%" is body text, "4.3 Attach importance" a heading
            if not rest or not (rest[0].isupper() or _CJK_RE.match(rest[0])):
                return None
        return level, kind, token, rest
    return None


def _section_key(token: str, kind: str, parent_key: str) -> str:
    token = token.strip().rstrip(".、:： ")
    if token.lower().startswith("abstract") or token.startswith("摘"):
        return "abstract"
    if kind == "caption":
        m = re.search(r"\d+", token)
        prefix = "fig" if token.lower().startswith(("fig", "图")) else "table"
        return f"{prefix}{m.group(0) if m else ''}"
    m = re.match(r"^[（(](\d+)[）)]$", token)
    if m:
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
    stack: list[tuple[int, str, str]] = []  # (level, label, key)
    offset = 0

    def open_section(level: int, label: str, key: str, heading_start: int, body_start: int) -> None:
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, label, key))
        opened.append((level, label, key, tuple(s[1] for s in stack), heading_start, body_start))

    for block in blocks:
        if parts:
            parts.append("\n\n")
            offset += 2
        start = offset
        parts.append(block.text)
        offset += len(block.text)
        classified = _line_heading(block.text)
        if block.heading_level is not None:
            token = classified[2] if classified else ""
            key = _section_key(token, "short", "") if token else block.text[:60]
            open_section(block.heading_level, block.text, key, start, offset)
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
        sections.append(Section(label, key, path, level, body_start, max(body_start, end)))
    return text, sections


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
    """Load one file into a SourceDocument.

    Args:
        path: the file.
        overrides: metadata that wins over front matter and file name (title, kind, doc_id ...).
        max_bytes: refuse files larger than this.

    Returns:
        The loaded document.

    Raises:
        CorpusError: unreadable, unsupported, empty or too large.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise CorpusError(
            f"{path.name}: unsupported file type {suffix or '(none)'}; "
            f"use one of {', '.join(sorted(SUPPORTED_SUFFIXES))}"
        )
    try:
        size = path.stat().st_size
    except OSError as e:
        raise CorpusError(f"{path.name}: cannot read ({e.strerror})") from e
    if size > max_bytes:
        raise CorpusError(
            f"{path.name}: too large ({size / 1e6:.1f} MB > {max_bytes / 1e6:.0f} MB limit)"
        )
    if size == 0:
        raise CorpusError(f"{path.name}: the file is empty")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise CorpusError(f"{path.name}: cannot read ({e.strerror})") from e
    return load_bytes(data, path, overrides=overrides)


def load_bytes(
    data: bytes, path: Path, *, overrides: dict[str, Any] | None = None
) -> SourceDocument:
    """Parse file content (already read) into a SourceDocument; see load_file."""
    from .sniffing import check_signature

    suffix = path.suffix.lower()
    check_signature(data, suffix, path.name)
    meta: dict[str, Any] = {}
    if suffix in {".txt", ".md", ".markdown"}:
        text = decode_text(data, path.name)
        front, body = _split_front_matter(text)
        meta.update(front)
        blocks = _blocks_from_markdown(body) if suffix != ".txt" else _blocks_from_plain(body)
    elif suffix in {".html", ".htm"}:
        blocks, meta = _blocks_from_html(data, path.name)
    elif suffix == ".docx":
        blocks, meta = _blocks_from_docx(path)
    else:
        blocks, meta = _blocks_from_pdf(path)
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
    if not text.strip():
        raise CorpusError(f"{path.name}: no text found")
    doc_id = make_doc_id(str(meta.get("doc_id") or path.stem))
    title = str(meta.get("title") or _title_from(path, blocks)).strip()
    kind = Kind.from_str(str(meta.get("kind") or "own")).value
    clean_meta = {k: _plain(v) for k, v in meta.items() if k not in {"doc_id", "title", "kind"}}
    clean_meta["path"] = str(path)
    clean_meta["format"] = suffix.lstrip(".")
    return SourceDocument(
        doc_id=doc_id,
        title=title,
        kind=kind,
        text=text,
        sections=sections,
        metadata=clean_meta,
        content_hash=file_hash(data + repr(sorted(meta.items())).encode()),
    )


def _plain(value: Any) -> Any:
    if isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


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
                if child.is_file() and not child.name.startswith(".") and not child.name.endswith(
                    SIDECAR_SUFFIX
                ):
                    yield child
        else:
            yield p
