"""The web chat's handlers, called directly (no page, no server) on a real Assistant.

The Assistant is real (Chroma on disk, the bundled encoders) over one ingested paper; the
handlers are ui.handlers.ChatHandlers, the same methods the page's events call.
"""

from __future__ import annotations

import json
from pathlib import Path

import gradio as gr
import pytest

from tests.conftest import PAPER_ID, REPO
from ui.handlers import MAX_SOURCES, ChatHandlers, FeedbackLog

Q = "How can colleges motivate teachers to take part in training high-skilled talent?"


@pytest.fixture(scope="module")
def paper_assistant(tmp_path_factory):
    """An Assistant on a private index holding the bundled paper only."""
    from assistant import Settings
    from assistant.pipeline import Assistant

    data = tmp_path_factory.mktemp("handlers") / "data"
    a = Assistant(Settings(data_dir=data, auto_ingest=False))
    report = a.ingest([REPO / "corpus" / "high-skilled-talent-training.txt"], kind="paper")
    assert report.added == [PAPER_ID]
    return a


@pytest.fixture
def handlers(paper_assistant, tmp_path: Path) -> ChatHandlers:
    return ChatHandlers(
        paper_assistant,
        feedback_log=FeedbackLog(tmp_path / "feedback.jsonl"),
        upload_root=tmp_path / "files",
        max_upload_bytes=1024 * 1024,
        stream_delay=0,
    )


def _final(handlers: ChatHandlers, question: str, turns: list | None = None) -> tuple:
    *_, last = handlers.chat(question, [], [], [], turns or [], "en")
    return last


def test_ask_api_empty_question_is_a_clear_error(handlers):
    with pytest.raises(gr.Error, match="question is empty"):
        handlers.ask_api("   ")


def test_ask_api_unknown_source_names_it(handlers):
    with pytest.raises(gr.Error, match="Unknown source"):
        handlers.ask_api(Q, "", "no-such-document")


def test_ask_api_answers_with_citations_and_sources(handlers):
    md = handlers.ask_api(Q)
    assert "[1]" in md and "**Sources**" in md
    assert "Research recommendation" in md


def test_ask_api_kind_filter_without_matching_documents_refuses(handlers):
    md = handlers.ask_api(Q, "policy")
    assert "[1]" not in md


def test_chat_empty_question_changes_nothing(handlers):
    with pytest.warns(UserWarning):
        (only,) = list(handlers.chat("  ", [], [], [], [], "en"))
    assert all(isinstance(v, dict) and v.get("__type__") == "update" for v in only)
    assert len(only) == 3 + 2 * MAX_SOURCES + 1


def test_chat_streams_answer_then_fills_sources_and_turns(handlers):
    outputs = list(handlers.chat(Q, [], [], [], [], "en"))
    first, final = outputs[0], outputs[-1]
    assert first[0] == [{"role": "user", "content": Q}] and first[1] == ""
    assert len(outputs) > 3  # the extractive answer is revealed in pieces
    chat, _, overview, *rest = final
    turns = rest[-1]
    accordions, bodies = rest[:MAX_SOURCES], rest[MAX_SOURCES : 2 * MAX_SOURCES]
    assert [m["role"] for m in chat] == ["user", "assistant"]
    assert "[1]" in chat[-1]["content"]
    assert "cited" in overview
    assert accordions[0]["visible"] is True and accordions[0]["label"].startswith("[1] ")
    assert bodies[0].startswith("**[1]") and f"Document: {PAPER_ID}" in bodies[0]
    cited = sum(1 for a in accordions if a["visible"])
    assert all(b == "" for b in bodies[cited:])
    assert len(turns) == 1 and turns[0]["question"] == Q
    assert turns[0]["sources"][0]["doc_id"] == PAPER_ID


def test_chat_follow_up_passes_the_history(handlers):
    turns = _final(handlers, Q)[-1]
    follow = _final(handlers, "And what about their pay?", turns)
    assert len(follow[-1]) == 2
    assert "follow-up to" in follow[0][-1]["content"]


def test_chat_escapes_an_untrusted_question(handlers):
    hostile = "<img src=x onerror=alert(1)> [link](http://evil.example) teachers?"
    shown = next(iter(handlers.chat(hostile, [], [], [], [], "en")))[0][-1]["content"]
    assert "<img" not in shown and "&lt;img" in shown
    assert "[link](" not in shown


def test_feedback_needs_an_answer(handlers):
    with pytest.raises(gr.Error, match="no answer"):
        handlers.feedback_up("good", [], "en")


def test_feedback_is_logged_and_the_question_escaped(handlers, tmp_path):
    turns = [{"question": "<b>pay</b>?", "answer": "Pay more [1].", "sources": []}]
    status, comment = handlers.feedback_down(" too short ", turns, "en")
    assert comment == "" and "&lt;b&gt;" in status and "<b>" not in status
    (line,) = (tmp_path / "feedback.jsonl").read_text(encoding="utf-8").splitlines()
    entry = json.loads(line)
    assert entry["rating"] == "down" and entry["comment"] == "too short"
    assert entry["question"] == "<b>pay</b>?"


def test_rating_a_chat_message_rates_its_turn(handlers, tmp_path):
    turns = [
        {"question": "first?", "answer": "a", "sources": []},
        {"question": "second?", "answer": "b", "sources": []},
    ]
    handlers.rate_message([1], "Like", "", turns, "en")  # the first answer (messages 0, 1)
    handlers.rate_message(3, False, "", turns, "en")
    lines = (tmp_path / "feedback.jsonl").read_text(encoding="utf-8").splitlines()
    rated = [(json.loads(x)["question"], json.loads(x)["rating"]) for x in lines]
    assert rated == [("first?", "up"), ("second?", "down")]
    with pytest.raises(gr.Error):
        handlers.rate_message(9, True, "", turns, "en")


def test_export_memo_writes_the_conversation(handlers):
    with pytest.raises(gr.Error):
        handlers.export_memo([], "en")
    turns = _final(handlers, Q)[-1]
    memo = Path(handlers.export_memo(turns, "en")).read_text(encoding="utf-8")
    assert Q in memo and PAPER_ID in memo


def test_new_conversation_clears_every_output(handlers):
    out = handlers.new_conversation("en")
    assert len(out) == 3 + 2 * MAX_SOURCES + 2
    assert out[0] == [] and out[1] == "" and out[-2:] == ([], "")


def test_upload_refuses_a_file_type_and_keeps_nothing(handlers, tmp_path):
    bad = tmp_path / "tool.exe"
    bad.write_bytes(b"MZ\x90\x00")
    with pytest.raises(gr.Error):
        handlers.upload([], "en")
    result, *_ = handlers.upload([str(bad)], "en", "alice")
    assert "tool.exe" in result and "not accepted" in result
    assert not bad.exists() and not (tmp_path / "files").exists()


def test_list_documents_and_language_view(handlers):
    (doc,) = handlers.list_documents()
    assert doc["doc_id"] == PAPER_ID and doc["kind"] == "paper"
    table, plot, choices, empty = handlers.language_view("zh", [])
    assert list(table.iloc[:, 0]) == [PAPER_ID] and "文件编号" in table.columns
    assert plot["title"] and choices["choices"][0][1] == PAPER_ID
    assert empty and handlers.remember_language("zh") == "zh"
    assert handlers.language_view("en", [{"question": "q"}])[-1]["__type__"] == "update"
