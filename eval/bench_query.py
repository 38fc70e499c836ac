"""Query latency: retrieve and extractive answer, p50/p95, over an index (the full corpus by default).

    policyqa ingest ../shared/corpus --index /tmp/full --no-dense
    python eval/bench_query.py --index /tmp/full [--questions ../shared/eval/dev.jsonl] [--rounds 3]

Prints passages in the index, and per stage (retrieve, answer, total) the p50 and p95 in
milliseconds over every question of the set, asked ``rounds`` times (the first round warms caches
and is not counted).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from assistant.config import load_settings
from assistant.evaluation import load_questions, percentile
from assistant.pipeline import PolicyAssistant

DEFAULT_QUESTIONS = Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev.jsonl"
FALLBACK = ["河北省在优化算力布局方面提出了哪些意见?", "《意见》提出了哪些保障措施?", "算力电力协同机制是什么?"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, help="index folder (default: the configured one)")
    parser.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    assistant = PolicyAssistant.from_settings(load_settings(index_dir=args.index))
    if args.questions.is_file():
        questions = [(q.question, list(q.history)) for q in load_questions(args.questions)]
    else:
        print(f"{args.questions} not found; using {len(FALLBACK)} built-in questions", file=sys.stderr)
        questions = [(q, []) for q in FALLBACK]
    timings: dict[str, list[float]] = {"retrieve": [], "answer": [], "total": []}
    for round_number in range(args.rounds):
        for question, history in questions:
            answer = assistant.ask(question, history=history, mode="extractive")
            if round_number == 0:
                continue  # warm-up: first touches of the index pages and caches
            for stage in timings:
                timings[stage].append(answer.timings_ms[stage])
    index = assistant.index
    print(f"index: {index.generation.parent} ({index.passage_count} passages, "
          f"{len(index.documents)} documents, dense: {index.embedder_name or 'no'})")
    print(f"{len(timings['total'])} questions timed ({len(questions)} x {args.rounds - 1} rounds)")
    print("| stage | p50 ms | p95 ms | mean ms |")
    print("|---|---|---|---|")
    for stage, values in timings.items():
        print(f"| {stage} | {percentile(values, 50):.1f} | {percentile(values, 95):.1f} | "
              f"{statistics.fmean(values):.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
