"""Render: chosen Points -> the Answer's Markdown, with numbered citations and its Sources.

A fact question opens with the sentence that states it; other points are grouped by provenance
(binding provisions, targets, the college's rules, research recommendations with the problem
each answers). Every quote is verbatim and escaped; a Chinese answer quoting an English-only
text says so. Pure apart from the encoder and the library it is given.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from .citing import (
    GROUP_ORDER,
    document_name,
    heading,
    passage_from_row,
    point_group,
    sources_section,
)
from .evidence import Encoder, sentence_vectors
from .intent import Intent, Query
from .shaping import Point
from .text import escape_md
from .types import Answer, Passage
from .versions import Library, Versions

# a problem is shown beside the countermeasure answering it only when one of its sentences is
# this close to the question (USE cosine): "the problem in §3(3)" about subsidies is no context
# for a question about training platforms
PROBLEM_CONTEXT_FLOOR = 0.3
MAX_CITATIONS = 10  # points plus the problems they answer; the web chat shows this many sources


class Citations:
    """The numbered citations of one answer: a passage cited twice keeps its number and
    gathers its quotes."""

    def __init__(self) -> None:
        self.passages: list[Passage] = []
        self._refs: dict[str, int] = {}

    def cite(self, p: Passage, quote: str) -> int:
        if p.chunk_id in self._refs:
            n = self._refs[p.chunk_id]
            old = self.passages[n - 1]
            joined = f"{old.metadata.get('quote', '')} … {quote}".strip(" …")
            self.passages[n - 1] = dataclasses.replace(
                old, metadata={**old.metadata, "quote": joined}
            )
            return n
        self.passages.append(dataclasses.replace(p, metadata={**p.metadata, "quote": quote}))
        self._refs[p.chunk_id] = len(self.passages)
        return len(self.passages)


class Renderer:
    """Writes an answer's text from its points; one per answerer."""

    def __init__(
        self,
        *,
        wording: Callable[[str], dict[str, str]],
        encoder: Encoder,
        library: Library,
        versions: Versions,
        mode: str,
    ) -> None:
        """Wire the collaborators.

        Args:
            wording: language -> the fixed wording (prompts/extractive.<lang>.yaml).
            encoder: the multilingual sentence encoder (finds a problem's closest sentence).
            library: read-only access to document sections (the problem a point answers).
            versions: which language each document is in.
            mode: the Answer's mode ("extractive").
        """
        self.wording = wording
        self.encoder = encoder
        self.library = library
        self.versions = versions
        self.mode = mode

    def render(self, query: Query, points: list[Point]) -> Answer:
        words = self.wording(query.language)
        lines: list[str] = []
        if query.previous:
            lines += [words["followup_note"].format(previous=escape_md(query.previous)), ""]
        cites = Citations()
        rest = points
        if query.intent is Intent.FACT and points:
            lead, rest = points[0], points[1:]
            lines.append(self._fact_lead(query, words, lead, cites))
            if rest:
                lines += ["", f"**{words['fact_more']}**", ""]
        n = 0
        problems_shown: set[str] = set()
        for group in GROUP_ORDER:
            members = [
                pt
                for pt in rest
                if point_group(pt.passage, pt.role, pt.core or pt.sentence) == group
            ]
            if not members:
                continue
            if query.intent is not Intent.FACT:
                lines += ["", f"**{words['group_' + group]}**", ""]
            for pt in members:
                n += 1
                ref = cites.cite(pt.passage, pt.sentence)
                quote = self._quote(query, words, pt)
                lines.append(
                    words["item"].format(
                        n=n, heading=escape_md(heading(pt.passage)), quote=quote, ref=ref
                    )
                    + _more(pt, cites)
                )
                if pt.caveat:
                    lines.append(
                        words["caveat"].format(
                            quote=f"“{escape_md(pt.caveat)}”", ref=cites.cite(pt.passage, pt.caveat)
                        )
                    )
                context = self._problem_context(query, pt, problems_shown)
                if context is not None:
                    key, problem, sentence = context
                    lines.append(
                        words["problem_context"].format(
                            key=escape_md(key),
                            quote=f"“{escape_md(sentence)}”",
                            ref=cites.cite(problem, sentence),
                        )
                    )
        return self.finish(query, lines, cites.passages)

    def _fact_lead(self, query: Query, words: dict[str, str], lead: Point, cites: Citations) -> str:
        """The line that states the fact (and, for two questions in one, the other fact); for
        "which document says so" it starts with the document's name."""
        named = ""
        if "document" in query.asks:
            document = document_name(lead.passage, query.language)
            named = words["fact_document"].format(document=escape_md(document))
        line = named + " ".join(
            words["fact_lead"].format(
                quote=self._quote(query, words, pt), ref=cites.cite(pt.passage, pt.sentence)
            )
            for pt in (lead, *lead.complements)
        )
        notes = [
            words["caveat"].format(
                quote=f"“{escape_md(pt.caveat)}”", ref=cites.cite(pt.passage, pt.caveat)
            )
            for pt in (lead, *lead.complements)
            if pt.caveat
        ]
        return "\n".join([line, *notes])

    def _quote(self, query: Query, words: dict[str, str], point: Point) -> str:
        """The quoted sentence; in a Chinese answer an English-only text says it is English."""
        mark = ""
        if query.language == "zh" and self.versions.doc_language(point.passage) != "zh":
            mark = words["english_only"]
        return f"“{_flat(point.sentence)}”{mark}"

    def _problem_context(
        self, query: Query, point: Point, shown: set[str]
    ) -> tuple[str, Passage, str] | None:
        """The problem (§3) a research recommendation answers, once per answer: the sentence
        of that problem closest to the question, and only when it is near the question."""
        links = [s.strip() for s in str(point.passage.metadata.get("answers", "")).split(",")]
        q_vec = None
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
            if q_vec is None:
                q_vec = self.encoder.encode_queries([query.search_text])[0]
            best: tuple[float, Passage, str] | None = None
            for row in rows:
                problem = passage_from_row(*row, score=point.passage.score)
                sentences, vecs = sentence_vectors(problem.chunk_id, problem.text, self.encoder)
                for sentence, sim in zip(sentences, vecs @ q_vec, strict=True):
                    if best is None or float(sim) > best[0]:
                        best = (float(sim), problem, sentence)
            if best is None or best[0] < PROBLEM_CONTEXT_FLOOR:
                continue
            shown.add(key)
            problem = dataclasses.replace(best[1], metadata={**best[1].metadata, "context": True})
            return key, problem, best[2]
        return None

    def finish(self, query: Query, lines: list[str], citations: list[Passage]) -> Answer:
        words = self.wording(query.language)
        body = "\n".join(lines).strip() + "\n"
        src, labelled = sources_section(words, citations[:MAX_CITATIONS], query.language)
        return Answer(
            text=(body + "\n".join(src)).strip() + "\n",
            body=body,
            citations=labelled,
            grounded=True,
            mode=self.mode,
            language=query.language,
            question=query.text,
            intent=query.intent.value,
        )

    def refused(self, query: Query, text: str) -> Answer:
        return Answer(
            text=text.strip() + "\n",
            citations=[],
            grounded=False,
            mode=self.mode,
            language=query.language,
            question=query.text,
            intent=query.intent.value,
        )


def _more(point: Point, cites: Citations) -> str:
    """The later items of an enumeration, cited once per run of items from one chunk."""
    out = ""
    for i, (sentence, p) in enumerate(point.more):
        out += f" … “{_flat(sentence)}”"
        ref = cites.cite(p, sentence)
        last_of_run = i + 1 == len(point.more) or point.more[i + 1][1] is not p
        if last_of_run:
            out += f" [{ref}]"
    return out


def _flat(sentence: str) -> str:
    """A quoted sentence on one line (a list keeps its items, not its line breaks), escaped."""
    return escape_md(" ".join(sentence.split()))
