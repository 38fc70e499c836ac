"""Turn one policy document on disk into plain text.

Supported inputs are Markdown/plain text (UTF-8, UTF-16 with BOM, GB18030/GBK,
or a line-by-line mix of UTF-8 and GBK), PDF with a text layer, DOCX and HTML.
Every problem with an input file surfaces as :class:`ExtractError`, whose
message is one English sentence the caller can show after the file name.

Usage::

    from pathlib import Path
    from assistant.extract import ExtractError, extract

    try:
        doc = extract(Path("corpus/pdf/report.pdf"))
    except ExtractError as exc:
        print(f"report.pdf: {exc}")
    else:
        second_page = doc.text[doc.page_starts[1]:doc.page_starts[2]]
"""

from __future__ import annotations

import codecs
import contextlib
import contextvars
import io
import logging
import re
import stat
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

__all__ = [
    "SUPPORTED_SUFFIXES",
    "ExtractError",
    "ExtractedText",
    "decode_bytes",
    "extract",
    "read_file",
]

SUPPORTED_SUFFIXES: frozenset[str] = frozenset(
    {".md", ".markdown", ".txt", ".pdf", ".docx", ".html", ".htm"}
)
_SUPPORTED_LIST = ".md, .markdown, .txt, .pdf, .docx, .html, .htm"
_HTML_SUFFIXES = frozenset({".html", ".htm"})

# pypdf reports oddities of real-world PDFs that it recovers from as logging
# warnings and even errors ("Advanced encoding ... not implemented"); they are
# noise for our users, and real failures reach us as exceptions anyway. Only
# touch the level if nobody configured it.
_pypdf_logger = logging.getLogger("pypdf")
if _pypdf_logger.level == logging.NOTSET:
    _pypdf_logger.setLevel(logging.CRITICAL)


class ExtractError(Exception):
    """A user-facing problem with one file.

    ``str(exc)`` is ONE clear English sentence naming what is wrong and what to
    do, e.g. 'PDF is encrypted; decrypt it or export an unprotected copy'.
    The caller prefixes the file name.
    """


@dataclass(frozen=True)
class ExtractedText:
    """Plain text of one file.

    ``text`` uses '\\n' line ends, has no control characters other than
    '\\n' and '\\t', and no trailing whitespace on any line.
    ``page_starts[i]`` is the offset in ``text`` where PDF page i+1 starts
    (None for other formats). ``encoding`` is the detected encoding of text
    and HTML files (None for PDF and DOCX).
    """

    text: str
    page_starts: list[int] | None
    encoding: str | None


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------


