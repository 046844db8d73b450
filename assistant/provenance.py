"""Provenance of added documents. Input: a loaded SourceDocument and how it arrived.
Output: the document with who/when/how recorded and the claims it may not make removed; the
refusal for look-alike ids; the version an upload becomes; one audit line per ingest.

Rules (issue 16):
- national policy and the paper come only from the bundled corpus or an explicit
  ``assistant ingest --kind policy|paper``; everything else (every web upload, every ingest
  without --kind) is an *own document*, whatever its front matter says;
- an own document cannot claim an issuer, a document number, an issuing level, a status, to
  be a translation of another document (kept only as ``claimed_issuer`` ...), or provenance
  fields of its own;
- a new id that differs from an existing one only in case, punctuation or width is refused;
- a web upload whose name or doc_id is taken by an earlier upload becomes a new version
  (``<doc_id>-v2`` ...); the earlier one is kept and marked superseded.
"""

from __future__ import annotations

import getpass
import json
import re
import threading
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .ingestion import SourceDocument
from .registry import DocRecord

# what only the bundled corpus or an administrator's explicit --kind may say about a document
PROTECTED_KEYS = frozenset(
    {"issuer", "doc_number", "level", "status", "date_type", "translation_of"}
)
# what this module records; never taken from a file's own metadata
PROVENANCE_KEYS = frozenset(
    {"added_by", "added_at", "added_via", "file_name", "supersedes", "superseded_by", "version"}
)
VIAS = ("web", "cli", "api")
_VERSION_RE = re.compile(r"^(?P<base>.+)-v(?P<n>\d+)$")


@dataclass(frozen=True)
class Arrival:
    """How documents arrive: through the web chat, the CLI or the Python API, and by whom.

    ``restore`` holds recorded provenance fields per doc_id (reindex): they are written back
    as they were, and no new version is made.
    """

    via: str = "api"
    by: str = ""
    file_name: str = ""
    restore: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def local(cls, via: str = "api") -> Arrival:
        """An ingest by the user running this process (CLI or a script)."""
        try:
            user = getpass.getuser()
        except (KeyError, OSError):  # no passwd entry (containers)
            user = "unknown user"
        return cls(via=via, by=user)


def skeleton(doc_id: str) -> str:
    """What a reader sees of an id: case, width, punctuation and separators removed."""
    folded = unicodedata.normalize("NFKC", doc_id).casefold()
    return re.sub(r"[\W_]+", "", folded)


def lookalike(doc_id: str, registry: dict[str, DocRecord]) -> str | None:
    """The existing doc_id that ``doc_id`` is a near-copy of (same skeleton, other id)."""
    mine = skeleton(doc_id)
    for other in registry:
        if other != doc_id and skeleton(other) == mine and not _is_version_of(doc_id, other):
            return other
    return None


def _is_version_of(a: str, b: str) -> bool:
    return _base(a) == _base(b)


def _base(doc_id: str) -> str:
    m = _VERSION_RE.match(doc_id)
    return m.group("base") if m else doc_id


def stamp(doc: SourceDocument, arrival: Arrival, now: datetime | None = None) -> None:
    """Record who added the document, when and how (in place: metadata is a fresh dict)."""
    recorded = arrival.restore.get(doc.doc_id)
    if recorded:
        doc.metadata.update({k: v for k, v in recorded.items() if k in PROVENANCE_KEYS})
        return
    when = (now or datetime.now(UTC)).astimezone().isoformat(timespec="seconds")
    doc.metadata.update(
        {
            "added_by": arrival.by or "unknown user",
            "added_at": when,
            "added_via": arrival.via,
        }
    )
    if arrival.file_name:
        doc.metadata["file_name"] = arrival.file_name


def current_version(doc_id: str, registry: dict[str, DocRecord]) -> DocRecord | None:
    """The newest version of a document (following superseded_by), or None."""
    rec = registry.get(doc_id)
    seen = set()
    while rec is not None and rec.metadata.get("superseded_by") and rec.doc_id not in seen:
        seen.add(rec.doc_id)
        nxt = registry.get(str(rec.metadata["superseded_by"]))
        if nxt is None:
            break
        rec = nxt
    return rec


