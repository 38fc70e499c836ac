"""Ingest the zoo of bad input files with the CLI and print what happened to each, and the peak RSS.

    python eval/zoo_run.py [--keep DIR] [--huge-mb 200]

Builds the zoo (``eval/zoo.py``: truncated, encrypted and text-less PDFs, a zip bomb, GBK under a
UTF-8 label, a 200 MB text file, symlink loops, odd names …) in a temporary folder, runs
``policyqa ingest ZOO --index I --no-dense`` in a subprocess, and prints a Markdown table: file,
what it is, expected, got, message; then the exit status, wall time and the peak resident memory of
the ingest (its worker processes included). Exits 1 if anything is not as expected.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from zoo import build_zoo, check_zoo, policyqa_command, run_measured, zoo_table  # noqa: E402

RSS_LIMIT_MB = 1536


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, help="build the zoo and index here and keep them")
    parser.add_argument("--huge-mb", type=int, default=200, help="size of the oversized text file (MB)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="policyqa-zoo-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        zoo, index_dir = work / "zoo", work / "index"
        shutil.rmtree(zoo, ignore_errors=True)
        shutil.rmtree(index_dir, ignore_errors=True)
        entries = build_zoo(zoo, huge_mb=args.huge_mb)
        config = work / "empty-policyqa.toml"
        config.write_text("", encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYQA_")}
        env.update(POLICYQA_CONFIG=str(config), PYTHONIOENCODING="utf-8")
        result = run_measured(policyqa_command() + ["ingest", str(zoo), "--index", str(index_dir), "--no-dense",
                                                    "-q"], env=env, cwd=work)
        rows, problems = check_zoo(entries, result, index_dir)
        if result.peak_rss_mb > RSS_LIMIT_MB:
            problems.append(f"peak RSS {result.peak_rss_mb:.0f} MB is over {RSS_LIMIT_MB} MB")
        print(zoo_table(rows))
        failed = sum(1 for e in entries if e.expect == "failed")
        print(f"\n{len(entries)} files: {len(entries) - failed} to index, {failed} to refuse; "
              f"exit status {result.returncode}; {result.seconds:.1f} s; "
              f"peak RSS of the ingest {result.peak_rss_mb:.0f} MB (workers included)")
        for problem in problems:
            print(f"PROBLEM: {problem}")
        print("all as expected" if not problems else f"{len(problems)} problem(s)")
        return 1 if problems else 0
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
