"""Tests for assistant.extract; every fixture is built in tmp_path."""

from __future__ import annotations

import io
import logging
import sys
import zipfile
from pathlib import Path

import pytest

from assistant import extract as extract_module
from assistant.extract import (
    SUPPORTED_SUFFIXES,
    ExtractedText,
    ExtractError,
    decode_bytes,
    extract,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "eval"))
from zoo import write_pdf  # noqa: E402 - the PDF writer shared with eval/zoo.py

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"

RULE_GBK = "第一条 为了规范算力券的发放，制定本办法。\n第二条 本办法适用于本市行政区域内算力券的申请、审核和兑付。\n"


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def error_of(path: Path, **kwargs: int) -> str:
    with pytest.raises(ExtractError) as info:
        extract(path, **kwargs)
    return str(info.value)


# ---------------------------------------------------------------------------
# PDF fixtures, written byte by byte (Helvetica, ASCII text)
# ---------------------------------------------------------------------------


def _pdf_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(pages: list[list[str]]) -> bytes:
    """A minimal valid PDF: one Helvetica text line per list item, one list per page."""
    page_ids = [4 + 2 * i for i in range(len(pages))]
    objects: dict[int, bytes] = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: (
            f"<< /Type /Pages /Kids [{' '.join(f'{p} 0 R' for p in page_ids)}] "
            f"/Count {len(pages)} >>"
        ).encode(),
        3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    }
    for page_id, lines in zip(page_ids, pages):
        if lines:
            ops = ["BT", "/F1 12 Tf", "14 TL", "72 720 Td"]
            ops += [f"({_pdf_escape(line)}) Tj T*" for line in lines]
            ops.append("ET")
        else:
            ops = ["0 0 1 rg", "100 100 200 200 re f"]  # a drawing, no text
        stream = "\n".join(ops).encode("latin-1")
        objects[page_id] = (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {page_id + 1} 0 R >>"
        ).encode()
        objects[page_id + 1] = (
            b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"
        )
    return write_pdf(objects)


TWO_PAGES = [
    [
        "Policy extraction test document, page one",
        "continues on the second line of page one.",
        "1. First numbered heading",
    ],
    ["- 2 -", "Page two says hello."],
]
PAGE_ONE = (
    "Policy extraction test document, page one continues on the second line of page one.\n"
    "1. First numbered heading"
)
PAGE_TWO = "Page two says hello."


def encrypted_pdf(user_password: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(TWO_PAGES))))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


# ---------------------------------------------------------------------------
# Suffixes, sizes, empty files, OS errors
# ---------------------------------------------------------------------------


def test_supported_suffixes() -> None:
    assert SUPPORTED_SUFFIXES == frozenset(
        {".md", ".markdown", ".txt", ".pdf", ".docx", ".html", ".htm"}
    )


def test_unknown_suffix_is_refused(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, "notes.xyz", b"hello"))
    assert message.startswith("unsupported file type '.xyz'; supported: .md")
    assert ".docx" in message and ".htm" in message


def test_suffix_match_is_case_insensitive(tmp_path: Path) -> None:
    assert extract(write(tmp_path, "README.MD", b"hello")).text == "hello"


def test_empty_file(tmp_path: Path) -> None:
    assert error_of(write(tmp_path, "empty.md", b"")) == "the file is empty"


def test_whitespace_only_file(tmp_path: Path) -> None:
    path = write(tmp_path, "blank.txt", " \r\n\t\n\u3000\n".encode("utf-8"))
    assert error_of(path) == "the file is empty"


def test_oversized_file_is_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: object) -> bytes:
        raise AssertionError("read an oversized file")

    monkeypatch.setattr(extract_module, "_read_limited", fail)
    message = error_of(write(tmp_path, "big.md", b"x" * 11), max_bytes=10)
    assert message == "the file is 11 bytes, larger than the 10 bytes limit; split it or raise the limit"


def test_file_at_the_limit_is_accepted(tmp_path: Path) -> None:
    assert extract(write(tmp_path, "ok.md", b"x" * 10), max_bytes=10).text == "x" * 10


def test_missing_file(tmp_path: Path) -> None:
    message = error_of(tmp_path / "gone.md")
    assert message == "cannot read the file: No such file or directory"


def test_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "folder.md").mkdir()
    assert error_of(tmp_path / "folder.md").startswith("it is a directory, not a file")


