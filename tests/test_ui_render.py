"""ui.render, ui.access and ui.uploads as pure functions (no Gradio, no server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant import Answer, ConfigError, Passage, Settings
from ui import access, render
from ui.uploads import check_upload

EVIL = (
    '<script>window.__pwned=1</script> <img src=x onerror="window.__pwned=2"> '
    "[click](http://evil.example/) ![x](http://evil.example/x.png)"
)


def _passage(text: str = "Teachers should spend 6 months in enterprises.", **meta) -> Passage:
    return Passage(
        text=text,
        doc_id="policy-x",
        title="Provisions <b>on</b> practice",
        section="2. Core rule",
        score=0.8312,
        citation="Provisions on practice, §2. Core rule",
        metadata={"kind": "policy", "issuer": "MOE", "date": "2016", **meta},
    )


def test_stream_chunks_grow_to_the_full_text_and_cut_at_spaces() -> None:
    text = " ".join(f"word{i} \\[{i}\\]" for i in range(200))
    parts = list(render.stream_chunks(text))
    assert parts[-1] == text
    assert len(parts) >= 10
    assert all(a == text[: len(a)] for a in parts)
    assert [len(p) for p in parts] == sorted(len(p) for p in parts)
    assert all(p == text or text[len(p)] in " \n" for p in parts)
    assert list(render.stream_chunks("short")) == ["short"]


def test_source_detail_escapes_document_text() -> None:
    detail = render.source_detail(1, _passage(EVIL), before=EVIL, after="<b>after</b>")
    assert "<script" not in detail and "<img" not in detail and "<b>" not in detail
    assert "](http" not in detail and "![" not in detail
    assert "&lt;script&gt;" in detail
    assert "\\!\\[x\\]\\(http:\\/\\/evil.example/x.png\\)" in detail
    assert detail.count("<mark>") == 1 and detail.count("</mark>") == 1
    assert "Provenance: Policy requirement" in detail and "Score: 0.831" in detail


def test_source_label_is_plain_text_with_provenance_and_score() -> None:
    label = render.source_label(2, _passage(kind="paper"), "en")
    assert (
        label == "[2] Provisions <b>on</b> practice · §2. Core rule · Research recommendation"
        " · score 0.831"
    )
    assert render.provenance("own", "zh") == "本校文件"


def test_memo_and_feedback_records() -> None:
    answer = Answer(text="1. **Do it** — “quote” [1]\n", citations=[_passage()], grounded=True)
    turn = render.turn_record("How long <in> companies?", answer)
    memo = render.memo_markdown([turn, turn])
    assert memo.startswith("# Policy guidance memo")
    assert "## 1. How long &lt;in&gt; companies?" in memo and "## 2." in memo
    assert memo.count("## References") == 1
    assert "policy-x" in memo and "§2. Core rule" in memo
    entry = render.feedback_entry(turn, "down", "  wrong year ")
    assert entry["comment"] == "wrong year" and entry["rating"] == "down"
    assert entry["sources"] == [{"doc_id": "policy-x", "section": "2. Core rule"}]
    assert entry["question"] == "How long <in> companies?"


def test_timeline_points_only_dated_policies() -> None:
    class Rec:
        def __init__(self, doc_id: str, chunks: int = 3, **meta: str) -> None:
            self.doc_id, self.chunks, self.metadata = doc_id, chunks, meta

    records = [
        Rec("b", kind="policy", date="2019-02-13", level="State Council", title="B"),
        Rec("a", kind="policy", date="2006", level="joint ministries", title="A"),
        Rec("p", kind="paper", date="2021", title="Paper"),
        Rec("u", kind="policy", date="", title="Undated"),
    ]
    assert render.timeline_points(records) == [
        {"year": 2006, "level": "joint ministries", "title": "A"},
        {"year": 2019, "level": "State Council", "title": "B"},
    ]
    rows = render.document_rows(records)
    assert rows[0] == ["b", "B", "", "policy", "", "2019-02-13", "State Council", 3]


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("/abs/path/plan.md", "plan.md"),
        ("..\\..\\windows\\evil.docx", "evil.docx"),
        ("..", "upload"),
        (".hidden.md", "hidden.md"),
        ("学校 方案<2024>.pdf", "学校 方案_2024_.pdf"),
        ("a" * 300 + ".txt", "a" * 116 + ".txt"),
    ],
)
def test_sanitize_filename_keeps_a_plain_base_name(raw: str, safe: str) -> None:
    assert render.sanitize_filename(raw) == safe
    assert "/" not in safe and "\\" not in safe and not safe.startswith(".")


def test_check_upload_type_size_and_content() -> None:
    assert check_upload(b"hello", "a.txt", 100) == ""
    assert "not accepted" in check_upload(b"MZ", "a.exe", 100)
    assert "too large" in check_upload(b"x" * 101, "a.txt", 100)
    assert "not a PDF" in check_upload(b"plain text", "a.pdf", 100)
    assert "empty" in check_upload(b"", "a.md", 100)


def test_upload_text_is_escaped_in_results() -> None:
    table = render.upload_results_markdown(
        [{"file": "a|b.md", "status": "refused", "detail": "<x>"}]
    )
    assert "a\\|b.md" in table and "&lt;x&gt;" in table


@pytest.mark.parametrize(
    ("host", "auth", "flag", "upload"),
    [
        ("127.0.0.1", None, None, True),
        ("localhost", None, None, True),
        ("::1", None, None, True),
        ("0.0.0.0", "dean:pw", None, False),
        ("10.1.2.3", "dean:pw", True, True),
    ],
)
def test_access_rules(host: str, auth: str | None, flag: bool | None, upload: bool) -> None:
    opts = access.resolve(Settings(auth=auth), host=host, port=7860, allow_upload=flag)
    assert opts.allow_upload is upload
    assert "pw" not in repr(opts)


def test_network_host_needs_login_and_auth_files_parse(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"Refusing to serve on 0\.0\.0\.0 without a login"):
        access.resolve(Settings(), host="0.0.0.0")
    users = tmp_path / "users.txt"
    users.write_text("# staff\ndean:pw1\n\nhr:pw:with:colons\n", encoding="utf-8")
    assert access.parse_auth(str(users)) == [("dean", "pw1"), ("hr", "pw:with:colons")]
    users.write_text("dean\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="line 1"):
        access.parse_auth(str(users))
    with pytest.raises(ConfigError, match="non-empty"):
        access.parse_auth("dean:")


def test_inert_breaks_autolinks_without_changing_the_visible_text() -> None:
    md = render.inert("see http://evil.example/a, WWW.evil.example and x@evil.example")
    assert "http://" not in md and "www." not in md.lower() and "x@" not in md
    assert md == "see http:\\/\\/evil.example/a, WWW\\.evil.example and x\\@evil.example"
    detail = render.source_detail(1, _passage("mail boss@evil.example or http://evil.example"))
    assert "http://" not in detail and "boss@" not in detail


def test_answer_footer_names_the_mode_and_shows_the_notice():
    from assistant.types import Answer
    from ui.render import answer_footer

    plain = answer_footer(Answer(text="x", citations=[], grounded=True))
    assert "extractive" in plain and "Note" not in plain
    llm = answer_footer(
        Answer(
            text="x",
            citations=[],
            grounded=False,
            mode="llm:openai:m",
            notice="The model timed out; the extractive answer is shown <b>instead</b>.",
        )
    )
    assert "llm:openai:m" in llm and "timed out" in llm
    assert "<b>" not in llm
