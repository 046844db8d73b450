"""The web chat. Input: an Assistant + ServeOptions. Output: a Gradio Blocks app (and `main`).

(No `from __future__ import annotations`: Gradio reads the gr.LikeData hints of handlers at
runtime.) Handlers are thin: they call the library (ask, documents, ingest, passage_context)
and the pure functions of ui.render, nothing else. Gradio is imported lazily (it costs ~6 s).

Languages: static page text is `gr.I18n` keys (prompts/ui.*.yaml), translated in the browser
by its language or the footer's Settings -> Language. Gradio translates only what the page was
built with, so the page reports the language it shows (a hidden textbox whose translated value
is "en" or "zh") into a session State, and handlers word their messages in that language.
"""

import itertools
import json
import logging
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TypedDict

from assistant.answering import MAX_CITATIONS
from assistant.config import Settings
from assistant.errors import AssistantError, ConfigError

from . import render
from .access import ServeOptions, resolve
from .gaps_tab import build_gaps_tab
from .i18n import gradio_translations, language_of, text
from .uploads import ALLOWED_SUFFIXES, ingest_uploads

logger = logging.getLogger(__name__)

MAX_SOURCES = MAX_CITATIONS  # one source accordion per citation an answer can have
# Concurrency: answers are CPU-bound (~0.1-0.3 s) on 2 cores; 2 workers, and a bounded queue
# refuses the excess cleanly ("queue is full") instead of letting latency grow without limit.
CONCURRENCY_LIMIT = 2  # one answer per core; more threads only contend for the GIL and the CPU
QUEUE_MAX_SIZE = 40
STREAM_DELAY = 0.025  # seconds between streamed pieces (12 pieces ~ 0.3 s)
# The answering work of /chat and /ask runs under these slots, not under Gradio's per-event
# workers: the streamed chat answer paces its pieces (sleeps) after giving its slot back, so
# pacing never keeps another user's question waiting (issue 16: /chat p50 6.7 s vs 2.0 s).
ANSWER_SLOTS = threading.BoundedSemaphore(CONCURRENCY_LIMIT)
# example questions as buttons: a button's label is translated, and a click sends that text
EXAMPLE_KEYS = ("example.1", "example.2", "example.3", "example.4")
SYSTEM_FONTS = ["system-ui", "-apple-system", "Segoe UI", "Noto Sans", "Noto Sans CJK SC",
                "PingFang SC", "Microsoft YaHei", "sans-serif"]  # fmt: skip
MONO_FONTS = ["ui-monospace", "SFMono-Regular", "Consolas", "monospace"]
CSS = """
.gradio-container {max-width: 1400px !important; margin: auto;}
#sources-col .prose mark {background: #fff3b0; padding: 0 2px;}
#app-title h2 {margin-bottom: 0;}
#sources-col .label-wrap {text-align: left; justify-content: space-between; gap: 8px;}
#sources-col .label-wrap > span:first-child {text-align: left; flex: 1;}
.locale-probe {display: none !important;}
#examples button {text-align: left; white-space: normal; font-weight: normal;}
"""
# Gradio translates components, not the page title: follow the page's language (<html lang>)
TITLE_SCRIPT = """() => {
  const titles = %s;
  const apply = () => {
    const zh = (document.documentElement.lang || "").toLowerCase().startsWith("zh");
    const title = zh ? titles.zh : titles.en;
    if (document.title !== title) document.title = title;
  };
  apply();
  const observer = new MutationObserver(apply);
  observer.observe(document.documentElement, {attributes: true, attributeFilter: ["lang"]});
  observer.observe(document.head, {childList: true, subtree: true, characterData: true});
}"""


def _theme() -> Any:
    """A theme with system fonts only: no font files are fetched from anywhere."""
    import gradio as gr

    return gr.themes.Soft(
        primary_hue="teal", neutral_hue="slate", font=SYSTEM_FONTS, font_mono=MONO_FONTS
    )


