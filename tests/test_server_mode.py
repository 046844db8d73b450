"""Server mode: the same engine on a real `chroma run` server through chromadb.HttpClient."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port, run_cli, stop_process

pytestmark = [pytest.mark.server, pytest.mark.slow]

QUESTIONS = [
    "How can colleges get teachers to take part in training high-skilled talent?",
    "dual-qualified teachers",
    "per-student funding for higher vocational colleges",
    "如何建设双师型教师队伍",
    "school-enterprise cooperation and apprenticeship",
]


def _wait_for_chroma(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"chroma run exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"chroma server at {url} did not answer within {timeout} s")


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Chroma server on a free port, stopped at teardown."""
    path = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    exe = Path(sys.executable).parent / "chroma"
    log = (path / "server.log").open("wb")
    proc = subprocess.Popen(
        [str(exe), "run", "--path", str(path / "db"), "--port", str(port), "--host", "127.0.0.1"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_chroma(url, proc)
        yield url
    finally:
        stop_process(proc)
        log.close()


@pytest.fixture(scope="module")
def server_assistant(chroma_url: str, tmp_path_factory: pytest.TempPathFactory):
    """An Assistant whose index lives in the Chroma server (bundled corpus ingested there)."""
    from assistant import Settings
    from assistant.pipeline import Assistant

    a = Assistant(Settings(chroma_url=chroma_url, data_dir=tmp_path_factory.mktemp("srv-data")))
    report = a.ensure_corpus()
    assert report is not None and report.status == "ok", report
    return a


def test_server_store_is_http_and_unlocked(server_assistant) -> None:
    import chromadb

    assert isinstance(server_assistant.store.client, chromadb.api.client.Client)
    assert type(server_assistant.store.client._server).__name__ == "FastAPI"
    assert server_assistant.store.lock_path is None  # the server serialises writers
    assert not server_assistant.store.check()


def test_server_retrieve_matches_embedded(server_assistant, corpus_assistant) -> None:
    embedded_docs = {r.doc_id: r.chunks for r in corpus_assistant.documents()}
    server_docs = {r.doc_id: r.chunks for r in server_assistant.documents()}
    assert server_docs == embedded_docs
    for q in QUESTIONS:
        a = [(p.doc_id, p.section) for p in corpus_assistant.retrieve(q, k=5)]
        b = [(p.doc_id, p.section) for p in server_assistant.retrieve(q, k=5)]
        assert a, q
        assert b == a, f"{q!r}: server {b} != embedded {a}"


def test_server_cli_search_json(server_assistant, corpus_assistant, tmp_path: Path) -> None:
    q = QUESTIONS[1]
    proc = run_cli(
        "--chroma-url",
        server_assistant.settings.chroma_url,
        "--data-dir",
        str(tmp_path / "cli-data"),
        "search",
        q,
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    expected = [(p.doc_id, p.section) for p in corpus_assistant.retrieve(q, k=5)]
    assert [(r["doc_id"], r["section"]) for r in rows] == expected
    # the CLI used the server's index: its own data dir holds no embedded Chroma store
    assert not (tmp_path / "cli-data" / "chroma").exists()


def test_server_unreachable_is_a_clear_error(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    proc = run_cli(
        "--chroma-url", f"http://127.0.0.1:{port}", "--data-dir", str(tmp_path), "search", "q"
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: ")
    assert "chroma run" in proc.stderr


def _uncommitted(store, doc_id: str) -> list[str]:
    import numpy as np

    from assistant.chunking import Chunk

    meta = {"doc_id": doc_id, "doc_hash": "h"}
    chunks = [Chunk(f"{doc_id}-{i}", doc_id, f"text {i}", 0, 6, "", "", i, meta) for i in range(3)]
    rng = np.random.default_rng(0)
    store.write_chunks(chunks, rng.normal(size=(3, 384)), rng.normal(size=(3, 512)))
    return [c.chunk_id for c in chunks]


def test_server_orphan_cleanup_spares_another_writers_work(
    server_assistant, fresh_assistant
) -> None:
    # server: no cross-machine lock, so fresh uncommitted chunks may be another writer's
    ids = _uncommitted(server_assistant.store, "in-flight-doc")
    try:
        server_assistant.store.collect_orphans()
        assert server_assistant.store.stored_ids(ids) == ids
    finally:
        server_assistant.store.delete_chunks(ids)
    # embedded: the writer lock is held, so uncommitted chunks are a crash's leftovers
    ids = _uncommitted(fresh_assistant.store, "crashed-doc")
    with fresh_assistant.store.write_lock():
        assert fresh_assistant.store.collect_orphans() == 3
    assert fresh_assistant.store.stored_ids(ids) == []
