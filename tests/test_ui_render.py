"""ui.render, ui.access and ui.uploads as pure functions (no Gradio, no server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant import Answer, ConfigError, Passage, Settings
from tests.conftest import REPO
from ui import access, documents, render, uploads
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
    assert documents.timeline_points(records) == [
        {"year": 2006, "level": "joint ministries", "title": "A"},
        {"year": 2019, "level": "State Council", "title": "B"},
    ]
    rows = documents.document_rows(records)
    assert rows[0] == ["b", "B", "", "policy", "", "2019-02-13", "State Council", 3, "", ""]


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
    assert uploads.sanitize_filename(raw) == safe
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
        ("0.0.0.0", "dean:pw-long-enough", None, False),
        ("10.1.2.3", "dean:pw-long-enough", True, True),
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
    users.write_text("# staff\ndean:password1\n\nhr:pw:with:colons\n", encoding="utf-8")
    assert access.parse_auth(str(users)) == [("dean", "password1"), ("hr", "pw:with:colons")]
    users.write_text("dean\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="line 1"):
        access.parse_auth(str(users))
    with pytest.raises(ConfigError, match="non-empty"):
        access.parse_auth("dean:")
    with pytest.raises(ConfigError, match="use at least 8"):
        access.parse_auth("dean:x")


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


# ---------------------------------------------------------------- wording in two languages


def _keys_used_in_ui() -> set[str]:
    """Literal wording keys in ui/*.py: "prefix.name" strings whose prefix the catalog uses."""
    import re

    from ui import i18n

    prefixes = {key.split(".")[0] for key in i18n.catalog("en")}
    file_name = re.compile(r"\.(jsonl|json|md|txt|yaml|py|html?|pdf|docx|png)$")  # not keys
    found = set()
    for path in (REPO / "ui").glob("*.py"):
        for key in re.findall(r"""["']([a-z]+\.[a-z0-9_]+)["']""", path.read_text("utf-8")):
            if key.split(".")[0] in prefixes and not file_name.search(key):
                found.add(key)
    return found


def test_both_wording_files_have_the_same_keys_and_placeholders() -> None:
    from ui import i18n

    en, zh = i18n.catalog("en"), i18n.catalog("zh")
    assert set(en) == set(zh), sorted(set(en) ^ set(zh))
    for key in en:
        assert i18n.placeholders(en[key]) == i18n.placeholders(zh[key]), key
    assert en["app.locale"] == "en" and zh["app.locale"] == "zh"


def test_every_wording_key_used_in_ui_exists() -> None:
    from ui import i18n, layout

    used = _keys_used_in_ui()
    assert len(used) > 60, "the key scan found too little; did the key style change?"
    # keys built from data: kinds, document columns, upload results, example questions
    used |= {f"provenance.{k}" for k in render.KINDS} | {f"kind.{k}" for k in render.KINDS}
    used |= {f"filters.kind_{k}" for k in render.KINDS}
    used |= {f"docs.column_{c}" for c in documents.DOC_COLUMNS}
    used |= {f"upload.{s}" for s in render.UPLOAD_STATUSES} | set(layout.EXAMPLE_KEYS)
    for language in i18n.LANGUAGES:
        missing = used - set(i18n.catalog(language))
        assert not missing, f"ui.{language}.yaml lacks {sorted(missing)}"
    # and no dead wording (issuing levels are looked up from document metadata)
    unused = {k for k in i18n.catalog("en") if not k.startswith("level.")} - used
    assert not unused, f"keys no code uses: {sorted(unused)}"


def test_wording_lookup_checks_keys_and_placeholders() -> None:
    from assistant.errors import PromptError
    from ui import i18n

    assert i18n.text("zh-CN", "chat.ask") == "提问" and i18n.text("fr", "chat.ask") == "Ask"
    with pytest.raises(PromptError, match=r"No UI wording 'chat\.nope'"):
        i18n.text("en", "chat.nope")
    with pytest.raises(PromptError, match=r"uses \['n'\], but got \[\]"):
        i18n.text("en", "sources.overview_many")
    static = i18n.gradio_translations(suffixes=".md .txt", max_mb=7)
    assert "Accepted: .md .txt, up to 7 MB each" in static["en"]["upload.heading"]
    assert "每个文件不超过 7 MB" in static["zh"]["upload.heading"]
    assert static["en"]["sources.overview_many"].count("{n}") == 1  # handler-only: a template


def test_answer_text_follows_the_answers_language() -> None:
    zh = Answer(text="1. 做 [1]", citations=[_passage()], grounded=True, language="zh")
    en = Answer(text="1. Do it [1]", citations=[_passage()], grounded=True)
    assert render.sources_overview(zh).startswith("**引用了 1 个出处**")
    assert render.sources_overview(en) == (
        "**1 source** cited — open one to read the passage in context."
    )
    refused = Answer(text="x", citations=[], grounded=False, language="zh")
    assert render.sources_overview(refused).startswith("_无出处")
    detail = render.source_detail(
        1, _passage(EVIL, quote="q <b>", original_text="<i>orig</i>"), "a", "b", "zh"
    )
    for label in ("文件：policy-x", "章节：2. Core rule", "类型：政策要求", "得分：0.831",
                  "发文机关：MOE", "**回答中引用的句子**", "**原文段落**", "**英文原文**", "**上下文**"):  # fmt: skip
        assert label in detail, label
    assert "Provenance:" not in detail and "Passage" not in detail
    assert "<script" not in detail and "<b>" not in detail and "<i>" not in detail
    assert "&lt;script&gt;" in detail
    assert render.source_label(1, _passage(), "zh").endswith("· 政策要求 · 得分 0.831")
    assert "抽取式回答" in render.answer_footer(zh)


def test_memo_uploads_and_documents_in_chinese() -> None:
    class Rec:
        def __init__(self, doc_id: str, chunks: int = 3, **meta: str) -> None:
            self.doc_id, self.chunks, self.metadata = doc_id, chunks, meta

    answer = Answer(text="1. 做 [1]\n", citations=[_passage()], grounded=True, language="zh")
    memo = render.memo_markdown([render.turn_record("问？", answer)], language="zh")
    assert memo.startswith("# 政策指导备忘录") and "## 参考文献" in memo and "— 政策要求" in memo
    table = render.upload_results_markdown(
        [{"file": "<a>.md", "status": "refused", "detail": "binary"}], "zh"
    )
    assert table.splitlines()[0] == "| 文件 | 结果 | 详情 |"
    assert "| &lt;a&gt;.md | 已拒绝 | binary |" in table
    assert render.upload_results_markdown([], "zh") == "_未提供文件。_"

    records = [
        Rec("a", kind="policy", date="2019", level="State Council", title="A", title_zh="甲"),
        Rec(
            "a-zh",
            kind="policy",
            date="2019",
            level="State Council",
            title="甲",
            translation_of="a",
        ),
        Rec("o", kind="own", level="campus", title="Own"),
    ]
    assert documents.timeline_points(records, "zh") == [
        {"year": 2019, "level": "国务院", "title": "甲"}
    ]
    assert documents.timeline_points(records) == [
        {"year": 2019, "level": "State Council", "title": "A"}
    ]
    assert documents.doc_columns("zh")[:2] == ["文件编号", "标题"]
    assert documents.doc_columns() == documents.DOC_COLUMNS
    rows = documents.document_rows(records, "zh")
    assert rows[0][3:7] == ["政策", "", "2019", "国务院"] and rows[2][6] == "campus"
    assert documents.document_choices(records[:1], "zh") == [("甲（政策）", "a")]
    assert documents.document_choices(records[:1]) == [("A (policy)", "a")]


def test_links_in_titles_and_metadata_stay_text_and_uploads_say_who_added_them() -> None:
    """Issue 16: a title or metadata value with a URL was a live link in the sources panel."""
    import dataclasses

    p = dataclasses.replace(
        _passage(
            kind="own",
            issuer="",
            date="",
            added_by="dean",
            added_via="web",
            added_at="2026-12-03T07:00:00+00:00",
        ),
        title="Plan, see http://evil.example/x and www.evil.example",
    )
    detail = render.source_detail(1, p)
    assert "://" not in detail and "www." not in detail.lower()
    assert "Added: added by dean via web, 2026-12-03" in detail
    answer = Answer(text="x [1]", citations=[p], grounded=True)
    memo = render.memo_markdown([render.turn_record("q?", answer)])
    refs = memo.split("References")[1]
    assert "evil.example" in refs and "://" not in refs and "www." not in refs.lower()
