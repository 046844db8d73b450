"""Registry: the document records and files around a Store. Input: Chroma rows. Output: records.

The pieces of the index that are not the Store's commit protocol itself: the committed-document
record and the one rule that says which chunks belong to it, the Chroma client, the wrapping of
Chroma's errors, and the small files kept next to an embedded index (reindex epoch, manifest of
recorded sources).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np

from .config import Settings
from .errors import StoreError

logger = logging.getLogger(__name__)
# The provenance fields the manifest keeps per document: what `assistant reindex` needs to
# re-ingest a file (and to restore who added it) when the registry itself is unreadable.
_MANIFEST_KEYS = ("path", "title", "kind", "origin", "added_by", "added_at", "added_via",
                  "file_name", "supersedes", "superseded_by", "version")  # fmt: skip


T = TypeVar("T")


class ChunkCache(Generic[T]):
    """A thread-safe LRU of chunk data by chunk id.

    Safe to keep without invalidation: a chunk id is a hash of the document version and the
    chunk's text, so its data never changes (a new version has new ids).
    """

    def __init__(self, size: int) -> None:
        """Keep at most ``size`` chunks."""
        self._size = size
        self._items: OrderedDict[str, T] = OrderedDict()
        self._lock = threading.Lock()

    def get_many(self, ids: Iterable[str]) -> dict[str, T]:
        """The cached ones among ``ids`` (each marked as recently used)."""
        out: dict[str, T] = {}
        with self._lock:
            for chunk_id in ids:
                hit = self._items.get(chunk_id)
                if hit is not None:
                    self._items.move_to_end(chunk_id)
                    out[chunk_id] = hit
        return out

    def put(self, items: Mapping[str, T]) -> None:
        """Add chunks, forgetting the least recently used beyond the size."""
        with self._lock:
            self._items.update(items)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


class VectorSpace(StrEnum):
    """The two chunk collections, named by the encoder whose vectors they hold."""

    MINILM = "minilm"
    USE = "use"


@dataclass(frozen=True)
class DocRecord:
    """A committed document as the registry knows it."""

    doc_id: str
    doc_hash: str
    chunks: int
    metadata: dict[str, Any]

    @property
    def title(self) -> str:
        """Document title."""
        return str(self.metadata.get("title", self.doc_id))

    @property
    def kind(self) -> str:
        """paper / policy / own."""
        return str(self.metadata.get("kind", "own"))


@dataclass(frozen=True)
class DocumentCommit:
    """One document to commit: its chunks are written, its registry record is not yet.

    Attributes:
        doc_id: the document's id.
        doc_hash: content hash of the version whose chunks were written.
        chunks: how many chunks that version has.
        metadata: the document's metadata (title, kind, lang, provenance ...).
        replaces_old_version: an older version is committed; its chunks are deleted.
    """

    doc_id: str
    doc_hash: str
    chunks: int
    metadata: dict[str, Any]
    replaces_old_version: bool


ChunkData = tuple[str, dict[str, Any], np.ndarray, np.ndarray]  # text, metadata, MiniLM, USE


def chunk_data(minilm: Mapping[str, Any], use: Mapping[str, Any]) -> dict[str, ChunkData]:
    """ChunkData by id from get() results of both chunk collections (ids found in both)."""
    use_vecs = {
        i: np.asarray(v, dtype=np.float32)
        for i, v in zip(use["ids"], use["embeddings"], strict=False)
    }
    out = {}
    for chunk_id, text, meta, vec in zip(
        minilm["ids"], minilm["documents"], minilm["metadatas"], minilm["embeddings"], strict=False
    ):
        if chunk_id in use_vecs:
            vec = np.asarray(vec, dtype=np.float32)
            out[chunk_id] = (text, dict(meta), vec, use_vecs[chunk_id])
    return out


def is_committed(registry: Mapping[str, DocRecord], meta: Mapping[str, Any] | None) -> bool:
    """True when a chunk's metadata belongs to the committed version of its document.

    The one rule of the commit protocol: a chunk counts only when its document has a registry
    record and the record's doc_hash is the chunk's (a crash mid-ingest, an older version or a
    removed document leaves chunks that fail it).
    """
    meta = meta or {}
    rec = registry.get(str(meta.get("doc_id", "")))
    return rec is not None and rec.doc_hash == meta.get("doc_hash")


def clean_meta(meta: Mapping[str, Any]) -> dict[str, Any]:
    """Chroma accepts str/int/float/bool values only, and no None."""
    out: dict[str, Any] = {}
    for key, value in meta.items():
        if value is None:
            continue
        out[key] = value if isinstance(value, str | int | float | bool) else str(value)
    return out


def damaged_index_error(e: BaseException) -> StoreError:
    """The StoreError for a failure inside Chroma: the files on disk are damaged."""
    return StoreError(
        f"the index is damaged or unreadable ({type(e).__name__}: {str(e)[:300]}); "
        "run `assistant check` for details and `assistant reindex` to rebuild it."
    )


def is_library_failure(e: BaseException) -> bool:
    """True for what a failing Chroma call raises: exceptions, and the pyo3 panics of its Rust
    core (which derive from BaseException); False for KeyboardInterrupt, SystemExit ..."""
    return isinstance(e, Exception) or (type(e).__module__ or "").startswith("pyo3_runtime")


@contextlib.contextmanager
def chroma_errors() -> Iterator[None]:
    """Turn an error raised by a Chroma call into a StoreError with the reindex hint.

    Callers above the Store then handle one error type; Chroma raises library exceptions,
    sqlite3 errors and Rust panics.
    """
    try:
        yield
    except StoreError:
        raise
    except BaseException as e:
        if not is_library_failure(e):
            raise
        raise damaged_index_error(e) from e


def make_client(settings: Settings) -> Any:
    """Chroma client: HttpClient when ASSISTANT_CHROMA_URL is set, else embedded on disk."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        from urllib.parse import urlparse

        url = urlparse(settings.chroma_url)
        try:
            return chromadb.HttpClient(
                host=url.hostname or "127.0.0.1",
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
        except Exception as e:
            raise StoreError(
                f"Cannot reach the Chroma server at {settings.chroma_url} ({e}); "
                "start it with `chroma run --path DIR --port N` or unset ASSISTANT_CHROMA_URL."
            ) from e
    path = settings.data_dir / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    try:
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except BaseException as e:
        if not is_library_failure(e):
            raise
        raise StoreError(
            f"The index at {path} cannot be opened ({type(e).__name__}: {e}); "
            "run `assistant reindex` to rebuild it from the source files."
        ) from e


def forget_system(client: Any) -> None:
    """Drop Chroma's cached system of an embedded client, so re-creating it reads the disk."""
    with contextlib.suppress(Exception):  # private Chroma API
        from chromadb.api.shared_system_client import SharedSystemClient

        SharedSystemClient._identifier_to_system.pop(client._identifier, None)


def read_records(rows: Mapping[str, Any], generation_id: str) -> tuple[dict[str, DocRecord], Any]:
    """Registry records from a get() of the docs collection, and the generation token."""
    records = {}
    generation = None
    for doc_id, meta in zip(rows["ids"], rows["metadatas"] or [], strict=False):
        meta = dict(meta or {})
        if doc_id == generation_id:
            generation = meta.get("generation")
            continue
        records[doc_id] = DocRecord(
            doc_id=doc_id,
            doc_hash=str(meta.pop("doc_hash", "")),
            chunks=int(meta.pop("chunks", 0)),
            metadata=meta,
        )
    return records, generation


def fingerprint(records: Mapping[str, DocRecord]) -> str:
    """Hash of the committed (doc_id, doc_hash) pairs: changes whenever the corpus does."""
    pairs = sorted((r.doc_id, r.doc_hash) for r in records.values())
    return hashlib.sha256(repr(pairs).encode()).hexdigest()[:16]


def pages(coll: Any, include: list[str], size: int = 5000) -> Iterator[tuple[Any, ...]]:
    """(ids, *fields) pages of a whole collection: a full get() of 100k chunks would not fit."""
    offset = 0
    while True:
        with chroma_errors():
            got = coll.get(include=include, limit=size, offset=offset)
        ids = got["ids"]
        if not ids:
            return
        fields = [got[name] for name in include]
        yield (ids, *fields)
        offset += len(ids)
        if len(ids) < size:
            return


def read_epoch(path: Path | None) -> str:
    """The reindex epoch recorded in ``path`` ("" when there is none)."""
    if path is None:
        return ""
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def bump_epoch(path: Path) -> None:
    """Tell every process with this store open that the index folder was replaced."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(uuid.uuid4().hex, encoding="utf-8")
    tmp.replace(path)


def record_sources(path: Path, changes: Mapping[str, Mapping[str, Any] | None]) -> None:
    """Update the manifest at ``path``: the files `assistant reindex` re-ingests when the
    registry itself is unreadable (see maintenance.py). None removes a document."""
    try:
        sources = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        sources = {}
    if not isinstance(sources, dict):
        sources = {}
    for doc_id, record in changes.items():
        if record is None:
            sources.pop(doc_id, None)
        else:
            sources[doc_id] = {k: record[k] for k in _MANIFEST_KEYS if k in record}
    tmp = path.with_suffix(".json.tmp")
    try:
        tmp.write_text(json.dumps(sources, ensure_ascii=False, indent=1), encoding="utf-8")
        tmp.replace(path)  # atomic: a crash leaves the old or the new manifest
    except OSError as e:
        logger.warning("could not update %s (%s)", path, e)
