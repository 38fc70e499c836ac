"""The index on disk, and opening it for search.

Layout of an index folder::

    index/
      CURRENT                 the name of the live generation (replaced atomically)
      gen-<time>-<pid>/       one complete, immutable generation
        store.sqlite          documents and passages (ChunkStore)
        bm25/                 bm25s matrices over jieba tokens
        dense.faiss           FAISS IndexIDMap(IndexFlatIP), ids = passage ids (absent with --no-dense)
        manifest.json         files, hashes, passage hashes, settings; written last
      vectors-<embedder>.sqlite   embedding cache shared by all generations
      .lock                   held while an ingest runs

An ingest writes a new generation beside the live one and switches ``CURRENT`` with one
``os.replace``; a reader opens whatever ``CURRENT`` names. So a killed ingest leaves the previous
generation live and whole, and a reader never sees half of one.

Example::

    index = Index.open(Path("index"))
    index.passage_count, index.has_dense
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bm25s
import numpy as np

from .store import ChunkStore, StoredDocument

CURRENT = "CURRENT"
MANIFEST = "manifest.json"
FORMAT_VERSION = 1


class IndexUnavailable(Exception):
    """The index folder is missing or unusable; the message says what to run."""


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in ``path`` durable, where the file system supports it.

    Some file systems refuse fsync on a folder (EINVAL); by then the rename has happened, so an
    error here must not be taken for a failed write.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old content or the new, never a mix.

    On failure (a full disk) ``path`` is untouched and the temporary file is removed.
    """
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    try:
        with tmp.open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def current_generation(index_dir: Path) -> Path | None:
    """The live generation folder, or None when the index has never been built."""
    try:
        name = (index_dir / CURRENT).read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    generation = index_dir / name
    if not name or not (generation / MANIFEST).is_file():
        return None
    return generation


def read_manifest(generation: Path) -> dict[str, Any]:
    return json.loads((generation / MANIFEST).read_text(encoding="utf-8"))


def remove_stale_generations(index_dir: Path, keep: set[Path]) -> None:
    """Delete generations other than ``keep``: leftovers of killed ingests and superseded ones."""
    for entry in index_dir.glob("gen-*"):
        if entry.is_dir() and entry not in keep:
            shutil.rmtree(entry, ignore_errors=True)


@dataclass
class Index:
    """One opened generation: chunk store, BM25, optional FAISS, and per-passage metadata arrays."""

    generation: Path
    manifest: dict[str, Any]
    store: ChunkStore
    bm25: bm25s.BM25
    positions: np.ndarray  # BM25 position -> passage id
    dense: Any | None  # faiss.Index
    documents: dict[str, StoredDocument]
    passage_docs: np.ndarray  # BM25 position -> index into doc_order
    doc_order: list[str]

    @classmethod
    def open(cls, index_dir: Path) -> Index:
        generation = current_generation(index_dir)
        if generation is None:
            raise IndexUnavailable(
                f"no index in {index_dir}; build one with: policyqa ingest FOLDER --index {index_dir}"
            )
        manifest = read_manifest(generation)
        if manifest.get("format") != FORMAT_VERSION:
            raise IndexUnavailable(f"the index in {index_dir} was built by another version; rebuild it with policyqa ingest")
        store = ChunkStore(generation / "store.sqlite", readonly=True)
        bm25 = bm25s.BM25.load(str(generation / "bm25"), mmap=False, load_corpus=False)
        positions = np.load(generation / "positions.npy")
        dense = None
        if (generation / "dense.faiss").exists():
            import faiss

            dense = faiss.read_index(str(generation / "dense.faiss"))
        documents = {d.doc_id: d for d in store.documents()}
        doc_order = list(documents)
        doc_index = {d: i for i, d in enumerate(doc_order)}
        passage_docs = np.fromiter((doc_index[d] for d in store.passage_doc_ids()), dtype=np.int32)
        return cls(generation, manifest, store, bm25, positions, dense, documents, passage_docs, doc_order)

    @property
    def passage_count(self) -> int:
        return int(len(self.positions))

    @property
    def has_dense(self) -> bool:
        return self.dense is not None

    @property
    def embedder_name(self) -> str | None:
        return self.manifest.get("embedder")

    def close(self) -> None:
        self.store.close()
