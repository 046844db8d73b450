"""The "Check our documents" tab: the gap report in the web app.

Input: an Assistant, the page's I18n and its language State. Output: the tab's components and
events, plus the documented `/gaps` endpoint, which returns the same Markdown memo as
`assistant gaps`. Handlers call the library (run_gap_check, gap_report) and nothing else.
"""

import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from assistant.errors import AssistantError
from assistant.gap_report import plot_points, render_docx, render_markdown, report_wording
from assistant.gaps import GapReport, parse_as_of, run_gap_check

from . import render
from .i18n import language_of, text


def _own_choices(assistant: Any) -> list[tuple[str, str]]:
    return [(f"{r.title} ({r.doc_id})", r.doc_id) for r in assistant.documents() if r.kind == "own"]


def _split(value: str | None) -> list[str] | None:
    items = [v.strip() for v in (value or "").split(",") if v.strip()]
    return items or None


def _report(assistant: Any, sources: list[str] | None, as_of: str) -> GapReport:
    import gradio as gr

    try:
        return run_gap_check(assistant, sources, parse_as_of(as_of))
    except AssistantError as e:
        raise gr.Error(str(e)) from e


def build_gaps_tab(assistant: Any, L: Any, ui_lang: Any) -> None:
    """Lay out the tab inside the app's gr.Tabs and wire its events.

    Args:
        assistant: an assistant.pipeline.Assistant.
        L: the page's gr.I18n (L("key") is translated in the browser).
        ui_lang: the gr.State holding the page's language ("en" / "zh").
    """
    import gradio as gr
    import pandas as pd

    prompts_dir = assistant.settings.prompts_dir

    def gaps_api(sources: str = "", as_of: str = "", lang: str = "en") -> str:
        """The gap report as a Markdown memo (the same text as `assistant gaps`).

        Args:
            sources: optional comma-separated doc_ids to check (default: all own documents).
            as_of: optional date YYYY-MM-DD whose requirements apply (default: today).
            lang: "en" or "zh".
        """
        lang = language_of(lang)
        report = _report(assistant, _split(sources), as_of)
        return render_markdown(report, lang, report_wording(prompts_dir, lang))

    def check(docs: list[str], as_of: str, lang: str) -> tuple[Any, Any, Any]:
        report = _report(assistant, docs or None, as_of)
        words = report_wording(prompts_dir, lang)
        memo = render_markdown(report, lang, words)
        folder = Path(tempfile.mkdtemp(prefix="assistant-gaps-"))
        stem = f"gap-report-{datetime.now():%Y%m%d-%H%M%S}"
        md_path, docx_path = folder / f"{stem}.md", folder / f"{stem}.docx"
        md_path.write_text(memo, encoding="utf-8")
        docx_path.write_bytes(render_docx(report, lang, words))
        points = pd.DataFrame(
            plot_points(report, lang, words), columns=["theme", "status", "count"]
        )
        plot = gr.update(
            value=points,
            title=text(lang, "gaps.plot_title"),
            x_title=text(lang, "gaps.theme"),
            y_title=text(lang, "gaps.count"),
            color_title=text(lang, "gaps.status"),
        )
        return render.inert(memo), plot, [str(md_path), str(docx_path)]

    with gr.Tab(L("tab.gaps")) as tab:
        gr.Markdown(L("gaps.intro"))
        with gr.Row():
            docs = gr.Dropdown(
                choices=_own_choices(assistant),
                value=[],
                multiselect=True,
                label=L("gaps.documents"),
                scale=3,
            )
            as_of = gr.Textbox(label=L("gaps.as_of"), placeholder="YYYY-MM-DD", scale=1)
            run = gr.Button(L("gaps.check"), variant="primary", scale=1, elem_id="gaps-check")
        plot = gr.BarPlot(
            x="theme",
            y="count",
            color="status",
            title=text("en", "gaps.plot_title"),
            x_title=text("en", "gaps.theme"),
            y_title=text("en", "gaps.count"),
            color_title=text("en", "gaps.status"),
            height=280,
        )
        files = gr.File(label=L("gaps.files"), file_count="multiple", interactive=False)
        memo = gr.Markdown(elem_id="gaps-report")
        gr.api(gaps_api, api_name="gaps")  # inside the tab: gr.Tabs takes only tabs
    run.click(check, [docs, as_of, ui_lang], [memo, plot, files], api_visibility="private")
    # uploads add documents: offer them when the tab is opened
    tab.select(
        lambda: gr.update(choices=_own_choices(assistant)), None, [docs], api_visibility="private"
    )
