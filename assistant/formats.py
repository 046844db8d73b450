"""Format readers: file bytes -> paragraph-like Blocks (+ format metadata). Input: bytes of
TXT, Markdown, HTML, DOCX or PDF. Output: list[Block] and a metadata dict (title, author).

Readers know nothing about section numbering; they get an `is_heading(line)` predicate from
ingestion so that a numbered heading line is never glued to the paragraph around it.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .decoding import MAX_HTML_DEPTH, html_nesting_depth
from .decoding import decode_text as decode_text
from .decoding import split_front_matter as split_front_matter
from .errors import CorpusError

if TYPE_CHECKING:
    from bs4.element import PageElement, Tag

IsHeading = Callable[[str], bool]
_SENTENCE_END = tuple(".!?;:。！？；：”」』)）")
_HTML_BLOCK_TAGS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "caption",
        "dd",
        "details",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "html",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
        "br",
    ]
)
_HTML_DROP_TAGS = ["script", "style", "noscript", "template", "iframe", "object", "head", "svg"]


@dataclass(frozen=True)
class Block:
    """A paragraph-like unit from a file; heading_level is set when the format marks a heading."""

    text: str
    heading_level: int | None = None


# ----------------------------------------------------------------------------- text


def join_lines(lines: list[str]) -> str:
    """Join layout lines of one paragraph: de-hyphenate, no space next to Chinese text."""
    out = lines[0]
    for line in lines[1:]:
        if out.endswith("-") and not out.endswith(" -") and line[:1].islower():
            out = out[:-1] + line  # de-hyphenate "train-\ning"
        elif _is_wide(out[-1:]) or _is_wide(line[:1]):
            out += line  # Chinese lines join without a space
        else:
            out += " " + line
    return out


def _is_wide(char: str) -> bool:
    return bool(char) and unicodedata.east_asian_width(char) in "WF"


def blocks_from_lines(
    text: str, is_heading: IsHeading, *, wrapped: bool | None = None
) -> list[Block]:
    """Group text lines into paragraphs.

    Blank lines and heading lines always end a paragraph. When the text is hard-wrapped (PDF
    layout lines, or a TXT wrapped at a fixed width) consecutive lines are joined unless the
    previous line is clearly short (ends a paragraph); otherwise every line is a paragraph,
    which is how Chinese regulations are usually typed (one clause per line).

    Args:
        text: the text.
        is_heading: tells heading lines (they stand alone or open a paragraph).
        wrapped: force the hard-wrap decision (None: detect from line lengths).
    """
    lines = [ln.strip() for ln in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    lengths = [_width(ln) for ln in lines if ln]
    if not lengths:
        return []
    width = _wrap_width(lengths)
    if wrapped is None:
        full = sum(1 for n in lengths if n >= 0.8 * width)
        wrapped = len(lengths) >= 3 and width <= 140 and full >= 0.4 * len(lengths)
    blocks: list[Block] = []
    para: list[str] = []

    def flush() -> None:
        if para:
            blocks.append(Block(join_lines(para)))
            para.clear()

    for line in lines:
        if not line:
            flush()
            continue
        if is_heading(line):
            flush()
            para.append(line)
            if _width(line) < 0.8 * width or line.endswith(_SENTENCE_END):
                flush()  # a short heading line stands alone; a long one runs on ("第三条 ...")
            continue
        if not wrapped:
            flush()
            para.append(line)
            continue
        if para and _paragraph_ended(para[-1], width):
            flush()
        para.append(line)
    flush()
    return blocks


def _width(line: str) -> int:
    """Display width: a Chinese character is as wide as two Latin ones."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


def _wrap_width(lengths: list[int]) -> float:
    ordered = sorted(lengths)
    return float(ordered[int(0.9 * (len(ordered) - 1))]) if len(ordered) > 1 else float(ordered[0])


def _paragraph_ended(prev: str, width: float) -> bool:
    w = _width(prev)
    return w < 0.6 * width or (prev.endswith(_SENTENCE_END) and w < 0.85 * width)


def blocks_from_plain(text: str, is_heading: IsHeading) -> list[Block]:
    """Blocks of a plain-text file."""
    return blocks_from_lines(text, is_heading)


def blocks_from_markdown(text: str, is_heading: IsHeading) -> list[Block]:
    """Blocks of Markdown: ATX and setext headings, fenced code kept verbatim, list items apart."""
    blocks: list[Block] = []
    para: list[str] = []
    fence: list[str] | None = None

    def flush() -> None:
        if para:
            blocks.append(Block(join_lines(para)))
            para.clear()

    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.strip()
        if fence is not None:
            if line.startswith(("```", "~~~")):
                if fence:
                    blocks.append(Block("\n".join(fence)))
                fence = None
            else:
                fence.append(raw.rstrip())
            continue
        if line.startswith(("```", "~~~")):
            flush()
            fence = []
            continue
        heading = re.match(r"^(#{1,6})\s+(.+?)(?:\s+#+)?\s*$", line)
        if heading:
            flush()
            blocks.append(Block(heading.group(2).strip(), len(heading.group(1))))
        elif re.fullmatch(r"=+|-+", line) and len(para) == 1 and not re.fullmatch(r"-+", para[0]):
            title = para.pop()
            blocks.append(Block(title, 1 if line.startswith("=") else 2))
        elif not line:
            flush()
        elif is_heading(line):
            flush()
            para.append(line)
            flush()
        elif re.match(r"^(?:[-*+]|\d+[.)])\s+", line):
            flush()  # a list item is its own paragraph
            para.append(line)
        else:
            para.append(line)
    if fence:
        blocks.append(Block("\n".join(fence)))
    flush()
    return [b for b in blocks if b.text.strip()]


