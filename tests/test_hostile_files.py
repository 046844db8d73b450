"""Malicious and broken files, made here, ingested together with good ones in one run.

Every hostile file must be refused or stopped (time limit, memory limit, sniffing, zip and
entity checks) with a clear reason, and every good file in the same run must be indexed.
"""

from __future__ import annotations

import re
import time

import pytest

from .hostile_docs import HOSTILE
from .make_docs import make_good_folder

TIMEOUT = 12.0  # Settings.parse_timeout for this run (the default is 30 s)


@pytest.mark.slow
def test_hostile_corpus_refused_good_files_kept(tmp_path):
    from assistant import Settings
    from assistant.pipeline import Assistant
    from assistant.safeload import last_stats

    folder = tmp_path / "docs"
    good = make_good_folder(folder)
    for name, (build, _reason) in HOSTILE.items():
        build(folder / name)
    a = Assistant(Settings(data_dir=tmp_path / "data", auto_ingest=False, parse_timeout=TIMEOUT))
    timings: dict[str, tuple[float, float]] = {}
    state: dict[str, object] = {}

    def progress(name: str, done: int, total: int) -> None:
        now = time.monotonic()
        if state.get("name"):
            # time inside the loader when the sandbox ran (the last file's wall time would
            # include embedding the good files), else the wall time of the refusal
            stats = last_stats()
            seconds = stats.seconds if stats else now - float(state["t"])
            timings[str(state["name"])] = (seconds, stats.peak_rss_mb if stats else 0.0)
        state.update(name=name, t=now)

    try:
        report = a.ingest([folder], progress=progress)
    finally:
        (folder / "big.txt").unlink()
    skipped = {s.path.rsplit("/", 1)[-1]: s.reason for s in report.skipped}
    print("\nfile            seconds  worker peak MB  reason")
    for name in sorted(HOSTILE):
        sec, peak = timings.get(name, (float("nan"), float("nan")))
        print(f"{name:15} {sec:7.2f}  {peak:14.0f}  {skipped.get(name, 'NOT REFUSED')}")
    assert set(skipped) == set(HOSTILE), f"refused {sorted(skipped)}; added {report.added}"
    for name, (_build, pattern) in HOSTILE.items():
        assert re.search(pattern, skipped[name]), (name, skipped[name])
        assert skipped[name].startswith(name), skipped[name]
        assert timings[name][0] < TIMEOUT + 5, (name, timings[name])
        assert not timings[name][1] > 1024, (name, timings[name])  # MB; nan when killed
    assert sorted(report.added) == sorted(good)  # 0 good files lost
    assert report.status == "partial"
    assert a.store.check() == []
    for doc_id in good:
        assert a.retrieve("rules", k=1, sources=[doc_id])
