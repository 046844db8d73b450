"""The web chat as a live server, driven through gradio_client and plain HTTP.

One server per module (on the session's data dir, so the corpus index is reused), plus a
second one with a login for the auth tests.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file

from tests.conftest import run_cli
from tests.ui_server import serve

pytestmark = [pytest.mark.server, pytest.mark.slow]

Q = "How can we motivate teachers to take part in training high-skilled talent?"
ENTERPRISE_Q = "How long must teachers spend in enterprises?"
PRACTICE_DOC = "policy-2016-teacher-enterprise-practice-provisions"


@pytest.fixture(scope="module")
def server(data_dir: Path) -> str:
    """The web chat on the session's data dir, with a 1 MB upload limit."""
    with serve(data_dir, env={"ASSISTANT_MAX_UPLOAD_MB": "1"}) as url:
        yield url


@pytest.fixture
def client(server: str) -> Client:
    """A fresh client = a fresh browser session (its own conversation state)."""
    return Client(server, verbose=False)


def _text(message: dict) -> str:
    content = message["content"]
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content)
    return str(content)


def test_ask_api_returns_cited_markdown(client: Client) -> None:
    md = client.predict(Q, api_name="/ask")
    assert "[1]" in md
    assert "**Sources**" in md
    assert "Research recommendation" in md  # provenance label of the paper
    assert "teachers" in md.lower()


def test_ask_api_reports_bad_input_clearly(client: Client) -> None:
    with pytest.raises(Exception, match="question is empty"):
        client.predict("   ", api_name="/ask")
    with pytest.raises(Exception, match="Unknown source"):
        client.predict(Q, "", "no-such-document", api_name="/ask")


def test_chat_streams_answer_with_sources_and_follow_up(client: Client) -> None:
    job = client.submit(ENTERPRISE_Q, [], api_name="/chat")
    outputs = list(job)  # every streamed update
    final = job.result()
    chat = final[0]
    assert [m["role"] for m in chat] == ["user", "assistant"]
    answer = _text(chat[-1])
    assert "6 months" in answer and "[1]" in answer
    partial = [o for o in outputs if len(o[0]) == 2]
    assert len(partial) >= 3, "the answer should arrive in several progressively longer pieces"
    lengths = [len(_text(o[0][-1])) for o in partial]
    assert lengths == sorted(lengths) and lengths[0] < lengths[-1]
    overview, *details = final[2:]
    assert re.search(r"\*\*\d+ sources?\*\* cited", overview)
    assert details[0].startswith("**[1]")
    assert f"Document: {PRACTICE_DOC}" in details[0]
    assert "In context" in details[0] and "<mark>" in details[0]

    follow = client.predict("And what about their pay?", chat, api_name="/chat")
    assert len(follow[0]) == 4
    assert "follow-up to" in _text(follow[0][-1])


def test_filters_restrict_kind_and_document(client: Client) -> None:
    policy_only = client.predict(Q, "policy", api_name="/ask")
    assert "National" in policy_only  # national targets / what policy encourages, by role
    assert "Research recommendation" not in policy_only
    one_doc = client.predict(ENTERPRISE_Q, "", PRACTICE_DOC, api_name="/ask")
    sources = one_doc.split("**Sources**")[1]
    cited = [line for line in sources.splitlines() if line.startswith("[")]
    assert cited and all("Provisions on Enterprise Practice" in line for line in cited)

    out = client.predict(Q, [], ["paper"], [], api_name="/chat")
    details = [d for d in out[3:13] if d]
    # paper only: research recommendations, and the paper's problem statements they answer
    assert details and all(
        "Provenance: Research recommendation" in d or "Provenance: Research paper" in d
        for d in details
    )
    assert any("Provenance: Research recommendation" in d for d in details)
    out = client.predict(
        ENTERPRISE_Q, [], ["policy", "paper", "own"], [PRACTICE_DOC], api_name="/chat"
    )
    details = [d for d in out[3:13] if d]
    assert details and all(f"Document: {PRACTICE_DOC}" in d for d in details)


def test_feedback_is_appended_with_question_answer_and_sources(
    client: Client, data_dir: Path
) -> None:
    log = data_dir / "feedback.jsonl"
    before = log.read_text(encoding="utf-8").count("\n") if log.exists() else 0
    client.predict(ENTERPRISE_Q, [], api_name="/chat")
    status, comment = client.predict("cites the 2016 provisions, good", api_name="/feedback_up")
    assert "helpful" in status and comment == ""
    lines = log.read_text(encoding="utf-8").splitlines()
    assert len(lines) == before + 1
    entry = json.loads(lines[-1])
    assert entry["rating"] == "up"
    assert entry["comment"] == "cites the 2016 provisions, good"
    assert entry["question"] == ENTERPRISE_Q
    assert "[1]" in entry["answer"]
    assert entry["sources"][0] == {
        "doc_id": PRACTICE_DOC,
        "section": "Core rule: at least 6 months in enterprises in every 5 years",
    }
    assert datetime.fromisoformat(entry["timestamp"]).tzinfo is not None


def test_feedback_without_an_answer_is_refused(client: Client) -> None:
    with pytest.raises(Exception, match="no answer to rate"):
        client.predict("", api_name="/feedback_down")


