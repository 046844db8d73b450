"""The gap check: a college's own documents held against the national requirements.

Input: Requirement records, the college documents to check, a retrieve function (the hybrid
retrieval, restricted to one document per call) and a date. Output: a GapReport, one line per
requirement that applies on that date: *meets* (the college sentence that meets it, both
numbers), *falls short* (a sentence that commits to less, or says it is not required), *not
mentioned*, or *unclear* (the documents speak of it without a checkable commitment). A
requirement met in one document and contradicted in another (or in the same one) falls short
and keeps both sentences.

How a sentence is judged (``judge_sentence``): it must speak of the requirement (every group of
the record's ``terms.all``; clauses naming a ``terms.none`` word, e.g. "new teachers" for the
rule on all teachers, are left out first); then wording that waives it ("not required", 不再)
falls short, hedged wording ("encouraged", 鼓励, 力争) is unclear, and a measured requirement is
compared number against number (assistant.quantities) while an unmeasured one needs a
commitment ("must", "shall", 须, 应, 建立 ...).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

from .errors import InvalidInputError
from .quantities import Verdict, compare, describe, describe_measure, parse_quantities
from .requirements import Requirement, TimeStatus, load_requirements, unrecorded_sections
from .sentences import split_sentences
from .types import Passage

Retrieve = Callable[[str, int, list[str]], list[Passage]]  # (query, k, [doc_id]) -> passages
CANDIDATES_PER_QUERY = 8  # passages per requirement, language and document (clauses are short)


class Status(StrEnum):
    """The outcome of one requirement against the college's documents."""

    FALLS_SHORT = "falls_short"
    MEETS = "meets"
    UNCLEAR = "unclear"
    NOT_MENTIONED = "not_mentioned"


ORDER = (Status.FALLS_SHORT, Status.MEETS, Status.UNCLEAR, Status.NOT_MENTIONED)

_WAIVE = re.compile(
    r"(?i)\bnot (?:be )?required\b|\bno longer\b|\bneed not\b|\bnot obliged\b|\bexempt|"
    r"\bnot necessary\b|\bnot need to\b|不再|无需|不要求|不必|免于|不作要求|不做要求|可不"
)
_HEDGE = re.compile(
    r"(?i)encourag|\bmay\b(?!\s*\d)|\bcan\b|\bcould\b|where possible|if possible|"
    r"as far as possible|"
    r"where conditions (?:allow|permit)|when conditions|\bstrive|\baims? to\b|\bendeavou?r|"
    r"\btry to\b|\bconsider|\binvited to\b|voluntar|\bgradually\b|\bwhere appropriate\b|"
    r"\bas appropriate\b|鼓励|提倡|倡导|可以|可根据|可视|视情况|力争|争取|逐步|有条件的|条件允许|"
    r"尽量|尽可能|自愿|适时|酌情"
)
# without "may", "can", 可以: for a rule that is itself a permission
_HEDGE_STRONG = re.compile(
    r"(?i)encourag|where possible|if possible|as far as possible|\bstrive|\baims? to\b|"
    r"\bendeavou?r|\btry to\b|\bconsider|voluntar|\bgradually\b|鼓励|提倡|倡导|力争|争取|逐步|"
    r"有条件的|条件允许|尽量|尽可能|自愿|酌情"
)
_PERMIT = re.compile(r"(?i)\bmay\b|\bcan\b|\bare allowed\b|\bis allowed\b|可以|可按|可|允许")
_COMMIT = re.compile(
    r"(?i)\bmust\b|\bshall\b|\bwill\b|\bneeds? (?:a |to )?|\bis to\b|\bare to\b|"
    r"\brequired\b|\bmandatory\b|"
    r"\bcompulsory\b|\bensure|\bguarantee|\bestablish|\bset(?:s)? up\b|\bhas set up\b|"
    r"\bprovides?\b|\boffers?\b|\bincluded?\b|\bincludes\b|\bis part of\b|\bare part of\b|"
    r"\bruns\b|\boperates\b|\borgani[sz]es\b|\barranges\b|\bholds\b|\bat least\b|"
    r"\bevery (?:academic )?year\b|\beach (?:academic )?year\b|"
    r"必须|须|应当|应(?!用)|一律|要求|确保|保障|建立|设立|实行|纳入|列入|开设|执行|落实|安排|组织|"
    r"开展|实施|至少|每年|每学年|每\d+年|每[一二三四五六七八九十两]年"
)
_CLAUSE = re.compile(r"[，,；;：:]")


@dataclass(frozen=True)
class Evidence:
    """One college sentence that speaks of a requirement, and how it stands."""

    doc_id: str
    title: str
    section: str
    sentence: str
    status: Status
    reason: str
    found: str = ""  # the number read from the sentence, in report notation

    @property
    def citation(self) -> str:
        """Document and section, as report lines cite them."""
        return f"{self.title} ({self.doc_id})" + (f", {self.section}" if self.section else "")


