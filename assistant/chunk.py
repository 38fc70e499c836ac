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
from collections.abc import Sequence
from dataclasses import dataclass
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
    is_article: bool
    heading_only: bool


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
        blocks = self._blocks(text, parse_sections(text))
        passages: list[Passage] = []
        for block in self._merge(blocks, text):
            for start, end in self._pieces(text, block.start, block.end):
                body = text[start:end]
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

    @staticmethod
    def _blocks(text: str, sections: Sequence[Section]) -> list[_Block]:
        blocks = []
        for section in sections:
            body = text[section.start:section.end].strip()
            if not body:
                continue
            heading_only = bool(section.path) and "\n" not in body and len(body) <= 60 and not section.is_article
            blocks.append(_Block(section.path, section.start, section.end, section.is_article, heading_only))
        return blocks

    def _merge(self, blocks: list[_Block], text: str) -> list[_Block]:
        def size(block: _Block) -> int:
            return len(text[block.start:block.end].strip())

        def same_unit(a: _Block, b: _Block) -> bool:
            if not a.path or not b.path or a.path[0] != b.path[0]:
                return False
            return not (a.is_article and b.is_article)

        merged: list[_Block] = []
        for block in blocks:
            if merged:
                last = merged[-1]
                fits = size(last) + size(block) <= self.max_chars
                if last.heading_only and last.path == block.path[: len(last.path)] and (
                    fits or len(block.path) > len(last.path)
                ):
                    # A bare heading belongs to what it heads: keep the deeper path.
                    merged[-1] = _Block(block.path, last.start, block.end, block.is_article, block.heading_only)
                    continue
                if same_unit(last, block) and fits and (size(last) < self.min_chars or size(block) < self.min_chars):
                    merged[-1] = _Block(
                        _common_prefix(last.path, block.path),
                        last.start,
                        block.end,
                        last.is_article or block.is_article,
                        False,
                    )
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
        # A tiny tail reads better inside its predecessor, even if that overshoots a little.
        if len(pieces) > 1 and pieces[-1][1] - pieces[-1][0] < self.min_chars // 2:
            tail = pieces.pop()
            pieces[-1] = (pieces[-1][0], tail[1])
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

