"""Index: chunks -> Chroma (the source of truth). Input: SourceDocuments. Output: Store.

Three collections per store:
- `<name>-minilm`: chunk text + metadata + MiniLM vectors (384-d, cosine);
- `<name>-use`: the same ids with multilingual USE vectors (512-d, cosine);
- `<name>-docs`: the document registry, one record per document (its content hash, chunk
  count and metadata). A document is *committed* when its registry record is written, which
  happens only after all its chunks are in both chunk collections. Readers ignore chunks whose
  doc_hash is not the committed one, so a crash mid-ingest never shows half a document, and
  the next ingest deletes such orphans.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .chunking import Chunk
from .config import Settings
from .errors import StoreBusyError, StoreError

logger = logging.getLogger(__name__)
_REGISTRY_TTL = 2.0  # seconds a cached registry is trusted (other processes may write)
_WRITE_BATCH = 1000
ChunkData = tuple[str, dict[str, Any], np.ndarray, np.ndarray]  # text, metadata, MiniLM, USE
_FETCH_CACHE_SIZE = 20_000  # chunks kept in memory for re-scoring (~4 KB each)
# A record in the registry collection that every commit/remove rewrites with a new token, so a
# reader checks for changes by fetching one record instead of the whole registry (O(1), not
# O(documents), every _REGISTRY_TTL seconds).
_GENERATION_ID = "__generation__"
# A Chroma server has no writer lock, so uncommitted chunks may belong to another writer that
# is still running: orphan collection leaves chunks younger than this alone in server mode.
_SERVER_ORPHAN_GRACE = 6 * 3600.0


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


def _clean_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """Chroma accepts str/int/float/bool values only, and no None."""
    out: dict[str, Any] = {}
    for key, value in meta.items():
        if value is None:
            continue
        out[key] = value if isinstance(value, str | int | float | bool) else str(value)
    return out


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
    except Exception as e:
        raise StoreError(
            f"The index at {path} cannot be opened ({type(e).__name__}: {e}); "
            "run `assistant reindex` to rebuild it from the source files."
        ) from e


class Store:
    """Chroma collections of one corpus, with the commit protocol described above."""

    def __init__(
        self,
        client: Any,
        name: str,
        *,
        lock_path: Path | None = None,
        reopen: Callable[[], Any] | None = None,
        epoch_path: Path | None = None,
    ) -> None:
        """Open (or create) the collections.

        Args:
            client: a chromadb client (persistent or HTTP).
            name: collection prefix, 3-40 chars of [a-zA-Z0-9._-].
            lock_path: file lock guarding writers of an embedded store (None for a server).
            reopen: returns a fresh client for an embedded store; called when another process
                changed the registry, because an embedded client never sees another process's
                HNSW writes (measured with chromadb 1.5.9: get()/count() see them, query()
                does not until the client is re-created; see docs/scale.md).
            epoch_path: a file `assistant reindex` rewrites when it replaces the whole index
                folder; when it changes, this store re-opens everything (an embedded client
                on a deleted folder fails with "Missing metadata segment").
        """
        self.client = client
        self.name = name
        self.lock_path = lock_path
        self._reopen = reopen
        self._epoch_path = epoch_path
        self._epoch = _read_epoch(epoch_path)
        self._seen_fp: str | None = None  # fingerprint this client is known to be coherent with
        self._writing = 0
        try:
            self.minilm = client.get_or_create_collection(
                f"{name}-minilm", embedding_function=None, metadata={"hnsw:space": "cosine"}
            )
            self.use = client.get_or_create_collection(
                f"{name}-use", embedding_function=None, metadata={"hnsw:space": "cosine"}
            )
            self.docs = client.get_or_create_collection(
                f"{name}-docs", embedding_function=None, metadata={"hnsw:space": "cosine"}
            )
        except Exception as e:
            raise StoreError(
                f"Cannot open the Chroma collections '{name}-*' ({type(e).__name__}: {e}); "
                "run `assistant reindex` to rebuild the index."
            ) from e
        self._registry: dict[str, DocRecord] | None = None
        self._fetch_cache: OrderedDict[str, ChunkData] = OrderedDict()
        self._fetch_lock = threading.Lock()
        self._registry_time = 0.0
        self._generation: Any = None

    # ------------------------------------------------------------------ registry

    def registry(self, *, fresh: bool = False) -> dict[str, DocRecord]:
        """Committed documents by doc_id (cached for a short while)."""
        if self._epoch_path is not None and _read_epoch(self._epoch_path) != self._epoch:
            self._reopen_after_reindex()
        now = time.monotonic()
        if not fresh and self._registry is not None and now - self._registry_time > _REGISTRY_TTL:
            got = self.docs.get(ids=[_GENERATION_ID], include=["metadatas"])
            gen = (got["metadatas"] or [{}])[0].get("generation") if got["ids"] else None
            if gen is not None and gen == self._generation:
                self._registry_time = now  # unchanged: keep the cached registry
        if fresh or self._registry is None or now - self._registry_time > _REGISTRY_TTL:
            got = self.docs.get(include=["metadatas"])
            records = {}
            self._generation = None
            for doc_id, meta in zip(got["ids"], got["metadatas"] or [], strict=False):
                meta = dict(meta or {})
                if doc_id == _GENERATION_ID:
                    self._generation = meta.get("generation")
                    continue
                records[doc_id] = DocRecord(
                    doc_id=doc_id,
                    doc_hash=str(meta.pop("doc_hash", "")),
                    chunks=int(meta.pop("chunks", 0)),
                    metadata=meta,
                )
            self._registry = records
            self._registry_time = now
            self._fp = _fingerprint(records)
            if self._seen_fp is None or self._writing:
                self._seen_fp = self._fp
            elif self._fp != self._seen_fp:
                self._refresh_client()
        return self._registry

    def _refresh_client(self) -> None:
        """Another process committed: re-create the embedded client so query() sees it."""
        self._seen_fp = self._fp
        if self._reopen is None:
            return
        with contextlib.suppress(Exception):  # private Chroma API: drop the cached system
            from chromadb.api.shared_system_client import SharedSystemClient

            SharedSystemClient._identifier_to_system.pop(self.client._identifier, None)
        t = time.perf_counter()
        client = self._reopen()
        minilm = client.get_collection(f"{self.name}-minilm")
        use = client.get_collection(f"{self.name}-use")
        docs = client.get_collection(f"{self.name}-docs")
        # swap all at once; in-flight queries keep using the old objects, which still work
        self.client, self.minilm, self.use, self.docs = client, minilm, use, docs
        logger.info("index changed in another process: reopened (%.2f s)", time.perf_counter() - t)

    def _reopen_after_reindex(self) -> None:
        """The index folder was replaced by `assistant reindex`: open the new one."""
        self._epoch = _read_epoch(self._epoch_path)
        if self._reopen is None:
            return
        with contextlib.suppress(Exception):  # private Chroma API: drop the cached system
            from chromadb.api.shared_system_client import SharedSystemClient

            SharedSystemClient._identifier_to_system.pop(self.client._identifier, None)
        client = self._reopen()
        colls = [
            client.get_or_create_collection(
                f"{self.name}-{s}", embedding_function=None, metadata={"hnsw:space": "cosine"}
            )
            for s in ("minilm", "use", "docs")
        ]
        self.client, (self.minilm, self.use, self.docs) = client, colls
        self._registry, self._seen_fp, self._generation = None, None, None
        logger.info("the index was rebuilt by `assistant reindex`: reopened")

    def fingerprint(self) -> str:
        """Hash of the committed (doc_id, doc_hash) pairs: changes whenever the corpus does."""
        self.registry()
        return self._fp

    def chunk_count(self) -> int:
        """Number of committed chunks."""
        return sum(r.chunks for r in self.registry().values())

    # ------------------------------------------------------------------ writing

    @contextlib.contextmanager
    def write_lock(self, timeout: float = 10.0) -> Iterator[None]:
        """Hold the single-writer lock of an embedded store (no-op for a server)."""
        if self.lock_path is None:
            yield
            return
        from filelock import FileLock, Timeout

        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.lock_path))
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise StoreBusyError(
                f"Another process is writing to the index ({self.lock_path}); wait for it to "
                "finish, or run both through one Chroma server (ASSISTANT_CHROMA_URL)."
            ) from None
        try:
            # another process may have written since our last look: catch up before writing
            self.registry(fresh=True)
            self._writing += 1
            try:
                yield
            finally:
                self._writing -= 1
                self.registry(fresh=True)  # our own writes: coherent, no reopen needed
        finally:
            lock.release()

    def write_chunks(self, chunks: Sequence[Chunk], minilm: np.ndarray, use: np.ndarray) -> None:
        """Upsert chunks (text, metadata, both vectors) in batches; not yet committed."""
        for i in range(0, len(chunks), _WRITE_BATCH):
            part = chunks[i : i + _WRITE_BATCH]
            ids = [c.chunk_id for c in part]
            stamp = int(time.time())
            metas = [
                _clean_meta({**c.metadata, "chunk_id": c.chunk_id, "written_at": stamp})
                for c in part
            ]
            self.minilm.upsert(
                ids=ids,
                embeddings=minilm[i : i + _WRITE_BATCH],
                documents=[c.text for c in part],
                metadatas=metas,
            )
            self.use.upsert(
                ids=ids,
                embeddings=use[i : i + _WRITE_BATCH],
                metadatas=[
                    {"doc_id": c.doc_id, "doc_hash": c.metadata["doc_hash"], "written_at": stamp}
                    for c in part
                ],
            )

    def commit_many(self, docs: Sequence[tuple[str, str, int, dict[str, Any], bool]]) -> None:
        """Commit several documents with one registry write.

        Args:
            docs: (doc_id, doc_hash, chunks, metadata, replaces_old_version) per document;
                the old chunks are deleted only for documents that had an older version.
        """
        if not docs:
            return
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
        records = []
        for _, doc_hash, chunks, metadata, _ in docs:
            record = _clean_meta({**metadata, "doc_hash": doc_hash, "chunks": chunks})
            record["ingested_at"] = stamp
            records.append(record)
        self.docs.upsert(
            ids=[d[0] for d in docs], embeddings=[[1.0]] * len(docs), metadatas=records
        )
        for doc_id, doc_hash, _, _, replaces in docs:
            if replaces:
                self._delete_where({"$and": [{"doc_id": doc_id}, {"doc_hash": {"$ne": doc_hash}}]})
        # one manifest write per batch, not per document
        self._record_sources({d[0]: r for d, r in zip(docs, records, strict=True)})
        self._bump_generation()
        self._registry = None

    def remove(self, doc_id: str) -> bool:
        """Delete a document and its chunks; False when it was not indexed."""
        known = doc_id in self.registry(fresh=True)
        self.docs.delete(ids=[doc_id])
        self._delete_where({"doc_id": doc_id})
        self._bump_generation()
        self._registry = None
        self._record_sources({doc_id: None})
        return known

    def annotate(self, doc_id: str, **fields: Any) -> None:
        """Add fields to a committed document's record (e.g. superseded_by), keeping the rest."""
        got = self.docs.get(ids=[doc_id], include=["metadatas"])
        if not got["ids"]:
            return
        record = _clean_meta({**dict(got["metadatas"][0] or {}), **fields})
        self.docs.update(ids=[doc_id], metadatas=[record])
        self._record_sources({doc_id: record})
        self._bump_generation()
        self._registry = None

    def _record_sources(self, changes: dict[str, dict[str, Any] | None]) -> None:
        """Keep sources-<name>.json next to an embedded index: the files `assistant reindex`
        re-ingests when the registry itself is unreadable (see maintenance.py)."""
        if self.lock_path is None:
            return
        import json

        path = self.lock_path.parent / f"sources-{self.name}.json"
        try:
            sources = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            sources = {}
        if not isinstance(sources, dict):
            sources = {}
        keep = ("path", "title", "kind", "origin", "added_by", "added_at", "added_via",
                "file_name", "supersedes", "superseded_by", "version")  # fmt: skip
        for doc_id, record in changes.items():
            if record is None:
                sources.pop(doc_id, None)
            else:
                sources[doc_id] = {k: record[k] for k in keep if k in record}
        tmp = path.with_suffix(".json.tmp")
        try:
            tmp.write_text(json.dumps(sources, ensure_ascii=False, indent=1), encoding="utf-8")
            tmp.replace(path)  # atomic: a crash leaves the old or the new manifest
        except OSError as e:
            logger.warning("could not update %s (%s)", path, e)

    def _bump_generation(self) -> None:
        import uuid

        self.docs.upsert(
            ids=[_GENERATION_ID],
            embeddings=[[1.0]],
            metadatas=[{"generation": uuid.uuid4().hex, "doc_id": _GENERATION_ID}],
        )

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Bracket one ingest/remove (inside write_lock): orphans are collected only if needed.

        Embedded store: a marker file exists from the start of a write until it completes, so
        only an interrupted write (kill, crash, exception) leaves it behind, and only then does
        the next write scan every chunk for orphans (~seconds at 100k chunks). A server has no
        cross-machine marker: every write scans.
        """
        marker = None if self.lock_path is None else self.lock_path.parent / f"writing-{self.name}"
        if marker is None or marker.exists():
            self.collect_orphans()
        if marker is not None:
            marker.touch()
        yield
        if marker is not None:  # not reached when the write raised: the next one cleans up
            marker.unlink(missing_ok=True)

    def _delete_where(self, where: dict[str, Any]) -> None:
        self.minilm.delete(where=where)
        self.use.delete(where=where)

    def collect_orphans(self) -> int:
        """Delete chunks of uncommitted or superseded document versions (after a crash)."""
        registry = self.registry(fresh=True)
        removed = 0
        # embedded: we hold the writer lock, every uncommitted chunk is an orphan
        newest = time.time() - (0.0 if self.lock_path is not None else _SERVER_ORPHAN_GRACE)
        for coll in (self.minilm, self.use):
            stale: list[str] = []
            for ids, metas in _pages(coll, include=["metadatas"]):
                for chunk_id, meta in zip(ids, metas, strict=False):
                    meta = meta or {}
                    rec = registry.get(str(meta.get("doc_id", "")))
                    if (rec is None or rec.doc_hash != meta.get("doc_hash")) and float(
                        meta.get("written_at", 0)
                    ) <= newest:
                        stale.append(chunk_id)
            for i in range(0, len(stale), _WRITE_BATCH):
                coll.delete(ids=stale[i : i + _WRITE_BATCH])
            removed = max(removed, len(stale))
        if removed:
            logger.warning("removed %d orphaned chunks left by an interrupted ingest", removed)
        return removed

    def check(self) -> list[str]:
        """Compare the registry with the chunk collections; return a list of problems."""
        problems = []
        registry = self.registry(fresh=True)
        counts: dict[str, int] = {}
        for _ids, metas in _pages(self.minilm, include=["metadatas"]):
            for meta in metas:
                rec = registry.get(str((meta or {}).get("doc_id", "")))
                if rec and rec.doc_hash == (meta or {}).get("doc_hash"):
                    counts[rec.doc_id] = counts.get(rec.doc_id, 0) + 1
        for rec in registry.values():
            if counts.get(rec.doc_id, 0) != rec.chunks:
                problems.append(
                    f"{rec.doc_id}: registry says {rec.chunks} chunks, index has "
                    f"{counts.get(rec.doc_id, 0)}"
                )
        return problems

    def reset(self) -> None:
        """Drop all three collections (used by `assistant reindex`)."""
        for suffix in ("minilm", "use", "docs"):
            with contextlib.suppress(Exception):
                self.client.delete_collection(f"{self.name}-{suffix}")
        self.__init__(  # type: ignore[misc]  # reopen the collections
            self.client, self.name, lock_path=self.lock_path, reopen=self._reopen
        )

    # ------------------------------------------------------------------ reading

    def committed_chunks(self) -> Iterator[tuple[list[str], list[str], list[dict[str, Any]]]]:
        """Pages of (ids, texts, metadatas) of committed chunks (for the lexical index)."""
        registry = self.registry(fresh=True)
        for ids, metas, docs in _pages(self.minilm, include=["metadatas", "documents"]):
            keep = [
                i
                for i, m in enumerate(metas)
                if (rec := registry.get(str((m or {}).get("doc_id", ""))))
                and rec.doc_hash == (m or {}).get("doc_hash")
            ]
            yield [ids[i] for i in keep], [docs[i] for i in keep], [dict(metas[i]) for i in keep]

    def is_committed(self, meta: dict[str, Any] | None) -> bool:
        """True when a chunk's metadata belongs to the committed version of its document."""
        rec = self.registry().get(str((meta or {}).get("doc_id", "")))
        return rec is not None and rec.doc_hash == (meta or {}).get("doc_hash")

    def section_chunks(
        self, doc_id: str, section_index: int | None = None
    ) -> list[tuple[str, str, dict[str, Any]]]:
        """(chunk id, text, metadata) of a committed document, or of one section, in order."""
        where: dict[str, Any] = {"doc_id": doc_id}
        if section_index is not None:
            where = {"$and": [where, {"section_index": int(section_index)}]}
        got = None
        for attempt in range(3):
            try:
                got = self.minilm.get(where=where, include=["documents", "metadatas"])
                break
            except Exception as e:
                # Chroma's local segments can fail a filtered read ("Error finding id") while
                # another thread commits; the read is retried, and the answer stage falls back
                # to the retrieved chunk alone if it keeps failing
                logger.debug("section read retried (%s): %s", attempt, e)
                time.sleep(0.05 * (attempt + 1))
        if got is None:
            return []
        rows = [
            (cid, text, dict(meta))
            for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=False)
            if self.is_committed(meta)
        ]
        return sorted(rows, key=lambda r: int(r[2].get("ordinal", 0)))

    def fetch(self, ids: list[str]) -> dict[str, ChunkData]:
        """Text, metadata, MiniLM vector and USE vector of chunks, by id.

        Recently fetched chunks are served from memory: a chunk id is a hash of the document
        version and the chunk's text, so its data never changes (a new version has new ids,
        and readers only ask for ids of committed versions).
        """
        out: dict[str, ChunkData] = {}
        with self._fetch_lock:
            for chunk_id in ids:
                hit = self._fetch_cache.get(chunk_id)
                if hit is not None:
                    self._fetch_cache.move_to_end(chunk_id)
                    out[chunk_id] = hit
        missing = [i for i in ids if i not in out]
        if not missing:
            return out
        got = self.minilm.get(ids=missing, include=["documents", "metadatas", "embeddings"])
        use = self.use.get(ids=missing, include=["embeddings"])
        use_vecs = {
            i: np.asarray(v, dtype=np.float32)
            for i, v in zip(use["ids"], use["embeddings"], strict=False)
        }
        fresh = {}
        for chunk_id, text, meta, vec in zip(
            got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=False
        ):
            if chunk_id in use_vecs:
                vec = np.asarray(vec, dtype=np.float32)
                fresh[chunk_id] = (text, dict(meta), vec, use_vecs[chunk_id])
        with self._fetch_lock:
            self._fetch_cache.update(fresh)
            while len(self._fetch_cache) > _FETCH_CACHE_SIZE:
                self._fetch_cache.popitem(last=False)
        out.update(fresh)
        return out


def _read_epoch(path: Path | None) -> str:
    """The reindex epoch recorded in ``path`` ("" when there is none)."""
    if path is None:
        return ""
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def bump_epoch(path: Path) -> None:
    """Tell every process with this store open that the index folder was replaced."""
    import uuid

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(uuid.uuid4().hex, encoding="utf-8")
    tmp.replace(path)


def _fingerprint(records: dict[str, DocRecord]) -> str:
    import hashlib

    pairs = sorted((r.doc_id, r.doc_hash) for r in records.values())
    return hashlib.sha256(repr(pairs).encode()).hexdigest()[:16]


def _pages(coll: Any, include: list[str], size: int = 5000) -> Iterator[tuple[Any, ...]]:
    offset = 0
    while True:
        got = coll.get(include=include, limit=size, offset=offset)
        ids = got["ids"]
        if not ids:
            return
        fields = [got[name] for name in include]
        yield (ids, *fields)
        offset += len(ids)
        if len(ids) < size:
            return
