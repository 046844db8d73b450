"""The web chat's event handlers. Input: an Assistant and its limits. Output: component values.

(No `from __future__ import annotations`: Gradio reads the type hints of `/ask` and
`/documents` at runtime.) `ChatHandlers` gets its collaborators passed in, so a test calls its
methods directly, without building or serving the page; ui.app lays the page out and wires
these methods to its events. Each handler calls the library (ask, ask_stream, documents,
ingest, passage_context) and the pure functions of ui.render, nothing else. Gradio is imported
inside the methods (it costs ~6 s), for its `gr.update` / `gr.skip` values and `gr.Error`.
"""

import itertools
import json
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypedDict

from assistant.answering import MAX_CITATIONS
from assistant.errors import AssistantError

from . import documents, render
from .i18n import language_of, text
from .uploads import ingest_uploads

MAX_SOURCES = MAX_CITATIONS  # one source accordion per citation an answer can have
# Concurrency: answers are CPU-bound (~0.1-0.3 s) on 2 cores; 2 workers, and a bounded queue
# refuses the excess cleanly ("queue is full") instead of letting latency grow without limit.
CONCURRENCY_LIMIT = 2  # one answer per core; more threads only contend for the GIL and the CPU
STREAM_DELAY = 0.025  # seconds between streamed pieces (12 pieces ~ 0.3 s)
# The answering work of /chat and /ask runs under these slots, not under Gradio's per-event
# workers: the streamed chat answer paces its pieces (sleeps) after giving its slot back, so
# pacing never keeps another user's question waiting (issue 16: /chat p50 6.7 s vs 2.0 s).
ANSWER_SLOTS = threading.BoundedSemaphore(CONCURRENCY_LIMIT)

Turns = list[dict[str, Any]]  # the session's turn records (render.turn_record), oldest first


class PlotTitles(TypedDict):
    """Title and axis titles of a plot, as gr.ScatterPlot takes them."""

    title: str
    x_title: str
    y_title: str
    color_title: str


def plot_titles(lang: str) -> PlotTitles:
    """Title and axis titles of the policy timeline in `lang`."""
    level = text(lang, "docs.level")
    return {"title": text(lang, "docs.timeline"), "x_title": text(lang, "docs.year"),
            "y_title": level, "color_title": level}  # fmt: skip


def split_list(value: str | None) -> list[str] | None:
    """Comma-separated API values as a list; None when there are none."""
    items = [v.strip() for v in (value or "").split(",") if v.strip()]
    return items or None


def _kinds(selected: list[str] | None) -> list[str] | None:
    """All or none ticked means no kind filter."""
    if not selected or set(selected) >= set(render.KINDS):
        return None
    return list(selected)


def _history(turns: Turns) -> list[dict[str, str]]:
    """Conversation as role/content dicts for Assistant.ask (raw questions, not escaped)."""
    out: list[dict[str, str]] = []
    for t in turns:
        out.append({"role": "user", "content": t["question"]})
        out.append({"role": "assistant", "content": t["answer"]})
    return out


class FeedbackLog:
    """Appends feedback entries as JSON lines (one lock per process; O_APPEND per line)."""

    def __init__(self, path: Path) -> None:
        """Remember where to write; the file is created on first feedback."""
        self.path = path
        self._lock = threading.Lock()

    def append(self, entry: dict[str, Any]) -> None:
        """Write one entry."""
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as f:
                f.write(line)


