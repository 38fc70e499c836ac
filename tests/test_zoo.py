"""A zoo of bad input files through the real CLI: one clear line per bad file, no crash, good files indexed.

The zoo (``eval/zoo.py``, shared with ``eval/zoo_run.py``) holds truncated, encrypted, text-less and
page-bombed PDFs, a zip bomb named .docx, GBK text under a UTF-8 label, a 200 MB text file, symlink
loops, a named pipe, odd file names and more, beside valid files that must all be indexed and found.
"""

from __future__ import annotations

import sys
from pathlib import Path

from conftest import isolated_env

from assistant.config import load_settings
from assistant.index import Index
from assistant.pipeline import PolicyAssistant

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "eval"))
from zoo import build_zoo, check_zoo, policyqa_command, run_measured, shown, zoo_table  # noqa: E402

RSS_LIMIT_MB = 1536


def test_zoo_through_the_cli(tmp_path: Path) -> None:
    zoo, index_dir = tmp_path / "zoo", tmp_path / "index"
    entries = build_zoo(zoo)
    assert len(entries) >= 20
    try:
        result = run_measured(policyqa_command() + ["ingest", str(zoo), "--index", str(index_dir), "--no-dense",
                                                    "-q"], env=isolated_env(tmp_path), cwd=tmp_path, timeout=300)
    finally:
        (zoo / "bad" / "huge.txt").unlink()  # pytest keeps the last few tmp folders: don't keep 200 MB
    rows, problems = check_zoo(entries, result, index_dir)
    print("\n" + zoo_table(rows))
    print(f"peak RSS of the ingest: {result.peak_rss_mb:.0f} MB; {result.seconds:.1f} s")
    assert problems == [], "\n".join(problems)
    assert result.returncode == 1  # some files failed
    assert "Traceback" not in result.stdout + result.stderr
    assert result.peak_rss_mb < RSS_LIMIT_MB  # the 200 MB file and the zip bomb were never loaded

    # Exactly one summary line per bad file, each naming it; the newline in a name is escaped.
    failed_lines = [line for line in result.stdout.splitlines() if line.startswith("  failed: ")]
    bad = [e for e in entries if e.expect == "failed"]
    assert len(failed_lines) == len(bad)
    for entry in bad:
        assert sum(line.startswith(f"  failed: {shown(entry.name)}: ") for line in failed_lines) == 1
    assert "  failed: bad/bad\\nname.pdf: " in result.stdout

    # The good files are searchable through the assistant, by their own words.
    config = tmp_path / "empty-policyqa.toml"
    index = Index.open(index_dir)
    try:
        assistant = PolicyAssistant.from_settings(load_settings(config_file=config, index_dir=index_dir), index)
        for entry in (e for e in entries if e.expect == "indexed"):
            answer = assistant.ask(entry.query)
            assert answer.passages and answer.passages[0].document.source == entry.name, entry.name
        long_line = [p for p in index.store.iter_passages()
                     if index.documents[p.doc_id].source == "good/one-long-line.md"]
        assert len(long_line) > 1000 and max(len(p.text) for p in long_line) <= 500
    finally:
        index.close()
