"""Choose: a Query and its passages -> the sentences that answer it (Points), best first.

Every candidate sentence is scored by its cosine to the question (USE; on English text averaged
with MiniLM), the retrieval score of its passage, the IDF-weighted share of the question's words
it and its section use, and small bonuses (a what-to-do question prefers prescriptive sentences,
a fact question the document its title names). Points are cut relative to the best one: one
good point beats five. A fact question keeps only sentences that state what was asked (a date
for "when"). Pure apart from the encoders it is given.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

import numpy as np

from .counting import counted, rounds
from .evidence import (
    FACT_DOCUMENT_FLOOR,
    PRESCRIPTIVE,
    YEARS,
    Encoder,
    Evidence,
    Row,
    evidence,
    sentence_vectors,
    states_the_fact,
    tokens,
)
from .glossary import expand
from .intent import Intent, Query, about_problems, sentence_has
from .roles import Role, passage_role
from .shaping import (
    EDITORIAL_SENTENCE,
    Point,
    caveat,
    enumeration,
    split_editorial_tail,
    whole_provisions,
    with_complements,
    without_answered_problems,
)
from .text import CJK_RE
from .types import Passage

MAX_POINTS = {Intent.FACT: 3, Intent.TODO: 5, Intent.OVERVIEW: 8}
# A sentence is a point when it scores within this much of the best sentence (USE cosine
# scale, bonuses included). Chosen on tests/golden/answers/dev.jsonl and holdout.jsonl.
RELATIVE_CUT = {Intent.FACT: 0.06, Intent.TODO: 0.14, Intent.OVERVIEW: 0.3}
MAX_PER_SECTION = 3  # sentences one section may give a what-to-do answer (§4.3 has four measures)
MAX_PER_NAMED = 4
MAX_PER_OWN_DOCUMENT = 2  # points one own document may give an answer (issue 16: one upload
# echoing common questions took over a third of all answers)
BESIDE_OWN_CUT = 0.4  # how far below an own-only answer's best point the policy point may be
MIN_DOCUMENTS = 2  # a what-to-do answer from one document looks for another ...
WIDE_CUT = 0.15  # ... this far below the best sentence
ENGLISH_WEIGHT = 0.5  # share of MiniLM in an English sentence's cosine (the rest is USE)
# a sentence scores at least this share of its section heading's cosine: under "What teachers
# should learn during enterprise practice", "First, how production is organised" answers
# "what should they be learning" though its own words do not say so
HEADING_SHARE = 0.8
TITLE_WEIGHT = 0.3  # a fact question's words found in the title of the sentence's document
PRIOR_WEIGHT = 0.3  # the retrieval score of the sentence's passage, relative to the best ...
PRIOR_POWER = 1.0  # ... to this power
CONTEXT_WEIGHT = 0.2  # the same share, in the sentence's passage with its title and section
LEXICAL_WEIGHT = 0.3  # IDF-weighted share of the question's words (and glossary forms)
DUPLICATE_COS = 0.88  # two sentences this close (e.g. the same fact in two briefs) are one point
ASKED_BONUS = 0.1
# A what-to-do question that reads like one of the paper's problems (§3: "our teachers are not
# keen") is answered by the countermeasures the paper ties to that problem (§4.3): they gain
# this much when that problem is among the question's best matches.
LINK_BONUS = 0.08
COUNTED_BONUS = 0.2
ROUND_BONUS = 0.1
MIN_POINT_WORDS = 6  # a what-to-do point has at least this many words ...
MIN_POINT_CJK = 10  # ... or Chinese characters
# "(see that brief)", "（参见职业教育法简报）": the sentence retells another document, which is
# the one to quote and credit; it yields to that document's own sentence
_CROSS_REFERENCE = re.compile(
    r"\((?:[^()]*;\s*)?see (?:that|its|their|the)\b[^()]*\bbrief\b[^()]*\)|"
    r"（[^（）]*见[^（）]*简报）",
    re.I,
)
CROSS_REFERENCE_PENALTY = 0.15
_NOT_MEASURES = frozenset({Role.BACKGROUND, Role.SUMMARY})

_RECENT = re.compile(
    r"\b(revised|revision|new|newest|latest|current|currently|now|amended|updated)\b|"
    r"修订|修改|新|现行|最新|目前|现在",
    re.I,
)


@lru_cache(maxsize=4096)
def heading_vector(heading: str, encoder: Encoder, *, light: bool = False) -> np.ndarray:
    """The vector of a section heading, embedded like the sentences under it (not split)."""
    embed = encoder.encode_queries if light else encoder.encode_documents
    return embed([heading])[0]


def _latest_year(sentence: str) -> int:
    return max((int(y) for y in YEARS.findall(sentence)), default=0)


def _bonus(query: Query, role: Role, sentence: str) -> float:
    if query.intent is Intent.FACT:
        return 0.0
    bonus = 0.0
    if query.asks and any(sentence_has(kind, sentence) for kind in query.asks):
        bonus += ASKED_BONUS  # "what are the time requirements": a sentence with a duration
    if query.intent is Intent.TODO:
        if PRESCRIPTIVE.search(sentence):
            bonus += 0.06
        if role is Role.PROBLEM:
            bonus -= 0.1
        elif role in (Role.BACKGROUND, Role.SUMMARY):
            bonus -= 0.06
    return bonus


class SentenceChooser:
    """Picks the sentences that answer a query from passages already in its language."""

    def __init__(
        self,
        encoder: Encoder,
        english: Encoder | None,
        doc_language: Callable[[Passage], str],
    ) -> None:
        """Wire the collaborators.

        Args:
            encoder: the multilingual sentence encoder (scores sentences against the question).
            english: an English sentence encoder (MiniLM) that also scores English sentences.
            doc_language: the language of a passage's document ("en" or "zh").
        """
        self.encoder = encoder
        self.english = english
        self.doc_language = doc_language

    def choose(self, query: Query, passages: list[Passage]) -> list[Point]:
        """The sentences that answer the query best, cut relative to the best one."""
        if not passages:
            return []
        q_tokens = tokens(expand(query.search_text))  # with the texts' words ("pay" -> salary)
        rows = self._rows(query, passages)
        found = evidence(query, passages, rows, q_tokens)
        candidates = self._candidates(query, passages, rows, found)
        if not candidates:
            return []
        chosen = _select(query, candidates)
        chosen += self._beside_own(query, passages, rows, q_tokens, chosen)
        if query.intent is Intent.FACT and chosen and len(query.asks) > 1:
            chosen = with_complements(query, chosen, rows, candidates)
        in_order = sorted(passages, key=lambda p: int(p.metadata.get("ordinal", 0)))
        for c in chosen:
            c.more = enumeration(c, in_order, self._sentences)
            c.caveat = caveat(c, self._sentences)
        listed = {s for c in chosen for s, _ in c.more}
        chosen = [c for c in chosen if c.sentence not in listed]
        chosen = whole_provisions(chosen, clauses_only=query.intent is Intent.FACT)
        if query.intent is Intent.FACT:
            for point in [*chosen, *(x for c in chosen for x in c.complements)]:
                split_editorial_tail(query, point)
        if about_problems(query):
            return chosen  # "which areas does this problem affect": the problem is the answer
        return without_answered_problems(chosen)

    def _beside_own(
        self,
        query: Query,
        passages: list[Passage],
        rows: list[Row],
        q_tokens: frozenset[str],
        chosen: list[Point],
    ) -> list[Point]:
        """An answer from own documents alone also gets the best policy or research point on
        the question, judged among those passages only (an upload's high score must not hide
        them), when it is within WIDE_CUT of the best: one upload is never the only voice
        when the corpus speaks to the question (issue 16)."""
        if not chosen or any(c.passage.kind != "own" for c in chosen):
            return []
        others = [p for p in passages if p.kind != "own"]
        if not others:
            return []
        other_rows = [r for r in rows if r.passage.kind != "own"]
        found = evidence(query, others, other_rows, q_tokens)
        for c in self._candidates(query, others, other_rows, found):
            if c.score < chosen[0].score - BESIDE_OWN_CUT:
                break
            if all(float(c.vec @ o.vec) < DUPLICATE_COS for o in chosen):
                return [c]
        return []

    def _sentences(self, passage: Passage) -> list[str]:
        """The passage's sentences, as split (and cached) for scoring."""
        return sentence_vectors(passage.chunk_id, passage.text, self.encoder)[0]

    def _rows(self, query: Query, passages: list[Passage]) -> list[Row]:
        """Every sentence of the passages with its cosine to the question."""
        asked = query.search_text
        q_vec = self.encoder.encode_queries([asked])[0]
        english = self.english is not None and query.language == "en" and ENGLISH_WEIGHT > 0
        q_en = self.english.encode_queries([asked])[0] if english and self.english else None
        rows: list[Row] = []
        for p in passages:
            role = passage_role(p.metadata)
            sentences, vecs = sentence_vectors(p.chunk_id, p.text, self.encoder)
            sims = vecs @ q_vec
            heading = float(heading_vector(p.section, self.encoder) @ q_vec)
            if q_en is not None and self.english is not None and self.doc_language(p) == "en":
                # on English text the English model reads the sentence too (USE alone is weak
                # on long sentences); the two cosines are averaged
                _, en_vecs = sentence_vectors(p.chunk_id, p.text, self.english, light=True)
                sims = (1 - ENGLISH_WEIGHT) * sims + ENGLISH_WEIGHT * (en_vecs @ q_en)
                heading = (1 - ENGLISH_WEIGHT) * heading + ENGLISH_WEIGHT * float(
                    heading_vector(p.section, self.english, light=True) @ q_en
                )
            if query.intent is Intent.FACT or role not in _NOT_MEASURES:
                # (a background heading names its document: "校企合作促进办法：发文机关、日期与
                # 文号" matches every question that names the Measures)
                sims = np.maximum(sims, HEADING_SHARE * heading)
            for sentence, vec, sim in zip(sentences, vecs, sims, strict=True):
                rows.append(Row(p, role, sentence, vec, tokens(sentence), float(sim)))
        return rows

    def _candidates(
        self, query: Query, passages: list[Passage], rows: list[Row], ev: Evidence
    ) -> list[Point]:
        """Scored candidate points, best first (a fact question's filtered to what was asked)."""
        top = max(p.score for p in passages) or 1.0
        counts_asked = counted(query.text) if "quantity" in query.asks else None
        candidates: list[Point] = []
        counting: set[int] = set()
        asked_rounds = rounds(query.text) if query.intent is Intent.FACT else set()
        for row in rows:
            p = row.passage
            if _other_round(asked_rounds, row):
                continue
            counts = counts_asked is not None and counts_asked(row.sentence, row.tokens)
            if not _admissible(query, row, top, ev, counts):
                continue
            score = row.sim
            score += PRIOR_WEIGHT * max(0.0, p.score / top) ** PRIOR_POWER if top > 0 else 0.0
            score += LEXICAL_WEIGHT * ev.lexical[id(row)]
            score += CONTEXT_WEIGHT * ev.context[p.chunk_id]
            if query.intent is Intent.FACT:
                # "When was the Double High Plan issued?" is about the document of that title,
                # not about a brief that mentions it
                score += TITLE_WEIGHT * ev.titled[p.doc_id]
                if counts:
                    score += (
                        COUNTED_BONUS  # "how many measures": "19 measures", not "8 departments"
                    )
            score += _bonus(query, row.role, row.sentence)
            if asked_rounds and asked_rounds & (rounds(row.sentence) | rounds(row.passage.section)):
                score += ROUND_BONUS  # "第一轮入选了多少所": the first-round list's section
            if query.intent is Intent.FACT and _CROSS_REFERENCE.search(row.sentence):
                score -= CROSS_REFERENCE_PENALTY  # the fact is the referenced brief's to state
            candidates.append(Point(row.sentence, p, score, row.role, row.vec))
            if counts:
                counting.add(id(candidates[-1]))
        if counting:
            # "how many key tasks": "56 key tasks", never the "nine bodies" that issued it; a
            # sentence stating the other thing asked ("when was it launched") stays
            others = query.asks - {"quantity", "document"}
            candidates = [
                c
                for c in candidates
                if id(c) in counting or any(sentence_has(kind, c.sentence) for kind in others)
            ]
        candidates.sort(key=lambda c: -c.score)
        if candidates and query.intent is Intent.TODO:
            _favour_linked_measures(candidates)
        if candidates and query.intent is Intent.FACT and "date" in query.asks:
            _latest_date_first(query, candidates)
        return candidates


