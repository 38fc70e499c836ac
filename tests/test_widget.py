"""The embeddable widget in a real browser (Debian's Chromium through Playwright), on a portal page
served from another origin, plus an abuse check of site keys and rate limits over plain HTTP.

Screenshots for the README land in docs/screenshots/ when POLICYQA_SCREENSHOTS=1.
"""

from __future__ import annotations

import http.server
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import launch_chromium, screenshot_dir
from live_server import LiveServer, build_index

from assistant.api import create_api
from assistant.service import AssistantService

SHOTS = screenshot_dir(Path(tempfile.mkdtemp(prefix="policyqa-widget-shots-")))
OPEN = "打开政策问答助手"
PLACEHOLDER = "请输入您的问题"

PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><link rel="icon" href="data:,">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>某市人民政府门户网站</title>
<style>body {{ font-family: serif; color: #333; margin: 40px; }} button {{ background: lime; }}
div, p {{ font-size: 30px; }}</style></head>
<body><h1>某市人民政府门户网站</h1><p>政务公开 · 政策文件 · 办事服务</p>
<script src="{api}/widget.js" data-key="{key}" async></script></body></html>
"""


class Portal:
    """A second web server on 127.0.0.1 (another origin) serving portal pages that embed the widget."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        pages = self.pages

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server interface
                body = pages.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                data = body.encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def portals() -> Iterator[tuple[Portal, Portal]]:
    """The portal whose origin a site key lists, and a stranger whose origin none lists."""
    portal, stranger = Portal(), Portal()
    yield portal, stranger
    portal.close()
    stranger.close()


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, portals: tuple[Portal, Portal]) -> Iterator[LiveServer]:
    portal, stranger = portals
    settings = build_index(tmp_path_factory.mktemp("widget"), sites=[
        {"key": "portal-key", "origins": [portal.origin]},
        {"key": "elsewhere-key", "origins": ["https://portal.example.gov.cn"]}])
    with LiveServer(create_api(AssistantService(settings))) as server:
        portal.pages["/portal.html"] = PAGE.format(api=server.url, key="portal-key")
        portal.pages["/wrong-key.html"] = PAGE.format(api=server.url, key="elsewhere-key")
        stranger.pages["/portal.html"] = PAGE.format(api=server.url, key="portal-key")
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the [test] extra)")
    with sync_api.sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


