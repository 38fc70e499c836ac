"""Passages from sections: the retrievable, citable units.

Rules, in order:

- a passage never spans two articles (第X条) nor two top-level sections;
- a heading with no body of its own joins the section that follows it, and a section shorter
  than ``min_chars`` merges with its neighbour inside the same top-level section ("merges
  upward": the merged passage takes the common parent path), so that it stays retrievable;
- a section longer than ``max_chars`` is split at sentence ends (。！？；), then at line ends,
  into pieces of at most ``max_chars``.

:class:`PolicyChunker` wraps this as a LlamaIndex ``NodeParser`` so that it composes with the
rest of LlamaIndex.

Example::

    chunker = Chunker(min_chars=120, max_chars=500)
    passages = chunker.split(document)
    passages[0].section_path   # ('一、总体要求',)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from llama_index.core.node_parser import NodeParser
from llama_index.core.schema import BaseNode, TextNode

from .documents import Passage, PolicyDocument, Section
from .structure import parse_sections

_SENTENCE_END = re.compile(r"[^。！？；!?;\n]*(?:[。！？；!?;][”’」』）)]*|\n+|$)")
_CLAUSE_END = re.compile(r"[，、,：:]")


@dataclass
class _Block:
    path: tuple[str, ...]
    start: int
    end: int
    articles: int  # 第X条 articles inside: a passage holds at most one
    heading_only: bool = False


@dataclass
class _Node:
    """A section in the heading tree: its own span (heading line and text up to its first child)."""

    path: tuple[str, ...]
    start: int
    end: int
    is_article: bool
    children: list[_Node] = field(default_factory=list)

    @property
    def subtree_end(self) -> int:
        return self.children[-1].subtree_end if self.children else self.end

    def article_count(self) -> int:
        return int(self.is_article) + sum(child.article_count() for child in self.children)


def _tree(sections: Sequence[Section]) -> _Node:
    root = _Node((), 0, 0, False)
    stack = [root]
    for section in sections:
        if not section.path:  # the preamble: text before the first heading
            root.start, root.end = section.start, section.end
            continue
        node = _Node(section.path, section.start, section.end, section.is_article)
        while len(stack) > 1 and not (
            len(stack[-1].path) < len(node.path) and node.path[: len(stack[-1].path)] == stack[-1].path
        ):
            stack.pop()
        stack[-1].children.append(node)
        stack.append(node)
    return root


def _common_prefix(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    size = 0
    for x, y in zip(a, b):
        if x != y:
            break
        size += 1
    return a[:size]


@dataclass
class Chunker:
    """Splits a :class:`PolicyDocument` into :class:`Passage` objects along its own structure."""

    min_chars: int = 120
    max_chars: int = 500

    def __post_init__(self) -> None:
        if not 0 < self.min_chars < self.max_chars:
            raise ValueError(
                f"chunking needs 0 < min_chars < max_chars; got min_chars={self.min_chars}, "
                f"max_chars={self.max_chars}"
            )

    def split(self, document: PolicyDocument) -> list[Passage]:
        text = document.text
        passages: list[Passage] = []
        for block in self._blocks(text, _tree(parse_sections(text))):
            for start, end in self._pieces(text, block.start, block.end):
                body = text[start:end]
                if not body.strip():
                    continue  # a piece of blank lines only: nothing to retrieve or cite
                lead = len(body) - len(body.lstrip())
                start, end = start + lead, start + len(body.rstrip())
                passages.append(
                    Passage(
                        doc_id=document.doc_id,
                        ordinal=len(passages),
                        text=text[start:end],
                        section_path=block.path,
                        char_start=start,
                        char_end=end,
                        pages=document.pages_for(start, end),
                    )
                )
        return passages

    def _blocks(self, text: str, root: _Node) -> list[_Block]:
        def size(start: int, end: int) -> int:
            return len(text[start:end].strip())

        def own_block(node: _Node) -> list[_Block]:
            if not size(node.start, node.end):
                return []
            body = text[node.start:node.end].strip()
            heading_only = bool(node.path) and "\n" not in body and len(body) <= 60 and not node.is_article
            return [_Block(node.path, node.start, node.end, int(node.is_article), heading_only)]

        def visit(node: _Node) -> list[_Block]:
            end = node.subtree_end
            # A whole subsection that fits (e.g. "（二）…" with its items 1.–6.) is the best passage.
            if node.path and size(node.start, end) <= self.max_chars and node.article_count() <= 1:
                # A bare heading over a single child ("第七章 附则" + "第五十条") is cited by the child.
                inner = node
                while len(inner.children) == 1 and all(b.heading_only for b in own_block(inner)):
                    inner = inner.children[0]
                return [_Block(inner.path, node.start, end, node.article_count())] if size(node.start, end) else []
            parts = own_block(node)
            for child in node.children:
                parts.extend(visit(child))
            return self._merge(parts, size)

        blocks = own_block(root)  # the preamble stays on its own
        for top in root.children:  # never merge across top-level sections
            blocks.extend(visit(top))
        return blocks

    def _merge(self, parts: list[_Block], size: Callable[[int, int], int]) -> list[_Block]:
        """Merge neighbours inside one parent: bare headings forward, short pieces with a sibling."""
        merged: list[_Block] = []
        for block in parts:
            if merged:
                last = merged[-1]
                if last.heading_only and block.path[: len(last.path)] == last.path:
                    # A bare heading belongs to what it heads: keep the deeper path.
                    merged[-1] = _Block(block.path, last.start, block.end, block.articles, block.heading_only)
                    continue
                small = size(last.start, last.end) < self.min_chars or size(block.start, block.end) < self.min_chars
                fits = size(last.start, block.end) <= self.max_chars
                if small and fits and last.articles + block.articles <= 1:
                    merged[-1] = _Block(_common_prefix(last.path, block.path), last.start, block.end,
                                        last.articles + block.articles)
                    continue
            merged.append(block)
        return merged

    def _pieces(self, text: str, start: int, end: int) -> list[tuple[int, int]]:
        """[start, end) cut at sentence ends into spans of at most max_chars."""
        if end - start <= self.max_chars:
            return [(start, end)]
        spans: list[tuple[int, int]] = []
        for match in _SENTENCE_END.finditer(text, start, end):
            if match.end() == match.start():
                continue
            spans.extend(self._hard_split(text, match.start(), match.end()))
        pieces: list[tuple[int, int]] = []
        piece_start, piece_end = spans[0]
        for s, e in spans[1:]:
            if e - piece_start <= self.max_chars:
                piece_end = e
            else:
                pieces.append((piece_start, piece_end))
                piece_start, piece_end = s, e
        pieces.append((piece_start, piece_end))
        # A tiny tail reads badly alone: move whole sentences from its predecessor into it, as
        # long as the tail stays within max_chars (the predecessor only shrinks).
        if len(pieces) > 1 and pieces[-1][1] - pieces[-1][0] < self.min_chars // 2:
            (prev_start, boundary), (_, tail_end) = pieces[-2], pieces[-1]
            for s, _e in reversed([span for span in spans if prev_start < span[0] < boundary]):
                if tail_end - s > self.max_chars:
                    break
                boundary = s
                if tail_end - s >= self.min_chars // 2:
                    break
            pieces[-2:] = [(prev_start, boundary), (boundary, tail_end)]
        return pieces

    def _hard_split(self, text: str, start: int, end: int) -> list[tuple[int, int]]:
        """A sentence longer than max_chars (a table row, a run-on clause) cut at commas or blindly."""
        if end - start <= self.max_chars:
            return [(start, end)]
        cuts = [m.end() for m in _CLAUSE_END.finditer(text, start, end)]
        spans, piece_start = [], start
        for cut in cuts + [end]:
            while cut - piece_start > self.max_chars:
                spans.append((piece_start, piece_start + self.max_chars))
                piece_start += self.max_chars
            if cut > piece_start:
                spans.append((piece_start, cut))
                piece_start = cut
        return spans


class PolicyChunker(NodeParser):
    """LlamaIndex ``NodeParser`` that applies :class:`Chunker` to llama-index ``Document`` nodes.

    Example::

        from llama_index.core import Document
        nodes = PolicyChunker().get_nodes_from_documents([Document(text="第一条 ……")])
    """

    min_chars: int = 120
    max_chars: int = 500

    def _parse_nodes(self, nodes: Sequence[BaseNode], show_progress: bool = False, **kwargs: Any) -> list[BaseNode]:
        chunker = Chunker(self.min_chars, self.max_chars)
        out: list[BaseNode] = []
        for node in nodes:
            document = PolicyDocument(doc_id=node.node_id, source=str(node.metadata.get("source", "")),
                                      text=node.get_content())
            for passage in chunker.split(document):
                out.append(
                    TextNode(
                        text=passage.text,
                        metadata={**node.metadata, "section_path": list(passage.section_path)},
                        start_char_idx=passage.char_start,
                        end_char_idx=passage.char_end,
                    )
                )
        return out

