"""The web chat in a headless Chromium: streaming, sources, offline page, inert documents.

The server runs on a private copy of the session's index, into which a planted malicious
Markdown document is uploaded (through the upload endpoint, with a path-traversal file name).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest
from gradio_client import Client

from tests.conftest import REPO, run_cli
from tests.ui_server import serve

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO / "tests" / "artifacts"
Q = "How can we motivate teachers to take part in training high-skilled talent?"
PLANTED_Q = "What does the Lotus campus mentoring bonus scheme pay mentors?"
PLANTED = """---
title: Lotus campus mentoring bonus scheme <script>window.__pwned=3</script>
kind: own
---
# Lotus campus mentoring bonus scheme

The Lotus campus mentoring bonus scheme pays mentors a bonus for each apprentice they coach.
<script>window.__pwned=1</script> <img src=x onerror="window.__pwned=2">
Mentors read the rules at [click](http://evil.example/) and see ![x](http://evil.example/x.png)
before the Lotus campus mentoring bonus scheme pays them.
"""


@pytest.fixture(scope="module")
def chromium_path() -> str:
    """Debian's chromium; skip locally (fail in CI) when it is missing."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install the Debian chromium package to run browser tests"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return str(CHROMIUM)


@pytest.fixture(scope="module")
def server(chromium_path: str, data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A server on a private copy of the session index, with the planted document uploaded."""
    built = run_cli("docs", env={"ASSISTANT_DATA_DIR": str(data_dir)})  # builds the index if needed
    assert built.returncode == 0, built.stderr
    private = tmp_path_factory.mktemp("browser") / "data"
    shutil.copytree(data_dir, private, ignore=shutil.ignore_patterns("feedback.jsonl", "uploads"))
    with serve(private) as url:
        r = httpx.post(
            f"{url}/gradio_api/upload",
            files={"files": ("../../../lotus-scheme.md", PLANTED.encode(), "text/markdown")},
        )
        [cached] = r.json()
        result = Client(url, verbose=False).predict(
            [
                {
                    "path": cached,
                    "orig_name": "../../../lotus-scheme.md",
                    "meta": {"_type": "gradio.FileData"},
                }
            ],
            api_name="/upload",
        )
        assert "lotus-scheme.md | added | doc\\_id lotus-scheme" in result[0], result[0]
        assert not (private.parent / "lotus-scheme.md").exists()
        assert not any((private / "uploads").iterdir()), "staging folders are removed"
        yield url


def test_chat_in_the_browser_is_offline_streamed_cited_and_inert(
    server: str, chromium_path: str
) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    requested: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.on("request", lambda req: requested.append(req.url))
            page.goto(server)
            page.wait_for_selector("#chat")
            page.get_by_text(
                "如何建设双师型教师队伍？"
            ).first.wait_for()  # examples on an empty chat
            page.screenshot(path=str(ARTIFACTS / "ui-empty.png"))

            page.evaluate(
                """() => { window.__lens = [];
                new MutationObserver(() => window.__lens.push(
                    document.querySelector('#chat').innerText.length))
                  .observe(document.querySelector('#chat'),
                           {childList: true, subtree: true, characterData: true}); }"""
            )
            page.locator("#question textarea").fill(Q)
            page.locator("#ask").click()
            page.get_by_text("cited — open one").wait_for(timeout=60_000)
            chat_text = page.locator("#chat").inner_text()
            assert "[1]" in chat_text and "Sources" in chat_text
            lengths = sorted(set(page.evaluate("window.__lens")))
            assert len(lengths) >= 4, f"expected a streamed answer, saw lengths {lengths}"

            source = page.locator("#sources-col").get_by_text("[1] ", exact=False).first
            source.click()
            page.get_by_text("In context").first.wait_for()
            # the passage is highlighted in its context (wait out the accordion's opening)
            page.locator("#sources-col mark").first.wait_for(state="visible", timeout=15_000)
            page.screenshot(path=str(ARTIFACTS / "ui-answer-source.png"), full_page=True)

            page.locator("#question textarea").fill(PLANTED_Q)
            page.locator("#ask").click()
            page.locator("#chat").get_by_text("mentoring bonus scheme pays mentors").last.wait_for(
                timeout=60_000
            )
            page.wait_for_timeout(1000)
            chat_text = page.locator("#chat").inner_text()
            assert "<script>window.__pwned=1</script>" in chat_text  # shown as text
            assert "![x](http://evil.example/x.png)" in chat_text
            for _ in range(5):
                label = page.locator("#sources-col").get_by_text("Lotus campus", exact=False)
                if label.count():
                    label.first.click()
                    break
            page.wait_for_timeout(500)
            page.screenshot(path=str(ARTIFACTS / "ui-planted.png"), full_page=True)
            assert page.evaluate("typeof window.__pwned") == "undefined"
            assert page.locator("#chat img[src='x'], #sources-col img[src='x']").count() == 0
            assert page.locator("a[href^='http://evil.example']").count() == 0

            page.get_by_role("tab", name="Documents").click()
            page.get_by_text("policy-2006-national-demonstrative").first.wait_for()
            page.wait_for_timeout(1500)
            page.screenshot(path=str(ARTIFACTS / "ui-documents.png"), full_page=True)
            assert page.evaluate("typeof window.__pwned") == "undefined"
        finally:
            browser.close()

    hosts = {urlparse(u).hostname for u in requested if not u.startswith(("data:", "blob:"))}
    assert hosts == {"127.0.0.1"}, f"requests left 127.0.0.1: {sorted(h for h in hosts if h)}"
    assert not [u for u in requested if "evil.example" in u]
