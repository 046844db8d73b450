"""The one composition root: Settings -> Store, encoders, retriever, answerer.

Input: Settings. Output: Assistant with .ingest(), .retrieve(), .ask(), .documents().
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from .answering import ExtractiveAnswerer, Library
from .catalogue import Catalogue
from .chunking import Chunk
from .config import Settings
from .dominance import noted
from .embeddings import default_encoders
from .errors import CorpusError, InvalidInputError
from .indexing import Store
from .ingestion import SourceDocument, iter_files, make_doc_id
from .inputs import check_history, check_names, check_text
from .intake import Intake, check_paths, folder_digest, ingest_overrides, list_files
from .intent import make_query, user_questions
from .lexical import LexicalIndex
from .prompts import load_wording
from .provenance import Arrival, AuditLog
from .registry import DocRecord, DocumentCommit, make_client
from .retrieval import HybridRetriever
from .types import Answer, IngestReport, Kind, Passage, SkippedFile

logger = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 4000
MAX_K = 100
_EMBED_BATCH_CHUNKS = 256
Progress = Callable[[str, int, int], None]  # (file name, files done, files total)


class Assistant:
    """Everything wired together for one Settings."""

    def __init__(self, settings: Settings, *, clock: Callable[[], float] = time.time) -> None:
        """Open the store and wire the stages; models load lazily on first use.

        Args:
            settings: the configuration (see assistant.config.Settings).
            clock: seconds since the epoch, for the store's stamps and registry cache.
        """
        self.settings = settings
        client = make_client(settings)
        lock = None if settings.chroma_url else settings.data_dir / "write.lock"
        reopen = None if settings.chroma_url else lambda: make_client(settings)
        epoch = None if settings.chroma_url else settings.data_dir / "index-epoch"
        self.store = Store(
            client,
            settings.collection,
            lock_path=lock,
            reopen=reopen,
            epoch_path=epoch,
            clock=clock,
        )
        self.lexical = LexicalIndex(self.store, settings.data_dir / "bm25")
        self.catalogue = Catalogue(self.store)
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
                versions=self.catalogue.versions,
                chunks=self.catalogue.section_chunks,
                coverage=self.catalogue.coverage,
                paper_id=self.catalogue.paper_id,
                named=self.catalogue.named_documents,
            ),
        )
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
                digest = folder_digest(corpus)
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
        given = check_paths(paths)
        if not given:
            raise InvalidInputError("Nothing to ingest: give at least one file or folder.")
        overrides, arrival = ingest_overrides(
            title=title, kind=kind, doc_id=doc_id, origin=origin, arrival=arrival
        )
        report = IngestReport()
        files = list_files(given, report)
        if doc_id and len(files) > 1:
            raise InvalidInputError("--doc-id names one document; give exactly one file with it.")
        with self.store.write_lock(), self.store.writing():
            intake = Intake(self.store.registry(fresh=True), arrival, report)
            pending: list[tuple[SourceDocument, list[Chunk], str]] = []
            for done, path in enumerate(files):
                if progress:
                    progress(path.name, done, len(files))
                try:
                    doc = self._load(path, overrides, origin)
                except CorpusError as e:
                    report.skipped.append(SkippedFile(str(path), str(e)))
                    continue
                accepted = intake.accept(doc, path)
                if accepted is not None:
                    pending.append(accepted)
                    if sum(len(c) for _, c, _ in pending) >= _EMBED_BATCH_CHUNKS:
                        self._flush(pending, report)
            self._flush(pending, report)
            intake.finish(self.store.annotate, AuditLog(self.settings.data_dir / "audit.jsonl"))
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
                DocumentCommit(
                    doc_id=doc.doc_id,
                    doc_hash=doc.content_hash,
                    chunks=len(doc_chunks),
                    metadata=meta,
                    replaces_old_version=status == "updated",
                )
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
        """The language versions of a document (see Catalogue.versions)."""
        return self.catalogue.versions(doc_id)

    def section_chunks(
        self, doc_id: str, section_index: int | None = None
    ) -> list[tuple[str, str, dict[str, Any]]]:
        """A committed document's chunks, or one section's (see Catalogue.section_chunks)."""
        return self.catalogue.section_chunks(doc_id, section_index)

    def named_documents(self, question: str) -> list[str]:
        """Policy documents whose title the question writes out (see Catalogue)."""
        return self.catalogue.named_documents(question)

    def coverage(self, language: str) -> str:
        """One line on what the indexed documents cover (see Catalogue.coverage)."""
        return self.catalogue.coverage(language)

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
        before = after = ""
        # only the committed version's chunks: never text of an older or a removed document
        for text, m in self.store.neighbours(passage.doc_id, [ordinal - 1, ordinal + 1]):
            c_start, c_end = int(m.get("start", 0)), int(m.get("end", 0))
            if int(m.get("ordinal", -2)) == ordinal - 1 and c_start < start:
                before = text[: max(0, start - c_start)][-chars:]
            elif int(m.get("ordinal", -2)) == ordinal + 1 and c_end > end:
                after = text[max(0, end - c_start) :][:chars]
        return before, after
