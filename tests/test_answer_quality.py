"""Answer quality on the answer-level golden sets, guarded at the levels measured on 2026-12-03.

Each figure of `assistant eval --answers` (assistant/answer_eval.py) has a floor (or, for false
refusals, a ceiling) a little below what the shipped configuration measured, so a change that
makes answers worse fails here. They assert quality, never time.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.answer_eval import evaluate_answers, load_answer_set

pytestmark = pytest.mark.slow

SETS = Path(__file__).parent / "golden" / "answers"

# measured on 2026-12-03 (dev / holdout): keys .749/.730, fact first line .955/.895,
# precision .864/.935, traps .917/.913, false refusals .029/.045, follow-ups 1.0/1.0
FLOORS = {
    "dev": {
        "key_recall": 0.72,
        "fact_first_line": 0.9,
        "point_precision": 0.83,
        "trap_refusal": 0.9,
        "followup_accuracy": 0.9,
        "language_match": 1.0,
    },
    "holdout": {
        "key_recall": 0.70,
        "fact_first_line": 0.85,
        "point_precision": 0.9,
        "trap_refusal": 0.88,
        "followup_accuracy": 0.9,
        "language_match": 1.0,
    },
}
MAX_FALSE_REFUSAL = {"dev": 0.05, "holdout": 0.06}


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_answer_figures_hold_their_measured_level(corpus_assistant, name):
    result = evaluate_answers(corpus_assistant, name, load_answer_set(SETS / f"{name}.jsonl"))
    low = {
        figure: round(getattr(result, figure), 3)
        for figure, floor in FLOORS[name].items()
        if getattr(result, figure) < floor
    }
    assert not low, f"{name}: below the measured level: {low}; failures: {result.failures[:5]}"
    assert result.false_refusal <= MAX_FALSE_REFUSAL[name], result.failures[:5]
