"""Document text on a terminal. Input: text from the index. Output: the same text without
terminal control sequences.

A document may carry escape sequences (clipboard writes via OSC 52, hyperlinks via OSC 8, a
new window title, cursor moves, colours) that a terminal would obey when `assistant search`,
`ask` or `docs` prints it. Removed: ESC sequences (CSI, OSC, DCS ... up to their terminator),
other C0 controls except newline and tab, DEL, the C1 controls U+0080-U+009F (8-bit CSI/OSC)
and the bidirectional overrides that reorder what is shown.
"""

from __future__ import annotations

import re

_ESCAPES = re.compile(
    r"\x1b\][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC ... BEL / ST
    r"|\x1b[P^_X][^\x1b\x9c]*(?:\x1b\\|\x9c)?"  # DCS, PM, APC, SOS ... ST
    r"|\x1b\[[0-?]*[ -/]*[@-~]?"  # CSI
    r"|\x9d[^\x07\x1b\x9c]*(?:\x07|\x9c)?"  # 8-bit OSC
    r"|\x9b[0-?]*[ -/]*[@-~]?"  # 8-bit CSI
    r"|\x1b[ -/]*[0-~]?"  # other ESC sequences (and a lone ESC)
)
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_C1 = re.compile("[\x80-\x9f\u202a-\u202e\u2066-\u2069]")  # and bidi overrides


def for_terminal(text: str) -> str:
    """``text`` with every terminal control sequence removed (newlines and tabs kept) and lone
    surrogates shown as U+FFFD (they cannot be written to a UTF-8 terminal)."""
    text = text.encode("utf-8", "replace").decode("utf-8") if _has_surrogate(text) else text
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def json_for_terminal(dumped: str) -> str:
    """JSON text (json.dumps already escapes C0) with C1 controls escaped too: data kept."""
    return _C1.sub(lambda m: f"\\u{ord(m.group(0)):04x}", for_terminal_surrogates(dumped))


def for_terminal_surrogates(text: str) -> str:
    """Lone surrogates as U+FFFD (json.dumps with ensure_ascii=False keeps them)."""
    return text.encode("utf-8", "replace").decode("utf-8") if _has_surrogate(text) else text
