"""Compose with an LLM: question + history -> passages -> chat model -> verified, cited Answer.

Input: a question, the chat history and filters. Output: Answer (or a stream of partial texts
followed by the Answer). Optional stage, used only when Settings.llm is set; langchain-openai and
langchain-ollama are imported lazily, so the default extractive path never loads them.

The chain (LCEL): condense the follow-up with the history (only when there is history) ->
retrieve -> number the passages [1..n] as delimited, untrusted data -> chat model -> parse [n].
The model's citations are verified, never trusted: see verify_citations().
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .chat_models import LOCAL_MODEL_NAME as LOCAL_MODEL_NAME
from .chat_models import LLMSpec as LLMSpec
from .chat_models import Provider as Provider
from .chat_models import check_llm_settings, make_chat_model
from .chat_models import parse_llm as parse_llm
from .citing import GROUP_ORDER, sources_section
from .config import Settings
from .errors import LLMError
from .ingestion import detect_language
from .intent import Query, condense, history_turns, make_query, user_questions
from .prompts import load_prompt
from .roles import Role, passage_role
from .text import escape_md
from .types import Answer, Passage
from .verification import Verified as Verified
from .verification import format_passages, sanitise_reply, verify_citations
from .verification import neutralise as neutralise
from .verification import split_reply_sentences as split_reply_sentences

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from .answering import Retrieve

logger = logging.getLogger(__name__)

NOT_IN_SOURCES = "NOT_IN_SOURCES"  # the sentinel the prompts tell the model to reply with
RETRIEVE_K = 6  # passages shown to the model: enough for 3-6 points, short enough for 8k contexts
MAX_HISTORY_TURNS = 6  # (role, text) turns given to the condense prompt
MAX_TURN_CHARS = 600  # an earlier answer carries its Sources section; the gist is at the top
MAX_CONDENSED_CHARS = 500
PROMPT_PLACEHOLDERS: dict[str, frozenset[str]] = {
    "system": frozenset({"not_in_sources"}),
    "answer": frozenset({"count", "passages", "question", "language", "not_in_sources"}),
    "condense": frozenset({"history", "question"}),
}
LANGUAGE_NAMES = {"en": "English", "zh": "Simplified Chinese (简体中文)"}

_NOTICES = {
    "en": {
        "error": "The language model did not give a usable answer ({reason}), so the extractive "
        "answer is shown instead.",
        "no_citation": "The language model's answer cited none of the retrieved passages, so it "
        "could not be verified; the extractive answer is shown instead.",
        "dropped": "{count} citation(s) to passages that do not exist were removed from the "
        "model's answer.",
        "research_note": "**Note:** the following sentences cite only research recommendations "
        "(advice from the paper, not obligations) although they are worded as obligations:",
    },
    "zh": {
        "error": "语言模型没有给出可用的回答（{reason}），因此改为显示抽取式回答。",
        "no_citation": "语言模型的回答没有引用任何检索到的段落，无法核实，因此改为显示抽取式回答。",
        "dropped": "已从模型回答中删除 {count} 处指向不存在段落的引用。",
        "research_note": "**注意：**以下句子只引用了研究建议（论文的建议，并非义务），"
        "却使用了义务性措辞：",
    },
}


def load_llm_prompts(prompts_dir: Path) -> dict[str, str]:
    """Load prompts/system.txt, answer.txt and condense.txt, checking their placeholders.

    Raises:
        PromptError: a file is missing or its placeholders do not match (names the path).
    """
    return {
        name: load_prompt(prompts_dir, name, required)
        for name, required in PROMPT_PLACEHOLDERS.items()
    }


# ---------------------------------------------------------------------------- the answerer


class Fallback(Protocol):
    """The extractive answerer as the LLM answerer needs it: the refusal gate and the fallback."""

    def refusal(self, query: Query, passages: Sequence[Passage]) -> Answer | None:
        """The refusal for passages too weak to answer from, or None."""
        ...

    def compose(self, query: Query, passages: Sequence[Passage]) -> Answer:
        """The extractive answer over given passages."""
        ...

    def answer(self, query: Query) -> Answer:
        """The extractive answer, retrieving its own passages."""
        ...


class LLMAnswerer:
    """Writes answers with a chat model and verifies them; falls back to the extractive composer."""

    def __init__(
        self,
        settings: Settings,
        *,
        retrieve: Retrieve,
        fallback: Fallback,
        wording: Callable[[str], dict[str, str]],
        chat_model: BaseChatModel | None = None,
    ) -> None:
        """Check the LLM settings and all three prompts now (start-up), and build the chain.

        Args:
            settings: the ASSISTANT_LLM* settings and the prompts directory.
            retrieve: the retrieval stage.
            fallback: the extractive answerer (refusal gate, fallback answers).
            wording: language -> the fixed wording (prompts/extractive.<lang>.yaml).
            chat_model: a LangChain chat model; default: built from settings.

        Raises:
            ConfigError: malformed ASSISTANT_LLM* settings.
            PromptError: a prompt file is missing or its placeholders do not match.
            ModelUnavailableError: the provider's LangChain package is not installed.
        """
        from langchain_core.output_parsers import StrOutputParser
        from langchain_core.runnables import RunnableLambda, RunnablePassthrough

        self.retrieve = retrieve
        self.fallback = fallback
        self.wording = wording
        self.spec = check_llm_settings(settings)
        self.prompts = load_llm_prompts(settings.prompts_dir)
        english = wording("en")
        self.labels = {group: english["label_" + group] for group in GROUP_ORDER}
        self.timeout = settings.llm_timeout
        self.model = chat_model or make_chat_model(self.spec, settings)
        parse = StrOutputParser()
        self.condense_chain = RunnableLambda(self._condense_messages) | self.model | parse
        # inputs: question, turns, sources, kinds -> + query, previous -> + passages
        self.context_chain = RunnablePassthrough.assign(
            query=RunnableLambda(self._standalone_query)
        ) | RunnablePassthrough.assign(passages=RunnableLambda(self._retrieve))
        self.answer_chain = RunnableLambda(self._answer_messages) | self.model | parse

    @property
    def mode(self) -> str:
        """Answer.mode of the answers this model writes."""
        return self.spec.mode

    # -- chain steps

    def _condense_messages(self, inputs: dict[str, Any]) -> list[Any]:
        from langchain_core.messages import HumanMessage

        lines = []
        for role, text in inputs["turns"][-MAX_HISTORY_TURNS:]:
            text = " ".join(text.split())
            if len(text) > MAX_TURN_CHARS:
                text = text[:MAX_TURN_CHARS] + " …"
            lines.append(f"{'User' if role == 'user' else 'Assistant'}: {text}")
        prompt = self.prompts["condense"].format(
            history="\n".join(lines), question=inputs["question"]
        )
        return [HumanMessage(prompt)]

    def _standalone_query(self, inputs: dict[str, Any]) -> str:
        """The question itself, or (with history) the model's standalone rewrite of it."""
        question: str = inputs["question"]
        if not inputs["turns"]:
            return question
        try:
            reply = self.condense_chain.invoke(inputs)
        except Exception as e:  # the SDKs raise many types; any of them means "no rewrite"
            raise LLMError(f"condensing the follow-up failed: {_reason(e)}") from e
        lines = [ln.strip().strip('"“”「」') for ln in str(reply).splitlines() if ln.strip()]
        query = (
            re.sub(r"^(standalone question|question|问题)\s*[:：]\s*", "", lines[0], flags=re.I)
            if lines
            else ""
        )
        if not query or len(query) > MAX_CONDENSED_CHARS or NOT_IN_SOURCES in query:
            logger.warning("unusable condensed question %r; using the heuristic rewrite", reply)
            return condense(question, inputs["turns"])[0]
        return query

    def _retrieve(self, inputs: dict[str, Any]) -> list[Passage]:
        found = self.retrieve(
            inputs["query"], RETRIEVE_K + 2, sources=inputs["sources"], kinds=inputs["kinds"]
        )
        # editorial notes of the briefs are the project's words, never material for an answer
        return [p for p in found if passage_role(p.metadata) is not Role.EDITORIAL][:RETRIEVE_K]

    def _answer_messages(self, inputs: dict[str, Any]) -> list[Any]:
        from langchain_core.messages import HumanMessage, SystemMessage

        passages: list[Passage] = inputs["passages"]
        system = self.prompts["system"].format(not_in_sources=NOT_IN_SOURCES)
        prompt = self.prompts["answer"].format(
            count=len(passages),
            passages=format_passages(passages, self.labels),
            question=inputs["query"],
            language=LANGUAGE_NAMES[inputs["language"]],
            not_in_sources=NOT_IN_SOURCES,
        )
        return [SystemMessage(system), HumanMessage(prompt)]

    # -- public

    def stream(
        self,
        question: str,
        history: Sequence[Any] | None = None,
        *,
        sources: list[str] | None = None,
        kinds: list[str] | None = None,
    ) -> Iterator[str | Answer]:
        """Yield the answer text so far (str, the whole text each time) while tokens arrive,
        then exactly one verified Answer as the last item.

        A timeout, connection error or garbage reply never raises: the last item is then the
        extractive answer with Answer.notice saying why. Retrieval errors (StoreError ...) do
        raise, as on the extractive path.
        """
        language = detect_language(question)
        turns = history_turns(history)
        inputs: dict[str, Any] = {
            "question": question,
            "turns": turns,
            "sources": sources,
            "kinds": kinds,
            "language": language,
        }
        try:
            ctx = self.context_chain.invoke(inputs)
        except LLMError as e:
            logger.warning("LLM unavailable, extractive fallback: %s", e)
            yield self._fallback(inputs, None, _notice(language, "error", reason=str(e)))
            return
        passages: list[Passage] = ctx["passages"]
        query = make_query(question, user_questions(history), sources=sources, kinds=kinds)
        # too weak, or a scope the passages never mention: do not ask the model at all
        refused = self.fallback.refusal(query, passages)
        if refused is not None:
            yield dataclasses.replace(refused, mode=self.mode)
            return
        reply = ""
        try:
            for so_far in self._reply(ctx):
                reply = so_far
                if so_far and not _maybe_sentinel(so_far):
                    yield sanitise_reply(so_far)
            if not reply:
                raise LLMError("the reply was empty")
        except Exception as e:  # timeout, connection, HTTP status, bad JSON/SSE: all -> fallback
            logger.warning("LLM call failed, extractive fallback: %s", _reason(e))
            yield self._fallback(inputs, ctx, _notice(language, "error", reason=_reason(e)))
            return
        yield self._verified_answer(ctx, reply)

    def _reply(self, ctx: dict[str, Any]) -> Iterator[str]:
        """The model's reply so far (the whole text each time) while it arrives; the last item
        is the complete reply. Raises LLMError on a timeout (the caller falls back)."""
        parts: list[str] = []
        deadline = time.monotonic() + self.timeout
        for chunk in self.answer_chain.stream(ctx):
            parts.append(str(chunk))
            if time.monotonic() > deadline:
                raise LLMError(f"no complete reply within {self.timeout:g} s")
            yield "".join(parts).strip()

    def _verified_answer(self, ctx: dict[str, Any], reply: str) -> Answer:
        language: str = ctx["language"]
        question: str = ctx["question"]
        words = self.wording(language)
        if NOT_IN_SOURCES in reply:
            query = make_query(question, [t for r, t in ctx["turns"] if r == "user" and t.strip()])
            not_covered = self.fallback.refusal(query, [])
            assert not_covered is not None  # no passages: always refused
            return dataclasses.replace(not_covered, mode=self.mode)
        checked = verify_citations(sanitise_reply(reply), ctx["passages"])
        if not checked.citations:
            logger.warning("the model's reply has no valid citation; extractive fallback")
            fallback = self._fallback(ctx, ctx, _notice(language, "no_citation"))
            return dataclasses.replace(fallback, grounded=False)
        lines = [checked.text]
        previous = _previous_question(ctx)
        if previous:
            lines = [words["followup_note"].format(previous=escape_md(previous)), "", *lines]
        if checked.research_obligations:
            lines += ["", _NOTICES[language]["research_note"]]
            lines += [f"- “{s}”" for s in checked.research_obligations]
        body = "\n".join(lines).strip() + "\n"
        sources, citations = sources_section(words, checked.citations, language)
        lines += sources
        notice = _notice(language, "dropped", count=len(checked.dropped)) if checked.dropped else ""
        return Answer(
            text="\n".join(lines).strip() + "\n",
            body=body,
            citations=citations,
            grounded=True,
            mode=self.mode,
            language=language,
            notice=notice,
            unsupported_sentences=checked.unsupported,
            question=question,
        )

    def _fallback(self, inputs: dict[str, Any], ctx: dict[str, Any] | None, notice: str) -> Answer:
        """The extractive answer (over the passages the model saw, if retrieval got that far)."""
        question: str = inputs["question"]
        users = [t for role, t in inputs["turns"] if role == "user" and t.strip()]
        query = make_query(question, users, sources=inputs["sources"], kinds=inputs["kinds"])
        extractive = self.fallback
        if ctx is not None:
            answer = extractive.compose(query, ctx["passages"])
        else:
            answer = extractive.answer(query)
        return dataclasses.replace(answer, notice=notice)

    def answer(
        self,
        question: str,
        history: Sequence[Any] | None = None,
        *,
        sources: list[str] | None = None,
        kinds: list[str] | None = None,
    ) -> Answer:
        """The final Answer of stream() (see there)."""
        final: Answer | None = None
        for item in self.stream(question, history, sources=sources, kinds=kinds):
            if isinstance(item, Answer):
                final = item
        assert final is not None  # stream() always ends with an Answer
        return final


def _maybe_sentinel(text: str) -> bool:
    """Whether a partial reply is (the start of) the not-in-sources sentinel: do not show it."""
    return NOT_IN_SOURCES in text or NOT_IN_SOURCES.startswith(text[: len(NOT_IN_SOURCES)])


def _previous_question(ctx: dict[str, Any]) -> str:
    """The earlier user question a condensed follow-up was read against ("" if not condensed)."""
    if ctx["query"] == ctx["question"]:
        return ""
    users = [t for role, t in ctx["turns"] if role == "user" and t.strip()]
    return users[-1] if users else ""


def _reason(error: BaseException) -> str:
    """A short, log-safe description of an error (type and first line, no secrets)."""
    first = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


def _notice(language: str, key: str, **values: Any) -> str:
    return _NOTICES.get(language, _NOTICES["en"])[key].format(**values)
