"""Requirements as data: the binding provisions and targets of the policy briefs.

Input: ``<brief>.requirements.yaml`` files kept beside their briefs (corpus/policies/), each
written from shared/policy-facts.md. Output: frozen Requirement records, their status on a
date, and the binding sections of a brief that have no record yet (said, not hidden).

A record's fields: ``id``, ``kind`` (provision / target), ``theme`` (T1-T8 of the facts
sheet), ``section`` (the brief's heading, without its role tag), ``statement`` (``en`` and
``zh``), ``applies_to``, ``check`` (``college``: a college's documents can be checked against
it; ``national``: a national aggregate or a duty of government, listed but not judged),
``measure`` (quantity, unit, comparator, optional ``per`` period), ``deadline`` (a target's
date), ``from`` (when it starts to apply; default: the brief's date), ``status`` (override of
the brief's status, e.g. superseded), ``superseded_by`` and ``terms`` (the words a college
sentence must use to speak of it: every ``all`` group matched, no ``none`` word; ``contrary``
words say the opposite, e.g. "optional" for a compulsory course; ``permissive: true`` when the
rule itself is a "can", so "students may convert patents into credits" is not hedging).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

from .errors import CorpusError, InvalidInputError
from .quantities import COMPARATORS, Dimension, Measure, to_base
from .roles import Role, split_role_tag

SUFFIX = ".requirements.yaml"
THEMES = {
    "T1": ("Concept and top-level design", "教育理念与顶层设计"),
    "T2": ("Curriculum, teaching and evaluation", "课程、教学与评价改革"),
    "T3": ("Dual-qualified teachers", "双师型教师"),
    "T4": ("Training platforms and school-enterprise cooperation", "实训平台与校企合作"),
    "T5": ("Skill competitions", "技能竞赛"),
    "T6": ("Funding", "经费与财政支持"),
    "T7": ("National titles and reputation", "国家级称号与声誉"),
    "T8": ("Innovation and entrepreneurship", "创新驱动与创新创业"),
}
_FIELDS = {"id", "kind", "theme", "section", "statement", "applies_to", "check", "measure",
           "deadline", "from", "status", "superseded_by", "terms"}  # fmt: skip


class TimeStatus(StrEnum):
    """Where a requirement stands on a date."""

    IN_FORCE = "in force"
    SUPERSEDED = "superseded"
    TARGET_PASSED = "target date passed"
    NOT_YET = "not yet issued"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Requirement:
    """One binding provision or national target of a brief."""

    id: str
    doc_id: str  # the brief's doc_id
    title: str  # the brief's title
    title_zh: str
    kind: str  # provision / target
    theme: str
    section: str
    section_zh: str
    statement_en: str
    statement_zh: str
    applies_to: tuple[str, ...]
    check: str  # college / national
    measure: Measure | None
    measure_text: str  # as written in the record ("> 50 percent")
    deadline: date | None
    start: date | None  # from when it applies
    brief_status: str  # the brief's own status field (in force / unknown / superseded)
    superseded_by: str = ""
    terms_all: tuple[tuple[str, ...], ...] = ()
    terms_none: tuple[str, ...] = ()
    terms_contrary: tuple[str, ...] = ()  # words that say the opposite ("optional" for compulsory)
    permissive: bool = False  # the rule itself is a "may"/"can" (credits *can* be counted)
    doc_date: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def checkable(self) -> bool:
        """True when a college's documents can be held against it."""
        return self.check == "college"

    def statement(self, language: str) -> str:
        """The statement in "en" or "zh"."""
        return self.statement_zh if language == "zh" else self.statement_en

    def time_status(self, as_of: date) -> TimeStatus:
        """Its status on ``as_of``: not yet issued, superseded, target passed, or the brief's."""
        if self.start is not None and as_of < self.start:
            return TimeStatus.NOT_YET
        if self.brief_status == "superseded" or self.superseded_by:
            return TimeStatus.SUPERSEDED
        if self.deadline is not None and as_of > self.deadline:
            return TimeStatus.TARGET_PASSED
        return TimeStatus.IN_FORCE if self.brief_status == "in force" else TimeStatus.UNKNOWN

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly view."""
        return {
            "id": self.id,
            "doc_id": self.doc_id,
            "title": self.title,
            "kind": self.kind,
            "theme": self.theme,
            "section": self.section,
            "statement": {"en": self.statement_en, "zh": self.statement_zh},
            "applies_to": list(self.applies_to),
            "check": self.check,
            "measure": self.measure_text,
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "from": self.start.isoformat() if self.start else None,
            "brief_status": self.brief_status,
        }


def parse_date(value: object, *, end: bool = False) -> date | None:
    """ "2016-05" -> 2016-05-01 (or the month's last day with ``end``); "2022" -> Jan 1 / Dec 31."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    m = re.fullmatch(r"(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?", text)
    if not m:
        raise InvalidInputError(f"Not a date: {text!r}; write YYYY-MM-DD.")
    year, month, day = int(m.group(1)), m.group(2), m.group(3)
    try:
        if day:
            return date(year, int(month or 1), int(day))
        if month:
            if not end:
                return date(year, int(month), 1)
            nxt = date(year + int(month) // 12, int(month) % 12 + 1, 1)
            return date.fromordinal(nxt.toordinal() - 1)
        return date(year, 12, 31) if end else date(year, 1, 1)
    except ValueError as e:
        raise InvalidInputError(f"Not a date: {text!r} ({e}); write YYYY-MM-DD.") from e


def brief_front_matter(path: Path) -> tuple[dict[str, Any], str]:
    """A brief's YAML front matter and its body."""
    import yaml

    text = path.read_text(encoding="utf-8")
    m = re.match(r"---\n(.*?)\n---\n(.*)", text, re.DOTALL)
    if not m:
        return {}, text
    return yaml.safe_load(m.group(1)) or {}, m.group(2)


def brief_sections(body: str) -> list[tuple[str, Role | None, str]]:
    """(heading without tag, role, section text) for each ``## `` section of a brief."""
    out: list[tuple[str, Role | None, str]] = []
    for part in re.split(r"(?m)^## ", body)[1:]:
        heading, _, rest = part.partition("\n")
        title, role = split_role_tag(heading.strip())
        out.append((title, role, rest.strip()))
    return out


def _translation(brief: Path) -> Path:
    return brief.parent / "zh" / f"{brief.stem}.zh.md"


def load_requirements(paths: Iterable[Path]) -> list[Requirement]:
    """Every requirement record in the given files or folders (``*.requirements.yaml``).

    Args:
        paths: record files, or folders searched (not recursively) for them.

    Returns:
        The records, in file then record order.

    Raises:
        CorpusError: a file is unreadable, a record has an unknown or missing field, a bad
            unit/comparator/date, names a section its brief does not have, or an id repeats.
    """
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files.extend(sorted(p.glob(f"*{SUFFIX}")))
        elif p.is_file():
            files.append(p)
    out: list[Requirement] = []
    seen: dict[str, Path] = {}
    for f in files:
        for req in _load_file(f):
            if req.id in seen:
                raise CorpusError(f"{f.name}: requirement id {req.id!r} is also in {seen[req.id]}")
            seen[req.id] = f
            out.append(req)
    return out


def _load_file(path: Path) -> list[Requirement]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise CorpusError(f"{path.name}: unreadable requirement records ({e})") from e
    brief = path.with_name(path.name[: -len(SUFFIX)] + ".md")
    if not brief.is_file():
        raise CorpusError(f"{path.name}: no brief {brief.name} beside it")
    meta, body = brief_front_matter(brief)
    sections = brief_sections(body)
    zh_sections: list[tuple[str, Role | None, str]] = []
    if _translation(brief).is_file():
        _, zh_body = brief_front_matter(_translation(brief))
        zh_sections = brief_sections(zh_body)
    records = data.get("requirements") if isinstance(data, dict) else None
    if not isinstance(records, list):
        raise CorpusError(f"{path.name}: expected a 'requirements:' list")
    return [_record(path, r, meta, sections, zh_sections) for r in records]


def _record(
    path: Path,
    raw: Any,
    meta: dict[str, Any],
    sections: Sequence[tuple[str, Role | None, str]],
    zh_sections: Sequence[tuple[str, Role | None, str]],
) -> Requirement:
    where = f"{path.name}: requirement {raw.get('id', '?') if isinstance(raw, dict) else '?'}"
    index = _checked_section(where, raw, sections)
    statement = raw["statement"]
    if not isinstance(statement, dict) or not statement.get("en") or not statement.get("zh"):
        raise CorpusError(f"{where}: statement needs 'en' and 'zh'")
    measure, measure_text = _measure(where, raw.get("measure"))
    terms = raw.get("terms") or {}
    if raw["check"] == "college" and not terms.get("all"):
        raise CorpusError(f"{where}: a requirement checked against colleges needs terms.all")
    try:
        start = parse_date(raw.get("from")) or parse_date(meta.get("date"), end=True)
        deadline = parse_date(raw.get("deadline"), end=True)
    except InvalidInputError as e:
        raise CorpusError(f"{where}: {e}") from e
    return Requirement(
        id=str(raw["id"]),
        doc_id=str(meta.get("doc_id") or path.name[: -len(SUFFIX)]),
        title=str(meta.get("title", "")),
        title_zh=str(meta.get("title_zh", "")),
        kind=str(raw["kind"]),
        theme=str(raw["theme"]),
        section=str(raw["section"]),
        section_zh=zh_sections[index][0] if index < len(zh_sections) else "",
        statement_en=str(statement["en"]).strip(),
        statement_zh=str(statement["zh"]).strip(),
        applies_to=tuple(str(a) for a in raw.get("applies_to") or ()),
        check=str(raw["check"]),
        measure=measure,
        measure_text=measure_text,
        deadline=deadline,
        start=start,
        brief_status=str(raw.get("status") or meta.get("status") or "unknown"),
        superseded_by=str(raw.get("superseded_by") or ""),
        terms_all=tuple(tuple(str(t).lower() for t in group) for group in terms.get("all", ())),
        terms_none=tuple(str(t).lower() for t in terms.get("none", ())),
        terms_contrary=tuple(str(t).lower() for t in terms.get("contrary", ())),
        permissive=bool(terms.get("permissive", False)),
        doc_date=str(meta.get("date", "")),
    )


def _checked_section(where: str, raw: Any, sections: Sequence[tuple[str, Role | None, str]]) -> int:
    """The index of the record's section in the brief, after checking its fields.

    Raises:
        CorpusError: not a mapping, an unknown or missing field, a section that is not in the
            brief or not binding, an unknown theme or check.
    """
    if not isinstance(raw, dict):
        raise CorpusError(f"{where}: each record is a mapping")
    unknown = set(raw) - _FIELDS
    if unknown:
        raise CorpusError(f"{where}: unknown field(s) {sorted(unknown)}; known: {sorted(_FIELDS)}")
    for name in ("id", "kind", "theme", "section", "statement", "check"):
        if not raw.get(name):
            raise CorpusError(f"{where}: missing {name!r}")
    headings = [s[0] for s in sections]
    if raw["section"] not in headings:
        raise CorpusError(f"{where}: the brief has no section {raw['section']!r}")
    index = headings.index(raw["section"])
    role = sections[index][1]
    if role is None or not role.binding:
        raise CorpusError(f"{where}: section {raw['section']!r} is not a provision or target")
    if raw["theme"] not in THEMES or raw["check"] not in {"college", "national"}:
        raise CorpusError(f"{where}: theme is one of {sorted(THEMES)}, check college or national")
    return index


def _measure(where: str, raw: Any) -> tuple[Measure | None, str]:
    if not raw:
        return None, ""
    try:
        dim = Dimension.from_unit(str(raw["unit"]))
        comparator = str(raw["comparator"])
        if comparator not in COMPARATORS:
            raise InvalidInputError(f"comparator is one of {', '.join(COMPARATORS)}")
        value = to_base(float(raw["quantity"]), str(raw["unit"]))
        per = raw.get("per")
        per_months = to_base(float(per["quantity"]), str(per["unit"])) if per else None
    except (KeyError, TypeError, ValueError) as e:
        raise CorpusError(f"{where}: bad measure {raw!r} ({e})") from e
    text = f"{comparator} {raw['quantity']} {raw['unit']}"
    if per:
        text += f" per {per['quantity']} {per['unit']}"
    return Measure(dim, value, comparator, per_months), text


def unrecorded_sections(folder: Path, records: Sequence[Requirement]) -> list[tuple[str, str]]:
    """(doc_id, heading) of every binding brief section that no record cites."""
    cited = {(r.doc_id, r.section) for r in records}
    out: list[tuple[str, str]] = []
    for brief in sorted(folder.glob("*.md")):
        meta, body = brief_front_matter(brief)
        doc_id = str(meta.get("doc_id") or brief.stem)
        for heading, role, _ in brief_sections(body):
            if role is not None and role.binding and (doc_id, heading) not in cited:
                out.append((doc_id, heading))
    return out


def select(records: Sequence[Requirement], theme: str | None = None) -> list[Requirement]:
    """Records of one theme (T1-T8, or a word of its name); all when ``theme`` is None."""
    if not theme:
        return list(records)
    key = theme.strip().upper()
    if key not in THEMES:
        matches = [
            t for t, names in THEMES.items() if any(theme.lower() in n.lower() for n in names)
        ]
        if not matches:
            raise InvalidInputError(
                f"Unknown theme {theme!r}; use one of: "
                + ", ".join(f"{t} ({n[0]})" for t, n in THEMES.items())
            )
        return [r for r in records if r.theme in matches]
    return [r for r in records if r.theme == key]
