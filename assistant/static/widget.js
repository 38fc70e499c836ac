/*
 * 政策问答助手: the embeddable chat widget of PolicyQA.
 *
 * A portal page adds one tag:
 *
 *   <script src="https://HOST/widget.js" data-key="SITE_KEY" async></script>
 *
 * and gets a floating button (bottom right) that opens a chat panel. The widget talks to the API
 * the script was loaded from (POST /api/ask/stream, server-sent events), sends the site key in the
 * X-Site-Key header, streams the answer, then lists its sources. Everything it shows that came
 * from a user or a document is inserted as text (textContent / text nodes), never as HTML.
 * Styles live in a shadow root, so the portal's CSS and the widget's do not touch each other.
 *
 * Optional attributes: data-api="https://HOST/" (API base, default: the folder of this script).
 */
(function () {
  "use strict";
  if (window.__policyqaWidget) return;
  window.__policyqaWidget = true;

  var script = document.currentScript || (function () {
    var all = document.querySelectorAll("script[src*='widget.js']");
    return all[all.length - 1];
  })();
  var SITE_KEY = (script && script.getAttribute("data-key")) || "";
  var API_BASE = (script && script.getAttribute("data-api")) || new URL(".", script ? script.src : location.href).href;
  var MAX_HISTORY = 6;

  var TEXT = {
    title: "政策问答助手",
    open: "打开政策问答助手",
    launcher: "政策问答",
    close: "关闭",
    placeholder: "请输入您的问题",
    send: "发送",
    greeting: "您好！我可以根据已收录的政策文件回答问题，并标注每句话的出处。",
    note: "答案摘自政策文件，请以原文为准。",
    thinking: "正在检索相关政策文件…",
    sources: "参考来源",
    expired: "已失效",
    original: "查看原文",
    refused: "抱歉，本网站未获授权使用政策问答服务。",
    unreachable: "无法连接到问答服务：本网站可能未获授权，或网络暂时不可用。",
    tooMany: "提问过于频繁，请稍后再试。",
    badQuestion: "无法处理这个问题，请修改后再试（问题不超过2000字）。",
    notReady: "问答服务暂未就绪，请稍后再试。",
    failed: "问答服务出现错误，请稍后再试。",
    interrupted: "回答中断，请重试。",
    citation: "查看来源"
  };

  var CSS = [
    ":host { all: initial; }",
    "* { box-sizing: border-box; }",
    ".root { font-family: 'PingFang SC', 'Microsoft YaHei', 'Noto Sans CJK SC', 'Source Han Sans SC', sans-serif;",
    "  font-size: 15px; line-height: 1.6; color: #1f2937; }",
    ".launcher { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; display: flex; align-items: center;",
    "  gap: 8px; padding: 12px 18px; border: 0; border-radius: 999px; background: #b3261e; color: #fff;",
    "  font: inherit; font-weight: 600; cursor: pointer; box-shadow: 0 6px 20px rgba(0,0,0,.25); }",
    ".launcher:hover { background: #971b15; }",
    ".launcher:focus-visible, button:focus-visible, textarea:focus-visible, summary:focus-visible {",
    "  outline: 3px solid #f59e0b; outline-offset: 2px; }",
    ".launcher svg { width: 22px; height: 22px; fill: currentColor; }",
    ".panel { position: fixed; right: 20px; bottom: 84px; z-index: 2147483001; width: 400px; max-width: calc(100vw - 40px);",
    "  height: 600px; max-height: calc(100vh - 110px); display: flex; flex-direction: column; background: #fff;",
    "  border-radius: 14px; box-shadow: 0 12px 40px rgba(0,0,0,.28); overflow: hidden; }",
    ".panel[hidden] { display: none; }",
    "header { display: flex; align-items: center; justify-content: space-between; padding: 12px 16px;",
    "  background: #b3261e; color: #fff; }",
    "h2 { margin: 0; font-size: 17px; font-weight: 700; }",
    ".close { border: 0; background: transparent; color: #fff; font-size: 24px; line-height: 1; width: 36px; height: 36px;",
    "  border-radius: 8px; cursor: pointer; }",
    ".close:hover { background: rgba(255,255,255,.15); }",
    ".log { flex: 1; overflow-y: auto; padding: 14px; background: #f7f7f8; }",
    ".msg { margin: 0 0 12px; padding: 10px 12px; border-radius: 12px; max-width: 92%; word-wrap: break-word;",
    "  overflow-wrap: anywhere; }",
    ".user { margin-left: auto; background: #b3261e; color: #fff; white-space: pre-wrap; }",
    ".bot { background: #fff; border: 1px solid #e5e7eb; }",
    ".text { white-space: pre-wrap; }",
    ".status { color: #6b7280; font-style: italic; }",
    ".error { color: #991b1b; background: #fef2f2; border-color: #fecaca; }",
    ".cite { border: 0; padding: 0 1px; background: none; color: #1d4ed8; font: inherit; font-size: .85em;",
    "  vertical-align: super; cursor: pointer; }",
    ".sources { margin-top: 10px; padding-top: 8px; border-top: 1px dashed #d1d5db; }",
    "h3 { margin: 0 0 6px; font-size: 14px; color: #374151; }",
    "ol { margin: 0; padding-left: 0; list-style: none; }",
    "li { margin: 0 0 8px; font-size: 13px; }",
    "li.flash { background: #fef9c3; }",
    ".n { color: #1d4ed8; margin-right: 2px; }",
    ".doc { font-weight: 600; }",
    ".where { color: #4b5563; }",
    ".expired { display: inline-block; margin-left: 4px; padding: 0 6px; border-radius: 4px; background: #fee2e2;",
    "  color: #991b1b; font-size: 12px; }",
    "details { margin-top: 2px; }",
    "summary { cursor: pointer; color: #1d4ed8; }",
    ".quote { margin: 4px 0 0; padding: 6px 8px; background: #f3f4f6; border-left: 3px solid #d1d5db;",
    "  white-space: pre-wrap; color: #374151; }",
    "form { display: flex; gap: 8px; padding: 10px; border-top: 1px solid #e5e7eb; background: #fff; }",
    "textarea { flex: 1; resize: none; height: 44px; padding: 10px; border: 1px solid #d1d5db; border-radius: 10px;",
    "  font: inherit; color: inherit; }",
    ".send { padding: 0 18px; border: 0; border-radius: 10px; background: #b3261e; color: #fff; font: inherit;",
    "  font-weight: 600; cursor: pointer; }",
    ".send:disabled { background: #d1a3a0; cursor: default; }",
    ".note { padding: 0 12px 8px; font-size: 12px; color: #6b7280; background: #fff; }",
    ".sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }",
    "@media (max-width: 480px) {",
    "  .panel { right: 0; bottom: 0; left: 0; top: 0; width: 100%; max-width: 100%; height: 100%; max-height: 100%;",
    "    border-radius: 0; }",
    "  .launcher { right: 12px; bottom: 12px; }",
    "}",
    "@media (prefers-reduced-motion: no-preference) { .panel { transition: opacity .15s; } }"
  ].join("\n");

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text != null) node.textContent = text;
    return node;
  }

  function chatIcon() {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 6v2h2V9H7zm4 0v2h2V9h-2zm4 0v2h2V9h-2z");
    svg.appendChild(path);
    return svg;
  }

  function build() {
    var host = el("div", { id: "policyqa-widget" });
    var shadow = host.attachShadow({ mode: "open" });
    var style = el("style", null, CSS);
    var root = el("div", { "class": "root", lang: "zh-CN" });

    var launcher = el("button", { type: "button", "class": "launcher", "aria-label": TEXT.open,
                                  "aria-expanded": "false", "aria-controls": "pqa-panel" });
    launcher.appendChild(chatIcon());
    launcher.appendChild(el("span", null, TEXT.launcher));

    var panel = el("section", { id: "pqa-panel", "class": "panel", role: "dialog", "aria-modal": "false",
                                "aria-labelledby": "pqa-title", hidden: "" });
    var header = el("header");
    header.appendChild(el("h2", { id: "pqa-title" }, TEXT.title));
    var close = el("button", { type: "button", "class": "close", "aria-label": TEXT.close, title: TEXT.close }, "×");
    header.appendChild(close);

    var log = el("div", { "class": "log", role: "log", "aria-live": "polite", "aria-label": TEXT.title });
    log.appendChild(el("div", { "class": "msg bot" }, TEXT.greeting));

    var form = el("form", { "aria-label": TEXT.title });
    var label = el("label", { "for": "pqa-input", "class": "sr" }, TEXT.placeholder);
    var input = el("textarea", { id: "pqa-input", placeholder: TEXT.placeholder, "aria-label": TEXT.placeholder,
                                 rows: "1", maxlength: "2000", enterkeyhint: "send" });
    var send = el("button", { type: "submit", "class": "send" }, TEXT.send);
    form.appendChild(label);
    form.appendChild(input);
    form.appendChild(send);

    panel.appendChild(header);
    panel.appendChild(log);
    panel.appendChild(form);
    panel.appendChild(el("div", { "class": "note" }, TEXT.note));
    root.appendChild(launcher);
    root.appendChild(panel);
    shadow.appendChild(style);
    shadow.appendChild(root);
    document.body.appendChild(host);

    return { launcher: launcher, panel: panel, close: close, log: log, form: form, input: input, send: send };
  }

  // The same rule as the server's book_title: a title already in 《》 stays; any other is put in
  // 《》, a book title inside it taking 〈〉 (GB/T 15834), so no reader sees 《《意见》政策解读》.
  function bookTitle(title) {
    title = String(title).trim() || "（无标题）";
    if (title.charAt(0) === "《" && title.charAt(title.length - 1) === "》" && title.split("《").length === 2) return title;
    return "《" + title.replace(/《/g, "〈").replace(/》/g, "〉") + "》";
  }

  function sourceItem(citation, index) {
    var item = el("li", { id: "pqa-src-" + index + "-" + citation.n, tabindex: "-1" });
    item.appendChild(el("span", { "class": "n" }, "[" + citation.n + "]"));
    item.appendChild(el("span", { "class": "doc" }, bookTitle(citation.title || citation.source || "")));
    if (citation.doc_number) item.appendChild(document.createTextNode(" " + citation.doc_number));
    if (citation.in_force === false) item.appendChild(el("span", { "class": "expired" }, TEXT.expired));
    var where = [];
    if (citation.section_path && citation.section_path.length) where.push(citation.section_path.join(" > "));
    var pages = citation.pages || [];
    if (pages.length === 1) where.push("第" + pages[0] + "页");
    else if (pages.length > 1) where.push("第" + pages[0] + "-" + pages[pages.length - 1] + "页");
    if (citation.date) where.push(citation.date);
    if (where.length) item.appendChild(el("div", { "class": "where" }, where.join("，")));
    if (citation.text) {
      var details = el("details");
      details.appendChild(el("summary", null, TEXT.original));
      details.appendChild(el("p", { "class": "quote" }, citation.text));
      item.appendChild(details);
    }
    return item;
  }

  var answerCount = 0;

  // The final answer: its text with each [n] as a button that shows source n, then the sources.
  function renderAnswer(bubble, textNode, answer) {
    answerCount += 1;
    var index = answerCount;
    var items = {};
    var list = null;
    if (answer.citations && answer.citations.length) {
      var section = el("div", { "class": "sources" });
      section.appendChild(el("h3", null, TEXT.sources));
      list = el("ol");
      answer.citations.forEach(function (citation) {
        var item = sourceItem(citation, index);
        items[citation.n] = item;
        list.appendChild(item);
      });
      section.appendChild(list);
    }
    textNode.textContent = "";
    var text = answer.answer || "";
    var pattern = /\[(\d{1,3})\]/g;
    var last = 0;
    var match;
    while ((match = pattern.exec(text)) !== null) {
      var target = items[match[1]];
      if (!target) continue;
      textNode.appendChild(document.createTextNode(text.slice(last, match.index)));
      var cite = el("button", { type: "button", "class": "cite", "aria-label": TEXT.citation + " " + match[1] },
                    match[0]);
      cite.addEventListener("click", showSource.bind(null, target));
      textNode.appendChild(cite);
      last = match.index + match[0].length;
    }
    textNode.appendChild(document.createTextNode(text.slice(last)));
    if (list) bubble.appendChild(list.parentNode);
  }

  function showSource(item) {
    var details = item.querySelector("details");
    if (details) details.open = true;
    item.classList.add("flash");
    item.scrollIntoView({ block: "nearest" });
    item.focus();
    setTimeout(function () { item.classList.remove("flash"); }, 1200);
  }

  function refusalFor(status) {
    if (status === 403) return TEXT.refused;
    if (status === 429) return TEXT.tooMany;
    if (status === 400 || status === 413 || status === 422) return TEXT.badQuestion;
    if (status === 503) return TEXT.notReady;
    return TEXT.failed;
  }

  // Server-sent events from a fetch body: calls onEvent(name, data) for each complete event.
  async function readEvents(response, onEvent) {
    var reader = response.body.getReader();
    var decoder = new TextDecoder("utf-8");
    var buffer = "";
    for (;;) {
      var chunk = await reader.read();
      if (chunk.done) break;
      buffer += decoder.decode(chunk.value, { stream: true }).replace(/\r\n/g, "\n");
      var end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        var block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        var name = "message";
        var data = [];
        block.split("\n").forEach(function (line) {
          if (line.indexOf("event:") === 0) name = line.slice(6).trim();
          else if (line.indexOf("data:") === 0) data.push(line.slice(5).replace(/^ /, ""));
        });
        if (data.length) onEvent(name, JSON.parse(data.join("\n")));
      }
    }
  }

  function start() {
    var ui = build();
    var history = [];
    var busy = false;

    function open() {
      ui.panel.hidden = false;
      ui.launcher.setAttribute("aria-expanded", "true");
      ui.input.focus();
    }

    function close() {
      ui.panel.hidden = true;
      ui.launcher.setAttribute("aria-expanded", "false");
      ui.launcher.focus();
    }

    function scroll() { ui.log.scrollTop = ui.log.scrollHeight; }

    ui.launcher.addEventListener("click", function () { if (ui.panel.hidden) open(); else close(); });
    ui.close.addEventListener("click", close);
    ui.panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { event.preventDefault(); close(); }
    });
    ui.input.addEventListener("keydown", function (event) {
      // Enter sends; Shift+Enter is a new line; Enter that confirms an IME composition does neither.
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
        event.preventDefault();
        ask();
      }
    });
    ui.form.addEventListener("submit", function (event) { event.preventDefault(); ask(); });

    async function ask() {
      var question = ui.input.value.trim();
      if (!question || busy) return;
      busy = true;
      ui.send.disabled = true;
      ui.input.value = "";
      ui.log.appendChild(el("div", { "class": "msg user" }, question));
      var bubble = el("div", { "class": "msg bot", "aria-busy": "true" });
      var textNode = el("div", { "class": "text" });
      var status = el("div", { "class": "status" }, TEXT.thinking);
      bubble.appendChild(status);
      bubble.appendChild(textNode);
      ui.log.appendChild(bubble);
      scroll();

      function fail(message) {
        status.remove();
        bubble.classList.add("error");
        bubble.appendChild(el("div", { "class": "refusal", role: "alert" }, message));
      }

      var finalAnswer = null;
      try {
        var headers = { "Content-Type": "application/json", "Accept": "text/event-stream" };
        if (SITE_KEY) headers["X-Site-Key"] = SITE_KEY;
        var response = await fetch(new URL("api/ask/stream", API_BASE).href, {
          method: "POST", headers: headers, credentials: "omit",
          body: JSON.stringify({ question: question, history: history.slice(-MAX_HISTORY) })
        });
        if (!response.ok || !response.body) {
          fail(refusalFor(response.status));
        } else {
          var failed = false;
          await readEvents(response, function (name, data) {
            if (name === "token") {
              if (status.parentNode) status.remove();
              textNode.appendChild(document.createTextNode(data.text || ""));
              scroll();
            } else if (name === "answer") {
              finalAnswer = data;
              renderAnswer(bubble, textNode, data);
              scroll();
            } else if (name === "error") {
              failed = true;
              fail(TEXT.interrupted);
            }
          });
          if (!finalAnswer && !failed) fail(TEXT.interrupted);
        }
      } catch (error) {
        fail(TEXT.unreachable);
      } finally {
        if (status.parentNode) status.remove();
        bubble.setAttribute("aria-busy", "false");
        busy = false;
        ui.send.disabled = false;
        scroll();
      }
      if (finalAnswer) {
        history.push({ role: "user", content: question });
        history.push({ role: "assistant", content: (finalAnswer.answer || "").slice(0, 1500) });
      }
    }
  }

  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