def test_unexpected_parser_errors_become_extract_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(data: bytes) -> ExtractedText:
        raise ValueError("parser exploded")

    monkeypatch.setattr(extract_module, "_extract_html", boom)
    message = error_of(write(tmp_path, "page.html", b"<p>hi</p>"))
    assert message == (
        "could not extract text (ValueError: parser exploded); check that it is a valid .html file"
    )


# ---------------------------------------------------------------------------
# Text files and decode_bytes
# ---------------------------------------------------------------------------


def test_utf8_markdown_is_normalised(tmp_path: Path) -> None:
    raw = "# 标题  \r\n第一条\t内容。\x00\r旧式换行\x07\r\n\r\n　　缩进保留".encode()
    result = extract(write(tmp_path, "doc.md", raw))
    assert result == ExtractedText("# 标题\n第一条\t内容。\n旧式换行\n\n　　缩进保留", None, "utf-8")


# Clauses written for these tests, as a PDF export that kept its line wraps would give them: every
# line a paragraph, the break wherever the line was full (制|定本办法, 城|市).
WRAPPED_CLAUSES = [
    "第一条 为了加强本市城市绿地的建设和养护管理，改善人居环境，促进生态文明建设，根据有关法律法规，结合本市实际，制定本办法。",
    "第二条 本办法适用于本市城市规划区内公园绿地、防护绿地、广场用地和附属绿地的规划、建设、养护和管理活动。",
    "第三条 市城市绿化行政主管部门负责本市城市绿化的统一监督管理工作，区城市绿化行政主管部门负责本辖区内的城市绿化管理工作。",
    "第四条 新建居住区的绿地率不得低于百分之三十，旧城区改造项目的绿地率不得低于百分之二十五，建设单位应当按照批准的设计方案同步建设配套绿地。",
    "第五条 任何单位和个人不得擅自砍伐、移植城市树木，确需砍伐或者移植的，应当向城市绿化行政主管部门提出申请，主管部门应当自受理之日起十五个工作日内作出决定。",
]


def _wrapped(clauses: list[str], width: int = 24, between: str = "\n\n") -> str:
    return between.join(c[i:i + width] for c in clauses for i in range(0, len(c), width))


def test_text_exported_with_its_line_wraps_is_joined_again(tmp_path: Path) -> None:
    # The front matter's lines are not wrapped prose, however long they are.
    front = ('---\ntitle: "某市人民政府关于印发某市城市绿化管理办法的通知"\nissuer: "某市人民政府办公室"\n'
             'note: "正文取自PDF提取文本，每行一段，换行处可能把一个词分开，请以原件为准"\nkind: "办法"\n---\n\n')
    heading = "# 某市城市绿化管理办法\n\n"
    result = extract(write(tmp_path, "wrapped.md", (front + heading + _wrapped(WRAPPED_CLAUSES)).encode()))
    assert result.text == front.rstrip("\n") + "\n\n" + heading + "\n\n".join(WRAPPED_CLAUSES)
    # A plain-text export wraps with single line ends; each article still starts a line of its own.
    plain = extract(write(tmp_path, "wrapped.txt", _wrapped(WRAPPED_CLAUSES, width=20, between="\n").encode("gb18030")))
    assert plain.text == "\n".join(WRAPPED_CLAUSES)
    # ... and where each paragraph is indented, the indent starts it, whatever the line before ends with.
    indented = [c[:-1] for c in WRAPPED_CLAUSES]  # no full stop at the end
    text = _wrapped(["　　" + c for c in indented], width=20, between="\n")
    assert extract(write(tmp_path, "indented.txt", text.encode())).text == "\n".join("　　" + c for c in indented)


def test_headings_of_one_width_are_not_joined_to_their_text(tmp_path: Path) -> None:
    # Headings stop mid-sentence at one width too, but the break falls between words.
    sections = ["（一）加强组织领导和统筹协调", "（二）强化财政资金保障力度", "（三）完善考核评价激励机制",
                "（四）营造良好社会舆论氛围", "（五）持续优化市场营商环境", "（六）健全全过程监督机制",
                "（七）推进政务数据共享开放", "（八）做好政策宣传解读引导", "（九）强化专业人才队伍支撑"]
    body = "\n\n".join(f"{h}\n\n各有关部门要按照职责分工{h[3:]}，确保各项任务落到实处。" for h in sections)
    assert extract(write(tmp_path, "headings.md", body.encode())).text == body
    # A name list wraps nowhere either.
    names = "\n\n".join(f"委员：张{n}明 某市人民政府办公室副主任" for n in "一二三四五六七八九十甲乙丙丁")
    assert extract(write(tmp_path, "names.txt", names.encode())).text == names


