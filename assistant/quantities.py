"""Quantities in English and Chinese text, and how they compare. Pure, no I/O.

Input: a sentence ("每五年累计不少于六个月", "at least 3 months every 5 years", "过半").
Output: Quantity values with a dimension (duration in months, share in percent, money in yuan),
the bounds the wording sets ("at least", "不少于", "more than", "以下" ...) and, for durations,
the period they are counted over ("every 5 years", "每5年"). ``compare`` says whether what a
sentence commits to lies inside what a requirement asks for.

Chinese numerals are turned into digits by ``cn2an`` (a maintained converter that handles
百分之五十, 三分之一, 一万二千, 1.2万); words for halves and shares (半年, 一半, 过半, half, one
third) are rewritten first, since cn2an leaves or mangles them ("一半" -> "1半").
"""

from __future__ import annotations

import contextlib
import math
import re
import warnings
from dataclasses import dataclass
from enum import StrEnum


class Dimension(StrEnum):
    """What a number measures; values of one dimension are comparable."""

    DURATION = "duration"  # months
    SHARE = "share"  # percent
    MONEY = "money"  # yuan

    @classmethod
    def from_unit(cls, unit: str) -> Dimension:
        """The dimension of a requirement's unit name, listing the valid names on error."""
        from .errors import InvalidInputError

        unit = unit.strip().lower()
        for dim, names in _UNIT_NAMES.items():
            if unit in names:
                return dim
        valid = ", ".join(n for names in _UNIT_NAMES.values() for n in names)
        raise InvalidInputError(f"Unknown unit {unit!r}; use one of: {valid}.")


_UNIT_NAMES = {
    Dimension.DURATION: ("month", "months", "year", "years"),
    Dimension.SHARE: ("percent", "%"),
    Dimension.MONEY: ("yuan", "cny"),
}
_TO_BASE = {"month": 1.0, "months": 1.0, "year": 12.0, "years": 12.0}


def to_base(value: float, unit: str) -> float:
    """A requirement's value in the base unit of its dimension (years -> months)."""
    return value * _TO_BASE.get(unit.strip().lower(), 1.0)


@dataclass(frozen=True)
class Quantity:
    """A number found in text, as an interval of what the wording allows.

    ``low``/``high`` are in the dimension's base unit (months, percent, yuan); ``math.inf``
    when open-ended. ``period`` is the counting period in months ("every 5 years" = 60) or None.
    """

    dimension: Dimension
    low: float
    high: float
    low_closed: bool = True
    high_closed: bool = True
    period: float | None = None
    approximate: bool = False
    text: str = ""  # the words it was read from (numerals as digits)
    stated: float = 0.0  # the number as stated, in the base unit

    @property
    def value(self) -> float:
        """The stated number, in the base unit."""
        return self.stated


@dataclass(frozen=True)
class Measure:
    """The measurable part of a requirement: ``comparator value unit`` [per ``per`` months]."""

    dimension: Dimension
    value: float  # in the base unit
    comparator: str  # one of >=, >, <=, <, =
    per: float | None = None  # counting period in months


COMPARATORS = (">=", ">", "<=", "<", "=")


class Verdict(StrEnum):
    """How one sentence's number stands against a measure."""

    MEETS = "meets"
    FALLS_SHORT = "falls_short"
    UNCLEAR = "unclear"


# ------------------------------------------------------------------ normalisation

_EN_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "eighteen": 18, "twenty": 20,
    "twenty-four": 24, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
}  # fmt: skip
# phrases rewritten before numbers are read; longest first within each language
_PHRASES: list[tuple[str, str]] = [
    (r"一年半", "18个月"),
    (r"半年", "6个月"),
    (r"(?:超过|多于|高于)(?:一半|半数)|过半数?|半数以上的?多数", "超过50%"),
    (r"一半以上|半数以上", "50%以上"),
    (r"(?:一半|半数)", "50%"),
    (r"三分之一", "33.33%"),
    (
        r"(?i)\b(?:more than|over|above) (?:a |one )?half\b|\ba majority\b|\bmost of\b",
        "more than 50%",
    ),
    (r"(?i)\b(?:at least|no less than|not less than) (?:a |one )?half\b", "at least 50%"),
    (r"(?i)\b(?:one|a) half\b|\bhalf of\b", "50% of"),
    (r"(?i)\bhalf a year\b|\bsix-month\b", "6 months"),
    (r"(?i)\bone[- ]third\b|\ba third\b", "33.33%"),
]

