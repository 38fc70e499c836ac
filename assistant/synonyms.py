"""Spoken wording and the words policy documents use for it: 养狗 / 养犬, 房东 / 出租人, 社保 / 社会保险.

People ask the way they speak; laws and notices are written in their own register. BM25 only
matches words, so a question about "遛狗的绳子" never meets "犬链" without help. The pairs live in
``data/synonyms.txt`` (spoken word, a tab, the documents' words); the retriever searches the
documents' words too, and :class:`~assistant.relevance.QueryTerms` counts a spoken word as covered
by a passage that uses any of them.

Example::

    expansions("郑州遛狗，绳子多长？")
    # [('遛狗', ('携犬', '犬只')), ('绳子', ('犬链', '牵引绳'))]
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from pathlib import Path

from .datafiles import data_rows
from .literals import words_pattern
from .tokenize import word_bounds

SYNONYMS_FILE = Path(__file__).with_name("data") / "synonyms.txt"


@cache
def thesaurus() -> dict[str, tuple[str, ...]]:
    """Spoken word -> the documents' words for it, from ``data/synonyms.txt``."""
    return {spoken: tuple(written) for spoken, written in data_rows(SYNONYMS_FILE)}


@cache
def _pattern() -> re.Pattern[str]:
    # The longest word at a position, so that 养狗 is one match rather than 狗 inside it.
    return words_pattern(thesaurus())


@lru_cache(maxsize=4096)  # one question's words are looked up by retrieval, the rerank and the answer
def expansions(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """(spoken word, the documents' words) for each spoken word in ``text``, in order, once each.

    A spoken word that starts and ends inside words of ``text`` straddles two of them, and does not
    count: 租房 is not read in "出租房屋" (出租 房屋), which asks about letting a house, not renting
    one. One that ends a word does ("带狗" is one word to jieba, and asks about 狗)."""
    pairs = thesaurus()
    pattern = _pattern()
    starts, ends = word_bounds(text)
    found: list[str] = []
    i = 0
    while i < len(text):
        match = pattern.match(text, i)
        if match and (i in starts or match.end() in ends):
            found.append(match.group(0))
            i = match.end()
        else:
            i += 1
    return [(word, pairs[word]) for word in dict.fromkeys(found)]
