"""Evaluate answers (not passages): do they say what was asked, and only that?

Input: an answer-level golden set (tests/golden/answers/*.jsonl; README there). Output: the
figures a reader cares about, per set:
- key-point recall: share of key points present in the answer *body* (not only in Sources);
- fact first line: share of fact questions whose first line holds the asked fact;
- point precision: share of cited passages from an allowed document (or paper section);
- trap refusal / false refusal: traps declined; answerable questions refused;
- follow-up accuracy: follow-ups that cite an allowed document or section;
- language match: answers whose body is mostly in the question's language;
- points per answer.
"""

from __future__ import annotations

import json
import statistics
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .text import cjk_share

if TYPE_CHECKING:
    from .pipeline import Assistant
    from .types import Answer, Passage


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    text = text.replace("\\", "")  # Markdown escapes in the body
    for a, b in (("“", '"'), ("”", '"'), ("‘", "'"), ("’", "'")):
        text = text.replace(a, b)
    return " ".join(text.split())


def _present(alternatives: list[str], body: str) -> bool:
    nb = _norm(body)
    return any(_norm(a) in nb for a in alternatives if a.strip())


def _allowed(p: Passage, allowed: list[str]) -> bool:
    base = str(p.metadata.get("translation_of") or p.doc_id)
    key = str(p.metadata.get("section_key", ""))
    for rule in allowed:
        doc, _, section = rule.partition("#")
        if doc != base:
            continue
        if not section or key == section or key.startswith(section + "("):
            return True
    return False


def _body_language_ok(answer: Answer, language: str) -> bool:
    quotes = answer.body
    share = cjk_share(quotes)
    # English answers may quote Chinese names and document numbers inside English sentences
    return share >= 0.8 if language == "zh" else share < 0.5


@dataclass
class AnswerSetResult:
    """The answer-level figures of one set."""

    name: str
    n: int = 0
    key_recall: float = 0.0
    fact_first_line: float = 0.0
    point_precision: float = 0.0
    trap_refusal: float = 0.0
    false_refusal: float = 0.0
    followup_accuracy: float = 0.0
    language_match: float = 0.0
    points_per_answer: float = 0.0
    p50_ms: float = 0.0
    s_per_answer: float = 0.0  # mean wall time per question (a follow-up includes its history)
    counts: dict[str, int] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON view (without the failures)."""
        keys = [
            "key_recall",
            "fact_first_line",
            "point_precision",
            "trap_refusal",
            "false_refusal",
            "followup_accuracy",
            "language_match",
            "points_per_answer",
            "p50_ms",
            "s_per_answer",
        ]
        return {"set": self.name, "n": self.n, **{k: round(getattr(self, k), 3) for k in keys}}


def _ask(assistant: Assistant, item: dict[str, Any]) -> Answer:
    history: list[tuple[str, str]] = []
    for earlier in item.get("history", []):
        first = assistant.ask(earlier, history=list(history) or None)
        history.append((earlier, first.text))
    return assistant.ask(item["q"], history=history or None)


def evaluate_answers(
    assistant: Assistant, name: str, items: list[dict[str, Any]]
) -> AnswerSetResult:
    """Ask every question of a set and score the answers (see the module docstring)."""
    res = AnswerSetResult(name, n=len(items))
    tally = _Tally()
    for item in items:
        t0 = time.perf_counter()
        answer = _ask(assistant, item)
        tally.times.append(time.perf_counter() - t0)
        kind = item["type"]
        res.counts[kind] = res.counts.get(kind, 0) + 1
        failure: dict[str, Any] = {}
        if item.get("must_decline"):
            tally.traps.append(not answer.grounded)
            if answer.grounded:
                failure["trap answered"] = answer.body[:300]
        else:
            tally.refused.append(not answer.grounded)
            if not answer.grounded:
                failure["refused"] = answer.text[:200]
            else:
                _score(item, answer, tally, failure)
        if failure:
            res.failures.append({"id": item.get("id"), "q": item["q"], **failure})
    tally.summarise(res)
    return res


@dataclass
class _Tally:
    """The per-question measurements of one answer set, before averaging."""

    recall: list[float] = field(default_factory=list)
    first_line: list[bool] = field(default_factory=list)
    precision: list[float] = field(default_factory=list)
    traps: list[bool] = field(default_factory=list)
    refused: list[bool] = field(default_factory=list)
    follow: list[bool] = field(default_factory=list)
    language: list[bool] = field(default_factory=list)
    points: list[int] = field(default_factory=list)
    times: list[float] = field(default_factory=list)

    def summarise(self, res: AnswerSetResult) -> None:
        """Write the means (and the median time) into the result."""

        def mean(values: list[Any]) -> float:
            return sum(values) / len(values) if values else 0.0

        res.key_recall = mean(self.recall)
        res.fact_first_line = mean(self.first_line)
        res.point_precision = mean(self.precision)
        res.trap_refusal = mean(self.traps)
        res.false_refusal = mean(self.refused)
        res.followup_accuracy = mean(self.follow)
        res.language_match = mean(self.language)
        res.points_per_answer = mean(self.points)
        res.p50_ms = statistics.median(self.times) * 1000 if self.times else 0.0
        res.s_per_answer = mean(self.times)


def _score(item: dict[str, Any], answer: Answer, tally: _Tally, failure: dict[str, Any]) -> None:
    """Score a grounded answer to an answerable question; what went wrong goes into failure."""
    kind = item["type"]
    keys = item.get("keys", [])
    got = [_present(k, answer.body) for k in keys]
    tally.recall.append(sum(got) / len(got) if got else 1.0)
    if keys and not all(got):
        failure["missing keys"] = [k[0] for k, ok in zip(keys, got, strict=True) if not ok]
    allowed = item.get("allowed", [])
    cited = [p for p in answer.citations if not p.metadata.get("context")]
    ok = [_allowed(p, allowed) for p in cited]
    tally.precision.append(sum(ok) / len(ok) if ok else 0.0)
    if not all(ok):
        failure["not allowed"] = [
            f"{p.doc_id}#{p.metadata.get('section_key', '')}"
            for p, good in zip(cited, ok, strict=True)
            if not good
        ]
    tally.points.append(len(answer.citations))
    if kind == "fact":
        lead = answer.body.strip().splitlines()[0] if answer.body.strip() else ""
        tally.first_line.append(any(_present(k, lead) for k in keys[:1]))
    if kind == "followup":
        tally.follow.append(any(ok))
    tally.language.append(_body_language_ok(answer, item.get("lang", "en")))
    if not tally.language[-1]:
        failure["language"] = round(cjk_share(answer.body), 2)


def extractive_twin(assistant: Assistant) -> Assistant:
    """An Assistant on the same index and settings that answers extractively (no LLM)."""
    from .pipeline import Assistant

    return Assistant(assistant.settings.model_copy(update={"llm": None, "auto_ingest": False}))


def load_answer_set(path: Path) -> list[dict[str, Any]]:
    """Read one answer-level JSONL set."""
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
