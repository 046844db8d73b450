"""Compose: question + retrieved passages -> Answer with numbered, verifiable citations.

Input: Passages. Output: Answer. The default composer is extractive: every sentence it shows
is quoted verbatim from a cited passage, so every claim can be checked by construction.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from .ingestion import detect_language
from .prompts import load_wording
from .types import Answer, Passage

if TYPE_CHECKING:
    from .pipeline import Assistant

logger = logging.getLogger(__name__)

# Support: does the corpus answer this at all? Per passage, English questions combine the USE
# cosine with the question as asked (`support`), the dense cosines with its glossary expansion
# (`support_expanded`) and the raw BM25 score; Chinese questions use the expanded USE cosine.
# The thresholds separate tests/golden/**/offtopic.jsonl (all refused) from the on-topic sets
# (97.6% en, 100% zh grounded); `assistant eval` prints both rates.
SUPPORT_THRESHOLD = {"en": 0.62, "zh": 0.285}
# When the user narrows the search to a kind or to documents, the question is about those
# texts by the user's own choice; the evidence needed is lowered by this much (the off-topic
# questions score far below it: "capital of France" ~0.25 under 0.62).
FILTER_SLACK = {"en": 0.06, "zh": 0.03}
MAX_POINTS = 5
_SENT_RE = re.compile(r"[^.!?;。！？；]+(?:[.!?;。！？；]+|$)")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]()#+!|~>{}])")
_FOLLOWUP_RE = re.compile(
    r"\b(that|this|those|these|it|they|them|its|their|above|same|also|what about|and)\b|"
    r"(这|那|它|他们|上述|还有|此外|呢)",
    re.I,
)
KIND_ORDER = ("policy", "paper", "own")


def escape_md(text: str) -> str:
    """Make untrusted text inert in Markdown and HTML: entities for <>&, backslash the rest."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def support(passage: Passage) -> float:
    """Evidence that a passage answers the question, as a margin over its threshold (>= 0: yes).

    English question and English passage: the USE cosine with the question as asked, the dense
    cosines with its glossary expansion and the raw BM25 score. A Chinese question or a Chinese
    passage: the multilingual USE cosine (MiniLM and BM25 do not cross languages); for an
    English question on a Chinese passage, averaged over the expanded and the asked question.
    """
    meta = passage.metadata
    if meta.get("query_language") == "zh" or meta.get("lang") == "zh":
        slack = FILTER_SLACK["zh"] if meta.get("filtered") else 0.0
        cos = float(meta.get("cos_use", 0.0))
        if meta.get("query_language") != "zh":
            # English question, Chinese passage: half of the evidence comes from the question
            # as asked, so the glossary expansion alone cannot make an off-topic question
            # ("Kubernetes TLS certificates") look on-topic through a Chinese summary
            cos = 0.5 * (cos + float(meta.get("support", cos)))
        return cos - SUPPORT_THRESHOLD["zh"] + slack
    raw = float(meta.get("support", 0.0))
    expanded = float(meta.get("support_expanded", 0.0))
    bm25 = 0.05 * math.log1p(float(meta.get("bm25_raw", 0.0)))
    slack = FILTER_SLACK["en"] if meta.get("filtered") else 0.0
    return 0.5 * raw + expanded + bm25 - SUPPORT_THRESHOLD["en"] + slack


def is_supported(passages: Sequence[Passage], language: str = "en") -> bool:
    """True when the best passage clears its calibrated support threshold."""
    return bool(passages) and max(support(p) for p in passages) >= 0.0


def split_sentences(text: str) -> list[str]:
    """Sentences of a passage, each a verbatim substring of it."""
    return [m.group(0).strip() for m in _SENT_RE.finditer(text) if len(m.group(0).strip()) > 3]


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


def condense(question: str, history: Sequence[Any] | None) -> tuple[str, str]:
    """Turn a follow-up into a standalone retrieval query without an LLM.

    Returns:
        (query for retrieval, the previous question it was read against, or "").
    """
    previous = [t for role, t in history_turns(history) if role == "user" and t.strip()]
    if not previous:
        return question, ""
    short = len(question.split()) <= 12 or len(question) <= 24
    if short and _FOLLOWUP_RE.search(question):
        return f"{previous[-1]} {question}", previous[-1]
    return question, ""


def _coverage(assistant: Assistant, language: str) -> str:
    records = assistant.store.registry()
    kinds = {r.kind for r in records.values()}
    parts = []
    if "paper" in kinds:
        parts.append(
            "如何培养高技能人才：教育理念与顶层设计、课程与教学评价改革、双师型教师培养与激励、实训平台与社会支持"
            if language == "zh"
            else "how higher vocational colleges can train high-skilled talent (top-level design, "
            "curriculum and evaluation reform, dual-qualified teachers and their pay and "
            "promotion, training platforms and outside support)"
        )
    policies = [r for r in records.values() if r.kind == "policy"]
    if policies:
        parts.append(
            f"{len(policies)} 份国家职业教育政策摘要"
            if language == "zh"
            else f"{len(policies)} national vocational-education policy briefs"
        )
    own = [r.title for r in records.values() if r.kind == "own"]
    if own:
        parts.append(
            ("本校文件：" if language == "zh" else "your documents: ") + "; ".join(own[:5])
        )
    return "; ".join(parts) or ("（暂无文件）" if language == "zh" else "(nothing yet)")