def test_utf8_bom_is_stripped(tmp_path: Path) -> None:
    result = extract(write(tmp_path, "bom.md", b"\xef\xbb\xbf" + "第一条 内容".encode()))
    assert result.text == "第一条 内容"
    assert result.encoding == "utf-8"


def test_utf16_with_bom(tmp_path: Path) -> None:
    result = extract(write(tmp_path, "wide.txt", "第一条 内容\r\n第二条".encode("utf-16")))
    assert (result.text, result.encoding) == ("第一条 内容\n第二条", "utf-16")


def test_gbk_text_is_detected(tmp_path: Path) -> None:
    result = extract(write(tmp_path, "gbk.txt", (RULE_GBK * 4).encode("gbk")))
    assert result.encoding == "gb18030"
    assert result.text == (RULE_GBK * 4).rstrip("\n")


def test_gb18030_only_characters(tmp_path: Path) -> None:
    # 𠀀 (U+20000) only exists in GB18030's four-byte range, not in GBK.
    text = "第一条 生僻字𠀀的处理。"
    result = extract(write(tmp_path, "gb18030.txt", text.encode("gb18030")))
    assert (result.text, result.encoding) == (text, "gb18030")


def test_gbk_line_that_is_also_valid_utf8(tmp_path: Path) -> None:
    # GBK 目录 = C4BF C2BC, which is also valid UTF-8 ('Ŀ¼').
    text = "目录\n" + RULE_GBK
    assert "目录".encode("gbk").decode("utf-8") == "Ŀ¼"
    result = extract(write(tmp_path, "toc.txt", text.encode("gbk")))
    assert (result.text, result.encoding) == (text.rstrip("\n"), "gb18030")


def test_mixed_utf8_and_gbk_lines(tmp_path: Path) -> None:
    raw = "第一条 这一行是UTF-8。\n".encode() + "第二条 这一行是GBK编码。\n".encode("gbk")
    result = extract(write(tmp_path, "mixed.md", raw))
    assert result.encoding == "mixed"
    assert result.text == "第一条 这一行是UTF-8。\n第二条 这一行是GBK编码。"


def test_big5_falls_back_to_charset_normalizer() -> None:
    # GB18030 decodes these bytes too, but into kana/Cyrillic mojibake.
    text = "第一條 為了規範算力券的發放，制定本辦法。\n第二條 本辦法適用於本市行政區域內的算力券申請、審核和兌付。\n" * 3
    assert decode_bytes(text.encode("big5")) == (text, "big5")


def test_png_named_md_is_binary(tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10" + bytes(200)
    message = error_of(write(tmp_path, "image.md", png))
    assert message.startswith("it looks like a binary file (PNG image), not text")


def test_nul_heavy_file_is_binary(tmp_path: Path) -> None:
    data = b"some text" + b"\x00\x01\x02\x03" * 50 + b"more text"
    message = error_of(write(tmp_path, "blob.md", data))
    assert message.startswith("it looks like a binary file, not text (200 control or NUL bytes)")


def test_undecodable_bytes(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, "junk.txt", bytes(range(0x80, 0x100)) * 2))
    assert message == "cannot decode the text as UTF-8 or GB18030; save it as UTF-8"


def test_decode_bytes_keeps_line_ends_and_reports_encoding() -> None:
    assert decode_bytes("甲\r\n乙".encode()) == ("甲\r\n乙", "utf-8")
    assert decode_bytes("甲\r\n乙".encode("gbk")) == ("甲\r\n乙", "gb18030")
    assert decode_bytes(b"") == ("", "utf-8")


# ---------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------

GBK_PAGE = """<!DOCTYPE html>
<html><head>
<meta charset="gbk">
<title>算力券管理办法</title>
<style>p { color: red }</style>
<script>var hidden = "不应出现";</script>
</head>
<body>
<h1>算力券管理办法</h1>
<p>第一条&nbsp;为了规范&lt;算力券&gt;的发放&amp;使用，
制定本办法。</p>
<div>第二条 本办法<br>适用于全市。</div>
<table><tr><th>名称</th><th>金额</th></tr><tr><td>算力券</td><td>100万元</td></tr></table>
<noscript>请启用脚本</noscript>
<template><p>模板内容</p></template>
</body></html>"""


