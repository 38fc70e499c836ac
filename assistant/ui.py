"""The web UI (Gradio): a streaming chat whose ``[n]`` citations open the cited passage, filters,
a reply-draft button for government staff, and an admin tab for documents.

:func:`build_ui` makes the Blocks; :func:`mount_ui` puts them at ``/`` of the FastAPI app from
``assistant.api.create_api`` with this module's CSS and JavaScript (``python app.py`` does both).

How a citation opens its source: every answer is rendered here as HTML, all document and question
text escaped first, and each ``[n]`` becomes ``<a class="pq-cite" href="#pq-src-K-n">`` (K: the
answer's number in the conversation; the chat's sanitizer keeps class and href, not data-*).
The sources panel (a ``gr.HTML`` beside the chat) holds, for every answer of the conversation, a
section of ``<details id="pq-src-K-n">`` blocks with the passage and its metadata, the question's
terms marked. One click listener on the document (:data:`UI_JS`) opens the matching block, shows
its answer's section and scrolls to it: no round trip to the server, so it also works for earlier
answers and while another answer streams.

Example::

    service = AssistantService(load_settings())
    app = mount_ui(create_api(service), service)     # uvicorn.run(app)
"""

from __future__ import annotations

import hmac
import html
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402
from fastapi import FastAPI  # noqa: E402

from .answer import EXTRACTIVE_NOTE, Answer, book_title, page_label  # noqa: E402
from .extract import SUPPORTED_SUFFIXES  # noqa: E402
from .index import IndexUnavailable  # noqa: E402
from .pipeline import MAX_QUESTION_CHARS, QuestionError  # noqa: E402
from .retrieve import FilterError, Filters  # noqa: E402
from .service import AssistantService, DocumentConflict, IngestBusy, UploadError  # noqa: E402
from .tokenize import Tokenizer, normalize  # noqa: E402

TITLE = "政策问答助手"
# Questions about the bundled seed document: shown while it is indexed, unless the config names others.
SEED_SOURCE = "hebei-compute-ai-opinion-interpretation-2024.md"
EXAMPLES = (
    "河北省在优化算力布局方面提出了哪些意见?",
    "《意见》对推动人工智能产业创新发展提出了哪些保障措施?",
    "在推动人工智能产业创新发展方面还提出了哪些意见?",
    "《意见》起草过程中主要有哪些考虑?",
)
UPLOAD_TYPES = sorted(SUPPORTED_SUFFIXES - {".markdown"})
DOC_HEADERS = ["ID", "文件", "标题", "文号", "发文机关", "日期", "地区", "类型", "现行有效", "段落数", "来源"]
DOC_WIDTHS = ["9%", "15%", "20%", "11%", "12%", "7%", "6%", "5%", "5%", "5%", "5%"]
ALL = "全部"
_DATE = re.compile(r"^\d{4}(-\d{1,2}(-\d{1,2})?)?$")
_CITE = re.compile(r"\[(\d{1,3})\]")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.、)）])\s+")
_NO_ANSWER_YET = "还没有可以复制的答案：请先提问。"
_PHASES = {"idle": "空闲", "scanning": "扫描文件", "parsing": "解析文件", "loading": "加载新索引", "done": "完成",
           "failed": "失败"}
_REASONS = {"upload": "上传文档", "delete": "删除文档", "reindex": "重建索引"}


# -- rendering (pure functions: tested without a browser) --------------------------------------


def highlight(text: str, terms: set[str], tokenizer: Tokenizer) -> str:
    """``text`` as HTML: escaped, each word that holds one of ``terms`` (two or more chars) in <mark>."""
    if not terms:
        return html.escape(text)
    out: list[str] = []
    run: list[str] = []  # adjacent marked words share one <mark>
    for word in tokenizer.words(text):
        if len(word.strip()) >= 2 and (normalize(word) in terms or terms.intersection(tokenizer.tokens(word))):
            run.append(html.escape(word))
            continue
        if run:
            out.append(f"<mark>{''.join(run)}</mark>")
            run = []
        out.append(html.escape(word))
    if run:
        out.append(f"<mark>{''.join(run)}</mark>")
    return "".join(out)


def question_terms(question: str, tokenizer: Tokenizer) -> set[str]:
    """The question's search terms worth marking in a passage: words of two or more characters."""
    return {t for t in tokenizer.tokens(question) if len(t) >= 2}


