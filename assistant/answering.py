"""Compose: a Query and its passages -> an Answer with numbered, verifiable citations.

Input: Query (assistant.intent) and Passages. Output: Answer. The default answerer is
extractive: every sentence it quotes is verbatim from a cited passage.

What the reader gets depends on what was asked:
- a *fact* question opens with the one sentence that states it (a date question with a
  sentence that has a date), then at most two related points;
- a *what-to-do* question gets the sentences that answer it best, cut relative to the best one
  (one good point beats five), grouped by provenance: binding provisions, targets, the
  college's rules, research recommendations with the problem each answers;
- an *overview* gets an outline: for the paper, its four countermeasures tied to its problems.
Editorial notes are never points; a problem statement is never a countermeasure; a question
whose distinctive terms the passages never mention is "not covered" (assistant.support).
A Chinese question quotes the Chinese version of a document where there is one (the paper's
is the project's translation, and says so), an English question the English.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

import numpy as np

from .glossary import expand
from .intent import Intent, Query, as_followup, make_query, sentence_has
from .roles import Role, passage_role
from .sentences import split_sentences
from .support import is_supported, support, uncovered_terms
from .text import escape_md
from .types import Answer, Passage

__all__ = [
    "ExtractiveAnswerer",
    "escape_md",
    "history_turns",
    "is_supported",
    "localised_citation",
    "split_sentences",
    "support",
]

RETRIEVE_K = {Intent.FACT: 12, Intent.TODO: 12, Intent.OVERVIEW: 20}
MAX_POINTS = {Intent.FACT: 3, Intent.TODO: 5, Intent.OVERVIEW: 8}
# A sentence is a point when it scores within this much of the best sentence (USE cosine
# scale, bonuses included). Chosen on tests/golden/answers/dev.jsonl.
RELATIVE_CUT = {Intent.FACT: 0.06, Intent.TODO: 0.12, Intent.OVERVIEW: 0.14}
MAX_PER_SECTION = 2
MIN_DOCUMENTS, WIDE_CUT = (
    2,
    0.25,
)  # a what-to-do answer from one document looks this far for another
ENGLISH_WEIGHT = 0.5  # share of MiniLM in an English sentence's cosine (the rest is USE)
FOLLOWUP_BOOST = 1.2  # a follow-up's passages from the documents of the turn it follows
FOLLOWUP_SAID = 0.8  # the passages that answered the previous turn: said already
FOLLOWUP_DOC_SHARE = 0.9  # ... which are those found for it within this share of the best
MAX_CITATIONS = 10  # points plus the problems they answer; the web chat shows this many sources
FACT_PASSAGE_FLOOR = 0.9  # a fact's passage scores at least this share of the best passage
FACT_DOCUMENT_FLOOR = 0.8  # documents this close to the best passage may be the one named
TITLE_WEIGHT = 0.3  # a fact question's words found in the title of the sentence's document
FACT_SENTENCE_SHARE = 0.5  # ... and the sentence itself at least this share of the best one
FACT_CONTEXT_SHARE = 0.6  # ... and names at least this share of what the best-matching one names
PRIOR_WEIGHT, PRIOR_POWER = (
    0.3,
    1.0,
)  # the retrieval score of the sentence's passage, relative to the best
CONTEXT_WEIGHT = 0.2  # the same share, in the sentence's passage with its title and section
LEXICAL_WEIGHT = (
    0.3  # IDF-weighted share of the question's words (and glossary forms) in a sentence
)
DUPLICATE_COS = 0.88  # two sentences this close (e.g. the same fact in two briefs) are one point
_PRESCRIPTIVE = re.compile(
    r"\b(should|must|shall|need to|needs to|has to|have to|required|requires|is to|are to|"
    r"strengthen|establish|improve|build|promote|encourage|implement|reform|set up|create|"
    r"support|ensure|increase|expand|develop)\b|应当|应该|必须|要|需要|加强|建立|完善|推进|"
    r"推动|鼓励|支持|实施|落实|健全|构建|提高|深化",
    re.I,
)
_PAPER_WORDS = re.compile(
    r"\b(paper|study|article|research|author|authors)\b|论文|文章|研究|作者|本文|该文", re.I
)
_OUTLINE_WORDS = re.compile(
    r"\b(summari[sz]e|summary|overview|outline|in a nutshell|main|key|countermeasures?|"
    r"measures|recommendations?|problems?|solutions?|propose[sd]?|suggest(s|ed)?|identif(y|ies)|"
    r"give|me|short|brief|what|which|are|is|does|do|the|this|of|a|its|all|how|see|sees|say|says|"
    r"points?|lines?|sentences?|words?|paragraphs?|in|one|two|three|four|five|few|s)\b|"
    r"概括|总结|概述|综述|主要|内容|讲了什么|说了什么|哪些|什么|对策|措施|问题|建议|提出|一共|总共|"
    r"全部|所有|一下|帮我|这篇|有|了|的|是|吗|呢|么|[一二三四五几]句话?|简要|简单|用",
    re.I,
)


_RECENT = re.compile(
    r"\b(revised|revision|new|newest|latest|current|currently|now|amended|updated)\b|修订|修改|新|现行|最新|目前|现在",
    re.I,
)
_YEARS = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
# facts about a document itself, stated anywhere in its brief (not a number about its subject)
_ABOUT_THE_DOCUMENT = frozenset({"date", "docnumber", "issuer", "document"})
ASKED_BONUS = 0.1
_SECTION_REF = re.compile(r"(?:§|section\s+|第)\s*(\d(?:\.\d)?)|(\d\.\d)\s*节", re.I)
# sections a reader names by their heading: "the conclusion", "the introduction", "the abstract"
_NAMEABLE = frozenset({"abstract", "1", "2", "5"})
_NAMED_ZH = {"摘要": "abstract", "引言": "1", "结论": "5", "结语": "5"}
_ENUM_START = re.compile(r"^\s*(First(ly)?\b|The first\b|一是|其一|首先|第一[，,、])", re.I)
_ENUM_NEXT = re.compile(
    r"^\s*(Second(ly)?\b|Third(ly)?\b|Fourth(ly)?\b|Finally\b|Lastly\b|The (second|third|fourth)\b|"
    r"[二三四五]是|其[二三四]|其次|再次|最后|第[二三四五][，,、])",
    re.I,
)
MAX_ENUMERATION = 4
_SUMMARY_WORDS = re.compile(
    r"\b(summari[sz]e|summary|overview|in a nutshell|outline)\b|"
    r"概括|总结|概述|主要内容|讲了什么|说了什么",
    re.I,
)
_PROBLEM_WORDS = re.compile(r"\bproblems?\b|问题", re.I)
_MEASURE_WORDS = re.compile(
    r"\b(countermeasures?|measures|recommendations?|solutions?)\b|对策|措施|建议", re.I
)


@lru_cache(maxsize=1)
def _GENERIC_TOKENS() -> frozenset[str]:
    """Words every question about this corpus has: they name no topic."""
    return frozenset(
        _tokens("higher vocational colleges high-skilled talents training 高职院校 高技能人才 培养")
    )


class Retrieve(Protocol):
    """The retrieval stage as the answerer needs it."""

    def __call__(
        self, text: str, k: int, /, *, sources: list[str] | None, kinds: list[str] | None
    ) -> list[Passage]: ...


class Encoder(Protocol):
    """The multilingual sentence encoder (USE) as the answerer needs it."""

    def encode_queries(self, texts: list[str]) -> np.ndarray: ...

    def encode_documents(self, texts: list[str]) -> np.ndarray: ...

    def __hash__(self) -> int: ...  # sentence vectors are cached per encoder


@dataclass(frozen=True)
class Library:
    """What the answerer may read of the index besides retrieval (narrow, read-only)."""

    # doc_id -> the same document in another language ({"zh": doc_id, "en": doc_id}), if any
    versions: Callable[[str], dict[str, str]]
    # (doc_id, section index or None) -> [(chunk id, text, metadata)] of committed chunks
    chunks: Callable[[str, int | None], list[tuple[str, str, dict[str, Any]]]]
    # language -> one line on what the corpus covers
    coverage: Callable[[str], str]
    # doc_id of the paper, if one is indexed
    paper_id: Callable[[], str | None]
    # question -> the documents it names by title ("职业教育法", "Made in China 2025"), all versions
    named: Callable[[str], list[str]] = lambda question: []


@dataclass
class _Point:
    """One quoted sentence chosen for the answer."""

    sentence: str
    passage: Passage
    score: float
    role: Role
    vec: np.ndarray
    # the rest of an enumeration ("The second is ..."), each with the passage that holds it
    more: list[tuple[str, Passage]] = dataclasses.field(default_factory=list)
    # for a fact question asking two things: the sentences that state the others
    complements: list[_Point] = dataclasses.field(default_factory=list)

    @property
    def sentences(self) -> list[str]:
        """The quoted sentences: the chosen one and, for "First, ...", its sibling items."""
        return [self.sentence, *(s for s, _ in self.more)]


def history_turns(history: Sequence[Any] | None) -> list[tuple[str, str]]:
    """Normalise a chat history (pairs or role/content dicts) to (role, text) turns."""
    turns: list[tuple[str, str]] = []
    for item in history or []:
        if isinstance(item, dict):
            content = item.get("content")
            if isinstance(content, list):  # gradio multimodal content parts
                content = " ".join(str(c.get("text", "")) for c in content if isinstance(c, dict))
            turns.append((str(item.get("role", "user")), str(content or "")))
        elif isinstance(item, list | tuple) and len(item) == 2:
            turns.append(("user", str(item[0] or "")))
            turns.append(("assistant", str(item[1] or "")))
    return turns


def user_questions(history: Sequence[Any] | None) -> list[str]:
    """The earlier user questions of a chat history, oldest first."""
    return [t for role, t in history_turns(history) if role == "user" and t.strip()]


def condense(question: str, history: Sequence[Any] | None) -> tuple[str, str]:
    """A follow-up as a standalone retrieval query: (query, the question it follows or "")."""
    query = make_query(question, user_questions(history))
    return query.search_text, query.previous


def localised_citation(passage: Passage, language: str) -> str:
    """The citation label, led by the Chinese title for Chinese questions when one is known."""
    title_zh = str(passage.metadata.get("title_zh", ""))
    citation = passage.citation
    if language != "zh":
        return citation
    for en, zh in _KIND_ZH.items():
        citation = citation.replace(en, zh, 1)
    if not title_zh or f"《{title_zh}》" in citation:
        return citation
    if citation.startswith(title_zh):  # a Chinese version: its own title, in 《》
        return f"《{title_zh}》{citation[len(title_zh) :]}"
    return f"《{title_zh}》 {citation}"


_KIND_ZH = {" (paper)": "（论文）", " (your document)": "（本校文件）"}


def provenance_group(passage: Passage) -> str:
    """The wording key of a passage's provenance: its kind and its section's role."""
    return _group(passage, passage_role(passage.metadata))


def _group(passage: Passage, role: Role) -> str:
    """The wording key of a point's provenance group (and of its Sources label)."""
    kind = passage.kind
    if kind == "policy":
        if role is Role.PROVISION:
            return "policy"
        if role is Role.TARGET:
            return "target"
        if role is Role.RECOMMENDATION:
            return "policy_advice"
        return "policy_background"
    if kind == "paper":
        if role is Role.RECOMMENDATION:
            return "paper"
        if role is Role.PROBLEM:
            return "problem"
        return "paper_background"
    return "own_rule" if role is Role.PROVISION else "own"


