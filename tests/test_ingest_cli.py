"""`assistant ingest / remove / check / reindex` through the real CLI in a subprocess.

A folder with one file of every format plus a corrupt PDF and an empty file; then re-runs,
a changed file, removal, and a damaged index (garbled chroma.sqlite3 and HNSW files).
"""

from __future__ import annotations

import json
import random
import shutil

import pytest

from .conftest import run_cli
from .make_docs import make_good_folder


def _env(data):
    return {"ASSISTANT_DATA_DIR": str(data), "ASSISTANT_AUTO_INGEST": "false"}


def _ingest(data, *paths, json_out=True):
    args = ["ingest", *map(str, paths)] + (["--json"] if json_out else [])
    return run_cli(*args, env=_env(data))


def _docs(data) -> dict[str, int]:
    r = run_cli("docs", "--json", env=_env(data))
    assert r.returncode == 0, r.stderr
    return {d["doc_id"]: d["chunks"] for d in json.loads(r.stdout)}


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    base = tmp_path_factory.mktemp("cli")
    folder = base / "docs"
    good = make_good_folder(folder)
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ngarbage" * 20)
    (folder / "empty.txt").write_bytes(b"")
    data = base / "data"
    first = _ingest(data, folder, json_out=False)
    return base, folder, data, good, first


def test_folder_with_bad_files_is_partial(ingested):
    _base, _folder, data, good, r = ingested
    assert r.returncode == 3, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    for doc_id in good:
        assert f"added     {doc_id}" in r.stdout
    assert "broken.pdf: not a readable PDF" in r.stdout
    assert "empty.txt: the file is empty" in r.stdout
    assert "partial: 6 added, 0 updated, 0 unchanged, 2 skipped" in r.stdout
    # not a TTY: plain progress lines, one per file, no progress bar
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("[")]
    assert len(lines) == 8 and lines[0].startswith("[1/8] ") and lines[-1].startswith("[8/8] ")
    assert "file/s" not in r.stderr and "files/s" not in r.stderr  # no tqdm bar of ours
    assert set(_docs(data)) == set(good)


def test_rerun_is_a_noop_and_change_replaces_chunks(ingested):
    _base, folder, data, good, _r = ingested
    r = _ingest(data, folder)
    report = json.loads(r.stdout)
    assert r.returncode == 3
    assert sorted(report["unchanged"]) == sorted(good)
    assert report["added"] == report["updated"] == [] and report["chunks_written"] == 0
    before = _docs(data)
    md = good["scholarships"]
    md.write_text(
        md.read_text(encoding="utf-8")
        + "\n## 3. Appeals\n\nStudents may appeal within ten days.\n"
        + "\n## 4. Payment\n\nPaid by bank transfer.\n",
        encoding="utf-8",
    )
    r = _ingest(data, md)
    report = json.loads(r.stdout)
    assert r.returncode == 0, r.stderr
    assert report["updated"] == ["scholarships"]
    after = _docs(data)
    assert after["scholarships"] == before["scholarships"] + 2 == report["chunks_written"]
    assert {k: v for k, v in after.items() if k != "scholarships"} == {
        k: v for k, v in before.items() if k != "scholarships"
    }
    r = run_cli("check", env=_env(data))
    assert r.returncode == 0 and "ok: the index is consistent" in r.stdout, r.stdout + r.stderr


def test_remove_one_and_unknown_id(ingested):
    _base, _folder, data, good, _r = ingested
    r = run_cli("remove", "library-hours", env=_env(data))
    assert r.returncode == 0 and "removed library-hours" in r.stdout
    assert set(_docs(data)) == set(good) - {"library-hours"}
    r = run_cli("remove", "no-such-doc", env=_env(data))
    assert r.returncode == 1
    assert r.stderr.startswith("error: No document with doc_id 'no-such-doc'")
    assert "Traceback" not in r.stderr


def test_good_files_searchable_in_process(ingested):
    from assistant import Settings
    from assistant.pipeline import Assistant

    base, _folder, data, good, _r = ingested
    snapshot = base / "snapshot"
    shutil.copytree(data, snapshot)  # a private copy: no other client of the same folder
    a = Assistant(Settings(data_dir=snapshot, auto_ingest=False))
    for doc_id in set(good) - {"library-hours"}:
        passages = a.retrieve("rules for students and teachers", k=2, sources=[doc_id])
        assert passages and passages[0].doc_id == doc_id


def _garble(path, start_fraction: float, seed: int) -> None:
    data = bytearray(path.read_bytes())
    rnd = random.Random(seed)
    start = int(len(data) * start_fraction)
    data[start:] = rnd.randbytes(len(data) - start)
    path.write_bytes(bytes(data))


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["sqlite-tail", "sqlite-truncated", "hnsw"])
def test_damaged_index_is_reported_then_rebuilt(ingested, damage):
    base, _folder, data, _good, _r = ingested
    broken = base / f"broken-{damage}"
    shutil.copytree(data, broken)
    expected = _docs(data)
    db = broken / "chroma" / "chroma.sqlite3"
    if damage == "sqlite-tail":
        _garble(db, 0.75, 2)
    elif damage == "sqlite-truncated":
        with db.open("r+b") as f:
            f.truncate(db.stat().st_size // 3)
    else:
        for seg in (broken / "chroma").glob("*/*.bin"):
            _garble(seg, 0.0, 3) if seg.stat().st_size else seg.write_bytes(b"\x00" * 7)
    r = run_cli("docs", env=_env(broken))
    check = run_cli("check", env=_env(broken))
    for out in (r, check):
        assert "Traceback" not in out.stderr, out.stderr
    if r.returncode != 0:
        assert r.stderr.startswith("error: ") and "reindex" in r.stderr
    assert check.returncode == 1 or r.returncode == 0  # check never calls a broken index fine
    if check.returncode == 1:
        assert "reindex" in check.stdout
    print(
        f"\n{damage}: docs rc={r.returncode} {r.stderr.strip()[:150]!r} "
        f"| check rc={check.returncode}"
    )
    rebuilt = run_cli("reindex", env=_env(broken))
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert _docs(broken) == expected
    check = run_cli("check", env=_env(broken))
    assert check.returncode == 0, check.stdout
