"""What a fact question counts: the rounds it names ("第二轮", "the first round") and the
noun of "how many X" / "多少所", so that the sentence counting X answers, not another number.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_NUMBER_WORDS = (
    r"\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|"
    r"twenty|thirty|forty|fifty|hundred|dozen"
)


_HOW_MANY_EN = re.compile(
    r"\bhow many (?:(?:key|main|major|national|specific|new|pilot|separate|different) )?"
    r"([a-z][a-z-]+)",
    re.I,
)


# "how many colleges": the briefs count them as schools, institutions or units
_INSTITUTIONS = ("colle", "schoo", "insti", "unit")


_COUNTED_ALIKE = {stem: _INSTITUTIONS for stem in _INSTITUTIONS}


_HOW_MANY_ZH = re.compile(r"(?:多少|几)([所个项名家条批位门种类轮])")


_ORDINALS = {
    "first": 1, "1st": 1, "one": 1, "1": 1, "一": 1, "首": 1,
    "second": 2, "2nd": 2, "two": 2, "2": 2, "二": 2,
    "third": 3, "3rd": 3, "three": 3, "3": 3, "三": 3,
}  # fmt: skip


_ROUND_OF = re.compile(
    # "the second Double High round": up to three words between
    r"\b(first|second|third|1st|2nd|3rd)[- ](?:[\w-]+ ){0,3}?(?:round|batch|cycle)\b"
    r"|\b(?:round|batch|cycle) (one|two|three|1|2|3)\b"
    r"|(?:第([一二三123])|(首))[轮批]",
    re.I,
)


def rounds(text: str) -> set[int]:
    """The rounds or batches a text names ("the first round", "round two", "第二轮", "首批")."""
    return {_ORDINALS[next(g for g in m.groups() if g).lower()] for m in _ROUND_OF.finditer(text)}


def counted(question: str) -> Callable[[str, frozenset[str]], bool] | None:
    """For "how many X" / "多少所": a test that a sentence counts X (its noun or measure word
    next to a number), or None when the question names nothing countable."""
    m = _HOW_MANY_EN.search(question)
    if m:
        stem = m.group(1).lower()[:5]
        nouns = "|".join(re.escape(n) for n in _COUNTED_ALIKE.get(stem, (stem,)))
        near = re.compile(rf"\b({_NUMBER_WORDS})\s+([\w-]+\s+)?({nouns})", re.I)
        return lambda sentence, words: bool(near.search(sentence))
    m = _HOW_MANY_ZH.search(question)
    if m:
        unit = re.compile(rf"(\d[\d,，.]*|[一二三四五六七八九十百千万两]+)\s*{m.group(1)}")
        return lambda sentence, words: bool(unit.search(sentence))
    return None
