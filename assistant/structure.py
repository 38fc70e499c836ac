"""The heading tree of a policy document, read off its lines.

Chinese policy texts number their own structure: 第X编/章/节/条 in laws and regulations,
一、 （一） 1. （1） in notices and opinions, 附件 for attachments, and Markdown ``#`` headings in
converted files. Each heading line opens a :class:`Section`; its path is the stack of enclosing
headings. Inside an article (第X条) the enumerations are the article's own list items, not
headings, so an article always stays one unit.

Example::

    sections = parse_sections("第一章 总则\\n第一条 为了……\\n第二条 本办法……")
    [s.path for s in sections]   # [('第一章 总则',), ('第一章 总则', '第一条'), ('第一章 总则', '第二条')]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .documents import Section

_NUM = "一二三四五六七八九十百千零〇两"
_HEADING_MAX = 60  # a longer path element is cut: it is a label, the full text is in the passage

# (rank, pattern) — a new heading closes every open heading of equal or deeper rank.
_ATTACHMENT = re.compile(r"^附\s*件\s*[\d一二三四五六七八九十]*\s*[:：]?\s*(.{0,50})$")
_PART = re.compile(rf"^第[{_NUM}\d]+编(?:[\s　]+|$)(.*)$")
_CHAPTER = re.compile(rf"^第[{_NUM}\d]+章(?:[\s　]+|$)(.*)$")
_SECTION = re.compile(rf"^第[{_NUM}\d]+节(?:[\s　]+|$)(.*)$")
# Not a reference to another text's article on a line of its own: "第二十条第（一）项" heads a table
# in every 政府信息公开工作年度报告 (the State Council's template), and would turn the rest of the
# report into one article whose 三、四、五、 headings are list items.
_ARTICLE = re.compile(rf"^(第[{_NUM}\d]+条(?:之[{_NUM}]+)?)(?!第[（(]?[{_NUM}\d]{{1,3}}[）)]?[款项目])"
                      rf"(?=[\s　]|[\u4e00-\u9fa5“（(《]|$)")
_LEVEL1 = re.compile(rf"^[{_NUM}]{{1,3}}[、.．]")
_LEVEL2 = re.compile(rf"^[（(][{_NUM}]{{1,3}}[）)]")
_LEVEL3 = re.compile(r"^\d{1,2}(?:[、．]|\.(?!\d))")
_LEVEL4 = re.compile(r"^[（(]\d{1,2}[）)]")
_MD = re.compile(r"^(#{1,6})\s+(.*)$")
# A row of a table that came out as text: "一、本年新收政府信息公开申请数量 95 0 0 0 0 0 95" is numbered
# like a heading, but its cells are numbers.
TABLE_ROW = re.compile(r"(?:\s+-?\d+(?:\.\d+)?%?){3,}\s*$")

RANK_ATTACHMENT, RANK_PART, RANK_CHAPTER, RANK_SECTION, RANK_ARTICLE = 0, 10, 11, 12, 13
RANK_LEVEL = {1: 20, 2: 21, 3: 22, 4: 23}


@dataclass(frozen=True)
class Heading:
    """One heading line: its rank in the tree and the label that goes into section paths."""

    rank: int
    label: str
    is_article: bool = False


def _clip(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= _HEADING_MAX else text[: _HEADING_MAX - 1] + "…"


_INNER_MARKER = re.compile(rf"(?<=.)(?:[（(][{_NUM}\d]{{1,3}}[）)]|(?<![\d.])\d{{1,2}}[、．.](?!\d))")


def _enumeration_label(line: str) -> str:
    """'（一）加强统筹。各区要……' -> '（一）加强统筹': an inline heading ends at its first stop,
    or where the next enumeration starts on the same line ('二、调整方案（一）调整定价方式')."""
    line = line.strip()
    match = re.match(r"^(.*?[。！？!?：:；;])", line)
    label = match.group(1).rstrip("。：:；;") if match and len(match.group(1)) < len(line) else line
    inner = _INNER_MARKER.search(label, 2)
    if inner:
        label = label[: inner.start()]
    if len(label) > 30 and (comma := re.search(r"[，,]", label)):
        label = label[: comma.start()]  # a run-on first sentence: its first clause names the section
    return _clip(label)


def classify(line: str, md_rank_offset: int = 0) -> Heading | None:
    """The heading that ``line`` opens, or None when it is body text."""
    line = line.strip().replace("\u3000", " ")
    if not line:
        return None
    md = _MD.match(line)
    if md:
        inner = classify(md.group(2))
        return inner or Heading(rank=len(md.group(1)) + md_rank_offset, label=_clip(md.group(2)))
    if (match := _ARTICLE.match(line)) is not None:
        return Heading(RANK_ARTICLE, match.group(1), is_article=True)
    for rank, pattern in ((RANK_PART, _PART), (RANK_CHAPTER, _CHAPTER), (RANK_SECTION, _SECTION)):
        if pattern.match(line) and len(line) <= 40 and not line.endswith("。"):
            return Heading(rank, _clip(line))
    if _ATTACHMENT.match(line):
        return Heading(RANK_ATTACHMENT, _clip(line))
    if TABLE_ROW.search(line):
        return None
    for level, pattern in ((1, _LEVEL1), (2, _LEVEL2), (3, _LEVEL3), (4, _LEVEL4)):
        if pattern.match(line):
            return Heading(RANK_LEVEL[level], _enumeration_label(line))
    return None


def parse_sections(text: str) -> list[Section]:
    """Cut ``text`` into consecutive sections, one per heading, covering all of it.

    Text before the first heading is a section with an empty path (the preamble).
    """
    sections: list[Section] = []
    stack: list[Heading] = []
    start = 0
    offset = 0
    current_path: tuple[str, ...] = ()
    current_is_article = False
    for line in text.splitlines(keepends=True):
        heading = classify(line)
        in_article = any(h.is_article for h in stack)
        if heading is not None and in_article and heading.rank >= RANK_LEVEL[1]:
            heading = None  # enumerations inside an article are its list items
        if heading is not None:
            if offset > start:
                sections.append(Section(current_path, start, offset, current_is_article))
            while stack and stack[-1].rank >= heading.rank:
                stack.pop()
            stack.append(heading)
            start = offset
            current_path = tuple(h.label for h in stack)
            current_is_article = heading.is_article
        offset += len(line)
    if offset > start:
        sections.append(Section(current_path, start, offset, current_is_article))
    return sections
