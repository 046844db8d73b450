"""kill -9 the real `assistant ingest` at 20 random points around its commit.

Every run rewrites 40 small documents (a new revision each time), so every run has commits
and replacements in flight when it is killed. Kill times are seeded-random between the chunk
writes before the registry switch and the end of the run (old chunks deleted). After each kill
the index must hold no half-indexed document (Store.check() on a copy of the data dir:
registry chunk counts equal the committed chunks) and every document must be at its old or
its new version; the next run starts from that state; every tenth kill is followed by a run
that must complete, and the final run's chunk count equals a clean ingest's.
CRASH_TEST_KILLS changes the number of kills (default 20).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import REPO

# 8 kills land on both sides of the commit point (4 each); CRASH_TEST_KILLS=20 for the
# longer run the attack report measured (issue 16: 18 kills, nothing half-indexed)
KILLS = int(os.environ.get("CRASH_TEST_KILLS", "8"))
WORDS = (
    "teachers college training funding enterprise workshop students policy evaluation "
    "practice safety credits internship library mentor budget"
)


def _write_docs(folder: Path, revision: int) -> None:
    rnd = random.Random(revision)
    folder.mkdir(exist_ok=True)
    for i in range(40):
        parts = [f"# Rule {i}\n\nRevision {revision}."]
        for s in range(1, 4):
            words = " ".join(rnd.choice(WORDS.split()) for _ in range(60))
            parts.append(f"## {s}. Section {s} of rule {i}\n\n{words}.")
        (folder / f"rule-{i:02d}.md").write_text("\n\n".join(parts) + "\n", encoding="utf-8")


def _start(folder: Path, data: Path) -> subprocess.Popen:
    # The ONNX document encoder starts in ~0.5 s instead of ~10 s for sentence-transformers,
    # so 20+ kill points fit in a minute or two; the commit protocol under test is the same.
    env = {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(data),
        "ASSISTANT_AUTO_INGEST": "false",
        "ASSISTANT_DOCUMENT_ENCODER": "onnx",
    }
    exe = Path(sys.executable).parent / "assistant"
    return subprocess.Popen(
        [str(exe), "ingest", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=(data.parent / "ingest-stderr.log").open("ab"),
        env=env,
        cwd=REPO,
    )


def _wait_for_commit(proc: subprocess.Popen, data: Path, since: float, limit: float = 600) -> float:
    """Block until this run commits a document (the sources manifest changes after `since`)."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        for manifest in data.glob("sources-*.json"):
            try:
                if manifest.stat().st_mtime > since:
                    return time.monotonic()
            except OSError:
                continue
        if proc.poll() is not None:
            raise AssertionError(f"ingest exited ({proc.returncode}) before committing")
        time.sleep(0.005)
    raise AssertionError("ingest never committed")


def _chunk_total(data: Path, scratch: Path) -> int:
    from assistant import Settings
    from assistant.indexing import Store
    from assistant.registry import make_client

    copy = scratch / "final"
    shutil.copytree(data, copy)
    settings = Settings(data_dir=copy, auto_ingest=False)
    return Store(make_client(settings), settings.collection).chunk_count()


def _check_copy(data: Path, scratch: Path, n: int) -> tuple[list[str], dict[str, str]]:
    from assistant import Settings
    from assistant.indexing import Store
    from assistant.registry import make_client

    copy = scratch / f"check-{n}"
    shutil.copytree(data, copy)
    settings = Settings(data_dir=copy, auto_ingest=False)
    store = Store(make_client(settings), settings.collection)
    hashes = {r.doc_id: r.doc_hash for r in store.registry(fresh=True).values()}
    return store.check(), hashes


def _clean_chunk_count(folder: Path) -> int:
    from assistant.chunking import split_document
    from assistant.ingestion import load_file

    return sum(len(split_document(load_file(p))) for p in sorted(folder.glob("*.md")))