# ----------------------------------------------------------------------------- HTML


def blocks_from_html(data: bytes, name: str) -> tuple[list[Block], dict[str, Any]]:
    """Blocks of an HTML page: headings h1-h6 keep their level; every block element is a block.

    The tree is walked iteratively (no recursion), so deeply nested markup cannot overflow the
    stack; a RecursionError from the parser itself becomes a CorpusError.
    """
    from bs4 import NavigableString
    from bs4.element import Comment, Declaration, Doctype, ProcessingInstruction

    soup = _parse_html(data, name)
    meta: dict[str, Any] = {}
    title_tag = soup.find("title")
    if title_tag is not None:
        title = " ".join(title_tag.get_text(" ").split())
        if title:
            meta["title"] = title[:300]
    skip = (Comment, Declaration, Doctype, ProcessingInstruction)
    blocks: list[Block] = []
    current_owner: int | None = None
    current_level: int | None = None
    parts: list[str] = []

    def flush() -> None:
        text = " ".join(" ".join(parts).split())
        if text:
            blocks.append(Block(text, current_level))
        parts.clear()

    for node in soup.descendants:
        if not isinstance(node, NavigableString) or isinstance(node, skip):
            continue
        owner, dropped = _block_owner(node)
        if dropped or not str(node).strip():
            continue
        owner_id = id(owner)
        if owner_id != current_owner:
            flush()
            current_owner = owner_id
            is_h = owner is not None and re.fullmatch(r"h[1-6]", owner.name)
            current_level = int(owner.name[1]) if is_h and owner is not None else None
        parts.append(str(node))
    flush()
    return blocks, meta


def _parse_html(data: bytes, name: str) -> Any:
    """The BeautifulSoup tree of a page, refused when nested too deeply to walk safely."""
    from bs4 import BeautifulSoup

    depth = html_nesting_depth(data)
    if depth > MAX_HTML_DEPTH:
        raise CorpusError(
            f"{name}: refused: elements nested {depth} levels deep (limit {MAX_HTML_DEPTH})"
        )
    markup: bytes | str = data
    try:
        markup = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        if not re.search(rb"charset\s*=", data[:4096], re.I):
            markup = decode_text(data, name)  # no declared charset: GB18030/GBK
    try:
        return BeautifulSoup(markup, "lxml")
    except RecursionError as e:
        raise CorpusError(f"{name}: the HTML is nested too deeply to read") from e


def _block_owner(node: PageElement) -> tuple[Tag | None, bool]:
    """(the block element a text node belongs to or None, whether it sits in a dropped one)."""
    owner: Tag | None = None
    parent = node.parent
    while parent is not None:
        if parent.name in _HTML_DROP_TAGS:
            return owner, True
        if owner is None and parent.name in _HTML_BLOCK_TAGS:
            owner = parent
            if parent.name not in {"li", "td", "th", "dd", "dt", "caption", "summary", "p"}:
                break  # headings/paragraphs may sit in a <head>-less fragment; stop early
        parent = parent.parent
    return owner, False


# ----------------------------------------------------------------------------- DOCX


def blocks_from_docx(data: bytes, name: str) -> tuple[list[Block], dict[str, Any]]:
    """Blocks of a DOCX: paragraphs in body order, Heading/标题 styles as levels, tables by row.

    The zip container has been checked by sniffing.check_docx (sizes, ratios, DOCTYPE) first.
    """
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as e:  # python-docx raises many types for broken containers
        raise CorpusError(
            f"{name}: not a readable DOCX file ({type(e).__name__}: {str(e)[:200]})"
        ) from e
    meta: dict[str, Any] = {}
    props = document.core_properties
    if props.title and props.title.strip():
        meta["title"] = props.title.strip()
    if props.author:
        meta["author"] = props.author
    blocks: list[Block] = []
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            text = " ".join(item.text.split())
            if not text:
                continue
            try:
                style = (item.style.name if item.style is not None else "") or ""
            except (KeyError, ValueError):
                style = ""
            level = None
            m = re.match(r"(?:Heading|标题)\s*(\d)", style)
            if m:
                level = int(m.group(1))
            elif style == "Title":
                level = 1
            blocks.append(Block(text, level))
        elif isinstance(item, Table):
            for row in item.rows:
                cells = [" ".join(c.text.split()) for c in row.cells]
                line = " | ".join(dict.fromkeys(c for c in cells if c))  # merged cells repeat
                if line:
                    blocks.append(Block(line))
    return blocks, meta


# ----------------------------------------------------------------------------- PDF


def blocks_from_pdf(
    data: bytes, name: str, is_heading: IsHeading
) -> tuple[list[Block], dict[str, Any]]:
    """Blocks of a PDF's text layer: layout lines joined into paragraphs, headings apart."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise CorpusError(f"{name}: the PDF is encrypted; save an unencrypted copy")
        meta: dict[str, Any] = {}
        info = reader.metadata
        if info and info.title and str(info.title).strip():
            meta["title"] = str(info.title).strip()[:300]
        pages = [page.extract_text() or "" for page in reader.pages]
    except CorpusError:
        raise
    except Exception as e:  # pypdf raises a wide range of types on malformed files
        raise CorpusError(f"{name}: not a readable PDF ({type(e).__name__}: {str(e)[:200]})") from e
    if not "".join(pages).strip():
        raise CorpusError(f"{name}: the PDF has no text layer (scanned images?); run OCR first")
    blocks: list[Block] = []
    for page in pages:  # layout lines are always wrapped in a PDF
        blocks.extend(blocks_from_lines(page, is_heading, wrapped=True))
    return blocks, meta
