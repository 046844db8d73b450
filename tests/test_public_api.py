"""The public surface scripts rely on (DESIGN.md) is pinned here."""

from __future__ import annotations

import dataclasses

import assistant


def test_all_is_pinned():
    assert sorted(assistant.__all__) == sorted(
        [
            "Answer",
            "AssistantError",
            "ConfigError",
            "CorpusError",
            "IngestReport",
            "InvalidInputError",
            "Kind",
            "LLMError",
            "ModelUnavailableError",
            "Passage",
            "PromptError",
            "Settings",
            "SkippedFile",
            "StoreBusyError",
            "StoreError",
            "as_retriever",
            "ask",
            "ask_stream",
            "get_assistant",
            "ingest",
            "reset",
            "retrieve",
        ]
    )
    for name in assistant.__all__:
        assert hasattr(assistant, name), name


def test_result_types_have_the_documented_fields():
    passage = {f.name for f in dataclasses.fields(assistant.Passage)}
    assert {"text", "doc_id", "title", "section", "score", "citation", "metadata"} <= passage
    answer = {f.name for f in dataclasses.fields(assistant.Answer)}
    assert {"text", "citations", "grounded"} <= answer
    report = {f.name for f in dataclasses.fields(assistant.IngestReport)}
    assert {"added", "updated", "unchanged", "skipped"} <= report


def test_error_hierarchy():
    for name in ("ConfigError", "CorpusError", "InvalidInputError", "StoreError", "LLMError"):
        assert issubclass(getattr(assistant, name), assistant.AssistantError)
    assert issubclass(assistant.InvalidInputError, ValueError)


def test_importing_the_package_loads_no_heavy_library():
    import subprocess
    import sys

    code = (
        "import sys, assistant; heavy = [m for m in ('torch', 'sentence_transformers', "
        "'gradio', 'chromadb', 'langchain_openai') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_offline_environment_is_set_by_the_package():
    import os

    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["ANONYMIZED_TELEMETRY"] == "False"


def test_langchain_retriever(corpus_assistant):
    from langchain_core.retrievers import BaseRetriever

    retriever = assistant.as_retriever(k=3)
    assert isinstance(retriever, BaseRetriever)
    docs = retriever.invoke("How should teachers' salaries be improved?")
    assert 1 <= len(docs) <= 3
    assert docs[0].metadata["citation"] and docs[0].metadata["doc_id"]
