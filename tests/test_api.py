"""The HTTP JSON API (/api) of a live `assistant serve`, called with raw HTTP and with curl.

One server with a login (ASSISTANT_AUTH and an API token) on the session's data dir, and one
without a waiting room (ASSISTANT_API_QUEUE=0) for the 503 test. The Gate is also tested on its
own with real blocking calls.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import threading
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import PAPER_ID
from tests.ui_server import serve

Q = "How long must teachers spend in enterprises?"
USER, PASSWORD = "dean", "correct-horse"
TOKEN = "api-token-0123456789abcdef"
AUTH = (USER, PASSWORD)


@pytest.fixture(scope="module")
def api(data_dir: Path) -> str:
    """The web chat with a login and an API token; yields its base URL."""
    env = {"ASSISTANT_AUTH": f"{USER}:{PASSWORD}", "ASSISTANT_API_TOKENS": TOKEN}
    with serve(data_dir, env=env) as url:
        yield url


def _error(r: httpx.Response) -> dict[str, str]:
    assert r.headers["content-type"].startswith("application/json"), r.text
    return r.json()["error"]


@pytest.mark.server
@pytest.mark.slow
def test_curl_as_the_readme_shows(api: str, corpus_assistant) -> None:
    # exactly the README's command: -u for the login, -d with a JSON body (sent as a form)
    out = subprocess.run(
        ["curl", "-s", "-u", f"{USER}:{PASSWORD}", "-d", json.dumps({"question": Q}),
         f"{api}/api/ask"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    body = json.loads(out.stdout)
    expected = corpus_assistant.ask(Q)
    assert body["text"] == expected.text  # the library's answer, word for word
    assert body["grounded"] is True and body["mode"] == "extractive"
    assert body["language"] == "en" and "[1]" in body["body"]
    first = body["citations"][0]
    assert first["doc_id"] == "policy-2016-teacher-enterprise-practice-provisions"
    assert first["role"] == "provision" and first["score"] > 0
    assert first["quote"] and first["quote"] in expected.citations[0].text
    assert first["section"] == expected.citations[0].section
    # without credentials: 401 with a JSON message and a Basic challenge
    out = subprocess.run(
        ["curl", "-s", "-i", "-d", json.dumps({"question": Q}), f"{api}/api/ask"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    head, _, rest = out.stdout.partition("\n\n")  # text mode: CRLF read as LF
    assert head.startswith("HTTP/1.1 401")
    assert "www-authenticate: basic" in head.lower()
    assert "ASSISTANT_AUTH" in json.loads(rest)["error"]["message"]


@pytest.mark.server
@pytest.mark.slow
def test_every_api_path_needs_the_login(api: str) -> None:
    paths = [("POST", "/api/ask"), ("POST", "/api/retrieve"), ("GET", "/api/documents"),
             ("GET", "/api/docs"), ("GET", "/api/openapi.json")]  # fmt: skip
    for method, path in paths:
        for auth in (None, (USER, "wrong"), ("nobody", PASSWORD)):
            r = httpx.request(method, api + path, json={"question": Q}, auth=auth)
            assert r.status_code == 401, (path, auth, r.text)
            assert _error(r)["type"] == "Unauthorized"
        r = httpx.request(method, api + path, json={"question": Q},
                          headers={"Authorization": "Bearer not-the-token"})  # fmt: skip
        assert r.status_code == 401
    # a bearer token of ASSISTANT_API_TOKENS works like the login (urllib: no client library)
    req = urllib.request.Request(f"{api}/api/documents",
                                 headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip
    with urllib.request.urlopen(req, timeout=30) as resp:
        docs = json.loads(resp.read())
    assert PAPER_ID in {d["doc_id"] for d in docs}
    paper = next(d for d in docs if d["doc_id"] == PAPER_ID)
    assert paper["kind"] == "paper" and paper["chunks"] > 10 and "path" not in paper["metadata"]


@pytest.mark.server
@pytest.mark.slow
def test_retrieve_matches_the_library(api: str, corpus_assistant) -> None:
    r = httpx.post(f"{api}/api/retrieve", json={"question": "teacher pay", "k": 3,
                   "sources": [PAPER_ID]}, auth=AUTH, timeout=30)  # fmt: skip
    assert r.status_code == 200, r.text
    passages = r.json()["passages"]
    expected = corpus_assistant.retrieve("teacher pay", k=3, sources=[PAPER_ID])
    assert [(p["doc_id"], p["section"], p["text"]) for p in passages] == [
        (p.doc_id, p.section, p.text) for p in expected
    ]
    assert [p["rank"] for p in passages] == [1, 2, 3]
    scores = [p["score"] for p in passages]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.server
@pytest.mark.slow
def test_follow_up_and_filters(api: str, corpus_assistant) -> None:
    history = [{"role": "user", "content": "如何建设双师型教师队伍？"},
               {"role": "assistant", "content": "…"}]  # fmt: skip
    body = {"question": "那经费呢？", "history": history, "kinds": ["policy"]}
    r = httpx.post(f"{api}/api/ask", json=body, auth=AUTH, timeout=60)
    assert r.status_code == 200, r.text
    out = r.json()
    expected = corpus_assistant.ask("那经费呢？", history, kinds=["policy"])
    assert out["text"] == expected.text and out["language"] == "zh"
    assert {c["kind"] for c in out["citations"]} <= {"policy"}


@pytest.mark.server
@pytest.mark.slow
def test_errors_are_json_with_the_package_messages(api: str) -> None:
    def post(path: str, **kw: object) -> httpx.Response:
        return httpx.post(api + path, auth=AUTH, timeout=30, **kw)  # type: ignore[arg-type]

    cases = [
        ({"question": "   "}, "The question is empty"),
        ({"question": "x" * 4001}, "the limit is 4,000"),
        ({"question": Q, "sources": ["no-such-doc"]}, "Unknown source(s): no-such-doc"),
        ({"question": Q, "kinds": ["novel"]}, "Unknown kind 'novel'; use one of"),
    ]
    for body, message in cases:
        r = post("/api/ask", json=body)
        assert r.status_code == 400, (body, r.text)
        err = _error(r)
        assert err["type"] == "InvalidInputError" and message in err["message"], err
    r = post("/api/retrieve", json={"question": Q, "k": 0})
    assert r.status_code == 400 and "k must be a whole number from 1 to" in _error(r)["message"]
    # bodies that do not fit the schema: 422, still JSON, naming the field
    for content, where in ((b"{not json", "not valid JSON"), (b'{"q": "x"}', "question"),
                           (b'{"question": "x", "history": [{"role": "bot", "content": ""}]}',
                            "history.0.role")):  # fmt: skip
        r = post("/api/ask", content=content)
        assert r.status_code == 422, r.text
        assert _error(r)["type"] == "InvalidInputError" and where in _error(r)["message"]
    r = post("/api/ask", content=b"{" + b" " * 300_000 + b"}")
    assert r.status_code == 413 and "the limit is" in _error(r)["message"]
    r = httpx.get(f"{api}/api/nothing-here", auth=AUTH)
    assert r.status_code == 404 and _error(r)["message"]


@pytest.mark.server
@pytest.mark.slow
def test_openapi_docs_are_served_offline(api: str) -> None:
    spec = httpx.get(f"{api}/api/openapi.json", auth=AUTH).json()
    assert {"/ask", "/retrieve", "/documents"} <= set(spec["paths"])
    assert spec["servers"] == [{"url": "/api"}]
    page = httpx.get(f"{api}/api/docs", auth=AUTH)
    assert page.status_code == 200 and "/api/openapi.json" in page.text
    assert "cdn." not in page.text and "https://" not in page.text.split("<body>")[0]
    js = httpx.get(f"{api}/api/docs-static/swagger-ui-bundle.js", auth=AUTH)
    assert js.status_code == 200 and len(js.content) > 100_000


@pytest.mark.server
@pytest.mark.slow
def test_a_full_api_answers_503_with_retry_after_and_never_hangs(data_dir: Path) -> None:
    env = {"ASSISTANT_API_WORKERS": "1", "ASSISTANT_API_QUEUE": "0"}
    with serve(data_dir, env=env) as url:
        barrier = threading.Barrier(12)

        def one(_: int) -> httpx.Response:
            barrier.wait()
            return httpx.post(f"{url}/api/ask", json={"question": Q}, timeout=60)

        with ThreadPoolExecutor(12) as pool:
            responses = list(pool.map(one, range(12)))
        codes = [r.status_code for r in responses]
        assert set(codes) <= {200, 503}, codes
        assert codes.count(200) >= 1 and codes.count(503) >= 1, codes
        for r in responses:
            if r.status_code == 503:
                assert r.headers["retry-after"] == "1"
                assert _error(r)["type"] == "Busy"
        # the gate is free again afterwards
        assert httpx.post(f"{url}/api/ask", json={"question": Q}, timeout=60).status_code == 200


def test_gate_refuses_beyond_capacity_and_times_out() -> None:
    from ui.api import Busy, Gate

    release = threading.Event()

    async def scenario() -> list[str]:
        gate = Gate(workers=1, waiting=1, timeout=0.5)
        running = asyncio.ensure_future(gate.run(release.wait, 5))
        queued = asyncio.ensure_future(gate.run(lambda: "second"))
        await asyncio.sleep(0.05)
        outcomes = []
        try:
            await gate.run(lambda: "third")
        except Busy as e:
            outcomes.append(f"refused:{e}")
        for task in (running, queued):
            try:
                await task
            except Busy as e:  # the blocked call outlives the timeout: 503, never a hang
                outcomes.append(f"late:{e}")
        release.set()
        await asyncio.sleep(0.1)  # the blocked thread ends and frees its slot
        outcomes.append(str(await gate.run(lambda: "after")))
        return outcomes

    assert asyncio.run(scenario()) == ["refused:busy", "late:timeout", "late:timeout", "after"]


def test_api_tokens_must_be_secrets() -> None:
    from assistant.errors import ConfigError
    from ui.api import parse_tokens

    assert parse_tokens("a" * 16 + ", " + "b" * 20) == ["a" * 16, "b" * 20]
    for bad in ("", " , ", "short"):
        with pytest.raises(ConfigError, match="at least 16 characters"):
            parse_tokens(bad)