@dataclass(frozen=True)
class GapLine:
    """A requirement's outcome over all checked documents."""

    requirement: Requirement
    status: Status
    time_status: TimeStatus
    evidence: tuple[Evidence, ...] = ()
    conflict: bool = False  # met in one place, contradicted in another

    @property
    def required(self) -> str:
        """The measure in report notation ("≥ 6 months per 5 years"), "" when unmeasured."""
        m = self.requirement.measure
        return describe_measure(m) if m else ""


@dataclass(frozen=True)
class NotJudged:
    """A requirement the report lists but does not judge, and why."""

    requirement: Requirement
    reason: str  # national / not_yet / superseded
    time_status: TimeStatus


@dataclass
class GapReport:
    """The whole check: lines (falls short first), what it could not judge, and on what."""

    as_of: date
    documents: list[tuple[str, str]]  # (doc_id, title)
    lines: list[GapLine] = field(default_factory=list)
    not_judged: list[NotJudged] = field(default_factory=list)
    unrecorded: list[tuple[str, str]] = field(default_factory=list)  # (brief doc_id, section)

    def counts(self) -> dict[str, dict[Status, int]]:
        """theme -> status -> number of lines."""
        out: dict[str, dict[Status, int]] = {}
        for line in self.lines:
            row = out.setdefault(line.requirement.theme, dict.fromkeys(ORDER, 0))
            row[line.status] += 1
        return dict(sorted(out.items()))


def _remaining(req: Requirement, sentence: str) -> str:
    """The sentence without its clauses that name a ``terms.none`` word."""
    if not req.terms_none:
        return sentence
    kept = [c for c in _CLAUSE.split(sentence) if not any(t in c.lower() for t in req.terms_none)]
    return "，".join(c for c in kept if c.strip())


def speaks_of(req: Requirement, text: str) -> bool:
    """True when every ``terms.all`` group has a word in ``text``."""
    low = text.lower()
    return bool(req.terms_all) and all(any(t in low for t in group) for group in req.terms_all)


def judge_sentence(req: Requirement, sentence: str) -> tuple[Status, str, str] | None:
    """How one college sentence stands against a requirement; None when it is not about it.

    Args:
        req: a requirement checked against colleges.
        sentence: one sentence of a college document.

    Returns:
        (status, reason, the number read in report notation or "") or None.
    """
    text = _remaining(req, sentence)
    if not speaks_of(req, text):
        return None
    if _WAIVE.search(text) or any(t in text.lower() for t in req.terms_contrary):
        return Status.FALLS_SHORT, "says it is not required", ""
    hedge = _HEDGE_STRONG if req.permissive else _HEDGE
    hedged = bool(hedge.search(text))
    if hedged and req.measure is None:
        return Status.UNCLEAR, "no checkable commitment (hedged wording)", ""
    if req.measure is None:
        if _COMMIT.search(text) or (req.permissive and _PERMIT.search(text)):
            return Status.MEETS, "commits to it", ""
        return Status.UNCLEAR, "speaks of it without a commitment", ""
    found = [q for q in parse_quantities(text) if q.dimension is req.measure.dimension]
    if not found:
        return Status.UNCLEAR, "speaks of it without a number", ""
    verdicts = [(compare(req.measure, q), q) for q in found]
    if hedged:  # an aim, not a commitment: it falls short only when even the aim is short
        short = [q for (v, _), q in verdicts if v is Verdict.FALLS_SHORT]
        if short and not any(v is Verdict.MEETS for (v, _), _q in verdicts):
            return Status.FALLS_SHORT, "aims at less than required", describe(short[0])
        return Status.UNCLEAR, "no checkable commitment (hedged wording)", ""
    for wanted in (Verdict.MEETS, Verdict.FALLS_SHORT):
        for (verdict, reason), q in verdicts:
            if verdict is wanted:
                status = Status.MEETS if wanted is Verdict.MEETS else Status.FALLS_SHORT
                return status, reason, describe(q)
    (_, reason), q = verdicts[0]
    return Status.UNCLEAR, reason, describe(q)


