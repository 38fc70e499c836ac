"""Ingest under faults, scaled down from ``eval/fault_trials.py`` (whose functions these tests run).

- kill -9 at random points of `policyqa ingest`: the index opens, answers, and is exactly the old
  or the new generation; passages per document match the manifest's counts and hashes; positions,
  BM25 (and FAISS) cover exactly the store; a clean ingest converges to the mutated corpus;
- a full disk: one clear error line, a non-zero status, the previous generation live and intact,
  and the next ingest (with space again) leaves nothing half-written;
- a file changing while it is read: the stored hash is that of the bytes parsed, a changed file is
  read again next time, and a re-ingest converges.
"""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path

import pytest
from conftest import FakeEmbedder, settings_for

import assistant.ingest
from assistant.ingest import RECHECK, Ingestor
from assistant.load import file_hash

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "eval"))
import fault_trials as ft  # noqa: E402


def ingest_in_process(settings, corpus: Path, embedder=None):
    return Ingestor(settings, embedder=embedder, progress=False, workers=1).run([corpus])


def test_kill_9_at_random_points(tmp_path: Path) -> None:
    rng = random.Random(20250601)
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    ft.write_corpus(corpus, 300, rng)
    first = ft.complete_ingest(corpus, index_dir, tmp_path, in_process=True)
    assert first.returncode == 0, first.stderr
    expected_s, problems = ft.measure_ingest(corpus, index_dir, tmp_path, rng, dense=False, fraction=0.1)
    assert problems == []
    # The clean re-ingest after each kill runs in this process: the same code, without a second start-up.
    results = [ft.kill_trial(corpus, index_dir, tmp_path, rng, expected_s, fraction=0.1, in_process=True, delay=delay)
               for delay in ft.kill_delays(rng, 5, expected_s)]
    print("\n" + ft.table(results))
    assert [r.violations for r in results] == [[]] * 5
    assert all(r.outcome in ("killed", "completed") and r.generation in ("old", "new") for r in results)


def test_kill_9_with_a_dense_index(tmp_path: Path) -> None:
    """The same with FAISS (fake embedder): ntotal and ids follow the store through a kill."""
    rng = random.Random(7)
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    ft.write_corpus(corpus, 120, rng)
    first = ft.complete_ingest(corpus, index_dir, tmp_path, dense=True, in_process=True)
    assert first.returncode == 0, first.stderr
    result = ft.kill_trial(corpus, index_dir, tmp_path, rng, expected_s=2.5, dense=True, fraction=0.1,
                           in_process=True)
    assert result.violations == []
    assert ft.check_index(index_dir, FakeEmbedder()).violations == []


def test_disk_full(tmp_path: Path) -> None:
    # A small tmpfs when this runs as root (it does in CI); RLIMIT_FSIZE otherwise.
    result = ft.disk_full_trial(tmp_path, random.Random(3), docs=100, mode="auto", in_process=True)
    print(f"\n{result.detail}: {result.outcome}")
    assert result.violations == []
    assert result.generation == "old"
    assert result.outcome.startswith("exit 2: error: ")


def test_disk_full_under_a_file_size_limit(tmp_path: Path) -> None:
    result = ft.disk_full_trial(tmp_path, random.Random(4), docs=60, mode="fsize", in_process=True)
    assert result.violations == []
    assert "could not be written" in result.outcome


def test_file_rewritten_truncated_appended_during_an_ingest(tmp_path: Path) -> None:
    result = ft.changing_file_trial(tmp_path, random.Random(5), docs=40, expected_s=2.5, kilobytes=600,
                                    in_process=True)
    print(f"\n{result.detail}: {result.outcome}, {result.generation}")
    assert result.violations == []


# -- the same races, made deterministic in process --------------------------------------------------


def _corpus(tmp_path: Path) -> tuple[Path, Path, object]:
    docs = tmp_path / "docs"
    rng = random.Random(1)
    ft.write_corpus(docs, 5, rng)
    settings = settings_for(tmp_path)
    assert ingest_in_process(settings, docs).ok
    return docs, ft.doc_path(docs, 1), settings


