"""One document must not pass for the corpus. Input: a finished Answer. Output: the same
Answer, with a note when every cited passage comes from one own document (an upload).

The answer stage also caps the points one own document may give (choosing.MAX_PER_OWN_DOCUMENT)
and adds the best policy or research point beside an own-only answer (Chooser._beside_own);
this note covers what is left: the corpus had nothing on the question but that upload.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from .citing import added_note
from .text import escape_md
from .types import Answer

_NOTE = {
    "en": "_Note: every point above comes from one document, “{title}” (your document, {who}). "
    "It is not national policy or the research paper; check it before relying on it._",
    "zh": "_注意：以上各点均出自同一份文件《{title}》（本校文件，{who}），并非国家政策或研究论文，"
    "请核实后再采用。_",
}


def note_single_own_source(answer: Answer) -> Answer:
    """The answer with a note appended to its body when all citations are one own document."""
    docs = {p.doc_id for p in answer.citations}
    if not answer.grounded or len(docs) != 1 or answer.citations[0].kind != "own":
        return answer
    p = answer.citations[0]
    lang = "zh" if answer.language == "zh" else "en"
    who = added_note(p.metadata, lang) or ("来源未记录" if lang == "zh" else "origin not recorded")
    note = _NOTE[lang].format(title=escape_md(p.title), who=escape_md(who))
    body = f"{answer.body.rstrip()}\n\n{note}"
    text = answer.text.replace(answer.body, body, 1) if answer.body in answer.text else body
    return dataclasses.replace(answer, text=text, body=body)


def noted(items: Iterator[str | Answer]) -> Iterator[str | Answer]:
    """Pass a stream of answer items through, noting the final Answer."""
    for item in items:
        yield note_single_own_source(item) if isinstance(item, Answer) else item
