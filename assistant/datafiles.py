"""The plain-text lists in ``assistant/data/``: one entry a line, ``#`` comments, blank lines.

Two shapes: a list of entries (``everyday_words.txt``, ``off_topic.txt``) and a table of a key, a
tab, then words (``cities.txt``, ``districts.txt``, ``synonyms.txt``).

Example::

    data_lines(Path("assistant/data/off_topic.txt"))[0]    # '红烧肉怎么做'
    data_rows(Path("assistant/data/synonyms.txt"))[0]      # ('狗', ['犬'])
"""

from __future__ import annotations

from pathlib import Path


def data_lines(path: Path) -> list[str]:
    """The entries of a one-entry-a-line list: stripped, without blank lines and ``#`` comments."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def data_rows(path: Path) -> list[tuple[str, list[str]]]:
    """The rows of a table: (what comes before the tab, the words after it)."""
    rows = []
    for line in data_lines(path):
        key, _, words = line.partition("\t")
        rows.append((key.strip(), words.split()))
    return rows
