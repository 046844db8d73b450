"""The one composition root: Settings -> Store, encoders, retriever, answerer.

Input: Settings. Output: Assistant with .ingest(), .retrieve(), .ask(), .documents().
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from .answering import ExtractiveAnswerer, Library
from .chunking import Chunk, split_document
from .config import Settings
from .dominance import noted
from .embeddings import default_encoders
from .errors import CorpusError, InvalidInputError
from .indexing import DocRecord, Store, make_client
from .ingestion import SourceDocument, iter_files, make_doc_id
from .inputs import check_history, check_names, check_text
from .intent import make_query, user_questions
from .lexical import LexicalIndex, tokenize
from .prompts import load_wording
from .provenance import Arrival, AuditLog, admit, audit_entry
from .retrieval import HybridRetriever
from .types import Answer, IngestReport, Kind, Passage, SkippedFile

logger = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 4000
MAX_K = 100
_SECTION_CACHE = 2048  # sections (and whole documents) kept for the answer stage
_EMBED_BATCH_CHUNKS = 256
Progress = Callable[[str, int, int], None]  # (file name, files done, files total)


class Assistant:
    """Everything wired together for one Settings."""

    def __init__(self, settings: Settings) -> None:
        """Open the store and wire the stages; models load lazily on first use.

        Args:
            settings: the configuration (see assistant.config.Settings).
        """
        self.settings = settings
        client = make_client(settings)
        lock = None if settings.chroma_url else settings.data_dir / "write.lock"
        reopen = None if settings.chroma_url else lambda: make_client(settings)
        epoch = None if settings.chroma_url else settings.data_dir / "index-epoch"
        self.store = Store(
            client, settings.collection, lock_path=lock, reopen=reopen, epoch_path=epoch
        )
        self.lexical = LexicalIndex(self.store, settings.data_dir / "bm25")
        self.minilm, self.use = default_encoders(settings.document_encoder)
        self.retriever = HybridRetriever(
            self.store, self.lexical, self.minilm, self.use, second_stage=settings.second_stage
        )
        self.extractive = ExtractiveAnswerer(
            retrieve=self.retriever.retrieve,
            encoder=self.use,
            english=self.minilm,
            wording=lambda language: load_wording(settings.prompts_dir, language),
            library=Library(
                versions=self.versions,
                chunks=self.section_chunks,
                coverage=self.coverage,
                paper_id=self._paper_id,
                named=self.named_documents,
            ),
        )
        self._versions_cache: tuple[str, dict[str, dict[str, str]]] = ("", {})
        self._names_cache: tuple[str, dict[str, set[str]]] = ("", {})
        self._words_cache: tuple[str, list[tuple[str, str, frozenset[str]]]] = ("", [])
        self._sections: OrderedDict[tuple[str, str, int | None], list[Any]] = OrderedDict()
        self._sections_lock = threading.Lock()
        self._corpus_checked = False
        self._corpus_lock = threading.Lock()
        self.llm: Any = None  # LLMAnswerer when Settings.llm is set (assistant/llm.py)
        if settings.llm:
            from .chat_models import Provider, parse_llm
            from .llm import LLMAnswerer

            answerer: type[LLMAnswerer] = LLMAnswerer
            if parse_llm(settings.llm).provider is Provider.LOCAL:
                from .local_llm import LocalAnswerer  # the in-process model

                answerer = LocalAnswerer
            # checks ASSISTANT_LLM* and the three prompt files now, at start-up
            self.llm = answerer(
                settings,
                retrieve=self.retriever.retrieve,
                fallback=self.extractive,
                wording=self.extractive.wording,
            )

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Assistant:
        """Build an Assistant from settings (default: read from the environment)."""
        return cls(settings or Settings())

    # ------------------------------------------------------------------ corpus

    def ensure_corpus(self) -> IngestReport | None:
        """Index the bundled corpus on first use, and re-sync it when its files change."""
        if self._corpus_checked or not self.settings.auto_ingest:
            return None
        with self._corpus_lock:
            if self._corpus_checked:
                return None
            corpus = self.settings.corpus_dir
            report = None
            if corpus.is_dir():
                state_file = (
                    self.settings.data_dir / f"corpus-state-{self.settings.collection}.json"
                )
                digest = _folder_digest(corpus)
                try:
                    old = json.loads(state_file.read_text(encoding="utf-8")).get("digest")
                except (OSError, ValueError):
                    old = None
                if old != digest or not self.store.registry(fresh=True):
                    report = self.sync_bundled(corpus)
                    if report.status != "failed":
                        state_file.parent.mkdir(parents=True, exist_ok=True)
                        state_file.write_text(json.dumps({"digest": digest}), encoding="utf-8")
            self._corpus_checked = True
            return report

    def sync_bundled(self, corpus: Path) -> IngestReport:
        """Ingest the bundled corpus and drop bundled documents whose files are gone."""
        report = self.ingest([corpus], origin="bundled")
        present = {make_doc_id(p.stem) for p in iter_files([corpus])}
        present |= set(report.added + report.updated + report.unchanged)
        for rec in list(self.store.registry(fresh=True).values()):
            gone = not Path(str(rec.metadata.get("path", ""))).exists()
            if rec.metadata.get("origin") == "bundled" and rec.doc_id not in present and gone:
                self.remove(rec.doc_id)
                report.removed.append(rec.doc_id)
        return report

    def ingest(
        self,
        paths: Iterable[str | Path],
        *,
        title: str | None = None,
        kind: str | None = None,
        doc_id: str | None = None,
        origin: str = "user",
        progress: Progress | None = None,
        arrival: Arrival | None = None,
    ) -> IngestReport:
        """Load, split, embed and commit files; see assistant.ingest for the contract.

        Documents not from the bundled corpus are admitted by assistant.provenance: own
        documents unless ``kind`` says otherwise (a web upload always), stamped with
        ``arrival`` (default: this process's user, via the API), logged to audit.jsonl.
        """
        given = _paths(paths)
        if not given:
            raise InvalidInputError("Nothing to ingest: give at least one file or folder.")
        overrides: dict[str, Any] = {}
        if title:
            overrides["title"] = title
        if kind:
            overrides["kind"] = Kind.from_str(kind).value
        if origin != "bundled":
            arrival = arrival or Arrival.local()
            if arrival.via == "web" or not kind:  # front matter cannot claim policy or paper
                overrides["kind"] = Kind.OWN.value
        if doc_id:
            overrides["doc_id"] = doc_id
        report = IngestReport()
        files: list[Path] = []
        for p in given:
            if not p.exists():
                report.skipped.append(SkippedFile(str(p), "not found"))
            else:
                files.extend(iter_files([p]))
        if doc_id and len(files) > 1:
            raise InvalidInputError("--doc-id names one document; give exactly one file with it.")
        with self.store.write_lock(), self.store.writing():
            registry = self.store.registry(fresh=True)
            seen: dict[str, str] = {}
            pending: list[tuple[SourceDocument, list[Chunk], str]] = []
            supersede: list[tuple[str, str]] = []  # (old doc_id, its new version)
            audit: list[tuple[SourceDocument, str]] = []
            for done, path in enumerate(files):
                if progress:
                    progress(path.name, done, len(files))
                try:
                    doc = self._load(path, overrides, origin)
                except CorpusError as e:
                    report.skipped.append(SkippedFile(str(path), str(e)))
                    continue
                if arrival is not None:
                    admission = admit(doc, arrival, registry)
                    if admission.refusal:
                        report.skipped.append(SkippedFile(str(path), admission.refusal))
                        continue
                    doc = admission.doc
                    if admission.supersedes:
                        supersede.append((admission.supersedes, doc.doc_id))
                if doc.doc_id in seen:
                    report.skipped.append(
                        SkippedFile(
                            str(path),
                            f"doc_id '{doc.doc_id}' is already used by {seen[doc.doc_id]} in this "
                            "run; rename the file or set doc_id in its front matter",
                        )
                    )
                    continue
                seen[doc.doc_id] = str(path)
                rec = registry.get(doc.doc_id)
                conflict = _conflict(rec, path)
                if conflict:
                    report.skipped.append(SkippedFile(str(path), conflict))
                    continue
                if rec is not None and rec.doc_hash == doc.content_hash:
                    report.unchanged.append(doc.doc_id)
                    continue
                chunks = split_document(doc)
                if not chunks:
                    report.skipped.append(SkippedFile(str(path), "no text to index"))
                    continue
                pending.append((doc, chunks, "updated" if rec else "added"))
                audit.append((doc, "updated" if rec else "added"))
                if sum(len(c) for _, c, _ in pending) >= _EMBED_BATCH_CHUNKS:
                    self._flush(pending, report)
            self._flush(pending, report)
            for old, new in supersede:
                if new in report.added:
                    self.store.annotate(old, superseded_by=new)
                    report.superseded[new] = old
            done_ids = set(report.added + report.updated)
            AuditLog(self.settings.data_dir / "audit.jsonl").append(
                [audit_entry(d, s) for d, s in audit if arrival and d.doc_id in done_ids]
            )
            if report.chunks_written:
                # publish the BM25 index of the new corpus now (on disk, for every process):
                # otherwise the first question after an ingest would build it (~25 s at 100k)
                self.lexical.ensure(wait=True)
            if progress:
                progress("", len(files), len(files))
        return report

    def _load(self, path: Path, overrides: dict[str, Any], origin: str) -> SourceDocument:
        from .safeload import load_file_safely

        doc = load_file_safely(path, overrides=overrides, settings=self.settings)
        doc.metadata["origin"] = origin
        return doc

    def _flush(
        self, pending: list[tuple[SourceDocument, list[Chunk], str]], report: IngestReport
    ) -> None:
        if not pending:
            return
        chunks = [c for _, cs, _ in pending for c in cs]
        minilm = self.minilm.encode_documents([c.embed_text for c in chunks])
        use = self.use.encode_documents([c.embed_text for c in chunks])
        # one upsert per collection for the whole batch, then one registry write: chunks are
        # all in place before any of their documents is committed
        self.store.write_chunks(chunks, minilm, use)
        commits = []
        for doc, doc_chunks, status in pending:
            meta = {**doc.metadata, "title": doc.title, "kind": doc.kind, "lang": doc.language}
            commits.append(
                (doc.doc_id, doc.content_hash, len(doc_chunks), meta, status == "updated")
            )
        self.store.commit_many(commits)
        for doc, doc_chunks, status in pending:
            (report.added if status == "added" else report.updated).append(doc.doc_id)
            report.chunks_written += len(doc_chunks)
        pending.clear()

    def remove(self, doc_id: str) -> bool:
        """Delete one document from the index."""
        with self.store.write_lock(), self.store.writing():
            removed = self.store.remove(doc_id)
            if removed:
                self.lexical.ensure(wait=True)
            return removed

    def documents(self) -> list[DocRecord]:
        """Committed documents, sorted by kind then id."""
        self.ensure_corpus()
        order = {"policy": 0, "paper": 1, "own": 2}
        return sorted(
            self.store.registry(fresh=True).values(), key=lambda r: (order.get(r.kind, 3), r.doc_id)
        )

    # ------------------------------------------------------------------ questions

    def validate(
        self, question: Any, k: int, sources: Sequence[str] | None, kinds: Sequence[str] | None
    ) -> tuple[str, list[str] | None, list[str] | None]:
        """Check a question and filters; return the cleaned values."""
        # refresh the (2 s cached) registry *before* retrieval touches the collections: when
        # another process committed, this re-opens the embedded client so queries see it
        self.store.registry()
        question = " ".join(check_text(question, "question").split())
        sources, kinds = check_names(sources, "sources"), check_names(kinds, "kinds")
        if not question:
            raise InvalidInputError("The question is empty; type what you want to know.")
        if len(question) > MAX_QUESTION_CHARS:
            raise InvalidInputError(
                f"The question is {len(question):,} characters long; the limit is "
                f"{MAX_QUESTION_CHARS:,}. Shorten it to the point you want answered."
            )
        if isinstance(k, bool) or not isinstance(k, int) or k <= 0 or k > MAX_K:
            raise InvalidInputError(f"k must be a whole number from 1 to {MAX_K}, got {k!r}.")
        src = None
        if sources is not None:
            if isinstance(sources, str):
                sources = [sources]
            src = [str(s) for s in sources]
            known = self.store.registry()
            unknown = [s for s in src if s not in known]
            if unknown:
                raise InvalidInputError(
                    f"Unknown source(s): {', '.join(unknown)}. Known doc_ids: "
                    f"{', '.join(sorted(known)[:30])}{' ...' if len(known) > 30 else ''} "
                    "(`assistant docs` lists them)."
                )
            if not src:
                src = None
        kind_list = None
        if kinds is not None:
            if isinstance(kinds, str):
                kinds = [kinds]
            kind_list = [Kind.from_str(str(x)).value for x in kinds] or None
        return question, src, kind_list

    def retrieve(
        self,
        question: str,
        k: int = 5,
        sources: Sequence[str] | None = None,
        kinds: Sequence[str] | None = None,
    ) -> list[Passage]:
        """Hybrid retrieval; see assistant.retrieve."""
        self.ensure_corpus()
        question, src, kind_list = self.validate(question, k, sources, kinds)
        return self.retriever.retrieve(question, k, sources=src, kinds=kind_list)

    def versions(self, doc_id: str) -> dict[str, str]:
        """The language versions of a document: {"en": doc_id, "zh": doc_id} (one entry if none).

        A translation names its original in ``translation_of`` (front matter or sidecar).
        """
        registry = self.store.registry()
        rec = registry.get(doc_id)
        if rec is None:
            return {}
        base = str(rec.metadata.get("translation_of") or doc_id)
        table = self._versions_table(registry)
        return table.get(base, {str(rec.metadata.get("lang", "en")): doc_id})

    def _versions_table(self, registry: dict[str, DocRecord]) -> dict[str, dict[str, str]]:
        key = self.store.fingerprint()
        if self._versions_cache[0] != key:
            table: dict[str, dict[str, str]] = {}
            for rec in registry.values():
                base = str(rec.metadata.get("translation_of") or "")
                if base and base in registry:
                    table.setdefault(base, {"en": base})[str(rec.metadata.get("lang", "zh"))] = (
                        rec.doc_id
                    )
            self._versions_cache = (key, table)
        return self._versions_cache[1]

    def section_chunks(
        self, doc_id: str, section_index: int | None = None
    ) -> list[tuple[str, str, dict[str, Any]]]:
        """A committed document's chunks (or one section's), cached until the corpus changes."""
        key = (self.store.fingerprint(), doc_id, section_index)
        with self._sections_lock:
            hit = self._sections.get(key)
            if hit is not None:
                self._sections.move_to_end(key)
                return hit
        rows = self.store.section_chunks(doc_id, section_index)
        if not rows:
            return rows  # nothing, or a read that failed under a concurrent write: not kept
        with self._sections_lock:
            self._sections[key] = rows
            while len(self._sections) > _SECTION_CACHE:
                self._sections.popitem(last=False)
        return rows

    def named_documents(self, question: str) -> list[str]:
        """Policy documents whose title the question writes out (both language versions).

        A title counts without its "of the People's Republic of China" / "中华人民共和国" part
        and without a trailing parenthesis ("(revised 2022)"): "职业教育法" names
        《中华人民共和国职业教育法》; a question naming two documents gets both.
        """
        lowered = question.lower()
        found: list[str] = []
        for doc_id, names in self._title_names().items():
            if any(name in lowered for name in names):
                found.extend(v for v in self.versions(doc_id).values() if v not in found)
        if found:
            return found
        # "the 2017 industry-education integration opinions": the document's year and most of
        # the words of one of its titles
        asked = set(tokenize(question))
        for doc_id, year, words in self._title_words():
            if year and year in question and len(words & asked) >= 3 and len(words - asked) <= 2:
                found.extend(v for v in self.versions(doc_id).values() if v not in found)
        return found

    def _title_words(self) -> list[tuple[str, str, frozenset[str]]]:
        """(doc_id, year, the words of one title) for the policy documents' titles."""
        key = self.store.fingerprint()
        if self._words_cache[0] != key:
            entries = []
            for rec in self.store.registry().values():
                if rec.kind == "policy" and not rec.metadata.get("translation_of"):
                    year = str(rec.metadata.get("date", ""))[:4]
                    for title in (rec.title, str(rec.metadata.get("title_zh", ""))):
                        words = frozenset(tokenize(_core_title(title)))
                        if words:
                            entries.append((rec.doc_id, year, words))
            self._words_cache = (key, entries)
        return self._words_cache[1]

    def _title_names(self) -> dict[str, set[str]]:
        """doc_id -> the lower-cased core titles of the policy documents (per corpus version)."""
        key = self.store.fingerprint()
        if self._names_cache[0] != key:
            names = {}
            for rec in self.store.registry().values():
                if rec.kind == "policy" and not rec.metadata.get("translation_of"):
                    titles = (rec.title, str(rec.metadata.get("title_zh", "")))
                    # a brief may list the names it is widely known by ("职教20条")
                    aliases = str(rec.metadata.get("aliases", "")).split(", ")
                    names[rec.doc_id] = {_core_title(t).lower() for t in titles} - {""}
                    names[rec.doc_id] |= {a.strip().lower() for a in aliases if len(a.strip()) > 3}
            self._names_cache = (key, names)
        return self._names_cache[1]

    def _paper_id(self) -> str | None:
        papers = [
            r.doc_id
            for r in self.store.registry().values()
            if r.kind == "paper" and not r.metadata.get("translation_of")
        ]
        return sorted(papers)[0] if papers else None

    def coverage(self, language: str) -> str:
        """One line on what the indexed documents cover (said when a question is not covered)."""
        records = [
            r for r in self.store.registry().values() if not r.metadata.get("translation_of")
        ]
        kinds = {r.kind for r in records}
        parts = []
        if "paper" in kinds:
            parts.append(
                "如何培养高技能人才：教育理念与顶层设计、课程与教学评价改革、双师型教师培养与激励、实训平台与社会支持"
                if language == "zh"
                else "how higher vocational colleges can train high-skilled talent (top-level "
                "design, curriculum and evaluation reform, dual-qualified teachers and their pay "
                "and promotion, training platforms and outside support)"
            )
        policies = [r for r in records if r.kind == "policy"]
        if policies:
            parts.append(
                f"{len(policies)} 份国家职业教育政策摘要"
                if language == "zh"
                else f"{len(policies)} national vocational-education policy briefs"
            )
        own = [r.title for r in records if r.kind == "own"]
        if own:
            parts.append(
                ("本校文件：" if language == "zh" else "your documents: ") + "; ".join(own[:5])
            )
        return "; ".join(parts) or ("（暂无文件）" if language == "zh" else "(nothing yet)")

    def answerer(self) -> Any:
        """The configured Answerer: the LLM one when Settings.llm is set, else extractive."""
        return self.llm if self.llm is not None else self.extractive

    def ask(
        self,
        question: str,
        history: Sequence[Any] | None = None,
        *,
        sources: Sequence[str] | None = None,
        kinds: Sequence[str] | None = None,
    ) -> Answer:
        """Answer with cited countermeasures; see assistant.ask."""
        final: Answer | None = None
        for item in self.ask_stream(question, history, sources=sources, kinds=kinds):
            if isinstance(item, Answer):
                final = item
        assert final is not None  # ask_stream always ends with an Answer
        return final

    def ask_stream(
        self,
        question: str,
        history: Sequence[Any] | None = None,
        *,
        sources: Sequence[str] | None = None,
        kinds: Sequence[str] | None = None,
    ) -> Iterator[str | Answer]:
        """Like ask(), streamed: yields the text so far (str) while an LLM writes, then the Answer.

        Without an LLM (or when the model is not asked) it yields just the final Answer. The last
        item is always an Answer; LLM failures end in the extractive answer with Answer.notice.
        Input errors raise before the first item, as in ask().
        """
        self.ensure_corpus()
        question, src, kind_list = self.validate(question, 5, sources, kinds)
        history = check_history(history)
        if self.llm is None:
            query = make_query(question, user_questions(history), sources=src, kinds=kind_list)
            yield from noted(self.extractive.stream(query))
            return
        yield from noted(self.llm.stream(question, history, sources=src, kinds=kind_list))

    def passage_context(self, passage: Passage, chars: int = 600) -> tuple[str, str]:
        """The document text just before and just after a passage (from neighbouring chunks).

        Works for every indexed document, including uploads whose files are gone: the text
        comes from the index, trimmed with the chunks' verbatim start/end offsets.

        Args:
            passage: a Passage returned by retrieve() or cited by ask().
            chars: at most this many characters on each side.

        Returns:
            (text before, text after); empty strings at the document's edges.
        """
        meta = passage.metadata
        try:
            ordinal, start, end = int(meta["ordinal"]), int(meta["start"]), int(meta["end"])
        except (KeyError, TypeError, ValueError):
            return "", ""
        rec = self.store.registry().get(passage.doc_id)
        where: dict[str, Any] = {
            "$and": [{"doc_id": passage.doc_id}, {"ordinal": {"$in": [ordinal - 1, ordinal + 1]}}]
        }
        got = self.store.minilm.get(where=where, include=["documents", "metadatas"])
        before = after = ""
        for text, m in zip(got["documents"], got["metadatas"], strict=False):
            m = m or {}
            if rec is not None and m.get("doc_hash") != rec.doc_hash:
                continue  # a stale chunk of an older version of the document
            c_start, c_end = int(m.get("start", 0)), int(m.get("end", 0))
            if int(m.get("ordinal", -2)) == ordinal - 1 and c_start < start:
                before = text[: max(0, start - c_start)][-chars:]
            elif int(m.get("ordinal", -2)) == ordinal + 1 and c_end > end:
                after = text[max(0, end - c_start) :][:chars]
        return before, after


