"""Outline: an overview of the whole paper ("summarise the paper", "有哪些对策") as its
countermeasures (§4.x), each with the problems (§3) it answers, or the problems with the
countermeasure that answers each. Every quote is a verbatim sentence of the section it cites.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from .citing import heading, passage_from_row
from .evidence import Encoder, best_prescriptive, generic_tokens, tokens
from .intent import Query
from .roles import Role, passage_role
from .sentences import split_sentences
from .text import escape_md
from .types import Answer, Passage

if TYPE_CHECKING:
    from .versions import Library

PAPER_WORDS = re.compile(
    r"\b(paper|study|article|research|author|authors)\b|论文|文章|研究|作者|本文|该文", re.I
)
_OUTLINE_WORDS = re.compile(
    r"\b(summari[sz]e|summary|overview|outline|in a nutshell|main|key|countermeasures?|"
    r"measures|recommendations?|problems?|solutions?|propose[sd]?|suggest(s|ed)?|identif(y|ies)|"
    r"give|me|short|brief|what|which|are|is|does|do|the|this|of|a|its|all|how|see|sees|say|says|"
    r"points?|lines?|sentences?|words?|paragraphs?|in|one|two|three|four|five|few|s|them|each|"
    r"every|bullets?|up|quick(ly)?)\b|"
    r"概括|总结|概述|综述|主要|内容|讲了什么|说了什么|哪些|什么|对策|措施|问题|建议|提出|一共|总共|"
    r"全部|所有|一下|帮我|这篇|有|了|的|是|吗|呢|么|[一二三四五几]句话?|简要|简单|用|"
    r"逐条|逐一|列出来?|列一下|哪几条|几条|出来|认为|现在|目前|当前|存在|"
    r"\b(can|could|you|please|list|tell|us|on|from|about|for|it)\b",
    re.I,
)
_SUMMARY_WORDS = re.compile(
    r"\b(summari[sz]e|summary|overview|in a nutshell|outline)\b|"
    r"概括|总结|概述|主要内容|讲了什么|说了什么",
    re.I,
)
_PROBLEM_WORDS = re.compile(r"\bproblems?\b|问题", re.I)
_MEASURE_WORDS = re.compile(
    r"\b(countermeasures?|measures|recommendations?|solutions?)\b|对策|措施|建议", re.I
)
# "§4.3", "section 2", "Part 2", "4.1节", "第二部分": a section of the paper named by number
_SECTION_REF = re.compile(
    r"(?:§|\bsection\s+|\bpart\s+|\bchapter\s+)\s*(\d(?:\.\d)?)|(\d\.\d)\s*节|"
    r"第\s*([\d一二三四五])\s*(?:部分|节|章)",
    re.I,
)
_NUMERALS = {"一": "1", "二": "2", "三": "3", "四": "4", "五": "5"}


def section_keys(question: str) -> set[str]:
    """The section keys a question names by number ("§4.3" -> "4.3", "第二部分" -> "2")."""
    keys = set()
    for m in _SECTION_REF.finditer(question):
        key = m.group(1) or m.group(2) or m.group(3)
        keys.add(_NUMERALS.get(key, key))
    return keys


_POLICY_WORDS = re.compile(
    r"\b(requirements?|rules?|policy|policies|law|briefs?)\b|要求|政策|规定|文件", re.I
)

Cite = Callable[[Passage, str], int]
Finish = Callable[[Query, list[str], list[Passage]], Answer]


class PaperOutline:
    """Writes the paper's outline for an overview question about the whole paper."""

    def __init__(
        self,
        library: Library,
        wording: Callable[[str], dict[str, str]],
        encoder: Encoder,
        finish: Finish,
    ) -> None:
        """Wire the collaborators.

        Args:
            library: read-only access to the paper's sections.
            wording: language -> the fixed wording (prompts/extractive.<lang>.yaml).
            encoder: the sentence encoder (picks each section's most prescriptive sentence).
            finish: (query, lines, citations) -> the Answer with its Sources section.
        """
        self.library = library
        self.wording = wording
        self.encoder = encoder
        self.finish = finish

    def wanted(self, query: Query) -> bool:
        """An overview of the whole paper ("summarise the paper", "有哪些对策"), not of a topic."""
        if query.sources and self.library.paper_id() not in query.sources:
            return False
        if query.kinds and "paper" not in query.kinds:
            return False
        text = query.text
        if _POLICY_WORDS.search(text) or section_keys(text):
            return False  # a policy overview, or one section of the paper ("summarise §2")
        if not (PAPER_WORDS.search(text) or _OUTLINE_WORDS.search(text)):
            return False
        # what is left once the words of an overview request are removed: a topic, or nothing
        # (the paper's own title names the paper, not a topic)
        rest = _OUTLINE_WORDS.sub(" ", PAPER_WORDS.sub(" ", text))
        return len(tokens(rest) - generic_tokens() - self._title_tokens()) <= 1

    def _title_tokens(self) -> frozenset[str]:
        paper = self.library.paper_id()
        rows = self.library.chunks(paper, None)[:1] if paper else []
        meta = rows[0][2] if rows else {}
        return tokens(f"{meta.get('title', '')} {meta.get('title_zh', '')}")

    def outline(self, query: Query) -> Answer | None:
        """The paper's countermeasures (§4.x) with the problems (§3) they answer."""
        by_key = self._sections(query)
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
            lead = best_prescriptive(abstract, q_vec, self.encoder, prefer_action=False)
            lines += [
                words["fact_lead"].format(quote=f"“{escape_md(lead)}”", ref=cite(abstract, lead)),
                "",
            ]
        if _PROBLEM_WORDS.search(query.text) and not _MEASURE_WORDS.search(query.text):
            lines += self._problems(words, by_key, measures, cite)
            return self.finish(query, lines, citations)
        lines += [words["overview_paper"].format(count=len(measures)), ""]
        for n, key in enumerate(measures, 1):
            first = by_key[key][0]
            sentence = best_prescriptive(first, q_vec, self.encoder)
            lines.append(_item(words, n, first, sentence, cite(first, sentence)))
            for problem in [s.strip() for s in str(first.metadata.get("answers", "")).split(",")]:
                if problem and by_key.get(problem):
                    pp = by_key[problem][0]
                    ps = (split_sentences(pp.text) or [pp.text])[0]
                    pref = cite(_as_context(pp), ps)
                    lines.append(
                        words["problem_context"].format(
                            key=escape_md(problem), quote=f"“{escape_md(ps)}”", ref=pref
                        )
                    )
        return self.finish(query, lines, citations)

    def _sections(self, query: Query) -> dict[str, list[Passage]]:
        """The paper's chunks in the question's language, by section key."""
        paper = self.library.paper_id()
        if not paper:
            return {}
        doc = self.library.versions(paper).get(query.language, paper)
        by_key: dict[str, list[Passage]] = {}
        for chunk_id, text, meta in self.library.chunks(doc, None):
            p = passage_from_row(chunk_id, text, meta, score=1.0)
            by_key.setdefault(str(meta.get("section_key", "")), []).append(p)
        return by_key

    @staticmethod
    def _problems(
        words: dict[str, str], by_key: dict[str, list[Passage]], measures: list[str], cite: Cite
    ) -> list[str]:
        """The problems the paper identifies (§3), each with the countermeasure answering it."""
        problems = [k for k in by_key if re.fullmatch(r"3\(\d+\)", k)]
        lines = [words["overview_problems"].format(count=len(problems)), ""]
        answered_by = {
            p.strip(): m
            for m in measures
            for p in str(by_key[m][0].metadata.get("answers", "")).split(",")
            if p.strip()
        }
        for n, key in enumerate(problems, 1):
            first = by_key[key][0]
            sentence = (split_sentences(first.text) or [first.text])[0]
            lines.append(_item(words, n, first, sentence, cite(first, sentence)))
            measure = answered_by.get(key)
            if measure:
                mp = by_key[measure][0]
                lines.append(
                    words["answered_by"].format(
                        key=escape_md(measure),
                        heading=escape_md(heading(mp)),
                        ref=cite(_as_context(mp), heading(mp)),
                    )
                )
        return lines


def _item(words: dict[str, str], n: int, p: Passage, sentence: str, ref: int) -> str:
    return words["item"].format(
        n=n, heading=escape_md(heading(p)), quote=f"“{escape_md(sentence)}”", ref=ref
    )


def _as_context(p: Passage) -> Passage:
    """A passage cited as the context of a point (the problem a measure answers)."""
    return dataclasses.replace(p, metadata={**p.metadata, "context": True})
