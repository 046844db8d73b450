"""The web chat's components. Input: the page's gr.I18n. Output: laid-out Gradio components.

Layout only: each function places its components in the current Gradio context and returns
them, and ui.app wires them to ui.handlers. Static text is `gr.I18n` keys (L("key")), which the
browser translates. Call these inside `gr.Blocks()` (Gradio is imported lazily: ~6 s).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from assistant.pipeline import MAX_QUESTION_CHARS

from . import render
from .handlers import MAX_SOURCES, plot_titles
from .uploads import ALLOWED_SUFFIXES

# example questions as buttons: a button's label is translated, and a click sends that text
EXAMPLE_KEYS = ("example.1", "example.2", "example.3", "example.4")


@dataclass(frozen=True)
class ChatColumn:
    """The conversation: chat, question box, examples, memo export and feedback."""

    chatbot: Any
    question: Any
    send: Any
    examples: list[Any]
    new: Any
    export: Any
    memo: Any
    comment: Any
    up: Any
    down: Any
    feedback_status: Any


@dataclass(frozen=True)
class SourcesColumn:
    """The search filters and the cited sources of the last answer."""

    kinds: Any
    docs: Any
    overview: Any
    accordions: list[Any]
    bodies: list[Any]

    @property
    def outputs(self) -> list[Any]:
        """The components ChatHandlers.source_updates fills, in its order."""
        return [self.overview, *self.accordions, *self.bodies]


@dataclass(frozen=True)
class DocumentsTab:
    """The documents table and timeline, and the upload form when uploads are on."""

    timeline: Any
    table: Any
    files: Any | None  # None: uploads are off
    add: Any | None
    upload_result: Any | None


def locale_probe(L: Any) -> Any:
    """A hidden textbox whose translated value is the language the page shows ("en" / "zh")."""
    import gradio as gr

    return gr.Textbox(
        value=L("app.locale"),
        show_label=False,
        container=False,
        elem_id="ui-locale",
        elem_classes=["locale-probe"],  # hidden by CSS: visible=False is not translated
    )


def chat_column(L: Any) -> ChatColumn:
    """Lay out the conversation column."""
    import gradio as gr

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
                max_length=MAX_QUESTION_CHARS,  # the library refuses longer ones
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
    return ChatColumn(chatbot, question, send, examples, new, export, memo, comment, up, down,
                      feedback_status)  # fmt: skip


def sources_column(L: Any, document_choices: Sequence[tuple[str, str]]) -> SourcesColumn:
    """Lay out the filters and MAX_SOURCES hidden source accordions."""
    import gradio as gr

    with gr.Column(scale=2, elem_id="sources-col"):
        with gr.Accordion(L("filters.title"), open=False):
            kinds = gr.CheckboxGroup(
                choices=[(L(f"filters.kind_{k}"), k) for k in render.KINDS],
                value=list(render.KINDS),
                label=L("filters.kinds"),
            )
            docs = gr.Dropdown(
                choices=list(document_choices),
                value=[],
                multiselect=True,
                label=L("filters.documents"),
            )
        gr.Markdown(L("sources.heading"))
        # filled on load: Gradio would put a translated initial value back over an answer's
        # overview whenever the language is switched
        overview = gr.Markdown()
        accordions, bodies = [], []
        for i in range(MAX_SOURCES):
            with gr.Accordion(f"[{i + 1}]", open=False, visible=False) as acc:
                bodies.append(gr.Markdown(elem_classes=["source-detail"]))
            accordions.append(acc)
    return SourcesColumn(kinds, docs, overview, accordions, bodies)


def documents_tab(L: Any, allow_upload: bool) -> DocumentsTab:
    """Lay out the documents tab: timeline, table and (when allowed) the upload form."""
    import gradio as gr

    with gr.Tab(L("tab.documents")):
        with gr.Row():
            timeline = gr.ScatterPlot(
                x="year",
                y="level",
                color="level",
                **plot_titles("en"),  # the page's language on load
                tooltip=["title"],  # shown with the axis values, under the axis titles
                height=280,
                x_axis_format="d",
            )
        # headers and cells follow the page's language (filled on load)
        table = gr.Dataframe(interactive=False, wrap=True, label=L("docs.table"))
        if not allow_upload:
            gr.Markdown(L("upload.off"))
            return DocumentsTab(timeline, table, None, None, None)
        gr.Markdown(L("upload.heading"))
        files = gr.File(
            file_count="multiple", file_types=list(ALLOWED_SUFFIXES), label=L("upload.files")
        )
        add = gr.Button(L("upload.add"), variant="primary")
        upload_result = gr.Markdown()
    return DocumentsTab(timeline, table, files, add, upload_result)