def _inline(line: str, answer_no: int | None, cited: set[int]) -> str:
    """One line of answer text as HTML: escaped, **bold**, and [n] as citation links."""
    escaped = _BOLD.sub(r"<strong>\1</strong>", html.escape(line))

    def link(match: re.Match[str]) -> str:
        n = int(match.group(1))
        if answer_no is None or n not in cited:
            return match.group(0)
        return f'<a class="pq-cite" href="#pq-src-{answer_no}-{n}" title="查看引用 [{n}] 的原文">[{n}]</a>'

    return _CITE.sub(link, escaped)


def render_answer(text: str, answer_no: int | None = None, cited: Sequence[int] = (), refused: bool = False,
                  warnings: Sequence[str] = ()) -> str:
    """Answer text as one line of HTML for the chat; ``[n]`` link to the sources panel when cited."""
    cited_set = set(cited)
    parts: list[str] = []
    items: list[str] = []

    def flush() -> None:
        if items:
            parts.append("<ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>")
            items.clear()

    for line in text.splitlines():
        if not line.strip():
            flush()
            continue
        bullet = _BULLET.match(line)
        if bullet and line.lstrip()[:1] in "-*•":
            items.append(_inline(line[bullet.end():], answer_no, cited_set))
            continue
        flush()
        css = "pq-note" if line.strip() == EXTRACTIVE_NOTE else ("pq-doc" if line.startswith("《") else "")
        body = _inline(line.strip(), answer_no, cited_set)
        parts.append(f'<p class="{css}">{body}</p>' if css else f"<p>{body}</p>")
    flush()
    for warning in warnings:
        parts.append(f'<p class="pq-warn">⚠ {html.escape(warning)}</p>')
    kind = "pq-answer pq-refused" if refused else "pq-answer"
    return f'<div class="{kind}">{"".join(parts)}</div>'


def render_question(question: str) -> str:
    return '<div class="pq-question">' + "<br>".join(html.escape(line) for line in question.splitlines()) + "</div>"


def _force(citation: dict[str, Any]) -> tuple[str, str]:
    """(label, css class) of a citation's validity."""
    if citation.get("in_force", True):
        return "现行有效", "ok"
    expiry = citation.get("expiry_date")
    return (f"已失效（{expiry}失效）" if expiry else "已失效"), "expired"


def render_citation(citation: dict[str, Any], answer_no: int, terms: set[str], tokenizer: Tokenizer) -> str:
    """One cited passage as a <details> block: 《title》, its metadata, the passage with terms marked."""
    n = int(citation["n"])
    force, force_css = _force(citation)
    rows = [
        ("文号", citation.get("doc_number") or "（无）"),
        ("章节", " › ".join(citation.get("section_path") or []) or "（无）"),
    ]
    if citation.get("pages"):
        rows.append(("页码", page_label(citation["pages"])))
    rows += [
        ("日期", citation.get("date") or "（未注明）"),
        ("发文机关", citation.get("issuer") or "（未注明）"),
        ("效力", force),
        ("来源文件", citation.get("source") or ""),
    ]
    meta = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd>" for k, v in rows)
    passage = highlight(citation.get("text") or "", terms, tokenizer)
    return (f'<details class="pq-src" id="pq-src-{answer_no}-{n}" data-n="{n}">'
            f'<summary><span class="pq-n">[{n}]</span> <span class="pq-title">'
            f'{html.escape(book_title(citation.get("title", "")))}</span> '
            f'<span class="pq-badge {force_css}">{html.escape(force)}</span></summary>'
            f'<dl class="pq-meta">{meta}</dl><div class="pq-passage">{passage}</div></details>')


def render_answer_sources(record: dict[str, Any], answer_no: int, tokenizer: Tokenizer) -> str:
    """The sources panel section of one answer (cached in the record: highlighting costs a little)."""
    terms = question_terms(record.get("query") or record["question"], tokenizer)
    head = (f'<div class="pq-ans-head">第{answer_no}问：{html.escape(_shorten(record["question"], 60))}</div>')
    if not record["citations"]:
        body = '<p class="pq-empty">这个回答没有引用文件原文。</p>'
    else:
        body = "".join(render_citation(c, answer_no, terms, tokenizer) for c in record["citations"])
    return head + body


