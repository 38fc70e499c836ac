"""The web UI end to end: ``python app.py`` in a subprocess, driven by headless Chromium.

One server for the module: an index built by app.py itself (BM25 only) from the seed document and
a small test document whose text holds HTML markup, on a free port, with an admin token. The
browser asks, clicks a citation, copies a reply draft, filters, and uploads through the admin tab;
screenshots go to docs/screenshots/ when POLICYQA_SCREENSHOTS=1. The rendering helpers are tested directly as well.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import REPO, SEED, isolated_env, launch_chromium, screenshot_dir
from live_server import NEW_DOCUMENT

TOKEN = "ui-test-token"
QUESTION = "河北省在优化算力布局方面提出了哪些意见?"

TEST_DOC = """---
title: "网站页面安全管理规定"
issuer: "某市政务服务数据管理局"
doc_number: "某政数发〔2024〕7号"
date: "2024-06-01"
region: "北京市"
kind: "规定"
---

第一条 为加强政府网站页面安全管理，防范跨站脚本攻击，制定本规定。

第二条 网站页面严禁直接输出用户提交的脚本代码，例如 <script>window.pqXss = 1</script> 这样的脚本标签必须转义后显示。

第三条 网站页面严禁输出带有事件属性的图片标签，例如 <img src=x onerror="window.pqXss = 2"> 必须作为纯文本显示。
"""

# -- the rendering helpers, without a browser -------------------------------------------------


def test_answer_html_escapes_text_and_links_only_cited_numbers() -> None:
    from assistant.ui import render_answer

    html = render_answer("前言<script>alert(1)</script>\n- 第一句[1]\n- 第二句[3]", answer_no=2, cited=[1])
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<a class="pq-cite" href="#pq-src-2-1"' in html
    assert "#pq-src-2-3" not in html and "[3]" in html  # a number that cites nothing stays text
    assert html.count("<li>") == 2


def test_highlight_marks_question_terms_in_escaped_text() -> None:
    from assistant.tokenize import Tokenizer
    from assistant.ui import highlight, question_terms

    tokenizer = Tokenizer()
    terms = question_terms("算力布局有哪些意见", tokenizer)
    marked = highlight('优化算力布局 <img src=x onerror="alert(1)"> 其他', terms, tokenizer)
    assert "<mark>" in marked and "算力" in marked
    assert "<img" not in marked and "&lt;img" in marked


def test_reply_draft_lists_the_references() -> None:
    from assistant.ui import draft_text

    record = {"answer": "答案正文[1]", "citations": [
        {"n": 1, "title": "某某办法", "doc_number": "京发〔2024〕1号", "section_path": ["第一章", "第二条"],
         "pages": [3], "date": "2024-01-01", "in_force": False, "expiry_date": "2025-01-01"}]}
    text = draft_text(record)
    assert text.startswith("答案正文[1]")
    assert ("参考依据：\n[1] 《某某办法》（京发〔2024〕1号） 第一章 > 第二条，第3页"
            "（2024-01-01，已失效（2025-01-01失效））") in text
    assert "参考依据" not in draft_text({"answer": "无法作答", "citations": []})
    assert "请先提问" in draft_text(None)


def test_filters_from_the_form() -> None:
    from assistant.retrieve import FilterError
    from assistant.ui import make_filters

    assert make_filters("", "全部", None, "", "", False) is None
    filters = make_filters("河北省", "", "", "2024", "2024-12", True)
    assert filters is not None and filters.region == "河北省" and filters.in_force is True
    with pytest.raises(FilterError, match="2020-05"):
        make_filters("", "", "", "去年", "", False)


def test_admin_tab_says_when_the_admin_api_is_off(tmp_path: Path) -> None:
    from conftest import settings_for

    from assistant.service import AssistantService
    from assistant.ui import build_ui

    blocks = build_ui(AssistantService(settings_for(tmp_path)))  # no token, and no index yet
    texts = [str(c.get("props", {}).get("value", "")) for c in blocks.config["components"]]
    assert any("管理功能未开启" in t and "POLICYQA_ADMIN_TOKEN" in t for t in texts)
    assert any("知识库尚未建立" in t for t in texts)


def test_example_questions_fit_the_indexed_documents(tmp_path: Path) -> None:
    from live_server import build_index

    from assistant.service import AssistantService
    from assistant.ui import EXAMPLES, build_ui, example_questions

    def buttons(blocks: Any) -> list[str]:
        return [str(c["props"].get("value", "")) for c in blocks.config["components"]
                if c.get("type") == "button" and c["props"].get("value") in EXAMPLES + ours]

    ours = ("北京算力券每年最多补贴多少钱？", "上海生活垃圾分几类？")
    # Questions about the seed document would be refused on a collection without it: none shown.
    plain = AssistantService(build_index(tmp_path / "plain"))
    assert example_questions(plain) == () and buttons(build_ui(plain)) == []
    # The config's own questions are shown, in their order.
    configured = AssistantService(build_index(tmp_path / "configured", examples=ours))
    assert example_questions(configured) == ours and buttons(build_ui(configured)) == list(ours)


# -- app.py's command line --------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_help_is_readable(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(REPO / "app.py"), "--help"], capture_output=True, text=True,
                            env=isolated_env(tmp_path), timeout=30)
    assert result.returncode == 0
    for flag in ("--host", "--port", "--index", "POLICYQA_ADMIN_TOKEN"):
        assert flag in result.stdout


def test_busy_port_and_bad_config_are_one_line_errors(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = subprocess.run([sys.executable, str(REPO / "app.py"), "--port", str(port), "--index",
                                 str(tmp_path / "index")], capture_output=True, text=True,
                                env=isolated_env(tmp_path), timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip() == (f"error: port {port} on 127.0.0.1 is already in use; stop the other server "
                                     "or choose another port with --port")
    result = subprocess.run([sys.executable, str(REPO / "app.py")], capture_output=True, text=True, timeout=60,
                            env=isolated_env(tmp_path, POLICYQA_PORT="web"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "POLICYQA_PORT" in result.stderr


# -- the running app --------------------------------------------------------------------------


class App:
    def __init__(self, url: str, log: Path, corpus: Path, tmp: Path) -> None:
        self.url, self.log, self.corpus, self.tmp = url, log, corpus, tmp


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    if not SEED.is_file():
        pytest.skip(f"seed document not found at {SEED}")
    tmp = tmp_path_factory.mktemp("ui")
    corpus = tmp / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    (corpus / "web-security.md").write_text(TEST_DOC, encoding="utf-8")
    port = _free_port()
    log = tmp / "server.log"
    env = isolated_env(tmp, POLICYQA_ADMIN_TOKEN=TOKEN, POLICYQA_EMBEDDER="none")
    with log.open("w", encoding="utf-8") as out:
        process = subprocess.Popen([sys.executable, str(REPO / "app.py"), "--port", str(port), "--index",
                                    str(tmp / "index"), "--corpus", str(corpus)], stdout=out,
                                   stderr=subprocess.STDOUT, env=env, cwd=tmp)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                pytest.fail(f"app.py exited with {process.returncode}:\n{log.read_text(encoding='utf-8')}")
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"app.py did not start in 90 s:\n{log.read_text(encoding='utf-8')}")
            time.sleep(0.25)
        yield App(url, log, corpus, tmp)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def test_one_server_answers_every_route(app: App) -> None:
    startup = app.log.read_text(encoding="utf-8")
    assert "index built" in startup and f"running at {app.url}/" in startup
    assert "Traceback" not in startup
    page = httpx.get(app.url + "/", timeout=10)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    health = httpx.get(app.url + "/healthz", timeout=10).json()
    assert health["status"] == "ok" and health["documents"] == 2
    answer = httpx.post(app.url + "/api/ask", json={"question": QUESTION}, timeout=30)
    assert answer.status_code == 200 and answer.json()["citations"]
    widget = httpx.get(app.url + "/widget.js", timeout=10)
    assert widget.status_code == 200 and "javascript" in widget.headers["content-type"]
    assert httpx.get(app.url + "/docs", timeout=10).status_code == 200
    missing = httpx.get(app.url + "/api/no-such-route", timeout=10)
    assert missing.status_code == 404 and "error" in missing.json()
    assert httpx.get(app.url + "/api/ask", timeout=10).status_code == 405


@pytest.fixture(scope="module")
def browser(app: App) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")
    with sync_api.sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


def _open(browser: Any, app: App, dialogs: list[str] | None = None) -> Any:
    page = browser.new_page(viewport={"width": 1360, "height": 1000}, locale="zh-CN")
    # Generous: an answer takes well under a second alone, but a loaded 2-core machine (another
    # test run beside this one) has taken more than 20 s; a wait that long still means a hang.
    page.set_default_timeout(60_000)
    if dialogs is not None:
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(app.url + "/")
    page.wait_for_selector("#pq-question textarea")
    return page


def _ask(page: Any, question: str) -> None:
    page.fill("#pq-question textarea", question)
    page.click("#pq-ask")


# Records each distinct text of the chat's last answer, to see it arrive in pieces.
_WATCH = """() => {
  window.pqStates = [];
  new MutationObserver(() => {
    const answers = document.querySelectorAll('#pq-chat .pq-answer');
    const text = answers.length ? answers[answers.length - 1].textContent : '';
    if (text && window.pqStates[window.pqStates.length - 1] !== text) { window.pqStates.push(text); }
  }).observe(document.body, {childList: true, subtree: true, characterData: true});
}"""


def test_chat_streams_an_answer_whose_citation_opens_the_source(browser: Any, app: App) -> None:
    dialogs: list[str] = []
    page = _open(browser, app, dialogs)
    try:
        page.evaluate(_WATCH)
        _ask(page, QUESTION)
        first = page.locator("#pq-chat a.pq-cite").first
        first.wait_for()
        assert first.inner_text() == "[1]"
        assert len(page.evaluate("window.pqStates")) >= 2  # the placeholder, then the answer as it came
        assert "未使用大语言模型" in page.locator("#pq-chat").inner_text()
        first.click()
        opened = page.locator("#pq-sources details.pq-src[open]")
        opened.wait_for()
        assert opened.count() == 1 and opened.get_attribute("id") == "pq-src-1-1"
        text = opened.inner_text()
        assert "政策解读》" in text and "现行有效" in text and "hebei-compute-ai-opinion-interpretation-2024.md" in text
        assert opened.locator(".pq-passage mark").count() > 0

        page.click("#pq-draft-btn")
        page.wait_for_function("document.querySelector('#pq-draft textarea').value.includes('参考依据')")
        draft = page.input_value("#pq-draft textarea")
        assert draft.startswith("根据知识库中的文件") and "\n参考依据：\n[1] 《" in draft and "<" not in draft
        shots = screenshot_dir(app.tmp / "screenshots")
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / "app.png"), full_page=True)

        # A follow-up is a second answer; the first answer's citations still open their own sources.
        _ask(page, "《意见》对推动人工智能产业创新发展提出了哪些保障措施?")
        page.locator('#pq-chat a.pq-cite[href="#pq-src-2-1"]').first.click()
        page.wait_for_selector("#pq-src-2-1[open]")
        assert "保障措施" in page.locator("#pq-src-2-1").inner_text()
        page.locator('#pq-chat a.pq-cite[href="#pq-src-1-1"]').first.click()
        page.wait_for_selector("#pq-src-1-1[open]")
        assert page.locator("#pq-src-2-1").is_hidden()
    finally:
        page.close()


def test_document_markup_reaches_the_page_as_text(browser: Any, app: App) -> None:
    dialogs: list[str] = []
    page = _open(browser, app, dialogs)
    try:
        _ask(page, "网站页面严禁输出哪些脚本标签和图片标签?")
        page.locator("#pq-chat a.pq-cite").first.wait_for()
        chat = page.locator("#pq-chat .pq-answer").last.inner_text()
        assert "<script>window.pqXss = 1</script>" in chat
        assert '<img src=x onerror="window.pqXss = 2">' in chat
        for link in page.locator("#pq-chat a.pq-cite").all():
            link.click()
        page.wait_for_timeout(200)
        panel = page.locator("#pq-sources").text_content()
        assert "<script>window.pqXss = 1</script>" in panel and "onerror=" in panel
        assert page.evaluate("window.pqXss") is None and not dialogs
        assert page.locator("#pq-chat img, #pq-sources img, #pq-chat script, #pq-sources script").count() == 0
    finally:
        page.close()


def test_an_example_question_is_asked_with_one_click(browser: Any, app: App) -> None:
    page = _open(browser, app)
    try:
        page.locator("#pq-examples button", has_text="保障措施").click()
        page.locator("#pq-chat a.pq-cite").first.wait_for()
        assert "保障措施" in page.locator("#pq-chat .pq-question").inner_text()
        assert page.input_value("#pq-question textarea") == ""
    finally:
        page.close()


def test_a_filter_that_excludes_everything_gives_the_no_answer_message(browser: Any, app: App) -> None:
    page = _open(browser, app)
    try:
        page.click("#pq-filters button")  # open the accordion
        region = page.locator("#pq-region input")
        region.click()
        region.fill("上海市")
        region.press("Enter")
        region.blur()
        page.wait_for_timeout(300)
        _ask(page, QUESTION)
        page.wait_for_function("document.querySelector('#pq-chat .pq-refused') !== null")
        text = page.locator("#pq-chat .pq-refused").inner_text()
        assert "没有涉及这个问题" in text
        assert page.locator("#pq-chat a.pq-cite").count() == 0
    finally:
        page.close()


def test_admin_tab_needs_the_token_then_uploads_and_lists(browser: Any, app: App) -> None:
    page = _open(browser, app)
    upload = app.tmp / "sz-charging.md"
    upload.write_text(NEW_DOCUMENT, encoding="utf-8")
    try:
        page.get_by_role("tab", name="文档管理").click()
        page.fill("#pq-token input", "wrong-token")
        page.click("#pq-login")
        page.wait_for_function("document.querySelector('#pq-admin-msg').innerText.includes('管理令牌不正确')")
        assert "网站页面安全管理规定" not in page.locator("#pq-docs").inner_text()
        page.click("#pq-reindex-btn")
        page.wait_for_timeout(300)
        assert "管理令牌不正确" in page.locator("#pq-admin-msg").inner_text()

        page.fill("#pq-token input", TOKEN)
        page.click("#pq-login")
        page.wait_for_function("document.querySelector('#pq-docs').innerText.includes('网站页面安全管理规定')")
        page.set_input_files("#pq-upload input[type=file]", str(upload))
        page.wait_for_function("(() => { const box = document.querySelector('#pq-upload');"  # uploaded, not uploading
                               " return !box.querySelector('.uploading') && box.innerText.includes('sz-charging');"
                               " })()")
        page.click("#pq-upload-btn")
        page.wait_for_function("document.querySelector('#pq-docs').innerText.includes('深圳市新能源汽车充电设施补贴办法')",
                               timeout=30_000)
        page.wait_for_function("document.querySelector('#pq-status').innerText.includes('索引就绪')")
        assert "上传" in page.locator("#pq-docs").inner_text()
        page.wait_for_function("document.querySelector('#pq-header').innerText.includes('3 份文件')")
        shots = screenshot_dir(app.tmp / "screenshots")
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / "app-admin.png"), full_page=True)
    finally:
        page.close()
    health = httpx.get(app.url + "/healthz", timeout=10).json()
    assert health["documents"] == 3
    assert os.path.exists(app.tmp / "index" / "uploads" / "sz-charging.md")