_DAYS_PER_MONTH = 30.0  # "180 days" reads as 6 months, the way such rules are written
_NUM = r"(\d+(?:,\d{3})*(?:\.\d+)?)"
_EN_UNIT = r"(months?|years?|days?|weeks?|per ?cent|%|yuan|rmb)"
_ZH_UNIT = r"(个月|年|天|日|周|%|元)"  # a bare 月 is a month of the year ("5月")
_QUANTITY = re.compile(
    rf"(?:(?:RMB|CNY|¥|￥)\s*{_NUM}(?:\s*(万))?)"  # RMB 12,000
    rf"|(?:{_NUM}\s*(万)?\s*(?:-\s*)?(?:{_EN_UNIT}\b|{_ZH_UNIT}))",
    re.IGNORECASE,
)
_PERIOD = re.compile(
    r"(?i)(?:every|each|per|in any|in each|within (?:each|every|any)|over (?:each|every|any))"
    r"\s+(?:period of\s+)?(\d+)[- ]years?(?:\s+period)?"
    r"|(\d+)[- ]year (?:period|cycle)"
    r"|每(?:个)?(\d+)年|(\d+)年(?:内|为1个周期|1个周期|周期内)"
    r"|((?:every|each|per|a) year\b|每年|每学年)"
)
# wording around a number that bounds it
_CUES = [
    *[(c, ">=") for c in ("no less than", "not less than", "at least", "a minimum of",
                          "no fewer than", "not fewer than", "不少于", "不低于", "不短于", "至少",
                          "最少", "不小于")],
    *[(c, ">") for c in ("more than", "over", "above", "exceeding", "greater than", "超过",
                         "多于", "高于", "大于")],
    *[(c, "<=") for c in ("no more than", "not more than", "at most", "up to", "a maximum of",
                          "not exceeding", "不超过", "不多于", "不高于", "最多", "至多", "不大于")],
    *[(c, "<") for c in ("less than", "fewer than", "under", "below", "少于", "低于", "不足",
                         "不到", "小于")],
    *[(c, "~") for c in ("about", "around", "approximately", "roughly", "约", "大约", "大概")],
]  # fmt: skip
_CUES.sort(
    key=lambda cue: -len(cue[0])
)  # "不少于" before "少于", "no more than" before "more than"
_FILLER = r"\s*(?:(?:a )?total of|in total|累计|共计|合计|共)?\s*$"
_AFTER = [
    (r"^\s*(?:or more|and above|or above|or longer)", ">="),
    (r"^\s*(?:及以上|或以上|以上)", ">="),
    (r"^\s*(?:or less|or fewer|and below)", "<="),
    (r"^\s*(?:及以下|以下|以内|之内)", "<="),
    (r"^\s*左右", "~"),
]


def normalise(text: str) -> str:
    """Text with halves/shares spelled as numbers and Chinese numerals as digits."""
    for pattern, repl in _PHRASES:
        text = re.sub(pattern, repl, text)
    text = re.sub(
        r"(?i)\b(" + "|".join(sorted(_EN_NUMBERS, key=len, reverse=True)) + r")\b(?=[- ]"
        r"(?:months?|years?|days?|weeks?|per ?cent))",
        lambda m: str(_EN_NUMBERS[m.group(1).lower()]),
        text,
    )
    if re.search(r"[零〇一二两三四五六七八九十百千万]", text):
        import cn2an

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # cn2an warns on words it leaves as they are
            # a word cn2an cannot read leaves the text as it was (no number is then found)
            with contextlib.suppress(ValueError, KeyError, IndexError):
                text = cn2an.transform(text, "cn2an")
    return text


def _bound_before(prefix: str) -> str:
    tail = prefix[-30:].lower()
    for cue, comparator in _CUES:
        if re.search(re.escape(cue) + _FILLER, tail):
            return comparator
    return "="


def _bound_after(suffix: str) -> str:
    for pattern, comparator in _AFTER:
        if re.match(pattern, suffix, re.IGNORECASE):
            return comparator
    return "="


def _interval(value: float, comparator: str) -> tuple[float, float, bool, bool]:
    return {
        ">=": (value, math.inf, True, False),
        ">": (value, math.inf, False, False),
        "<=": (0.0, value, True, True),
        "<": (0.0, value, True, False),
    }.get(comparator, (value, value, True, True))


def parse_quantities(text: str) -> list[Quantity]:
    """Every duration, share and amount of money in ``text``, in order.

    Calendar years ("2022年", "by 2025") are dates, not durations, and are skipped.

    Args:
        text: a sentence in English or Chinese.

    Returns:
        The quantities, each with its bounds and (durations) the period it is counted over.
    """
    norm = normalise(text)
    periods = [(m.start(), m.end(), _years(m)) for m in _PERIOD.finditer(norm)]
    out: list[Quantity] = []
    for m in _QUANTITY.finditer(norm):
        if any(s <= m.start() < e for s, e, _ in periods):
            continue  # the "5 years" of "every 5 years" is the period, not an amount
        if m.group(1):  # RMB 12,000
            number, wan, unit = m.group(1), m.group(2), "yuan"
        else:
            number, wan = m.group(3), m.group(4)
            unit = (m.group(5) or m.group(6) or "").lower()
        value = float(number.replace(",", "")) * (10_000 if wan else 1)
        if unit in {"年", "year", "years"} and 1900 <= value <= 2100 and "." not in number:
            continue  # a calendar year
        if unit in {"months", "month", "个月", "月"}:
            dim, base = Dimension.DURATION, value
        elif unit in {"days", "day", "天", "日"}:
            if unit == "日" and value <= 31:
                continue  # "5日" is a day of the month
            dim, base = Dimension.DURATION, value / _DAYS_PER_MONTH
        elif unit in {"weeks", "week", "周"}:
            dim, base = Dimension.DURATION, value * 7 / _DAYS_PER_MONTH
        elif unit in {"years", "year", "年"}:
            dim, base = Dimension.DURATION, value * 12
        elif unit in {"%", "percent", "per cent"}:
            dim, base = Dimension.SHARE, value
        else:
            dim, base = Dimension.MONEY, value
        comparator = _bound_after(norm[m.end() :])
        if comparator == "=":
            comparator = _bound_before(norm[: m.start()])
        low, high, lc, hc = _interval(base, comparator)
        period = None
        if dim is Dimension.DURATION:
            near = [p for p in periods if _same_clause(norm, p[0], p[1], m.start(), m.end())]
            if near:
                period = float(min(near, key=lambda p: abs(p[0] - m.start()))[2] * 12)
        out.append(
            Quantity(dim, low, high, lc, hc, period, comparator == "~", m.group(0).strip(), base)
        )
    return out


