"""The web chat. Input: an Assistant + ServeOptions. Output: a Gradio Blocks app (and `main`).

(No `from __future__ import annotations`: Gradio reads the gr.LikeData / gr.Request hints of
the event adapters here at runtime.) The page is laid out by ui.layout, and its events call
ui.handlers.ChatHandlers, which call the library and the pure functions of ui.render; this
module wires the two and launches the server. Gradio is imported lazily (it costs ~6 s).

Languages: static page text is `gr.I18n` keys (prompts/ui.*.yaml), translated in the browser
by its language or the footer's Settings -> Language. Gradio translates only what the page was
built with, so the page reports the language it shows (a hidden textbox whose translated value
is "en" or "zh") into a session State, and handlers word their messages in that language.
"""

import json
import sys
from typing import Any

from assistant.config import Settings
from assistant.errors import ConfigError

from . import documents, layout
from .access import ServeOptions, resolve
from .gaps_tab import build_gaps_tab
from .handlers import CONCURRENCY_LIMIT, ChatHandlers
from .i18n import gradio_translations, text
from .uploads import ALLOWED_SUFFIXES

QUEUE_MAX_SIZE = 40  # waiting requests beyond the workers; more are refused ("queue is full")
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


def _static_params(settings: Settings) -> dict[str, object]:
    """Values in the static page text, known when the page is built."""
    return {"suffixes": " ".join(ALLOWED_SUFFIXES), "max_mb": settings.max_upload_mb}


def page_i18n(settings: Settings) -> Any:
    """The page's `gr.I18n`: both wording files, static values filled in."""
    import gradio as gr

    return gr.I18n(**gradio_translations(**_static_params(settings)))


def _title_script() -> str:
    titles = {lang: text(lang, "app.title") for lang in ("en", "zh")}
    return TITLE_SCRIPT % json.dumps(titles, ensure_ascii=False)


def build_app(assistant: Any, options: ServeOptions) -> Any:
    """Build the Blocks app.

    Args:
        assistant: an assistant.pipeline.Assistant (corpus already indexed).
        options: resolved host/port/auth/upload options.

    Returns:
        A gr.Blocks (not launched).
    """
    import gradio as gr

    handlers = ChatHandlers.for_settings(assistant)
    L = page_i18n(assistant.settings)  # L("key") -> a key the browser translates
    with gr.Blocks(title=text("en", "app.title"), delete_cache=(3600, 3600)) as demo:
        turns = gr.State([])
        ui_lang = gr.State("en")  # what the page shows; API clients get English
        probe = layout.locale_probe(L)
        gr.Markdown(L("app.heading"), elem_id="app-title")
        with gr.Tabs():
            with gr.Tab(L("tab.chat")), gr.Row(equal_height=False):
                chat = layout.chat_column(L)
                choices = documents.document_choices(assistant.documents())
                sources = layout.sources_column(L, choices)
            docs_tab = layout.documents_tab(L, options.allow_upload)
            _wire_upload(handlers, docs_tab, sources, ui_lang)
            build_gaps_tab(assistant, L, ui_lang)  # "Check our documents"
        _wire_chat(handlers, chat, sources, turns, ui_lang)
        # learn the page's language on load and whenever Settings -> Language changes it
        for trigger in (demo.load, probe.change):
            trigger(
                handlers.remember_language, [probe], [ui_lang], api_visibility="private",
                queue=False,
            ).then(
                handlers.language_view,
                [ui_lang, turns],
                [docs_tab.table, docs_tab.timeline, sources.docs, sources.overview],
                api_visibility="private",
            )  # fmt: skip
        gr.api(handlers.ask_api, api_name="ask", concurrency_limit=None)
        gr.api(handlers.list_documents, api_name="documents")
    return demo


