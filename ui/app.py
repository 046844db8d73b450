"""The web chat. Input: an Assistant + ServeOptions. Output: a Gradio Blocks app (and `main`).

(No `from __future__ import annotations`: Gradio reads the gr.SelectData / gr.LikeData hints
of handlers at runtime.) Handlers are thin: they call the library (ask, documents, ingest,
passage_context) and the pure functions of ui.render, nothing else. Gradio is imported lazily
(it costs ~6 s).
"""

import argparse
import json
import logging
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from assistant.config import Settings
from assistant.errors import AssistantError, ConfigError

from . import render
from .access import ServeOptions, resolve
from .uploads import ALLOWED_SUFFIXES, ingest_uploads

logger = logging.getLogger(__name__)

MAX_SOURCES = 5  # the extractive composer cites at most 5 passages (answering.MAX_POINTS)
# Concurrency: answers are CPU-bound (~0.1-0.3 s) on 2 cores; 4 workers keep one slow answer
# from blocking the others, and a bounded queue refuses the excess cleanly ("queue is full")
# instead of letting latency grow without limit.
CONCURRENCY_LIMIT = 2  # one answer per core; more threads only contend for the GIL and the CPU
QUEUE_MAX_SIZE = 40
STREAM_DELAY = 0.025  # seconds between streamed pieces (12 pieces ~ 0.3 s)
EXAMPLES = [
    "How can we motivate teachers to take part in training high-skilled talent?",
    "如何建设双师型教师队伍？",
    "How long must teachers spend in enterprises?",
    "What funding per student is expected for higher vocational colleges?",
]
KIND_CHOICES = [
    ("Policy requirements", "policy"),
    ("Research paper", "paper"),
    ("Your documents", "own"),
]
SYSTEM_FONTS = ["system-ui", "-apple-system", "Segoe UI", "Noto Sans", "Noto Sans CJK SC",
                "PingFang SC", "Microsoft YaHei", "sans-serif"]  # fmt: skip
MONO_FONTS = ["ui-monospace", "SFMono-Regular", "Consolas", "monospace"]
CSS = """
.gradio-container {max-width: 1400px !important; margin: auto;}
#sources-col .prose mark {background: #fff3b0; padding: 0 2px;}
#app-title h2 {margin-bottom: 0;}
#sources-col .label-wrap {text-align: left; justify-content: space-between; gap: 8px;}
#sources-col .label-wrap > span:first-child {text-align: left; flex: 1;}
"""


def _theme() -> Any:
    """A theme with system fonts only: no font files are fetched from anywhere."""
    import gradio as gr

    return gr.themes.Soft(
        primary_hue="teal", neutral_hue="slate", font=SYSTEM_FONTS, font_mono=MONO_FONTS
    )


def _kinds(selected: list[str] | None) -> list[str] | None:
    """All or none ticked means no kind filter."""
    if not selected or set(selected) >= {v for _, v in KIND_CHOICES}:
        return None
    return list(selected)


def _split(value: str | None) -> list[str] | None:
    items = [v.strip() for v in (value or "").split(",") if v.strip()]
    return items or None


def _history(turns: list[dict[str, Any]]) -> list[dict[str, str]]:
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


