"""The web chat's wording in English and Chinese. Input: a language and a key. Output: text.

The wording lives in `prompts/ui.en.yaml` and `prompts/ui.zh.yaml` (flat `key: text` maps with
the same keys). Static page text goes to Gradio as `gr.I18n` translations, which the browser
picks by its language (and the footer's Settings -> Language switches); text a handler makes
(messages, the sources panel, the documents table) is looked up here with `text()`. Nothing here
imports Gradio.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from assistant.errors import PromptError
from assistant.prompts import placeholders, read_wording

LANGUAGES = ("en", "zh")
PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"


def language_of(value: object) -> str:
    """The code of a language tag or answer language: "zh" for zh, zh-CN ..., else "en"."""
    return "zh" if str(value or "").strip().lower().startswith("zh") else "en"


def catalog(language: str) -> Mapping[str, str]:
    """All keys of one language's file, checked to be a flat map of non-empty strings.

    Args:
        language: "en" or "zh" (anything else reads as "en").

    Returns:
        key -> text, as written in prompts/ui.<language>.yaml (read once per process).

    Raises:
        PromptError: the file is missing, malformed, or holds a non-string or empty value.
    """
    return _load(language_of(language))


@lru_cache(maxsize=len(LANGUAGES))
def _load(language: str) -> Mapping[str, str]:
    return read_wording(PROMPTS_DIR / f"ui.{language}.yaml")


def text(language: str, key: str, **params: object) -> str:
    """One piece of wording in `language`, with its {placeholders} filled.

    Args:
        language: "en" or "zh" (other values read as "en").
        key: a key of prompts/ui.*.yaml.
        **params: values for the key's placeholders (inserted as given, not re-parsed).

    Returns:
        The text.

    Raises:
        PromptError: unknown key, or the placeholders given differ from the template's.
    """
    words = catalog(language)
    if key not in words:
        raise PromptError(f"No UI wording {key!r} in prompts/ui.{language_of(language)}.yaml.")
    template = words[key]
    wanted = placeholders(template)
    if wanted != set(params):
        raise PromptError(
            f"UI wording {key!r} uses {sorted(wanted)}, but got {sorted(params)}; "
            "fix the call or the template."
        )
    return template.format(**params) if wanted else template


def gradio_translations(**params: object) -> dict[str, dict[str, str]]:
    """Both catalogs for `gr.I18n`, templates filled with values known when the page is built.

    Args:
        **params: placeholder values of static text (e.g. the upload size limit). Keys whose
            placeholders are not all given stay as templates; only handlers use those.

    Returns:
        {"en": {key: text}, "zh": {key: text}}. Gradio looks a browser language up as itself,
        then its base language ("zh-CN" -> "zh"), then English.
    """
    out: dict[str, dict[str, str]] = {}
    for language in LANGUAGES:
        out[language] = {}
        for key, template in catalog(language).items():
            wanted = placeholders(template)
            if wanted and wanted <= set(params):
                template = template.format(**{name: params[name] for name in wanted})
            out[language][key] = template
    return out
