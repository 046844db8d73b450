"""Check that a file's content matches its extension, and that a DOCX container is safe to open.

Input: the file's bytes and extension. Output: nothing, or a CorpusError saying why the file
is refused. Runs before any third-party parser sees the bytes.
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import IO

from .errors import CorpusError

# Magic numbers of formats that are never text (a renamed file is refused with its real type).
_MAGIC: list[tuple[bytes, str]] = [
    (b"%PDF-", "a PDF"),
    (b"PK\x03\x04", "a zip container (DOCX/XLSX/ZIP)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old MS Office file (.doc/.xls) or an encrypted DOCX"),
    (b"\x7fELF", "an executable"),
    (b"MZ\x90\x00", "a Windows executable"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7z archive"),
    (b"Rar!", "a RAR archive"),
    (b"{\\rtf", "an RTF document"),
]

# DOCX limits. A real DOCX's XML compresses ~5-20x; a zip bomb compresses 100-1000x.
DOCX_MAX_UNZIPPED = 200 * 1024 * 1024  # total declared uncompressed size of all parts
DOCX_MAX_PARTS = 5000
DOCX_MAX_RATIO = 100  # for parts larger than DOCX_RATIO_FROM bytes
DOCX_RATIO_FROM = 2 * 1024 * 1024
_DTD_RE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.I)


def _real_type(head: bytes) -> str | None:
    for magic, label in _MAGIC:
        if head.startswith(magic):
            return label
    return None


def check_signature(data: bytes, suffix: str, name: str) -> None:
    """Raise CorpusError when the bytes cannot be a file of this type.

    Args:
        data: the file's bytes.
        suffix: the lower-case extension with its dot.
        name: the file name for the message.

    Raises:
        CorpusError: the content does not match the extension, or a DOCX container is unsafe.
    """
    head = data[:1024]
    real = _real_type(head)
    if suffix == ".pdf":
        if b"%PDF-" not in head:
            found = f"it is {real}" if real else "no %PDF header"
            raise CorpusError(f"{name}: not a PDF ({found}); is the extension right?")
    elif suffix == ".docx":
        if not data.startswith(b"PK\x03\x04"):
            found = f"it is {real}" if real else "not a zip container"
            raise CorpusError(f"{name}: not a DOCX ({found}); is the extension right?")
        check_docx(data, name)
    elif suffix in {".txt", ".md", ".markdown", ".html", ".htm"}:
        if real:
            raise CorpusError(
                f"{name}: binary content ({real}) in a {suffix} file; is the extension right?"
            )
        if b"\x00" in data[:8192] and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise CorpusError(f"{name}: binary content in a {suffix} file; is the extension right?")


def check_docx(data: bytes, name: str) -> None:
    """Inspect a DOCX zip before python-docx opens it.

    Refuses: a broken zip, a container without word/document.xml, more than DOCX_MAX_PARTS
    parts, declared uncompressed size above DOCX_MAX_UNZIPPED, a large part compressed more
    than DOCX_MAX_RATIO times (a zip bomb), and any XML part with a DOCTYPE or ENTITY
    declaration (entity expansion attacks; a genuine DOCX never has one). Python's zipfile
    never inflates a member past its declared size (it stops and fails the CRC), so the
    declared sizes are a real bound.

    Raises:
        CorpusError: with the reason.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as e:
        raise CorpusError(f"{name}: not a readable DOCX (broken zip: {e})") from e
    names = {i.filename for i in infos}
    if "word/document.xml" not in names or "[Content_Types].xml" not in names:
        raise CorpusError(f"{name}: not a Word document (no word/document.xml in the zip)")
    if len(infos) > DOCX_MAX_PARTS:
        raise CorpusError(
            f"{name}: refused: {len(infos)} parts in the zip (limit {DOCX_MAX_PARTS})"
        )
    total = sum(i.file_size for i in infos)
    if total > DOCX_MAX_UNZIPPED:
        raise CorpusError(
            f"{name}: refused as a possible zip bomb: it unpacks to {total / 1e6:.0f} MB "
            f"(limit {DOCX_MAX_UNZIPPED / 1e6:.0f} MB)"
        )
    for info in infos:
        if info.file_size > DOCX_RATIO_FROM and info.file_size > DOCX_MAX_RATIO * max(
            1, info.compress_size
        ):
            raise CorpusError(
                f"{name}: refused as a possible zip bomb: part {info.filename} is compressed "
                f"{info.file_size / max(1, info.compress_size):.0f}:1 (limit {DOCX_MAX_RATIO}:1)"
            )
    for info in infos:
        if not info.filename.endswith((".xml", ".rels")):
            continue
        try:
            with archive.open(info) as part:
                _scan_for_dtd(part, name, info.filename)
        except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError) as e:
            raise CorpusError(f"{name}: broken part {info.filename} ({e})") from e


def _scan_for_dtd(part: IO[bytes], name: str, part_name: str) -> None:
    """Look for a DOCTYPE/ENTITY declaration anywhere in an XML part (streamed, bounded)."""
    tail = b""
    first = True
    while True:
        chunk = part.read(1024 * 1024)
        if not chunk:
            return
        if first and chunk.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise CorpusError(f"{name}: refused: part {part_name} is UTF-16 XML (not used by Word)")
        first = False
        window = tail + chunk
        if _DTD_RE.search(window):
            raise CorpusError(
                f"{name}: refused: part {part_name} declares a DOCTYPE/ENTITY "
                "(XML entity expansion is not allowed in DOCX)"
            )
        tail = window[-32:]
