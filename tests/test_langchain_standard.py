"""LangChain's own standard retriever suite (langchain-tests) run against as_retriever().

The suite checks what a LangChain user relies on: ``k`` from the constructor, ``k`` per call
(``invoke(q, k=1)``), Documents from ``invoke`` and from ``ainvoke``. It runs on an engine the
test builds itself (a private index holding the paper), so it also checks that the retriever
queries the Assistant it was given, not the package's default one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_tests.integration_tests import RetrieversIntegrationTests

from assistant.langchain_retriever import PolicyRetriever

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def paper_engine(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from assistant import Settings
    from assistant.pipeline import Assistant

    engine = Assistant(Settings(data_dir=tmp_path_factory.mktemp("lc-standard"), auto_ingest=False))
    engine.ingest([REPO / "corpus" / "high-skilled-talent-training.txt"], kind="paper")
    return engine


class TestPolicyRetrieverStandard(RetrieversIntegrationTests):
    @pytest.fixture(autouse=True)
    def _engine(self, paper_engine: Any) -> None:
        self.engine = paper_engine

    @property
    def retriever_constructor(self) -> type[PolicyRetriever]:
        return PolicyRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"assistant": self.engine}

    @property
    def retriever_query_example(self) -> str:
        return "How should teachers' salaries be improved?"


def test_the_given_engine_is_queried_not_the_default(paper_engine: Any) -> None:
    import assistant

    docs = assistant.as_retriever(k=4, assistant=paper_engine).invoke("teachers' pay")
    # the private index holds only the paper: no policy brief can come back
    assert docs and {d.metadata["doc_id"] for d in docs} == {"high-skilled-talent-training"}