def render_sources(answers: Sequence[dict[str, Any]]) -> str:
    """The whole sources panel: one section per answer, the newest shown (the click script switches)."""
    if not answers:
        return ('<div class="pq-sources-empty">点击答案中的 <span class="pq-n">[n]</span> 标记，'
                "即可在这里查看引用的文件原文、文号、章节和效力状态。</div>")
    sections = []
    for k, record in enumerate(answers, start=1):
        active = " pq-active" if k == len(answers) else ""
        sections.append(f'<section class="pq-ans{active}" data-answer="{k}">{record["html"]}</section>')
    return "".join(sections)


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def draft_text(record: dict[str, Any] | None) -> str:
    """The answer as a plain-text reply draft: the answer, then 参考依据 with one line per citation."""
    if record is None:
        return _NO_ANSWER_YET
    text = record["answer"].strip()
    if not record["citations"]:
        return text
    lines = [text, "", "参考依据："]
    for c in record["citations"]:
        line = f"[{c['n']}] {book_title(c.get('title', ''))}"
        if c.get("doc_number"):
            line += f"（{c['doc_number']}）"
        details = []
        if c.get("section_path"):
            details.append(" > ".join(c["section_path"]))
        if c.get("pages"):
            details.append(page_label(c["pages"]))
        if details:
            line += " " + "，".join(details)
        when = c.get("date") or ""
        if not c.get("in_force", True):
            when = (when + "，" if when else "") + _force(c)[0]
        if when:
            line += f"（{when}）"
        lines.append(line)
    return "\n".join(lines)


def make_filters(region: str | None, issuer: str | None, kind: str | None, date_from: str | None,
                 date_to: str | None, in_force_only: bool) -> Filters | None:
    """Filters from the UI's fields; raise FilterError (in Chinese) for a malformed date."""
    def clean(value: str | None) -> str:
        value = (value or "").strip()
        return "" if value == ALL else value

    dates = {"起始日期": clean(date_from), "截止日期": clean(date_to)}
    for label, value in dates.items():
        if value and not _DATE.match(value):
            raise FilterError(f"{label}“{value}”的格式不对；请写成 2020、2020-05 或 2020-05-01")
    filters = Filters(region=clean(region), issuer=clean(issuer), kind=clean(kind), date_from=dates["起始日期"],
                      date_to=dates["截止日期"], in_force=True if in_force_only else None)
    return filters or None


def _choices(values: Sequence[str]) -> list[tuple[str, str]]:
    distinct = sorted({v.strip() for v in values if v and v.strip()})
    return [(ALL, "")] + [(v, v) for v in distinct]


def mode_note(service: AssistantService) -> str:
    """The header's line on how answers are made, and what the index holds."""
    try:
        assistant = service.assistant()
    except IndexUnavailable as exc:
        return f"⚠ 知识库尚未建立：{html.escape(str(exc))}"
    documents = len(assistant.index.documents)
    if assistant.default_mode == "llm":
        model = html.escape(service.settings.llm.model or "大语言模型")
        how = f"回答方式：由大语言模型（{model}）依据检索到的文件原文生成，引用已逐句核对"
    else:
        how = "回答方式：从文件原文中摘录组成，<b>未使用大语言模型</b>"
    return f"{how}。知识库：{documents} 份文件，{assistant.index.passage_count} 个段落。"


def header_html(service: AssistantService) -> str:
    return (f"<h1>{TITLE}</h1>"
            "<p>依据知识库中的政府政策文件作答，每句注明出处 [n]，点击 [n] 可在右侧查看引用的原文。</p>"
            f'<p id="pq-mode">{mode_note(service)}</p>')


def _record(answer: Answer, question: str, tokenizer: Tokenizer, answer_no: int) -> dict[str, Any]:
    data = answer.to_dict()
    record = {"question": question, "query": answer.query, "answer": data["answer"], "refused": data["refused"],
              "mode": data["mode"], "warnings": data["warnings"], "citations": data["citations"]}
    record["html"] = render_answer_sources(record, answer_no, tokenizer)
    return record


# -- the Blocks -----------------------------------------------------------------------------------


