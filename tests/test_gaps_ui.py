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
