"""The gap check on test-made college plans (tests/golden/gaps/), planted cases per status.

The plans (an English plan with numbered Articles, a Chinese one with 第X条, a faculty's rules
that contradict both) are ingested once by the CLI into a private data dir (conftest).
"""

from __future__ import annotations

import io
import json
from datetime import date

import pytest

from assistant.gap_report import render_docx, render_json, render_markdown, report_wording
from assistant.gaps import Status, judge_sentence, run_gap_check
from assistant.requirements import load_requirements

from .conftest import GAP_ENV, GAP_PLANS, REPO, run_cli

pytestmark = pytest.mark.slow
REQS = {r.id: r for r in load_requirements([REPO / "corpus" / "policies"])}
EN, ZH, FACULTY = "riverside-teacher-plan", "zh-teacher-rules", "engineering-faculty-rules"
TODAY = date(2026, 12, 3)


@pytest.fixture(scope="module")
def engine(gap_data_dir):
    from assistant import Settings
    from assistant.pipeline import Assistant

    return Assistant(Settings(data_dir=gap_data_dir, auto_ingest=False, document_encoder="onnx"))


def _lines(report):
    return {ln.requirement.id: ln for ln in report.lines}


@pytest.mark.parametrize(
    ("req_id", "sentence", "status"),
    [
        ("enterprise-practice-6-months", "专业课教师每五年到企业实践不少于半年。", Status.MEETS),
        (
            "enterprise-practice-6-months",
            "Teachers spend at least 3 months in companies every 5 years.",
            Status.FALLS_SHORT,
        ),
        (
            "enterprise-practice-6-months",
            "Teachers are encouraged to spend 6 months in enterprises every 5 years.",
            Status.UNCLEAR,
        ),
        (
            "enterprise-practice-6-months",
            "Teachers are not required to do enterprise practice.",
            Status.FALLS_SHORT,
        ),
        (
            "enterprise-practice-6-months",
            "新入职教师须先到企业实践三个月。",
            None,
        ),  # about new teachers
        ("dual-qualified-over-half-2022", "双师型教师占专业课教师的一半。", Status.FALLS_SHORT),
        (
            "dual-qualified-over-half-2022",
            "Dual-qualified teachers are more than half of our staff.",
            Status.MEETS,
        ),
        ("dual-qualified-over-half-2022", "We value dual-qualified teachers.", Status.UNCLEAR),
        ("labour-education-compulsory", "学院开设劳动教育必修课。", Status.MEETS),
        ("labour-education-compulsory", "Students learn welding.", None),
    ],
)
def test_judge_sentence(req_id, sentence, status):
    judged = judge_sentence(REQS[req_id], sentence)
    assert (judged[0] if judged else None) is status, judged


def test_english_plan_planted_cases(engine):
    lines = _lines(run_gap_check(engine, [EN], TODAY))
    six = lines["enterprise-practice-6-months"]
    assert six.status is Status.FALLS_SHORT  # 3 months per 5 years vs 6
    assert (
        six.evidence[0].section == "Article 3" and six.evidence[0].found == "≥ 3 months per 5 years"
    )
    assert six.required == "≥ 6 months per 5 years"
    assert lines["dual-qualified-over-half-2022"].status is Status.MEETS  # "more than half"
    assert lines["general-course-teachers-visit-enterprises"].status is Status.UNCLEAR  # encouraged
    assert lines["schools-safeguard-practice-right"].status is Status.NOT_MENTIONED
    for line in lines.values():  # every meets line cites a college sentence that meets it
        if line.status is Status.MEETS:
            assert any(e.status is Status.MEETS and e.doc_id == EN for e in line.evidence)


def test_chinese_plan_numbers_phrased_differently(engine):
    lines = _lines(run_gap_check(engine, [ZH], TODAY))
    six = lines["enterprise-practice-6-months"]  # 不少于半年 (half a year) per 五年
    assert six.status is Status.MEETS and six.evidence[0].section.endswith("第二条")
    dual = lines["dual-qualified-over-half-2022"]  # 40% vs more than half
    assert dual.status is Status.FALLS_SHORT and dual.evidence[0].found == "40%"
    funding = lines["per-student-funding-12000-by-2017"]  # 1.2万元 vs 12,000 yuan
    assert funding.status is Status.MEETS and funding.evidence[0].found == "≥ 12,000 yuan"
    assert lines["ie-credits-conversion"].status is Status.UNCLEAR  # 鼓励


def test_contradicted_requirement_reports_both(engine):
    lines = _lines(run_gap_check(engine, None, TODAY))  # default: all own documents
    six = lines["enterprise-practice-6-months"]
    assert six.status is Status.FALLS_SHORT and six.conflict
    docs = {(e.doc_id, e.status) for e in six.evidence}
    assert (
        (EN, Status.FALLS_SHORT) in docs
        and (ZH, Status.MEETS) in docs
        and (FACULTY, Status.MEETS) in docs
    )


