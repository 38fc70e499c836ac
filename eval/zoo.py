"""A zoo of bad (and a few awkward but valid) input files, for ingest robustness checks.

Shared by ``tests/test_zoo.py`` and ``eval/zoo_run.py``: :func:`build_zoo` writes every file into a
folder and returns what each one is expected to do (be indexed, or fail with one line whose
message contains a keyword). Everything is generated here, byte by byte or with the libraries the
project already uses; nothing is copied from elsewhere.

Example::

    entries = build_zoo(Path("/tmp/zoo"))
    [e.name for e in entries if e.expect == "failed"]
"""

from __future__ import annotations

import io
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

HUGE_MB = 200  # the oversized text file: refused by max_file_mb (50) without being read
LONG_LINE_BYTES = 2_000_000  # one line, no punctuation: the chunker must hard-split it


@dataclass(frozen=True)
class ZooEntry:
    """One zoo file: its source name (relative path), what should happen, and how to check it."""

    name: str
    what: str  # a few words for the table
    expect: str  # "indexed" or "failed"
    keyword: str = ""  # failed: a word the failure message contains (case-insensitive)
    query: str = ""  # indexed: a question whose top hits include this file


# -- text ---------------------------------------------------------------------------------------

_PHRASES = ["各区人民政府应当加强组织领导", "建立健全工作协调机制", "明确责任分工", "强化资金保障",
            "推动数据资源共享", "支持企业开展技术创新", "完善监督检查制度", "保障数据安全", "优化营商环境"]
_NUMS = "一二三四五六七八九十"


def _cn(n: int) -> str:
    tens, ones = divmod(n, 10)
    return (("" if tens == 1 else _NUMS[tens - 1]) + "十" if tens else "") + (_NUMS[ones - 1] if ones else "")


def policy(title: str, marker: str, articles: int = 4, seed: int = 0) -> str:
    """A short regulation-like text whose second article carries ``marker`` (what queries look for)."""
    rng = random.Random(seed)
    lines = [title, ""]
    for n in range(1, articles + 1):
        body = "，".join(rng.sample(_PHRASES, 4))
        extra = f"本办法所称{marker}，是指专门设立的{marker}制度。" if n == 2 else ""
        lines += [f"第{_cn(n)}条 为做好相关工作，{body}。{extra}", ""]
    return "\n".join(lines)


# -- PDF, written byte by byte --------------------------------------------------------------------


