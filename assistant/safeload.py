"""Load files for ingestion inside a sandboxed child process with time and memory limits.

Input: a path and Settings (max_file_mb, parse_timeout, parse_memory_mb). Output: a
SourceDocument, or a CorpusError with a clear reason. A hostile file (zip bomb, entity
expansion, deep nesting, a PDF that loops or inflates) can at worst kill its child: the
ingest run carries on with the next file.

The child is `python -m assistant.safeload` (assistant/load_child.py): it imports only
assistant.ingestion and the format libraries (never torch or chromadb), limits its address
space with RLIMIT_AS, and answers length-prefixed JSON frames on a pipe (JSON, not pickle, so
the parent never unpickles anything a parser touched). One child serves many files and is
replaced after a timeout or a crash.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .config import Settings
from .errors import CorpusError
from .ingestion import Section, SourceDocument, check_path
from .load_child import HEADER

logger = logging.getLogger(__name__)
_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)


@dataclass(frozen=True)
class LoadStats:
    """What the last load cost in the child: wall time and the child's peak RSS so far."""

    seconds: float
    peak_rss_mb: float
    fresh_worker: bool


class SafeLoader:
    """A reusable sandboxed parser (one child process at a time; not thread-safe)."""

    def __init__(
        self, *, timeout: float = 30.0, memory_mb: int = 1024, max_bytes: int = 50 << 20
    ) -> None:
        """Configure the limits; the child starts on first use.

        Args:
            timeout: seconds one file may take to parse before its child is killed.
            memory_mb: address-space limit of the child (RLIMIT_AS), in MiB.
            max_bytes: files larger than this are refused before anything reads them.
        """
        if timeout <= 0 or memory_mb < 128 or max_bytes <= 0:
            raise ValueError(
                f"SafeLoader limits must be positive (timeout={timeout}, memory_mb={memory_mb} "
                f">= 128, max_bytes={max_bytes})"
            )
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.max_bytes = max_bytes
        self.last: LoadStats | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> SafeLoader:
        """Context manager: the child is stopped on exit."""
        return self

    def __exit__(self, *_exc: object) -> None:
        """Stop the child."""
        self.close()

    def start(self) -> None:
        """Start the child now (it imports the parsers while the caller does other work)."""
        if self._proc is not None and self._proc.poll() is None:
            return
        self._discard()
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                p for p in (_PACKAGE_ROOT, os.environ.get("PYTHONPATH", "")) if p
            ),
        }
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the child
        try:
            self._proc = self._spawn(env)
        except OSError as e:
            self._discard()
            raise CorpusError(f"cannot start the parser process ({e})") from e

    def _spawn(self, env: dict[str, str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "assistant.safeload", str(self.memory_mb), str(self.timeout)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
            close_fds=True,
        )

    def close(self) -> None:
        """Stop the child (closing its stdin lets it exit by itself)."""
        proc = self._proc
        if proc is not None:
            with contextlib.suppress(OSError, ValueError):
                if proc.stdin:
                    proc.stdin.close()
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._discard()

    def _discard(self) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
                self._proc.wait()
            for stream in (self._proc.stdin, self._proc.stdout):
                with contextlib.suppress(OSError, ValueError):
                    if stream:
                        stream.close()
        if self._stderr is not None:
            with contextlib.suppress(OSError):
                self._stderr.close()
        self._proc = None
        self._stderr = None

    # ------------------------------------------------------------------ loading

    def load(self, path: Path, overrides: dict[str, Any] | None = None) -> SourceDocument:
        """Parse one file in the child.

        Args:
            path: the file.
            overrides: metadata that wins over the file's own (title, kind, doc_id).

        Returns:
            The loaded document.

        Raises:
            CorpusError: refused (size, type, signature), malformed, too slow, or the parser
                ran out of memory or crashed.
        """
        path = Path(path)
        self.last = None
        check_path(path, self.max_bytes)  # size limit before anything reads the file
        fresh = self._proc is None or self._proc.poll() is not None
        self.start()
        proc = self._proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        request = json.dumps(
            {
                "path": str(path.resolve()),
                "overrides": overrides or {},
                "max_bytes": self.max_bytes,
            },
            ensure_ascii=False,
        ).encode()
        began = time.monotonic()
        try:
            proc.stdin.write(HEADER.pack(len(request)) + request)
            proc.stdin.flush()
        except (BrokenPipeError, OSError):
            reason = self._death_reason()
            self._discard()
            raise CorpusError(
                f"{path.name}: the parser process could not start ({reason})"
            ) from None
        try:
            frame = _read_frame(proc.stdout.fileno(), began + self.timeout)
        except TimeoutError:
            self._discard()
            self.last = LoadStats(time.monotonic() - began, float("nan"), fresh)
            raise CorpusError(
                f"{path.name}: stopped after {self.timeout:.0f} s: parsing took too long "
                "(malformed or hostile file?)"
            ) from None
        if frame is None:  # the child died
            reason = self._death_reason()
            self._discard()
            self.last = LoadStats(time.monotonic() - began, float("nan"), fresh)
            raise CorpusError(f"{path.name}: the parser crashed on this file ({reason})")
        reply = json.loads(frame)
        self.last = LoadStats(time.monotonic() - began, reply.get("peak_rss_kb", 0) / 1024, fresh)
        if reply.get("restart"):
            self._discard()  # after a MemoryError the child's heap is not trusted
        if not reply["ok"]:
            raise CorpusError(str(reply["error"]))
        return _doc_from_json(reply["doc"])

    def _death_reason(self) -> str:
        proc = self._proc
        if proc is None:
            return "no process"
        try:
            code = proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        tail = ""
        if self._stderr is not None:
            with contextlib.suppress(OSError):
                self._stderr.seek(0, os.SEEK_END)
                size = self._stderr.tell()
                self._stderr.seek(max(0, size - 2000))
                lines = self._stderr.read().decode("utf-8", "replace").strip().splitlines()
                tail = lines[-1][:200] if lines else ""
        if code < 0:
            try:
                sig = signal.Signals(-code).name
            except ValueError:
                sig = f"signal {-code}"
            what = f"killed by {sig}"
            if sig in {"SIGKILL", "SIGABRT", "SIGSEGV", "SIGBUS"}:
                what += f"; it may have exceeded the {self.memory_mb} MB memory limit"
        else:
            what = f"exit code {code}"
        return f"{what}{': ' + tail if tail else ''}"


def _read_frame(fd: int, deadline: float) -> bytes | None:
    """Read one length-prefixed frame; None on EOF; TimeoutError past the deadline."""
    buf = bytearray()
    need = HEADER.size
    header_done = False
    while True:
        while len(buf) < need:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                raise TimeoutError
            chunk = os.read(fd, max(65536, need - len(buf)))
            if not chunk:
                return None
            buf += chunk
        if header_done:
            return bytes(buf[:need])
        (length,) = HEADER.unpack(buf[: HEADER.size])
        del buf[: HEADER.size]
        need = length
        header_done = True


def _doc_from_json(data: dict[str, Any]) -> SourceDocument:
    sections = [
        Section(
            heading=str(s["heading"]),
            key=str(s["key"]),
            path=tuple(str(p) for p in s["path"]),
            level=int(s["level"]),
            body_start=int(s["body_start"]),
            body_end=int(s["body_end"]),
            role=str(s.get("role", "")),
            answers=str(s.get("answers", "")),
        )
        for s in data["sections"]
    ]
    return SourceDocument(
        doc_id=str(data["doc_id"]),
        title=str(data["title"]),
        kind=str(data["kind"]),
        text=str(data["text"]),
        sections=sections,
        metadata=dict(data["metadata"]),
        content_hash=str(data["content_hash"]),
    )


# ---------------------------------------------------------------------- process-wide loader

_shared: SafeLoader | None = None
_shared_lock = threading.Lock()


def load_file_safely(
    path: Path, *, overrides: dict[str, Any] | None, settings: Settings
) -> SourceDocument:
    """Load one file within the configured limits (a shared sandboxed child per process).

    Args:
        path: the file.
        overrides: metadata that wins over the file's own.
        settings: max_file_mb, parse_timeout and parse_memory_mb are used.

    Returns:
        The loaded document.

    Raises:
        CorpusError: with the reason the file was refused or could not be parsed.
    """
    global _shared
    limits = (settings.parse_timeout, settings.parse_memory_mb, settings.max_file_mb << 20)
    with _shared_lock:
        if _shared is None or (_shared.timeout, _shared.memory_mb, _shared.max_bytes) != limits:
            if _shared is not None:
                _shared.close()
            _shared = SafeLoader(timeout=limits[0], memory_mb=limits[1], max_bytes=limits[2])
        return _shared.load(path, overrides)


def last_stats() -> LoadStats | None:
    """Cost of the last load_file_safely call in this process (for reports and benchmarks)."""
    return _shared.last if _shared is not None else None


def shutdown() -> None:
    """Stop the shared child (also registered with atexit)."""
    global _shared
    with _shared_lock:
        if _shared is not None:
            _shared.close()
            _shared = None


atexit.register(shutdown)


if __name__ == "__main__":
    from .load_child import child_main

    child_main(int(sys.argv[1]), float(sys.argv[2]))