GROUP_ORDER = (
    "policy",
    "target",
    "own_rule",
    "paper",
    "policy_advice",
    "own",
    "problem",
    "policy_background",
    "paper_background",
)


def _heading(passage: Passage) -> str:
    """A short heading for a point: the section title without its numbering."""
    parts = passage.section.split(" › ") if passage.section else [passage.title]

    def strip_number(label: str) -> str:
        # "4.3 Attach ...", "1. Introduction"; not "1+X ..." or "2021—2025年 ..."
        return re.sub(r"^\d{1,2}(?:\.\d{1,2})*\.?\s+", "", label).strip()

    last = strip_number(parts[-1])
    if len(parts) >= 2 and len(parts[-1]) <= 8:  # a bare item number such as "(1)"
        last = f"{strip_number(parts[-2])} {parts[-1]}"
    return last or passage.title


@lru_cache(maxsize=8192)
def _sentence_vectors(
    chunk_id: str, text: str, encoder: Any, *, light: bool = False
) -> tuple[list[str], np.ndarray]:
    """Sentences of a chunk and their vectors; cached, since chunk ids are content hashes.

    ``light`` embeds with the encoder's query side: for MiniLM that is the int8 ONNX export
    (same rankings), so answering never loads sentence-transformers and torch.
    """
    sentences = split_sentences(text) or [text.strip()]
    embed = encoder.encode_queries if light else encoder.encode_documents
    return sentences, embed(sentences)