def check_documents(
    requirements: Sequence[Requirement],
    documents: Sequence[tuple[str, str]],
    retrieve: Retrieve,
    as_of: date,
    *,
    unrecorded: Sequence[tuple[str, str]] = (),
) -> GapReport:
    """Hold each applicable requirement against the documents.

    Args:
        requirements: the records (assistant.requirements.load_requirements).
        documents: (doc_id, title) of the college documents to check.
        retrieve: finds candidate passages of one document for a query.
        as_of: the date whose requirements apply (issued by then, not superseded).
        unrecorded: binding brief sections without a record (reported as not judged).

    Returns:
        The GapReport, lines sorted falls short first, then by theme and id.
    """
    report = GapReport(as_of=as_of, documents=list(documents), unrecorded=list(unrecorded))
    titles = dict(documents)
    for req in requirements:
        ts = req.time_status(as_of)
        if not req.checkable:
            report.not_judged.append(NotJudged(req, "national", ts))
            continue
        if ts in (TimeStatus.NOT_YET, TimeStatus.SUPERSEDED):
            reason = "not_yet" if ts is TimeStatus.NOT_YET else "superseded"
            report.not_judged.append(NotJudged(req, reason, ts))
            continue
        evidence = _evidence(req, titles, retrieve)
        report.lines.append(_line(req, ts, evidence))
    rank = {s: i for i, s in enumerate(ORDER)}
    report.lines.sort(key=lambda ln: (rank[ln.status], ln.requirement.theme, ln.requirement.id))
    return report


def _evidence(req: Requirement, titles: dict[str, str], retrieve: Retrieve) -> list[Evidence]:
    """Every sentence of the candidate passages that speaks of ``req``, judged."""
    out: list[Evidence] = []
    seen: set[tuple[str, str]] = set()
    for doc_id in titles:
        for query in (req.statement_en, req.statement_zh):
            for p in retrieve(query, CANDIDATES_PER_QUERY, [doc_id]):
                for sentence in split_sentences(p.text):
                    if (p.doc_id, sentence) in seen:
                        continue
                    seen.add((p.doc_id, sentence))
                    judged = judge_sentence(req, sentence)
                    if judged is None:
                        continue
                    status, reason, found = judged
                    title = titles.get(p.doc_id, p.title)
                    out.append(
                        Evidence(p.doc_id, title, p.section, sentence, status, reason, found)
                    )
    return out


def _line(req: Requirement, ts: TimeStatus, evidence: list[Evidence]) -> GapLine:
    statuses = {e.status for e in evidence}
    status = next((s for s in ORDER if s in statuses), Status.NOT_MENTIONED)
    conflict = Status.MEETS in statuses and Status.FALLS_SHORT in statuses
    rank = {s: i for i, s in enumerate(ORDER)}
    shown = [e for e in evidence if e.status in (Status.MEETS, Status.FALLS_SHORT)]
    if status is Status.UNCLEAR:
        shown = [e for e in evidence if e.status is Status.UNCLEAR][:3]
    shown.sort(key=lambda e: (rank[e.status], e.doc_id, e.section))
    return GapLine(req, status, ts, tuple(shown), conflict)


def parse_as_of(value: str | None) -> date:
    """``--as-of YYYY-MM-DD`` (None: today).

    Raises:
        InvalidInputError: not a YYYY-MM-DD date.
    """
    if not value:
        return date.today()
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInputError(
            f"--as-of takes a date as YYYY-MM-DD (e.g. 2022-06-30), got {value!r}."
        ) from None


def run_gap_check(
    assistant: Any,
    sources: Sequence[str] | None = None,
    as_of: date | None = None,
    *,
    requirement_files: Sequence[Path] = (),
) -> GapReport:
    """Check a college's documents (default: every document of kind ``own``).

    Args:
        assistant: an assistant.pipeline.Assistant (documents(), retrieve(), settings).
        sources: doc_ids to check; None for all of the college's own documents.
        as_of: the date whose requirements apply (default today).
        requirement_files: extra ``*.requirements.yaml`` files (a college's own, e.g. from a
            provincial document), checked the same way.

    Returns:
        The GapReport.

    Raises:
        InvalidInputError: an unknown doc_id, or no own documents to check.
    """
    records = {r.doc_id: r for r in assistant.documents()}
    if sources:
        unknown = [s for s in sources if s not in records]
        if unknown:
            raise InvalidInputError(
                f"Unknown document(s): {', '.join(unknown)}; `assistant docs` lists them."
            )
        chosen = list(dict.fromkeys(sources))
    else:
        chosen = [d for d, r in records.items() if r.kind == "own"]
        if not chosen:
            raise InvalidInputError(
                "No documents of your own are indexed, so there is nothing to check; add them "
                "with `assistant ingest PATH --kind own` (or name documents with --source)."
            )
    folder = Path(assistant.settings.corpus_dir) / "policies"
    requirements = load_requirements([folder, *requirement_files])
    return check_documents(
        requirements,
        [(d, records[d].title) for d in chosen],
        lambda query, k, docs: assistant.retrieve(query, k=k, sources=docs),
        as_of or date.today(),
        unrecorded=unrecorded_sections(folder, requirements),
    )