def localised_citation(passage: Passage, language: str) -> str:
    """The citation label, led by the Chinese title for Chinese questions when one is known."""
    title_zh = str(passage.metadata.get("title_zh", ""))
    if language == "zh" and title_zh and title_zh not in passage.citation:
        return f"《{title_zh}》 {passage.citation}"
    return passage.citation


def _heading(passage: Passage) -> str:
    """A short heading for a countermeasure: the section title without its numbering."""
    parts = passage.section.split(" › ") if passage.section else [passage.title]

    def strip_number(label: str) -> str:
        return re.sub(r"^[\d.]+\s*", "", label).strip()

    last = strip_number(parts[-1])
    if len(parts) >= 2 and len(parts[-1]) <= 8:  # a bare item number such as "(1)"
        last = f"{strip_number(parts[-2])} {parts[-1]}"
    return last or passage.title


@lru_cache(maxsize=4096)
def _sentence_vectors(chunk_id: str, text: str, encoder: Any) -> tuple[list[str], np.ndarray]:
    """Sentences of a chunk and their USE vectors; cached, since chunk ids are content hashes."""
    sentences = split_sentences(text) or [text.strip()]
    return sentences, encoder.encode_documents(sentences)


def _select_sentences(
    assistant: Assistant, question: str, passages: list[Passage]
) -> list[list[str]]:
    """For each passage, the sentences that answer the question best (verbatim, in order)."""
    q_vec = assistant.use.encode_queries([question])[0]
    per_passage = [_sentence_vectors(p.chunk_id, p.text, assistant.use) for p in passages]
    scores = [vecs @ q_vec for _, vecs in per_passage]
    best = max((float(s.max()) for s in scores if len(s)), default=0.0)
    out = []
    for (sents, _), s_scores in zip(per_passage, scores, strict=True):
        order = np.argsort(-s_scores)
        keep = {int(order[0])}
        for j in order[1:3]:
            if s_scores[j] >= max(best - 0.12, 0.2):
                keep.add(int(j))
        out.append([sents[j] for j in sorted(keep)])
    return out


def compose_extractive(
    assistant: Assistant,
    question: str,
    passages: list[Passage],
    *,
    language: str,
    previous: str = "",
) -> Answer:
    """Build the Markdown answer from passages (see the module docstring)."""
    words = load_wording(assistant.settings.prompts_dir, language)
    if not is_supported(passages, language):
        text = words["not_covered"].format(coverage=_coverage(assistant, language))
        return Answer(text=text, citations=[], grounded=False, language=language, question=question)
    top = max(support(p) for p in passages)
    chosen = [p for p in passages if support(p) >= max(top - 0.12, 0.0)]
    chosen = chosen[:MAX_POINTS] or passages[:1]
    quotes = _select_sentences(assistant, question, chosen)
    lines = [words["intro"].format(question=escape_md(question))]
    if previous:
        lines.append(words["followup_note"].format(previous=escape_md(previous)))
    citations: list[Passage] = []
    n = 0
    for kind in KIND_ORDER:
        group = [(p, q) for p, q in zip(chosen, quotes, strict=True) if p.kind == kind]
        if not group:
            continue
        lines.append("")
        lines.append(f"**{words['group_' + kind]}**")
        lines.append("")
        for passage, sentences in group:
            n += 1
            citations.append(passage)
            quote = " … ".join(f"“{escape_md(s)}”" for s in sentences)
            lines.append(
                words["item"].format(n=n, heading=escape_md(_heading(passage)), quote=quote, ref=n)
            )
    lines += ["", f"**{words['sources_heading']}**", ""]
    for ref, passage in enumerate(citations, 1):
        lines.append(
            words["source_item"].format(
                ref=ref,
                citation=escape_md(localised_citation(passage, language)),
                provenance=words["label_" + passage.kind],
            )
        )
        lines.append("")
        lines.append("> " + escape_md(passage.text))
        lines.append("")
    return Answer(
        text="\n".join(lines).strip() + "\n",
        citations=citations,
        grounded=True,
        language=language,
        question=question,
    )


def answer_question(
    assistant: Assistant,
    question: str,
    history: Sequence[Any] | None,
    *,
    sources: list[str] | None = None,
    kinds: list[str] | None = None,
) -> Answer:
    """Retrieve and compose (LLM when configured, else extractive)."""
    if assistant.settings.llm:
        from .llm import answer_with_llm  # lazy: the default path never imports LangChain models

        return answer_with_llm(assistant, question, history, sources=sources, kinds=kinds)
    language = detect_language(question)
    query, previous = condense(question, history)
    passages = assistant.retriever.retrieve(query, 8, sources=sources, kinds=kinds)
    return compose_extractive(assistant, question, passages, language=language, previous=previous)
