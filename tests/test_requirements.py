"""Requirement records: written from the briefs, numbers checked against their sections."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from assistant.errors import CorpusError, InvalidInputError
from assistant.quantities import normalise
from assistant.requirements import (
    TimeStatus,
    brief_front_matter,
    brief_sections,
    load_requirements,
    select,
    unrecorded_sections,
)

from .conftest import REPO, run_cli

POLICIES = REPO / "corpus" / "policies"
RECORDS = load_requirements([POLICIES])


def _numbers(text: str) -> set[str]:
    """The numbers of a text, Chinese numerals as digits, thousands separators dropped."""
    return {n.replace(",", "") for n in re.findall(r"\d+(?:,\d{3})*(?:\.\d+)?", normalise(text))}


def _section(brief: Path, heading: str) -> str:
    _, body = brief_front_matter(brief)
    return next(f"{h}\n{t}" for h, _, t in brief_sections(body) if h == heading)


def test_every_brief_with_binding_sections_is_covered_or_listed():
    assert len(RECORDS) >= 25
    assert sum(r.checkable for r in RECORDS) >= 12
    ids = [r.id for r in RECORDS]
    assert len(ids) == len(set(ids))
    # what has no record is not hidden: the report lists it as not judged
    unrecorded = unrecorded_sections(POLICIES, RECORDS)
    assert (
        "policy-2022-vocational-education-law",
        "Vocational Education Activity Week: second week of May (Art. 12)",
    ) in unrecorded
    assert all(r.section != h for r in RECORDS for d, h in unrecorded if d == r.doc_id)


@pytest.mark.parametrize("req", RECORDS, ids=lambda r: r.id)
def test_record_numbers_appear_in_the_source_section(req):
    brief = POLICIES / f"{req.doc_id}.md"
    # the section, and the brief's title for a plan's period ("Action Plan (2020–2023)")
    english = _numbers(_section(brief, req.section)) | _numbers(req.title)
    stated = _numbers(req.statement_en)
    if req.measure is not None:
        stated |= _numbers(req.measure_text)
    if req.deadline is not None:
        stated.add(str(req.deadline.year))
    assert stated <= english, (req.id, stated - english)
    # the Chinese statement states the same numbers, found in the Chinese brief's section
    zh_brief = POLICIES / "zh" / f"{req.doc_id}.zh.md"
    chinese = _numbers(_section(zh_brief, req.section_zh))
    assert _numbers(req.statement_zh) <= chinese, (req.id, _numbers(req.statement_zh) - chinese)


def test_checked_records_have_terms_and_the_briefs_status():
    for r in RECORDS:
        if r.checkable:
            assert r.terms_all, r.id
        assert r.brief_status in {"in force", "unknown", "superseded"}


def test_status_on_a_date():
    by_id = {r.id: r for r in RECORDS}
    dual = by_id["dual-qualified-over-half-2022"]
    assert dual.time_status(date(2018, 6, 30)) is TimeStatus.NOT_YET
    assert dual.time_status(date(2021, 6, 30)) is TimeStatus.UNKNOWN
    assert dual.time_status(date(2023, 1, 1)) is TimeStatus.TARGET_PASSED
    law = by_id["law-art39-employment-mechanisms"]
    assert law.time_status(date(2022, 4, 30)) is TimeStatus.NOT_YET
    assert law.time_status(date(2022, 5, 1)) is TimeStatus.IN_FORCE


def test_theme_filter():
    teachers = select(RECORDS, "T3")
    assert teachers and all(r.theme == "T3" for r in teachers)
    assert select(RECORDS, "dual-qualified") == teachers
    with pytest.raises(InvalidInputError, match="Unknown theme"):
        select(RECORDS, "astronomy")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("    colour: blue\n", "unknown field"),
        ("    measure: {quantity: 6, unit: weeks, comparator: '>='}\n", "bad measure|Unknown unit"),
        ("    deadline: soon\n", "Not a date"),
    ],
)
def test_bad_records_fail_with_a_clear_message(tmp_path, extra, message):
    brief = POLICIES / "policy-2016-teacher-enterprise-practice-provisions.md"
    (tmp_path / brief.name).write_text(brief.read_text(encoding="utf-8"), encoding="utf-8")
    record = (
        "requirements:\n  - id: x\n    kind: provision\n    theme: T3\n"
        "    section: New teachers and general-course teachers\n"
        "    statement: {en: a, zh: b}\n    check: national\n" + extra
    )
    path = tmp_path / "policy-2016-teacher-enterprise-practice-provisions.requirements.yaml"
    path.write_text(record, encoding="utf-8")
    with pytest.raises(CorpusError, match=message):
        load_requirements([path])


def test_requirements_cli_lists_and_filters():
    import json

    out = run_cli("requirements", "--theme", "T3", "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert rows and {r["theme"] for r in rows} == {"T3"}
    six = next(r for r in rows if r["id"] == "enterprise-practice-6-months")
    assert six["measure"] == ">= 6 months per 5 years"
    assert six["statement"]["zh"].startswith("中等和高等职业学校的专业课教师")
    bad = run_cli("requirements", "--theme", "astronomy")
    assert bad.returncode == 1 and bad.stderr.startswith("error: Unknown theme")
