"""The gap-report set of `assistant eval --gaps`: statuses against planted truth.

Input: a folder of test-made college plans (``*.md``) with a ``truth.yaml``. Output: per run and
in total, the share of requirements whose status matches the truth, the share of *meets*
lines that cite the planted sentence, and the *meets* lines without such a citation.

The plans are indexed into a private, temporary data dir (never the user's index), with the
ONNX document encoder (same model, fast start); the bundled corpus is not indexed, since the
requirement records are read from their files.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import Settings
from .errors import InvalidInputError
from .gaps import GapReport, Status, run_gap_check
from .pipeline import Assistant
from .requirements import load_requirements, parse_date


@dataclass
class GapEvalResult:
    """Figures of one run (or of all runs: name "all")."""

    name: str
    n: int = 0
    correct: int = 0
    meets: int = 0  # meets lines predicted
    meets_cited: int = 0  # of which cite the planted sentence and are truly meets
    misses: list[dict[str, str]] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        """Share of requirements with the planted status."""
        return self.correct / self.n if self.n else 0.0

    @property
    def meets_cited_share(self) -> float:
        """Share of meets lines that cite a sentence that really meets the requirement."""
        return self.meets_cited / self.meets if self.meets else 1.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly view."""
        return {
            "set": self.name,
            "n": self.n,
            "status_accuracy": round(self.accuracy, 3),
            "meets": self.meets,
            "meets_citing_right_sentence": round(self.meets_cited_share, 3),
            "meets_without_right_citation": self.meets - self.meets_cited,
            "misses": self.misses,
        }


def _expected(raw: str) -> tuple[str, str]:
    status, _, cite = str(raw).partition("@")
    return status.strip(), cite.strip()


def score_report(
    name: str, report: GapReport, expected: dict[str, str], ids: list[str]
) -> GapEvalResult:
    """Compare one report with its planted truth.

    Args:
        name: the run's name.
        report: the gap report of the run.
        expected: requirement id -> "status [@ section]" (truth.yaml).
        ids: every requirement checked against colleges (unlisted ones: not_mentioned).
    """
    result = GapEvalResult(name)
    lines = {ln.requirement.id: ln for ln in report.lines}
    for req_id in ids:
        want, cite = _expected(expected.get(req_id, "not_mentioned"))
        line = lines.get(req_id)
        got = line.status.value if line else "not_judged"
        result.n += 1
        cited = True
        if line is not None and cite and line.status in (Status.MEETS, Status.FALLS_SHORT):
            cited = any(e.section.endswith(cite) and e.status is line.status for e in line.evidence)
        if got == want and cited:
            result.correct += 1
        else:
            result.misses.append({"run": name, "id": req_id, "want": want, "got": got,
                                  "cite": cite, "cited": str(cited)})  # fmt: skip
        if line is not None and line.status is Status.MEETS:
            result.meets += 1
            if want == "meets" and cited:
                result.meets_cited += 1
    return result


def run_gap_eval(folder: Path, settings: Settings) -> list[GapEvalResult]:
    """Index the plans of ``folder`` privately and score every run of its truth.yaml.

    Raises:
        InvalidInputError: no truth.yaml, or a plan named in it is missing.
    """
    import yaml

    truth_path = folder / "truth.yaml"
    if not truth_path.is_file():
        raise InvalidInputError(f"No truth.yaml in {folder}; see tests/golden/gaps/.")
    truth = yaml.safe_load(truth_path.read_text(encoding="utf-8")) or {}
    ids = [r.id for r in load_requirements([settings.corpus_dir / "policies"]) if r.checkable]
    with tempfile.TemporaryDirectory(prefix="gap-eval-") as tmp:
        engine = Assistant(
            Settings(
                data_dir=Path(tmp),
                corpus_dir=settings.corpus_dir,
                prompts_dir=settings.prompts_dir,
                auto_ingest=False,
                document_encoder="onnx",
            )
        )
        plans = sorted(folder.glob("*.md"))
        engine.ingest(plans, kind="own")
        results = []
        for run in truth.get("runs", []):
            as_of = parse_date(run.get("as_of"))
            report = run_gap_check(engine, run["documents"], as_of)
            results.append(score_report(str(run["name"]), report, run.get("expected", {}), ids))
    total = GapEvalResult(f"{folder.name}/all")
    for r in results:
        total.n += r.n
        total.correct += r.correct
        total.meets += r.meets
        total.meets_cited += r.meets_cited
        total.misses += r.misses
    return [*results, total]
