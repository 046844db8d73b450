"""The policy briefs: complete front matter, numbers only from the checked facts sheet."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from .conftest import REPO, run_cli

BRIEFS = sorted((REPO / "corpus" / "policies").glob("*.md"))
FACTS = next(
    (p for p in (REPO.parent / "shared" / "policy-facts.md", Path("/work/shared/policy-facts.md"))
     if p.is_file()),
    None,
)  # fmt: skip


def front_matter(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    match = re.match(r"^---\n(.*?)\n---\n", text, re.S)
    assert match, f"{path.name} has no front matter"
    return yaml.safe_load(match.group(1))


def test_there_are_at_least_18_briefs():
    assert len(BRIEFS) >= 18


@pytest.mark.parametrize("path", BRIEFS, ids=lambda p: p.stem)
def test_front_matter(path):
    meta = front_matter(path)
    for key in ("doc_id", "title", "title_zh", "issuer", "date", "date_type", "level", "status"):
        assert meta.get(key), f"{path.name}: {key} missing"
    assert meta["kind"] == "policy"
    assert meta["date_type"] in {"signed", "published", "effective", "launched"}
    assert meta["source_urls"]
    body = path.read_text(encoding="utf-8").split("---", 2)[2]
    assert "summary" in body.lower()[:400]
    assert len(re.findall(r"^## ", body, re.M)) >= 3


@pytest.mark.skipif(FACTS is None, reason="../shared/policy-facts.md is not beside this checkout")
@pytest.mark.parametrize("path", BRIEFS, ids=lambda p: p.stem)
def test_every_number_is_in_the_facts_sheet(path):
    facts = FACTS.read_text(encoding="utf-8")
    numbers = set(re.findall(r"\d+(?:[.,]\d+)*", path.read_text(encoding="utf-8")))
    missing = [n for n in numbers if n not in facts]
    assert not missing, f"{path.name}: numbers not in the facts sheet: {missing}"


def test_docs_json_lists_paper_and_policies(corpus_assistant):
    out = run_cli("docs", "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    by_id = {r["doc_id"]: r for r in rows}
    assert by_id["high-skilled-talent-training"]["kind"] == "paper"
    policies = [r for r in rows if r["kind"] == "policy"]
    assert len(policies) >= 18
    for row in policies:
        for key in ("doc_id", "title", "kind", "issuer", "date", "chunks", "title_zh", "level"):
            assert row.get(key), (row["doc_id"], key)
        assert row["chunks"] >= 3


def test_answers_label_provenance_and_put_policy_first(corpus_assistant):
    import assistant

    answer = assistant.ask("How long must vocational teachers spend doing practice in enterprises?")
    assert answer.grounded
    kinds = [c.kind for c in answer.citations]
    assert "policy" in kinds
    assert kinds == sorted(kinds, key=["policy", "paper", "own"].index)
    assert "Policy requirement" in answer.text
    policy = next(c for c in answer.citations if c.kind == "policy")
    assert policy.metadata.get("issuer", "") in policy.citation


def test_kind_filter(corpus_assistant):
    import assistant

    passages = assistant.retrieve("teacher salary", k=5, kinds=["policy"])
    assert passages and all(p.kind == "policy" for p in passages)
    out = run_cli("search", "teacher salary", "--kind", "paper", "--json")
    assert out.returncode == 0, out.stderr
    assert {r["kind"] for r in json.loads(out.stdout)} == {"paper"}


ZH_BRIEFS = sorted((REPO / "corpus" / "policies" / "zh").glob("*.zh.md"))
_SCALES = {"million": (100, "万"), "billion": (10, "亿")}


def _chinese_forms(text: str) -> set[str]:
    """The 万/亿 forms of an English text's "X million" / "X billion" (23.5 million -> 2350)."""
    from decimal import Decimal

    forms = set()
    for number, scale in re.findall(r"(\d+(?:\.\d+)?)\s*(million|billion)", text):
        factor, _ = _SCALES[scale]
        forms.add(format((Decimal(number) * factor).normalize(), "f"))
    return forms


@pytest.mark.skipif(FACTS is None, reason="../shared/policy-facts.md is not beside this checkout")
@pytest.mark.parametrize("path", ZH_BRIEFS, ids=lambda p: p.stem)
def test_every_number_in_a_chinese_brief_is_traceable(path):
    """The numbers-traceable rule holds for the Chinese text: each number is in the facts
    sheet or the English brief, or is one of their millions/billions written in 万/亿."""
    facts = FACTS.read_text(encoding="utf-8")
    english = (REPO / "corpus" / "policies" / path.name.replace(".zh.md", ".md")).read_text(
        encoding="utf-8"
    )
    allowed = _chinese_forms(facts) | _chinese_forms(english)
    numbers = set(re.findall(r"\d+(?:[.,]\d+)*", path.read_text(encoding="utf-8")))
    missing = [n for n in numbers if n not in facts and n not in english and n not in allowed]
    assert not missing, f"{path.name}: numbers in neither the facts sheet nor the brief: {missing}"
    assert not re.search(r"\d\s*(million|billion)", path.read_text(encoding="utf-8"))
