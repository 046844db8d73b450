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

The stages: retrieval (passed in) -> language versions (assistant.versions) -> sentence choice
(assistant.choosing) or the paper's outline (assistant.outline) -> rendering with citations
(assistant.rendering, assistant.citing).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from .choosing import SentenceChooser
from .citing import (
    passage_from_row,
)
from .evidence import Encoder
from .intent import Intent, Query, as_followup, as_standalone, asking_part
from .outline import PAPER_WORDS, PaperOutline, section_keys
from .rendering import MAX_CITATIONS, Renderer
from .roles import Role, passage_role
from .support import is_supported, names_unanswered, uncovered_terms
from .text import escape_md
from .types import Answer, Passage
from .versions import Library, Versions

__all__ = ["MAX_CITATIONS", "ExtractiveAnswerer", "Library"]

RETRIEVE_K = {Intent.FACT: 12, Intent.TODO: 12, Intent.OVERVIEW: 20}
FOLLOWUP_BOOST = 1.2  # a follow-up's passages from the documents of the turn it follows
FOLLOWUP_SAID = 0.8  # the passages that answered the previous turn: said already
FOLLOWUP_DOC_SHARE = 0.9  # ... which are those found for it within this share of the best
# facts about a document itself, stated anywhere in its brief (not a number about its subject)
_POLICY_SCOPE = re.compile(
    r"\b(policy (documents|briefs|texts)|national (policy|policies))\b|政策文件|国家政策", re.I
)
_COUNTS_A_PART = re.compile(
    r"\bhow many (key |main |major )?(measures|tasks|areas|parts|articles|chapters|sections|"
    r"goals|targets|"
    r"items|points)\b|(多少|几)(项|条|个方面|部分|章|大类)(措施|任务|内容|目标)?",
    re.I,
)
_ABOUT_THE_DOCUMENT = frozenset({"date", "docnumber", "issuer", "document"})
# sections a reader names by their heading: "the conclusion", "the introduction", "the abstract"
_NAMEABLE = frozenset({"abstract", "1", "2", "5"})
_NATION = re.compile(r"^中华人民共和国|\s+of the People's Republic of China", re.I)
_NAMED_ZH = {"摘要": "abstract", "引言": "1", "结论": "5", "结语": "5"}