@lru_cache(maxsize=16384)
def _tokens(text: str) -> frozenset[str]:
    """The lexical index's tokens of a text (stemmed English, jieba-segmented Chinese); cached,
    since the same sentences are scored for many questions."""
    from .lexical import tokenize

    return frozenset(tokenize(text))


class ExtractiveAnswerer:
    """Answers by quoting the sentences of the corpus that answer the question best."""

    mode = "extractive"

    def __init__(
        self,
        *,
        retrieve: Retrieve,
        encoder: Encoder,
        wording: Callable[[str], dict[str, str]],
        library: Library,
        english: Encoder | None = None,
    ) -> None:
        """Wire the collaborators.

        Args:
            retrieve: the retrieval stage.
            encoder: the multilingual sentence encoder (scores sentences against the question).
            wording: language -> the fixed wording (prompts/extractive.<lang>.yaml).
            library: read-only access to document versions, sections and coverage.
            english: an English sentence encoder (MiniLM) that also scores English sentences.
        """
        self.retrieve = retrieve
        self.encoder = encoder
        self.english = english
        self.wording = wording
        self.library = library

    # ------------------------------------------------------------------ entry points

    def stream(self, query: Query) -> Iterator[str | Answer]:
        """The Answerer protocol: partial text (none here), then the Answer."""
        yield self.answer(query)

    def answer(self, query: Query) -> Answer:
        """Retrieve for the query and compose."""
        answer = self.compose(query, self._passages(query))
        if not answer.grounded and query.earlier and not query.previous:
            # "What happens if a listed school underperforms?" after a question about the
            # Double High Plan: no pronoun, but only answerable in the conversation's context
            followup = as_followup(query)
            retry = self.compose(followup, self._passages(followup))
            if retry.grounded:
                return retry
        return answer

    def _named_sections(self, query: Query, found: list[Passage]) -> list[Passage]:
        """Sections of the paper the question names ("§4.3", "4.1节", "the conclusion"): the
        user chose the text, so they are material whatever their similarity score."""
        paper = self.library.paper_id()
        if not paper or not (_PAPER_WORDS.search(query.text) or _SECTION_REF.search(query.text)):
            return []
        doc = self.library.versions(paper).get(query.language, paper)
        rows = self.library.chunks(doc, None)
        keys = {m.group(1) or m.group(2) for m in _SECTION_REF.finditer(query.text)}
        keys |= {key for word, key in _NAMED_ZH.items() if word in query.text}
        words = {w[:6] for w in re.findall(r"[a-z]{6,}", query.text.lower())}
        top = max((p.score for p in found), default=1.0)
        out = []
        for chunk_id, text, meta in rows:
            key = str(meta.get("section_key", ""))
            heading = str(meta.get("section", "")).split(" › ")[-1].lower()
            heading_words = {w[:6] for w in re.findall(r"[a-z]{6,}", heading)}
            by_name = key in _NAMEABLE and words & heading_words
            if key in keys or by_name or any(key.startswith(k + "(") for k in keys):
                p = _passage_from_row(chunk_id, text, meta, score=top)
                out.append(dataclasses.replace(p, metadata={**p.metadata, "named_section": True}))
        return out

    def _passages(self, query: Query) -> list[Passage]:
        """Retrieval for a query; a follow-up keeps to the documents of the turn it follows."""
        k = RETRIEVE_K[query.intent]
        kinds = list(query.kinds) if query.kinds else None
        sources = list(query.sources) if query.sources else None
        if not sources and not kinds and _PAPER_WORDS.search(query.text):
            # "what does the paper say ..." is answered from the paper, not from a brief
            kinds = ["paper"]
        elif not sources and not kinds:
            # "职业教育法对……有哪些规定" is answered from that law, not from briefs citing it
            sources = self.library.named(query.text) or None
        passages = self.retrieve(query.search_text, k, sources=sources, kinds=kinds)
        named = self._named_sections(query, passages)
        if named:
            passages = named + [
                p for p in passages if p.chunk_id not in {n.chunk_id for n in named}
            ]
        if not query.previous or sources:
            return passages
        # the documents the previous question was about ("it", "那第一轮", "and for 2035?")
        before = self.retrieve(query.previous, 3, sources=None, kinds=kinds)
        lead = before[0].score if before else 0.0
        docs: list[str] = []
        for p in (p for p in before if p.score >= FOLLOWUP_DOC_SHARE * lead):
            for doc in self.library.versions(p.doc_id).values() or [p.doc_id]:
                if doc not in docs:
                    docs.append(doc)
        if not docs:
            return passages
        own = self.retrieve(query.text, k, sources=docs[:4], kinds=kinds)
        merged = {p.chunk_id: p for p in passages}
        for p in own:
            have = merged.get(p.chunk_id)
            boosted = dataclasses.replace(p, score=p.score * FOLLOWUP_BOOST)
            if have is None or have.score < boosted.score:
                merged[p.chunk_id] = (
                    boosted if have is None else dataclasses.replace(have, score=boosted.score)
                )
        # what answered the previous turn was said already: the follow-up asks for more
        said = {p.chunk_id for p in before}
        for chunk_id in said & set(merged):
            merged[chunk_id] = dataclasses.replace(
                merged[chunk_id], score=merged[chunk_id].score * FOLLOWUP_SAID
            )
        return sorted(merged.values(), key=lambda p: -p.score)[:k]

    def refusal(self, query: Query, passages: Sequence[Passage]) -> Answer | None:
        """The "not covered" Answer when the corpus does not answer the query, else None."""
        words = self.wording(query.language)
        usable = [p for p in passages if passage_role(p.metadata) is not Role.EDITORIAL]
        if query.intent is Intent.OVERVIEW and self._paper_outline_wanted(query):
            return None
        if not is_supported(usable, query.language):
            text = words["not_covered"].format(coverage=self.library.coverage(query.language))
            return self._refused(query, text)
        missing = uncovered_terms(query.search_text, usable)
        if missing:
            terms = "、".join(missing) if query.language == "zh" else ", ".join(missing)
            text = words["not_covered_terms"].format(terms=escape_md(terms))
            closest = self._closest(query, usable, 2)
            if closest:
                sep = "；" if query.language == "zh" else "; "
                text += "\n\n" + words["closest"].format(items=escape_md(sep.join(closest)))
            return self._refused(query, text)
        return None

    def compose(self, query: Query, passages: Sequence[Passage]) -> Answer:
        """Build the Answer from passages already retrieved (see the module docstring)."""
        refused = self.refusal(query, passages)
        if refused is not None:
            return refused
        if query.intent is Intent.OVERVIEW and self._paper_outline_wanted(query):
            outline = self._paper_outline(query)
            if outline is not None:
                return outline
        usable = [p for p in passages if passage_role(p.metadata) is not Role.EDITORIAL]
        shown = self._in_language(query, usable)
        if query.intent is Intent.FACT and shown and query.asks <= _ABOUT_THE_DOCUMENT:
            shown = self._with_whole_document(query, shown)
        points = self._choose(query, shown)
        if query.intent is Intent.FACT and query.asks and not points:
            # the passages are about the topic but no sentence states what was asked
            words = self.wording(query.language)
            what = words["ask_" + sorted(query.asks)[0]]
            text = words["not_covered_terms"].format(terms=what)
            closest = self._closest(query, usable, 1)
            if closest:
                text += "\n\n" + words["closest"].format(items=escape_md(closest[0]))
            return self._refused(query, text)
        if not points:
            return self._refused(
                query,
                self.wording(query.language)["not_covered"].format(
                    coverage=self.library.coverage(query.language)
                ),
            )
        return self._render(query, points)

    # ------------------------------------------------------------------ choosing

    def _closest(self, query: Query, passages: Sequence[Passage], n: int) -> list[str]:
        """Citations of the n nearest documents, in the question's language, each once (the
        English and the Chinese version of one brief are one document)."""
        out: list[str] = []
        seen: set[str] = set()
        for p in self._in_language(query, passages[: 2 * n + 2]):
            base = self.library.versions(p.doc_id).get("en", p.doc_id)
            if base not in seen:
                seen.add(base)
                out.append(localised_citation(p, query.language))
            if len(out) == n:
                break
        return out

    def _in_language(self, query: Query, passages: Sequence[Passage]) -> list[Passage]:
        """Each hit in the question's language where its document has that version; one per
        (document, section) across languages, best first."""
        out: list[Passage] = []
        seen: set[tuple[str, int]] = set()
        for p in passages:
            versions = self.library.versions(p.doc_id)
            base = versions.get("en", p.doc_id)
            index = int(p.metadata.get("section_index", -1))
            key = (base, index if index >= 0 else hash(p.chunk_id))
            if key in seen:
                continue
            seen.add(key)
            if index < 0:
                out.append(p)
                continue
            lang = self._doc_language(p)
            target = versions.get(query.language)
            shown = target if target and lang != query.language else p.doc_id
            # the whole section, so the sentence that answers is there even when retrieval
            # found its neighbour ("adopted in 1996" vs "in force since 1 May 2022")
            rows = self.library.chunks(shown, index) or [(p.chunk_id, p.text, p.metadata)]
            is_translation = shown != p.doc_id or bool(p.metadata.get("translation_of"))
            original = self._original(p, versions, index) if is_translation else None
            for chunk_id, text, meta in rows:
                if chunk_id == p.chunk_id:
                    extra = {}
                    if original is not None and original.doc_id != p.doc_id:
                        extra = {
                            "original_text": original.text,
                            "original_section": original.section,
                        }
                    out.append(dataclasses.replace(p, metadata={**p.metadata, **extra}))
                else:
                    out.append(_twin_passage(p, chunk_id, text, meta, original))
        return out

    def _with_whole_document(self, query: Query, passages: list[Passage]) -> list[Passage]:
        """A fact about a document (its date, number, issuer) may sit in another of its
        sections than the one retrieval found: add the rest of the best passage's document."""
        best = passages[0].score
        tokens = _tokens(expand(query.search_text))
        near = [p for p in passages if p.score >= FACT_DOCUMENT_FLOOR * best] or passages[:1]
        # the document the question names by title, among the passages close to the best
        top = max(near, key=lambda p: (_title_share(p, tokens), p.score))
        top = dataclasses.replace(top, score=max(top.score, best))
        have = {p.chunk_id for p in passages}
        extra = []
        for chunk_id, text, meta in self.library.chunks(top.doc_id, None):
            if chunk_id in have or Role.parse(meta.get("role")) is Role.EDITORIAL:
                continue
            row = _twin_passage(top, chunk_id, text, meta, None)
            extra.append(dataclasses.replace(row, score=top.score))
        if top.doc_id != passages[0].doc_id:  # the named document's retrieved sections too
            passages = [
                dataclasses.replace(p, score=max(p.score, best)) if p.doc_id == top.doc_id else p
                for p in passages
            ]
        return passages + extra

    def _doc_language(self, p: Passage) -> str:
        """The language of a passage's document, not of the chunk (an English chunk full of
        Chinese names can look Chinese to detect_language)."""
        versions = self.library.versions(p.doc_id)
        lang = next((k for k, v in versions.items() if v == p.doc_id), "")
        return lang or str(p.metadata.get("lang", "en"))

    def _original(self, hit: Passage, versions: dict[str, str], index: int) -> Passage | None:
        """For a translated section shown instead of a hit: the English original's section."""
        base = versions.get("en")
        if not base or base == hit.doc_id:
            return hit if self._doc_language(hit) == "en" else None
        rows = self.library.chunks(base, index)
        if not rows:
            return None
        chunk_id, _, meta = rows[0]
        text = " ".join(r[1] for r in rows)
        return _passage_from_row(chunk_id, text, meta, score=hit.score)

    def _choose(self, query: Query, passages: list[Passage]) -> list[_Point]:
        """The sentences that answer the query best, cut relative to the best one."""
        if not passages:
            return []
        asked = query.search_text
        q_vec = self.encoder.encode_queries([asked])[0]
        english = self.english is not None and query.language == "en" and ENGLISH_WEIGHT > 0
        q_en = self.english.encode_queries([asked])[0] if english and self.english else None
        # the question's words and the texts' words for them (the glossary): "pay" -> salary
        q_tokens = _tokens(expand(asked))
        top = max(p.score for p in passages) or 1.0
        rows: list[tuple[Passage, Role, str, np.ndarray, frozenset[str], float]] = []
        for p in passages:
            role = passage_role(p.metadata)
            sentences, vecs = _sentence_vectors(p.chunk_id, p.text, self.encoder)
            sims = vecs @ q_vec
            if q_en is not None and self._doc_language(p) == "en":
                # on English text the English model reads the sentence too (USE alone is weak
                # on long sentences); the two cosines are averaged
                _, en_vecs = _sentence_vectors(p.chunk_id, p.text, self.english, light=True)
                sims = (1 - ENGLISH_WEIGHT) * sims + ENGLISH_WEIGHT * (en_vecs @ q_en)
            for sentence, vec, sim in zip(sentences, vecs, sims, strict=True):
                rows.append((p, role, sentence, vec, _tokens(sentence), float(sim)))
        # a word shared by every candidate ("teachers") says little; a rare one ("salary") much
        df: dict[str, int] = {}
        for *_, toks, _sim in rows:
            for t in toks & q_tokens:
                df[t] = df.get(t, 0) + 1
        # words no candidate has ("how", "long") tell the candidates nothing apart
        weight = {t: math.log(1.0 + len(rows) / (1.0 + df[t])) for t in q_tokens if df.get(t)}
        total = sum(weight.values()) or 1.0
        # per section: how much of the question its title, heading and text name
        section_text: dict[tuple[str, str], list[str]] = {}
        for p in passages:
            key = (p.doc_id, p.section)
            if key not in section_text:
                section_text[key] = [
                    p.title,
                    str(p.metadata.get("title_zh", "")),
                    str(p.metadata.get("date", "")),
                    p.section,
                ]
            section_text[key].append(p.text)
        # a fact question that names a year ("enrolment in 2023") is answered by a section
        # that speaks of that year, not by the same kind of number for another year
        years = set(_YEARS.findall(query.text)) if query.intent is Intent.FACT else set()
        dated = {
            key
            for key, parts in section_text.items()
            if years <= set(_YEARS.findall(" ".join(parts)))
        }
        by_section = {
            key: sum(weight.get(t, 0.0) for t in _tokens(" ".join(parts)) & q_tokens) / total
            for key, parts in section_text.items()
        }
        context = {p.chunk_id: by_section[(p.doc_id, p.section)] for p in passages}
        titled = {p.doc_id: _title_share(p, q_tokens) for p in passages}
        lexical = {
            id(row): sum(weight.get(t, 0.0) for t in row[4] & q_tokens) / total for row in rows
        }
        best_lexical = max(lexical.values(), default=0.0)
        eligible = [p for p in passages if p.score >= FACT_PASSAGE_FLOOR * top]
        best_context = max((context[p.chunk_id] for p in eligible), default=0.0)
        candidates: list[_Point] = []
        for row in rows:
            p, role, sentence, vec, toks, sim = row
            if query.intent is Intent.FACT:
                if "money" in query.asks and lexical[id(row)] < FACT_SENTENCE_SHARE * best_lexical:
                    continue  # an amount for what was asked ("scholarship"), not another amount
                if p.score < FACT_PASSAGE_FLOOR * top:
                    continue  # a fact comes from a passage about what was asked, not a neighbour
                if context[p.chunk_id] < FACT_CONTEXT_SHARE * best_context:
                    continue  # ... that names what the question names (not another subsidy)
                if (p.doc_id, p.section) not in dated:
                    continue
                # a date question is answered by a sentence with a date; "which document says
                # so" by any sentence, since its citation names the document
                needed = query.asks - {"document"}
                if needed and not any(sentence_has(kind, sentence) for kind in needed):
                    continue
            score = sim
            score += PRIOR_WEIGHT * max(0.0, p.score / top) ** PRIOR_POWER if top > 0 else 0.0
            score += LEXICAL_WEIGHT * lexical[id(row)]
            score += CONTEXT_WEIGHT * context[p.chunk_id]
            if query.intent is Intent.FACT:
                # "When was the Double High Plan issued?" is about the document of that title,
                # not about a brief that mentions it
                score += TITLE_WEIGHT * titled[p.doc_id]
            score += self._bonus(query, role, sentence)
            candidates.append(_Point(sentence, p, score, role, vec))
        if not candidates:
            return []
        candidates.sort(key=lambda c: -c.score)
        if query.intent is Intent.FACT and "date" in query.asks and _RECENT.search(query.text):
            # "when did the *revised* law take effect": of the dates the best-matching
            # document states, the latest one answers, not the first adoption
            lead = candidates[0]
            same = [c for c in candidates if c.passage.doc_id == lead.passage.doc_id]
            latest = max(same, key=lambda c: (_latest_year(c.sentence), c.score))
            if _latest_year(latest.sentence) > _latest_year(lead.sentence):
                latest.score = lead.score + 0.01
                candidates.sort(key=lambda c: -c.score)
        best = candidates[0].score
        cut = best - RELATIVE_CUT[query.intent]
        chosen: list[_Point] = []
        per_section: dict[tuple[str, str], int] = {}
        for c in candidates:
            if c.score < cut or len(chosen) >= MAX_POINTS[query.intent]:
                break
            key = (c.passage.doc_id, c.passage.section)
            if per_section.get(key, 0) >= MAX_PER_SECTION:
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
        in_order = sorted(passages, key=lambda p: int(p.metadata.get("ordinal", 0)))
        if query.intent is Intent.FACT and chosen and len(query.asks) > 1:
            # "When was it issued, and by whom?": the lead states one, a second sentence the other
            lead = chosen[0]
            for kind in sorted(query.asks):
                if any(sentence_has(kind, c.sentence) for c in [lead, *lead.complements]):
                    continue
                # from the lead's own section first (where a brief states date and issuer),
                # whether or not that sentence repeats the question's words
                own = [
                    _Point(r[2], r[0], 0.0, r[1], r[3])
                    for r in rows
                    if r[0].doc_id == lead.passage.doc_id
                    and r[0].section == lead.passage.section
                    and r[2] != lead.sentence
                ]
                typed = [
                    c
                    for c in [*own, *candidates]
                    if c is not lead
                    and c.sentence != lead.sentence
                    and sentence_has(kind, c.sentence)
                ]
                other = min(
                    typed,
                    key=lambda c: (
                        c.passage.section != lead.passage.section,
                        c.passage.doc_id != lead.passage.doc_id,
                        -c.score,
                    ),
                    default=None,
                )
                if other is not None and other not in lead.complements:
                    lead.complements.append(other)
            extra = {id(c) for c in lead.complements}
            chosen = [chosen[0], *(c for c in chosen[1:] if id(c) not in extra)]
        for c in chosen:
            c.more = self._enumeration(c, in_order)
        listed = {s for c in chosen for s, _ in c.more}
        chosen = [c for c in chosen if c.sentence not in listed]
        # a problem that a chosen recommendation answers is shown as that point's context
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
        ] or chosen[:1]

    def _enumeration(self, point: _Point, passages: list[Passage]) -> list[tuple[str, Passage]]:
        """ "First, establish ..." is one item of a list: the later items of the same section
        ("The second is ...", "二是 ..."), possibly in the next chunk, belong to the point."""
        if not _ENUM_START.match(point.sentence):
            return []
        section = [
            p
            for p in passages
            if p.doc_id == point.passage.doc_id and p.section == point.passage.section
        ]
        flat = [
            (sentence, p)
            for p in section
            for sentence in _sentence_vectors(p.chunk_id, p.text, self.encoder)[0]
        ]
        at = next(
            (i for i, (x, p) in enumerate(flat) if x == point.sentence and p is point.passage),
            None,
        )
        if at is None:
            return []
        more: list[tuple[str, Passage]] = []
        gap = 0
        for sentence, p in flat[at + 1 :]:
            if _ENUM_NEXT.match(sentence):
                more.append((sentence, p))
                gap = 0
            else:
                gap += 1
                if gap > 2 or _ENUM_START.match(sentence):
                    break
            if len(more) >= MAX_ENUMERATION:
                break
        return more

    @staticmethod
    def _bonus(query: Query, role: Role, sentence: str) -> float:
        if query.intent is Intent.FACT:
            return 0.0
        bonus = 0.0
        if query.asks and any(sentence_has(kind, sentence) for kind in query.asks):
            bonus += ASKED_BONUS  # "what are the time requirements": a sentence with a duration
        if query.intent is Intent.TODO:
            if _PRESCRIPTIVE.search(sentence):
                bonus += 0.06
            if role is Role.PROBLEM:
                bonus -= 0.1
            elif role in (Role.BACKGROUND, Role.SUMMARY):
                bonus -= 0.06
        return bonus

    # ------------------------------------------------------------------ the paper's outline

    def _paper_outline_wanted(self, query: Query) -> bool:
        """An overview of the whole paper ("summarise the paper", "有哪些对策"), not of a topic."""
        if query.sources and self.library.paper_id() not in query.sources:
            return False
        if query.kinds and "paper" not in query.kinds:
            return False
        text = query.text
        if re.search(
            r"\b(requirements?|rules?|policy|policies|law|briefs?)\b|要求|政策|规定|文件",
            text,
            re.I,
        ):
            return False
        if not (_PAPER_WORDS.search(text) or _OUTLINE_WORDS.search(text)):
            return False
        # what is left once the words of an overview request are removed: a topic, or nothing
        rest = _OUTLINE_WORDS.sub(" ", _PAPER_WORDS.sub(" ", text))
        return len(_tokens(rest) - _GENERIC_TOKENS()) <= 1

    def _paper_outline(self, query: Query) -> Answer | None:
        """The paper's countermeasures (§4.x) with the problems (§3) they answer."""
        paper = self.library.paper_id()
        if not paper:
            return None
        doc = self.library.versions(paper).get(query.language, paper)
        rows = self.library.chunks(doc, None)
        if not rows:
            return None
        by_key: dict[str, list[Passage]] = {}
        for chunk_id, text, meta in rows:
            p = _passage_from_row(chunk_id, text, meta, score=1.0)
            by_key.setdefault(str(meta.get("section_key", "")), []).append(p)
        measures = [
            k
            for k in by_key
            if re.fullmatch(r"4\.\d+", k)
            and passage_role(by_key[k][0].metadata) is Role.RECOMMENDATION
        ]
        if not measures:
            return None
        words = self.wording(query.language)
        q_vec = self.encoder.encode_queries([query.text])[0]
        citations: list[Passage] = []

        def cite(p: Passage, quote: str) -> int:
            citations.append(dataclasses.replace(p, metadata={**p.metadata, "quote": quote}))
            return len(citations)

        lines: list[str] = []
        if _SUMMARY_WORDS.search(query.text) and by_key.get("abstract"):
            abstract = by_key["abstract"][0]
            lead = _best_prescriptive(abstract, q_vec, self.encoder, prefer_action=False)
            lines += [
                words["fact_lead"].format(quote=f"“{escape_md(lead)}”", ref=cite(abstract, lead)),
                "",
            ]
        if _PROBLEM_WORDS.search(query.text) and not _MEASURE_WORDS.search(query.text):
            return self._problems_outline(query, by_key, measures, lines, citations, cite)
        lines += [words["overview_paper"].format(count=len(measures)), ""]
        for n, key in enumerate(measures, 1):
            first = by_key[key][0]
            sentence = _best_prescriptive(first, q_vec, self.encoder)
            ref = cite(first, sentence)
            lines.append(
                words["item"].format(
                    n=n,
                    heading=escape_md(_heading(first)),
                    quote=f"“{escape_md(sentence)}”",
                    ref=ref,
                )
            )
            for problem in [s.strip() for s in str(first.metadata.get("answers", "")).split(",")]:
                if problem and by_key.get(problem):
                    pp = by_key[problem][0]
                    ps = (split_sentences(pp.text) or [pp.text])[0]
                    pref = cite(
                        dataclasses.replace(pp, metadata={**pp.metadata, "context": True}), ps
                    )
                    lines.append(
                        words["problem_context"].format(
                            key=escape_md(problem), quote=f"“{escape_md(ps)}”", ref=pref
                        )
                    )
        return self._finish(query, lines, citations)

    def _problems_outline(
        self,
        query: Query,
        by_key: dict[str, list[Passage]],
        measures: list[str],
        lines: list[str],
        citations: list[Passage],
        cite: Callable[[Passage, str], int],
    ) -> Answer:
        """The problems the paper identifies (§3), each with the countermeasure that answers it."""
        words = self.wording(query.language)
        problems = [k for k in by_key if re.fullmatch(r"3\(\d+\)", k)]
        lines += [words["overview_problems"].format(count=len(problems)), ""]
        answered_by = {
            p.strip(): m
            for m in measures
            for p in str(by_key[m][0].metadata.get("answers", "")).split(",")
            if p.strip()
        }
        for n, key in enumerate(problems, 1):
            first = by_key[key][0]
            sentence = (split_sentences(first.text) or [first.text])[0]
            lines.append(
                words["item"].format(
                    n=n,
                    heading=escape_md(_heading(first)),
                    quote=f"“{escape_md(sentence)}”",
                    ref=cite(first, sentence),
                )
            )
            measure = answered_by.get(key)
            if measure:
                mp = by_key[measure][0]
                lines.append(
                    words["answered_by"].format(
                        key=escape_md(measure),
                        heading=escape_md(_heading(mp)),
                        ref=cite(
                            dataclasses.replace(mp, metadata={**mp.metadata, "context": True}),
                            _heading(mp),
                        ),
                    )
                )
        return self._finish(query, lines, citations)

    # ------------------------------------------------------------------ rendering

    def _render(self, query: Query, points: list[_Point]) -> Answer:
        words = self.wording(query.language)
        lines: list[str] = []
        if query.previous:
            lines += [words["followup_note"].format(previous=escape_md(query.previous)), ""]
        citations: list[Passage] = []
        refs: dict[str, int] = {}

        def cite(p: Passage, quote: str) -> int:
            if p.chunk_id in refs:
                n = refs[p.chunk_id]
                old = citations[n - 1]
                joined = f"{old.metadata.get('quote', '')} … {quote}".strip(" …")
                citations[n - 1] = dataclasses.replace(
                    old, metadata={**old.metadata, "quote": joined}
                )
                return n
            citations.append(dataclasses.replace(p, metadata={**p.metadata, "quote": quote}))
            refs[p.chunk_id] = len(citations)
            return len(citations)

        def quote(point: _Point) -> str:
            mark = ""
            if query.language == "zh" and self._doc_language(point.passage) != "zh":
                mark = words["english_only"]
            return f"“{escape_md(point.sentence)}”{mark}"

        def more(point: _Point) -> str:
            """The later items of an enumeration, each cited to the chunk that holds it."""
            return "".join(
                f" … “{escape_md(sentence)}” [{cite(p, sentence)}]" for sentence, p in point.more
            )

        rest = points
        if query.intent is Intent.FACT and points:
            lead, rest = points[0], points[1:]
            named = ""
            if "document" in query.asks:
                document = _document_name(lead.passage, query.language)
                named = words["fact_document"].format(document=escape_md(document))
            lines.append(
                named
                + " ".join(
                    words["fact_lead"].format(quote=quote(pt), ref=cite(pt.passage, pt.sentence))
                    for pt in (lead, *lead.complements)
                )
            )
            if rest:
                lines += ["", f"**{words['fact_more']}**", ""]
        n = 0
        problems_shown: set[str] = set()
        for group in GROUP_ORDER:
            members = [pt for pt in rest if _group(pt.passage, pt.role) == group]
            if not members:
                continue
            if query.intent is not Intent.FACT:
                lines += ["", f"**{words['group_' + group]}**", ""]
            for pt in members:
                n += 1
                ref = cite(pt.passage, pt.sentence)
                lines.append(
                    words["item"].format(
                        n=n, heading=escape_md(_heading(pt.passage)), quote=quote(pt), ref=ref
                    )
                    + more(pt)
                )
                context = self._problem_context(pt, problems_shown)
                if context is not None:
                    key, problem, sentence = context
                    lines.append(
                        words["problem_context"].format(
                            key=escape_md(key),
                            quote=f"“{escape_md(sentence)}”",
                            ref=cite(problem, sentence),
                        )
                    )
        return self._finish(query, lines, citations)

    def _problem_context(self, point: _Point, shown: set[str]) -> tuple[str, Passage, str] | None:
        """The problem (§3) a research recommendation answers, once per answer."""
        links = [s.strip() for s in str(point.passage.metadata.get("answers", "")).split(",")]
        for key in links:
            if not key or key in shown:
                continue
            rows = [
                r
                for r in self.library.chunks(point.passage.doc_id, None)
                if str(r[2].get("section_key")) == key
            ]
            if not rows:
                continue
            shown.add(key)
            problem = _passage_from_row(*rows[0], score=point.passage.score)
            problem = dataclasses.replace(problem, metadata={**problem.metadata, "context": True})
            sentence = (split_sentences(problem.text) or [problem.text])[0]
            return key, problem, sentence
        return None

    def _finish(self, query: Query, lines: list[str], citations: list[Passage]) -> Answer:
        words = self.wording(query.language)
        body = "\n".join(lines).strip() + "\n"
        src = ["", f"**{words['sources_heading']}**", ""]
        citations = citations[:MAX_CITATIONS]
        for ref, p in enumerate(citations, 1):
            role = passage_role(p.metadata)
            label = words["label_" + _group(p, role)]
            # the label travels with the passage, so every view (side panel, API) says the same
            citations[ref - 1] = p = dataclasses.replace(
                p, metadata={**p.metadata, "provenance": label, "role": role.value}
            )
            line = words["source_item"].format(
                ref=ref, citation=escape_md(localised_citation(p, query.language)), provenance=label
            )
            if p.metadata.get("translation_note"):
                original = p.metadata.get("original_section") or p.metadata.get("section_key", "")
                line += words["translation_mark"].format(section=escape_md(str(original)))
            src += [line, ""]
        return Answer(
            text=(body + "\n".join(src)).strip() + "\n",
            body=body,
            citations=citations,
            grounded=True,
            mode=self.mode,
            language=query.language,
            question=query.text,
            intent=query.intent.value,
        )

    def _refused(self, query: Query, text: str) -> Answer:
        return Answer(
            text=text.strip() + "\n",
            citations=[],
            grounded=False,
            mode=self.mode,
            language=query.language,
            question=query.text,
            intent=query.intent.value,
        )