def build_app(assistant: Any, options: ServeOptions) -> Any:
    """Build the Blocks app.

    Args:
        assistant: an assistant.pipeline.Assistant (corpus already indexed).
        options: resolved host/port/auth/upload options.

    Returns:
        A gr.Blocks (not launched).
    """
    import gradio as gr

    settings: Settings = assistant.settings
    feedback_log = FeedbackLog(settings.data_dir / "feedback.jsonl")
    upload_root = settings.data_dir / "uploads"
    max_bytes = settings.max_upload_mb * 1024 * 1024

    def doc_choices() -> list[tuple[str, str]]:
        return [(f"{r.title} ({r.kind})", r.doc_id) for r in assistant.documents()]

    def documents_view() -> tuple[Any, Any, Any]:
        import pandas as pd

        records = assistant.documents()
        table = pd.DataFrame(render.document_rows(records), columns=render.DOC_COLUMNS)
        points = pd.DataFrame(render.timeline_points(records), columns=["year", "level", "title"])
        choices = [(f"{r.title} ({r.kind})", r.doc_id) for r in records]
        return table, points, gr.update(choices=choices)

    # ---------------------------------------------------------------- handlers

    def ask_api(question: str, kinds: str = "", sources: str = "") -> str:
        """Answer a question with cited countermeasures (Markdown, [n] markers, sources section).

        Args:
            question: the question, English or Chinese.
            kinds: optional comma-separated kinds to search: policy, paper, own.
            sources: optional comma-separated doc_ids to search.
        """
        try:
            answer = assistant.ask(question, None, sources=_split(sources), kinds=_split(kinds))
        except AssistantError as e:
            raise gr.Error(str(e)) from e
        return render.inert(answer.text)

    def source_updates(answer: Any) -> list[Any]:
        updates: list[Any] = [render.sources_overview(answer)]
        accs, bodies = [], []
        for i in range(MAX_SOURCES):
            if i < len(answer.citations):
                p = answer.citations[i]
                before, after = assistant.passage_context(p)
                accs.append(
                    gr.update(
                        label=render.source_label(i + 1, p, answer.language),
                        visible=True,
                        open=False,
                    )
                )
                bodies.append(render.source_detail(i + 1, p, before, after, answer.language))
            else:
                accs.append(gr.update(visible=False, open=False))
                bodies.append("")
        return updates + accs + bodies

    def chat(
        message: str,
        chat_history: list[Any],
        kinds: list[str],
        docs: list[str],
        turns: list[dict[str, Any]],
    ) -> Iterator[tuple[Any, ...]]:
        """Stream an answer into the chat and fill the sources panel."""
        message = (message or "").strip()
        skip_sources = [gr.skip()] * (1 + 2 * MAX_SOURCES)
        if not message:
            gr.Warning("Type a question first.")
            yield (gr.skip(), gr.skip(), *skip_sources, gr.skip())
            return
        shown = [*(chat_history or []), {"role": "user", "content": render.escape_md(message)}]
        yield (shown, "", *skip_sources, gr.skip())
        answer = None
        streamed = False
        try:
            # ask_stream yields the text so far while an LLM writes, then the final Answer
            for item in assistant.ask_stream(
                message, _history(turns), sources=docs or None, kinds=_kinds(kinds)
            ):
                if isinstance(item, str):
                    streamed = True
                    yield (
                        [*shown, {"role": "assistant", "content": render.inert(item)}],
                        gr.skip(),
                        *skip_sources,
                        gr.skip(),
                    )
                else:
                    answer = item
        except AssistantError as e:
            raise gr.Error(str(e)) from e
        if answer is None:  # pragma: no cover - ask_stream always ends with an Answer
            raise gr.Error("No answer was produced; please try again.")
        text = render.inert(answer.text) + render.answer_footer(answer)
        if not streamed:  # the extractive answer is ready at once: reveal it progressively
            for part in render.stream_chunks(text):
                yield (
                    [*shown, {"role": "assistant", "content": part}],
                    gr.skip(),
                    *skip_sources,
                    gr.skip(),
                )
                time.sleep(STREAM_DELAY)
        new_turns = [*turns, render.turn_record(message, answer)]
        yield (
            [*shown, {"role": "assistant", "content": text}],
            gr.skip(),
            *source_updates(answer),
            new_turns,
        )

    def new_conversation() -> tuple[Any, ...]:
        hidden = [gr.update(visible=False, open=False)] * MAX_SOURCES
        return ([], "", "_Sources of the latest answer appear here._", *hidden,
                *([""] * MAX_SOURCES), [], "")  # fmt: skip

    def record(turns: list[dict[str, Any]], index: int, rating: str, comment: str) -> str:
        if not turns:
            raise gr.Error("There is no answer to rate yet: ask a question first.")
        if not -len(turns) <= index < len(turns):
            raise gr.Error("That message is not an answer of this conversation.")
        feedback_log.append(render.feedback_entry(turns[index], rating, comment or ""))
        word = "helpful" if rating == "up" else "not helpful"
        asked = render.escape_md(turns[index]["question"])
        return f"Thank you — recorded as **{word}** for: _{asked}_"

    def feedback_up(comment: str, turns: list[dict[str, Any]]) -> tuple[str, str]:
        """Rate the last answer as helpful (optional comment)."""
        return record(turns, -1, "up", comment), ""

    def feedback_down(comment: str, turns: list[dict[str, Any]]) -> tuple[str, str]:
        """Rate the last answer as not helpful (optional comment)."""
        return record(turns, -1, "down", comment), ""

    def on_like(data: gr.LikeData, comment: str, turns: list[dict[str, Any]]) -> tuple[str, str]:
        index = data.index[0] if isinstance(data.index, list | tuple) else data.index
        rating = "up" if data.liked is True or data.liked == "Like" else "down"
        return record(turns, int(index) // 2, rating, comment), ""

    def pick_example(data: gr.SelectData) -> str:
        return str(data.value["text"])

    def export_memo(turns: list[dict[str, Any]]) -> Any:
        """Download the conversation as a Markdown memo with its citations."""
        if not turns:
            raise gr.Error("Nothing to export yet: ask a question first.")
        folder = Path(tempfile.mkdtemp(prefix="assistant-memo-"))
        path = folder / f"policy-memo-{datetime.now():%Y%m%d-%H%M%S}.md"
        path.write_text(render.memo_markdown(turns), encoding="utf-8")
        return str(path)

    def upload(files: list[str] | None) -> tuple[Any, ...]:
        """Ingest uploaded files (.pdf .docx .html .htm .md .txt); per-file results."""
        if not files:
            raise gr.Error("Choose one or more files first.")
        results = ingest_uploads(assistant, files, upload_root, max_bytes)
        table, points, dropdown = documents_view()
        return render.upload_results_markdown(results), table, points, dropdown, None

    # ---------------------------------------------------------------- layout

    with gr.Blocks(title="Policy guidance assistant", delete_cache=(3600, 3600)) as demo:
        turns = gr.State([])
        gr.Markdown(
            "## Policy guidance assistant\n"
            "Countermeasures for higher vocational colleges, each citing its source as [n]: "
            "national policy (binding), the research paper (advice) and your own documents.",
            elem_id="app-title",
        )
        with gr.Tabs():
            with gr.Tab("Chat"), gr.Row(equal_height=False):
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(
                        label="Conversation",
                        show_label=False,
                        height=600,
                        examples=[{"text": q} for q in EXAMPLES],
                        placeholder="**Ask about training high-skilled talent, dual-qualified "
                        "teachers, funding or policy requirements** — in English or 中文.",
                        sanitize_html=True,
                        render_markdown=True,
                        buttons=["copy"],
                        feedback_options=("Like", "Dislike"),
                        elem_id="chat",
                    )
                    with gr.Row():
                        question = gr.Textbox(
                            show_label=False,
                            placeholder="Ask a question (follow-ups use the conversation) …",
                            max_length=4000,
                            scale=6,
                            elem_id="question",
                        )
                        send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                    with gr.Row():
                        new = gr.Button("New conversation", size="sm", elem_id="new")
                        export = gr.Button("Export memo (.md)", size="sm", elem_id="export")
                    memo = gr.File(label="Memo", visible=False, interactive=False)
                    with gr.Accordion("Rate the last answer", open=False):
                        comment = gr.Textbox(
                            label="Comment (optional, sent with your rating)",
                            lines=2,
                            max_length=2000,
                        )
                        with gr.Row():
                            up = gr.Button("👍 Helpful", size="sm")
                            down = gr.Button("👎 Not helpful", size="sm")
                        feedback_status = gr.Markdown()
                with gr.Column(scale=2, elem_id="sources-col"):
                    with gr.Accordion("Filters", open=False):
                        kinds = gr.CheckboxGroup(
                            choices=KIND_CHOICES,
                            value=[v for _, v in KIND_CHOICES],
                            label="Search in",
                        )
                        docs = gr.Dropdown(
                            choices=doc_choices(),
                            value=[],
                            multiselect=True,
                            label="Only these documents (empty: all)",
                        )
                    gr.Markdown("### Sources")
                    overview = gr.Markdown("_Sources of the latest answer appear here._")
                    accordions, bodies = [], []
                    for i in range(MAX_SOURCES):
                        with gr.Accordion(f"[{i + 1}]", open=False, visible=False) as acc:
                            bodies.append(gr.Markdown(elem_classes=["source-detail"]))
                        accordions.append(acc)
            with gr.Tab("Documents"):
                with gr.Row():
                    timeline = gr.ScatterPlot(
                        x="year",
                        y="level",
                        color="level",
                        title="Policy documents by year and issuing level",
                        tooltip=["title", "year", "level"],
                        height=280,
                        x_axis_format="d",
                    )
                table = gr.Dataframe(
                    headers=render.DOC_COLUMNS,
                    interactive=False,
                    wrap=True,
                    label="Indexed documents",
                )
                if options.allow_upload:
                    gr.Markdown(
                        f"### Add your documents\nAccepted: {' '.join(ALLOWED_SUFFIXES)}, up to "
                        f"{settings.max_upload_mb} MB each. They are indexed as *your documents*."
                    )
                    files = gr.File(
                        file_count="multiple", file_types=list(ALLOWED_SUFFIXES), label="Files"
                    )
                    add = gr.Button("Add to the index", variant="primary")
                    upload_result = gr.Markdown()
                    add.click(
                        upload,
                        [files],
                        [upload_result, table, timeline, docs, files],
                        api_name="upload",
                        concurrency_limit=1,  # one writer at a time (the store also locks)
                    )
                else:
                    gr.Markdown(
                        "_Uploading is off on this server (it is on by default only on "
                        "127.0.0.1; start with `--allow-upload` to enable it)._"
                    )

        # ------------------------------------------------------------ events
        source_outputs = [overview, *accordions, *bodies]
        chat_outputs = [chatbot, question, *source_outputs, turns]
        chat_inputs = [question, chatbot, kinds, docs, turns]
        send.click(chat, chat_inputs, chat_outputs, api_name="chat")
        question.submit(chat, chat_inputs, chat_outputs, api_visibility="private")
        chatbot.example_select(
            pick_example, None, [question], api_visibility="private", queue=False
        ).then(chat, chat_inputs, chat_outputs, api_visibility="private")
        new.click(
            new_conversation,
            None,
            [chatbot, question, *source_outputs, turns, feedback_status],
            api_visibility="private",
            queue=False,
        ).then(lambda: gr.update(value=None, visible=False), None, [memo], api_visibility="private")
        up.click(feedback_up, [comment, turns], [feedback_status, comment], api_name="feedback_up")
        down.click(
            feedback_down, [comment, turns], [feedback_status, comment], api_name="feedback_down"
        )
        chatbot.like(
            on_like, [comment, turns], [feedback_status, comment], api_visibility="private"
        )
        export.click(export_memo, [turns], [memo], api_name="export").success(
            lambda: gr.update(visible=True), None, [memo], api_visibility="private", queue=False
        )
        demo.load(documents_view, None, [table, timeline, docs], api_visibility="private")
        gr.api(ask_api, api_name="ask")

        def list_documents() -> list[dict[str, Any]]:
            """The indexed documents with their metadata (doc_id, title, kind, issuer ...)."""
            return [dict(zip(render.DOC_COLUMNS, row, strict=True))
                    for row in render.document_rows(assistant.documents())]  # fmt: skip

        gr.api(list_documents, api_name="documents")
    return demo


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if getattr(args, "chroma_url", None):
        overrides["chroma_url"] = args.chroma_url
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = Path(args.data_dir)
    return Settings(**overrides)


def main(args: argparse.Namespace) -> int:
    """`assistant serve`: check access rules, index the bundled corpus, then serve.

    Args:
        args: host, port, allow_upload (and the global data_dir / chroma_url).

    Returns:
        0 after the server stops.

    Raises:
        ConfigError: a non-loopback host without ASSISTANT_AUTH, or bad credentials.
    """
    settings = _settings(args)
    options = resolve(
        settings,
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        allow_upload=getattr(args, "allow_upload", None),
    )
    from assistant import get_assistant

    assistant = get_assistant(settings)
    sys.stderr.write("Preparing the index of the bundled corpus …\n")
    report = assistant.ensure_corpus()
    if report is not None:
        sys.stderr.write(f"Indexed the bundled corpus: {report.status}\n")
    demo = build_app(assistant, options)
    demo.queue(default_concurrency_limit=CONCURRENCY_LIMIT, max_size=QUEUE_MAX_SIZE)
    sys.stderr.write(
        f"Web chat on http://{options.host}:{options.port} "
        f"(login {'on' if options.auth else 'off'}, "
        f"upload {'on' if options.allow_upload else 'off'})\n"
    )
    try:
        _launch(demo, options, settings)
    except OSError as e:  # e.g. the port is taken
        raise ConfigError(
            f"Cannot start the web chat on {options.host}:{options.port}: {e}. "
            "Choose another port with --port or ASSISTANT_PORT."
        ) from e
    return 0


def _launch(demo: Any, options: ServeOptions, settings: Settings) -> None:
    """Launch with the reviewed Gradio settings (see docs/web.md)."""
    demo.launch(
        server_name=options.host,
        server_port=options.port,
        auth=options.auth,
        auth_message="Policy guidance assistant: sign in." if options.auth else None,
        ssr_mode=False,  # no Node server; the page is the prebuilt bundle served by Python
        enable_monitoring=False,  # no /monitoring endpoint
        mcp_server=False,
        pwa=False,
        share=False,
        allowed_paths=[],  # serve no folders beyond Gradio's own cache
        max_file_size=f"{settings.max_upload_mb}mb",
        strict_cors=True,
        show_error=True,  # AssistantError messages are written for users
        footer_links=["api"],
        theme=_theme(),
        css=CSS,
        quiet=True,
    )
