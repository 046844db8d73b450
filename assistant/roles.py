"""Section roles: what a passage *is* (a binding provision, a target, advice, a problem ...).

Pure, no I/O. Input: a heading (with an optional Pandoc-style tag such as ``{.provision}``), a
document's kind and declared roles. Output: a Role per section, stored with every chunk.

Where a role comes from, first match wins:
1. the document declares it: a ``{.role}`` tag at the end of a Markdown heading (the policy
   briefs tag every section), or ``section_roles`` in a sidecar/front matter keyed by section
   key (the paper: §3 problem, §4 recommendation), a parent's role covering its children;
2. structure: a numbered article (第X条, Article N) is a provision *of its own document*; the
   untitled text before a brief's first heading is the project's editorial note;
3. otherwise ``background``: nothing is called binding unless its document says so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum


class Role(StrEnum):
    """The function of a section within its document."""

    PROVISION = "provision"
    TARGET = "target"
    RECOMMENDATION = "recommendation"
    PROBLEM = "problem"
    BACKGROUND = "background"
    SUMMARY = "summary"
    EDITORIAL = "editorial"

    @property
    def binding(self) -> bool:
        """Provisions and targets are what a policy requires; everything else is not."""
        return self in (Role.PROVISION, Role.TARGET)

    @classmethod
    def parse(cls, value: object) -> Role | None:
        """A Role from its name, or None for anything else."""
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            return None


_TAG_RE = re.compile(r"\s*\{\.([a-z]+)\}\s*$")
_ARTICLE_RE = re.compile(r"^(第[零〇一二三四五六七八九十百千两\d]+条|Article\s+\d+)")


def split_role_tag(heading: str) -> tuple[str, Role | None]:
    """``"Core rule {.provision}"`` -> ``("Core rule", Role.PROVISION)``; else (heading, None).

    An unknown tag is left in the heading (it is then visibly not a role).
    """
    m = _TAG_RE.search(heading)
    if not m:
        return heading, None
    role = Role.parse(m.group(1))
    if role is None:
        return heading, None
    return heading[: m.start()].rstrip(), role


def _parent_keys(key: str) -> list[str]:
    """ "3(1)" -> ["3(1)", "3"]; "4.3" -> ["4.3", "4"]; "第三条(一)" -> ["第三条(一)", "第三条"]."""
    keys = [key]
    while True:
        if key.endswith(")") and "(" in key:
            key = key[: key.rindex("(")]
        elif "." in key:
            key = key[: key.rindex(".")]
        else:
            break
        if key:
            keys.append(key)
    return keys


def section_role(
    *,
    kind: str,
    key: str,
    label: str,
    tagged: Role | None,
    declared: Mapping[str, str] | None = None,
) -> Role:
    """The role of one section (see the module docstring for the order of evidence)."""
    if tagged is not None:
        return tagged
    for k in _parent_keys(key) if key else []:
        role = Role.parse((declared or {}).get(k, ""))
        if role is not None:
            return role
    if _ARTICLE_RE.match(label or key):
        return Role.PROVISION
    if kind == "policy" and not label:
        return Role.EDITORIAL
    return Role.BACKGROUND


def passage_role(metadata: Mapping[str, object]) -> Role:
    """The role stored with a chunk; chunks indexed before roles existed are re-derived."""
    stored = Role.parse(metadata.get("role", ""))
    if stored is not None:
        return stored
    return section_role(
        kind=str(metadata.get("kind", "own")),
        key=str(metadata.get("section_key", "")),
        label=str(metadata.get("section", "")),
        tagged=None,
    )