def extract(
    path: Path, *, max_bytes: int = 50_000_000, max_pdf_pages: int = 2000, data: bytes | None = None
) -> ExtractedText:
    """Extract the text of ``path``; raise :class:`ExtractError` for any bad file.

    The file is read once, into memory (after its size is checked), and parsed from there. A
    caller that needs to know exactly which bytes were parsed (ingest hashes them, as the file may
    change while it is read) reads them with :func:`read_file` and passes them as ``data``;
    ``path`` then only names the file (its suffix picks the parser).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        shown = f"'{suffix}'" if suffix else "(no extension)"
        raise ExtractError(f"unsupported file type {shown}; supported: {_SUPPORTED_LIST}")
    try:
        if data is None:
            _check_size(path, max_bytes)
            data = _read_limited(path, max_bytes)
        else:
            _check_length(len(data), max_bytes)
        if suffix == ".pdf":
            result = _extract_pdf(data, max_pdf_pages)
        elif suffix == ".docx":
            result = _extract_docx(data)
        elif suffix in _HTML_SUFFIXES:
            result = _extract_html(data)
        else:
            text, encoding = decode_bytes(data)
            result = ExtractedText(rejoin_wrapped_paragraphs(_normalise(text)), None, encoding)
    except ExtractError:
        raise
    except OSError as exc:
        raise ExtractError(f"cannot read the file: {exc.strerror or exc}") from exc
    except (MemoryError, RecursionError) as exc:
        raise ExtractError(
            f"the file is too large or too deeply nested to process ({type(exc).__name__}); "
            "split or simplify it"
        ) from exc
    except Exception as exc:  # parsers raise anything on hostile input
        raise ExtractError(
            f"could not extract text ({_short_reason(exc)}); check that it is a valid {suffix} file"
        ) from exc
    if not result.text.strip():
        raise ExtractError("the file is empty")
    return result


def read_file(path: Path, max_bytes: int = 50_000_000) -> bytes:
    """The bytes of ``path``, or :class:`ExtractError` (not a regular file, empty, over ``max_bytes``).

    The size is checked before anything is read, so an oversized file never reaches memory.
    """
    try:
        _check_size(Path(path), max_bytes)
        return _read_limited(Path(path), max_bytes)
    except OSError as exc:
        raise ExtractError(f"cannot read the file: {exc.strerror or exc}") from exc


def _check_size(path: Path, max_bytes: int) -> None:
    # stat before reading so an oversized file never reaches memory.
    st = path.stat()
    if stat.S_ISDIR(st.st_mode):
        raise ExtractError("it is a directory, not a file; pass a file path")
    if not stat.S_ISREG(st.st_mode):
        raise ExtractError("it is not a regular file; pass a normal file")
    _check_length(st.st_size, max_bytes)


def _check_length(size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise ExtractError(
            f"the file is {_human_size(size)}, larger than the "
            f"{_human_size(max_bytes)} limit; split it or raise the limit"
        )
    if size == 0:
        raise ExtractError("the file is empty")


def _read_limited(path: Path, max_bytes: int) -> bytes:
    # Read one byte past the limit in case the file grew after stat().
    with open(path, "rb") as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ExtractError(
            f"the file is larger than the {_human_size(max_bytes)} limit; "
            "split it or raise the limit"
        )
    return data


def _human_size(n: int) -> str:
    if n < 1_000:
        return f"{n} bytes"
    if n < 1_000_000:
        return f"{n / 1_000:.1f} KB ({n} bytes)"
    return f"{n / 1_000_000:.1f} MB ({n} bytes)"


def _short_reason(exc: BaseException, limit: int = 80) -> str:
    msg = " ".join(str(exc).split())
    if len(msg) > limit:
        msg = msg[: limit - 3] + "..."
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


# ---------------------------------------------------------------------------
# Text normalisation shared by all formats
# ---------------------------------------------------------------------------

# \f and \v separate pages/lines in some exports: keep them as line breaks
# instead of gluing neighbouring lines together.
_LINE_BREAKS = re.compile(r"\r\n?|[\f\v\u2028\u2029\x85]")
# C0/C1 controls (minus \t \n), DEL, and BOMs that survive inside text.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufeff]")
_TRAILING_SPACE = re.compile(r"[^\S\n]+(?=\n|\Z)")


def _normalise(text: str) -> str:
    text = _LINE_BREAKS.sub("\n", text)
    text = _CONTROL_CHARS.sub("", text)
    # Blank lines before or after the content carry no information.
    return _TRAILING_SPACE.sub("", text).lstrip("\n").rstrip("\n")


# ---------------------------------------------------------------------------
# Text decoding
# ---------------------------------------------------------------------------

_BINARY_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"%PDF-", "PDF document"),
    (b"PK\x03\x04", "ZIP archive or Office document"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "legacy Office document"),
    (b"\x1f\x8b", "gzip archive"),
    (b"BZh", "bzip2 archive"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (b"Rar!", "RAR archive"),
    (b"\x7fELF", "executable"),
    (b"MZ", "Windows executable"),
)
# Bytes that never occur in real UTF-8/GB18030 text (tab, LF, CR, FF, VT and
# ESC-free). A few are tolerated as stray noise; many mean a binary file.
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 11, 12, 13)) + b"\x7f"
_BINARY_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")  # same set, decoded
_MAX_CONTROL_SHARE = 0.01

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # must precede UTF-16 LE: same first two bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

# Characters expected in Chinese policy text: ASCII, Latin-1, general
# punctuation, number forms, arrows, maths, box drawing, enclosed numbers
# (①), geometric shapes, CJK symbols, CJK ideographs (+Ext A, compatibility),
# fullwidth forms. GB18030 happily decodes Big5 or other junk into kana,
# Hangul, Yi syllables or private-use code points, which fall outside this.
_UNEXPECTED_CHARS = re.compile(
    "[^\t\n\r\x20-\x7e\u00a0-\u00ff\u2000-\u206f\u2100-\u23ff\u2460-\u27bf"
    "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]"
)
_MAX_UNEXPECTED_SHARE = 0.05
_BAD_CATEGORIES = frozenset({"Cc", "Co", "Cs", "Cn"})


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode text bytes, returning ``(text, encoding)``.

    Tries UTF-8 (and BOM-marked UTF-16/32), then GB18030 strictly, then a
    line-by-line UTF-8/GB18030 mix ('mixed'), then charset-normalizer's guess
    if it is confident. Raises :class:`ExtractError` for binary data or bytes
    that decode as nothing plausible. Line ends are left as they are.
    """
    if not data:
        return "", "utf-8"
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _decode_with_bom(data, bom, encoding)
    _reject_binary(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        # Valid UTF-8 is strong evidence on its own; any script may appear.
        _reject_binary_text(text)
        return text, "utf-8"
    per_line = _decode_per_line(data)
    if per_line is not None and _looks_like_chinese_text(per_line[0]):
        return per_line
    guessed = _guess_with_charset_normalizer(data)
    if guessed is not None:
        return guessed
    raise ExtractError("cannot decode the text as UTF-8 or GB18030; save it as UTF-8")


def _decode_with_bom(data: bytes, bom: bytes, encoding: str) -> tuple[str, str]:
    # The utf-16/utf-32 codecs consume their BOM themselves; utf-8 does not.
    payload = data[len(bom):] if encoding == "utf-8" else data
    try:
        text = payload.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ExtractError(
            f"the file starts with a {encoding.upper()} byte-order mark but is not valid "
            f"{encoding.upper()} (byte {exc.start}); save it as UTF-8"
        ) from exc
    _reject_binary_text(text)
    return text, encoding


def _reject_binary(data: bytes) -> None:
    for magic, kind in _BINARY_SIGNATURES:
        if data.startswith(magic):
            raise ExtractError(
                f"it looks like a binary file ({kind}), not text; "
                "check the file or give it the right extension"
            )
    controls = len(data) - len(data.translate(None, _CONTROL_BYTES))
    if controls > max(3, len(data) * _MAX_CONTROL_SHARE):
        raise ExtractError(
            f"it looks like a binary file, not text ({controls} control or NUL bytes); "
            "check the file or give it the right extension"
        )


def _reject_binary_text(text: str) -> None:
    # The byte check above misses control characters encoded as UTF-16.
    controls = len(_BINARY_CHARS.findall(text))
    if controls > max(3, len(text) * _MAX_CONTROL_SHARE):
        raise ExtractError(
            "it looks like a binary file, not text (many control characters); "
            "check the file or give it the right extension"
        )


def _decode_per_line(data: bytes) -> tuple[str, str] | None:
    """Decode line by line as UTF-8 or GB18030; None if a line is neither.

    Splitting on CR/LF is safe for both codecs: no multi-byte sequence of
    either contains 0x0A or 0x0D. Short GBK lines are often valid UTF-8 too
    (目录 is C4BF C2BC = 'Ŀ¼'), so a line that decodes both ways follows the
    encoding that the unambiguous lines of the file use.
    """
    decoded: list[dict[str, str]] = []
    votes = {"utf-8": 0, "gb18030": 0}
    for line in data.splitlines(keepends=True):
        options = {}
        for encoding in ("utf-8", "gb18030"):
            with contextlib.suppress(UnicodeDecodeError):
                options[encoding] = line.decode(encoding)
        if not options:
            return None
        if len(options) == 1:
            votes[next(iter(options))] += 1
        decoded.append(options)
    dominant = "utf-8" if votes["utf-8"] > votes["gb18030"] else "gb18030"
    parts = [options.get(dominant) or next(iter(options.values())) for options in decoded]
    used = {enc for options in decoded if len(options) == 1 for enc in options}
    return "".join(parts), "mixed" if len(used) > 1 else "gb18030"


def _looks_like_chinese_text(text: str) -> bool:
    visible = len(text) - text.count(" ") - text.count("\n")
    if visible == 0:
        return True
    unexpected = _UNEXPECTED_CHARS.findall(text)
    if len(unexpected) > visible * _MAX_UNEXPECTED_SHARE:
        return False
    bad = sum(1 for ch in unexpected if unicodedata.category(ch) in _BAD_CATEGORIES)
    return bad <= max(3, visible * 0.005)


def _looks_like_any_text(text: str) -> bool:
    if not text.strip():
        return False
    bad = sum(
        1
        for ch in text
        if unicodedata.category(ch) in _BAD_CATEGORIES and ch not in "\t\n\r\f\v"
    )
    return bad <= max(3, len(text) * 0.005)


def _guess_with_charset_normalizer(data: bytes) -> tuple[str, str] | None:
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # optional: without it we just cannot guess
        return None
    best = from_bytes(data).best()
    # chaos is charset-normalizer's "mess" ratio; above 0.1 the guess is shaky.
    if best is None or best.chaos > 0.1:
        return None
    text = str(best)
    if not _looks_like_any_text(text):
        return None
    try:
        encoding = codecs.lookup(best.encoding).name
    except LookupError:
        encoding = best.encoding
    return text, encoding


# ---------------------------------------------------------------------------
# PDF
# ---------------------------------------------------------------------------

# Fewer letters/digits/ideographs than this (after page numbers are removed)
# means the PDF is images only.
_MIN_PDF_CHARS = 20
_MIN_PDF_CHARS_PER_PAGE = 2


def _extract_pdf(data: bytes, max_pages: int) -> ExtractedText:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError

    if b"%PDF-" not in data[:1024]:
        raise ExtractError(
            "it is not a PDF file (no %PDF header); check the file or give it the right extension"
        )
    try:
        reader = PdfReader(io.BytesIO(data))
        _unlock_pdf(reader)
        page_count = len(reader.pages)
    except (ExtractError, OSError):
        raise
    except DependencyError as exc:
        raise _aes_error() from exc
    except Exception as exc:
        raise _damaged_pdf(exc) from exc
    if page_count > max_pages:
        raise ExtractError(
            f"PDF has {page_count} pages, more than the limit of {max_pages}; split it into smaller files"
        )
    raw_pages = _pdf_page_texts(reader)
    pages = [_clean_pdf_page(raw) for raw in raw_pages]
    text, page_starts = _join_pages(pages)
    if _pdf_lacks_text(text, len(pages)):
        raise ExtractError("PDF has no text layer (scanned?); run OCR on it first")
    return ExtractedText(text, page_starts, None)


def _unlock_pdf(reader: Any) -> None:
    from pypdf import PasswordType

    if not reader.is_encrypted:
        return
    # Many official PDFs only carry an owner password (printing/copying
    # restrictions) and open with an empty user password.
    if reader.decrypt("") == PasswordType.NOT_DECRYPTED:
        raise ExtractError(
            "PDF is encrypted with a password; decrypt it or export an unprotected copy"
        )


def _aes_error() -> ExtractError:
    return ExtractError(
        "PDF is AES-encrypted and reading it needs the 'cryptography' package; "
        "install it (pip install cryptography) or export an unprotected copy"
    )


def _damaged_pdf(exc: BaseException) -> ExtractError:
    return ExtractError(f"PDF is damaged or truncated ({_short_reason(exc)}); re-export it")


def _pdf_page_texts(reader: Any) -> list[str]:
    from pypdf.errors import DependencyError

    texts: list[str] = []
    with _font_cache():
        for number in range(len(reader.pages)):
            try:
                texts.append(reader.pages[number].extract_text() or "")
            except DependencyError as exc:
                raise _aes_error() from exc
            except (MemoryError, RecursionError):
                raise
            except Exception as exc:
                raise ExtractError(
                    f"PDF is damaged or truncated (page {number + 1}: {_short_reason(exc)}); re-export it"
                ) from exc
    return texts


_FONT_CACHE: contextvars.ContextVar[dict[int, tuple[Any, Any]] | None] = contextvars.ContextVar(
    "policyqa_pdf_font_cache", default=None
)
_font_patch_installed = False


@contextlib.contextmanager
def _font_cache() -> Iterator[None]:
    """Reuse parsed fonts across the pages of one PDF.

    pypdf re-parses every font (including large ToUnicode CMaps of CJK
    fonts) on every page, which is ~40% of extraction time for a 300-page
    government PDF. Font objects are not mutated during extraction, so one
    parse per font dictionary suffices. The cache lives in a ContextVar, so
    other pypdf users in the process (and other threads) are unaffected.
    """
    _install_font_patch()
    token = _FONT_CACHE.set({})
    try:
        yield
    finally:
        _FONT_CACHE.reset(token)


def _install_font_patch() -> None:
    global _font_patch_installed
    if _font_patch_installed:
        return
    _font_patch_installed = True
    try:
        from pypdf.generic._font import Font

        original = Font.__dict__["from_font_resource"].__func__
    except (ImportError, KeyError, AttributeError):
        return  # a pypdf without this internal: just run uncached

    def from_font_resource(cls: type, pdf_font_dict: Any) -> Any:
        cache = _FONT_CACHE.get()
        if cache is None:
            return original(cls, pdf_font_dict)
        # Keyed by identity: the reader returns the same resolved object for
        # the same indirect font on every page; we keep it alive in the value
        # so the id cannot be reused while the cache exists.
        hit = cache.get(id(pdf_font_dict))
        if hit is not None and hit[0] is pdf_font_dict:
            return hit[1]
        font = original(cls, pdf_font_dict)
        cache[id(pdf_font_dict)] = (pdf_font_dict, font)
        return font

    Font.from_font_resource = classmethod(from_font_resource)  # type: ignore[method-assign]


def _join_pages(pages: list[str]) -> tuple[str, list[int]]:
    starts: list[int] = []
    offset = 0
    for page in pages:
        starts.append(offset)
        offset += len(page) + 1  # the '\n' that joins pages
    return "\n".join(pages), starts


def _pdf_lacks_text(text: str, page_count: int) -> bool:
    chars = sum(1 for ch in text if ch.isalnum())
    return chars < max(_MIN_PDF_CHARS, _MIN_PDF_CHARS_PER_PAGE * page_count)


_PAGE_NUMBER_LINE = re.compile(
    r"""^(?:
        [-－—–‒―~～\s]*\d{1,4}[-－—–‒―~～\s]*          # 12, - 12 -, —12—
      | 第\s*\d{1,4}\s*页(?:\s*[,，/／]?\s*共\s*\d{1,4}\s*页)?  # 第 12 页, 第12页 共30页
      | \d{1,4}\s*[/／]\s*\d{1,4}                       # 12/30
      | (?i:page)\s*\d{1,4}(?:\s*(?i:of)\s*\d{1,4})?   # Page 12 of 30
      | [-－—–\s]*[IVXLCivxlc]{1,7}[-－—–\s]*          # roman front-matter numbers
    )$""",
    re.VERBOSE,
)
# How many lines at each page edge may be header/footer page numbers.
_PAGE_NUMBER_EDGE_LINES = 2

_CN_NUM = "一二三四五六七八九十百千零〇两"
_HEADING_START = re.compile(
    rf"""^(?:
        第[{_CN_NUM}\d]+[条章节编款项部篇]       # 第三条, 第二章
      | [{_CN_NUM}]+[、．.]                     # 一、
      | [（(][{_CN_NUM}\d]+[）)]                # （一）, (1)
      | \d{{1,3}}(?:\.\d{{1,3}})*[、．.](?!\d)  # 1. 1、 1.2.
      | \d{{1,3}}(?:\.\d{{1,3}})+\s             # 1.2 标题
      | [①-⑳]
      | 附件 | 附表 | 附录
    )""",
    re.VERBOSE,
)
# pypdf separates table cells with spaces; prose has no space between two
# ideographs (it only pads digits and Latin words).
_TABLE_GAP = re.compile(r"[\u4e00-\u9fff] +(?=[\u4e00-\u9fff])")
# Not 、: an author never ends a line on it, a layout often does ("市、县（市、" / "区）人民政府").
_SENTENCE_END = frozenset("。！？；：:）)!?;.")
_CLOSING_QUOTES = "”’\"'」』》〉】"
# A line this close to the page's widest line was probably wrapped by the
# layout rather than ended by the author.
_FULL_LINE_RATIO = 0.8
_MIN_WRAP_WIDTH = 20


def _clean_pdf_page(raw: str) -> str:
    """Normalise one page, drop page-number lines, re-join wrapped lines."""
    lines = [line.strip() for line in _normalise(raw).split("\n")]
    lines = _drop_page_numbers(lines)
    lines = _join_wrapped_lines(lines)
    return "\n".join(_collapse_blank_lines(lines))


def _drop_page_numbers(lines: list[str]) -> list[str]:
    # Only at the page edges: a bare number mid-page is usually table data.
    for from_end in (False, True):
        for _ in range(_PAGE_NUMBER_EDGE_LINES):
            index = _edge_line_index(lines, from_end)
            if index is None or not _PAGE_NUMBER_LINE.match(lines[index]):
                break
            del lines[index]
    return lines


def _edge_line_index(lines: list[str], from_end: bool) -> int | None:
    order = range(len(lines) - 1, -1, -1) if from_end else range(len(lines))
    for index in order:
        if lines[index]:
            return index
    return None


def _join_wrapped_lines(lines: list[str]) -> list[str]:
    widths = [_display_width(line) for line in lines]
    full = max(widths, default=0) * _FULL_LINE_RATIO
    out: list[str] = []
    prev, prev_width = "", 0
    for line, width in zip(lines, widths):
        if out and _continues(prev, prev_width, line, full):
            out[-1] = _glue(out[-1], line)
        else:
            out.append(line)
        prev, prev_width = line, width
    return out


def _continues(prev: str, prev_width: int, line: str, full_width: float) -> bool:
    """Whether physical line ``line`` continues the sentence of ``prev``."""
    if not prev or not line or full_width < _MIN_WRAP_WIDTH:
        return False
    if prev_width < full_width:  # a short line ends a heading or paragraph
        return False
    if prev.rstrip(_CLOSING_QUOTES)[-1:] in _SENTENCE_END:
        return False
    if len(_TABLE_GAP.findall(prev)) >= 2:  # a table row, not prose
        return False
    return not _HEADING_START.match(line)


# Text exported from a PDF may keep the page's line wraps, each line a paragraph of its own
# ("第一条 为了……保护和改善城市生态环境，制" / "" / "定本条例。") or ended by a single line end.
# Such a file is re-joined like a PDF page when its wraps show: many lines stop mid-sentence at
# one width, and the break often falls inside a word (制|定, 城|市). Headings stop mid-sentence
# too, but between words: in the
# shared corpus none of the breaks falls inside a word in three of the four files that the width
# test alone would join wrongly (headings, name lists; the fourth has too few breaks to count),
# against 44–65% in each of the 5 files exported with their wraps.
_WRAPPED_MIN_COUNT = 8
_WRAPPED_MIN_SHARE = 0.15  # of the lines
_WRAPPED_MIN_SPLIT_WORDS = 0.3
_WRAP_TOLERANCE = 4  # display columns a wrapped line may fall short of the width (a half-width digit, a ）)
_MARKDOWN_BLOCK = re.compile(r"^(?:#|\||[-*+] |>|```)")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n.*?\n---[ \t]*(?:\n|\Z)", re.S)


def rejoin_wrapped_paragraphs(text: str) -> str:
    """``text`` with the lines that a layout's wraps made of one sentence joined again (see above);
    any other text is returned as it is.

    Example::

        rejoin_wrapped_paragraphs(wrapped)   # "……保护和改善城市生态环境，制\n\n定本条例。" -> "……制定本条例。"
    """
    front = _FRONT_MATTER.match(text)
    if front:  # YAML front matter is not prose: its lines stay as they are
        return text[: front.end()] + rejoin_wrapped_paragraphs(text[front.end():])
    lines = text.split("\n")
    # Each wrapped line may be a paragraph of its own or the next line of the same one.
    filled = [i for i, line in enumerate(lines) if line]
    # Only a line that stops mid-sentence can go on in the next; most lines end in 。, and their
    # widths are not measured (this runs on every text file).
    open_lines = {i: _display_width(lines[i]) for i in filled
                  if lines[i].rstrip(_CLOSING_QUOTES)[-1:] not in _SENTENCE_END}
    if len(filled) < 2 * _WRAPPED_MIN_COUNT or len(open_lines) < _WRAPPED_MIN_COUNT:
        return text
    # The layout's width is the commonest width of those lines (some exports also put two wrapped
    # lines on one, so the widest line does not tell it).
    full = Counter(open_lines.values()).most_common(1)[0][0] - _WRAP_TOLERANCE
    # An indented line ("　　第二条……") starts a paragraph, however the line before it ends.
    pairs = [(a, b) for a, b in zip(filled, filled[1:])
             if a in open_lines and not _MARKDOWN_BLOCK.match(lines[a]) and not _MARKDOWN_BLOCK.match(lines[b])
             and not lines[b][0].isspace() and _continues(lines[a], open_lines[a], lines[b], full)]
    if len(pairs) < max(_WRAPPED_MIN_COUNT, _WRAPPED_MIN_SHARE * len(filled)):
        return text
    if sum(_splits_word(lines[a], lines[b]) for a, b in pairs) < _WRAPPED_MIN_SPLIT_WORDS * len(pairs):
        return text
    joins = dict(pairs)
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        while i in joins:  # a sentence may run over several wrapped lines
            i = joins[i]
            line = _glue(line, lines[i])
        out.append(line)
        i += 1
    return "\n".join(out)


def _splits_word(prev: str, line: str) -> bool:
    """Whether the break between ``prev`` and ``line`` falls inside a word: 制|定本条例."""
    from .tokenize import Tokenizer  # jieba loads only for text that looks wrapped

    tail = prev[-6:]
    position = 0
    for word in Tokenizer().words(tail + line[:6]):
        if position < len(tail) < position + len(word):
            return True
        position += len(word)
    return False


def _glue(prev: str, line: str) -> str:
    # Latin words wrapped across lines need their space back; CJK does not.
    if prev[-1].isascii() and prev[-1].isalnum() and line[0].isascii() and line[0].isalnum():
        return f"{prev} {line}"
    return prev + line


def _display_width(line: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)


def _collapse_blank_lines(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    while out and not out[-1]:
        out.pop()
    return out


# ---------------------------------------------------------------------------
# DOCX
# ---------------------------------------------------------------------------

_DOCX_MAX_TOTAL = 200_000_000  # declared uncompressed bytes, all members
_DOCX_MAX_MEMBERS = 10_000
_DOCX_MAX_RATIO = 100
_DOCX_RATIO_MIN_SIZE = 10_000_000  # small members may compress very well legitimately

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_W_P, _W_TBL, _W_SDT, _W_SDT_CONTENT = f"{_W}p", f"{_W}tbl", f"{_W}sdt", f"{_W}sdtContent"
_W_T, _W_TAB, _W_BR, _W_CR = f"{_W}t", f"{_W}tab", f"{_W}br", f"{_W}cr"
_W_TXBX = f"{_W}txbxContent"


def _extract_docx(data: bytes) -> ExtractedText:
    _check_docx_package(data)
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except ExtractError:
        raise
    except Exception as exc:
        raise ExtractError(
            f"not a valid .docx ({_short_reason(exc)}); open it in Word and save it again as .docx"
        ) from exc
    lines = list(_docx_block_lines(document.element.body))
    text = _normalise("\n".join(lines))
    if not text.strip():
        raise ExtractError("the file is empty: the document contains no text")
    return ExtractedText(text, None, None)


def _check_docx_package(data: bytes) -> None:
    """Refuse non-ZIP files and zip bombs before any XML is inflated."""
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ExtractError(
            "not a valid .docx: it is a legacy .doc or a password-protected Word file; "
            "save it from Word as an unprotected .docx"
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile as exc:
        raise ExtractError(
            "not a valid .docx (it is not a ZIP package); open it in Word and save it again as .docx"
        ) from exc
    names = {info.filename for info in members}
    # Word occasionally names the main part word/document2.xml.
    has_main = any(re.fullmatch(r"word/document\d*\.xml", name) for name in names)
    if "[Content_Types].xml" not in names or not has_main:
        raise ExtractError(
            "not a valid .docx (no word/document.xml inside); open it in Word and save it again as .docx"
        )
    _refuse_zip_bomb(members)


def _refuse_zip_bomb(members: list[zipfile.ZipInfo]) -> None:
    if len(members) > _DOCX_MAX_MEMBERS:
        raise ExtractError(
            f"the .docx looks like a zip bomb ({len(members)} members); do not process it"
        )
    total = sum(info.file_size for info in members)
    if total > _DOCX_MAX_TOTAL:
        raise ExtractError(
            f"the .docx looks like a zip bomb (it would expand to {total / 1_000_000:.1f} MB); "
            "do not process it"
        )
    for info in members:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > _DOCX_RATIO_MIN_SIZE and ratio > _DOCX_MAX_RATIO:
            raise ExtractError(
                f"the .docx looks like a zip bomb ({info.filename} expands {ratio:.0f}x); do not process it"
            )


def _docx_block_lines(container: Any) -> Iterator[str]:
    # Walk the XML ourselves: python-docx's iter_inner_content() skips
    # content controls (w:sdt), which official templates use a lot.
    for child in container.iterchildren():
        if child.tag == _W_P:
            yield _docx_paragraph_text(child).strip()
        elif child.tag == _W_TBL:
            yield from _docx_table_lines(child)
        elif child.tag == _W_SDT:
            for content in child.iterchildren(_W_SDT_CONTENT):
                yield from _docx_block_lines(content)


def _docx_paragraph_text(p: Any) -> str:
    parts: list[str] = []
    for el in p.iter(_W_T, _W_TAB, _W_BR, _W_CR):
        # Text boxes are duplicated in mc:Fallback and float outside the flow.
        if any(anc.tag == _W_TXBX for anc in el.iterancestors()):
            continue
        if el.tag == _W_T:
            parts.append(el.text or "")
        elif el.tag == _W_TAB:
            parts.append("\t")
        else:
            parts.append("\n")
    return "".join(parts)


def _docx_table_lines(tbl: Any) -> Iterator[str]:
    from docx.table import Table

    table = Table(tbl, None)  # type: ignore[arg-type]
    for row in table.rows:
        cells: list[str] = []
        previous_tc = None
        for cell in row.cells:
            if cell._tc is previous_tc:  # a horizontally merged cell repeats
                continue
            previous_tc = cell._tc
            cells.append(_docx_cell_text(cell._tc))
        if any(cells):
            yield " | ".join(cells)


def _docx_cell_text(tc: Any) -> str:
    # One row must stay one line: paragraphs (and nested tables) in a cell
    # are joined with spaces.
    texts = (_docx_paragraph_text(p) for p in tc.iter(_W_P))
    return " ".join(" ".join(t.split()) for t in texts if t.strip())


# ---------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------

_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE
)
# Labels for GB2312/GBK are routinely applied to pages that use GBK-only
# characters; GB18030 is a superset of all of them.
_GB_LABELS = frozenset({"gb2312", "gbk", "x-gbk", "gb_2312-80", "cp936", "euc-cn", "gb18030"})


def _extract_html(data: bytes) -> ExtractedText:
    markup, encoding = _decode_html(data)
    parser = _VisibleTextParser()
    parser.feed(markup)
    parser.close()
    text = _normalise(parser.text())
    if not text.strip():
        raise ExtractError("the HTML page contains no visible text; save the page's content instead")
    return ExtractedText(text, None, encoding)


def _decode_html(data: bytes) -> tuple[str, str]:
    if any(data.startswith(bom) for bom, _ in _BOMS):
        return decode_bytes(data)
    if not data.isascii():
        # A page that is valid UTF-8 is UTF-8 even if an old <meta> (kept when
        # the page was re-saved) claims GBK: GBK text is almost never valid UTF-8.
        try:
            return data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            pass
    declared = _declared_charset(data[:4096])
    if declared is not None:
        try:
            return data.decode(declared), declared
        except UnicodeDecodeError:
            pass  # the declaration lies; fall back to detection
    return decode_bytes(data)


def _declared_charset(head: bytes) -> str | None:
    match = _META_CHARSET.search(head)
    if match is None:
        return None
    label = match.group(1).decode("ascii").lower()
    if label in _GB_LABELS:
        return "gb18030"
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


_SKIP_TAGS = frozenset({"script", "style", "noscript", "template"})
_HEAD_TAGS = frozenset({"meta", "link", "base", "title", "script", "style", "noscript", "template"})
# Paragraph-level blocks may leave one blank line around them; line-level
# blocks (rows, list items, layout divs) only start a new line, so tables and
# div soup do not turn into double-spaced text.
_PARAGRAPH_TAGS = frozenset(
    {
        "article", "blockquote", "dl", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "ol",
        "p", "pre", "section", "table", "ul",
    }
)
_LINE_TAGS = frozenset(
    {
        "address", "aside", "body", "caption", "dd", "details", "dialog", "div", "dt",
        "fieldset", "figcaption", "figure", "footer", "form", "header", "html", "li",
        "main", "nav", "summary", "tbody", "tfoot", "thead", "tr",
    }
)
_CELL_TAGS = frozenset({"td", "th"})

# Break markers written while parsing and resolved in text(): block
# boundaries of nested or adjacent elements pile up, and must collapse to
# one line break (or one blank line for paragraphs), while consecutive <br>s
# are the author's own blank line. Both are control characters, which
# handle_data strips from page text, so they cannot collide with content.
_SOFT_BREAK = "\x1e"
_PARAGRAPH_BREAK = "\x1d"
_BREAK_RUN = re.compile(r"[^\S\n]*[\n\x1d\x1e][\s\x1d\x1e]*")
_HTML_SPACE = re.compile(r"[ \t\r\n\f]+")


def _resolve_break(match: re.Match[str]) -> str:
    run = match.group()
    blank = _PARAGRAPH_BREAK in run or run.count("\n") >= 2
    return "\n\n" if blank else "\n"


class _VisibleTextParser(HTMLParser):
    """Collect the text a browser would show, with block elements as lines."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._parts: list[str] = []
        self._title: list[str] = []
        self._skip_depth = 0
        self._pre_depth = 0
        self._in_head = False
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "head":
            self._in_head = True
        elif self._in_head and tag not in _HEAD_TAGS:
            self._in_head = False  # unclosed <head>: body content has begun
        if tag in _SKIP_TAGS:
            self._skip_depth += 1
        elif tag == "title":
            self._in_title = True
        elif tag in _CELL_TAGS:
            if not self._at_line_start():
                self._parts.append(" | ")
        else:
            self._pre_depth += tag == "pre"
            self._add_break(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._add_break(tag)  # XHTML-style <br/> or <hr/>: nothing to track

    def handle_endtag(self, tag: str) -> None:
        if tag == "head":
            self._in_head = False
        elif tag in _SKIP_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag == "title":
            self._in_title = False
        elif tag != "br":  # </br> is a browser quirk; ignore it
            self._pre_depth = max(0, self._pre_depth - (tag == "pre"))
            self._add_break(tag)

    def handle_data(self, data: str) -> None:
        if self._skip_depth:
            return
        data = _CONTROL_CHARS.sub("", data.replace("\r\n", "\n").replace("\r", "\n"))
        if self._in_title:
            self._title.append(data)
        elif self._in_head:
            return
        elif self._pre_depth:
            self._parts.append(data)
        else:
            # Source whitespace (including newlines) is not significant in HTML.
            self._parts.append(_HTML_SPACE.sub(" ", data))

    def _add_break(self, tag: str) -> None:
        if tag == "br":
            self._parts.append("\n")
        elif tag in _PARAGRAPH_TAGS:
            self._parts.append(_PARAGRAPH_BREAK)
        elif tag in _LINE_TAGS:
            self._parts.append(_SOFT_BREAK)
        elif tag == "img":
            self._parts.append(" ")

    def _at_line_start(self) -> bool:
        for part in reversed(self._parts):
            if part.strip(" "):
                return part[-1] in ("\n", _SOFT_BREAK, _PARAGRAPH_BREAK)
        return True

    def text(self) -> str:
        body = _BREAK_RUN.sub(_resolve_break, "".join(self._parts).replace("\xa0", " "))
        lines = [line.strip() for line in _normalise(body).split("\n")]
        body_text = "\n".join(_collapse_blank_lines(lines)).strip("\n")
        title = " ".join("".join(self._title).split())
        # A title without any body text is not content worth indexing.
        if title and body_text and not body_text.startswith(title):
            return f"{title}\n{body_text}"
        return body_text