def _assert_converged(settings, docs: Path, target: Path) -> None:
    assert ingest_in_process(settings, docs).ok
    state = ft.check_index(settings.index_dir)
    assert state.violations == []
    assert ft.check_matches_corpus(state, ft.corpus_hashes(docs)) == []
    source = target.relative_to(docs).as_posix()
    assert state.documents[source]["passage_hashes"] == ft.expected_passage_hashes(target, source)


def test_file_changed_between_hashing_and_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The hash recorded is that of the bytes parsed, not of the file as it was hashed earlier."""
    docs, target, settings = _corpus(tmp_path)
    source = target.relative_to(docs).as_posix()
    target.write_text(ft.policy_text(random.Random(2), 1, version=2), encoding="utf-8")
    real_hash = assistant.ingest.file_hash

    def hash_then_change(path: Path) -> str:
        digest = real_hash(path)
        if path == target:  # the file changes after ingest hashed it and before it is parsed
            target.write_text(ft.policy_text(random.Random(3), 1, version=3), encoding="utf-8")
        return digest

    monkeypatch.setattr(assistant.ingest, "file_hash", hash_then_change)
    summary = ingest_in_process(settings, docs)
    monkeypatch.undo()
    assert summary.ok and summary.updated == 1
    state = ft.check_index(settings.index_dir)
    assert state.violations == []
    entry = state.documents[source]
    assert entry["file_hash"] == file_hash(target)  # version 3, which is what was parsed
    assert entry["passage_hashes"] == ft.expected_passage_hashes(target, source)
    _assert_converged(settings, docs, target)


@pytest.mark.parametrize("same_size", [False, True], ids=["new-size", "same-size-and-mtime"])
def test_file_changed_after_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, same_size: bool) -> None:
    """A file that changes after it was read is read again next time, even with size and mtime restored."""
    docs, target, settings = _corpus(tmp_path)
    source = target.relative_to(docs).as_posix()
    parsed = ft.policy_text(random.Random(2), 1, version=2)
    target.write_text(parsed, encoding="utf-8")
    later = ft.policy_text(random.Random(4), 1, version=4)
    if same_size:  # the same length in bytes: swap two characters of what was parsed
        later = parsed.replace("第一条", "第壹条", 1)
        assert len(later.encode()) == len(parsed.encode())
    real_load = assistant.ingest.load_document

    def load_then_change(item, **kw):
        document = real_load(item, **kw)
        if item.path == target:
            before = target.stat()
            target.write_text(later, encoding="utf-8")
            if same_size:  # as if within one tick of a coarse file clock
                os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
        return document

    monkeypatch.setattr(assistant.ingest, "load_document", load_then_change)
    assert ingest_in_process(settings, docs).ok
    monkeypatch.undo()
    state = ft.check_index(settings.index_dir)
    assert state.violations == []
    entry = state.documents[source]
    assert entry["file_hash"] != file_hash(target)  # what was parsed, not what is there now …
    stat = target.stat()
    assert entry["mtime_ns"] == RECHECK or (entry["size"], entry["mtime_ns"]) != (stat.st_size, stat.st_mtime_ns)
    _assert_converged(settings, docs, target)  # … so the next ingest reads it again


@pytest.mark.parametrize("when", ["before", "after"])
def test_file_vanishing_while_it_is_read_is_one_failed_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            when: str) -> None:
    docs, target, settings = _corpus(tmp_path)
    target.write_text(ft.policy_text(random.Random(2), 1, version=2), encoding="utf-8")
    real_load = assistant.ingest.load_document

    def load_and_vanish(item, **kw):
        if item.path == target and when == "before":
            target.unlink()
        document = real_load(item, **kw)
        if item.path == target and when == "after":
            target.unlink()
        return document

    monkeypatch.setattr(assistant.ingest, "load_document", load_and_vanish)
    summary = ingest_in_process(settings, docs)
    monkeypatch.undo()
    source = target.relative_to(docs).as_posix()
    assert [s for s, _ in summary.failed] == [source]
    assert "cannot" in summary.failed[0][1]
    assert ft.check_index(settings.index_dir).violations == []
    assert ingest_in_process(settings, docs).ok  # and next time it is simply removed
    state = ft.check_index(settings.index_dir)
    assert state.violations == [] and source not in state.documents
