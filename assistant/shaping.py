"""Shape chosen points: a short provision quoted whole, the later items of "First, ...", the
brief's notes on its sources kept apart from the fact, and problems that a chosen measure
answers folded into it. Pure: sentences come from the function it is given.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .citing import permits_only
from .evidence import Row
from .intent import Query, sentence_has
from .roles import Role
from .types import Passage

SentencesOf = Callable[[Passage], list[str]]


MAX_ENUMERATION = 4


MAX_BULLETS = 8


# a clause the splitter cut at a semicolon: it starts in lower case or ends with ";"
_CLAUSE = re.compile(r"^\s*(- )?[a-z]|[;；]\s*$")


MAX_PARAGRAPH = 600  # characters of a provision quoted whole ...


MAX_PARAGRAPH_SENTENCES = 4  # ... and sentences


_LIST_INTRO = re.compile(r"[:：]\s*\n\s*[-•*]\s")


_BULLET = re.compile(r"^\s*[-•*]\s")


# The briefs' notes on their own sources ("should be re-checked", "the facts sheet does not
# give the day", "Conflict noted: ..."): never a measure; shown with the point they qualify
EDITORIAL_SENTENCE = re.compile(
    r"facts? sheet|\bthe sheet\b|conflict noted|re-?check|not (been )?confirmed|unconfirmed|"
    r"not (been )?verified|unverified|rests? on a single source|each rest on|a lead to|"
    r"differ by source|事实清单|事实表|核实|说法不一",
    re.I,
)


_ENUM_START = re.compile(r"^\s*(First(ly)?\b|The first\b|一是|其一|首先|第一[，,、])", re.I)


_ENUM_NEXT = re.compile(
    r"^\s*(Second(ly)?\b|Third(ly)?\b|Fourth(ly)?\b|Finally\b|Lastly\b|The (second|third|fourth)\b|"
    r"[二三四五]是|其[二三四]|其次|再次|最后|第[二三四五][，,、])",
    re.I,
)


@dataclass
class Point:
    """One quoted sentence chosen for the answer."""

    sentence: str
    passage: Passage
    score: float
    role: Role
    vec: np.ndarray
    # the rest of an enumeration ("The second is ..."), each with the passage that holds it
    more: list[tuple[str, Passage]] = dataclasses.field(default_factory=list)
    # for a fact question asking two things: the sentences that state the others
    complements: list[Point] = dataclasses.field(default_factory=list)
    # the brief's note on the source of this sentence ("single source, to re-check"), if any
    caveat: str = ""
    # when the whole paragraph is quoted: the sentence that answered (it decides the label)
    core: str = ""

    @property
    def sentences(self) -> list[str]:
        """The quoted sentences: the chosen one and, for "First, ...", its sibling items."""
        return [self.sentence, *(s for s, _ in self.more)]


def whole_provisions(chosen: list[Point], *, clauses_only: bool = False) -> list[Point]:
    """A short provision or target is quoted as the whole paragraph that holds the chosen
    sentence: "may go as remuneration ..." keeps its condition "where state rules allow". A
    fact's sentence only when the splitter cut it at a semicolon ("141所" without "共197所")."""
    out: list[Point] = []
    quoted: dict[tuple[str, str], int] = {}
    for c in chosen:
        # "researchers can hold shares ...;", or the part after such a semicolon
        clause = bool(_CLAUSE.search(c.sentence)) or _after_semicolon(c)
        # a policy's paragraphs are short and say one thing: "对……企业给予奖励" goes with the
        # sentence on what the reward is
        whole = clause or (
            not clauses_only
            and (c.role in (Role.PROVISION, Role.TARGET) or c.passage.kind == "policy")
        )
        paragraph = _paragraph(c) if whole and not c.more else ""
        if not clauses_only and EDITORIAL_SENTENCE.search(paragraph):
            paragraph = ""  # a what-to-do point never quotes the brief's notes on its sources
        if not paragraph:
            out.append(c)
            continue
        at = quoted.get((c.passage.chunk_id, paragraph))
        if at is not None:
            # another chosen sentence of a paragraph already quoted whole: if it only permits,
            # the paragraph answers as a permission ("可用于……绩效工资来源")
            if permits_only(c.sentence):
                out[at] = dataclasses.replace(out[at], core=c.sentence)
            continue
        quoted[(c.passage.chunk_id, paragraph)] = len(out)
        out.append(dataclasses.replace(c, sentence=paragraph, caveat="", core=c.sentence))
    return out


def split_editorial_tail(query: Query, point: Point) -> None:
    """ "It is dated 4 April 2019; the facts sheet does not separate a signing date ...": the
    fact is the clause before the semicolon, and the brief's note on its source after it is
    shown as that note, not as part of the fact."""
    if point.caveat or not EDITORIAL_SENTENCE.search(point.sentence):
        return
    parts = re.split(r"[;；]\s*", point.sentence, maxsplit=1)
    if len(parts) < 2:
        return
    head, tail = parts
    if EDITORIAL_SENTENCE.search(head) or not EDITORIAL_SENTENCE.search(tail):
        return
    needed = query.asks - {"document"}
    if needed and not any(sentence_has(kind, head) for kind in needed):
        return
    # the note is the clause's own sentence, not what the splitter left joined to it
    point.sentence, point.caveat = head, re.split(r"(?<=。)|(?<=\.)\s+", tail, maxsplit=1)[0]