class ChatHandlers:
    """What the page's events do, given the Assistant and the limits they work within."""

    def __init__(
        self,
        assistant: Any,
        *,
        feedback_log: FeedbackLog,
        upload_root: Path,
        max_upload_bytes: int,
        slots: threading.BoundedSemaphore = ANSWER_SLOTS,
        stream_delay: float = STREAM_DELAY,
    ) -> None:
        """Keep the collaborators.

        Args:
            assistant: an assistant.pipeline.Assistant (corpus already indexed).
            feedback_log: where ratings go (<data_dir>/feedback.jsonl in the app).
            upload_root: <data_dir>/files, where accepted uploads are kept by content hash.
            max_upload_bytes: the size limit per uploaded file.
            slots: bounds the answering work of /chat and /ask (shared by all sessions).
            stream_delay: seconds between the pieces of an extractive answer (0 in tests).
        """
        self.assistant = assistant
        self.feedback_log = feedback_log
        self.upload_root = upload_root
        self.max_upload_bytes = max_upload_bytes
        self.slots = slots
        self.stream_delay = stream_delay

    @classmethod
    def for_settings(cls, assistant: Any) -> "ChatHandlers":
        """Handlers whose files and limits come from the Assistant's Settings."""
        settings = assistant.settings
        return cls(
            assistant,
            feedback_log=FeedbackLog(settings.data_dir / "feedback.jsonl"),
            upload_root=settings.data_dir / "files",  # uploads, kept by content hash
            max_upload_bytes=settings.max_upload_mb * 1024 * 1024,
        )

    # ------------------------------------------------------------ documents and language

    def documents_view(self, lang: str) -> tuple[Any, Any, Any]:
        """The documents table, the timeline plot and the document filter in `lang`."""
        import gradio as gr
        import pandas as pd

        records = self.assistant.documents()
        table = pd.DataFrame(
            documents.document_rows(records, lang), columns=documents.doc_columns(lang)
        )
        points = pd.DataFrame(
            documents.timeline_points(records, lang), columns=["year", "level", "title"]
        )
        # the plot draws its titles as given (Gradio translates only some of its props)
        plot = gr.update(value=points, **plot_titles(lang))
        return table, plot, gr.update(choices=documents.document_choices(records, lang))

    @staticmethod
    def remember_language(shown: str) -> str:
        """The language the page shows ("en" / "zh"), from the translated probe."""
        return language_of(shown)

    def language_view(self, lang: str, turns: Turns) -> tuple[Any, ...]:
        """What a handler shows in the page's language: documents, the empty sources panel."""
        import gradio as gr

        # an answer's sources overview stays in the answer's language
        empty = gr.skip() if turns else text(lang, "sources.empty")
        return (*self.documents_view(lang), empty)

    def list_documents(self) -> list[dict[str, Any]]:
        """The indexed documents with their metadata (doc_id, title, kind, issuer ...)."""
        return [dict(zip(documents.DOC_COLUMNS, row, strict=True))
                for row in documents.document_rows(self.assistant.documents())]  # fmt: skip

    # ------------------------------------------------------------ answers

    def ask_api(self, question: str, kinds: str = "", sources: str = "") -> str:
        """Answer a question with cited countermeasures (Markdown, [n] markers, sources section).

        Args:
            question: the question, English or Chinese.
            kinds: optional comma-separated kinds to search: policy, paper, own.
            sources: optional comma-separated doc_ids to search.
        """
        import gradio as gr

        try:
            with self.slots:
                answer = self.assistant.ask(
                    question, None, sources=split_list(sources), kinds=split_list(kinds)
                )
        except AssistantError as e:
            raise gr.Error(str(e)) from e
        return render.inert(answer.text)

    def source_updates(self, answer: Any) -> list[Any]:
        """The sources panel for an answer: overview, MAX_SOURCES accordions and their bodies."""
        import gradio as gr

        accs, bodies = [], []
        for i in range(MAX_SOURCES):
            if i < len(answer.citations):
                p = answer.citations[i]
                before, after = self.assistant.passage_context(p)
                label = render.source_label(i + 1, p, answer.language)
                accs.append(gr.update(label=label, visible=True, open=False))
                bodies.append(render.source_detail(i + 1, p, before, after, answer.language))
            else:
                accs.append(gr.update(visible=False, open=False))
                bodies.append("")
        return [render.sources_overview(answer), *accs, *bodies]

    def chat(
        self,
        message: str,
        chat_history: list[Any],
        kinds: list[str],
        docs: list[str],
        turns: Turns,
        lang: str,
    ) -> Iterator[tuple[Any, ...]]:
        """Stream an answer into the chat and fill the sources panel.

        Yields:
            (chatbot, question box, overview, *accordions, *bodies, turns) updates.
        """
        import gradio as gr

        message = (message or "").strip()
        skip = [gr.skip()] * (1 + 2 * MAX_SOURCES)  # the sources panel stays as it is
        if not message:
            gr.Warning(text(lang, "chat.empty_question"))
            yield (gr.skip(), gr.skip(), *skip, gr.skip())
            return
        shown = [*(chat_history or []), {"role": "user", "content": render.escape_md(message)}]
        yield (shown, "", *skip, gr.skip())
        answer, streamed = None, False
        for item in self._answer_items(message, turns, kinds, docs):
            if isinstance(item, str):  # an LLM's text so far
                bubble = {"role": "assistant", "content": render.inert(item)}
                yield ([*shown, bubble], gr.skip(), *skip, gr.skip())
                streamed = True
            else:
                answer = item
        if answer is None:  # pragma: no cover - ask_stream always ends with an Answer
            raise gr.Error(text(lang, "chat.no_answer"))
        # the bubble shows the answer with its [n] markers; the passages are in the side panel
        reply = render.inert(answer.body) + render.answer_footer(answer)
        if not streamed:  # the extractive answer is ready at once: reveal it progressively
            for part in render.stream_chunks(reply):
                yield ([*shown, {"role": "assistant", "content": part}], gr.skip(), *skip,
                       gr.skip())  # fmt: skip
                time.sleep(self.stream_delay)
        new_turns = [*turns, render.turn_record(message, answer)]
        final = [*shown, {"role": "assistant", "content": reply}]
        yield (final, gr.skip(), *self.source_updates(answer), new_turns)

    def _answer_items(
        self, message: str, turns: Turns, kinds: list[str], docs: list[str]
    ) -> Iterator[Any]:
        """Assistant.ask_stream's items (texts so far, then the Answer), errors as gr.Error."""
        import gradio as gr

        try:
            # ask_stream yields the text so far while an LLM writes, then the final Answer
            with self.slots:
                items = self.assistant.ask_stream(
                    message, _history(turns), sources=docs or None, kinds=_kinds(kinds)
                )
                first = next(items)  # the extractive answer is complete at once
            yield from itertools.chain([first], items)
        except AssistantError as e:
            raise gr.Error(str(e)) from e

    @staticmethod
    def new_conversation(lang: str) -> tuple[Any, ...]:
        """An empty chat, question box, sources panel, turns and feedback status."""
        import gradio as gr

        hidden = [gr.update(visible=False, open=False)] * MAX_SOURCES
        return ([], "", text(lang, "sources.empty"), *hidden,
                *([""] * MAX_SOURCES), [], "")  # fmt: skip

    # ------------------------------------------------------------ feedback, memo, uploads

    def record(self, turns: Turns, index: int, rating: str, comment: str, lang: str) -> str:
        """Log a rating of turn `index`; the status line that says so.

        Raises:
            gr.Error: there is no answer yet, or `index` is not one of the answers.
        """
        import gradio as gr

        if not turns:
            raise gr.Error(text(lang, "feedback.no_answer"))
        if not -len(turns) <= index < len(turns):
            raise gr.Error(text(lang, "feedback.not_an_answer"))
        self.feedback_log.append(render.feedback_entry(turns[index], rating, comment or ""))
        asked = render.escape_md(turns[index]["question"])
        key = "feedback.recorded_up" if rating == "up" else "feedback.recorded_down"
        return text(lang, key, question=asked)

    def feedback_up(self, comment: str, turns: Turns, lang: str) -> tuple[str, str]:
        """Rate the last answer as helpful (optional comment)."""
        return self.record(turns, -1, "up", comment, lang), ""

    def feedback_down(self, comment: str, turns: Turns, lang: str) -> tuple[str, str]:
        """Rate the last answer as not helpful (optional comment)."""
        return self.record(turns, -1, "down", comment, lang), ""

    def rate_message(
        self, index: Any, liked: Any, comment: str, turns: Turns, lang: str
    ) -> tuple[str, str]:
        """A thumb on a chat message: `index` is the message's (two messages per turn)."""
        index = index[0] if isinstance(index, list | tuple) else index
        rating = "up" if liked is True or liked == "Like" else "down"
        return self.record(turns, int(index) // 2, rating, comment, lang), ""

    @staticmethod
    def export_memo(turns: Turns, lang: str) -> str:
        """Download the conversation as a Markdown memo with its citations."""
        import gradio as gr

        if not turns:
            raise gr.Error(text(lang, "export.nothing"))
        folder = Path(tempfile.mkdtemp(prefix="assistant-memo-"))
        path = folder / f"policy-memo-{datetime.now():%Y%m%d-%H%M%S}.md"
        path.write_text(render.memo_markdown(turns, language=lang), encoding="utf-8")
        return str(path)

    def upload(self, files: Sequence[str] | None, lang: str, user: str = "") -> tuple[Any, ...]:
        """Ingest uploaded files as own documents of `user`; results and refreshed documents."""
        import gradio as gr

        if not files:
            raise gr.Error(text(lang, "upload.choose"))
        results = ingest_uploads(
            self.assistant, files, self.upload_root, self.max_upload_bytes, user
        )
        table, points, dropdown = self.documents_view(lang)
        return render.upload_results_markdown(results, lang), table, points, dropdown, None
