"""Sentences of a passage, each a verbatim substring of it. Pure, no I/O.

A full stop ends an English sentence only when whitespace and a plausible sentence start follow
it, and not after a number's integer part ("23.5"), a section sign ("§4.4") or a common
abbreviation ("Art. 27", "No. 1", "e.g."). Chinese 。！？； always end one; closing quotes and
brackets stay with the sentence they close.
"""

from __future__ import annotations

import re

_END = re.compile(r"[.!?;。！？；]+[”’\"'）)\]」』]*")
_ABBREVIATIONS = frozenset(
    [
        "art",
        "arts",
        "no",
        "nos",
        "para",
        "paras",
        "sec",
        "secs",
        "ch",
        "chap",
        "fig",
        "figs",
        "vol",
        "e.g",
        "i.e",
        "etc",
        "cf",
        "vs",
        "approx",
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "st",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "p",
        "pp",
        "ed",
        "eds",
    ]
)
_MIN_CHARS = 4


def _ends_sentence(text: str, m: re.Match[str]) -> bool:
    punct = m.group(0)
    if any(c in punct for c in "。！？；!?;"):
        return True
    after = text[m.end() : m.end() + 2]
    if m.end() < len(text) and not after[:1].isspace():
        return False  # "23.5", "e.g.x", "§4.4" followed by more of the token
    before = text[: m.start()]
    word = re.search(r"([A-Za-z.]+)$", before)
    if word and word.group(1).lower().rstrip(".") in _ABBREVIATIONS:
        return False
    if re.search(r"(§|\b[A-Z])$", before):  # "§4." or an initial such as "J." ends nothing
        return False
    nxt = text[m.end() :].lstrip()[:1]
    # a lower-case continuation ("... 4. and then") is not a new sentence
    return not nxt or not nxt.islower()


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text``, in order, each stripped and a verbatim substring of it."""
    out: list[str] = []
    start = 0
    for m in _END.finditer(text):
        if not _ends_sentence(text, m):
            continue
        piece = text[start : m.end()].strip()
        if len(piece) < _MIN_CHARS:
            continue  # too short to stand alone ("好。"): it opens the next sentence
        out.append(piece)
        start = m.end()
    tail = text[start:].strip()
    if len(tail) >= _MIN_CHARS:
        out.append(tail)
    elif tail and out:
        # a stray fragment is kept with the sentence before it (stays a verbatim substring)
        last = out.pop()
        begin = text.rfind(last, 0, start + 1)
        out.append(text[begin : start + len(text[start:].rstrip())].strip())
    return out
