"""Fuzzing the loaders: random text and random bytes under every extension.

Whatever the input, load_bytes, recognise_sections and split_document either succeed or
raise a CorpusError (an AssistantError): no other exception escapes.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.chunking import split_document
from assistant.errors import AssistantError
from assistant.ingestion import SUPPORTED_SUFFIXES, Block, load_bytes, recognise_sections

SUFFIXES = sorted(SUPPORTED_SUFFIXES)
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
# Text built from the pieces that steer the parsers: numbering, headings, markup, front matter.
PIECES = st.sampled_from(
    [
        "第一章 总则",
        "第三条 ",
        "一、",
        "（一）",
        "(1) ",
        "1. ",
        "4.3 ",
        "## ",
        "# ",
        "---\n",
        "title: x\n",
        "<h1>",
        "</h1>",
        "<p>",
        "<div>",
        "<!DOCTYPE html>",
        "%PDF-1.4",
        "PK\x03\x04",
        "\n",
        "\n\n",
        "。",
        "，",
        "Abstract: ",
        "Figure 2 ",
        "```\n",
        "====\n",
        "&lt;",
        "\x00",
        "\ufeff",
        "学院应当",
        "Teachers must ",
        "\r\n",
        "*a",
        "&a ",
    ]
)
TEXT = st.lists(st.one_of(PIECES, st.text(max_size=40)), max_size=30).map("".join)


def _load(data: bytes, suffix: str) -> None:
    try:
        doc = load_bytes(data, Path(f"/nonexistent/fuzz{suffix}"))
    except AssistantError:
        return
    for s in doc.sections:
        assert 0 <= s.body_start <= s.body_end <= len(doc.text)
    chunks = split_document(doc)
    bounds = {s.key: (s.body_start, s.body_end) for s in doc.sections}
    for chunk in chunks:
        assert doc.text[chunk.start : chunk.end] == chunk.text
        start, end = bounds[chunk.section_key]
        assert start <= chunk.start and chunk.end <= end
    assert len({c.chunk_id for c in chunks}) == len(chunks)


@FUZZ
@given(data=st.binary(max_size=3000), suffix=st.sampled_from(SUFFIXES))
def test_random_bytes(data, suffix):
    _load(data, suffix)


@FUZZ
@given(text=TEXT, suffix=st.sampled_from(SUFFIXES), encoding=st.sampled_from(["utf-8", "gb18030"]))
def test_random_text(text, suffix, encoding):
    _load(text.encode(encoding, errors="replace"), suffix)


@FUZZ
@given(
    prefix=st.sampled_from([b"%PDF-1.4\n", b"PK\x03\x04"]),
    tail=st.binary(max_size=2000),
    suffix=st.sampled_from([".pdf", ".docx"]),
)
def test_random_bytes_behind_a_valid_signature(prefix, tail, suffix):
    _load(prefix + tail, suffix)


@FUZZ
@given(st.lists(st.tuples(TEXT, st.one_of(st.none(), st.integers(1, 6))), max_size=20))
def test_recognise_sections(blocks):
    text, sections = recognise_sections([Block(t, level) for t, level in blocks])
    for s in sections:
        assert 0 <= s.body_start <= s.body_end <= len(text)


def _valid_files() -> dict[str, bytes]:
    import tempfile

    from .make_docs import make_docx, make_html, make_pdf_en

    folder = Path(tempfile.mkdtemp(prefix="fuzz-"))
    return {
        ".docx": make_docx(folder / "a.docx").read_bytes(),
        ".pdf": make_pdf_en(folder / "a.pdf").read_bytes(),
        ".html": make_html(folder / "a.html").read_bytes(),
    }


VALID = _valid_files()


@FUZZ
@given(
    suffix=st.sampled_from(sorted(VALID)),
    flips=st.lists(
        st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=20
    ),
    cut=st.one_of(st.none(), st.floats(0.1, 1)),
)
def test_mutated_real_files(suffix, flips, cut):
    data = bytearray(VALID[suffix])
    for where, value in flips:
        data[int(where * len(data))] = value
    if cut is not None:
        data = data[: max(1, int(cut * len(data)))]
    _load(bytes(data), suffix)