def _wire_upload(
    handlers: ChatHandlers, tab: layout.DocumentsTab, sources: layout.SourcesColumn, ui_lang: Any
) -> None:
    """The upload form's event (/upload), when uploads are on."""
    import gradio as gr

    if tab.add is None:
        return

    def upload(files: list[str] | None, lang: str, request: gr.Request) -> tuple[Any, ...]:
        """Ingest uploaded files (.pdf .docx .html .htm .md .txt) as own documents."""
        return handlers.upload(files, lang, str(getattr(request, "username", "") or ""))

    tab.add.click(
        upload,
        [tab.files, ui_lang],
        [tab.upload_result, tab.table, tab.timeline, sources.docs, tab.files],
        api_name="upload",
        concurrency_limit=1,  # one writer at a time (the store also locks)
    )


def _wire_chat(
    handlers: ChatHandlers,
    chat: layout.ChatColumn,
    sources: layout.SourcesColumn,
    turns: Any,
    ui_lang: Any,
) -> None:
    """The conversation's events: ask (/chat), examples, new, feedback, export (/export)."""
    import gradio as gr

    outputs = [chat.chatbot, chat.question, *sources.outputs, turns]
    inputs = [chat.question, chat.chatbot, sources.kinds, sources.docs, turns, ui_lang]
    # no per-event worker limit: ANSWER_SLOTS bounds the work, the queue's size the waiting
    ask = {"fn": handlers.chat, "inputs": inputs, "outputs": outputs, "concurrency_limit": None}
    chat.send.click(**ask, api_name="chat")
    chat.question.submit(**ask, api_visibility="private")
    for example in chat.examples:  # the button sends its label as shown: the page's language
        example.click(
            lambda shown: shown, [example], [chat.question], api_visibility="private", queue=False
        ).then(**ask, api_visibility="private")
    chat.new.click(
        handlers.new_conversation,
        [ui_lang],
        [chat.chatbot, chat.question, *sources.outputs, turns, chat.feedback_status],
        api_visibility="private",
        queue=False,
    ).then(
        lambda: gr.update(value=None, visible=False), None, [chat.memo], api_visibility="private"
    )
    feedback_in, feedback_out = [chat.comment, turns, ui_lang], [chat.feedback_status, chat.comment]
    chat.up.click(handlers.feedback_up, feedback_in, feedback_out, api_name="feedback_up")
    chat.down.click(handlers.feedback_down, feedback_in, feedback_out, api_name="feedback_down")

    def on_like(
        data: gr.LikeData, comment: str, turns: list[dict[str, Any]], lang: str
    ) -> tuple[str, str]:
        return handlers.rate_message(data.index, data.liked, comment, turns, lang)

    chat.chatbot.like(on_like, feedback_in, feedback_out, api_visibility="private")
    chat.export.click(
        handlers.export_memo, [turns, ui_lang], [chat.memo], api_name="export"
    ).success(
        lambda: gr.update(visible=True), None, [chat.memo], api_visibility="private", queue=False
    )


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
    from .api import api_routes  # the HTTP JSON API on the same server, beside the page

    try:
        _launch(demo, options, settings, routes=api_routes(assistant, options, settings))
    except OSError as e:  # e.g. the port is taken
        raise ConfigError(
            f"Cannot start the web chat on {options.host}:{options.port}: {e}. "
            "Choose another port with --port or ASSISTANT_PORT."
        ) from e
    return 0


def _launch(
    demo: Any, options: ServeOptions, settings: Settings, routes: list[Any] | None = None
) -> None:
    """Launch with the reviewed Gradio settings (see docs/web.md); `routes` go first."""
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
        # Host, Origin and login-rate checks and the CSP headers (ui/guard.py); the JSON API
        app_kwargs={"middleware": [_guard(options, settings)], "routes": routes or []},
    )


def _guard(options: ServeOptions, settings: Settings) -> Any:
    from starlette.middleware import Middleware

    from .guard import Guard, allowed_hosts

    return Middleware(Guard, hosts=allowed_hosts(options.host, settings.allowed_hosts))
