"""The `assistant` command, run the way a user runs it (a subprocess of the installed script)."""

from __future__ import annotations

import json

import pytest

from .conftest import PAPER_ID, run_cli

MOTIVATE = "How can we motivate teachers to take part in training high-skilled talent?"


def test_search_json(corpus_assistant):
    out = run_cli("search", MOTIVATE, "--k", "5", "--json", "--source", PAPER_ID)
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert 1 <= len(rows) <= 5
    assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
    assert {r["doc_id"] for r in rows} == {PAPER_ID}
    assert any(r["section"].startswith("4.3") for r in rows[:3])
    assert all({"score", "title", "citation", "text", "kind"} <= set(r) for r in rows)


def test_search_matches_the_library(corpus_assistant):
    import assistant

    out = run_cli("search", "per-student funding target", "--json")
    cli_ids = [(r["doc_id"], r["section"]) for r in json.loads(out.stdout)]
    lib_ids = [(p.doc_id, p.section) for p in assistant.retrieve("per-student funding target")]
    assert cli_ids == lib_ids


def test_ask_prints_cited_countermeasures(corpus_assistant):
    out = run_cli("ask", MOTIVATE)
    assert out.returncode == 0, out.stderr
    assert "[1]" in out.stdout and "Sources" in out.stdout
    assert "§4.3" in out.stdout


def test_ask_json_off_topic(corpus_assistant):
    out = run_cli("ask", "What is the capital of France?", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["grounded"] is False and data["citations"] == []


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["search", ""], "empty"),
        (["search", "x" * 100_000], "limit"),
        (["search", "teachers", "--k", "0"], "k must"),
        (["search", "teachers", "--source", "nope"], "Unknown source"),
        (["ask", "   "], "empty"),
        (["remove", "no-such-document"], "No document"),
    ],
)
def test_bad_input_is_a_clear_error_not_a_traceback(corpus_assistant, args, fragment):
    out = run_cli(*args)
    assert out.returncode == 1
    assert out.stderr.startswith("error: ") and fragment in out.stderr
    assert "Traceback" not in out.stderr


def test_eval_prints_the_metrics(corpus_assistant):
    out = run_cli("eval", "--json")
    assert out.returncode == 0, out.stderr
    sets = {r["set"]: r for r in json.loads(out.stdout)}
    assert {"paper_en", "paper_zh", "offtopic"} <= set(sets)
    assert sets["paper_en"]["hit@1"] >= 0.9


def test_usage_error_exit_code():
    out = run_cli("frobnicate")
    assert out.returncode == 2 and "invalid choice" in out.stderr