def _kinds(selected: list[str] | None) -> list[str] | None:
    """All or none ticked means no kind filter."""
    if not selected or set(selected) >= set(render.KINDS):
        return None
    return list(selected)


def _static_params(settings: Settings) -> dict[str, object]:
    """Values in the static page text, known when the page is built."""
    return {"suffixes": " ".join(ALLOWED_SUFFIXES), "max_mb": settings.max_upload_mb}


def page_i18n(settings: Settings) -> Any:
    """The page's `gr.I18n`: both wording files, static values filled in."""
    import gradio as gr

    return gr.I18n(**gradio_translations(**_static_params(settings)))


class _PlotTitles(TypedDict):
    title: str
    x_title: str
    y_title: str
    color_title: str


def _plot_titles(lang: str) -> _PlotTitles:
    """Title and axis titles of the policy timeline in `lang`."""
    level = text(lang, "docs.level")
    return {"title": text(lang, "docs.timeline"), "x_title": text(lang, "docs.year"),
            "y_title": level, "color_title": level}  # fmt: skip


def _title_script() -> str:
    titles = {lang: text(lang, "app.title") for lang in ("en", "zh")}
    return TITLE_SCRIPT % json.dumps(titles, ensure_ascii=False)


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
    upload_root = settings.data_dir / "files"  # uploads, kept by content hash
    max_bytes = settings.max_upload_mb * 1024 * 1024
    L = page_i18n(settings)  # L("key") -> a key the browser translates

    def documents_view(lang: str) -> tuple[Any, Any, Any]:
        import pandas as pd

        records = assistant.documents()
        table = pd.DataFrame(render.document_rows(records, lang), columns=render.doc_columns(lang))
        points = pd.DataFrame(
            render.timeline_points(records, lang), columns=["year", "level", "title"]
        )
        # the plot draws its titles as given (Gradio translates only some of its props)
        plot = gr.update(value=points, **_plot_titles(lang))
        return table, plot, gr.update(choices=render.document_choices(records, lang))

    def remember_language(shown: str) -> str:
        """The language the page shows ("en" / "zh"), from the translated probe."""
        return language_of(shown)

    def language_view(lang: str, turns: list[dict[str, Any]]) -> tuple[Any, ...]:
        """What a handler shows in the page's language: documents, the empty sources panel."""
        # an answer's sources overview stays in the answer's language
        empty = gr.skip() if turns else text(lang, "sources.empty")
        return (*documents_view(lang), empty)

    # ---------------------------------------------------------------- handlers

    def ask_api(question: str, kinds: str = "", sources: str = "") -> str:
        """Answer a question with cited countermeasures (Markdown, [n] markers, sources section).

        Args:
            question: the question, English or Chinese.
            kinds: optional comma-separated kinds to search: policy, paper, own.
            sources: optional comma-separated doc_ids to search.
        """
        try:
            with ANSWER_SLOTS:
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
        lang: str,
    ) -> Iterator[tuple[Any, ...]]:
        """Stream an answer into the chat and fill the sources panel."""
        message = (message or "").strip()
        skip_sources = [gr.skip()] * (1 + 2 * MAX_SOURCES)
        if not message:
            gr.Warning(text(lang, "chat.empty_question"))
            yield (gr.skip(), gr.skip(), *skip_sources, gr.skip())
            return
        shown = [*(chat_history or []), {"role": "user", "content": render.escape_md(message)}]
        yield (shown, "", *skip_sources, gr.skip())
        answer = None
        streamed = False
        try:
            # ask_stream yields the text so far while an LLM writes, then the final Answer
            with ANSWER_SLOTS:
                items = assistant.ask_stream(
                    message, _history(turns), sources=docs or None, kinds=_kinds(kinds)
                )
                first = next(items)  # the extractive answer is complete at once
            for item in itertools.chain([first], items):
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
            raise gr.Error(text(lang, "chat.no_answer"))
        # the bubble shows the answer with its [n] markers; the passages are in the side panel
        reply = render.inert(answer.body) + render.answer_footer(answer)
        if not streamed:  # the extractive answer is ready at once: reveal it progressively
            for part in render.stream_chunks(reply):
                yield (
                    [*shown, {"role": "assistant", "content": part}],
                    gr.skip(),
                    *skip_sources,
                    gr.skip(),
                )
                time.sleep(STREAM_DELAY)
        new_turns = [*turns, render.turn_record(message, answer)]
        yield (
            [*shown, {"role": "assistant", "content": reply}],
            gr.skip(),
            *source_updates(answer),
            new_turns,
        )

    def new_conversation(lang: str) -> tuple[Any, ...]:
        hidden = [gr.update(visible=False, open=False)] * MAX_SOURCES
        return ([], "", text(lang, "sources.empty"), *hidden,
                *([""] * MAX_SOURCES), [], "")  # fmt: skip

    def record(
        turns: list[dict[str, Any]], index: int, rating: str, comment: str, lang: str
    ) -> str:
        if not turns:
            raise gr.Error(text(lang, "feedback.no_answer"))
        if not -len(turns) <= index < len(turns):
            raise gr.Error(text(lang, "feedback.not_an_answer"))
        feedback_log.append(render.feedback_entry(turns[index], rating, comment or ""))
        asked = render.escape_md(turns[index]["question"])
        key = "feedback.recorded_up" if rating == "up" else "feedback.recorded_down"
        return text(lang, key, question=asked)

    def feedback_up(comment: str, turns: list[dict[str, Any]], lang: str) -> tuple[str, str]:
        """Rate the last answer as helpful (optional comment)."""
        return record(turns, -1, "up", comment, lang), ""

    def feedback_down(comment: str, turns: list[dict[str, Any]], lang: str) -> tuple[str, str]:
        """Rate the last answer as not helpful (optional comment)."""
        return record(turns, -1, "down", comment, lang), ""

    def on_like(
        data: gr.LikeData, comment: str, turns: list[dict[str, Any]], lang: str
    ) -> tuple[str, str]:
        index = data.index[0] if isinstance(data.index, list | tuple) else data.index
        rating = "up" if data.liked is True or data.liked == "Like" else "down"
        return record(turns, int(index) // 2, rating, comment, lang), ""

    def export_memo(turns: list[dict[str, Any]], lang: str) -> Any:
        """Download the conversation as a Markdown memo with its citations."""
        if not turns:
            raise gr.Error(text(lang, "export.nothing"))
        folder = Path(tempfile.mkdtemp(prefix="assistant-memo-"))
        path = folder / f"policy-memo-{datetime.now():%Y%m%d-%H%M%S}.md"
        path.write_text(render.memo_markdown(turns, language=lang), encoding="utf-8")
        return str(path)

    def upload(files: list[str] | None, lang: str, request: gr.Request) -> tuple[Any, ...]:
        """Ingest uploaded files (.pdf .docx .html .htm .md .txt) as own documents."""
        if not files:
            raise gr.Error(text(lang, "upload.choose"))
        user = str(getattr(request, "username", "") or "")
        results = ingest_uploads(assistant, files, upload_root, max_bytes, user)
        table, points, dropdown = documents_view(lang)
        return render.upload_results_markdown(results, lang), table, points, dropdown, None

    # ---------------------------------------------------------------- layout

    with gr.Blocks(title=text("en", "app.title"), delete_cache=(3600, 3600)) as demo:
        turns = gr.State([])
        ui_lang = gr.State("en")  # what the page shows; API clients get English
        probe = gr.Textbox(
            value=L("app.locale"),
            show_label=False,
            container=False,
            elem_id="ui-locale",
            elem_classes=["locale-probe"],  # hidden by CSS: visible=False is not translated
        )
        gr.Markdown(L("app.heading"), elem_id="app-title")
        with gr.Tabs():
            with gr.Tab(L("tab.chat")), gr.Row(equal_height=False):
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(
                        label=L("chat.label"),
                        show_label=False,
                        height=600,
                        placeholder=L("chat.placeholder"),
                        sanitize_html=True,
                        render_markdown=True,
                        buttons=["copy"],
                        feedback_options=("Like", "Dislike"),
                        elem_id="chat",
                    )
                    with gr.Row():
                        question = gr.Textbox(
                            label=L("chat.question"),  # read out by screen readers
                            show_label=False,
                            placeholder=L("chat.question_placeholder"),
                            max_length=4000,
                            scale=6,
                            elem_id="question",
                        )
                        send = gr.Button(L("chat.ask"), variant="primary", scale=1, elem_id="ask")
                    gr.Markdown(L("chat.examples"), elem_id="examples-heading")
                    with gr.Row(elem_id="examples"):
                        examples = [gr.Button(L(key), size="sm") for key in EXAMPLE_KEYS]
                    with gr.Row():
                        new = gr.Button(L("chat.new"), size="sm", elem_id="new")
                        export = gr.Button(L("chat.export"), size="sm", elem_id="export")
                    memo = gr.File(label=L("chat.memo"), visible=False, interactive=False)
                    with gr.Accordion(L("feedback.title"), open=False):
                        comment = gr.Textbox(label=L("feedback.comment"), lines=2, max_length=2000)
                        with gr.Row():
                            up = gr.Button(L("feedback.up"), size="sm")
                            down = gr.Button(L("feedback.down"), size="sm")
                        feedback_status = gr.Markdown()
                with gr.Column(scale=2, elem_id="sources-col"):
                    with gr.Accordion(L("filters.title"), open=False):
                        kinds = gr.CheckboxGroup(
                            choices=[(L(f"filters.kind_{k}"), k) for k in render.KINDS],
                            value=list(render.KINDS),
                            label=L("filters.kinds"),
                        )
                        docs = gr.Dropdown(
                            choices=render.document_choices(assistant.documents()),
                            value=[],
                            multiselect=True,
                            label=L("filters.documents"),
                        )
                    gr.Markdown(L("sources.heading"))
                    # filled on load: Gradio would put a translated initial value back over an
                    # answer's overview whenever the language is switched
                    overview = gr.Markdown()
                    accordions, bodies = [], []
                    for i in range(MAX_SOURCES):
                        with gr.Accordion(f"[{i + 1}]", open=False, visible=False) as acc:
                            bodies.append(gr.Markdown(elem_classes=["source-detail"]))
                        accordions.append(acc)
            with gr.Tab(L("tab.documents")):
                with gr.Row():
                    timeline = gr.ScatterPlot(
                        x="year",
                        y="level",
                        color="level",
                        **_plot_titles("en"),  # the page's language on load
                        tooltip=["title"],  # shown with the axis values, under the axis titles
                        height=280,
                        x_axis_format="d",
                    )
                # headers and cells follow the page's language (filled on load)
                table = gr.Dataframe(interactive=False, wrap=True, label=L("docs.table"))
                if options.allow_upload:
                    gr.Markdown(L("upload.heading"))
                    files = gr.File(
                        file_count="multiple",
                        file_types=list(ALLOWED_SUFFIXES),
                        label=L("upload.files"),
                    )
                    add = gr.Button(L("upload.add"), variant="primary")
                    upload_result = gr.Markdown()
                    add.click(
                        upload,
                        [files, ui_lang],
                        [upload_result, table, timeline, docs, files],
                        api_name="upload",
                        concurrency_limit=1,  # one writer at a time (the store also locks)
                    )
                else:
                    gr.Markdown(L("upload.off"))
            build_gaps_tab(assistant, L, ui_lang)  # "Check our documents"

        # ------------------------------------------------------------ events
        source_outputs = [overview, *accordions, *bodies]
        chat_outputs = [chatbot, question, *source_outputs, turns]
        chat_inputs = [question, chatbot, kinds, docs, turns, ui_lang]
        # no per-event worker limit: ANSWER_SLOTS bounds the work, the queue's size the waiting
        send.click(chat, chat_inputs, chat_outputs, api_name="chat", concurrency_limit=None)
        question.submit(
            chat, chat_inputs, chat_outputs, api_visibility="private", concurrency_limit=None
        )
        for example in examples:  # the button sends its label as shown: the page's language
            example.click(
                lambda shown: shown, [example], [question], api_visibility="private", queue=False
            ).then(
                chat, chat_inputs, chat_outputs, api_visibility="private", concurrency_limit=None
            )
        new.click(
            new_conversation,
            [ui_lang],
            [chatbot, question, *source_outputs, turns, feedback_status],
            api_visibility="private",
            queue=False,
        ).then(lambda: gr.update(value=None, visible=False), None, [memo], api_visibility="private")
        feedback_in, feedback_out = [comment, turns, ui_lang], [feedback_status, comment]
        up.click(feedback_up, feedback_in, feedback_out, api_name="feedback_up")
        down.click(feedback_down, feedback_in, feedback_out, api_name="feedback_down")
        chatbot.like(on_like, feedback_in, feedback_out, api_visibility="private")
        export.click(export_memo, [turns, ui_lang], [memo], api_name="export").success(
            lambda: gr.update(visible=True), None, [memo], api_visibility="private", queue=False
        )
        # learn the page's language on load and whenever Settings -> Language changes it
        for trigger in (demo.load, probe.change):
            trigger(
                remember_language, [probe], [ui_lang], api_visibility="private", queue=False
            ).then(
                language_view,
                [ui_lang, turns],
                [table, timeline, docs, overview],
                api_visibility="private",
            )
        gr.api(ask_api, api_name="ask", concurrency_limit=None)

        def list_documents() -> list[dict[str, Any]]:
            """The indexed documents with their metadata (doc_id, title, kind, issuer ...)."""
            return [dict(zip(render.DOC_COLUMNS, row, strict=True))
                    for row in render.document_rows(assistant.documents())]  # fmt: skip

        gr.api(list_documents, api_name="documents")
    return demo


def main(
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    allow_upload: bool | None = None,
) -> int:
    """`assistant serve`: check access rules, index the bundled corpus, then serve.

    Args:
        settings: built by the CLI from its arguments (data dir, Chroma URL, LLM, ...).
        host, port, allow_upload: the serve command's options (None: from Settings/env).

    Returns:
        0 after the server stops.

    Raises:
        ConfigError: a non-loopback host without ASSISTANT_AUTH, or bad credentials.
    """
    options = resolve(settings, host=host, port=port, allow_upload=allow_upload)
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
    # the login page is Gradio's own and shows one message: both languages, Chinese first
    auth_message = " · ".join(text(lang, "app.auth_message") for lang in ("zh", "en"))
    demo.launch(
        server_name=options.host,
        server_port=options.port,
        auth=options.auth,
        auth_message=auth_message if options.auth else None,
        ssr_mode=False,  # no Node server; the page is the prebuilt bundle served by Python
        enable_monitoring=False,  # no /monitoring endpoint
        mcp_server=False,
        pwa=False,
        share=False,
        allowed_paths=[],  # serve no folders beyond Gradio's own cache
        max_file_size=f"{settings.max_upload_mb}mb",
        strict_cors=True,
        show_error=True,  # AssistantError messages are written for users
        footer_links=["api", "settings"],  # Settings holds the language switch
        run_history=False,  # the Settings page would offer to store runs in a HF bucket
        i18n=page_i18n(settings),
        js=_title_script(),
        theme=_theme(),
        css=CSS,
        quiet=True,
        # Host, Origin and login-rate checks and the CSP headers (ui/guard.py)
        app_kwargs={"middleware": [_guard(options, settings)]},
    )


def _guard(options: ServeOptions, settings: Settings) -> Any:
    from starlette.middleware import Middleware

    from .guard import Guard, allowed_hosts

    return Middleware(Guard, hosts=allowed_hosts(options.host, settings.allowed_hosts))