def write_pdf(objects: dict[int, bytes], root: int = 1, trailer_extra: bytes = b"") -> bytes:
    """Serialise numbered PDF objects with a correct xref table: the one PDF writer of the tests."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n"
    size = max(objects) + 1
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for number in range(1, size):
        out += b"%010d 00000 n \n" % offsets[number] if number in offsets else b"0000000000 65535 f \n"
    out += b"trailer\n<< /Size %d /Root %d 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (size, root, trailer_extra, xref_at)
    return bytes(out)


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def _cid_font(objects: dict[int, bytes], first: int, chars: str) -> None:
    """A Type0 font (Identity-H, two-byte codes = Unicode code points) whose ToUnicode maps them back.

    No font program is embedded: enough for text extraction, which is all ingest does.
    """
    cmap = ["/CIDInit /ProcSet findresource begin", "12 dict begin", "begincmap",
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
            "/CMapName /Adobe-Identity-UCS def", "/CMapType 2 def",
            "1 begincodespacerange", "<0000> <FFFF>", "endcodespacerange"]
    codes = sorted(set(chars))
    for start in range(0, len(codes), 100):
        part = codes[start:start + 100]
        cmap.append(f"{len(part)} beginbfchar")
        cmap += [f"<{ord(c):04X}> <{ord(c):04X}>" for c in part]
        cmap.append("endbfchar")
    cmap += ["endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
    objects[first] = (b"<< /Type /Font /Subtype /Type0 /BaseFont /SimSun /Encoding /Identity-H "
                      b"/DescendantFonts [%d 0 R] /ToUnicode %d 0 R >>" % (first + 1, first + 2))
    objects[first + 1] = (b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /SimSun "
                          b"/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> "
                          b"/FontDescriptor %d 0 R /DW 1000 >>" % (first + 3))
    objects[first + 2] = _stream("\n".join(cmap).encode("ascii"))
    objects[first + 3] = (b"<< /Type /FontDescriptor /FontName /SimSun /Flags 4 /FontBBox [0 -140 1000 860] "
                          b"/ItalicAngle 0 /Ascent 860 /Descent -140 /CapHeight 700 /StemV 80 >>")


def _page_ops(lines: list[str]) -> bytes:
    ops = ["BT", "/F1 12 Tf", "16 TL", "40 800 Td"]
    ops += [f"<{''.join(f'{ord(c):04X}' for c in line)}> Tj T*" for line in lines]
    ops.append("ET")
    return "\n".join(ops).encode("ascii")


def make_pdf(pages: list[list[str]], count: int | None = None, catalog_extra: bytes = b"",
             extra_objects: dict[int, bytes] | None = None) -> bytes:
    """A PDF with Chinese text lines (one list per page); ``count`` overrides the page tree's /Count.

    Objects 1 catalog, 2 page tree, 3-6 font; pages and contents from 10; ``extra_objects`` from 1000.
    A page given as [] gets a drawing and no text (a "scanned" page).
    """
    objects: dict[int, bytes] = {}
    _cid_font(objects, 3, "".join("".join(p) for p in pages) or "x")
    page_ids = [10 + 2 * i for i in range(len(pages))]
    for page_id, lines in zip(page_ids, pages):
        content = _page_ops(lines) if lines else b"0 0 1 rg\n100 100 200 200 re f"
        objects[page_id] = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
                            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (page_id + 1))
        objects[page_id + 1] = _stream(content)
    kids = " ".join(f"{p} 0 R" for p in page_ids).encode()
    objects[2] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(pages) if count is None else count)
    objects[1] = b"<< /Type /Catalog /Pages 2 0 R %s>>" % catalog_extra
    objects.update(extra_objects or {})
    return write_pdf(objects)


def make_many_pages_pdf(pages: int) -> bytes:
    """``pages`` real (blank-ish) pages sharing one content stream: small file, huge page count."""
    objects: dict[int, bytes] = {}
    _cid_font(objects, 3, "页")
    objects[9] = _stream(_page_ops(["页"]))
    page_ids = list(range(10, 10 + pages))
    for page_id in page_ids:
        objects[page_id] = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
                            b"/Resources << /Font << /F1 3 0 R >> >> /Contents 9 0 R >>")
    kids = " ".join(f"{p} 0 R" for p in page_ids).encode()
    objects[2] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages)
    objects[1] = b"<< /Type /Catalog /Pages 2 0 R >>"
    return write_pdf(objects)


def encrypt_pdf(data: bytes, user_password: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="AES-256")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


# -- DOCX -----------------------------------------------------------------------------------------


def make_docx(paragraphs: list[str]) -> bytes:
    import docx

    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def write_zip_bomb(path: Path, megabytes: int = 300) -> None:
    """A .docx-looking ZIP whose document.xml inflates to ``megabytes`` MB of zeros (~300 KB on disk)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            chunk = bytes(1_000_000)
            for _ in range(megabytes):
                member.write(chunk)


# -- the zoo --------------------------------------------------------------------------------------