UI_CSS = """
.gradio-container { max-width: 1480px !important; margin: 0 auto !important; }
#pq-header h1 { margin: 4px 0 4px 0; font-size: 26px; }
#pq-header p { margin: 0 0 2px 0; color: var(--body-text-color-subdued); font-size: 14px; }
#pq-header #pq-mode { font-size: 13px; }
#pq-footer { font-size: 12.5px; color: var(--body-text-color-subdued); margin-top: 4px; }
#pq-footer a { color: inherit; }
.pq-answer p { margin: 0 0 6px 0; line-height: 1.75; }
.pq-answer ul { margin: 0 0 6px 0; padding-left: 1.3em; }
.pq-answer li { margin: 2px 0; line-height: 1.75; }
.pq-answer .pq-doc { font-weight: 600; margin-top: 6px; }
.pq-answer .pq-note { font-size: 12.5px; color: var(--body-text-color-subdued); margin-top: 8px; }
.pq-answer .pq-warn { font-size: 12.5px; color: #b45309; }
.pq-refused { border-left: 3px solid #f59e0b; padding-left: 10px; }
a.pq-cite { color: #1d4ed8 !important; font-weight: 600; text-decoration: none !important; cursor: pointer;
  padding: 0 2px; border-radius: 4px; background: rgba(37, 99, 235, .08); margin: 0 1px; }
a.pq-cite:hover { background: rgba(37, 99, 235, .2); }
#pq-sources { max-height: 720px; overflow-y: auto; }
#pq-sources .pq-ans:not(.pq-active) { display: none; }
.pq-ans-head { font-size: 13px; color: var(--body-text-color-subdued); margin: 2px 0 8px; }
.pq-sources-empty { color: var(--body-text-color-subdued); font-size: 14px; padding: 18px 6px; line-height: 1.8; }
.pq-empty { color: var(--body-text-color-subdued); font-size: 14px; }
details.pq-src { border: 1px solid var(--border-color-primary); border-radius: 8px; margin: 0 0 8px 0;
  padding: 8px 12px; background: var(--background-fill-secondary); }
details.pq-src.pq-current { border-color: #2563eb; box-shadow: 0 0 0 2px rgba(37, 99, 235, .18); }
details.pq-src > summary { cursor: pointer; font-weight: 600; line-height: 1.6; }
.pq-n { color: #1d4ed8; font-weight: 700; }
.pq-badge { font-size: 12px; font-weight: 500; padding: 1px 7px; border-radius: 10px; margin-left: 4px;
  white-space: nowrap; }
.pq-badge.ok { background: #dcfce7; color: #166534; }
.pq-badge.expired { background: #fee2e2; color: #991b1b; }
dl.pq-meta { display: grid; grid-template-columns: max-content 1fr; gap: 3px 12px; font-size: 13px;
  margin: 10px 0 8px; }
dl.pq-meta dt { color: var(--body-text-color-subdued); margin: 0; }
dl.pq-meta dd { margin: 0; word-break: break-all; }
.pq-passage { white-space: pre-wrap; line-height: 1.8; font-size: 14px; padding: 10px 12px; border-radius: 6px;
  background: var(--background-fill-primary); border: 1px solid var(--border-color-primary); }
.pq-passage mark { background: #fde68a; color: inherit; padding: 0 1px; border-radius: 2px; }
#pq-examples button { font-size: 13px; }
#pq-docs table, #pq-docs th, #pq-docs td, #pq-docs span { font-family: var(--font) !important; font-size: 13px; }
#pq-admin-off { border-left: 3px solid #f59e0b; padding-left: 10px; }
"""

# Runs once on page load: one capturing click listener, so it survives Gradio re-rendering the chat.
UI_JS = r"""
() => {
  if (window.pqInstalled) { return; }
  window.pqInstalled = true;
  const open = (answer, n) => {
    const panel = document.getElementById('pq-sources');
    if (!panel) { return false; }
    const target = panel.querySelector('#pq-src-' + answer + '-' + n);
    if (!target) { return false; }
    panel.querySelectorAll('.pq-ans').forEach((section) => {
      section.classList.toggle('pq-active', section.dataset.answer === String(answer));
    });
    panel.querySelectorAll('details.pq-src').forEach((block) => {
      block.open = block === target;
      block.classList.toggle('pq-current', block === target);
    });
    target.scrollIntoView({block: 'nearest', behavior: 'smooth'});
    return true;
  };
  window.pqOpenSource = open;
  document.addEventListener('click', (event) => {
    const link = event.target instanceof Element ? event.target.closest('a.pq-cite') : null;
    if (!link) { return; }
    const match = /#pq-src-(\d+)-(\d+)$/.exec(link.getAttribute('href') || '');
    if (!match) { return; }
    event.preventDefault();
    event.stopPropagation();
    open(match[1], match[2]);
  }, true);
}
"""

_COPY_JS = """
(text) => {
  try {
    if (text && navigator.clipboard) { navigator.clipboard.writeText(text).catch(() => {}); }
  } catch (e) {}
  return [];
}
"""


