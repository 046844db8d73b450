"""Index: chunks -> Chroma (the source of truth). Input: SourceDocuments. Output: Store.

Three collections per store:
- `<name>-minilm`: chunk text + metadata + MiniLM vectors (384-d, cosine);
- `<name>-use`: the same ids with multilingual USE vectors (512-d, cosine);
- `<name>-docs`: the document registry, one record per document (its content hash, chunk
  count and metadata). A document is *committed* when its registry record is written, which
  happens only after all its chunks are in both chunk collections. Readers ignore chunks whose
  doc_hash is not the committed one (registry.is_committed), so a crash mid-ingest never shows
  half a document, and the next ingest deletes such orphans.

The collections are private: callers use the Store's verbs, and every Chroma failure inside
them surfaces as a StoreError with the reindex hint.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .chunking import Chunk
from .connection import Connection
from .registry import (
    ChunkCache,
    ChunkData,
    DocRecord,
    DocumentCommit,
    VectorSpace,
    chroma_errors,
    chunk_data,
    clean_meta,
    is_committed,
    pages,
    record_sources,
)

logger = logging.getLogger(__name__)
_WRITE_BATCH = 1000
_FETCH_CACHE_SIZE = 20_000  # chunks kept in memory for re-scoring (~4 KB each)
# A Chroma server has no writer lock, so uncommitted chunks may belong to another writer that
# is still running: orphan collection leaves chunks younger than this alone in server mode.
_SERVER_ORPHAN_GRACE = 6 * 3600.0


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
        clock: Callable[[], float] = time.time,
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
            clock: seconds since the epoch; stamps written chunks and records and times the
                registry cache (tests pass a fake one instead of sleeping).
        """
        self.name = name
        self.lock_path = lock_path
        self._clock = clock
        self._db = Connection(client, name, reopen=reopen, epoch_path=epoch_path, clock=clock)
        self._fetch_cache: ChunkCache[ChunkData] = ChunkCache(_FETCH_CACHE_SIZE)

    @property
    def client(self) -> Any:
        """The Chroma client (re-created when another process commits to an embedded store)."""
        return self._db.client

    def registry(self, *, fresh: bool = False) -> dict[str, DocRecord]:
        """Committed documents by doc_id (cached for a short while)."""
        return self._db.registry(fresh=fresh)

    def fingerprint(self) -> str:
        """Hash of the committed (doc_id, doc_hash) pairs: changes whenever the corpus does."""
        return self._db.fingerprint()

    def chunk_count(self) -> int:
        """Number of committed chunks."""
        return sum(r.chunks for r in self.registry().values())

    def is_committed(self, meta: dict[str, Any] | None) -> bool:
        """True when a chunk's metadata belongs to the committed version of its document."""
        return is_committed(self.registry(), meta)

    # ------------------------------------------------------------------ writing

    @contextlib.contextmanager
    def write_lock(self, timeout: float = 10.0) -> Iterator[None]:
        """Hold the single-writer lock of an embedded store (no-op for a server)."""
        with self._db.exclusive(self.lock_path, timeout):
            yield

    def write_chunks(self, chunks: Sequence[Chunk], minilm: np.ndarray, use: np.ndarray) -> None:
        """Upsert chunks (text, metadata, both vectors) in batches; not yet committed."""
        for i in range(0, len(chunks), _WRITE_BATCH):
            part = chunks[i : i + _WRITE_BATCH]
            ids = [c.chunk_id for c in part]
            stamp = int(self._clock())
            metas = [
                clean_meta({**c.metadata, "chunk_id": c.chunk_id, "written_at": stamp})
                for c in part
            ]
            use_metas = [
                {"doc_id": c.doc_id, "doc_hash": c.metadata["doc_hash"], "written_at": stamp}
                for c in part
            ]
            with chroma_errors():
                self._db.minilm.upsert(
                    ids=ids,
                    embeddings=minilm[i : i + _WRITE_BATCH],
                    documents=[c.text for c in part],
                    metadatas=metas,
                )
                self._db.use.upsert(
                    ids=ids, embeddings=use[i : i + _WRITE_BATCH], metadatas=use_metas
                )

    def commit_many(self, docs: Sequence[DocumentCommit]) -> None:
        """Commit several documents with one registry write.

        Args:
            docs: the documents whose chunks are written; the old chunks are deleted only for
                documents that had an older version.
        """
        if not docs:
            return
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(self._clock()))
        records = []
        for d in docs:
            record = clean_meta({**d.metadata, "doc_hash": d.doc_hash, "chunks": d.chunks})
            record["ingested_at"] = stamp
            records.append(record)
        with chroma_errors():
            self._db.docs.upsert(
                ids=[d.doc_id for d in docs], embeddings=[[1.0]] * len(docs), metadatas=records
            )
        for d in docs:
            if d.replaces_old_version:
                self._delete_where(
                    {"$and": [{"doc_id": d.doc_id}, {"doc_hash": {"$ne": d.doc_hash}}]}
                )
        # one manifest write per batch, not per document
        self._record_sources({d.doc_id: r for d, r in zip(docs, records, strict=True)})
        self._db.changed()

    def remove(self, doc_id: str) -> bool:
        """Delete a document and its chunks; False when it was not indexed."""
        known = doc_id in self.registry(fresh=True)
        with chroma_errors():
            self._db.docs.delete(ids=[doc_id])
        self._delete_where({"doc_id": doc_id})
        self._db.changed()
        self._record_sources({doc_id: None})
        return known

    def annotate(self, doc_id: str, **fields: Any) -> None:
        """Add fields to a committed document's record (e.g. superseded_by), keeping the rest."""
        with chroma_errors():
            got = self._db.docs.get(ids=[doc_id], include=["metadatas"])
            if not got["ids"]:
                return
            record = clean_meta({**dict(got["metadatas"][0] or {}), **fields})
            self._db.docs.update(ids=[doc_id], metadatas=[record])
        self._record_sources({doc_id: record})
        self._db.changed()

    def _record_sources(self, changes: dict[str, dict[str, Any] | None]) -> None:
        """Keep sources-<name>.json next to an embedded index (see registry.record_sources)."""
        if self.lock_path is not None:
            record_sources(self.lock_path.parent / f"sources-{self.name}.json", changes)

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
        with chroma_errors():
            self._db.minilm.delete(where=where)
            self._db.use.delete(where=where)

    def collect_orphans(self) -> int:
        """Delete chunks of uncommitted or superseded document versions (after a crash)."""
        registry = self.registry(fresh=True)
        removed = 0
        # embedded: we hold the writer lock, every uncommitted chunk is an orphan
        newest = self._clock() - (0.0 if self.lock_path is not None else _SERVER_ORPHAN_GRACE)
        for coll in (self._db.minilm, self._db.use):
            stale = [
                chunk_id
                for ids, metas in pages(coll, include=["metadatas"])
                for chunk_id, meta in zip(ids, metas, strict=False)
                if not is_committed(registry, meta)
                and float((meta or {}).get("written_at", 0)) <= newest
            ]
            for i in range(0, len(stale), _WRITE_BATCH):
                with chroma_errors():
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
        for _ids, metas in pages(self._db.minilm, include=["metadatas"]):
            for meta in metas:
                if is_committed(registry, meta):
                    doc_id = str(meta["doc_id"])
                    counts[doc_id] = counts.get(doc_id, 0) + 1
        for rec in registry.values():
            if counts.get(rec.doc_id, 0) != rec.chunks:
                problems.append(
                    f"{rec.doc_id}: registry says {rec.chunks} chunks, index has "
                    f"{counts.get(rec.doc_id, 0)}"
                )
        return problems

    def probe_vectors(self) -> list[str]:
        """Query each chunk collection with one of its own vectors: it must find that chunk."""
        problems = []
        for coll in (self._db.minilm, self._db.use):
            with chroma_errors():
                got = coll.get(limit=1, include=["embeddings"])
                if not got["ids"]:
                    continue
                hits = coll.query(
                    query_embeddings=[got["embeddings"][0]], n_results=1, include=["distances"]
                )
            if not hits["ids"] or not hits["ids"][0] or hits["distances"][0][0] > 1e-3:
                problems.append(f"collection {coll.name}: a stored vector does not find itself")
        return problems

    def reset(self) -> None:
        """Drop all three collections (used by `assistant reindex`)."""
        self._db.drop_collections()
        self.__init__(  # type: ignore[misc]  # reopen the collections
            self.client,
            self.name,
            lock_path=self.lock_path,
            reopen=self._db.reopen,
            clock=self._clock,
        )

    # ------------------------------------------------------------------ reading

    def committed_chunks(self) -> Iterator[tuple[list[str], list[str], list[dict[str, Any]]]]:
        """Pages of (ids, texts, metadatas) of committed chunks (for the lexical index)."""
        registry = self.registry(fresh=True)
        for ids, metas, docs in pages(self._db.minilm, include=["metadatas", "documents"]):
            keep = [i for i, m in enumerate(metas) if is_committed(registry, m)]
            yield [ids[i] for i in keep], [docs[i] for i in keep], [dict(metas[i]) for i in keep]

    def query_dense(
        self,
        space: VectorSpace,
        vec: np.ndarray,
        n: int,
        where: dict[str, Any] | None,
        skip: set[str] | frozenset[str] = frozenset(),
    ) -> list[str]:
        """Ids of the committed chunks nearest to ``vec`` in one vector space, nearest first.

        Args:
            space: which chunk collection (encoder) to search.
            vec: the query vector of that encoder.
            n: how many neighbours to ask Chroma for (fewer come back after filtering).
            where: a Chroma metadata filter, or None.
            skip: documents whose chunks are dropped from the result.
        """
        coll = self._db.minilm if space is VectorSpace.MINILM else self._db.use
        # Chroma 1.5 returns what it has when n_results exceeds the collection (checked), so
        # no count() round trip per query.
        with chroma_errors():
            got = coll.query(
                query_embeddings=[vec.tolist()], n_results=n, where=where, include=["metadatas"]
            )
        registry = self.registry()
        return [
            chunk_id
            for chunk_id, meta in zip(got["ids"][0], got["metadatas"][0], strict=False)
            if str((meta or {}).get("doc_id", "")) not in skip and is_committed(registry, meta)
        ]

    def neighbours(self, doc_id: str, ordinals: Sequence[int]) -> list[tuple[str, dict[str, Any]]]:
        """(text, metadata) of a document's committed chunks at the given ordinals.

        Chunks of an older version or of a removed document are not returned: their text is
        no longer the document's.
        """
        where = {"$and": [{"doc_id": doc_id}, {"ordinal": {"$in": list(ordinals)}}]}
        with chroma_errors():
            got = self._db.minilm.get(where=where, include=["documents", "metadatas"])
        registry = self.registry()
        return [
            (text, dict(meta or {}))
            for text, meta in zip(got["documents"], got["metadatas"], strict=False)
            if is_committed(registry, meta)
        ]

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
                got = self._db.minilm.get(where=where, include=["documents", "metadatas"])
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

        Recently fetched chunks are served from memory (see registry.ChunkCache): readers
        only ask for ids of committed versions.
        """
        out = self._fetch_cache.get_many(ids)
        missing = [i for i in ids if i not in out]
        if not missing:
            return out
        with chroma_errors():
            got = self._db.minilm.get(ids=missing, include=["documents", "metadatas", "embeddings"])
            use = self._db.use.get(ids=missing, include=["embeddings"])
        fresh = chunk_data(got, use)
        self._fetch_cache.put(fresh)
        out.update(fresh)
        return out

    # ------------------------------------------------------------------ for checks and tests

    def stored_counts(self) -> tuple[int, int]:
        """Chunks held by the MiniLM and the USE collection, committed or not."""
        with chroma_errors():
            return self._db.minilm.count(), self._db.use.count()

    def stored_ids(self, ids: list[str]) -> list[str]:
        """Which of ``ids`` the chunk collections hold, committed or not."""
        with chroma_errors():
            return list(self._db.minilm.get(ids=ids, include=["metadatas"])["ids"])

    def delete_chunks(self, ids: list[str]) -> None:
        """Delete chunks by id from both collections (their documents' records stay)."""
        with chroma_errors():
            self._db.minilm.delete(ids=ids)
            self._db.use.delete(ids=ids)
