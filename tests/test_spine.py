"""End to end through the public API: the paper -> cited countermeasures."""

from __future__ import annotations

import re

import pytest

import assistant
from assistant import AssistantError, InvalidInputError

from .conftest import PAPER_ID

MOTIVATE = "How can we motivate teachers to take part in training high-skilled talent?"


def test_retrieve_fields_and_order(corpus_assistant):
    passages = assistant.retrieve(MOTIVATE, k=5)
    assert 1 <= len(passages) <= 5
    scores = [p.score for p in passages]
    assert scores == sorted(scores, reverse=True)
    for p in passages:
        assert p.text and p.doc_id and p.title and p.citation
        assert isinstance(p.metadata, dict)


def test_retrieve_restricted_to_paper_finds_43(corpus_assistant):
    passages = assistant.retrieve(MOTIVATE, k=5, sources=[PAPER_ID])
    assert {p.doc_id for p in passages} == {PAPER_ID}
    keys = [p.metadata["section_key"] for p in passages[:3]]
    assert "4.3" in keys
    sec = next(p for p in passages if p.metadata["section_key"] == "4.3")
    assert sec.section.startswith(
        "4.3 Attach importance to the training of dual-qualified teachers"
    )
    assert "§4.3" in sec.citation and "(paper)" in sec.citation


def test_ask_cites_43_and_problem_1(corpus_assistant):
    answer = assistant.ask(MOTIVATE)
    assert answer.grounded
    keys = {c.metadata.get("section_key") for c in answer.citations}
    assert {"4.3", "3(1)"} <= keys
    markers = [int(m) for m in re.findall(r"(?<!\\)\[(\d+)\]", answer.text)]
    assert markers, answer.text
    assert all(1 <= m <= len(answer.citations) for m in markers)
    assert set(markers) == set(range(1, len(answer.citations) + 1))


def _unescape(md: str) -> str:
    md = re.sub(r"\\(.)", r"\1", md)
    return md.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def test_every_quote_is_verbatim_in_its_source(corpus_assistant):
    from pathlib import Path

    from assistant.ingestion import load_file

    answer = assistant.ask("What should the college do about funding for training bases?")
    assert answer.grounded
    for line in answer.text.splitlines():
        m = re.match(r"^\d+\. .*? — (.*) \[(\d+)\]$", line)
        if not m:
            continue
        cited = answer.citations[int(m.group(2)) - 1]
        for quote in re.findall(r"“(.*?)”", m.group(1)):
            assert _unescape(quote) in cited.text
    for c in answer.citations:
        source = load_file(Path(c.metadata["path"]))
        assert c.text in source.text
        assert source.text[c.metadata["start"] : c.metadata["end"]] == c.text


@pytest.mark.parametrize(
    "question",
    ["What is the capital of France?", "Write me a poem", "今天天气怎么样"],
)
def test_off_topic_is_not_grounded(corpus_assistant, question):
    answer = assistant.ask(question)
    assert answer.grounded is False
    assert answer.citations == []
    assert "do not cover" in answer.text or "没有涉及" in answer.text


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda: assistant.retrieve(""), "empty"),
        (lambda: assistant.retrieve("   \n\t "), "empty"),
        (lambda: assistant.retrieve("x" * 100_000), "limit"),
        (lambda: assistant.retrieve("teachers", k=0), "k must"),
        (lambda: assistant.retrieve("teachers", k=-3), "k must"),
        (lambda: assistant.retrieve("teachers", sources=["no-such-doc"]), "Unknown source"),
        (lambda: assistant.retrieve("teachers", kinds=["novel"]), "Unknown kind"),
        (lambda: assistant.ask(""), "empty"),
        (lambda: assistant.ask(None), "must be text"),  # type: ignore[arg-type]
    ],
)
def test_bad_input_raises_clear_error(corpus_assistant, call, fragment):
    with pytest.raises(InvalidInputError) as info:
        call()
    assert isinstance(info.value, AssistantError) and isinstance(info.value, ValueError)
    assert fragment in str(info.value)


def test_follow_up_uses_the_conversation(corpus_assistant):
    first = "How do we build a dual-qualified teaching team?"
    answer = assistant.ask("and what about funding for that?", history=[(first, "...")])
    assert answer.grounded
    assert "follow-up" in answer.text


def test_chinese_question_gets_chinese_wording(corpus_assistant):
    answer = assistant.ask("如何调动教师参与高技能人才培养的积极性？")
    assert answer.grounded and answer.language == "zh"
    assert "出处" in answer.text