def _admissible(query: Query, row: Row, top: float, ev: Evidence, counts: bool) -> bool:
    """The sentence may be a point at all: a fact question's states what was asked; a
    what-to-do point is no source note, list fragment or retelling of another brief."""
    if (
        query.intent is Intent.FACT
        and not states_the_fact(query, row, top, ev)
        # "how many key tasks": the sentence that counts them, in a document near the
        # best, answers whatever section retrieval ranked first
        and not (
            counts
            and row.passage.score >= FACT_DOCUMENT_FLOOR * top
            and (row.passage.doc_id, row.passage.section) in ev.dated
        )
    ):
        return False
    if query.intent is Intent.FACT:
        return True
    # a note on the brief's sources is no requirement or measure; "high-level dual-qualified
    # teaching teams;" is a list item, not an action; a sentence retelling another brief
    # "(see that brief)" is that brief's to make
    return not (
        EDITORIAL_SENTENCE.search(row.sentence)
        or _fragment(row.sentence)
        or _CROSS_REFERENCE.search(row.sentence)
    )


def _favour_linked_measures(candidates: list[Point]) -> None:
    """The recommendations that answer the problem the question describes move up (in place)."""
    cut = candidates[0].score - RELATIVE_CUT[Intent.TODO]
    problems = {
        (c.passage.doc_id, str(c.passage.metadata.get("section_key", "")))
        for c in candidates
        if c.score >= cut and c.role is Role.PROBLEM
    }
    if not problems:
        return
    for c in candidates:
        links = str(c.passage.metadata.get("answers", "")).split(",")
        if any((c.passage.doc_id, key.strip()) in problems for key in links if key.strip()):
            c.score += LINK_BONUS
    candidates.sort(key=lambda c: -c.score)