def _same_clause(text: str, a0: int, a1: int, b0: int, b1: int) -> bool:
    """No clause break between two spans (an English comma does not break one: "Every five
    years, each teacher ..."; a Chinese comma does: "每五年……六个月，新教师……三个月")."""
    between = text[min(a1, b1) : max(a0, b0)]
    return len(between) < 80 and not re.search(r"[，；;。！？!?]", between)


def _years(m: re.Match[str]) -> int:
    number = next((g for g in m.groups()[:4] if g), None)
    return int(number) if number else 1  # "every year", "每年"


# ------------------------------------------------------------------ comparison


def compare(measure: Measure, quantity: Quantity) -> tuple[Verdict, str]:
    """Whether a sentence's quantity guarantees a requirement's measure.

    It *meets* when every value the wording allows satisfies the measure (at least 6 of 6,
    more than half of "more than half"), *falls short* when it does not (3 months for 6; 50%
    for "more than half", since half is not more than half), and is *unclear* when the two
    cannot be compared: another dimension, an approximate number, or a duration without the
    period the requirement counts over.

    Args:
        measure: the requirement's measurable part.
        quantity: one quantity read from a college sentence.

    Returns:
        (verdict, a short reason in English).
    """
    if quantity.dimension is not measure.dimension:
        return Verdict.UNCLEAR, "a different kind of number"
    if quantity.approximate:
        return Verdict.UNCLEAR, "an approximate number"
    low, high, lc, hc = quantity.low, quantity.high, quantity.low_closed, quantity.high_closed
    if measure.per is not None:
        if quantity.period is None:
            return Verdict.UNCLEAR, "no period stated"
        scale = measure.per / quantity.period  # the amount over the requirement's period
        low, high = low * scale, high * scale
    ok = _inside(low, high, lc, hc, measure.value, measure.comparator)
    return (
        (Verdict.MEETS, "within the requirement")
        if ok
        else (
            Verdict.FALLS_SHORT,
            "below what is required" if measure.comparator in (">=", ">") else "beyond the limit",
        )
    )


def _inside(low: float, high: float, lc: bool, hc: bool, value: float, comparator: str) -> bool:
    eps = 1e-9
    if comparator == ">=":
        return low >= value - eps
    if comparator == ">":
        return low > value + eps or (abs(low - value) <= eps and not lc and low >= value)
    if comparator == "<=":
        return high <= value + eps
    if comparator == "<":
        return high < value - eps or (abs(high - value) <= eps and not hc)
    return abs(low - value) <= eps and abs(high - value) <= eps


_UNIT_WORDS = {Dimension.DURATION: "months", Dimension.SHARE: "%", Dimension.MONEY: "yuan"}
_SYMBOLS = {">=": "≥", ">": ">", "<=": "≤", "<": "<", "=": "", "~": "about "}


def _amount(value: float, dimension: Dimension) -> str:
    number = f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{number}%" if dimension is Dimension.SHARE else f"{number} {_UNIT_WORDS[dimension]}"


def _per(months: float | None) -> str:
    if months is None:
        return ""
    years = months / 12
    return " per year" if years == 1 else f" per {years:g} years"


def describe(quantity: Quantity) -> str:
    """A quantity in one notation for report lines ("≥ 6 months per 5 years", "> 50%")."""
    if quantity.approximate:
        symbol = "about "
    elif math.isinf(quantity.high):
        symbol = "≥ " if quantity.low_closed else "> "
    elif quantity.low != quantity.high:
        symbol = "≤ " if quantity.high_closed else "< "
    else:
        symbol = ""
    return symbol + _amount(quantity.value, quantity.dimension) + _per(quantity.period)


def describe_measure(measure: Measure) -> str:
    """A requirement's measure in the same notation as describe()."""
    symbol = _SYMBOLS.get(measure.comparator, "")
    return (
        (symbol + " " if symbol else "")
        + _amount(measure.value, measure.dimension)
        + _per(measure.per)
    )
