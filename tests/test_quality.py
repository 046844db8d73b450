"""Retrieval quality and refusal on the golden sets: the acceptance levels, as regression tests.

These run the real pipeline (models, Chroma, BM25) over tests/golden/*.jsonl. They assert
quality, never time.
"""

from __future__ import annotations

import pytest

from assistant.evaluation import GOLDEN_DIR, run_eval

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def results(corpus_assistant):
    return {r.name: r for r in run_eval(corpus_assistant, GOLDEN_DIR)}


def test_paper_english(results):
    r = results["paper_en"]
    assert r.n >= 30
    assert r.hit1 >= 0.90 and r.hit3 >= 0.97 and r.mrr >= 0.93, r.misses


def test_paper_chinese(results):
    r = results["paper_zh"]
    assert r.n >= 15
    assert r.hit3 >= 0.80, r.misses


def test_policy_provisions_in_top_3(results):
    for name in ("policy_en", "policy_zh"):
        assert results[name].hit3 >= 0.90, results[name].misses


def test_off_topic_is_always_refused(results):
    r = results["offtopic"]
    assert r.n >= 15
    assert r.grounded == 0.0, r.misses


def test_on_topic_is_grounded(results):
    on = [results[n] for n in ("paper_en", "paper_zh", "policy_en", "policy_zh")]
    grounded = sum(r.grounded * r.n for r in on) / sum(r.n for r in on)
    assert grounded >= 0.95
