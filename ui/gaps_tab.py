"""The "Check our documents" tab: the gap report in the web app.

Input: an Assistant, the page's I18n and its language State. Output: the tab's components and
events, plus the documented `/gaps` endpoint, which returns the same Markdown memo as
`assistant gaps`. The handlers (GapHandlers, callable without the page) call the library
(run_gap_check, gap_report) and nothing else. (No `from __future__ import annotations`:
Gradio reads the type hints of `/gaps` at runtime.)
"""

import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from assistant.errors import AssistantError
from assistant.gap_report import plot_points, render_docx, render_markdown, report_wording
from assistant.gaps import GapReport, parse_as_of, run_gap_check

from . import render
from .handlers import PlotTitles, split_list
from .i18n import language_of, text


def _report(assistant: Any, sources: list[str] | None, as_of: str) -> GapReport:
    import gradio as gr

    try:
        return run_gap_check(assistant, sources, parse_as_of(as_of))
    except AssistantError as e:
        raise gr.Error(str(e)) from e


class GapHandlers:
    """What the tab's events and its /gaps endpoint do, given the Assistant."""

    def __init__(self, assistant: Any) -> None:
        """Keep the Assistant; the report's wording comes from its Settings' prompts_dir."""
        self.assistant = assistant
        self.prompts_dir = assistant.settings.prompts_dir

    def own_choices(self) -> list[tuple[str, str]]:
        """(label, doc_id) of the own documents a check can cover."""
        records = self.assistant.documents()
        return [(f"{r.title} ({r.doc_id})", r.doc_id) for r in records if r.kind == "own"]

    def gaps_api(self, sources: str = "", as_of: str = "", lang: str = "en") -> str:
        """The gap report as a Markdown memo (the same text as `assistant gaps`).

        Args:
            sources: optional comma-separated doc_ids to check (default: all own documents).
            as_of: optional date YYYY-MM-DD whose requirements apply (default: today).
            lang: "en" or "zh".
        """
        lang = language_of(lang)
        report = _report(self.assistant, split_list(sources), as_of)
        return render_markdown(report, lang, report_wording(self.prompts_dir, lang))

    def check(self, docs: list[str], as_of: str, lang: str) -> tuple[Any, Any, Any]:
        """The report shown (Markdown), its plot, and the .md / .docx files to download."""
        import gradio as gr
        import pandas as pd

        report = _report(self.assistant, docs or None, as_of)
        words = report_wording(self.prompts_dir, lang)
        memo = render_markdown(report, lang, words)
        folder = Path(tempfile.mkdtemp(prefix="assistant-gaps-"))
        stem = f"gap-report-{datetime.now():%Y%m%d-%H%M%S}"
        md_path, docx_path = folder / f"{stem}.md", folder / f"{stem}.docx"
        md_path.write_text(memo, encoding="utf-8")
        docx_path.write_bytes(render_docx(report, lang, words))
        points = pd.DataFrame(
            plot_points(report, lang, words), columns=["theme", "status", "count"]
        )
        plot = gr.update(value=points, **_plot_titles(lang))
        return render.inert(memo), plot, [str(md_path), str(docx_path)]


def _plot_titles(lang: str) -> PlotTitles:
    """Title and axis titles of the gap plot in `lang`."""
    return {
        "title": text(lang, "gaps.plot_title"),
        "x_title": text(lang, "gaps.theme"),
        "y_title": text(lang, "gaps.count"),
        "color_title": text(lang, "gaps.status"),
    }


def build_gaps_tab(assistant: Any, L: Any, ui_lang: Any) -> None:
    """Lay out the tab inside the app's gr.Tabs and wire its events.

    Args:
        assistant: an assistant.pipeline.Assistant.
        L: the page's gr.I18n (L("key") is translated in the browser).
        ui_lang: the gr.State holding the page's language ("en" / "zh").
    """
    import gradio as gr

    handlers = GapHandlers(assistant)
    with gr.Tab(L("tab.gaps")) as tab:
        gr.Markdown(L("gaps.intro"))
        with gr.Row():
            docs = gr.Dropdown(
                choices=handlers.own_choices(),
                value=[],
                multiselect=True,
                label=L("gaps.documents"),
                scale=3,
            )
            as_of = gr.Textbox(label=L("gaps.as_of"), placeholder="YYYY-MM-DD", scale=1)
            run = gr.Button(L("gaps.check"), variant="primary", scale=1, elem_id="gaps-check")
        plot = gr.BarPlot(x="theme", y="count", color="status", **_plot_titles("en"), height=280)
        files = gr.File(label=L("gaps.files"), file_count="multiple", interactive=False)
        memo = gr.Markdown(elem_id="gaps-report")
        gr.api(handlers.gaps_api, api_name="gaps")  # inside the tab: gr.Tabs takes only tabs
    run.click(handlers.check, [docs, as_of, ui_lang], [memo, plot, files], api_visibility="private")
    # uploads add documents: offer them when the tab is opened
    tab.select(
        lambda: gr.update(choices=handlers.own_choices()), None, [docs], api_visibility="private"
    )