class Watched:
    """A page, with everything it did that a safe widget must not: dialogs, console errors, page errors."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.responses: list[tuple[str, str, int, dict[str, str]]] = []
        self.failed: list[str] = []
        page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        page.on("console", lambda message: self.errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("response", lambda r: self.responses.append((r.request.method, r.url, r.status, r.headers)))
        page.on("requestfailed", lambda request: self.failed.append(request.url))

    def statuses(self, path: str) -> list[int]:
        return [status for method, url, status, _ in self.responses if url.endswith(path) and method == "POST"]


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1100, "height": 760}, locale="zh-CN")
    yield Watched(context.new_page())
    context.close()


def ask_in_widget(page: Any, question: str) -> Any:
    """Type a question, press Enter, wait for the answer; return the locator of the answer bubble."""
    from playwright.sync_api import expect

    box = page.get_by_placeholder(PLACEHOLDER)
    box.fill(question)
    box.press("Enter")
    bubble = page.locator(".msg.bot").last
    expect(bubble).to_have_attribute("aria-busy", "false", timeout=60_000)  # a loaded machine is slow, a hang is not
    return bubble


def test_widget_answers_from_another_origin_with_sources(api: LiveServer, portals: tuple[Portal, Portal],
                                                         watched: Watched) -> None:
    from playwright.sync_api import expect

    portal, _ = portals
    page = watched.page
    page.goto(f"{portal.origin}/portal.html")
    launcher = page.get_by_role("button", name=OPEN)
    expect(launcher).to_be_visible()
    box = launcher.bounding_box()
    assert box["x"] > 1100 / 2 and box["y"] > 760 / 2, "the button sits at the bottom right"
    assert launcher.evaluate("b => getComputedStyle(b).backgroundColor") != "rgb(0, 255, 0)", "portal CSS leaked in"
    page.screenshot(path=str(SHOTS / "widget-button.png"))

    launcher.click()
    dialog = page.get_by_role("dialog", name="政策问答助手")
    expect(dialog).to_be_visible()
    expect(page.get_by_placeholder(PLACEHOLDER)).to_be_focused()
    expect(page.get_by_role("button", name="发送")).to_be_visible()

    bubble = ask_in_widget(page, "北京算力券每年最多补贴多少钱？")
    text = bubble.locator(".text")
    expect(text).to_contain_text("500万元")
    expect(text).to_contain_text("[1]")
    source = bubble.locator(".sources li").first
    expect(source).to_contain_text("《北京市算力券管理办法（试行）》")
    expect(source).to_contain_text("京经信发〔2024〕12号")
    expect(source).to_contain_text("第二章 申请与发放 > 第四条")
    expect(source).to_contain_text("2024-03-01")
    streamed = [(status, headers) for method, url, status, headers in watched.responses
                if url.endswith("/api/ask/stream") and method == "POST"]
    assert streamed and streamed[0][0] == 200
    assert streamed[0][1]["content-type"].startswith("text/event-stream")
    assert streamed[0][1]["access-control-allow-origin"] == portal.origin
    page.screenshot(path=str(SHOTS / "widget.png"))

    # A citation button shows its source; an expired document is marked 已失效.
    bubble.get_by_role("button", name="查看来源 1").click()
    expect(source.locator("details")).to_have_attribute("open", "")
    later = ask_in_widget(page, "广州公共租赁住房租金怎么确定？")
    expect(later.locator(".sources")).to_contain_text("已失效")
    expect(later.locator(".sources")).to_contain_text("《广州市公共租赁住房保障办法》")

    # Keyboard: Esc closes and gives focus back to the button; Enter on the button opens again.
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(launcher).to_be_focused()
    expect(launcher).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    expect(page.get_by_placeholder(PLACEHOLDER)).to_be_focused()
    assert watched.dialogs == [] and watched.errors == []


def test_widget_fills_a_phone_screen(api: LiveServer, portals: tuple[Portal, Portal], browser: Any) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 390, "height": 780}, is_mobile=True, has_touch=True,
                                  device_scale_factor=2, locale="zh-CN")
    try:
        page = context.new_page()
        page.goto(f"{portals[0].origin}/portal.html")
        page.get_by_role("button", name=OPEN).click()
        dialog = page.get_by_role("dialog", name="政策问答助手")
        expect(dialog).to_be_visible()
        box = dialog.bounding_box()
        assert box["x"] == 0 and box["width"] == 390 and box["height"] == 780
        ask_in_widget(page, "上海生活垃圾分几类？")
        page.screenshot(path=str(SHOTS / "widget-mobile.png"))
    finally:
        context.close()


def test_markup_in_documents_and_questions_shows_as_text(api: LiveServer, portals: tuple[Portal, Portal],
                                                         watched: Watched) -> None:
    from playwright.sync_api import expect

    page = watched.page
    page.goto(f"{portals[0].origin}/portal.html")
    page.get_by_role("button", name=OPEN).click()
    question = '<img src=x onerror="alert(3)">网站页面对脚本标签有什么要求？'
    bubble = ask_in_widget(page, question)
    expect(page.locator(".msg.user").last).to_have_text(question)
    expect(bubble.locator(".text")).to_contain_text("<script>alert(2)</script>")
    expect(bubble.locator(".text")).to_contain_text('<img src=x onerror="alert(1)">')
    expect(bubble.locator(".sources")).to_contain_text("《关于印发〈网站页面安全管理规定〉的通知》")
    for summary in bubble.locator("summary").all():
        summary.click()
    expect(bubble.locator(".quote").first).to_contain_text("<")
    page.wait_for_timeout(500)  # time for an injected onerror or script to have run
    injected = page.evaluate("""() => {
        const root = document.querySelector('#policyqa-widget').shadowRoot;
        return root.querySelectorAll('img, script, iframe').length + document.querySelectorAll('img').length;
    }""")
    assert injected == 0
    assert watched.dialogs == [] and watched.errors == []


def test_a_key_not_allowed_on_the_page_is_refused(api: LiveServer, portals: tuple[Portal, Portal],
                                                  watched: Watched) -> None:
    from playwright.sync_api import expect

    page = watched.page
    page.goto(f"{portals[0].origin}/wrong-key.html")
    page.get_by_role("button", name=OPEN).click()
    bubble = ask_in_widget(page, "上海生活垃圾分几类？")
    expect(bubble.locator(".refusal")).to_contain_text("未获授权")
    assert watched.statuses("/api/ask/stream") == [403]
    assert bubble.locator(".sources").count() == 0


def test_an_origin_no_site_lists_is_refused(api: LiveServer, portals: tuple[Portal, Portal],
                                            watched: Watched) -> None:
    from playwright.sync_api import expect

    _, stranger = portals
    page = watched.page
    page.goto(f"{stranger.origin}/portal.html")
    page.get_by_role("button", name=OPEN).click()
    bubble = ask_in_widget(page, "上海生活垃圾分几类？")
    expect(bubble.locator(".refusal")).to_contain_text("未获授权")
    assert any(url.endswith("/api/ask/stream") for url in watched.failed)
    # What the browser was told (its CORS preflight, then the request itself): 403, no CORS headers.
    for response in (
        httpx.options(f"{api.url}/api/ask/stream", headers={"Origin": stranger.origin,
                                                            "Access-Control-Request-Method": "POST"}),
        httpx.post(f"{api.url}/api/ask/stream", json={"question": "上海生活垃圾分几类？"},
                   headers={"Origin": stranger.origin, "X-Site-Key": "portal-key"}),
    ):
        assert response.status_code == 403 and "access-control-allow-origin" not in response.headers


def test_the_demo_page_embeds_the_widget(api: LiveServer, watched: Watched) -> None:
    from playwright.sync_api import expect

    page = watched.page
    page.goto(f"{api.url}/widget-demo")
    page.get_by_role("button", name=OPEN).click()
    bubble = ask_in_widget(page, "上海生活垃圾分几类？")
    expect(bubble.locator(".sources")).to_contain_text("《上海市生活垃圾分类实施办法》")
    assert watched.statuses("/api/ask/stream") == [200]
    assert watched.dialogs == [] and watched.errors == []


# -- abuse --------------------------------------------------------------------------------------


def test_abuse_is_refused_while_a_legitimate_client_is_served(tmp_path: Path) -> None:
    portal = "https://portal.example.gov.cn"
    settings = build_index(tmp_path, rate_per_minute_client=10, sites=[
        {"key": "portal-key", "origins": [portal]},
        {"key": "tiny-key", "origins": [portal], "rate_per_minute": 3}])
    question = {"question": "上海生活垃圾分几类？"}
    with LiveServer(create_api(AssistantService(settings))) as server:
        url = f"{server.url}/api/ask"

        def post(headers: dict[str, str], source: str = "127.0.0.2") -> httpx.Response:
            transport = httpx.HTTPTransport(local_address=source)
            with httpx.Client(transport=transport, timeout=30) as client:
                return client.post(url, json=question, headers=headers)

        wrong = [{"Origin": portal, "X-Site-Key": f"guess-{i}"} for i in range(40)]
        wrong += [{"Origin": f"https://evil{i}.example", "X-Site-Key": "portal-key"} for i in range(40)]
        burst = [{"Origin": portal, "X-Site-Key": "portal-key"}] * 30
        with ThreadPoolExecutor(8) as pool:
            abuse = [pool.submit(post, headers) for headers in wrong + burst]
            time.sleep(0.2)
            started = time.perf_counter()
            legit = post({"Origin": portal, "X-Site-Key": "portal-key"}, source="127.0.0.1")
            legit_seconds = time.perf_counter() - started
            results = [future.result() for future in abuse]
        assert legit.status_code == 200 and legit.json()["citations"]
        assert legit_seconds < 3
        assert all(r.status_code == 403 for r in results[:80])
        burst_codes = [r.status_code for r in results[80:]]
        assert burst_codes.count(200) == 10 and burst_codes.count(429) == 20
        limited = next(r for r in results[80:] if r.status_code == 429)
        assert int(limited.headers["retry-after"]) >= 1 and "too many" in limited.json()["error"]
        assert limited.headers["access-control-allow-origin"] == portal

        # A key's own limit holds across client addresses.
        codes = [post({"Origin": portal, "X-Site-Key": "tiny-key"}, source=f"127.0.1.{i}").status_code
                 for i in range(1, 6)]
        assert codes == [200, 200, 200, 429, 429]
        # Same-origin and server-side callers are not throttled by default.
        assert all(post({}, source="127.0.0.2").status_code == 200 for _ in range(12))
