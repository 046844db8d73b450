"""Upload handling. Input: files a browser sent. Output: per-file results after ingestion.

Each file is checked (type allowlist, size limit, content signature) and kept, content-
addressed, as <data_dir>/files/<sha256>/<sanitized base name>: the index records that path,
so `assistant reindex` restores uploads. A file that is refused or skipped is not kept.
Uploads are ingested as own documents of the uploader (assistant.provenance), never as policy.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assistant.errors import AssistantError, CorpusError
from assistant.provenance import Arrival
from assistant.sniffing import check_signature

logger = logging.getLogger(__name__)

ALLOWED_SUFFIXES = (".pdf", ".docx", ".html", ".htm", ".md", ".txt")
_UNSAFE_NAME = re.compile(r"[^\w.\- ]+")
MAX_NAME_CHARS = 120


def sanitize_filename(name: str) -> str:
    """A safe base name for an uploaded file: no directories, no leading dots, no odd characters.

    Args:
        name: the name the browser sent (may contain `../`, `\\`, an absolute path ...).

    Returns:
        A plain file name (letters incl. Chinese, digits, `.`, `-`, `_`, space) or "upload".
    """
    name = unicodedata.normalize("NFKC", name).replace("\\", "/").split("/")[-1]
    name = _UNSAFE_NAME.sub("_", name).strip(" .")
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    stem = stem.strip(" .")[: MAX_NAME_CHARS - len(suffix) - 1] or "upload"
    return f"{stem}.{suffix}" if suffix else stem


def check_upload(data: bytes, name: str, max_bytes: int) -> str:
    """Why an upload is refused, or "" when it is acceptable.

    Args:
        data: the file's bytes.
        name: its sanitized name.
        max_bytes: size limit.

    Returns:
        A reason that tells the user what to do, or "".
    """
    suffix = Path(name).suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        return f"file type {suffix or '(none)'} is not accepted; use {', '.join(ALLOWED_SUFFIXES)}"
    if len(data) > max_bytes:
        return f"too large ({len(data) / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB)"
    if not data:
        return "the file is empty"
    try:
        check_signature(data, suffix, name)
    except CorpusError as e:
        return str(e)
    return ""


def ingest_uploads(
    assistant: Any, files: Sequence[str | Path], store_root: Path, max_bytes: int, user: str = ""
) -> list[dict[str, str]]:
    """Check, keep and ingest uploaded files; one result per file.

    Args:
        assistant: the Assistant (its .ingest is called once per accepted file).
        files: paths of the uploaded files (in Gradio's upload cache); they are deleted after.
        store_root: <data_dir>/files, where accepted files are kept by content hash.
        max_bytes: the size limit per file.
        user: the logged-in user ("" without a login).

    Returns:
        Dicts with file (sanitized name), status (added/version/updated/unchanged/refused/
        skipped) and detail.
    """
    by = user or "web user (no login)"
    try:
        return [_ingest_one(assistant, Path(raw), store_root, max_bytes, by) for raw in files]
    finally:
        for raw in files:  # Gradio's cached copy of the upload
            try:
                Path(raw).unlink(missing_ok=True)
            except OSError:
                logger.warning("could not remove the uploaded temp file %s", raw)


def _ingest_one(
    assistant: Any, src: Path, store_root: Path, max_bytes: int, by: str
) -> dict[str, str]:
    """Check, keep and ingest one uploaded file; its result."""
    name = sanitize_filename(src.name)
    try:
        data = src.read_bytes() if src.stat().st_size <= max_bytes else b"x" * (max_bytes + 1)
    except OSError as e:
        return {"file": name, "status": "refused", "detail": f"unreadable ({e.strerror})"}
    reason = check_upload(data, name, max_bytes)
    if reason:
        return {"file": name, "status": "refused", "detail": reason}
    folder = (store_root / hashlib.sha256(data).hexdigest()).resolve()
    dest = (folder / name).resolve()
    if dest.parent != folder:  # cannot happen after sanitize_filename; belt and braces
        return {"file": name, "status": "refused", "detail": "bad file name"}
    fresh = not dest.exists()
    folder.mkdir(parents=True, exist_ok=True)
    if fresh:
        dest.write_bytes(data)
    try:
        report = assistant.ingest([dest], arrival=Arrival(via="web", by=by, file_name=name))
    except AssistantError as e:
        result = {"file": name, "status": "skipped", "detail": str(e)}
    else:
        result = _result(name, report)
    if fresh and result["status"] in {"skipped", "refused"}:
        dest.unlink(missing_ok=True)  # keep only what the index uses
        with contextlib.suppress(OSError):
            folder.rmdir()
    return result


def _result(name: str, report: Any) -> dict[str, str]:
    for new, old in report.superseded.items():
        return {
            "file": name,
            "status": "version",
            "detail": f"doc_id {new}: a new version of {old}, which is kept and listed as "
            f"superseded; {report.chunks_written} passages indexed",
        }
    for status in ("added", "updated", "unchanged"):
        ids = getattr(report, status)
        if ids:
            detail = f"doc_id {ids[0]}"
            if status != "unchanged":
                detail += f", {report.chunks_written} passages indexed"
            return {"file": name, "status": status, "detail": detail}
    reason = report.skipped[0].reason if report.skipped else "nothing to index"
    reason = (
        reason.replace(str(Path(report.skipped[0].path).parent) + "/", "")
        if report.skipped
        else reason
    )
    return {"file": name, "status": "skipped", "detail": reason}
