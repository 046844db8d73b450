"""Issue 16 against the live web chat: forged Host and Origin, login guessing, web uploads as
own documents of the uploader, versions, and a reindex under the running server.

The server runs with a login on a copy of the session's index (so the bundled corpus is not
embedded again and the uploads stay out of the other tests' index).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file

from tests.conftest import run_cli
from tests.test_provenance import FAKE_ORDER
from tests.ui_server import serve

pytestmark = [pytest.mark.server, pytest.mark.slow]

USER, PASSWORD = "dean", "correct-horse-battery"
Q = "How long must teachers spend in enterprises?"


@pytest.fixture(scope="module")
def site(corpus_assistant, data_dir: Path, tmp_path_factory):
    """(url, data dir) of a server with a login on a private copy of the session's index."""
    base = tmp_path_factory.mktemp("trust")
    data = base / "data"
    shutil.copytree(data_dir, data, ignore=shutil.ignore_patterns("write.lock", "files"))
    with serve(data, env={"ASSISTANT_AUTH": f"{USER}:{PASSWORD}"}) as url:
        yield url, data


@pytest.fixture(scope="module")
def client(site) -> Client:
    return Client(site[0], auth=(USER, PASSWORD), verbose=False)


def test_forged_host_is_refused_and_headers_forbid_framing(site) -> None:
    url, _ = site
    port = url.rsplit(":", 1)[1]
    for host in ("evil.example", f"evil.example:{port}", "127.0.0.1.evil.example"):
        r = httpx.get(url + "/", headers={"Host": host})
        assert r.status_code == 421, (host, r.status_code)
        r = httpx.post(
            url + "/gradio_api/upload", headers={"Host": host}, files={"files": ("a.txt", b"x")}
        )
        assert r.status_code == 421
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        r = httpx.get(url + "/", headers={"Host": host})
        assert r.status_code == 200, host
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
        assert r.headers["x-frame-options"] == "DENY"


def test_cross_origin_upload_and_queue_join_are_refused(site, client: Client) -> None:
    url, _ = site
    cookies = {}  # logged in, as a victim's browser would be
    login = httpx.post(url + "/login", data={"username": USER, "password": PASSWORD})
    assert login.status_code == 200
    cookies = dict(login.cookies)
    for origin in ("http://evil.example", "null", f"http://evil.example:{url.rsplit(':', 1)[1]}"):
        r = httpx.post(
            url + "/gradio_api/upload",
            headers={"Origin": origin},
            cookies=cookies,
            files={"files": ("plan.md", b"# Plan\n\ntext\n", "text/markdown")},
        )
        assert r.status_code == 403, (origin, r.status_code, r.text)
        assert "Cross-origin request refused" in r.text
    r = httpx.post(
        url + "/gradio_api/queue/join",
        headers={"Sec-Fetch-Site": "cross-site"},
        cookies=cookies,
        json={"data": [Q], "fn_index": 0, "session_hash": "x"},
    )
    assert r.status_code == 403
    same = httpx.post(
        url + "/gradio_api/upload",
        headers={"Origin": url},
        cookies=cookies,
        files={"files": ("plan.md", b"# Plan\n\ntext\n", "text/markdown")},
    )
    assert same.status_code == 200, same.text


def test_wrong_passwords_are_answered_after_a_growing_delay(site) -> None:
    url, _ = site
    times = []
    for _ in range(30):
        t = time.perf_counter()
        r = httpx.post(url + "/login", data={"username": USER, "password": "guess"})
        times.append(time.perf_counter() - t)
        assert r.status_code == 400
    # 0.0125 s more per failure (ui/guard.py): 30 failures hold back >= 5.4 s in all
    assert sum(times) >= 5.4, times
    assert min(times[-5:]) >= 0.3 > max(times[:2]), times
    ok = httpx.post(url + "/login", data={"username": USER, "password": PASSWORD})
    assert ok.status_code == 200
    t = time.perf_counter()
    httpx.post(url + "/login", data={"username": USER, "password": "guess"})
    assert time.perf_counter() - t < 0.3, "a successful login starts the count afresh"


def test_short_password_refuses_to_start() -> None:
    r = run_cli("serve", "--port", "1", env={"ASSISTANT_AUTH": "dean:x"}, timeout=60)
    assert r.returncode == 1
    assert "use at least 8" in r.stderr


def test_web_upload_is_an_own_document_of_the_uploader_with_versions(
    site, client: Client, tmp_path: Path
) -> None:
    fake = tmp_path / "state-council-order.md"
    fake.write_text(FAKE_ORDER, encoding="utf-8")
    table = client.predict([handle_file(str(fake))], api_name="/upload")[0]
    assert "state-council-order.md | added" in table, table
    docs = {d["doc_id"]: d for d in client.predict(api_name="/documents")}
    row = docs["state-council-order"]
    assert row["kind"] == "own" and row["issuer"] == "" and row["level"] == ""
    assert row["added"].startswith(f"added by {USER} via web, ")
    md = client.predict(Q, api_name="/ask")
    for block in md.split("\n\n"):
        if "24 months" in block:
            assert "binding" not in block.lower()
    sources = md.split("**Sources**")[1]
    for line in sources.splitlines():
        if "State Council Order" in line:
            assert f"your document, added by {USER} via web" in line and "国发" not in line

    fake.write_text(FAKE_ORDER.replace("24 months", "18 months"), encoding="utf-8")
    table = client.predict([handle_file(str(fake))], api_name="/upload")[0]
    assert "state-council-order.md | new version | doc\\_id state-council-order-v2" in table, table
    assert "kept and listed as superseded" in table
    docs = {d["doc_id"]: d for d in client.predict(api_name="/documents")}
    assert docs["state-council-order"]["status"] == "superseded by state-council-order-v2"


def test_reindex_under_the_running_server_restores_uploads_and_keeps_answering(
    site, client: Client
) -> None:
    _url, data = site
    assert "[1]" in client.predict(Q, api_name="/ask")
    r = run_cli("reindex", env={"ASSISTANT_DATA_DIR": str(data)}, timeout=900)
    assert r.returncode == 0, (r.stdout, r.stderr)
    time.sleep(0.5)
    for _ in range(3):
        md = client.predict(Q, api_name="/ask")
        assert "[1]" in md and "6 months" in md
    docs = {d["doc_id"]: d for d in client.predict(api_name="/documents")}
    assert {"state-council-order", "state-council-order-v2"} <= set(docs)
    assert docs["state-council-order-v2"]["added"].startswith(f"added by {USER} via web")
    r = run_cli("check", env={"ASSISTANT_DATA_DIR": str(data)})
    assert r.returncode == 0, r.stdout
    log = [json.loads(x) for x in (data / "audit.jsonl").read_text().splitlines()]
    assert any(e["doc_id"] == "state-council-order" and e["by"] == USER for e in log)
