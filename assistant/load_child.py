"""The sandboxed parser child: length-prefixed JSON requests on stdin -> SourceDocument frames.

Input: {"path", "overrides", "max_bytes"} frames. Output: {"ok", "doc" | "error", "restart",
"peak_rss_kb"} frames. Started by assistant.safeload (`python -m assistant.safeload`); it
imports only assistant.ingestion and the format libraries, never torch or chromadb.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import struct
import sys
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

from .errors import CorpusError
from .ingestion import load_file

HEADER = struct.Struct(">I")  # the frame header: payload length, 4 bytes big-endian


def _peak_rss_kb() -> int:
    """This process's own peak resident memory (VmHWM), in KiB.

    Not getrusage's ru_maxrss: Linux carries that over from the parent across fork+exec, so a
    child of a big process (a test runner with torch loaded) would look big from the start.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def child_main(memory_mb: int, timeout: float) -> None:
    """Serve parse requests on stdin/stdout until stdin closes (or a parse needs a restart)."""
    import resource

    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stray prints from libraries go to stderr, never into the protocol
    logging.basicConfig(level=logging.ERROR)
    for name in ("pypdf", "bs4", "docx"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    # Import the parsers before limiting memory, so the limit is about the file, not imports.
    import bs4  # noqa: F401
    import docx  # noqa: F401
    import lxml.etree  # noqa: F401
    import pypdf  # noqa: F401
    import yaml  # noqa: F401

    limit = memory_mb << 20
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    stdin = sys.stdin.buffer
    while True:
        header = stdin.read(HEADER.size)
        if len(header) < HEADER.size:
            return
        (length,) = HEADER.unpack(header)
        request = json.loads(stdin.read(length))
        # An orphaned child (its parent was killed) must not parse forever: SIGALRM ends it.
        signal.alarm(int(timeout) + 5)
        reply = _parse(request, memory_mb)
        signal.alarm(0)
        _send(out, _with_peak(reply, request, memory_mb))
        if reply["restart"]:
            return


def _parse(request: dict[str, Any], memory_mb: int) -> dict[str, Any]:
    """Load one file; every failure becomes an error reply (restart=True when the child may be
    left in a bad state)."""
    restart = False
    try:
        doc = load_file(
            Path(request["path"]),
            overrides=request["overrides"],
            max_bytes=request["max_bytes"],
        )
        reply: dict[str, Any] = {"ok": True, "doc": asdict(doc)}
    except CorpusError as e:
        reply = {"ok": False, "error": str(e)}
    except MemoryError:
        name = Path(request["path"]).name
        reply = {
            "ok": False,
            "error": f"{name}: refused: parsing needed more than the "
            f"{memory_mb} MB memory limit (malformed or hostile file?)",
        }
        restart = True
    except BaseException as e:  # never let a parser take the protocol down silently
        name = Path(request["path"]).name
        reply = {
            "ok": False,
            "error": f"{name}: the parser failed ({type(e).__name__}: {str(e)[:200]})",
        }
        restart = True
    reply["restart"] = restart
    return reply


def _with_peak(reply: dict[str, Any], request: dict[str, Any], memory_mb: int) -> dict[str, Any]:
    """The reply with the child's peak memory, and a failure near the limit called what it is."""
    peak_kb = _peak_rss_kb()
    if not reply["ok"] and peak_kb > 0.85 * (memory_mb << 10):
        # Parsers report an exhausted heap in many ways (lxml: "unknown error"); say it.
        name = Path(request["path"]).name
        reply["error"] = (
            f"{name}: refused: parsing needed more than the {memory_mb} MB memory limit "
            f"(malformed or hostile file?; parser said: {str(reply['error'])[-120:]})"
        )
        reply["restart"] = True
    reply["peak_rss_kb"] = peak_kb
    return reply


def _send(out: IO[bytes], reply: dict[str, Any]) -> None:
    try:
        payload = json.dumps(reply, ensure_ascii=False).encode()
    except MemoryError:
        payload = json.dumps({"ok": False, "error": "result too large", "restart": True}).encode()
    out.write(HEADER.pack(len(payload)) + payload)
    out.flush()
