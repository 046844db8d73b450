"""Quantities in English and Chinese, and how they compare with a requirement's measure."""

from __future__ import annotations

import pytest

from assistant.quantities import Dimension, Measure, Verdict, compare, describe, parse_quantities

SIX_PER_FIVE = Measure(Dimension.DURATION, 6, ">=", 60)
MORE_THAN_HALF = Measure(Dimension.SHARE, 50, ">")
THREE_YEARS = Measure(Dimension.DURATION, 36, ">=")
YUAN_12000 = Measure(Dimension.MONEY, 12000, ">=")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("每五年累计不少于六个月", ["≥ 6 months per 5 years"]),
        ("at least 6 months in every 5 years", ["≥ 6 months per 5 years"]),
        ("half a year in companies in every five-year period", ["6 months per 5 years"]),
        ("每5年到企业实践半年", ["6 months per 5 years"]),
        ("超过一半", ["> 50%"]),
        ("more than half of the teachers", ["> 50%"]),
        ("一半", ["50%"]),
        ("half of the teachers", ["50%"]),
        ("百分之四十", ["40%"]),
        ("40 percent", ["40%"]),
        ("半数以上", ["≥ 50%"]),
        ("三年以上企业工作经历", ["≥ 36 months"]),
        ("at least two years of enterprise experience", ["≥ 24 months"]),
        ("不低于1.2万元", ["≥ 12,000 yuan"]),
        ("一万二千元", ["12,000 yuan"]),
        ("no less than RMB 12,000 per student", ["≥ 12,000 yuan"]),
        ("每年不少于1个月", ["≥ 1 months per year"]),
        ("no more than 3 months", ["≤ 3 months"]),
        ("about 10% of enrolment", ["about 10%"]),
    ],
)
def test_parse_quantities(text, expected):
    assert [describe(q) for q in parse_quantities(text)] == expected


@pytest.mark.parametrize(
    "text",
    [
        "2016年5月起施行",
        "by 2025",
        "第十二条 本办法自发布之日起施行。",
        "This plan takes effect on 1 September 2024.",
    ],
)
def test_dates_and_clause_numbers_are_not_quantities(text):
    assert parse_quantities(text) == []


def test_a_period_belongs_to_its_own_clause():
    # the new teachers' 3 months is not counted per five years (a Chinese comma ends a clause)
    qs = parse_quantities("专业课教师每五年累计实践不少于六个月，新入职教师须先实践三个月。")
    assert [describe(q) for q in qs] == ["≥ 6 months per 5 years", "3 months"]
    # an English comma does not: the period stays with the amount
    qs = parse_quantities("Every five years, each teacher spends at least six months in companies.")
    assert [describe(q) for q in qs] == ["≥ 6 months per 5 years"]


@pytest.mark.parametrize(
    ("measure", "text", "verdict"),
    [
        (SIX_PER_FIVE, "每五年累计不少于半年", Verdict.MEETS),  # 6 months vs 半年
        (SIX_PER_FIVE, "at least 3 months every 5 years", Verdict.FALLS_SHORT),
        (SIX_PER_FIVE, "6 months every 3 years", Verdict.MEETS),  # more often is more
        (SIX_PER_FIVE, "每年不少于1个月", Verdict.FALLS_SHORT),  # 5 per 5 years < 6
        (SIX_PER_FIVE, "6 months", Verdict.UNCLEAR),  # no period
        (SIX_PER_FIVE, "about 6 months every 5 years", Verdict.UNCLEAR),
        (MORE_THAN_HALF, "more than half", Verdict.MEETS),
        (MORE_THAN_HALF, "超过一半", Verdict.MEETS),
        (MORE_THAN_HALF, "60%", Verdict.MEETS),
        (MORE_THAN_HALF, "50%", Verdict.FALLS_SHORT),  # half is not more than half
        (MORE_THAN_HALF, "一半", Verdict.FALLS_SHORT),
        (MORE_THAN_HALF, "40%", Verdict.FALLS_SHORT),
        (MORE_THAN_HALF, "at least half", Verdict.FALLS_SHORT),  # does not guarantee more
        (THREE_YEARS, "三年以上", Verdict.MEETS),
        (THREE_YEARS, "两年以上", Verdict.FALLS_SHORT),
        (YUAN_12000, "1.2万元", Verdict.MEETS),
        (YUAN_12000, "10,000 yuan", Verdict.FALLS_SHORT),
        (YUAN_12000, "50%", Verdict.UNCLEAR),  # another kind of number
    ],
)
def test_compare(measure, text, verdict):
    (q,) = parse_quantities(text)
    assert compare(measure, q)[0] is verdict


def test_unknown_unit_is_a_clear_error():
    from assistant.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="Unknown unit 'weeks'"):
        Dimension.from_unit("weeks")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "no fewer than 180 days of practice over each five-year cycle",
            ["≥ 6 months per 5 years"],
        ),
        ("每五年累计赴企业一线锻炼一年以上", ["≥ 12 months per 5 years"]),
        ("2024年9月1日起施行", []),  # a day of the month is not a duration
    ],
)
def test_days_and_years_as_durations(text, expected):
    assert [describe(q) for q in parse_quantities(text)] == expected