def test_html_with_meta_gbk(tmp_path: Path) -> None:
    result = extract(write(tmp_path, "page.html", GBK_PAGE.encode("gbk")))
    assert result.encoding == "gb18030"
    assert result.page_starts is None
    assert result.text == (
        "算力券管理办法\n\n"
        "第一条 为了规范<算力券>的发放&使用， 制定本办法。\n\n"
        "第二条 本办法\n适用于全市。\n\n"
        "名称 | 金额\n算力券 | 100万元"
    )


def test_html_title_is_prepended_when_body_lacks_it(tmp_path: Path) -> None:
    page = "<html><head><title>关于算力券的通知_市政府网</title></head><body><p>正文内容。</p></body></html>"
    result = extract(write(tmp_path, "notice.htm", page.encode("utf-8")))
    assert result.text == "关于算力券的通知_市政府网\n正文内容。"


def test_html_valid_utf8_wins_over_wrong_meta(tmp_path: Path) -> None:
    page = '<meta charset="gb2312"><p>第一条 算力券。</p>'
    result = extract(write(tmp_path, "resaved.html", page.encode("utf-8")))
    assert (result.text, result.encoding) == ("第一条 算力券。", "utf-8")


def test_html_without_meta_uses_detection(tmp_path: Path) -> None:
    result = extract(write(tmp_path, "plain.html", "<p>第一条 算力券。</p>".encode("gbk")))
    assert (result.text, result.encoding) == ("第一条 算力券。", "gb18030")


def test_html_unclosed_head_still_yields_body(tmp_path: Path) -> None:
    page = "<html><head><title>标题</title><p>正文</p>"
    assert extract(write(tmp_path, "broken.html", page.encode("utf-8"))).text == "标题\n正文"


def test_html_with_only_scripts_and_styles(tmp_path: Path) -> None:
    page = "<html><head><title>空页面</title><style>body{}</style></head><body><script>alert(1)</script></body></html>"
    message = error_of(write(tmp_path, "empty.html", page.encode("utf-8")))
    assert message.startswith("the HTML page contains no visible text")


# ---------------------------------------------------------------------------
# DOCX
# ---------------------------------------------------------------------------


def test_docx_paragraphs_and_tables_in_order(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_paragraph("算力券管理办法")
    document.add_paragraph("　　第一条 为了规范算力券的发放，制定本办法。")
    table = document.add_table(rows=3, cols=3)
    for row, values in zip(table.rows, [("名称", "金额", "备注"), ("算力券", "100万元", "")]):
        for cell, value in zip(row.cells, values):
            cell.text = value
    merged = table.rows[2].cells[0].merge(table.rows[2].cells[1])
    merged.text = "合计"
    table.rows[2].cells[2].text = "两段\n文字"
    document.add_paragraph("第二条 本办法自发布之日起施行。")
    path = tmp_path / "policy.docx"
    document.save(str(path))

    result = extract(path)
    assert result == ExtractedText(
        "算力券管理办法\n"
        "第一条 为了规范算力券的发放，制定本办法。\n"
        "名称 | 金额 | 备注\n"
        "算力券 | 100万元 |\n"
        "合计 | 两段 文字\n"
        "第二条 本办法自发布之日起施行。",
        None,
        None,
    )


def test_docx_without_text(tmp_path: Path) -> None:
    import docx

    path = tmp_path / "blank.docx"
    docx.Document().save(str(path))
    assert error_of(path) == "the file is empty: the document contains no text"


def _zip_with(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_docx_zip_bomb_total_size(tmp_path: Path) -> None:
    path = tmp_path / "bomb.docx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            chunk = bytes(1_000_000)
            for _ in range(300):
                member.write(chunk)
    assert path.stat().st_size < 2_000_000
    message = error_of(path)
    assert message == "the .docx looks like a zip bomb (it would expand to 300.0 MB); do not process it"


def test_docx_zip_bomb_compression_ratio(tmp_path: Path) -> None:
    path = _zip_with(
        tmp_path / "ratio.docx",
        {"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>", "word/media/x.bin": bytes(20_000_000)},
    )
    message = error_of(path)
    assert message.startswith("the .docx looks like a zip bomb (word/media/x.bin expands ")


def test_non_zip_named_docx(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, "fake.docx", "第一条 这其实是纯文本。".encode()))
    assert message.startswith("not a valid .docx (it is not a ZIP package)")


def test_zip_without_document_xml(tmp_path: Path) -> None:
    path = _zip_with(tmp_path / "other.docx", {"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<x/>"})
    assert error_of(path).startswith("not a valid .docx (no word/document.xml inside)")


def test_broken_document_xml(tmp_path: Path) -> None:
    path = _zip_with(
        tmp_path / "broken.docx",
        {"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<not xml"},
    )
    assert error_of(path).startswith("not a valid .docx (")


def test_legacy_doc_named_docx(tmp_path: Path) -> None:
    path = write(tmp_path, "old.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    assert error_of(path).startswith("not a valid .docx: it is a legacy .doc or a password-protected")


# ---------------------------------------------------------------------------
# PDF
# ---------------------------------------------------------------------------


def test_pdf_pages_and_offsets(tmp_path: Path) -> None:
    result = extract(write(tmp_path, "two.pdf", make_pdf(TWO_PAGES)))
    assert result.text == PAGE_ONE + "\n" + PAGE_TWO
    assert result.page_starts == [0, len(PAGE_ONE) + 1]
    assert result.text[result.page_starts[1]:] == PAGE_TWO
    assert result.encoding is None


def test_pdf_font_cache_matches_plain_pypdf(tmp_path: Path) -> None:
    from pypdf import PdfReader

    data = make_pdf(TWO_PAGES)
    plain = [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]
    cached = extract_module._pdf_page_texts(PdfReader(io.BytesIO(data)))
    assert cached == plain
    assert extract_module._FONT_CACHE.get() is None


def test_pdf_page_limit(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, "two.pdf", make_pdf(TWO_PAGES)), max_pdf_pages=1)
    assert message == "PDF has 2 pages, more than the limit of 1; split it into smaller files"


def test_pdf_with_user_password(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, "locked.pdf", encrypted_pdf("secret")))
    assert message == "PDF is encrypted with a password; decrypt it or export an unprotected copy"


