"""The paper's structure is recognised and chunks are verbatim, section-bound and stable."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.chunking import CHUNK_TOKENS, _token_counter, split_document
from assistant.glossary import expand, expansion
from assistant.ingestion import Block, load_file, recognise_sections

REPO = Path(__file__).resolve().parent.parent
PAPER = REPO / "corpus" / "high-skilled-talent-training.txt"


@pytest.fixture(scope="module")
def paper():
    return load_file(PAPER)


def test_paper_metadata(paper):
    assert paper.doc_id == "high-skilled-talent-training"
    assert paper.kind == "paper"
    assert paper.title.startswith("Countermeasures for the Cultivation of High-Skilled Talents")


def test_paper_sections(paper):
    keys = [s.key for s in paper.sections]
    assert keys == [
        "abstract", "1", "2", "3", "3(1)", "3(2)", "3(3)", "4",
        "4.1", "4.2", "fig2", "4.3", "4.4", "5",
    ]  # fmt: skip
    labels = {s.key: s.label for s in paper.sections}
    assert labels["4.3"] == "4.3 Attach importance to the training of dual-qualified teachers"
    assert labels["3(1)"] == (
        "3. The problem of insufficient training of high-skilled talents › (1)"
    )
    assert labels["fig2"].startswith("Figure 2 Role positioning")


def test_the_paper_text_is_kept_as_is(paper):
    seed = Path("/work/shared/seed/high-skilled-talent-training.txt")
    if not seed.is_file():
        seed = REPO.parent / "shared" / "seed" / "high-skilled-talent-training.txt"
    if not seed.is_file():
        pytest.skip("the shared seed is not beside this checkout")
    words = lambda t: t.split()  # noqa: E731 - only line breaks were changed
    assert words(paper.text) == words(seed.read_text(encoding="utf-8"))


def test_chunks_are_verbatim_section_bound_and_fit_the_window(paper):
    chunks = split_document(paper)
    count = _token_counter()
    for c in chunks:
        assert paper.text[c.start : c.end] == c.text
        section = next(s for s in paper.sections if s.key == c.section_key)
        assert section.body_start <= c.start and c.end <= section.body_end
        assert count(c.text) <= CHUNK_TOKENS
        assert count(c.embed_text) <= 256
        assert c.section in c.embed_text


def test_chunk_ids_are_stable(paper):
    first = [c.chunk_id for c in split_document(paper)]
    again = [c.chunk_id for c in split_document(load_file(PAPER))]
    assert first == again and len(set(first)) == len(first)


def test_a_paragraph_repeated_across_sections_keeps_its_own_offsets(fresh_assistant, tmp_path):
    """Found by the 100k scale run: a passage repeated in two sections got the first one's
    offsets, hence the same chunk id twice, and Chroma refused the whole batch."""
    para = " ".join(
        f"Sentence {i} says that teachers and enterprises share the costs of training bases."
        for i in range(30)
    )
    text = f"# Rules\n\n## 1. First\n\n{para}\n\n## 2. Second\n\nIntro.\n\n{para}\n\n{para}\n"
    path = tmp_path / "repeated.md"
    path.write_text(text, encoding="utf-8")
    doc = load_file(path)
    chunks = split_document(doc)
    assert len({c.chunk_id for c in chunks}) == len(chunks)
    for c in chunks:
        section = next(s for s in doc.sections if s.key == c.section_key)
        assert section.body_start <= c.start and c.end <= section.body_end
        assert doc.text[c.start : c.end] == c.text
    report = fresh_assistant.ingest([path])
    assert report.added == ["repeated"] and report.chunks_written == len(chunks)


def test_chinese_numbering_is_recognised():
    blocks = [
        Block(t)
        for t in (
            "第一章 总则",
            "第一条 为了推动职业教育高质量发展，制定本法。",
            "第二条 本法所称职业教育，是指为了培养高素质技术技能人才的教育。",
            "一、总体要求",
            "（一）指导思想",
            "坚持立德树人。",
            "1. 加强双师型教师队伍建设",
            "教师每年至少一个月在企业实践。",
        )
    ]
    text, sections = recognise_sections(blocks)
    keys = [s.key for s in sections]
    assert keys == ["第一章", "第一条", "第二条", "一", "一(一)", "1"]
    first_article = sections[1]
    assert text[first_article.body_start : first_article.body_end].strip().startswith("为了推动")


def test_glossary_bridges_vocabulary():
    assert "teachers" in expansion("How do we keep our faculty motivated?")
    assert "salary" in expansion("Is our pay scheme fair?")
    assert "dual-qualified" in expansion("如何建设双师型教师队伍")
    assert expand("What is the capital of France?") == "What is the capital of France?"
