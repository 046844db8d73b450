"""Index maintenance: `assistant check` and `assistant reindex`. Input: Settings. Output: a list
of problems, or an IngestReport of the rebuild.

The index (Chroma) is derived data: every document in it came from a file whose path the
registry records, and from the bundled corpus. A damaged index is therefore rebuilt, never
repaired: reindex drops the collections (or, when Chroma cannot even open them, moves the
damaged folder aside), then ingests the recorded files again with their doc_id, title and
kind. A manifest of the recorded files is kept next to the index (sources-<name>.json) so that
a rebuild still knows them when the registry itself is unreadable.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .config import Settings
from .errors import StoreError
from .provenance import PROVENANCE_KEYS, Arrival
from .registry import bump_epoch
from .types import IngestReport, SkippedFile

logger = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]


def manifest_path(settings: Settings) -> Path:
    """Where the list of recorded source files is kept."""
    return settings.data_dir / f"sources-{settings.collection}.json"


def read_manifest(settings: Settings) -> dict[str, dict[str, Any]]:
    """doc_id -> {path, title, kind, origin} as last written; {} when missing or unreadable."""
    try:
        data = json.loads(manifest_path(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return (
        {str(k): dict(v) for k, v in data.items() if isinstance(v, dict)}
        if isinstance(data, dict)
        else {}
    )


def _recorded_sources(settings: Settings) -> dict[str, dict[str, Any]]:
    """Union of the manifest and (when readable) the registry; the registry wins."""
    sources = read_manifest(settings)
    try:
        from .indexing import Store
        from .registry import make_client

        store = Store(make_client(settings), settings.collection)
        for rec in store.registry(fresh=True).values():
            sources[rec.doc_id] = {
                **{k: rec.metadata[k] for k in PROVENANCE_KEYS if k in rec.metadata},
                "path": str(rec.metadata.get("path", "")),
                "title": rec.title,
                "kind": rec.kind,
                "origin": str(rec.metadata.get("origin", "user")),
            }
    except Exception as e:  # a damaged index fails in many ways; the manifest is the fallback
        logger.warning("registry unreadable (%s); using the manifest of recorded files", e)
    return sources


def check_index(settings: Settings) -> list[str]:
    """Problems of the index: unreadable store, registry/chunk mismatches, broken vector search.

    Returns:
        Human-readable problems; [] when the index is healthy.
    """
    from .indexing import Store
    from .registry import make_client

    try:
        store = Store(make_client(settings), settings.collection)
        problems = store.check()
        problems += store.probe_vectors()
        problems += _missing_documents(settings, set(store.registry(fresh=True)))
    except StoreError as e:
        return [str(e)]
    except Exception as e:  # a library error here means the files on disk are damaged
        return [f"the index cannot be read ({type(e).__name__}: {str(e)[:300]})"]
    return problems


def _missing_documents(settings: Settings, indexed: set[str]) -> list[str]:
    """Documents the manifest records (indexed before) that the index no longer has."""
    missing = sorted(set(read_manifest(settings)) - indexed)
    if not missing:
        return []
    shown = ", ".join(missing[:10]) + (
        f" and {len(missing) - 10} more" if len(missing) > 10 else ""
    )
    return [
        f"{len(missing)} document(s) recorded in {manifest_path(settings).name} are missing from "
        f"the index: {shown}"
    ]


def _wipe(settings: Settings) -> None:
    """Start from an empty index.

    A server's collections are dropped. An embedded index is moved aside and deleted as a
    whole: dropping collections from a damaged folder can leave its damaged log behind.
    """
    from .indexing import Store
    from .registry import make_client

    if settings.chroma_url:
        Store(make_client(settings), settings.collection).reset()
        return
    try:  # Chroma caches one system per path in this process; forget the damaged one
        from chromadb.api.client import SharedSystemClient

        SharedSystemClient.clear_system_cache()
    except Exception:  # pragma: no cover - older/newer chromadb
        logger.debug("could not clear Chroma's system cache", exc_info=True)
    folder = settings.data_dir / "chroma"
    if folder.exists():
        aside = folder.with_name(f"chroma.old-{time.strftime('%Y%m%d-%H%M%S')}")
        folder.rename(aside)
        shutil.rmtree(aside, ignore_errors=True)
    bump_epoch(settings.data_dir / "index-epoch")  # a running server re-opens the new folder


def reindex(settings: Settings, progress: Progress | None = None) -> IngestReport:
    """Rebuild the whole index from the recorded source files plus the bundled corpus.

    Args:
        settings: the configuration (embedded store only; a server is rebuilt the same way).
        progress: called with (file name, done, total).

    Returns:
        What was re-ingested; files that no longer exist are reported as skipped.
    """
    from .pipeline import Assistant

    sources = _recorded_sources(settings)
    _wipe(settings)
    for name in ("bm25",):
        shutil.rmtree(settings.data_dir / name, ignore_errors=True)
    for state in settings.data_dir.glob(f"corpus-state-{settings.collection}.json"):
        state.unlink(missing_ok=True)
    assistant = Assistant(settings)
    report = IngestReport()
    bundled = settings.auto_ingest or any(s.get("origin") == "bundled" for s in sources.values())
    if bundled and settings.corpus_dir.is_dir():
        _merge(report, assistant.sync_bundled(settings.corpus_dir))
    own = {k: v for k, v in sources.items() if v.get("origin") != "bundled"}
    for i, (doc_id, src) in enumerate(sorted(own.items())):
        path = Path(str(src.get("path", "")))
        if progress:
            progress(path.name, i, len(own))
        if not path.is_file():
            report.skipped.append(SkippedFile(str(path), f"{doc_id}: the source file is gone"))
            continue
        restore = Arrival(via=str(src.get("added_via") or "cli"), restore={doc_id: src})
        _merge(
            report,
            assistant.ingest(
                [path],
                doc_id=doc_id,
                title=src.get("title") or None,
                kind=src.get("kind") or None,
                origin=str(src.get("origin") or "user"),
                arrival=restore,
            ),
        )
    if progress:
        progress("", len(own), len(own))
    if not settings.chroma_url:
        bump_epoch(settings.data_dir / "index-epoch")  # and re-opens it once more when done
    return report


def _merge(into: IngestReport, part: IngestReport) -> None:
    into.added += part.added + part.updated + part.unchanged
    into.skipped += part.skipped
    into.removed += part.removed
    into.chunks_written += part.chunks_written
