"""Upload handling. Input: files a browser sent. Output: per-file results after ingestion.

Each file is checked (type allowlist, size limit, content signature), copied under a fresh
temporary folder inside <data_dir>/uploads using only a sanitized base name, ingested, and
the temporary copies are removed afterwards whatever happens.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assistant.errors import AssistantError, CorpusError
from assistant.sniffing import check_signature

from .render import sanitize_filename

logger = logging.getLogger(__name__)

ALLOWED_SUFFIXES = (".pdf", ".docx", ".html", ".htm", ".md", ".txt")


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
    assistant: Any, files: Sequence[str | Path], upload_root: Path, max_bytes: int
) -> list[dict[str, str]]:
    """Check, stage and ingest uploaded files; one result per file.

    Args:
        assistant: the Assistant (its .ingest is called once per accepted file).
        files: paths of the uploaded files (in Gradio's upload cache); they are deleted after.
        upload_root: <data_dir>/uploads; a fresh temp folder is made inside it and removed.
        max_bytes: the size limit per file.

    Returns:
        Dicts with file (sanitized name), status (added/updated/unchanged/refused/skipped)
        and detail.
    """
    results: list[dict[str, str]] = []
    upload_root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="upload-", dir=upload_root)).resolve()
    try:
        for raw in files:
            src = Path(raw)
            name = sanitize_filename(src.name)
            try:
                data = (
                    src.read_bytes() if src.stat().st_size <= max_bytes else b"x" * (max_bytes + 1)
                )
            except OSError as e:
                results.append(
                    {"file": name, "status": "refused", "detail": f"unreadable ({e.strerror})"}
                )
                continue
            reason = check_upload(data, name, max_bytes)
            if reason:
                results.append({"file": name, "status": "refused", "detail": reason})
                continue
            folder = Path(tempfile.mkdtemp(dir=staging)).resolve()  # one per file: no name clashes
            dest = (folder / name).resolve()
            if dest.parent != folder:  # cannot happen after sanitize_filename; belt and braces
                results.append({"file": name, "status": "refused", "detail": "bad file name"})
                continue
            dest.write_bytes(data)
            try:
                report = assistant.ingest([dest])
            except AssistantError as e:
                results.append({"file": name, "status": "skipped", "detail": str(e)})
                continue
            results.append(_result(name, report))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        for raw in files:  # Gradio's cached copy of the upload
            try:
                Path(raw).unlink(missing_ok=True)
            except OSError:
                logger.warning("could not remove the uploaded temp file %s", raw)
    return results


def _result(name: str, report: Any) -> dict[str, str]:
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
