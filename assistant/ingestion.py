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
from .sections import Section, apply_roles, is_heading_line, recognise_sections
from .text import detect_language
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
# files kept beside documents that are data about them, never documents: sidecar metadata and
# the requirement records of the gap check (assistant/requirements.py)
NOT_DOCUMENTS = (SIDECAR_SUFFIX, ".requirements.yaml")
# Bumped when the way sections get their roles changes: documents are then re-indexed.
ROLES_VERSION = 1
_ID_RE = re.compile(r"[^a-z0-9._\-\u4e00-\u9fff]+")


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
    blocks, meta = _read_blocks(data, suffix, path)
    meta.update(_sidecar(path))
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


def _read_blocks(data: bytes, suffix: str, path: Path) -> tuple[list[Block], dict[str, Any]]:
    """The blocks of a file by its format, and the metadata the file itself carries."""
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
    return blocks, meta


def _sidecar(path: Path) -> dict[str, Any]:
    """The metadata of the <stem>.meta.yaml beside a file ({} when there is none)."""
    sidecar = path.with_name(path.stem + SIDECAR_SUFFIX)
    if sidecar.is_file():
        import yaml

        try:
            side = yaml.safe_load(sidecar.read_text(encoding="utf-8")) or {}
        except (yaml.YAMLError, OSError, UnicodeDecodeError) as e:
            raise CorpusError(f"{sidecar.name}: unreadable metadata ({e})") from e
        if isinstance(side, dict):
            return side
    return {}


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
                    and not child.name.endswith(NOT_DOCUMENTS)
                ):
                    yield child
        else:
            yield p
