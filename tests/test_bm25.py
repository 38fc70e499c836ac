"""The vectorised BM25 build against bm25s's own, and the document-frequency helpers."""

from __future__ import annotations

import math

import bm25s
import numpy as np

from assistant.bm25 import Vocabulary, build_bm25, document_frequency, idf

CORPUS = [["算力", "券", "申领", "算力"], ["停车", "费", "补缴"], ["算力", "布局", "优化", "停车"], [], ["费"]]


def test_scores_are_those_bm25s_builds() -> None:
    reference = bm25s.BM25(k1=1.5, b=0.75)
    reference.index(CORPUS, show_progress=False)
    vocab = Vocabulary()
    ours = build_bm25([vocab.ids(tokens) for tokens in CORPUS], vocab.mapping)
    for token in {t for tokens in CORPUS for t in tokens}:
        assert np.allclose(ours.get_scores([token]), reference.get_scores([token])), token
    assert np.allclose(ours.get_scores(["算力", "停车"]), reference.get_scores(["算力", "停车"]))


def test_document_frequency_and_idf() -> None:
    vocab = Vocabulary()
    ours = build_bm25([vocab.ids(tokens) for tokens in CORPUS], vocab.mapping)
    assert document_frequency(ours, vocab.mapping["算力"]) == 2  # twice in one passage counts once
    assert document_frequency(ours, vocab.mapping["券"]) == 1
    assert idf(ours, vocab.mapping["算力"]) == math.log(1 + (5 - 2 + 0.5) / (2 + 0.5))
    assert idf(ours, vocab.mapping["券"]) > idf(ours, vocab.mapping["算力"])
