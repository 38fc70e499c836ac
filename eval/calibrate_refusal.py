"""Calibrate the refusal threshold: evidence strength of answerable vs unanswerable questions.

For each threshold, prints the share of unanswerable questions refused and of answerable
questions falsely refused, so the threshold can be set where false refusals stay at or under 5 %.
Evidence strength is the share of the question's term weight (IDF over the index) found in the best
retrieved passage; it is 0 when the best documents are local rules of a place the question does
not ask about (``PolicyAssistant.other_place``).

    python eval/calibrate_refusal.py ../shared/eval/dev.jsonl --index /tmp/i
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from assistant.config import load_settings
from assistant.evaluation import load_questions
from assistant.pipeline import REFUSAL_THRESHOLD, PolicyAssistant


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", type=Path)
    parser.add_argument("--index", type=Path)
    args = parser.parse_args(argv)
    assistant = PolicyAssistant.from_settings(load_settings(index_dir=args.index))
    answerable, unanswerable = [], []
    for q in load_questions(args.questions):
        _, _, strength = assistant.retrieve(q.question, list(q.history))
        (answerable if q.answerable else unanswerable).append(strength)
    print(f"{len(answerable)} answerable, {len(unanswerable)} unanswerable; current threshold {REFUSAL_THRESHOLD}")
    print("| threshold | unanswerable refused | answerable refused (false) |")
    print("|---|---|---|")
    for step in range(0, 21):
        t = step / 20
        refused = sum(1 for s in unanswerable if s < t) / max(len(unanswerable), 1)
        false = sum(1 for s in answerable if s < t) / max(len(answerable), 1)
        print(f"| {t:.2f} | {refused:.3f} | {false:.3f} |")
    print("unanswerable strengths:", sorted(round(s, 3) for s in unanswerable))
    print("answerable strengths (lowest 10):", sorted(round(s, 3) for s in answerable)[:10])
    return 0


if __name__ == "__main__":
    sys.exit(main())