@pytest.mark.slow
def test_kill_minus_9_never_half_indexes(tmp_path):
    rnd = random.Random(20240901)
    folder, data, scratch = tmp_path / "docs", tmp_path / "data", tmp_path / "scratch"
    scratch.mkdir()
    _write_docs(folder, 0)
    # a clean run measures when the registry switch happens (the sources manifest next to
    # the index is rewritten right after it) and when the run ends, from process start
    started = time.monotonic()
    proc = _start(folder, data)
    commit_at = _wait_for_commit(proc, data, 0.0) - started
    assert proc.wait(timeout=600) == 0
    end_at = time.monotonic() - started
    _problems, hashes = _check_copy(data, scratch, 0)
    kills_landed = before_commit = after_commit = 0
    log = []
    for n in range(1, KILLS + 1):
        _write_docs(folder, n)  # every document changes: each run replaces all 40
        since = next(data.glob("sources-*.json")).stat().st_mtime
        started = time.monotonic()
        proc = _start(folder, data)
        # Kill points, seeded-random: even runs somewhere in the run up to the registry switch
        # (chunks being embedded or written), odd runs right after this run's switch is seen
        # (old chunks being deleted), so both sides of the commit point are hit every time.
        after_switch = n % 2 == 1
        delay = rnd.uniform(0.3 * commit_at, 0.97 * commit_at) if not after_switch else end_at
        seen = None
        while time.monotonic() - started < delay and proc.poll() is None:
            if seen is None and next(data.glob("sources-*.json")).stat().st_mtime > since:
                seen = time.monotonic() - started
                if after_switch:
                    break
            time.sleep(0.002)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills_landed += 1
        if seen is not None:
            end_at += seen - commit_at  # shift the window by this run's drift
            commit_at = seen
        proc.wait()
        errors = data.parent / "ingest-stderr.log"
        tail = errors.read_text(errors="replace")[-2000:] if errors.exists() else ""
        assert proc.returncode in (0, -signal.SIGKILL), (proc.returncode, tail)
        problems, now = _check_copy(data, scratch, n)
        changed = sum(1 for doc_id, h in now.items() if hashes.get(doc_id) != h)
        if proc.returncode == -signal.SIGKILL:
            before_commit += changed == 0
            after_commit += changed == 40
        hashes = now
        log.append((n, round(delay, 2), proc.returncode, changed))
        assert problems == [], (n, problems)
        assert len(now) == 40  # every document is at its old or its new version
        assert changed in (0, 40) or proc.returncode == 0  # a batch commits atomically
        if n % 4 == 0:  # a re-run completes
            assert _start(folder, data).wait(timeout=600) == 0
            problems, hashes = _check_copy(data, scratch, 100 + n)
            assert problems == [] and len(hashes) == 40
    print(f"\n(kill, at s, rc, docs at a new version): {log}")
    print(f"{before_commit} kills before the registry switch, {after_commit} after it")
    assert kills_landed >= KILLS * 0.75, log
    # kills landed on both sides of the commit point (documents at old / at new versions)
    assert before_commit >= 1 and after_commit >= 1, log
    assert _start(folder, data).wait(timeout=600) == 0
    problems, hashes = _check_copy(data, scratch, 999)
    assert problems == []
    assert len(hashes) == 40
    assert _chunk_total(data, scratch) == _clean_chunk_count(folder)


def test_orphan_scan_runs_only_after_an_interrupted_write(fresh_assistant, tmp_path) -> None:
    """A completed ingest leaves no marker, so the next one skips the all-chunks scan; an
    interrupted one (here: an exception in the middle) leaves it, and the next one cleans up."""
    store = fresh_assistant.store
    scans = []
    real_collect = store.collect_orphans
    store.collect_orphans = lambda: scans.append(1) or real_collect()  # count, then run it
    folder = tmp_path / "docs"
    _write_docs(folder, 1)
    fresh_assistant.ingest([folder])
    marker = store.lock_path.parent / f"writing-{store.name}"
    assert not marker.exists() and scans == []  # a new index has nothing to collect
    _write_docs(folder, 2)
    fresh_assistant.ingest([folder])
    assert scans == [], "a clean previous write must not trigger the scan"

    # crash mid-write: chunks of revision 3 are written, then the commit fails
    _write_docs(folder, 3)
    real_commit = store.commit_many

    def failing_commit(*args, **kwargs):
        raise RuntimeError("simulated crash before the registry switch")

    store.commit_many = failing_commit
    with pytest.raises(RuntimeError):
        fresh_assistant.ingest([folder])
    store.commit_many = real_commit
    assert marker.exists()
    committed = sum(r.chunks for r in store.registry(fresh=True).values())
    assert store.stored_counts()[0] > committed  # the failed write's chunks: orphans
    fresh_assistant.remove("rule-00")  # the next write of any kind collects them
    assert len(scans) == 1 and not marker.exists()
    committed = sum(r.chunks for r in store.registry(fresh=True).values())
    assert store.stored_counts() == (committed, committed)
    assert store.check() == []