def _write(root: Path, name: str, data: bytes | str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


def write_huge_text(path: Path, megabytes: int = HUGE_MB) -> None:
    """``megabytes`` MB of real Chinese text lines, written in 1 MB blocks (fast, little memory)."""
    line = "第一条 为做好相关工作，各区人民政府应当加强组织领导，建立健全工作协调机制。\n".encode()
    block = line * (1_000_000 // len(line))
    with path.open("wb") as handle:
        written = 0
        while written < megabytes * 1_000_000:
            handle.write(block)
            written += len(block)


def build_zoo(root: Path, huge_mb: int = HUGE_MB) -> list[ZooEntry]:
    """Write the zoo under ``root``; return one :class:`ZooEntry` per file (or link) written."""
    root.mkdir(parents=True, exist_ok=True)
    entries: list[ZooEntry] = []

    def good(name: str, what: str, data: bytes | str, query: str) -> None:
        _write(root, name, data)
        entries.append(ZooEntry(name, what, "indexed", query=query))

    def bad(name: str, what: str, data: bytes | str | None, keyword: str) -> None:
        if data is not None:
            _write(root, name, data)
        entries.append(ZooEntry(name, what, "failed", keyword=keyword))

    # Valid files, some with awkward names or encodings: all must be indexed.
    good("good/海淀区数据条例.md", "plain UTF-8 Markdown",
         policy("海淀区公共数据管理办法", "海棠数据券"), "海棠数据券是指什么")
    good("good/政策 文件/北京市 算力 补贴 办法.md", "spaces and Chinese in the path",
         policy("北京市算力补贴办法", "梧桐算力券", seed=1), "梧桐算力券是指什么")
    deep = "/".join(f"层{i:02d}" for i in range(40))
    good(f"good/{deep}/深层文件.md", "40 nested folders",
         policy("深层目录管理办法", "青瓷创新券", seed=2), "青瓷创新券是指什么")
    good("good/-rf.md", "name starting with a dash",
         policy("破折号文件管理办法", "雪松人才券", seed=3), "雪松人才券是指什么")
    good("good/line\nbreak.md", "newline in the file name",
         policy("换行文件名管理办法", "银杏消费券", seed=4), "银杏消费券是指什么")
    good("good/gbk.md", "GBK-encoded Markdown",
         policy("GBK编码管理办法", "翡翠服务券", seed=5).encode("gbk"), "翡翠服务券是指什么")
    mixed = (policy("混合编码管理办法", "琥珀培训券", seed=6).encode("utf-8")
             + "\n第九条 本条文字以GBK编码保存，与前文编码不同。\n".encode("gbk"))
    good("good/mixed-encodings.md", "UTF-8 and GBK lines mixed", mixed, "琥珀培训券是指什么")
    page = ('<html><head><meta charset="utf-8"><title>算力券通知</title></head><body>'
            + "".join(f"<p>{line}</p>" for line in policy("关于算力券的通知", "玛瑙算力券", seed=7).splitlines())
            + "</body></html>")
    good("good/gbk-labelled-utf8.html", "GBK bytes under <meta charset=utf-8>", page.encode("gbk"),
         "玛瑙算力券是指什么")
    js_text = policy("带脚本的PDF管理办法", "珊瑚数据券", seed=8).splitlines()
    js = make_pdf(
        [[line for line in js_text if line]],
        catalog_extra=b"/OpenAction 1000 0 R /Names << /EmbeddedFiles << /Names [(evil.exe) 1001 0 R] >> >> ",
        extra_objects={
            1000: b"<< /Type /Action /S /JavaScript /JS (app.alert\\('hello'\\);) >>",
            1001: b"<< /Type /Filespec /F (evil.exe) /EF << /F 1002 0 R >> >>",
            1002: _stream(b"MZ\x90\x00 not really an executable", b"/Type /EmbeddedFile "),
        },
    )
    good("good/javascript-and-attachment.pdf", "PDF with a JavaScript action and an embedded file", js,
         "珊瑚数据券是指什么")
    good("good/policy.docx", "valid DOCX",
         make_docx(policy("文档格式管理办法", "琉璃研发券", seed=9).splitlines()), "琉璃研发券是指什么")
    # 2 MB on one line, without punctuation or a newline: hard-split into passages within bounds.
    run = "数据要素市场化配置改革试点工作持续推进" * (LONG_LINE_BYTES // 57 + 1)
    good("good/one-long-line.md", "2 MB on one line, no punctuation",
         ("玳瑁长行券" + run)[: LONG_LINE_BYTES // 3], "玳瑁长行券")
    unreadable = _write(root, "good/unreadable.md", policy("权限管理办法", "松石权限券", seed=10))
    unreadable.chmod(0)
    if os.geteuid() == 0:
        # root reads a mode-000 file all the same: it is a valid document then.
        entries.append(ZooEntry("good/unreadable.md", "chmod 000 (root can still read it)", "indexed",
                                query="松石权限券是指什么"))
    else:
        entries.append(ZooEntry("good/unreadable.md", "chmod 000", "failed", keyword="permission"))

    # Bad files: each must be one failed line naming it.
    text_pdf = make_pdf([["第一条 本办法适用于截断的文件测试，内容足够长以便提取文字。"] * 5] * 3)
    bad("bad/truncated.pdf", "PDF cut in half", text_pdf[: len(text_pdf) // 2], "truncated")
    bad("bad/encrypted.pdf", "PDF with a user password", encrypt_pdf(text_pdf, "secret"), "encrypted")
    bad("bad/scanned.pdf", "PDF without a text layer", make_pdf([[], []]), "no text layer")
    # pypdf counts the pages it finds, not the /Count the tree claims: one page of text, indexed.
    good("good/count-lie.pdf", "page tree claiming /Count 10000000 pages",
         make_pdf([[line for line in policy("页数声明管理办法", "水晶页数券", seed=11).splitlines() if line]],
                  count=10_000_000), "水晶页数券是指什么")
    bad("bad/many-pages.pdf", "2500 real pages (limit 2000)", make_many_pages_pdf(2500), "pages")
    bad("bad/not-really.pdf", "text named .pdf", "第一条 这不是PDF文件。", "not a PDF")
    bomb = root / "bad/zip-bomb.docx"
    bomb.parent.mkdir(parents=True, exist_ok=True)
    write_zip_bomb(bomb)
    bad("bad/zip-bomb.docx", "zip bomb named .docx (300 MB inflated)", None, "zip bomb")
    bad("bad/no-text.docx", "DOCX without text", make_docx([]), "empty")
    bad("bad/legacy.docx", "OLE (.doc) renamed .docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4000), ".doc")
    bad("bad/random.docx", "random bytes named .docx", random.Random(1).randbytes(5000), "not a ZIP")
    docx_bytes = make_docx(["第一条 截断的文档。"] * 20)
    bad("bad/truncated.docx", "DOCX cut in half", docx_bytes[: len(docx_bytes) // 2], "docx")
    bad("bad/scripts-only.html", "HTML with scripts and styles only",
        "<html><head><style>p{color:red}</style><script>var a = '第一条';</script></head>"
        "<body><script>document.write('x')</script><style>.x{}</style></body></html>", "no visible text")
    bad("bad/empty.md", "0 bytes", b"", "empty")
    bad("bad/binary.md", "random bytes named .md", random.Random(2).randbytes(8000), "binary")
    bad("bad/png.md", "PNG image named .md", b"\x89PNG\r\n\x1a\n" + random.Random(3).randbytes(3000), "binary")
    bad("bad/front-matter.md", "front matter that is not YAML",
        "---\ntitle: [未闭合\n  - : :\n---\n第一条 正文。\n", "YAML")
    bad("bad/front-matter-only.md", "front matter and no text", "---\ntitle: 只有标题\n---\n", "no text")
    bad("bad/whitespace.txt", "only blanks and newlines", " \n\t\n\u3000\n", "empty")
    huge = root / "bad/huge.txt"
    write_huge_text(huge, huge_mb)
    bad("bad/huge.txt", f"{huge_mb} MB of text (limit 50 MB)", None, "limit")
    bad("bad/bad\nname.pdf", "newline in the name, not a PDF", "不是PDF", "not a PDF")
    bad("bad/slides.pptx", "unsupported type", b"PK\x03\x04 not really", "unsupported")
    links = root / "bad/links"
    links.mkdir(parents=True, exist_ok=True)
    (links / "broken.md").symlink_to(links / "no-such-file.md")
    entries.append(ZooEntry("bad/links/broken.md", "broken symbolic link", "failed", keyword="link"))
    (links / "a.md").symlink_to(links / "b.md")
    (links / "b.md").symlink_to(links / "a.md")
    entries.append(ZooEntry("bad/links/a.md", "symbolic link loop a -> b -> a", "failed", keyword="link"))
    entries.append(ZooEntry("bad/links/b.md", "symbolic link loop b -> a -> b", "failed", keyword="link"))
    (links / "up").symlink_to(root.resolve(), target_is_directory=True)
    entries.append(ZooEntry("bad/links/up", "link to a parent folder (a loop)", "failed", keyword="link"))
    os.mkfifo(root / "bad/pipe.md")
    entries.append(ZooEntry("bad/pipe.md", "named pipe (FIFO) named .md", "failed", keyword="regular file"))
    return entries


# -- running the CLI on the zoo and checking what it did ------------------------------------------


def shown(name: str) -> str:
    """A file name as the ingest summary prints it: control characters escaped, so one line each."""
    return "".join(repr(ch)[1:-1] if (ord(ch) < 32 or 0x7f <= ord(ch) <= 0x9f or ch in "\u2028\u2029") else ch
                   for ch in name)


@dataclass
class Measured:
    """A finished subprocess: exit status, output, and the peak RSS of it and its children (MB)."""

    returncode: int
    stdout: str
    stderr: str
    peak_rss_mb: float
    seconds: float


def run_measured(command: list[str], env: dict[str, str] | None = None, cwd: Path | None = None,
                 timeout: float = 600) -> Measured:
    """Run ``command``; its peak RSS comes from wait4 (the process and the workers it reaped).

    ``resource.getrusage(RUSAGE_CHILDREN)`` in this process would mix in every child run before;
    wait4 reports on this one child alone.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=err, start_new_session=True)
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                os.killpg(process.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.02)
        seconds = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Measured(process.returncode, out.read().decode("utf-8", "replace"),
                        err.read().decode("utf-8", "replace"), usage.ru_maxrss / 1024, seconds)


@dataclass
class ZooRow:
    """One line of the zoo table: what was expected, what happened, and whether that is right."""

    entry: ZooEntry
    got: str
    message: str
    ok: bool
    problem: str = ""


def policyqa_command() -> list[str]:
    exe = Path(sys.executable).with_name("policyqa")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "assistant.cli"]


def check_zoo(entries: list[ZooEntry], result: Measured, index_dir: Path) -> tuple[list[ZooRow], list[str]]:
    """Compare a ``policyqa ingest ZOO`` run with ``entries``: one row per entry, plus overall problems.

    A failed entry must have exactly one summary line, naming it, whose message holds the keyword;
    an indexed entry must be in the index and be the best-ranked file for its query.
    """
    from assistant.config import load_settings
    from assistant.index import Index
    from assistant.pipeline import PolicyAssistant

    problems: list[str] = []
    output = result.stdout + result.stderr
    if "Traceback" in output:
        problems.append("a Traceback was printed")
    lines = result.stdout.splitlines()
    failed_lines = [line for line in lines if line.startswith("  failed: ")]
    expected_failures = sum(1 for e in entries if e.expect == "failed")
    if result.returncode != (1 if expected_failures else 0):
        problems.append(f"exit status {result.returncode}")
    index = Index.open(index_dir)
    try:
        sources = {d.source for d in index.documents.values()}
        config = index_dir.parent / "zoo-empty-policyqa.toml"
        config.write_text("", encoding="utf-8")
        assistant = PolicyAssistant.from_settings(load_settings(config_file=config, index_dir=index_dir), index)
        max_chars = load_settings(config_file=config).chunk_max_chars
        longest = max((len(p.text) for p in index.store.iter_passages()), default=0)
        if longest > max_chars:
            problems.append(f"a passage of {longest} characters (limit {max_chars})")
        rows: list[ZooRow] = []
        claimed: set[str] = set()
        for entry in entries:
            prefix = f"  failed: {shown(entry.name)}: "
            mine = [line for line in failed_lines if line.startswith(prefix)]
            claimed.update(mine)
            message = mine[0][len(prefix):] if mine else ""
            if entry.name in sources:
                got = "indexed"
                top = [h.document.source for h in assistant.retriever.search(entry.query, top_k=3)] \
                    if entry.query else []
                message = f"top hit for “{entry.query}”" if top[:1] == [entry.name] else f"top hits {top}"
            else:
                got = "failed" if mine else "missing"
            problem = ""
            if got != entry.expect:
                problem = f"expected {entry.expect}, got {got}"
            elif len(mine) > 1:
                problem = f"{len(mine)} summary lines"
            elif got == "failed" and entry.keyword.lower() not in message.lower():
                problem = f"message lacks '{entry.keyword}'"
            elif got == "indexed" and (mine or not message.startswith("top hit")):
                problem = message if not mine else "indexed and also reported failed"
            rows.append(ZooRow(entry, got, message, not problem, problem))
        strays = [line for line in failed_lines if line not in claimed]
        if strays:
            problems.append(f"failure lines for files not in the zoo: {strays}")
        documents = sum(1 for e in entries if e.expect == "indexed")
        if len(sources) != documents:
            problems.append(f"{len(sources)} documents in the index, expected {documents}")
    finally:
        index.close()
    problems += [f"{row.entry.name!r}: {row.problem}" for row in rows if not row.ok]
    return rows, problems


def zoo_table(rows: list[ZooRow]) -> str:
    """The Markdown table of a zoo run (file, what it is, expected, got, message)."""
    out = ["| file | what it is | expected | got | message |", "|---|---|---|---|---|"]
    for row in rows:
        message = row.message.replace("|", "\\|")
        if len(message) > 110:
            message = message[:107] + "..."
        mark = "" if row.ok else " ✗"
        out.append(f"| `{shown(row.entry.name)}` | {row.entry.what} | {row.entry.expect} | {row.got}{mark} | "
                   f"{message} |")
    return "\n".join(out)
