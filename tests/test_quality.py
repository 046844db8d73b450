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


@pytest.fixture(scope="module")
def heldout(corpus_assistant):
    """Sets written by engineers who never saw the glossary or the tuning (see the README)."""
    return {
        folder: {r.name: r for r in run_eval(corpus_assistant, GOLDEN_DIR / folder)}
        for folder in ("holdout", "holdout2")
    }


def test_heldout_paper_questions(heldout):
    # holdout: used (with golden) to choose the second-stage weights by cross-validation;
    # holdout2: written afterwards and measured once. The bars are the measured levels minus
    # a margin: a regression guard, not the targets (see benchmarks/second_stage.py).
    first, fresh = heldout["holdout"], heldout["holdout2"]
    assert first["paper_en"].hit1 >= 0.90, first["paper_en"].misses
    assert first["paper_zh"].hit3 >= 0.80, first["paper_zh"].misses
    assert fresh["paper_en"].n >= 40
    assert fresh["paper_en"].hit1 >= 0.70 and fresh["paper_en"].hit3 >= 0.85, fresh[
        "paper_en"
    ].misses


def test_heldout_policy_and_offtopic(heldout):
    first = heldout["holdout"]
    for name in ("policy_en", "policy_zh"):
        assert first[name].hit3 >= 0.85, first[name].misses
    assert first["offtopic"].grounded == 0.0, first["offtopic"].misses
