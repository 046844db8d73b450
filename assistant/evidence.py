"""Evidence: how well each candidate sentence, its section and its document's title match a
question (cosines from the encoders, IDF-weighted shares of the question's words), and whether a
sentence can state the fact a fact question asks for. Pure apart from the encoders it is given.
"""

from __future__ import annotations

import math
import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

import numpy as np

from .counting import rounds
from .intent import Intent, Query, sentence_has
from .roles import Role
from .sentences import split_sentences
from .types import Passage

FACT_PASSAGE_FLOOR = 0.9  # a fact's passage scores at least this share of the best passage
FACT_DOCUMENT_FLOOR = 0.8  # documents this close to the best passage may be the one named
FACT_SENTENCE_SHARE = 0.5  # ... and the sentence itself at least this share of the best one
FACT_CONTEXT_SHARE = 0.6  # ... and names at least this share of what the best-matching one names
PRESCRIPTIVE = re.compile(
    r"\b(should|must|shall|need to|needs to|has to|have to|required|requires|is to|are to|"
    r"strengthen|establish|improve|build|promote|encourage|implement|reform|set up|create|"
    r"support|ensure|increase|expand|develop)\b|应当|应该|必须|要|需要|加强|建立|完善|推进|"
    r"推动|鼓励|支持|实施|落实|健全|构建|提高|深化",
    re.I,
)
YEARS = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")


class Encoder(Protocol):
    """The multilingual sentence encoder (USE) as the answerer needs it."""

    def encode_queries(self, texts: list[str]) -> np.ndarray: ...

    def encode_documents(self, texts: list[str]) -> np.ndarray: ...

    def __hash__(self) -> int: ...  # sentence vectors are cached per encoder


@dataclass(frozen=True)
class Row:
    """A candidate sentence with what scoring needs of it."""

    passage: Passage
    role: Role
    sentence: str
    vec: np.ndarray
    tokens: frozenset[str]
    sim: float


@dataclass(frozen=True)
class Evidence:
    """How much of the question each sentence, section and title names (IDF-weighted)."""

    lexical: dict[int, float]  # id(row) -> share of the question's words in the sentence
    context: dict[str, float]  # chunk id -> the same share in its section, title included
    titled: dict[str, float]  # doc_id -> share of the document title's words the question uses
    dated: set[tuple[str, str]]  # (doc_id, section) that speak of every year the question names
    best_lexical: float
    best_context: float  # among the passages a fact may come from


@lru_cache(maxsize=8192)
def sentence_vectors(
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
def tokens(text: str) -> frozenset[str]:
    """The lexical index's tokens of a text (stemmed English, jieba-segmented Chinese); cached,
    since the same sentences are scored for many questions."""
    from .lexical import tokenize

    return frozenset(tokenize(text))


@lru_cache(maxsize=1)
def generic_tokens() -> frozenset[str]:
    """Words every question about this corpus has: they name no topic."""
    return tokens(
        "higher vocational colleges high-skilled talents training 高职院校 高技能人才 培养"
    )


def title_share(p: Passage, question_tokens: AbstractSet[str]) -> float:
    """Share of a document title's words that the question uses (0.0 when it has none)."""
    words = tokens(f"{p.title} {p.metadata.get('title_zh', '')}") - generic_tokens()
    return len(words & question_tokens) / len(words) if words and question_tokens else 0.0


def best_prescriptive(
    p: Passage, q_vec: np.ndarray, encoder: Any, *, prefer_action: bool = True
) -> str:
    """The sentence of a passage that best states what to do (prescriptive ones preferred)."""
    sentences, vecs = sentence_vectors(p.chunk_id, p.text, encoder)
    action = 0.2 if prefer_action else 0.0
    scores = [
        float(v @ q_vec) + (action if PRESCRIPTIVE.search(s) else 0.0) - 0.02 * i
        for i, (s, v) in enumerate(zip(sentences, vecs, strict=True))
    ]
    return sentences[int(np.argmax(scores))]


def evidence(
    query: Query, passages: list[Passage], rows: list[Row], q_tokens: frozenset[str]
) -> Evidence:
    """IDF-weighted shares of the question's words in each sentence, section and title."""
    # a word shared by every candidate ("teachers") says little; a rare one ("salary") much
    df: dict[str, int] = {}
    for row in rows:
        for t in row.tokens & q_tokens:
            df[t] = df.get(t, 0) + 1
    # words no candidate has ("how", "long") tell the candidates nothing apart
    weight = {t: math.log(1.0 + len(rows) / (1.0 + df[t])) for t in q_tokens if df.get(t)}
    total = sum(weight.values()) or 1.0
    # per section: how much of the question its title, heading and text name
    section_text: dict[tuple[str, str], list[str]] = {}
    for p in passages:
        key = (p.doc_id, p.section)
        if key not in section_text:
            meta = p.metadata
            section_text[key] = [
                p.title,
                str(meta.get("title_zh", "")),
                str(meta.get("date", "")),
                p.section,
            ]
        section_text[key].append(p.text)
    # a fact question that names a year ("enrolment in 2023") is answered by a section
    # that speaks of that year, not by the same kind of number for another year
    years = set(YEARS.findall(query.text)) if query.intent is Intent.FACT else set()
    dated = {k for k, parts in section_text.items() if years <= set(YEARS.findall(" ".join(parts)))}
    by_section = {
        key: sum(weight.get(t, 0.0) for t in tokens(" ".join(parts)) & q_tokens) / total
        for key, parts in section_text.items()
    }
    context = {p.chunk_id: by_section[(p.doc_id, p.section)] for p in passages}
    lexical = {
        id(row): sum(weight.get(t, 0.0) for t in row.tokens & q_tokens) / total for row in rows
    }
    top = max(p.score for p in passages) or 1.0
    eligible = [p for p in passages if p.score >= FACT_PASSAGE_FLOOR * top]
    return Evidence(
        lexical=lexical,
        context=context,
        titled={p.doc_id: title_share(p, q_tokens) for p in passages},
        dated=dated,
        best_lexical=max(lexical.values(), default=0.0),
        best_context=max((context[p.chunk_id] for p in eligible), default=0.0),
    )


def states_the_fact(query: Query, row: Row, top: float, ev: Evidence) -> bool:
    """Whether a sentence may answer a fact question (see the module docstring)."""
    p = row.passage
    if "money" in query.asks and ev.lexical[id(row)] < FACT_SENTENCE_SHARE * ev.best_lexical:
        return False  # an amount for what was asked ("scholarship"), not another amount
    named_round = bool(rounds(query.text) & rounds(p.section))
    if p.score < FACT_PASSAGE_FLOOR * top and not named_round:
        # a fact comes from a passage about what was asked, not a neighbour (a section on the
        # round the question names, "第一轮名单", is about what was asked)
        return False
    # ... that names what the question names (not another subsidy); a question asking two
    # things ("who issued it, and how much money does it get") names each in another passage
    needed = query.asks - {"document"}
    if ev.context[p.chunk_id] < FACT_CONTEXT_SHARE / max(1, len(needed)) * ev.best_context:
        return False
    if (p.doc_id, p.section) not in ev.dated:
        return False
    # a date question is answered by a sentence with a date; "which document says so" by any
    # sentence, since its citation names the document
    return not needed or any(sentence_has(kind, row.sentence) for kind in needed)
