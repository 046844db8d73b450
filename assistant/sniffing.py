"""Check that a file's content matches its extension (a renamed binary is refused early)."""

from __future__ import annotations

from .errors import CorpusError


def check_signature(data: bytes, suffix: str, name: str) -> None:
    """Raise CorpusError when the bytes cannot be a file of this type.

    Args:
        data: the file's bytes.
        suffix: the lower-case extension with its dot.
        name: the file name for the message.

    Raises:
        CorpusError: the content does not match the extension.
    """
    head = data[:1024]
    if suffix == ".pdf":
        if b"%PDF-" not in head:
            raise CorpusError(f"{name}: not a PDF (no %PDF header); is the extension right?")
    elif suffix == ".docx":
        if not data.startswith(b"PK\x03\x04"):
            raise CorpusError(f"{name}: not a DOCX (not a zip container); is the extension right?")
    elif suffix in {".txt", ".md", ".markdown", ".html", ".htm"}:
        if head.startswith((b"%PDF-", b"PK\x03\x04", b"\x7fELF", b"\x89PNG", b"\xff\xd8\xff")):
            raise CorpusError(f"{name}: binary content in a {suffix} file; is the extension right?")
        if b"\x00" in data[:8192] and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise CorpusError(f"{name}: binary content in a {suffix} file; is the extension right?")
