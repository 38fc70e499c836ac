"""Make the evaluation corpus: the top-level policy documents plus the laws that questions cite.

The issue's evaluation index is "the top-level policies plus the gold laws of the question sets"
(~1.4 M characters): small enough to embed densely on two cores. This writes a folder of symbolic
links into the shared corpus (nothing is copied), keeping the corpus-relative paths that gold
``doc`` fields use.

    python eval/make_subset.py ../shared/eval/dev.jsonl --corpus ../shared/corpus --out /tmp/policy-subset
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", nargs="+", type=Path, help="JSONL question files with gold docs")
    parser.add_argument("--corpus", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "corpus")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    corpus = args.corpus.resolve()
    if not corpus.is_dir():
        print(f"error: corpus folder {corpus} not found; pass --corpus", file=sys.stderr)
        return 2
    wanted = {p.relative_to(corpus) for p in corpus.glob("*.md") if p.name != "SOURCES.md"}
    for path in args.questions:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                for gold in json.loads(line).get("gold", []):
                    wanted.add(Path(gold["doc"] + ".md"))
    args.out.mkdir(parents=True, exist_ok=True)
    chars = 0
    for rel in sorted(wanted):
        target = corpus / rel
        link = args.out / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists():
            link.symlink_to(target)
        chars += len(target.read_text(encoding="utf-8"))
    print(f"{len(wanted)} documents, {chars:,} characters -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
