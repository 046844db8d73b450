"""Settings: the only module that reads os.environ. Input: env vars. Output: Settings."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Offline by default, set by the package itself before any model library is imported:
# nothing may reach a model hub, and Chroma/Gradio must not phone home.
for _name, _value in {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "TOKENIZERS_PARALLELISM": "false",
}.items():
    os.environ.setdefault(_name, _value)

REPO_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_CORPUS = REPO_ROOT / "corpus"
PROMPTS_DIR = REPO_ROOT / "prompts"


def _default_data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("policy-assistant", appauthor=False))


class Settings(BaseSettings):
    """Every knob of the assistant; built once at the edge (CLI, web app) and passed down."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", frozen=True, extra="forbid")

    data_dir: Path = Field(default_factory=_default_data_dir)
    corpus_dir: Path = BUNDLED_CORPUS
    prompts_dir: Path = PROMPTS_DIR
    auto_ingest: bool = True  # index the bundled corpus on first use
    chroma_url: str | None = None  # http://host:port -> chromadb.HttpClient
    collection: str = "policy-assistant"
    second_stage: bool = True  # multilingual re-scoring of the fused candidates
    # How documents are embedded at ingest: the sentence-transformers model (default), or the
    # int8 ONNX export of the same MiniLM that queries use (starts in ~0.5 s instead of ~10 s;
    # cosine 0.999 to the torch vectors), for short-lived ingest processes.
    document_encoder: Literal["sentence-transformers", "onnx"] = "sentence-transformers"
    llm: str | None = None  # "ollama:<model>" or "openai:<model>"
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_timeout: float = 60.0
    host: str = "127.0.0.1"
    port: int = 7860
    auth: SecretStr | None = None  # "user:password" or a path to a file of such lines
    # tokens for the HTTP JSON API (`Authorization: Bearer <token>`), comma-separated
    api_tokens: SecretStr | None = None
    api_workers: int = 2  # threads answering API requests (outside the Gradio queue)
    api_queue: int = 48  # API requests that may wait for a thread; beyond that: 503
    allow_upload: bool | None = None  # None: on for loopback hosts only
    allowed_hosts: str | None = None  # extra Host names the web chat answers to (a,b,c)
    max_upload_mb: int = 20
    max_file_mb: int = 50
    parse_timeout: float = 30.0
    parse_memory_mb: int = 1024

    @field_validator("chroma_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(
                f"ASSISTANT_CHROMA_URL must start with http:// or https://, got {value!r}"
            )
        return value or None
