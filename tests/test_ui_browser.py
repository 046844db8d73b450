"""The web chat in a headless Chromium: streaming, sources, offline page, inert documents,
and the Chinese interface (browser language, Settings -> Language, CJK glyphs).

The server runs on a private copy of the session's index, into which a planted malicious
Markdown document is uploaded (through the upload endpoint, with a path-traversal file name).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest
import yaml
from gradio_client import Client

from tests.conftest import REPO, run_cli
from tests.ui_server import serve

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")  # fonts-noto-cjk
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
ZH_Q = "如何建设双师型教师队伍？"
EN_WORDS = yaml.safe_load((REPO / "prompts" / "ui.en.yaml").read_text(encoding="utf-8"))
ZH_WORDS = yaml.safe_load((REPO / "prompts" / "ui.zh.yaml").read_text(encoding="utf-8"))
PLANTED_Q = "What does the Lotus campus mentoring bonus scheme pay mentors?"
PLANTED = """---
title: Lotus campus mentoring bonus scheme <script>window.__pwned=3</script>
kind: own
---
# Lotus campus mentoring bonus scheme

The Lotus campus mentoring bonus scheme pays mentors <script>window.__pwned=1</script> <img src=x onerror="window.__pwned=2"> a bonus for each apprentice they coach.
Mentors read the rules at [click](http://evil.example/) and see ![x](http://evil.example/x.png)
before the Lotus campus mentoring bonus scheme pays them.
"""


def _require(path: Path, package: str) -> None:
    """Skip locally (fail in CI) when a Debian package the browser tests need is missing."""
    if not path.exists():
        message = f"{path} is missing: install the Debian {package} package to run browser tests"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def chromium_path() -> str:
    """Debian's chromium."""
    _require(CHROMIUM, "chromium")
    return str(CHROMIUM)


@pytest.fixture(scope="module")
def server(chromium_path: str, data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A server on a private copy of the session index, with the planted document uploaded."""
    built = run_cli("docs", env={"ASSISTANT_DATA_DIR": str(data_dir)})  # builds the index if needed
    assert built.returncode == 0, built.stderr
    private = tmp_path_factory.mktemp("browser") / "data"
    shutil.copytree(
        data_dir, private, ignore=shutil.ignore_patterns("feedback.jsonl", "uploads", "files")
    )
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
        # kept for reindex, content-addressed, under its sanitized base name only
        kept = [p.relative_to(private / "files") for p in (private / "files").rglob("*.md")]
        assert [k.name for k in kept] == ["lotus-scheme.md"] and len(kept[0].parts) == 2
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
            page.get_by_text(EN_WORDS["example.2"]).first.wait_for()  # English examples
            assert page.get_by_text(ZH_WORDS["example.2"]).count() == 0
            assert page.title() == EN_WORDS["app.title"]
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
            assert "[1]" in chat_text  # the passages are in the sources panel
            assert "Sources" in page.locator("#sources-col").inner_text()
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
            for _ in range(5):
                label = page.locator("#sources-col").get_by_text("Lotus campus", exact=False)
                if label.count():
                    label.first.click()
                    break
            page.wait_for_timeout(500)
            # the bubble quotes sentences; the planted markup is in the passage, shown as text
            shown = page.locator("#chat").inner_text() + page.locator("#sources-col").inner_text()
            assert "<script>window.__pwned=1</script>" in shown
            assert "![x](http://evil.example/x.png)" in shown
            page.screenshot(path=str(ARTIFACTS / "ui-planted.png"), full_page=True)
            assert page.evaluate("typeof window.__pwned") == "undefined"
            assert page.locator("#chat img[src='x'], #sources-col img[src='x']").count() == 0
            assert page.locator("a[href^='http://evil.example']").count() == 0

            page.get_by_role("tab", name="Documents", exact=True).click()
            page.get_by_text("policy-2006-national-demonstrative").first.wait_for()
            page.wait_for_timeout(1500)
            page.screenshot(path=str(ARTIFACTS / "ui-documents.png"), full_page=True)
            assert page.evaluate("typeof window.__pwned") == "undefined"
        finally:
            browser.close()

    hosts = {urlparse(u).hostname for u in requested if not u.startswith(("data:", "blob:"))}
    assert hosts == {"127.0.0.1"}, f"requests left 127.0.0.1: {sorted(h for h in hosts if h)}"
    assert not [u for u in requested if "evil.example" in u]


def _visible_text(page) -> str:
    return " ".join(page.locator("body").inner_text().split())


def _shown(markdown: str) -> str:
    """One of our Markdown strings as the page shows it (markup dropped, spaces joined)."""
    return " ".join(re.sub(r"[*_`#]", "", markdown).split())


def _glyph_fonts(page, selector: str) -> dict[str, int]:
    """Font family -> glyphs Chromium drew with it for the element's text (DevTools CSS)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    return {f["familyName"]: f["glyphCount"] for f in fonts}


def test_chinese_browser_gets_the_chinese_page_and_can_switch_to_english(
    server: str, chromium_path: str
) -> None:
    from playwright.sync_api import sync_playwright

    _require(CJK_FONT, "fonts-noto-cjk")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # our English labels that differ in Chinese (templates are handler messages, checked below)
    english = {
        key: _shown(value)
        for key, value in EN_WORDS.items()
        if value != ZH_WORDS[key] and "{" not in value and key != "app.locale"
    }
    requested: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=FLAGS, headless=True)
        try:
            context = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 1000})
            page = context.new_page()
            page.on("request", lambda req: requested.append(req.url))
            page.goto(server)
            page.wait_for_selector("#chat")
            page.get_by_text(ZH_WORDS["example.2"]).first.wait_for()
            page.get_by_text(_shown(ZH_WORDS["sources.empty"])).wait_for()  # set on load
            assert page.evaluate("document.documentElement.lang") == "zh-CN"
            assert page.title() == ZH_WORDS["app.title"]
            shown = _visible_text(page)
            for key in ("app.title", "tab.chat", "tab.documents", "chat.ask", "chat.new",
                        "chat.export", "chat.examples", "feedback.title", "filters.title",
                        "sources.heading", "sources.empty", "chat.placeholder"):  # fmt: skip
                assert _shown(ZH_WORDS[key]) in shown, key
            assert (
                page.locator("#question textarea").get_attribute("placeholder")
                == (ZH_WORDS["chat.question_placeholder"])
            )
            leaked = {
                key: words
                for key, words in english.items()
                if re.search(rf"(?<![A-Za-z]){re.escape(words)}(?![A-Za-z])", shown)
            }
            assert not leaked, f"English labels on the Chinese page: {leaked}"

            # CJK glyphs are really drawn with a CJK font, not as empty boxes. (The brief's
            # document.fonts.check() is true here even for a font that does not exist, so
            # ask Chromium which platform font drew each glyph instead.)
            for selector, chars in (("#app-title h2", ZH_WORDS["app.title"]),
                                    ("#ask", ZH_WORDS["chat.ask"])):  # fmt: skip
                fonts = _glyph_fonts(page, selector)
                cjk = sum(n for family, n in fonts.items() if "CJK" in family)
                assert cjk == len(chars), f"{selector} drawn with {fonts}"

            # the Chinese example asks the Chinese question
            page.locator("#examples button", has_text=ZH_WORDS["example.2"]).click()
            page.locator("#sources-col").get_by_text("引用了").wait_for(timeout=60_000)
            chat_text = page.locator("#chat").inner_text()
            assert ZH_Q in chat_text and "[1]" in chat_text
            page.locator("#sources-col").get_by_text("[1] ", exact=False).first.click()
            page.locator("#sources-col").get_by_text("原文段落").first.wait_for()
            page.locator("#sources-col mark").first.wait_for(state="visible", timeout=15_000)
            sources = page.locator("#sources-col").inner_text()
            assert "文件：" in sources and "上下文" in sources
            assert "Provenance:" not in sources and "In context" not in sources

            page.get_by_text(ZH_WORDS["feedback.title"]).click()
            page.get_by_role("button", name=ZH_WORDS["feedback.up"]).click()
            page.get_by_text("谢谢！已将以下问题的回答记录为").wait_for()
            page.screenshot(path=str(ARTIFACTS / "ui-zh-answer.png"), full_page=True)

            page.get_by_role("tab", name=ZH_WORDS["tab.documents"], exact=True).click()
            page.get_by_text(ZH_WORDS["docs.column_doc_id"], exact=True).first.wait_for()
            page.locator("svg text", has_text=ZH_WORDS["docs.timeline"]).first.wait_for()
            plot = page.evaluate(
                "Array.from(document.querySelectorAll('svg text')).map(t => t.textContent)"
            )
            assert {ZH_WORDS["docs.year"], ZH_WORDS["docs.level"], ZH_WORDS["level.law"]} <= set(
                plot
            ), plot
            assert not {EN_WORDS["docs.year"], EN_WORDS["docs.level"], "level"} & set(plot)
            page.wait_for_timeout(1000)
            page.screenshot(path=str(ARTIFACTS / "ui-zh-documents.png"), full_page=True)

            # the switch: footer -> Settings -> Language
            page.locator("footer").get_by_text("设置").click()
            language = page.get_by_role("combobox", name="Language")
            language.click()
            language.fill("English")
            page.get_by_role("option", name="English").first.click()
            page.locator("[role=dialog] button").first.click()  # the panel's close button
            page.get_by_role("tab", name=EN_WORDS["tab.chat"], exact=True).click()
            page.locator("#ask", has_text=EN_WORDS["chat.ask"]).wait_for()
            assert page.title() == EN_WORDS["app.title"]
            page.locator("#examples button", has_text=EN_WORDS["example.2"]).wait_for()
            # the answer's sources stay in the answer's language
            assert "引用了" in page.locator("#sources-col").inner_text()
            # handlers now word their messages in English too
            page.get_by_role("button", name=EN_WORDS["feedback.up"]).click()
            page.get_by_text("Thank you — recorded as").wait_for()
            page.screenshot(path=str(ARTIFACTS / "ui-zh-switched-to-en.png"), full_page=True)
        finally:
            browser.close()

    hosts = {urlparse(u).hostname for u in requested if not u.startswith(("data:", "blob:"))}
    assert hosts == {"127.0.0.1"}, f"requests left 127.0.0.1: {sorted(h for h in hosts if h)}"
