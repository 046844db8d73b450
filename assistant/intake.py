"""The steps of one ingest run before and after embedding: paths -> files -> accepted documents.

Input: the ingest() arguments and each loaded SourceDocument. Output: the documents to embed
(with their chunks), the IngestReport entries for the rest, then the supersede marks and the
audit lines once the batch is committed. No embedding and no store writes of chunks here: the
pipeline does those (Assistant._flush).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .chunking import Chunk, split_document
from .errors import InvalidInputError
from .indexing import DocRecord
from .ingestion import SourceDocument, iter_files
from .provenance import Arrival, AuditLog, admit, audit_entry
from .types import IngestReport, Kind, SkippedFile

Pending = tuple[SourceDocument, list[Chunk], str]  # (document, its chunks, "added"/"updated")


def check_paths(paths: Any) -> list[Path]:
    """The paths argument of ingest(), checked: a list of str/Path, not None or one number.

    Raises:
        InvalidInputError: not a list of paths, or a path that is not valid UTF-8.
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    if paths is None or not isinstance(paths, Iterable):
        raise InvalidInputError(
            f"ingest() takes a list of file or folder paths, got {type(paths).__name__}."
        )
    out = []
    for p in paths:
        if not isinstance(p, str | Path):
            raise InvalidInputError(f"A path must be text or a Path, got {type(p).__name__}.")
        try:
            str(p).encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInputError(f"The path {str(p)!r} is not valid UTF-8.") from None
        out.append(Path(p))
    return out


def ingest_overrides(
    *,
    title: str | None,
    kind: str | None,
    doc_id: str | None,
    origin: str,
    arrival: Arrival | None,
) -> tuple[dict[str, Any], Arrival | None]:
    """The metadata every loaded file gets, and how the documents arrived (None: bundled).

    Raises:
        InvalidInputError: an unknown kind.
    """
    overrides: dict[str, Any] = {}
    if title:
        overrides["title"] = title
    if kind:
        overrides["kind"] = Kind.from_str(kind).value
    if origin != "bundled":
        arrival = arrival or Arrival.local()
        if arrival.via == "web" or not kind:  # front matter cannot claim policy or paper
            overrides["kind"] = Kind.OWN.value
    if doc_id:
        overrides["doc_id"] = doc_id
    return overrides, arrival


def list_files(given: list[Path], report: IngestReport) -> list[Path]:
    """The files under the given paths; a path that does not exist is reported as skipped."""
    files: list[Path] = []
    for p in given:
        if not p.exists():
            report.skipped.append(SkippedFile(str(p), "not found"))
        else:
            files.extend(iter_files([p]))
    return files


class Intake:
    """Decides, file by file, what one ingest run embeds, and records what it must do after."""

    def __init__(
        self, registry: dict[str, DocRecord], arrival: Arrival | None, report: IngestReport
    ) -> None:
        """Start a run.

        Args:
            registry: the committed documents (read fresh under the write lock).
            arrival: how the documents arrived, or None for the bundled corpus (not admitted).
            report: the run's report; skipped and unchanged files are recorded in it.
        """
        self.registry = registry
        self.arrival = arrival
        self.report = report
        self._seen: dict[str, str] = {}
        self._supersede: list[tuple[str, str]] = []  # (old doc_id, its new version)
        self._audit: list[tuple[SourceDocument, str]] = []

    def accept(self, doc: SourceDocument, path: Path) -> Pending | None:
        """The document and its chunks if they are to be embedded; None if skipped or unchanged."""
        report = self.report
        if self.arrival is not None:
            admission = admit(doc, self.arrival, self.registry)
            if admission.refusal:
                report.skipped.append(SkippedFile(str(path), admission.refusal))
                return None
            doc = admission.doc
            if admission.supersedes:
                self._supersede.append((admission.supersedes, doc.doc_id))
        if doc.doc_id in self._seen:
            report.skipped.append(
                SkippedFile(
                    str(path),
                    f"doc_id '{doc.doc_id}' is already used by {self._seen[doc.doc_id]} in this "
                    "run; rename the file or set doc_id in its front matter",
                )
            )
            return None
        self._seen[doc.doc_id] = str(path)
        rec = self.registry.get(doc.doc_id)
        conflict = _conflict(rec, path)
        if conflict:
            report.skipped.append(SkippedFile(str(path), conflict))
            return None
        if rec is not None and rec.doc_hash == doc.content_hash:
            report.unchanged.append(doc.doc_id)
            return None
        chunks = split_document(doc)
        if not chunks:
            report.skipped.append(SkippedFile(str(path), "no text to index"))
            return None
        self._audit.append((doc, "updated" if rec else "added"))
        return doc, chunks, "updated" if rec else "added"

    def finish(self, annotate: Callable[..., None], audit_log: AuditLog) -> None:
        """After the last commit: mark the versions an upload replaced, and log the admitted.

        Args:
            annotate: Store.annotate (doc_id, **fields).
            audit_log: where one line per admitted, committed document is appended.
        """
        report = self.report
        for old, new in self._supersede:
            if new in report.added:
                annotate(old, superseded_by=new)
                report.superseded[new] = old
        done_ids = set(report.added + report.updated)
        audit_log.append(
            [audit_entry(d, s) for d, s in self._audit if self.arrival and d.doc_id in done_ids]
        )


def _conflict(rec: DocRecord | None, path: Path) -> str:
    if rec is None:
        return ""
    old = str(rec.metadata.get("path", ""))
    if old and Path(old).resolve() != path.resolve() and Path(old).exists():
        return (
            f"doc_id '{rec.doc_id}' already belongs to {old}; rename the file or pass "
            "--doc-id to index it as a separate document"
        )
    return ""


def folder_digest(folder: Path) -> str:
    """A sha256 over the relative paths and contents of every file under a folder."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(folder)).encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()
