"""The trust boundary with a chat model: passages go in as delimited data, citations come back
checked, never trusted.

Input: passages (for the prompt), then the reply and the n passages the model was given.
Output: the numbered <passage> blocks, then Verified (renumbered text, the cited passages,
dropped markers, unsupported sentences).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from .citing import provenance_group
from .roles import passage_role
from .types import Passage

logger = logging.getLogger(__name__)

_DELIMITER_RE = re.compile(r"<(\s*/?\s*passage)", re.I)
# "[1]", "[1, 2]", "[1][2]", full-width "【1】" / "［1］".
_MARKER_RE = re.compile(r"[\[【［]\s*(\d{1,3}(?:\s*[,，、;；]\s*\d{1,3})*)\s*[\]】］]")
# A sentence ends at . ! ? before a space/marker/end (so "4.3" does not), at 。！？； or at a line
# break; citation markers written right after the stop belong to the sentence before.
_SENT_END_RE = re.compile(r"(?:[.!?]+(?=[\s\[]|$)|[。！？；]+)(?:[ \t]*\[\d+\])*|\n")
_LEADING_MARKERS_RE = re.compile(r"^\s*((?:\[\d+\]\s*)+)")
_IMAGE_RE = re.compile(r"!\[([^\]\n]*)\]\([^)\n]*\)")
_LINK_RE = re.compile(r"\[([^\]\n]+)\]\([^)\n]*\)")
# Obligation wording that research (paper) passages cannot back: they advise, they do not oblige.
_OBLIGATION_RE = re.compile(
    r"\b(must|shall|required|requires|require|mandatory|obliged|obligated|have to|has to)\b|"
    r"(必须|应当|务必|强制|不得)",
    re.I,
)


# ---------------------------------------------------------------------------- passages as data


def _attr(value: str) -> str:
    return (
        value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
    )


def neutralise(text: str) -> str:
    """Make any passage delimiter inside untrusted text inert ('<passage' -> '&lt;passage')."""
    return _DELIMITER_RE.sub(r"&lt;\1", text)


def format_passages(passages: Sequence[Passage], labels: dict[str, str]) -> str:
    """Number passages 1..n as <passage id="n" provenance=".." source="..">text</passage> blocks.

    Args:
        passages: retrieved passages, best first.
        labels: provenance label per group (answering.provenance_group: a kind and a role).
    """
    blocks = []
    for n, p in enumerate(passages, 1):
        provenance = labels.get(provenance_group(p), labels.get(p.kind, labels["own"]))
        blocks.append(
            f'<passage id="{n}" provenance="{_attr(provenance)}" source="{_attr(p.citation)}">\n'
            f"{neutralise(p.text.strip())}\n</passage>"
        )
    return "\n\n".join(blocks)


# ---------------------------------------------------------------------------- verification


@dataclass
class Verified:
    """The model's reply after its citations were checked and renumbered."""

    text: str
    citations: list[Passage]
    dropped: list[int] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    research_obligations: list[str] = field(default_factory=list)


def sanitise_reply(text: str) -> str:
    """Make model output inert Markdown: HTML entities for <>&, links and images reduced to text.

    Model output can echo retrieved (untrusted) text, so it gets no raw HTML and no URLs to
    fetch. A link whose text is a number ("[2](...)") keeps its [2] so the citation survives.
    """
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _IMAGE_RE.sub(lambda m: m.group(1), text)
    return _LINK_RE.sub(
        lambda m: f"[{m.group(1)}]" if m.group(1).strip().isdigit() else m.group(1), text
    )


def split_reply_sentences(text: str) -> list[str]:
    """Sentences of a reply; markers written after the full stop stay with their sentence."""
    out: list[str] = []
    pieces, start = [], 0
    for m in _SENT_END_RE.finditer(text):
        pieces.append(text[start : m.end()])
        start = m.end()
    pieces.append(text[start:])
    for piece in pieces:
        if not piece.strip():
            continue
        lead = _LEADING_MARKERS_RE.match(piece)
        if lead and out:
            out[-1] = f"{out[-1]} {lead.group(1).strip()}"
            piece = piece[lead.end() :]
        if piece.strip():
            out.append(piece.strip())
    return out


def _is_claim(sentence: str) -> bool:
    """Whether a sentence needs a citation: not a heading, an intro ending in ':', or a bare list
    number."""
    bare = _MARKER_RE.sub("", sentence).strip().strip("*_#-> ").strip()
    if len(bare) < 4 or bare.startswith("#") or sentence.lstrip().startswith("#"):
        return False
    return not bare.endswith((":", "："))


def verify_citations(reply: str, passages: Sequence[Passage]) -> Verified:
    """Check the [n] markers of a reply against the n passages the model was given.

    Markers outside 1..n are removed (and logged); the kept ones are renumbered in order of
    first use so that [k] in the returned text is citations[k-1]; sentences that need a
    citation and have none are listed as unsupported; sentences worded as obligations whose
    only citations are research (paper) passages are listed as research_obligations (and
    also as unsupported, since the cited advice does not support an obligation).
    """
    order: dict[int, int] = {}
    dropped: list[int] = []

    def renumber(match: re.Match[str]) -> str:
        kept = []
        for raw in re.split(r"[,，、;；]", match.group(1)):
            n = int(raw.strip())
            if 1 <= n <= len(passages):
                new = order.setdefault(n, len(order) + 1)
                if f"[{new}]" not in kept:
                    kept.append(f"[{new}]")
            else:
                dropped.append(n)
        return "".join(kept)

    text = _MARKER_RE.sub(renumber, reply)
    if dropped:
        logger.warning(
            "removed %d citation marker(s) outside 1..%d from the model's reply: %s",
            len(dropped),
            len(passages),
            dropped,
        )
        text = re.sub(r"[ \t]+(?=[.,;:!?。，；：！？])", "", text)  # "x [9]." left "x ."
        text = re.sub(r"[ \t]{2,}", " ", text)
    citations = [passages[old - 1] for old, _ in sorted(order.items(), key=lambda kv: kv[1])]
    unsupported: list[str] = []
    research: list[str] = []
    for sentence in split_reply_sentences(text):
        refs = [int(n) for n in re.findall(r"\[(\d+)\]", sentence)]
        if not refs:
            if _is_claim(sentence):
                unsupported.append(sentence)
            continue
        binding = any(passage_role(citations[r - 1].metadata).binding for r in refs)
        if not binding and _OBLIGATION_RE.search(sentence):
            # worded as an obligation, cited only to advice, background or a problem statement
            research.append(sentence)
            unsupported.append(sentence)
    return Verified(text.strip(), citations, dropped, unsupported, research)