def _after_semicolon(point: Point) -> bool:
    """The splitter cut the point's sentence from the clause before it at a semicolon."""
    at = point.passage.text.find(point.sentence)
    return at > 0 and point.passage.text[:at].rstrip()[-1:] in (";", "；")


def _paragraph(point: Point) -> str:
    """The short paragraph (a few sentences, no list) around the point's sentence, or ""."""
    for block in re.split(r"\n\s*\n", point.passage.text):
        block = block.strip()
        if point.sentence not in block or block.startswith("#") or _BULLET.search(block):
            continue
        if block == point.sentence or len(block) > MAX_PARAGRAPH:
            return ""
        n = len(re.findall(r"[.!?。！？](\s|$)", block))
        return block if n <= MAX_PARAGRAPH_SENTENCES else ""
    return ""


def without_answered_problems(chosen: Sequence[Point]) -> list[Point]:
    """A problem that a chosen recommendation answers is shown as that point's context."""
    answered = {
        (c.passage.doc_id, s.strip())
        for c in chosen
        for s in str(c.passage.metadata.get("answers", "")).split(",")
        if s.strip()
    }
    return [
        c
        for c in chosen
        if not (
            c.role is Role.PROBLEM
            and (c.passage.doc_id, str(c.passage.metadata.get("section_key"))) in answered
        )
    ] or list(chosen[:1])


def caveat(point: Point, sentences_of: SentencesOf) -> str:
    """The editorial note right after the point's sentence in its passage, if any."""
    sentences = sentences_of(point.passage)
    last = point.more[-1][0] if point.more else point.sentence
    at = next((i for i, x in enumerate(sentences) if x == last), None)
    if at is None or at + 1 >= len(sentences) or EDITORIAL_SENTENCE.search(last):
        return ""
    following = sentences[at + 1]
    return following if EDITORIAL_SENTENCE.search(following) else ""


def enumeration(
    point: Point, passages: list[Passage], sentences_of: SentencesOf
) -> list[tuple[str, Passage]]:
    """ "First, establish ..." is one item of a list: the later items of the same section
    ("The second is ...", "二是 ..."), possibly in the next chunk, belong to the point; so do
    the bullet items of "The plan's goals for 2022 were:" ("- 50 high-level schools ...")."""
    listed = bool(_LIST_INTRO.search(point.sentence))
    if not (listed or _ENUM_START.match(point.sentence)):
        return []
    section = [
        p
        for p in passages
        if p.doc_id == point.passage.doc_id and p.section == point.passage.section
    ]
    flat = [(sentence, p) for p in section for sentence in sentences_of(p)]
    at = next(
        (i for i, (x, p) in enumerate(flat) if x == point.sentence and p is point.passage),
        None,
    )
    if at is None:
        return []
    follows = _BULLET if listed else _ENUM_NEXT
    limit = MAX_BULLETS if listed else MAX_ENUMERATION
    more: list[tuple[str, Passage]] = []
    gap = 0
    for sentence, p in flat[at + 1 :]:
        if any(sentence == s for s, _ in more):
            continue  # the overlap of two chunks
        if follows.match(sentence):
            more.append((sentence, p))
            gap = 0
        else:
            gap += 1
            if listed or gap > 2 or _ENUM_START.match(sentence):
                break
        if len(more) >= limit:
            break
    return more


_DAY_OR_MONTH = re.compile(
    r"\b(January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\b|\d{1,2}\s*[月日]"
)


def with_complements(
    query: Query, chosen: list[Point], rows: list[Row], candidates: list[Point]
) -> list[Point]:
    """ "When was it issued, and by whom?": the lead states one, a second sentence the other."""
    lead = chosen[0]
    for kind in sorted(query.asks):
        if any(sentence_has(kind, c.sentence) for c in [lead, *lead.complements]):
            continue
        # from the lead's own section first (where a brief states date and issuer), whether or
        # not that sentence repeats the question's words
        own = [
            Point(r.sentence, r.passage, 0.0, r.role, r.vec)
            for r in rows
            if r.passage.doc_id == lead.passage.doc_id
            and r.passage.section == lead.passage.section
            and r.sentence != lead.sentence
        ]
        typed = [
            c
            for c in [*own, *candidates]
            if c is not lead and c.sentence != lead.sentence and sentence_has(kind, c.sentence)
        ]
        other = min(
            typed,
            key=lambda c: (
                c.passage.section != lead.passage.section,
                c.passage.doc_id != lead.passage.doc_id,
                # "dated 29 March 2019, announced 1–2 April" before "the 2019 plan launched it"
                -len(_DAY_OR_MONTH.findall(c.sentence)) if kind == "date" else 0,
                -c.score,
            ),
            default=None,
        )
        if other is not None and other not in lead.complements:
            lead.complements.append(other)
    extra = {id(c) for c in lead.complements}
    return [chosen[0], *(c for c in chosen[1:] if id(c) not in extra)]