class Retrieve(Protocol):
    """The retrieval stage as the answerer needs it."""

    def __call__(
        self, text: str, k: int, /, *, sources: list[str] | None, kinds: list[str] | None
    ) -> list[Passage]: ...


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
        self.versions = Versions(library)
        self.chooser = SentenceChooser(encoder, english, self.versions.doc_language)
        self.renderer = Renderer(
            wording=wording,
            encoder=encoder,
            library=library,
            versions=self.versions,
            mode=self.mode,
        )
        self.outline = PaperOutline(library, wording, encoder, self.renderer.finish)

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
        if not answer.grounded and query.previous:
            # "教育费附加能抵多少？" is short enough to be a follow-up, yet answered on its own
            alone = as_standalone(query)
            retry = self.compose(alone, self._passages(alone))
            if retry.grounded:
                return retry
        return answer

    def _named_sections(self, query: Query, found: list[Passage]) -> list[Passage]:
        """Sections of the paper the question names ("§4.3", "4.1节", "the conclusion"): the
        user chose the text, so they are material whatever their similarity score."""
        paper = self.library.paper_id()
        if not paper or not (PAPER_WORDS.search(query.text) or section_keys(query.text)):
            return []
        doc = self.library.versions(paper).get(query.language, paper)
        rows = self.library.chunks(doc, None)
        keys = section_keys(query.text)
        keys |= {key for word, key in _NAMED_ZH.items() if word in query.text}
        words = {w[:6] for w in re.findall(r"[a-z]{6,}", query.text.lower())}
        top = max((p.score for p in found), default=1.0)
        out = []
        for chunk_id, text, meta in rows:
            key = str(meta.get("section_key", ""))
            heading = str(meta.get("section", "")).split(" › ")[-1].lower()
            heading_words = {w[:6] for w in re.findall(r"[a-z]{6,}", heading)}
            # "the conclusion", "the value of innovation training": most of the heading's words
            shared = len(words & heading_words)
            by_name = key in _NAMEABLE and shared >= max(1, len(heading_words) / 2)
            if key in keys or by_name or any(key.startswith(k + "(") for k in keys):
                p = passage_from_row(chunk_id, text, meta, score=top)
                out.append(dataclasses.replace(p, metadata={**p.metadata, "named_section": True}))
        return out

    def _passages(self, query: Query) -> list[Passage]:
        """Retrieval for a query; a follow-up keeps to the documents of the turn it follows."""
        k = RETRIEVE_K[query.intent]
        kinds = list(query.kinds) if query.kinds else None
        sources = list(query.sources) if query.sources else None
        if not sources and not kinds and PAPER_WORDS.search(query.text):
            # "what does the paper say ..." is answered from the paper, not from a brief
            kinds = ["paper"]
        elif not sources and not kinds and _POLICY_SCOPE.search(query.text):
            # "... in the policy documents we have" is answered from the national policies
            kinds = ["policy"]
        elif not sources and not kinds:
            # "职业教育法对……有哪些规定" is answered from that law, not from briefs citing it
            sources = self.library.named(query.text) or None
        passages = self.retrieve(query.search_text, k, sources=sources, kinds=kinds)
        named = self._named_sections(query, passages)
        if named:
            # "what does §4.3 recommend", "summarise Part 2": the user chose the text
            passages = named
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
        if query.intent is Intent.OVERVIEW and self.outline.wanted(query):
            return None
        if not is_supported(usable, query.language):
            text = words["not_covered"].format(coverage=self.library.coverage(query.language))
            return self.renderer.refused(query, text)
        measured = asking_part(query.text) if query.intent is Intent.FACT else ""
        missing = uncovered_terms(query.search_text, usable, measured=measured)
        if missing:
            return self._not_covering(query, usable, missing)
        return None

    def _not_covering(self, query: Query, usable: list[Passage], missing: list[str]) -> Answer:
        """ "The indexed documents do not cover X", with the closest material named."""
        words = self.wording(query.language)
        terms = "、".join(missing) if query.language == "zh" else ", ".join(missing)
        text = words["not_covered_terms"].format(terms=escape_md(terms))
        closest = self.versions.closest(query, usable, 2)
        if closest:
            sep = "；" if query.language == "zh" else "; "
            text += "\n\n" + words["closest"].format(items=escape_md(sep.join(closest)))
        return self.renderer.refused(query, text)

    def compose(self, query: Query, passages: Sequence[Passage]) -> Answer:
        """Build the Answer from passages already retrieved (see the module docstring)."""
        refused = self.refusal(query, passages)
        if refused is not None:
            return refused
        if query.intent is Intent.OVERVIEW and self.outline.wanted(query):
            outline = self.outline.outline(query)
            if outline is not None:
                return outline
        usable = [p for p in passages if passage_role(p.metadata) is not Role.EDITORIAL]
        shown = self.versions.in_language(query, usable)
        if (
            query.intent is Intent.FACT
            and shown
            and (query.asks <= _ABOUT_THE_DOCUMENT or _COUNTS_A_PART.search(query.text))
        ):
            # a document's date, number or issuer, or how many measures it has, may sit in
            # another of its sections than the one retrieval found
            shown = self.versions.with_whole_document(query, shown)
        points = self.chooser.choose(_without_document_names(query, shown), shown)
        if query.intent is Intent.FACT and query.asks and not points:
            # the passages are about the topic but no sentence states what was asked
            words = self.wording(query.language)
            what = words["ask_" + sorted(query.asks)[0]]
            text = words["not_covered_terms"].format(terms=what)
            closest = self.versions.closest(query, usable, 1)
            if closest:
                text += "\n\n" + words["closest"].format(items=escape_md(closest[0]))
            return self.renderer.refused(query, text)
        unnamed = names_unanswered(query.text, (s for pt in points for s in pt.sentences))
        if points and unnamed:
            return self._not_covering(query, usable, [unnamed])
        if not points:
            return self.renderer.refused(
                query,
                self.wording(query.language)["not_covered"].format(
                    coverage=self.library.coverage(query.language)
                ),
            )
        return self.renderer.render(query, points)


def _document_names(p: Passage) -> list[str]:
    """The names a passage's document goes by: its titles (also without a trailing
    parenthesis, "(2020–2023)") and the aliases its brief lists."""
    titles = [p.title, str(p.metadata.get("title_zh", ""))]
    # "职业教育法" names 《中华人民共和国职业教育法》
    titles += [_NATION.sub("", t) for t in titles]
    names = [*titles, *(re.sub(r"\s*[(（][^()（）]*[)）]\s*$", "", t) for t in titles)]
    names += [a.strip() for a in str(p.metadata.get("aliases", "")).split(",")]
    return sorted({n for n in names if len(n) > 3}, key=len, reverse=True)


def _without_document_names(query: Query, passages: Sequence[Passage]) -> Query:
    """ "What does the quality improvement action plan say about labour education?", answered
    from that plan alone: its sentences are scored on "labour education", since the plan's
    name matches its own issuer paragraph best and says nothing of what was asked."""
    docs = {p.doc_id: p for p in passages}
    if not docs or query.intent is Intent.FACT:
        # (a fact about the document itself, "when was the VE Law first adopted", is asked
        # of its name)
        return query
    text = query.search_text
    for p in docs.values():
        found = [n for n in _document_names(p) if n.lower() in text.lower()]
        if not found:
            return query  # a passage from a document the question does not name
        for name in found:
            text = re.sub(re.escape(name), " ", text, flags=re.I)
    text = " ".join(text.split())
    return dataclasses.replace(query, search_text=text) if text else query