def _title_share(p: Passage, tokens: AbstractSet[str]) -> float:
    """Share of a document title's words that the question uses (0.0 when it has none)."""
    words = _tokens(f"{p.title} {p.metadata.get('title_zh', '')}") - _GENERIC_TOKENS()
    return len(words & tokens) / len(words) if words and tokens else 0.0


def _document_name(p: Passage, language: str) -> str:
    """A document as a reader names it: its title (Chinese in 《》 for Chinese readers) and
    its document number when it has one."""
    meta = p.metadata
    number = str(meta.get("doc_number", ""))
    if language == "zh":
        name = f"《{meta.get('title_zh') or p.title}》"
        return f"{name}（{number}）" if number else name
    title = str(meta.get("title_en") or p.title)
    return f"{title} ({number})" if number else title


def _latest_year(sentence: str) -> int:
    return max((int(y) for y in _YEARS.findall(sentence)), default=0)


def _best_prescriptive(
    p: Passage, q_vec: np.ndarray, encoder: Any, *, prefer_action: bool = True
) -> str:
    """The sentence of a passage that best states what to do (prescriptive ones preferred)."""
    sentences, vecs = _sentence_vectors(p.chunk_id, p.text, encoder)
    action = 0.2 if prefer_action else 0.0
    scores = [
        float(v @ q_vec) + (action if _PRESCRIPTIVE.search(s) else 0.0) - 0.02 * i
        for i, (s, v) in enumerate(zip(sentences, vecs, strict=True))
    ]
    return sentences[int(np.argmax(scores))]


def _passage_from_row(chunk_id: str, text: str, meta: dict[str, Any], *, score: float) -> Passage:
    from .retrieval import citation_label

    title = str(meta.get("title", meta.get("doc_id", "")))
    section = str(meta.get("section", ""))
    kind = str(meta.get("kind", "own"))
    return Passage(
        text=text,
        doc_id=str(meta.get("doc_id", "")),
        title=title,
        section=section,
        score=score,
        citation=citation_label(title, kind, section, meta),
        metadata={**meta, "chunk_id": chunk_id},
    )


def _twin_passage(
    hit: Passage, chunk_id: str, text: str, meta: dict[str, Any], original: Passage | None
) -> Passage:
    """The other-language version of a hit's section, carrying the hit's scores."""
    signals = {k: v for k, v in hit.metadata.items() if k not in meta}
    twin = _passage_from_row(chunk_id, text, {**signals, **meta}, score=hit.score)
    extra: dict[str, Any] = {}
    if original is not None:
        extra = {"original_text": original.text, "original_section": original.section}
    return dataclasses.replace(twin, metadata={**twin.metadata, **extra})


__all__ += ["GROUP_ORDER", "Library", "condense", "provenance_group", "user_questions"]
