"""Checks of what callers pass in (questions, filters, chat history). Input: any Python value.
Output: the cleaned value, or InvalidInputError with a message that says what to give.

Text must be valid Unicode that encodes to UTF-8: a lone surrogate (what Python makes of
invalid UTF-8 on a command line) is refused here instead of failing later in a codec.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .errors import InvalidInputError

MAX_TURN_CHARS = 4000  # a history turn longer than this is cut (a 1M-character turn took 31 s)
MAX_TURNS = 40  # only the latest turns of a history are read


def check_text(value: Any, what: str) -> str:
    """``value`` as text, or InvalidInputError for a non-string or invalid Unicode."""
    if not isinstance(value, str):
        raise InvalidInputError(f"The {what} must be text, got {type(value).__name__}.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInputError(
            f"The {what} contains characters that are not valid text (invalid UTF-8 or a lone "
            "surrogate); retype it or save it as UTF-8."
        ) from None
    return value


def check_names(values: Any, what: str) -> list[str] | None:
    """A list of names (doc_ids, kinds) from None, one string or an iterable of strings."""
    if values is None:
        return None
    if isinstance(values, str):
        values = [values]
    if isinstance(values, bytes | dict) or not isinstance(values, Iterable):
        raise InvalidInputError(f"{what} must be a list of names, got {type(values).__name__}.")
    return [check_text(v, f"{what} entry") for v in values]


def check_history(history: Any) -> list[Any] | None:
    """A chat history (role/content dicts or (question, answer) pairs), its turns capped."""
    if history is None:
        return None
    if isinstance(history, str | bytes | dict) or not isinstance(history, list | tuple):
        raise InvalidInputError(
            "history must be a list of {'role', 'content'} messages or (question, answer) "
            f"pairs, got {type(history).__name__}."
        )
    out: list[Any] = []
    for item in list(history)[-MAX_TURNS:]:
        if isinstance(item, dict):
            content = item.get("content")
            if isinstance(content, str):
                item = {**item, "content": _turn(content)}
            out.append(item)
        elif isinstance(item, list | tuple) and len(item) == 2:
            out.append(tuple(_turn(x) if isinstance(x, str) else x for x in item))
        else:
            raise InvalidInputError(
                "Each history entry must be a {'role', 'content'} message or a (question, "
                f"answer) pair, got {type(item).__name__}."
            )
    return out


def _turn(text: str) -> str:
    return check_text(text, "history turn")[:MAX_TURN_CHARS]