def _theme() -> gr.themes.Base:
    # Local fonts only: the default theme would fetch web fonts, which an intranet server cannot reach.
    fonts = ["PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei",
             "system-ui", "sans-serif"]
    return gr.themes.Soft(primary_hue="blue", font=fonts, font_mono=["ui-monospace", "Consolas", "monospace"])


def example_questions(service: AssistantService) -> tuple[str, ...]:
    """The example questions under the input box: ``examples`` from the config, else the seed
    document's while it is indexed, else none (questions about a document that is not there would
    be refused, which is a poor first impression)."""
    if service.settings.examples:
        return service.settings.examples[:6]
    try:
        sources = {d["source"] for d in service.documents()}
    except IndexUnavailable:
        return ()
    return EXAMPLES if SEED_SOURCE in sources else ()


def build_ui(service: AssistantService) -> gr.Blocks:
    """The Gradio Blocks of the UI; mount them with :func:`mount_ui` (which adds the CSS and JS)."""
    tokenizer = Tokenizer()
    admin_token = service.settings.admin_token

    def documents_or_empty() -> list[dict[str, Any]]:
        try:
            return service.documents()
        except IndexUnavailable:
            return []

    def filter_updates() -> tuple[Any, Any, Any]:
        docs = documents_or_empty()
        return tuple(gr.update(choices=_choices([d[key] for d in docs]))
                     for key in ("region", "issuer", "kind"))  # type: ignore[return-value]

    examples = example_questions(service)
    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        chat_state = gr.State([])     # the chat as shown: messages with HTML content
        turns_state = gr.State([])    # the conversation as plain text, for the assistant's history
        answers_state = gr.State([])  # one record per answer: citations, text, rendered sources

        mode_line = gr.HTML(header_html(service), elem_id="pq-header")

        with gr.Tabs():
            with gr.Tab("智能问答", id="chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=420):
                        # Messages are HTML made here (render_markdown=False); no per-message copy button,
                        # which would copy that HTML: 复制为答复草稿 gives the text.
                        chatbot = gr.Chatbot(label="对话", show_label=False, elem_id="pq-chat", height=600,
                                             render_markdown=False, buttons=[], feedback_options=None,
                                             autoscroll=True, placeholder="请在下方输入问题，或点击示例问题。")
                        with gr.Row():
                            question = gr.Textbox(label="问题",
                                                  placeholder=f"例如：{examples[0] if examples else '公租房的申请条件是什么？'}",
                                                  lines=1, max_lines=4, scale=5, elem_id="pq-question",
                                                  show_label=False, autofocus=True)
                            ask_btn = gr.Button("提问", variant="primary", scale=1, min_width=90, elem_id="pq-ask")
                        with gr.Row(elem_id="pq-examples", visible=bool(examples)):
                            example_btns = [gr.Button(q, size="sm", variant="secondary", min_width=120)
                                            for q in examples]
                        with gr.Accordion("筛选条件（按文件属性缩小检索范围）", open=False, elem_id="pq-filters"):
                            with gr.Row():
                                region = gr.Dropdown(_choices([]), value="", label="地区", allow_custom_value=True,
                                                     elem_id="pq-region")
                                issuer = gr.Dropdown(_choices([]), value="", label="发文机关", allow_custom_value=True,
                                                     elem_id="pq-issuer")
                                kind = gr.Dropdown(_choices([]), value="", label="文件类型", allow_custom_value=True,
                                                   elem_id="pq-kind")
                            with gr.Row():
                                date_from = gr.Textbox(label="起始日期", placeholder="如 2020 或 2020-05",
                                                       elem_id="pq-date-from")
                                date_to = gr.Textbox(label="截止日期", placeholder="如 2024-12-31",
                                                     elem_id="pq-date-to")
                                in_force = gr.Checkbox(label="只看现行有效文件", value=False, elem_id="pq-in-force")
                        with gr.Row():
                            clear_btn = gr.Button("清空对话", size="sm", elem_id="pq-clear")
                            draft_btn = gr.Button("复制为答复草稿", size="sm", elem_id="pq-draft-btn")
                        draft = gr.Textbox(label="答复草稿（纯文本，可复制后修改使用）", lines=6, max_lines=20,
                                           buttons=["copy"], elem_id="pq-draft", interactive=True)
                    with gr.Column(scale=2, min_width=340):
                        gr.HTML('<div class="pq-panel-title"><b>引用原文</b></div>')
                        sources = gr.HTML(render_sources([]), elem_id="pq-sources")

                gr.HTML('<div id="pq-footer">HTTP 接口说明：<a href="/docs" target="_blank">/docs</a> · '
                        'OpenAI 兼容接口：/v1/chat/completions · 网页挂件示例：'
                        '<a href="/widget-demo" target="_blank">/widget-demo</a></div>')

            with gr.Tab("文档管理", id="admin"):
                if not admin_token:
                    gr.Markdown("**管理功能未开启。** 在服务器上设置环境变量 `POLICYQA_ADMIN_TOKEN`"
                                "（或在 policyqa.toml 中设置 `admin_token`）后重启服务即可启用；"
                                "启用后，在此输入该令牌即可上传、删除文档和重建索引。", elem_id="pq-admin-off")
                else:
                    gr.Markdown("上传、删除文档和重建索引需要管理令牌（服务器的 `POLICYQA_ADMIN_TOKEN`）。"
                                "更新索引在后台进行，期间问答继续使用当前索引。")
                with gr.Row():
                    token = gr.Textbox(label="管理令牌", type="password", scale=3, elem_id="pq-token")
                    login_btn = gr.Button("查看文档列表", scale=1, elem_id="pq-login")
                admin_msg = gr.Markdown("", elem_id="pq-admin-msg")
                status_md = gr.Markdown("", elem_id="pq-status")
                with gr.Row(equal_height=False):
                    with gr.Column(scale=2):
                        files = gr.File(label=f"上传文档（{' '.join(UPLOAD_TYPES)}，可多选）", file_count="multiple",
                                        file_types=UPLOAD_TYPES, elem_id="pq-upload")
                        upload_btn = gr.Button("上传并更新索引", variant="primary", elem_id="pq-upload-btn")
                    with gr.Column(scale=1):
                        delete_id = gr.Dropdown([], value=None, label="删除上传的文档（选择或输入文档 ID）",
                                                allow_custom_value=True, elem_id="pq-delete-id")
                        delete_btn = gr.Button("删除并更新索引", variant="stop", elem_id="pq-delete-btn")
                        reindex_btn = gr.Button("重建索引", elem_id="pq-reindex-btn")
                docs_table = gr.Dataframe(headers=DOC_HEADERS, value=[], label="已索引的文档", interactive=False,
                                          wrap=True, elem_id="pq-docs", type="array", column_widths=DOC_WIDTHS)
                timer = gr.Timer(1.0, active=False)
                seen_generation = gr.State(None)

        # -- chat ----------------------------------------------------------------------------------

        def respond(text: str, chat: list, turns: list, answers: list, region_v: str, issuer_v: str, kind_v: str,
                    from_v: str, to_v: str, in_force_v: bool) -> Iterator[tuple]:
            text = (text or "").strip()
            if not text:
                yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
                return
            chat = chat + [{"role": "user", "content": render_question(text)},
                           {"role": "assistant", "content": '<div class="pq-answer"><p>正在检索……</p></div>'}]
            yield "", chat, chat, gr.skip(), gr.skip(), gr.skip()
            final: Answer | None = None
            streamed = ""
            try:
                if len(text) > MAX_QUESTION_CHARS:
                    raise QuestionError(f"问题有 {len(text)} 个字，超过了 {MAX_QUESTION_CHARS} 字的上限，请精简后再问")
                filters = make_filters(region_v, issuer_v, kind_v, from_v, to_v, in_force_v)
                for piece in service.assistant().stream(text, history=turns, filters=filters):
                    if isinstance(piece, Answer):
                        final = piece
                        break
                    streamed += piece
                    chat[-1] = {"role": "assistant", "content": render_answer(streamed)}
                    yield gr.skip(), chat, chat, gr.skip(), gr.skip(), gr.skip()
            except (QuestionError, FilterError, IndexUnavailable) as exc:
                why = f"知识库尚未建立：{exc}" if isinstance(exc, IndexUnavailable) else str(exc)
                chat[-1] = {"role": "assistant", "content": render_answer(f"无法回答：{why}", refused=True)}
                yield gr.skip(), chat, chat, gr.skip(), gr.skip(), gr.skip()
                return
            except Exception:  # noqa: BLE001 - show a sentence, keep the UI alive; the log has the rest
                import logging

                logging.getLogger("policyqa.ui").exception("answering failed")
                chat[-1] = {"role": "assistant", "content": render_answer("回答时出错，请稍后重试。", refused=True)}
                yield gr.skip(), chat, chat, gr.skip(), gr.skip(), gr.skip()
                return
            assert final is not None
            answer_no = len(answers) + 1
            record = _record(final, text, tokenizer, answer_no)
            answers = answers + [record]
            chat[-1] = {"role": "assistant",
                        "content": render_answer(final.answer, answer_no, [c["n"] for c in record["citations"]],
                                                 final.refused, final.warnings)}
            turns = turns + [{"role": "user", "content": text}, {"role": "assistant", "content": final.answer}]
            yield gr.skip(), chat, chat, turns, answers, render_sources(answers)

        ask_inputs = [question, chat_state, turns_state, answers_state, region, issuer, kind, date_from, date_to,
                      in_force]
        ask_outputs = [question, chatbot, chat_state, turns_state, answers_state, sources]
        ask_btn.click(respond, ask_inputs, ask_outputs, concurrency_limit=8, show_progress="hidden")
        question.submit(respond, ask_inputs, ask_outputs, concurrency_limit=8, show_progress="hidden")
        for button, text in zip(example_btns, examples, strict=True):
            button.click(lambda t=text: t, None, question, queue=False).then(
                respond, ask_inputs, ask_outputs, concurrency_limit=8, show_progress="hidden")

        def clear() -> tuple:
            return [], [], [], [], render_sources([]), ""

        clear_btn.click(clear, None, [chatbot, chat_state, turns_state, answers_state, sources, draft], queue=False)
        chatbot.clear(clear, None, [chatbot, chat_state, turns_state, answers_state, sources, draft], queue=False)

        def make_draft(answers: list) -> str:
            return draft_text(answers[-1] if answers else None)

        draft_btn.click(make_draft, answers_state, draft, queue=False).then(None, draft, None, js=_COPY_JS)

        def on_load() -> tuple:
            return (header_html(service), *filter_updates())

        demo.load(on_load, None, [mode_line, region, issuer, kind], queue=False)

        # -- admin ---------------------------------------------------------------------------------

        def refused(given: str) -> str | None:
            """Why an admin action is refused, or None when the token is right."""
            if not admin_token:
                return "管理功能未开启：请在服务器上设置 POLICYQA_ADMIN_TOKEN 后重启服务。"
            if not given or not hmac.compare_digest(given.strip().encode(), admin_token.encode()):
                return "管理令牌不正确：请输入服务器上设置的 POLICYQA_ADMIN_TOKEN。"
            return None

        def docs_view() -> tuple[Any, Any]:
            docs = documents_or_empty()
            rows = [[d["doc_id"], d["source"], d["title"], d["doc_number"], d["issuer"], d["date"], d["region"],
                     d["kind"], "是" if d["in_force"] else "否", d["passages"], "上传" if d["uploaded"] else "语料库"]
                    for d in docs]
            uploaded = [(f"{d['title'] or d['source']}（{d['source']}）", d["doc_id"]) for d in docs if d["uploaded"]]
            return gr.update(value=rows), gr.update(choices=uploaded, value=None)

        def status_text() -> str:
            status = service.ingest_status()
            if status["running"]:
                reason = _REASONS.get(status["reason"] or "", status["reason"] or "")
                phase = _PHASES.get(status["phase"], status["phase"])
                done, total = status["files_done"], status["files_total"]
                progress = f"，{done}/{total} 个文件" if total else ""
                return f"… 正在更新索引（{reason}）：{phase}{progress}。问答继续使用当前索引。"
            lines = []
            if status["error"]:
                lines.append(f"✖ 上次更新失败：{html.escape(status['error'])}")
            try:
                health = service.health()
                lines.append(f"✔ 索引就绪：版本 {health['generation']}，{health['documents']} 份文件，"
                             f"{health['passages']} 个段落。")
            except IndexUnavailable as exc:
                lines.append(f"⚠ 还没有索引：{html.escape(str(exc))}")
            last = status.get("last")
            if last:
                text = (f"上次更新：新增 {last['added']}、更新 {last['updated']}、未变 {last['unchanged']}、"
                        f"删除 {last['removed']}、失败 {len(last['failed'])}，用时 {last['seconds']} 秒。")
                for failure in last["failed"]:
                    text += f"\n- 未能索引 {html.escape(failure['source'])}：{html.escape(failure['reason'])}"
                lines.append(text)
            return "\n\n".join(lines)

        def login(given: str) -> tuple:
            why = refused(given)
            if why:
                return (f"⚠ {why}", "", gr.update(value=[]), gr.update(choices=[], value=None),
                        gr.Timer(active=False), None)
            table, delete_choices = docs_view()
            return ("已验证管理令牌。", status_text(), table, delete_choices, gr.Timer(active=True),
                    service.ingest_status()["generation"])

        admin_outputs = [admin_msg, status_md, docs_table, delete_id, timer, seen_generation]
        login_btn.click(login, token, admin_outputs, queue=False)
        token.submit(login, token, admin_outputs, queue=False)

        def after_start(message: str) -> tuple:
            table, delete_choices = docs_view()
            return message, status_text(), table, delete_choices, gr.Timer(active=True), gr.skip()

        def upload(given: str, paths: list[str] | None) -> tuple:
            why = refused(given)
            if why:
                return (f"⚠ {why}", *[gr.skip()] * 5, gr.skip())
            if not paths:
                return ("请先选择要上传的文件。", *[gr.skip()] * 5, gr.skip())
            handles = []
            try:
                for path in paths:
                    handles.append((Path(path).name, open(path, "rb")))  # noqa: SIM115 - closed below
                saved = service.save_uploads(handles)
            except IngestBusy:
                return ("正在更新索引，请等它完成后再上传。", *[gr.skip()] * 5, gr.skip())
            except (UploadError, DocumentConflict, OSError) as exc:
                return (f"上传失败：{html.escape(str(exc))}", *[gr.skip()] * 5, gr.skip())
            finally:
                for _, handle in handles:
                    handle.close()
            names = "、".join(html.escape(s["name"]) for s in saved)
            return (*after_start(f"已上传 {names}，正在后台更新索引。"), None)

        upload_btn.click(upload, [token, files], [*admin_outputs, files], queue=False)

        def delete(given: str, doc_id: str | None) -> tuple:
            why = refused(given)
            if why:
                return (f"⚠ {why}", *[gr.skip()] * 5)
            doc_id = (doc_id or "").strip()
            if not doc_id:
                return ("请先选择要删除的文档。", *[gr.skip()] * 5)
            try:
                source = service.delete_document(doc_id)
            except KeyError:
                return (f"没有 ID 为 {html.escape(doc_id)} 的文档；请刷新文档列表。", *[gr.skip()] * 5)
            except IngestBusy:
                return ("正在更新索引，请等它完成后再删除。", *[gr.skip()] * 5)
            except DocumentConflict as exc:
                return (f"不能在这里删除：{html.escape(str(exc))}", *[gr.skip()] * 5)
            return after_start(f"已删除 {html.escape(source)}，正在后台更新索引。")

        delete_btn.click(delete, [token, delete_id], admin_outputs, queue=False)

        def reindex(given: str) -> tuple:
            why = refused(given)
            if why:
                return (f"⚠ {why}", *[gr.skip()] * 5)
            try:
                service.start_ingest("reindex")
            except IngestBusy:
                return ("已经在更新索引，请稍候。", *[gr.skip()] * 5)
            return after_start("已开始重建索引。")

        reindex_btn.click(reindex, token, admin_outputs, queue=False)

        def tick(given: str, seen: str | None) -> tuple:
            if refused(given):
                return gr.skip(), gr.skip(), gr.skip(), gr.Timer(active=False), seen, *[gr.skip()] * 4
            status = service.ingest_status()
            generation = status["generation"]
            if status["running"] or generation == seen:
                return status_text(), gr.skip(), gr.skip(), gr.skip(), seen, *[gr.skip()] * 4
            # An ingest finished since the last look: new document list, filter choices and header.
            table, delete_choices = docs_view()
            return (status_text(), table, delete_choices, gr.skip(), generation, *filter_updates(),
                    header_html(service))

        timer.tick(tick, [token, seen_generation],
                   [status_md, docs_table, delete_id, timer, seen_generation, region, issuer, kind, mode_line],
                   queue=False, show_progress="hidden")
    return demo


def mount_ui(app: FastAPI, service: AssistantService, path: str = "/") -> FastAPI:
    """Mount the UI on ``app`` at ``path``; call it after every other route is on ``app``."""
    blocks = build_ui(service)
    blocks.queue(default_concurrency_limit=4)
    return gr.mount_gradio_app(app, blocks, path=path, theme=_theme(), css=UI_CSS, js=UI_JS, ssr_mode=False,
                               footer_links=[], max_file_size=int(service.settings.max_upload_mb * 1_000_000),
                               show_error=True)