def test_as_of_evaluates_what_applied_then(engine):
    report = run_gap_check(engine, [ZH], date(2018, 6, 30))
    judged = {ln.requirement.id for ln in report.lines}
    assert "dual-qualified-over-half-2022" not in judged  # issued in 2019
    assert any(
        nj.requirement.id == "dual-qualified-over-half-2022" and nj.reason == "not_yet"
        for nj in report.not_judged
    )
    six = _lines(report)["enterprise-practice-6-months"]
    assert six.time_status.value == "unknown"
    later = _lines(run_gap_check(engine, [ZH], TODAY))
    assert later["dual-qualified-over-half-2022"].time_status.value == "target date passed"


def test_memo_and_docx_list_the_same_lines(engine):
    from docx import Document

    report = run_gap_check(engine, None, TODAY)
    for lang in ("en", "zh"):
        words = report_wording(REPO / "prompts", lang)
        memo = render_markdown(report, lang, words)
        doc = Document(io.BytesIO(render_docx(report, lang, words)))
        docx_lines = [p.text for p in doc.paragraphs if p.style.name == "Heading 2"]
        memo_lines = [ln[4:] for ln in memo.splitlines() if ln.startswith("### ")]
        assert docx_lines == memo_lines and len(memo_lines) == len(report.lines)
        first_short = memo_lines[0]
        assert first_short.split(": ")[0].endswith(words["status.falls_short"])  # falls short first
        rows = render_json(report, lang, words)["lines"]
        assert [r["id"] for r in rows] == [ln.requirement.id for ln in report.lines]
        # both citations on a line, and what it cannot judge
        assert words["cannot_judge"] in memo and words["conflict"] in memo
        table = doc.tables[0]
        assert table.cell(0, 1).text == words["status.falls_short"]


def test_gaps_cli_formats_and_errors(gap_data_dir, tmp_path):
    env = {**GAP_ENV, "ASSISTANT_DATA_DIR": str(gap_data_dir)}
    out = run_cli("gaps", "--as-of", "2026-12-03", env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("# Gap report") and "Article 3" in out.stdout
    data = json.loads(run_cli("gaps", "--as-of", "2026-12-03", "--format", "json",
                              "--source", ZH, "--lang", "zh", env=env).stdout)  # fmt: skip
    assert {d["doc_id"] for d in data["documents"]} == {ZH}
    assert data["lines"][0]["status"] == "falls_short"
    target = tmp_path / "report.docx"
    made = run_cli("gaps", "--format", "docx", "--out", str(target), env=env)
    assert made.returncode == 0 and target.stat().st_size > 5000, made.stderr
    for args, fragment in [
        (["--format", "docx"], "--out PATH.docx"),
        (["--as-of", "yesterday"], "YYYY-MM-DD"),
        (["--source", "nope"], "Unknown document"),
        (["--format", "pdf"], "Unknown format"),
    ]:
        bad = run_cli("gaps", *args, env=env)
        assert bad.returncode == 1 and bad.stderr.startswith("error: ") and fragment in bad.stderr
        assert "Traceback" not in bad.stderr


def test_gaps_without_own_documents_says_what_to_do(tmp_path):
    env = {**GAP_ENV, "ASSISTANT_DATA_DIR": str(tmp_path / "empty")}
    out = run_cli("gaps", env=env)
    assert out.returncode == 1 and "assistant ingest PATH --kind own" in out.stderr


def test_eval_gaps_meets_the_acceptance_figures():
    out = run_cli("eval", "--gaps", str(GAP_PLANS), "--json", env=GAP_ENV)
    assert out.returncode == 0, out.stderr
    total = next(r for r in json.loads(out.stdout) if r["set"].endswith("/all"))
    assert total["n"] >= 50
    assert total["status_accuracy"] >= 0.9
    assert total["meets_without_right_citation"] == 0


def test_a_college_adds_its_own_requirements(engine, tmp_path):
    """A provincial document with its own requirement records is checked the same way."""
    (tmp_path / "province-teacher-rules.md").write_text(
        '---\ndoc_id: province-teacher-rules\ntitle: Provincial teacher rules\ndate: "2023-03-01"\n'
        "status: in force\nkind: policy\n---\n"
        "## Enterprise practice every year {.provision}\n\n"
        "Professional-course teachers spend at least 1 month a year in enterprises.\n",
        encoding="utf-8",
    )
    (tmp_path / "province-teacher-rules.requirements.yaml").write_text(
        "requirements:\n  - id: province-practice-1-month-a-year\n    kind: provision\n"
        "    theme: T3\n    section: Enterprise practice every year\n"
        "    statement: {en: Professional-course teachers spend at least 1 month a year in enterprises., zh: 专业课教师每年到企业实践不少于1个月。}\n"
        "    check: college\n"
        "    measure: {quantity: 1, unit: months, comparator: '>=', per: {quantity: 1, unit: years}}\n"
        "    terms:\n      all: [[enterprise, company, 企业], [practice, spend, 实践]]\n"
        "      none: [新入职, newly hired, 公共基础课]\n",
        encoding="utf-8",
    )
    report = run_gap_check(
        engine,
        [ZH],
        TODAY,
        requirement_files=[tmp_path / "province-teacher-rules.requirements.yaml"],
    )
    line = _lines(report)["province-practice-1-month-a-year"]
    # 半年 per 五年 is 1.2 months a year on average, but not 1 month in every year: it is read
    # as the same rate (the documents state totals, not a yearly schedule)
    assert line.status is Status.MEETS and line.time_status.value == "in force"
    assert line.evidence[0].section.endswith("第二条")
