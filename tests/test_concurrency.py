"""Concurrency: a script ingests while the web chat answers, on the same embedded index.

Everything is real: `assistant serve` and `assistant ingest` run as separate processes on one
data dir (a private copy of the session's index), and the web chat is called through
gradio_client's public /ask endpoint. The embedded store is guarded (docs/scale.md): one
writer at a time (file lock, a second writer gets StoreBusyError), and readers re-open their
Chroma client when another process commits, because an embedded client does not see another
process's vector-index writes otherwise.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli
from tests.ui_server import serve

pytestmark = [pytest.mark.server, pytest.mark.slow]

NEW_DOC = """---
doc_id: own-drone-workshop-plan
title: Plan for the Campus Drone Maintenance Workshop
kind: own
---

# Plan for the Campus Drone Maintenance Workshop

## 1. Drone maintenance apprenticeships

The college will open a drone maintenance workshop with two partner airlines. Each cohort of
apprentices rotates through propeller balancing, battery diagnostics and flight-controller
repair, supervised by certified drone technicians.

## 2. Funding of the drone workshop

The workshop is funded from the college's own revenue and a provincial grant for unmanned
aerial vehicle training; the dean reviews the drone budget every semester.
"""
QUESTION_NEW = "How will the drone maintenance workshop train apprentices in battery diagnostics?"
QUESTIONS_OLD = [
    "How can colleges get teachers to take part in training high-skilled talent?",
    "如何建设双师型教师队伍",
    "per-student funding for higher vocational colleges",
]


class FakeClock:
    """A clock the test moves by hand (seconds since the epoch), for the registry cache."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


MAX_WAIT_S = 10.0  # the bound on how long the web chat may block during an ingest


