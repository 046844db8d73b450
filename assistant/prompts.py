"""Prompt and wording templates loaded by name from prompts/, with placeholders checked.

Input: a template name. Output: validated template strings.
"""

from __future__ import annotations

import string
from functools import lru_cache
from pathlib import Path

from .errors import PromptError

# name -> key -> the exact placeholders the key must use
EXTRACTIVE_SCHEMA: dict[str, set[str]] = {
    "intro": {"question"},
    "caveat": {"quote", "ref"},
    **{
        f"{prefix}_{name}": set()
        for prefix in ("group", "label")
        for name in (
            "policy",
            "policy_permits",
            "target",
            "policy_advice",
            "policy_background",
            "paper",
            "problem",
            "paper_background",
            "own_rule",
            "own",
        )
    },
    "item": {"n", "heading", "quote", "ref"},
    "problem_context": {"key", "quote", "ref"},
    "fact_lead": {"quote", "ref"},
    "fact_more": set(),
    "fact_document": {"document"},
    "overview_paper": {"count"},
    "overview_topic": {"question"},
    "overview_problems": {"count"},
    "answered_by": {"key", "heading", "ref"},
    "sources_heading": set(),
    "source_item": {"ref", "citation", "provenance"},
    "translation_mark": {"section"},
    "english_only": set(),
    "not_covered": {"coverage"},
    "not_covered_terms": {"terms"},
    "closest": {"items"},
    "followup_note": {"previous"},
    **{
        f"ask_{name}": set()
        for name in (
            "date",
            "quantity",
            "share",
            "grade",
            "money",
            "duration",
            "issuer",
            "docnumber",
            "document",
        )
    },
}


def placeholders(template: str) -> set[str]:
    """Names used in {braces} in a format string."""
    try:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name}
    except ValueError as e:
        raise PromptError(f"Malformed template {template[:60]!r}: {e}") from e


def read_wording(path: Path, *, allow_empty: bool = False) -> dict[str, str]:
    """A wording file: a flat YAML map of key -> text (prompts/*.yaml), non-empty unless
    ``allow_empty`` (an English answer has no "quoted in English" mark).

    Raises:
        PromptError: the file is missing or malformed, or a value is not a non-empty string.
    """
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise PromptError(f"Cannot read the wording file {path}: {e}") from e
    if not isinstance(data, dict):
        raise PromptError(f"{path} must be a YAML mapping of key: text")
    bad = sorted(
        str(k)
        for k, v in data.items()
        if not isinstance(v, str) or (not allow_empty and not v.strip())
    )
    if bad:
        raise PromptError(f"{path}: keys without a text value: {', '.join(bad)}")
    return {str(k): v for k, v in data.items()}


@lru_cache(maxsize=16)
def load_wording(prompts_dir: Path, language: str) -> dict[str, str]:
    """Load prompts/extractive.<language>.yaml and check its keys and placeholders.

    Raises:
        PromptError: the file is missing, or a key or placeholder is missing or extra.
    """
    path = prompts_dir / f"extractive.{language}.yaml"
    data = read_wording(path, allow_empty=True)
    missing = set(EXTRACTIVE_SCHEMA) - set(data)
    extra = set(data) - set(EXTRACTIVE_SCHEMA)
    if missing or extra:
        raise PromptError(f"{path}: missing keys {sorted(missing)}, unknown keys {sorted(extra)}")
    for key, expected in EXTRACTIVE_SCHEMA.items():
        got = placeholders(str(data[key]))
        if got != expected:
            raise PromptError(
                f"{path}: '{key}' must use placeholders {sorted(expected)}, got {sorted(got)}"
            )
    return {k: str(v) for k, v in data.items()}


@lru_cache(maxsize=16)
def load_prompt(prompts_dir: Path, name: str, required: frozenset[str]) -> str:
    """Load prompts/<name>.txt and check it uses exactly the required placeholders.

    Raises:
        PromptError: missing file or placeholder mismatch.
    """
    path = prompts_dir / f"{name}.txt"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise PromptError(f"Prompt '{name}' not found at {path}") from e
    got = placeholders(text)
    if got != set(required):
        raise PromptError(
            f"Prompt {path} must use placeholders {sorted(required)}, got {sorted(got)}"
        )
    return text