def test_pdf_with_owner_password_only_opens(tmp_path: Path) -> None:
    result = extract(write(tmp_path, "restricted.pdf", encrypted_pdf("")))
    assert result.text == PAGE_ONE + "\n" + PAGE_TWO


def test_pdf_aes_without_crypto_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pypdf.errors import DependencyError

    def needs_crypto(reader: object) -> None:
        raise DependencyError("cryptography is required for AES algorithm")

    monkeypatch.setattr(extract_module, "_unlock_pdf", needs_crypto)
    message = error_of(write(tmp_path, "aes.pdf", make_pdf(TWO_PAGES)))
    assert message.startswith("PDF is AES-encrypted and reading it needs the 'cryptography' package")


def test_truncated_pdf(tmp_path: Path) -> None:
    data = make_pdf(TWO_PAGES)
    message = error_of(write(tmp_path, "cut.pdf", data[: len(data) // 2]))
    assert message.startswith("PDF is damaged or truncated (")
    assert message.endswith("); re-export it")


def test_pdf_without_text_layer(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, "scan.pdf", make_pdf([[]])))
    assert message == "PDF has no text layer (scanned?); run OCR on it first"


def test_pdf_with_only_page_numbers_has_no_text_layer(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, "scan2.pdf", make_pdf([["- 1 -"], ["- 2 -"], ["3"]])))
    assert message == "PDF has no text layer (scanned?); run OCR on it first"


def test_text_named_pdf(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, "fake.pdf", "第一条 不是PDF。".encode()))
    assert message.startswith("it is not a PDF file (no %PDF header)")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # A wrong startxref offset: pypdf warns and rebuilds the xref table.
        (b"startxref\n", b"startxref\n9"),
        # An unknown font encoding: pypdf logs an *error* and falls back.
        (b"/WinAnsiEncoding", b"/WinAnsiEncodinX"),
    ],
)
def test_pdf_recoveries_are_not_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, old: bytes, new: bytes
) -> None:
    data = make_pdf(TWO_PAGES)
    assert data.count(old) == 1
    caplog.set_level(logging.DEBUG)
    result = extract(write(tmp_path, "odd.pdf", data.replace(old, new)))
    assert result.text == PAGE_ONE + "\n" + PAGE_TWO
    assert [r.getMessage()[:60] for r in caplog.records if r.name.startswith("pypdf")] == []


# ---------------------------------------------------------------------------
# PDF line clean-up (Chinese text cannot be rendered without an embedded font,
# so the clean-up is tested on pypdf-like page strings directly)
# ---------------------------------------------------------------------------


