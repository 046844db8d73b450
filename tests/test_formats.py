"""Every supported format, made here with the real libraries, ingested and found by retrieve.

The files are created by tests/make_docs.py (reportlab, python-docx, hand-written HTML/MD and
GB18030 text), ingested into a private real index, and searched with sources=[doc_id].
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant.ingestion import Block, load_file, recognise_sections

from .make_docs import make_good_folder


@pytest.fixture(scope="module")
def own_docs(tmp_path_factory):
    from assistant import Settings
    from assistant.pipeline import Assistant

    base = tmp_path_factory.mktemp("formats")
    files = make_good_folder(base / "docs")
    a = Assistant(Settings(data_dir=base / "data", auto_ingest=False))
    report = a.ingest([base / "docs"])
    assert report.status == "ok", report.as_dict()
    assert sorted(report.added) == sorted(files)
    return a, files


CASES = [
    # doc_id, question, expected section_key, expected section label start, phrase, title
    (
        "workshop-rules",
        "Who runs the quarterly safety drill for the laser cutter?",
        "2",
        "2. Safety of the laser cutter",
        "must complete the quarterly safety drill run by the equipment officer, and the officer "
        "records attendance in the workshop ledger",
        "Campus Workshop Rules",
    ),
    (
        "training-base",
        "学生使用数控机床前需要通过什么考核？",
        "第五条",
        "第二章 设备管理 › 第五条",
        "学生使用数控机床前必须通过安全考核，考核合格后方可在教师指导下独立操作",
        "实训基地管理办法",
    ),
    (
        "teacher-practice",
        "专业教师到企业实践的时间要求是多少？",
        "第三条",
        "第二章 实践要求 › 第三条",
        "专业教师每五年累计到企业实践的时间不少于六个月",
        "教师企业实践管理规定",
    ),
    (
        "teacher-practice",
        "What happens to teachers who skip the enterprise placement?",
        "Evaluation",
        "Evaluation",
        "lose eligibility for promotion",
        "教师企业实践管理规定",
    ),
    (
        "library-hours",
        "How late is the reading room open during examination weeks?",
        "Evening opening",
        "Evening opening",
        "the reading room stays open until 23:00 and a duty librarian",
        "Library Opening Hours",
    ),
    (
        "scholarships",
        "How much is the first-class scholarship?",
        "2",
        "2. Amounts",
        "first-class scholarship is 8000 yuan per year",
        "Scholarship Guidelines",
    ),
    (
        "internship",
        "实习单位要为学生购买什么保险？",
        "一(一)",
        "一、实习单位的选择 › （一）",
        "实习单位应当具备安全生产条件，并为实习学生购买实习责任保险",
        "internship",
    ),
    (
        "internship",
        "顶岗实习安排在第几学年？",
        "第二条",
        "第二章 实习安排 › 第二条",
        "顶岗实习原则上安排在第三学年进行",
        "internship",
    ),
]


@pytest.mark.parametrize(("doc_id", "question", "key", "label", "phrase", "title"), CASES)
def test_own_document_found_with_section_and_title(
    own_docs, doc_id, question, key, label, phrase, title
):
    a, _files = own_docs
    passages = a.retrieve(question, k=3, sources=[doc_id])
    assert passages and {p.doc_id for p in passages} == {doc_id}
    top = passages[0]
    assert top.metadata["section_key"] == key, [
        (p.metadata["section_key"], p.text[:40]) for p in passages
    ]
    assert top.section.startswith(label)
    assert phrase in top.text
    assert top.title == title
    assert top.kind == "own"


def test_metadata_comes_through(own_docs):
    a, _files = own_docs
    records = {r.doc_id: r for r in a.documents()}
    # an own document's issuer is what its file claims, kept apart from a policy's issuer
    assert records["scholarships"].metadata["claimed_issuer"] == "Student Affairs Office"
    assert "issuer" not in records["scholarships"].metadata
    assert str(records["scholarships"].metadata["date"]).startswith("2024-09-01")
    assert records["teacher-practice"].metadata["author"] == "人事处"
    assert {r.metadata["format"] for r in records.values()} == {"pdf", "docx", "html", "md", "txt"}


def test_pdf_layout_lines_joined_into_paragraphs(tmp_path):
    from .make_docs import make_pdf_en, make_pdf_zh

    en = load_file(make_pdf_en(tmp_path / "en.pdf"))
    body = en.text[en.sections[-1].body_start : en.sections[-1].body_end].strip()
    # reportlab wrapped this paragraph over several lines; it is one paragraph again
    assert "\n" not in body and body.startswith("Every apprentice") and body.endswith("cutter.")
    zh = load_file(make_pdf_zh(tmp_path / "zh.pdf"))
    art5 = next(s for s in zh.sections if s.key == "第五条")
    body = zh.text[art5.body_start : art5.body_end].strip()
    assert "\n" not in body and " " not in body  # Chinese lines joined without spaces
    assert body.endswith("并在设备台账上签字确认。")


def test_html_drops_script_and_keeps_title(own_docs):
    _a, files = own_docs
    doc = load_file(files["library-hours"])
    assert "do not index me" not in doc.text
    assert doc.title == "Library Opening Hours"


def test_cli_overrides_win(tmp_path):
    from .make_docs import make_markdown

    doc = load_file(
        make_markdown(tmp_path / "s.md"),
        overrides={"title": "Mine", "kind": "policy", "doc_id": "X 1"},
    )
    assert (doc.title, doc.kind, doc.doc_id) == ("Mine", "policy", "x-1")


def test_gbk_and_utf8_bom_decode(tmp_path):
    text = "第一章 总则\n第一条 学院设立教学督导室，负责日常教学检查。\n"
    (tmp_path / "gbk.txt").write_bytes(text.encode("gbk"))
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    for name in ("gbk.txt", "bom.txt"):
        doc = load_file(tmp_path / name)
        assert "教学督导室" in doc.text
        assert [s.key for s in doc.sections] == ["第一章", "第一条"]


def _keys(lines: list[str]) -> list[str]:
    _text, sections = recognise_sections([Block(ln) for ln in lines])
    return [s.key for s in sections if s.key]


@pytest.mark.parametrize(
    ("lines", "keys"),
    [
        (
            ["第一章 总则", "第三条 学院应当：", "（一）建立制度；", "（二）落实经费。"],
            ["第一章", "第三条", "第三条(一)", "第三条(二)"],
        ),
        (
            ["一、总体要求", "（一）指导思想", "正文。", "（二）基本原则", "二、主要任务"],
            ["一", "一(一)", "一(二)", "二"],
        ),
        (
            ["3. The problem", "(1) Teachers lack time.", "(2) Funding is short."],
            ["3", "3(1)", "3(2)"],
        ),
        (["4. Countermeasures", "4.3 Attach importance to teachers", "Body."], ["4", "4.3"]),
        (["1.2 billion yuan was spent.", "2.5% of GDP."], []),
        (["第十二条　学生实习期间的安全由学院负责。"], ["第十二条"]),
        (["Chapter 2 Admission", "Article 5 Students apply online."], ["Chapter 2", "Article 5"]),
    ],
)
def test_numbering_recognised(lines, keys):
    assert _keys(lines) == keys


def test_sections_are_verbatim_offsets(own_docs):
    _a, files = own_docs
    for path in files.values():
        doc = load_file(path)
        for s in doc.sections:
            assert 0 <= s.body_start <= s.body_end <= len(doc.text)
        assert not re.search(r"\n{3,}", doc.text)


def test_sandbox_child_is_light_and_reused(tmp_path):
    """The parser child never maps torch/onnxruntime/chromadb, and serves many files."""
    from assistant.safeload import SafeLoader

    files = make_good_folder(tmp_path / "docs")
    with SafeLoader(timeout=30, memory_mb=1024) as loader:
        docs = [loader.load(p) for p in files.values()]
        pid = loader._proc.pid
        maps = Path(f"/proc/{pid}/maps").read_text()
        assert loader.last is not None and not loader.last.fresh_worker
    assert sorted(d.doc_id for d in docs) == sorted(files)
    for lib in ("torch", "onnxruntime", "chromadb"):
        assert lib not in maps
