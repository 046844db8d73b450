"""The "Check our documents" tab as a live server: the /gaps endpoint gives the CLI's report."""

from __future__ import annotations

import httpx
import pytest
from gradio_client import Client

from tests.conftest import GAP_ENV, run_cli
from tests.ui_server import serve

pytestmark = [pytest.mark.server, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(gap_data_dir):
    with serve(gap_data_dir, env=GAP_ENV) as url:
        yield url


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_web_tab_and_cli_produce_the_same_report(server, gap_data_dir, lang):
    web = Client(server, verbose=False).predict("", "2026-12-03", lang, api_name="/gaps")
    env = {**GAP_ENV, "ASSISTANT_DATA_DIR": str(gap_data_dir)}
    cli = run_cli("gaps", "--as-of", "2026-12-03", "--lang", lang, env=env)
    assert cli.returncode == 0, cli.stderr
    assert web == cli.stdout
    assert ("Falls short" if lang == "en" else "未达标") in web


def test_web_tab_reports_bad_input(server):
    client = Client(server, verbose=False)
    with pytest.raises(Exception, match="YYYY-MM-DD"):
        client.predict("", "31/12/2022", "en", api_name="/gaps")
    with pytest.raises(Exception, match="Unknown document"):
        client.predict("nope", "", "en", api_name="/gaps")


def test_page_has_the_tab_and_its_plot(server):
    config = httpx.get(server + "/config", timeout=30).json()
    plots = [c for c in config["components"] if "plot" in str(c.get("type"))]
    assert len(plots) >= 2, plots  # the documents' timeline and the requirements' bar plot
    assert any(c.get("props", {}).get("x") == "theme" for c in plots)
    labels = {str(c.get("props", {}).get("label", "")) for c in config["components"]}
    assert any("tab.gaps" in label or "Check our documents" in label for label in labels)


@pytest.mark.browser
def test_tab_in_the_browser_shows_report_plot_and_files(server):
    """Click the tab and Check in a headless Chromium: the memo, the plot and both files."""
    from tests.test_ui_browser import CHROMIUM, FLAGS, _require

    _require(CHROMIUM, "chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.goto(server)
            page.get_by_role("tab", name="Check our documents").click()
            page.locator("#gaps-check").click()
            page.locator("#gaps-report").get_by_text("Falls short").first.wait_for(timeout=60_000)
            report = page.locator("#gaps-report").inner_text()
            assert "Article 3" in report and "第二条" in report
            assert "What this report cannot judge" in report
            page.get_by_text("Requirements by theme and status").first.wait_for(timeout=30_000)
            page.get_by_text(".docx").first.wait_for(timeout=30_000)
            assert page.get_by_text(".md").count() >= 1
        finally:
            browser.close()