def earlier_upload(doc: SourceDocument, registry: dict[str, DocRecord]) -> DocRecord | None:
    """The current version of an earlier upload with the same doc_id or the same file name."""
    rec = current_version(doc.doc_id, registry)
    if rec is not None:
        return rec
    name = str(doc.metadata.get("file_name", ""))
    if not name:
        return None
    for other in registry.values():
        meta = other.metadata
        if meta.get("file_name") == name and not meta.get("superseded_by") and other.kind == "own":
            return other
    return None


def new_version(doc: SourceDocument, prior: DocRecord, registry: dict[str, DocRecord]) -> Any:
    """``doc`` as the next version of ``prior``: a free ``<base>-vN`` id, linked to it."""
    base = _base(prior.doc_id)
    n = max(2, int(prior.metadata.get("version", 1) or 1) + 1)
    while f"{base}-v{n}" in registry:
        n += 1
    new_id = f"{base}-v{n}"
    meta = {**doc.metadata, "supersedes": prior.doc_id, "version": n}
    return replace(doc, doc_id=new_id, metadata=meta)


@dataclass(frozen=True)
class Admission:
    """What becomes of one loaded document: the document to index, or why it is refused."""

    doc: SourceDocument
    refusal: str = ""
    supersedes: str = ""  # the doc_id this upload is a new version of


def admit(doc: SourceDocument, arrival: Arrival, registry: dict[str, DocRecord]) -> Admission:
    """Apply the rules of this module to one document an ingest (not the bundled corpus) loaded.

    Args:
        doc: as loaded (its kind already forced to own unless --kind said otherwise).
        arrival: how it came.
        registry: the committed documents.

    Returns:
        The Admission.
    """
    meta = {k: v for k, v in doc.metadata.items() if k not in PROVENANCE_KEYS}
    if doc.kind == "own":  # kept as what the file claims, never as the document's issuer etc.
        meta = {(f"claimed_{k}" if k in PROTECTED_KEYS else k): v for k, v in meta.items()}
    doc = replace(doc, metadata=meta)
    stamp(doc, arrival)
    if arrival.restore:
        return Admission(doc)
    similar = lookalike(doc.doc_id, registry)
    if similar:
        return Admission(
            doc,
            refusal=f"doc_id '{doc.doc_id}' is too close to the existing document '{similar}' "
            "(they differ only in case, width or punctuation); give the file a clearly "
            "different name or doc_id",
        )
    if arrival.via != "web":
        return Admission(doc)  # an administrator's ingest updates in place, as before
    prior = earlier_upload(doc, registry)
    if prior is None:
        return Admission(doc)
    if prior.kind != "own" or prior.metadata.get("added_via") != "web":
        return Admission(
            doc,
            refusal=f"doc_id '{prior.doc_id}' belongs to '{prior.title}' ({prior.kind}, not a "
            "web upload), which an upload cannot replace; rename the file",
        )
    if prior.doc_hash == doc.content_hash:
        return Admission(replace(doc, doc_id=prior.doc_id))  # the same file again: unchanged
    return Admission(new_version(doc, prior, registry), supersedes=prior.doc_id)


def audit_entry(doc: SourceDocument, status: str) -> dict[str, Any]:
    """One line of the audit log for a document an ingest added or changed."""
    meta = doc.metadata
    return {
        "at": meta.get("added_at", ""),
        "via": meta.get("added_via", ""),
        "by": meta.get("added_by", ""),
        "status": status,
        "doc_id": doc.doc_id,
        "kind": doc.kind,
        "title": doc.title,
        "file": meta.get("file_name") or Path(str(meta.get("path", ""))).name,
        "supersedes": meta.get("supersedes", ""),
    }


class AuditLog:
    """<data_dir>/audit.jsonl: one JSON line per document an ingest added or changed."""

    def __init__(self, path: Path) -> None:
        """Remember where to write; created on the first entry."""
        self.path = path
        self._lock = threading.Lock()

    def append(self, entries: list[dict[str, Any]]) -> None:
        """Append entries (a line each)."""
        if not entries:
            return
        lines = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as f:
                f.write(lines)
