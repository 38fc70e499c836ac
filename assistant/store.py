"""The chunk store: documents and passages with their metadata, in one SQLite file per index generation.

Passage row ids are the ids used by FAISS and the positions used by BM25, so a search result
maps back to its text and its document without a second lookup table.

Example::

    store = ChunkStore(path)              # creates the tables if needed
    store.add_document(doc, passages)
    store.passage(0).section_path         # ('三、…',)
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path

from .documents import DocumentMeta, Passage, PolicyDocument

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    source TEXT NOT NULL UNIQUE,
    file_hash TEXT NOT NULL,
    meta TEXT NOT NULL,
    page_count INTEGER NOT NULL DEFAULT 0,
    chars INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS passages (
    id INTEGER PRIMARY KEY,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id),
    ordinal INTEGER NOT NULL,
    text TEXT NOT NULL,
    section_path TEXT NOT NULL,
    char_start INTEGER NOT NULL,
    char_end INTEGER NOT NULL,
    pages TEXT NOT NULL,
    hash TEXT NOT NULL,
    tokens TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS passages_doc ON passages(doc_id);
"""

_META_FIELDS = {f.name for f in fields(DocumentMeta)}


@dataclass(frozen=True)
class StoredDocument:
    """A document as the index knows it: identity, metadata, size."""

    doc_id: str
    source: str
    file_hash: str
    meta: DocumentMeta
    page_count: int
    chars: int


@dataclass(frozen=True)
class StoredPassage:
    """A passage as stored: its row id (the FAISS/BM25 id) and everything needed to cite it."""

    id: int
    doc_id: str
    ordinal: int
    text: str
    section_path: tuple[str, ...]
    char_start: int
    char_end: int
    pages: list[int]
    hash: str


def meta_from_json(raw: str) -> DocumentMeta:
    data = json.loads(raw)
    return DocumentMeta(**{k: v for k, v in data.items() if k in _META_FIELDS})


class ChunkStore:
    """SQLite tables of documents and passages for one index generation."""

    def __init__(self, path: Path, readonly: bool = False) -> None:
        self.path = path
        if readonly:
            self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        else:
            self._db = sqlite3.connect(path, check_same_thread=False)
            self._db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + _SCHEMA)

    def close(self) -> None:
        self._db.close()  # closing twice is harmless

    def commit(self) -> None:
        self._db.commit()

    def next_id(self) -> int:
        """The id the next inserted passage gets."""
        return int(self._db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM passages").fetchone()[0])

    def add_document(self, document: PolicyDocument, passages: list[Passage], tokens: list[str] | None = None,
                     chars: int | None = None) -> list[int]:
        """Insert a document and its passages; return the passages' ids.

        ``tokens`` holds each passage's BM25 tokens, space-joined.
        """
        first = self.next_id()
        ids = list(range(first, first + len(passages)))
        self._db.execute(
            "INSERT INTO documents (doc_id, source, file_hash, meta, page_count, chars) VALUES (?, ?, ?, ?, ?, ?)",
            (
                document.doc_id,
                document.source,
                document.file_hash,
                json.dumps(document.meta.to_dict(), ensure_ascii=False),
                len(document.page_starts or []),
                len(document.text) if chars is None else chars,
            ),
        )
        self._db.executemany(
            "INSERT INTO passages (id, doc_id, ordinal, text, section_path, char_start, char_end, pages, hash, tokens) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    passage_id,
                    p.doc_id,
                    p.ordinal,
                    p.text,
                    json.dumps(list(p.section_path), ensure_ascii=False),
                    p.char_start,
                    p.char_end,
                    json.dumps(p.pages),
                    p.hash,
                    token_text,
                )
                for passage_id, p, token_text in zip(ids, passages, tokens or [""] * len(passages))
            ],
        )
        return ids

    def copy_documents_from(self, other: Path, doc_ids: list[str]) -> None:
        """Copy unchanged documents and their passages from the previous generation's store."""
        if not doc_ids:
            return
        self._db.execute("ATTACH DATABASE ? AS old", (f"file:{other}?mode=ro",))
        try:
            self._db.execute("CREATE TEMP TABLE keep (doc_id TEXT PRIMARY KEY)")
            self._db.executemany("INSERT INTO keep VALUES (?)", [(d,) for d in doc_ids])
            self._db.execute("INSERT INTO documents SELECT * FROM old.documents WHERE doc_id IN (SELECT doc_id FROM keep)")
            self._db.execute(
                "INSERT INTO passages (doc_id, ordinal, text, section_path, char_start, char_end, pages, hash, tokens) "
                "SELECT doc_id, ordinal, text, section_path, char_start, char_end, pages, hash, tokens FROM old.passages "
                "WHERE doc_id IN (SELECT doc_id FROM keep) ORDER BY id"
            )
            self._db.execute("DROP TABLE keep")
            self._db.commit()
        finally:
            self._db.execute("DETACH DATABASE old")

    def documents(self) -> list[StoredDocument]:
        rows = self._db.execute(
            "SELECT doc_id, source, file_hash, meta, page_count, chars FROM documents ORDER BY source"
        ).fetchall()
        return [StoredDocument(r[0], r[1], r[2], meta_from_json(r[3]), r[4], r[5]) for r in rows]

    def passage_count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM passages").fetchone()[0])

    def iter_passages(self, batch: int = 5000) -> Iterator[StoredPassage]:
        """All passages in id order, streamed (the whole corpus does not fit comfortably in one list)."""
        cursor = self._db.execute(
            "SELECT id, doc_id, ordinal, text, section_path, char_start, char_end, pages, hash FROM passages ORDER BY id"
        )
        while rows := cursor.fetchmany(batch):
            for row in rows:
                yield _passage(row)

    def iter_tokens(self, since: int = 0, batch: int = 5000) -> Iterator[tuple[int, str]]:
        """(passage id, space-joined BM25 tokens) in id order, for ids >= ``since``."""
        cursor = self._db.execute("SELECT id, tokens FROM passages WHERE id >= ? ORDER BY id", (since,))
        while rows := cursor.fetchmany(batch):
            yield from rows

    def passages(self, ids: list[int]) -> list[StoredPassage]:
        """Passages by row id, in the order of ``ids``."""
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = self._db.execute(
            f"SELECT id, doc_id, ordinal, text, section_path, char_start, char_end, pages, hash FROM passages "
            f"WHERE id IN ({marks})",
            [int(i) for i in ids],
        ).fetchall()
        by_id = {row[0]: _passage(row) for row in rows}
        return [by_id[i] for i in ids if i in by_id]

    def passages_of(self, doc_id: str) -> list[StoredPassage]:
        rows = self._db.execute(
            "SELECT id, doc_id, ordinal, text, section_path, char_start, char_end, pages, hash FROM passages "
            "WHERE doc_id = ? ORDER BY ordinal",
            (doc_id,),
        ).fetchall()
        return [_passage(row) for row in rows]

    def passage_doc_ids(self) -> list[str]:
        """The doc_id of every passage, in id order (for metadata filters at query time)."""
        return [row[0] for row in self._db.execute("SELECT doc_id FROM passages ORDER BY id")]


def _passage(row: tuple) -> StoredPassage:
    return StoredPassage(
        id=row[0],
        doc_id=row[1],
        ordinal=row[2],
        text=row[3],
        section_path=tuple(json.loads(row[4])),
        char_start=row[5],
        char_end=row[6],
        pages=json.loads(row[7]),
        hash=row[8],
    )