def _paths(paths: Any) -> list[Path]:
    """The paths argument of ingest(), checked: a list of str/Path, not None or one number."""
    if isinstance(paths, str | Path):
        paths = [paths]
    if paths is None or not isinstance(paths, Iterable):
        raise InvalidInputError(
            f"ingest() takes a list of file or folder paths, got {type(paths).__name__}."
        )
    out = []
    for p in paths:
        if not isinstance(p, str | Path):
            raise InvalidInputError(f"A path must be text or a Path, got {type(p).__name__}.")
        try:
            str(p).encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInputError(f"The path {str(p)!r} is not valid UTF-8.") from None
        out.append(Path(p))
    return out


def _conflict(rec: DocRecord | None, path: Path) -> str:
    if rec is None:
        return ""
    old = str(rec.metadata.get("path", ""))
    if old and Path(old).resolve() != path.resolve() and Path(old).exists():
        return (
            f"doc_id '{rec.doc_id}' already belongs to {old}; rename the file or pass "
            "--doc-id to index it as a separate document"
        )
    return ""


def _core_title(title: str) -> str:
    """A title as people write it: no "of the People's Republic of China", no trailing
    parenthesis; "" when too short to name a document safely."""
    core = re.sub(r"\s*[(（][^()（）]*[)）]\s*$", "", title)
    core = re.sub(r"(?i)\s+of the people's republic of china|中华人民共和国", "", core).strip()
    short = len(core) < 4 if re.search(r"[\u4e00-\u9fff]", core) else len(core.split()) < 3
    return "" if short else core


def _folder_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(folder)).encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()
