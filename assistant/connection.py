"""Connection: one store's Chroma client and collections, kept coherent with other processes.

Input: a Chroma client. Output: the collections and the cached document registry. Another
process may commit (an embedded client does not see its HNSW writes until re-created) or
`assistant reindex` may replace the whole folder; this is where both are noticed and the
client is re-opened, so the Store above only speaks the commit protocol.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .errors import StoreBusyError, StoreError
from .registry import (
    DocRecord,
    chroma_errors,
    fingerprint,
    forget_system,
    is_library_failure,
    read_epoch,
    read_records,
)

logger = logging.getLogger(__name__)
_REGISTRY_TTL = 2.0  # seconds a cached registry is trusted (other processes may write)
# A record in the registry collection that every commit/remove rewrites with a new token, so a
# reader checks for changes by fetching one record instead of the whole registry (O(1), not
# O(documents), every _REGISTRY_TTL seconds).
GENERATION_ID = "__generation__"
_SUFFIXES = ("minilm", "use", "docs")


class Connection:
    """The client, the three collections and the registry cache of one store."""

    def __init__(
        self,
        client: Any,
        name: str,
        *,
        reopen: Callable[[], Any] | None,
        epoch_path: Path | None,
        clock: Callable[[], float],
    ) -> None:
        """Open (or create) the collections; see Store for the arguments."""
        self.client = client
        self.name = name
        self.reopen = reopen
        self._epoch_path = epoch_path
        self._clock = clock
        self._epoch = read_epoch(epoch_path)
        self._seen_fp: str | None = None  # fingerprint this client is known to be coherent with
        self.writing = 0  # > 0 while this process writes: its own commits need no re-open
        try:
            self.minilm, self.use, self.docs = self._collections(client, create=True)
        except BaseException as e:
            if not is_library_failure(e):
                raise
            raise StoreError(
                f"Cannot open the Chroma collections '{name}-*' ({type(e).__name__}: {e}); "
                "run `assistant reindex` to rebuild the index."
            ) from e
        self._registry: dict[str, DocRecord] | None = None
        self._registry_time = 0.0
        self._generation: Any = None
        self._fp = ""

    def _collections(self, client: Any, *, create: bool) -> tuple[Any, Any, Any]:
        """The (minilm, use, docs) collections of ``client``; created when missing if asked."""
        if create:
            colls = [
                client.get_or_create_collection(
                    f"{self.name}-{s}", embedding_function=None, metadata={"hnsw:space": "cosine"}
                )
                for s in _SUFFIXES
            ]
        else:
            colls = [client.get_collection(f"{self.name}-{s}") for s in _SUFFIXES]
        return colls[0], colls[1], colls[2]

    def drop_collections(self) -> None:
        """Delete the three collections, ignoring ones that are already gone."""
        for suffix in _SUFFIXES:
            try:
                self.client.delete_collection(f"{self.name}-{suffix}")
            except BaseException as e:  # missing or unreadable: either way it is gone
                if not is_library_failure(e):
                    raise
                logger.debug("could not drop %s-%s: %s", self.name, suffix, e)

    @contextlib.contextmanager
    def exclusive(self, lock_path: Path | None, timeout: float) -> Iterator[None]:
        """Hold the single-writer file lock of an embedded store (no-op for a server)."""
        if lock_path is None:
            yield
            return
        from filelock import FileLock, Timeout

        lock_path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(lock_path))
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise StoreBusyError(
                f"Another process is writing to the index ({lock_path}); wait for it to "
                "finish, or run both through one Chroma server (ASSISTANT_CHROMA_URL)."
            ) from None
        try:
            # another process may have written since our last look: catch up before writing
            self.registry(fresh=True)
            self.writing += 1
            try:
                yield
            finally:
                self.writing -= 1
                self.registry(fresh=True)  # our own writes: coherent, no reopen needed
        finally:
            lock.release()

    def registry(self, *, fresh: bool = False) -> dict[str, DocRecord]:
        """Committed documents by doc_id (cached for a short while)."""
        if self._epoch_path is not None and read_epoch(self._epoch_path) != self._epoch:
            self._reopen_after_reindex()
        now = self._clock()
        if not fresh and self._registry is not None and now - self._registry_time > _REGISTRY_TTL:
            with chroma_errors():
                got = self.docs.get(ids=[GENERATION_ID], include=["metadatas"])
            gen = (got["metadatas"] or [{}])[0].get("generation") if got["ids"] else None
            if gen is not None and gen == self._generation:
                self._registry_time = now  # unchanged: keep the cached registry
        if fresh or self._registry is None or now - self._registry_time > _REGISTRY_TTL:
            return self._load_registry(now)
        return self._registry

    def _load_registry(self, now: float) -> dict[str, DocRecord]:
        """Read every record; re-open the client when another process committed meanwhile."""
        with chroma_errors():
            got = self.docs.get(include=["metadatas"])
        records, self._generation = read_records(got, GENERATION_ID)
        self._registry = records
        self._registry_time = now
        self._fp = fingerprint(records)
        if self._seen_fp is None or self.writing:
            self._seen_fp = self._fp
        elif self._fp != self._seen_fp:
            self._refresh_client()
        return records

    def fingerprint(self) -> str:
        """Hash of the committed (doc_id, doc_hash) pairs: changes whenever the corpus does."""
        self.registry()
        return self._fp

    def changed(self) -> None:
        """This process changed the registry: announce it to readers, re-read it next time."""
        with chroma_errors():
            self.docs.upsert(
                ids=[GENERATION_ID],
                embeddings=[[1.0]],
                metadatas=[{"generation": uuid.uuid4().hex, "doc_id": GENERATION_ID}],
            )
        self._registry = None

    def _refresh_client(self) -> None:
        """Another process committed: re-create the embedded client so query() sees it."""
        self._seen_fp = self._fp
        if self.reopen is None:
            return
        forget_system(self.client)
        t = time.perf_counter()
        client = self.reopen()
        with chroma_errors():
            minilm, use, docs = self._collections(client, create=False)
        # swap all at once; in-flight queries keep using the old objects, which still work
        self.client, self.minilm, self.use, self.docs = client, minilm, use, docs
        logger.info("index changed in another process: reopened (%.2f s)", time.perf_counter() - t)

    def _reopen_after_reindex(self) -> None:
        """The index folder was replaced by `assistant reindex`: open the new one."""
        self._epoch = read_epoch(self._epoch_path)
        if self.reopen is None:
            return
        forget_system(self.client)
        client = self.reopen()
        with chroma_errors():
            colls = self._collections(client, create=True)
        self.client, (self.minilm, self.use, self.docs) = client, colls
        self._registry, self._seen_fp, self._generation = None, None, None
        logger.info("the index was rebuilt by `assistant reindex`: reopened")