def _latest_date_first(query: Query, candidates: list[Point]) -> None:
    """ "When did the *revised* law take effect": of the dates the best-matching document
    states, the latest one answers, not the first adoption (re-sorts in place)."""
    if not _RECENT.search(query.text):
        return
    lead = candidates[0]
    same = [c for c in candidates if c.passage.doc_id == lead.passage.doc_id]
    latest = max(same, key=lambda c: (_latest_year(c.sentence), c.score))
    if _latest_year(latest.sentence) > _latest_year(lead.sentence):
        latest.score = lead.score + 0.01
        candidates.sort(key=lambda c: -c.score)


def _other_round(asked: set[int], row: Row) -> bool:
    """The sentence (or, when it names none, its section) is about another round than the one
    asked: "round two at 220 institutions" does not say how many the first round had."""
    if not asked:
        return False
    named = rounds(row.sentence) or rounds(row.passage.section)
    return bool(named and not named & asked)


def _fragment(sentence: str) -> bool:
    """Too short to be a measure on its own (a heading or list item cut from its sentence)."""
    words = len(re.findall(r"[A-Za-z0-9][\w'’-]*", sentence))
    return len(CJK_RE.findall(sentence)) < MIN_POINT_CJK and words < MIN_POINT_WORDS


def _select(query: Query, candidates: list[Point]) -> list[Point]:
    """The points within the relative cut: few per section, no near-duplicates."""
    best = candidates[0].score
    if query.intent is Intent.TODO and not about_problems(query):
        # a problem the question echoes is context, not a point: the cut is measured from the
        # best sentence that could be a point
        best = next((c.score for c in candidates if c.role is not Role.PROBLEM), best)
        actions = [c for c in candidates if c.score >= best - RELATIVE_CUT[query.intent]]
        if any(c.role not in _NOT_MEASURES for c in actions):
            # background ("issued by MOE and MOF in 2019") is no measure when measures exist
            candidates = [c for c in candidates if c.role not in _NOT_MEASURES]
            best = next((c.score for c in candidates if c.role is not Role.PROBLEM), best)
    cut = best - RELATIVE_CUT[query.intent]
    chosen: list[Point] = []
    per_section: dict[tuple[str, str], int] = {}
    for c in candidates:
        if c.score < cut or len(chosen) >= MAX_POINTS[query.intent]:
            break
        key = (c.passage.doc_id, c.passage.section)
        # a section the user named ("summarise §2") may give more of its sentences
        cap = MAX_PER_NAMED if c.passage.metadata.get("named_section") else MAX_PER_SECTION
        if per_section.get(key, 0) >= cap:
            continue
        if (
            c.passage.kind == "own"
            and sum(o.passage.doc_id == c.passage.doc_id for o in chosen) >= MAX_PER_OWN_DOCUMENT
        ):
            continue
        if any(float(c.vec @ o.vec) >= DUPLICATE_COS for o in chosen):
            continue
        per_section[key] = per_section.get(key, 0) + 1
        chosen.append(c)
    if query.intent is Intent.TODO and len({c.passage.doc_id for c in chosen}) < MIN_DOCUMENTS:
        # "how can we motivate enterprises": another document's measure within a wider cut
        # keeps a one-sided answer from hiding the other levers
        docs = {c.passage.doc_id for c in chosen}
        for c in candidates:
            if c.score < best - WIDE_CUT or len(docs) >= MIN_DOCUMENTS:
                break
            if c.passage.doc_id in docs or c.role is not chosen[0].role:
                continue
            if any(float(c.vec @ o.vec) >= DUPLICATE_COS for o in chosen):
                continue
            chosen.append(c)
            docs.add(c.passage.doc_id)
    return chosen