def test_clean_pdf_page_joins_wrapped_lines_and_keeps_headings() -> None:
    raw = (
        "- 3 - \n"
        "一、总体情况 \n"
        "2023 年，本区坚持以人民为中心，全面贯彻落实《条例》相关规范要求，不断完\n"
        "善政府信息公开制度，建立健全保障机制。\n"
        "（一）主动公开情况。主要通过政府门户网站主动公开政府文件、项目审批、通\n"
        "知公告等各类政府信息。\n"
        "第二十条第（一）项\n"
        "信息内容 本年制发件数 本年废止件数 现行有效件数 合计件数以及其他内容\n"
        "规章 0 0 0\n"
        "第 3 页\n"
    )
    assert extract_module._clean_pdf_page(raw) == (
        "一、总体情况\n"
        "2023 年，本区坚持以人民为中心，全面贯彻落实《条例》相关规范要求，不断完善政府信息公开制度，建立健全保障机制。\n"
        "（一）主动公开情况。主要通过政府门户网站主动公开政府文件、项目审批、通知公告等各类政府信息。\n"
        "第二十条第（一）项\n"
        "信息内容 本年制发件数 本年废止件数 现行有效件数 合计件数以及其他内容\n"
        "规章 0 0 0"
    )


def test_clean_pdf_page_does_not_join_before_heading_markers() -> None:
    long_line = "为进一步规范算力券的申请和兑付工作，根据有关规定，结合本市实际，制定如下措施"
    for heading in ("第三条 申请", "二、工作要求", "（二）兑付", "1．申请条件", "（1）企业", "附件：申请表"):
        cleaned = extract_module._clean_pdf_page(f"{long_line}\n{heading}")
        assert cleaned == f"{long_line}\n{heading}", heading


def test_clean_pdf_page_keeps_mid_page_numbers() -> None:
    raw = "表一 统计\n合计\n12\n备注：单位为件。"
    assert extract_module._clean_pdf_page(raw) == raw


def test_corrupted_files_only_raise_extract_error(tmp_path: Path) -> None:
    """Random byte damage must surface as ExtractError, never as a parser's own exception."""
    import random

    import docx

    document = docx.Document()
    document.add_paragraph("第一条 测试")
    document.add_table(rows=2, cols=2).cell(0, 0).text = "甲"
    buffer = io.BytesIO()
    document.save(buffer)
    seeds = {
        "pdf": make_pdf(TWO_PAGES),
        "docx": buffer.getvalue(),
        "html": GBK_PAGE.encode("gbk"),
        "md": RULE_GBK.encode("gbk"),
    }
    rng = random.Random(20240601)
    for number in range(300):
        suffix = rng.choice(sorted(seeds))
        data = bytearray(seeds[suffix])
        for _ in range(rng.randint(1, 8)):
            pos = rng.randrange(len(data))
            if rng.random() < 0.6:
                data[pos] = rng.randrange(256)
            else:
                del data[pos : pos + rng.randint(1, 50)]
        path = write(tmp_path, f"case{number}.{suffix}", bytes(data))
        try:
            extract(path)
        except ExtractError as exc:
            assert str(exc) and "\n" not in str(exc)


# ---------------------------------------------------------------------------
# Real corpus PDFs (read-only shared data; skipped when absent)
# ---------------------------------------------------------------------------


def _corpus_pdf(name: str) -> Path:
    path = CORPUS / "pdf" / name
    if not path.is_file():
        pytest.skip(f"shared corpus PDF not available at {path}")
    return path


@pytest.mark.slow
def test_real_industrial_policy_guide() -> None:
    result = extract(_corpus_pdf("bj-industrial-policy-guide-2024.pdf"))
    starts = result.page_starts
    assert starts is not None and len(starts) == 331
    assert starts[0] == 0 and starts == sorted(set(starts))
    preface = result.text[starts[1]:starts[2]]
    assert preface.startswith("前言\n")
    assert "打通政策落地“最后一公里”问题" in preface  # a line break pypdf put mid-word is joined
    assert sum("\u4e00" <= ch <= "\u9fff" for ch in result.text) > 100_000


@pytest.mark.slow
def test_real_annual_report() -> None:
    result = extract(_corpus_pdf("huaian-hongze-gov-info-disclosure-annual-report-2023.pdf"))
    assert result.page_starts is not None and len(result.page_starts) == 5
    lines = result.text.split("\n")
    assert "一、总体情况" in lines
    assert not any(line in {"- 1 -", "- 2 -", "- 5 -"} for line in lines)
    assert result.text.startswith("洪泽区人民政府\n2023 年政府信息公开工作年度报告\n")