def test_export_memo_has_questions_answers_and_references(client: Client) -> None:
    with pytest.raises(Exception, match="Nothing to export"):
        client.predict(api_name="/export")
    first = client.predict(ENTERPRISE_Q, [], api_name="/chat")
    client.predict("如何建设双师型教师队伍？", first[0], api_name="/chat")
    path = client.predict(api_name="/export")
    memo = Path(path).read_text(encoding="utf-8")
    assert memo.startswith("# Policy guidance memo")
    assert f"## 1. {ENTERPRISE_Q}" in memo
    assert "## 2. 如何建设双师型教师队伍？" in memo
    assert memo.count("[1]") >= 2
    assert "## References" in memo and PRACTICE_DOC in memo
    assert Path(path).name.startswith("policy-memo-") and Path(path).suffix == ".md"


def test_upload_refuses_wrong_type_content_and_size(server: str, data_dir: Path, tmp_path: Path):
    client = Client(server, verbose=False)
    exe = tmp_path / "tool.exe"
    exe.write_bytes(b"MZ\x90\x00binary")
    with pytest.raises(Exception, match="Invalid file type"):
        client.predict([handle_file(str(exe))], api_name="/upload")

    fake_pdf = tmp_path / "plan.pdf"
    fake_pdf.write_text("just text, not a PDF")
    png_md = tmp_path / "notes.md"
    png_md.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    result = client.predict(
        [handle_file(str(fake_pdf)), handle_file(str(png_md))], api_name="/upload"
    )
    table = result[0]
    assert "plan.pdf | refused | plan.pdf: not a PDF" in table
    assert "notes.md | refused" in table and "binary content" in table

    # over the 1 MB limit: refused by the server itself, not just by the client library
    big = b"a" * (1024 * 1024 + 10)
    r = httpx.post(f"{server}/gradio_api/upload", files={"files": ("big.txt", big, "text/plain")})
    assert r.status_code in (400, 413), r.text
    assert "maximum" in r.text.lower() or "too large" in r.text.lower()

    # a traversal name is reduced to a base name inside Gradio's cache; our handler then
    # stages it under data_dir/uploads with a sanitized name and cleans up
    r = httpx.post(
        f"{server}/gradio_api/upload",
        files={"files": ("../../../escape-test.md", b"\x89PNG\r\n\x1a\n", "text/markdown")},
    )
    assert r.status_code == 200
    [cached] = r.json()
    assert ".." not in cached and Path(cached).name == "escape-test.md"
    result = client.predict(
        [
            {
                "path": cached,
                "orig_name": "../../../escape-test.md",
                "meta": {"_type": "gradio.FileData"},
            }
        ],
        api_name="/upload",
    )
    assert "escape-test.md | refused" in result[0]
    assert not (data_dir.parent / "escape-test.md").exists()
    assert not Path(cached).exists(), "the uploaded temp file is removed after handling"
    uploads = data_dir / "uploads"
    assert not uploads.exists() or not any(uploads.iterdir()), "staging folders are removed"

    # a file the server never issued cannot be passed in
    with pytest.raises(Exception):  # noqa: B017 - Gradio raises a generic error here
        client.predict(
            [
                {
                    "path": "/etc/passwd",
                    "orig_name": "passwd.txt",
                    "meta": {"_type": "gradio.FileData"},
                }
            ],
            api_name="/upload",
        )


# ---------------------------------------------------------------- login and network exposure


@pytest.fixture(scope="module")
def auth_server(data_dir: Path) -> str:
    """A second server on loopback with a login."""
    with serve(data_dir, env={"ASSISTANT_AUTH": "dean:correct-horse"}) as url:
        yield url


def test_login_is_required_for_every_endpoint(auth_server: str) -> None:
    with pytest.raises(Exception):  # noqa: B017 - the client cannot even read the config
        Client(auth_server, verbose=False)
    with pytest.raises(Exception):  # noqa: B017
        Client(auth_server, auth=("dean", "wrong"), verbose=False)
    body = {"data": [Q], "fn_index": 0, "session_hash": "abc", "event_data": None}
    for path in ("/config", "/gradio_api/info"):
        assert httpx.get(auth_server + path).status_code == 401, path
    for path in ("/gradio_api/queue/join", "/gradio_api/call/ask", "/gradio_api/call/feedback_up",
                 "/gradio_api/call/upload", "/gradio_api/call/export"):  # fmt: skip
        r = httpx.post(auth_server + path, json=body)
        assert r.status_code == 401, (path, r.status_code, r.text)
    r = httpx.post(auth_server + "/gradio_api/upload", files={"files": ("a.txt", b"hello")})
    assert r.status_code == 401

    client = Client(auth_server, auth=("dean", "correct-horse"), verbose=False)
    assert "[1]" in client.predict(Q, api_name="/ask")
    names = set(client.view_api(return_format="dict", print_info=False)["named_endpoints"])
    assert "/upload" in names  # loopback: upload on by default


def test_network_host_without_login_refuses_to_start(tmp_path: Path) -> None:
    r = run_cli("serve", "--host", "0.0.0.0", "--port", "1", timeout=60)
    assert r.returncode == 1
    assert "error: Refusing to serve on 0.0.0.0 without a login" in r.stderr
    assert "ASSISTANT_AUTH" in r.stderr


def test_bad_auth_value_is_a_clear_error(tmp_path: Path) -> None:
    r = run_cli("serve", "--port", "1", env={"ASSISTANT_AUTH": "nobody-without-password"})
    assert r.returncode == 1
    assert "error: ASSISTANT_AUTH is neither user:password nor a readable file" in r.stderr