@pytest.fixture(scope="module")
def shared_dir(corpus_assistant, data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the session's index (the test adds a document to it)."""
    corpus_assistant.store.registry(fresh=True)  # the session index is built and idle
    target = tmp_path_factory.mktemp("concurrency") / "data"
    shutil.copytree(data_dir, target, ignore=shutil.ignore_patterns("*.lock", "serve-*.log"))
    return target


def test_second_writer_gets_store_busy_quickly(shared_dir: Path, tmp_path: Path) -> None:
    from filelock import FileLock

    doc = tmp_path / "busy.md"
    doc.write_text("# Busy\n\nA document that must not be written while another writer runs.\n")
    with FileLock(str(shared_dir / "write.lock")):
        t = time.monotonic()
        proc = run_cli("--data-dir", str(shared_dir), "ingest", str(doc), timeout=120)
        elapsed = time.monotonic() - t
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stderr.startswith("error: Another process is writing to the index")
    assert "ASSISTANT_CHROMA_URL" in proc.stderr
    assert elapsed < 60  # 10 s lock timeout + process start; nothing hangs
    docs = run_cli("--data-dir", str(shared_dir), "docs", "--json")
    assert "busy" not in {d["doc_id"] for d in json.loads(docs.stdout)}


def test_ingest_while_web_chat_answers(shared_dir: Path, tmp_path: Path) -> None:
    from gradio_client import Client

    from assistant import Settings
    from assistant.pipeline import Assistant

    # a long-lived reader in this process too, opened before the write (like a notebook)
    reader = Assistant(Settings(data_dir=shared_dir))
    assert reader.retrieve(QUESTIONS_OLD[0], k=3)
    doc = tmp_path / "own-drone-workshop-plan.md"
    doc.write_text(NEW_DOC, encoding="utf-8")

    with serve(shared_dir) as url:
        client = Client(url, verbose=False)
        assert client.predict(QUESTIONS_OLD[0], api_name="/ask")  # warm: models loaded
        exe = Path(sys.executable).parent / "assistant"
        ingest = subprocess.Popen(
            [str(exe), "--data-dir", str(shared_dir), "ingest", str(doc), "--json"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        out: dict[str, str] = {}

        def collect() -> None:
            out["stdout"], out["stderr"] = ingest.communicate(timeout=600)

        reader_thread = threading.Thread(target=collect)
        reader_thread.start()
        latencies: list[float] = []
        errors: list[str] = []
        i = 0
        while ingest.poll() is None:
            q = QUESTIONS_OLD[i % len(QUESTIONS_OLD)]
            i += 1
            t = time.monotonic()
            try:
                answer = client.predict(q, api_name="/ask")
                if not isinstance(answer, str) or "[1]" not in answer:
                    errors.append(f"{q!r}: unexpected answer {str(answer)[:200]!r}")
            except Exception as e:  # any error during the ingest is a failure
                errors.append(f"{q!r}: {type(e).__name__}: {e}")
            latencies.append(time.monotonic() - t)
        reader_thread.join()
        assert ingest.returncode == 0, out.get("stderr", "")[-2000:]
        report = json.loads(out["stdout"])
        assert report["added"] == ["own-drone-workshop-plan"], report

        # the web chat sees the new document (registry cache is 2 s; allow a few refreshes)
        deadline = time.monotonic() + 20
        seen_by_web = False
        while time.monotonic() < deadline and not seen_by_web:
            t = time.monotonic()
            answer = client.predict(QUESTION_NEW, api_name="/ask")
            latencies.append(time.monotonic() - t)
            seen_by_web = "Drone Maintenance Workshop" in answer
            if not seen_by_web:
                time.sleep(1)

    print(f"\n/ask calls during ingest: {i}, max latency {max(latencies):.2f} s")
    assert not errors, errors
    assert i >= 1, "the ingest finished before the web chat was asked anything"
    assert max(latencies) < MAX_WAIT_S, latencies
    assert seen_by_web, "the web chat never saw the document ingested by the script"

    # the script side sees it too
    proc = run_cli("--data-dir", str(shared_dir), "search", QUESTION_NEW, "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)[0]["doc_id"] == "own-drone-workshop-plan"

    # the long-lived reader sees it in the *dense* channels too, not only through BM25 (which
    # is rebuilt from get()): that needs the client re-open after another process's commit
    time.sleep(2.5)  # registry cache TTL
    top = reader.retrieve(QUESTION_NEW, k=3)[0]
    assert top.doc_id == "own-drone-workshop-plan"
    ranks = top.signals.ranks
    assert ranks["minilm"] is not None and ranks["use"] is not None, ranks
    assert not reader.store.check()


def test_unchanged_registry_is_checked_with_one_record(shared_dir: Path) -> None:
    """Readers poll for changes every 2 s: that must not re-read every document record."""
    from assistant import Settings
    from assistant.pipeline import Assistant

    clock = FakeClock()
    store = Assistant(Settings(data_dir=shared_dir, auto_ingest=False), clock=clock).store
    first = store.registry(fresh=True)
    assert len(first) >= 20
    calls: list[object] = []
    real_get = store._db.docs.get

    def spy(*args: object, **kwargs: object) -> object:
        calls.append(kwargs.get("ids"))
        return real_get(*args, **kwargs)

    store._db.docs.get = spy  # a spy on the real (private) collection, not a fake
    clock.now += 10  # the cache has expired
    assert store.registry() is first
    assert calls == [["__generation__"]]


def test_a_reader_keeps_answering_while_the_lexical_index_is_rebuilt(tmp_path) -> None:
    """Another process's ingest changes the corpus: a long-running reader serves its previous
    BM25 index (no wait) and swaps in the new one when it is ready."""
    from assistant import Settings
    from assistant.pipeline import Assistant

    settings = Settings(data_dir=tmp_path / "data", auto_ingest=False)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# A\n\n## 1. Pay\n\nTeachers' pay rises each year.\n")
    writer = Assistant(settings)
    writer.ingest([docs])
    clock = FakeClock()
    reader = Assistant(settings, clock=clock)
    assert reader.retrieve("teachers pay", k=3)[0].doc_id == "a"
    old = reader.lexical._snap
    (docs / "b.md").write_text("# B\n\n## 1. Workshops\n\nThe welding workshop opens in May.\n")
    writer.ingest([docs])  # publishes the new BM25 index on disk before it returns
    clock.now += 10  # the reader's 2 s poll is due
    reader.retrieve("welding workshop", k=3)  # served at once, refresh started in background
    reader.lexical._refresher.join(timeout=60)
    assert reader.lexical._snap is not old
    hits = reader.lexical.search("welding workshop", 3)
    assert hits and hits[0][0] in {c.chunk_id for c in reader.retrieve("welding", k=3)}
