"""Fault trials for ingest: kill -9 at random points, a full disk, a file changing while it is read.

    python eval/fault_trials.py [--trials 20] [--docs 2000] [--seed N] [--dense] [--keep DIR]

1. Builds a synthetic corpus of Chinese policy-like documents (第X条 articles, a few MB) and
   ingests it (BM25 only; ``--dense`` adds FAISS with a fake deterministic embedder, run through
   this script's ``--as-cli`` wrapper so that the subprocess is the real ``policyqa`` CLI).
2. Measures how long an incremental ingest of a mutated corpus takes, then for each kill trial:
   mutates the corpus (edits, additions, deletions), starts ``policyqa ingest`` in a subprocess,
   kills it (SIGKILL to its process group: the CLI and its parse workers) after a delay drawn
   uniformly over that duration, and checks the index (:func:`check_index`): it opens and answers,
   the live generation is exactly the old one or exactly the new one (never a mix), every document
   has the passages its manifest entry counts and hashes, positions.npy, BM25 and FAISS all cover
   exactly the store's passages. Then a clean ingest must converge to exactly the mutated corpus
   and leave no half-written generation behind.
3. Disk full: the index lives on a small tmpfs (when this process may mount one; else the ingest
   runs under RLIMIT_FSIZE) filled up before an ingest that adds documents. The ingest must fail
   with one clear line and a non-zero status, leave the previous generation live and intact, and
   the next ingest, with space again, must succeed and leave no half-written generation.
4. A file changing while it is read: a thread rewrites, truncates, appends to and rewrites in
   place (same size) a large file in a loop during an ingest. The index must stay consistent, the
   manifest entry of that file must either match its content or be due for a re-read, and a
   re-ingest must converge (the stored hash and passages are those of the file as it is).

Prints one row per trial and a summary table; exits 1 if any invariant was violated.
``tests/test_faults.py`` runs the same functions, scaled down.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FAKE_EMBEDDER = "fake-ngram"  # the name of tests/conftest.py's FakeEmbedder
QUERY = "算力券发放管理办法的申请条件是什么"

# -- the synthetic corpus -------------------------------------------------------------------------

TOPICS = ["公共数据开放", "算力券发放", "数据要素市场", "人工智能产业", "政务服务标准化", "接诉即办",
          "生活垃圾分类", "中小企业融资", "人才引进", "科技成果转化", "城市更新", "养老服务"]
PLACES = ["北京市", "上海市", "天津市", "河北省", "浙江省", "广东省", "四川省", "湖北省"]
PHRASES = [
    "各区人民政府应当加强组织领导", "建立健全工作协调机制", "明确责任分工", "强化资金保障", "推动数据资源共享",
    "支持企业开展技术创新", "完善监督检查制度", "保障数据安全", "优化营商环境", "提升公共服务水平",
    "加快基础设施建设", "鼓励社会资本参与", "开展试点示范", "加强人才培养", "落实主体责任",
    "申请单位应当提交申请材料", "补贴金额最高不超过五十万元", "有关部门应当在十个工作日内完成审核",
]
NUMS = "一二三四五六七八九十"


def cn(n: int) -> str:
    """1..999 as a Chinese numeral: 十二, 二十, 一百零五, 三百二十."""
    hundreds, rest = divmod(n, 100)
    tens, ones = divmod(rest, 10)
    if hundreds:
        tail = "" if not rest else ("零" + NUMS[ones - 1] if not tens else NUMS[tens - 1] + "十"
                                    + (NUMS[ones - 1] if ones else ""))
        return NUMS[hundreds - 1] + "百" + tail
    return (("" if tens == 1 else NUMS[tens - 1]) + "十" if tens else "") + (NUMS[ones - 1] if ones else "")


def policy_text(rng: random.Random, number: int, version: int = 0, articles: int | None = None) -> str:
    """One regulation-like document: title, 文号, chapters of 第X条 articles, a date line."""
    topic, place = rng.choice(TOPICS), rng.choice(PLACES)
    articles = articles or rng.randint(4, 30)
    year = rng.randint(2015, 2025)
    lines = [f"{place}{topic}管理办法（第{number}号，第{version}版）", "",
             f"{place[:2]}政发〔{year}〕{rng.randint(1, 99)}号", ""]
    chapter = 0
    for n in range(1, articles + 1):
        if n == 1 or (n % 8 == 1 and chapter < 9):
            chapter += 1
            lines += [f"第{cn(chapter)}章 {'总则' if chapter == 1 else rng.choice(['管理措施', '保障措施', '附则'])}", ""]
        body = "，".join(rng.sample(PHRASES, rng.randint(3, 7)))
        lines += [f"第{cn(n)}条 为做好{topic}工作，{body}。", ""]
    lines += [f"{year}年{rng.randint(1, 12)}月{rng.randint(1, 28)}日", ""]
    return "\n".join(lines)


def doc_path(folder: Path, number: int) -> Path:
    return folder / f"part{number % 7}" / f"policy-{number:05d}.md"


def write_corpus(folder: Path, docs: int, rng: random.Random) -> None:
    for number in range(docs):
        path = doc_path(folder, number)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(policy_text(rng, number), encoding="utf-8")


@dataclass
class Mutation:
    edited: int = 0
    added: int = 0
    deleted: int = 0

    def __str__(self) -> str:
        return f"{self.edited}/{self.added}/{self.deleted}"


def mutate(folder: Path, rng: random.Random, fraction: float = 0.05) -> Mutation:
    """Edit, add and delete about ``fraction`` of the corpus's files (each), at random."""
    files = sorted(folder.rglob("*.md"))
    count = max(1, int(len(files) * fraction))
    mutation = Mutation()
    for path in rng.sample(files, min(count, len(files))):
        number = int(path.stem.split("-")[1])
        path.write_text(policy_text(rng, number, version=rng.randint(1, 10**6)), encoding="utf-8")
        mutation.edited += 1
    remaining = [p for p in files if p.exists()]
    for path in rng.sample(remaining, min(max(1, count // 2), len(remaining) - 1)):
        path.unlink()
        mutation.deleted += 1
    top = max((int(p.stem.split("-")[1]) for p in folder.rglob("*.md")), default=0)
    for number in range(top + 1, top + 1 + count):
        path = doc_path(folder, number)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(policy_text(rng, number), encoding="utf-8")
        mutation.added += 1
    return mutation


def corpus_hashes(folder: Path) -> dict[str, str]:
    """source name -> file hash of every document file under ``folder``."""
    from assistant.load import file_hash

    return {p.relative_to(folder).as_posix(): file_hash(p) for p in sorted(folder.rglob("*.md"))}


# -- running the CLI ------------------------------------------------------------------------------


def cli_env(work: Path) -> dict[str, str]:
    config = work / "empty-policyqa.toml"
    if not config.exists():
        config.write_text("", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYQA_")}
    env.update(POLICYQA_CONFIG=str(config), PYTHONIOENCODING="utf-8")
    return env


def ingest_command(corpus: Path, index_dir: Path, dense: bool = False) -> list[str]:
    if dense:  # the real CLI, with the fake embedder patched in
        return [sys.executable, str(Path(__file__).resolve()), "--as-cli", "ingest", str(corpus), "--index",
                str(index_dir), "--embedder", FAKE_EMBEDDER, "-q"]
    exe = Path(sys.executable).with_name("policyqa")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "assistant.cli"]
    return command + ["ingest", str(corpus), "--index", str(index_dir), "--no-dense", "-q"]


def start_ingest(corpus: Path, index_dir: Path, work: Path, dense: bool = False,
                 preexec: Callable[[], None] | None = None) -> subprocess.Popen:
    return subprocess.Popen(ingest_command(corpus, index_dir, dense), env=cli_env(work), cwd=work,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=preexec)


def run_ingest(corpus: Path, index_dir: Path, work: Path, dense: bool = False, timeout: float = 600,
               preexec: Callable[[], None] | None = None) -> subprocess.CompletedProcess:
    process = start_ingest(corpus, index_dir, work, dense, preexec)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def complete_ingest(corpus: Path, index_dir: Path, work: Path, dense: bool = False,
                    in_process: bool = False) -> subprocess.CompletedProcess:
    """An ingest run to its end: the CLI, or (``in_process``, faster for tests) the Ingestor here."""
    if not in_process:
        return run_ingest(corpus, index_dir, work, dense)
    from assistant.config import load_settings
    from assistant.ingest import IngestError, Ingestor

    cli_env(work)  # writes the empty config file
    settings = load_settings(config_file=work / "empty-policyqa.toml", index_dir=index_dir,
                             embedder=FAKE_EMBEDDER if dense else "none")
    try:
        summary = Ingestor(settings, embedder=fake_embedder() if dense else None, progress=False,
                           workers=1).run([corpus])
    except IngestError as exc:
        return subprocess.CompletedProcess(["Ingestor"], 2, "", f"error: {exc}\n")
    return subprocess.CompletedProcess(["Ingestor"], 0 if summary.ok else 1, summary.describe() + "\n", "")


def fake_embedder():
    sys.path.insert(0, str(REPO / "tests"))
    from conftest import FakeEmbedder

    return FakeEmbedder()


def as_cli(argv: list[str]) -> int:
    """``policyqa`` with the fake embedder: the tiny wrapper ``--dense`` trials run."""
    import assistant.ingest
    from assistant.cli import main as cli_main

    embedder = fake_embedder()
    assistant.ingest.make_embedder = lambda *args, **kw: embedder
    cli_main.main(args=argv, prog_name="policyqa")
    return 0


# -- the invariants -------------------------------------------------------------------------------


@dataclass
class IndexState:
    """What :func:`check_index` found: the live generation, its manifest, and every violation."""

    generation: str | None
    documents: dict[str, dict] = field(default_factory=dict)
    passages: int = 0
    violations: list[str] = field(default_factory=list)


def check_index(index_dir: Path, embedder=None, query: str = QUERY) -> IndexState:
    """Check the live generation against its own manifest, and that it opens and answers."""
    import numpy as np

    from assistant.answer import ExtractiveAnswerer
    from assistant.documents import content_hash
    from assistant.index import Index, current_generation, read_manifest
    from assistant.pipeline import PolicyAssistant
    from assistant.retrieve import HybridRetriever

    generation = current_generation(index_dir)
    if generation is None:
        return IndexState(None, violations=["no live generation (CURRENT missing or names no complete one)"])
    state = IndexState(generation.name)
    bad = state.violations
    try:
        manifest = read_manifest(generation)
        index = Index.open(index_dir)
    except Exception as exc:  # noqa: BLE001 - any failure to open is a violation
        bad.append(f"the index does not open: {type(exc).__name__}: {exc}")
        return state
    try:
        if index.generation != generation:
            bad.append(f"Index.open opened {index.generation.name}, CURRENT names {generation.name}")
        entries: dict[str, dict] = manifest.get("documents", {})
        state.documents = entries
        stored = {d.source: d for d in index.store.documents()}
        if set(stored) != set(entries):
            bad.append(f"store and manifest disagree on documents: {len(set(stored) ^ set(entries))} differ")
        by_doc: dict[str, list] = {}
        ids = []
        for passage in index.store.iter_passages():
            by_doc.setdefault(passage.doc_id, []).append(passage)
            ids.append(passage.id)
            if passage.hash != content_hash(passage.text):
                bad.append(f"passage {passage.id} does not match its own hash")
        state.passages = len(ids)
        for source, entry in entries.items():
            document = stored.get(source)
            if document is None:
                continue
            if document.doc_id != entry.get("doc_id") or document.file_hash != entry.get("file_hash"):
                bad.append(f"{source}: store and manifest disagree on doc_id or file_hash")
            passages = sorted(by_doc.get(document.doc_id, []), key=lambda p: p.ordinal)
            if len(passages) != entry.get("passages"):
                bad.append(f"{source}: {len(passages)} passages stored, the manifest says {entry.get('passages')}")
            if [p.ordinal for p in passages] != list(range(len(passages))):
                bad.append(f"{source}: passage ordinals are not 0..n-1 (lost or duplicated passages)")
            if content_hash("".join(p.hash for p in passages)) != entry.get("passage_hashes"):
                bad.append(f"{source}: passage hashes differ from the manifest's")
        orphans = set(by_doc) - {d.doc_id for d in stored.values()}
        if orphans:
            bad.append(f"{len(orphans)} documents' passages have no document row")
        if manifest.get("passages") != len(ids):
            bad.append(f"manifest counts {manifest.get('passages')} passages, the store has {len(ids)}")
        positions = index.positions
        if len(positions) != len(ids):
            bad.append(f"positions.npy has {len(positions)} entries, the store {len(ids)} passages")
        if len(np.unique(positions)) != len(positions):
            bad.append("positions.npy names a passage twice")
        if set(positions.tolist()) != set(ids):
            bad.append("positions.npy and the store's passage ids differ")
        if int(index.bm25.scores["num_docs"]) != len(positions):
            bad.append(f"BM25 holds {index.bm25.scores['num_docs']} passages, positions {len(positions)}")
        if (manifest.get("embedder") is None) == index.has_dense:
            bad.append(f"manifest embedder {manifest.get('embedder')!r} but dense index present: {index.has_dense}")
        if index.has_dense:
            import faiss

            if index.dense.ntotal != len(ids):
                bad.append(f"FAISS holds {index.dense.ntotal} vectors, the store {len(ids)} passages")
            dense_ids = faiss.vector_to_array(index.dense.id_map)
            if set(dense_ids.tolist()) != set(ids):
                bad.append("FAISS ids and the store's passage ids differ")
        if index.has_dense and embedder is None:
            embedder = fake_embedder() if manifest.get("embedder") == FAKE_EMBEDDER else None
        assistant = PolicyAssistant(index, HybridRetriever(index, embedder=embedder), ExtractiveAnswerer(index))
        answer = assistant.ask(query)
        if ids and not answer.passages:
            bad.append("a query retrieved nothing")
    except Exception as exc:  # noqa: BLE001
        bad.append(f"checking failed: {type(exc).__name__}: {exc}")
    finally:
        index.close()
    return state


def check_matches_corpus(state: IndexState, hashes: dict[str, str]) -> list[str]:
    """The generation holds exactly the corpus: the same documents, each with the file's hash."""
    problems = []
    if set(state.documents) != set(hashes):
        missing, extra = set(hashes) - set(state.documents), set(state.documents) - set(hashes)
        problems.append(f"documents differ from the corpus: {len(missing)} missing, {len(extra)} extra")
    stale = [s for s in hashes if s in state.documents and state.documents[s].get("file_hash") != hashes[s]]
    if stale:
        problems.append(f"{len(stale)} documents have a stale file hash, e.g. {stale[0]}")
    return problems


def check_generations(index_dir: Path, allowed: set[str | None]) -> list[str]:
    """After an ingest: every gen-* folder is complete (has a manifest) and one of ``allowed``."""
    problems = []
    for folder in sorted(index_dir.glob("gen-*")):
        if folder.name not in allowed:
            problems.append(f"leftover generation folder {folder.name}")
        elif not (folder / "manifest.json").is_file():
            problems.append(f"half-written generation folder {folder.name}")
    leftovers = [p.name for p in index_dir.glob("*.tmp*")]
    if leftovers:
        problems.append(f"temporary files left: {leftovers}")
    return problems


def expected_passage_hashes(path: Path, source: str) -> str | None:
    """The manifest's passage_hashes a correct ingest records for ``path`` as it is now (None: unloadable)."""
    from assistant.chunk import Chunker
    from assistant.config import Settings
    from assistant.documents import content_hash
    from assistant.load import LoadError, SourceFile, load_document

    settings = Settings()
    try:
        document = load_document(SourceFile(path, source), max_bytes=int(settings.max_file_mb * 1_000_000))
    except LoadError:
        return None
    passages = Chunker(settings.chunk_min_chars, settings.chunk_max_chars).split(document)
    return content_hash("".join(p.hash for p in passages))


# -- kill trials ----------------------------------------------------------------------------------


@dataclass
class TrialResult:
    kind: str
    detail: str = ""
    outcome: str = ""  # killed / completed / failed as expected …
    generation: str = ""  # old / new
    seconds: float = 0.0
    violations: list[str] = field(default_factory=list)


def measure_ingest(corpus: Path, index_dir: Path, work: Path, rng: random.Random, dense: bool,
                   fraction: float) -> tuple[float, list[str]]:
    """Mutate, ingest to completion, check: the duration kill delays are drawn over."""
    mutate(corpus, rng, fraction)
    started = time.monotonic()
    done = run_ingest(corpus, index_dir, work, dense)
    seconds = time.monotonic() - started
    problems = [] if done.returncode == 0 else [f"calibration ingest failed: {done.stderr.strip()[-300:]}"]
    state = check_index(index_dir)
    problems += state.violations + check_matches_corpus(state, corpus_hashes(corpus))
    return seconds, problems


def kill_delays(rng: random.Random, trials: int, expected_s: float) -> list[float]:
    """Kill delays uniform over 0 .. 1.1 x the expected duration, stratified so that every part of
    the ingest (start-up, parsing, index building, the switch) gets its share even in a few trials."""
    delays = [(i + rng.random()) / trials * expected_s * 1.1 for i in range(trials)]
    rng.shuffle(delays)
    return delays


def kill_trial(corpus: Path, index_dir: Path, work: Path, rng: random.Random, expected_s: float,
               dense: bool = False, fraction: float = 0.05, in_process: bool = False,
               delay: float | None = None) -> TrialResult:
    """One kill -9 trial (see the module docstring).

    ``delay``: when to kill (default: uniform over 0 .. 1.1 x ``expected_s``); ``in_process``: the
    clean re-ingest afterwards runs in this process.
    """
    before = check_index(index_dir)
    result = TrialResult("kill", violations=list(before.violations))
    old_generation, old_documents = before.generation, before.documents
    mutation = mutate(corpus, rng, fraction)
    hashes = corpus_hashes(corpus)
    delay = rng.uniform(0, expected_s * 1.1) if delay is None else delay
    result.detail = f"edit/add/delete {mutation}, kill at {delay:.2f} s"
    process = start_ingest(corpus, index_dir, work, dense)
    started = time.monotonic()
    try:
        process.wait(timeout=delay)
        result.outcome = "completed"
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        result.outcome = "killed"
    _, stderr = process.communicate()
    result.seconds = time.monotonic() - started
    if result.outcome == "completed" and process.returncode != 0:
        result.violations.append(f"the ingest failed: {stderr.strip()[-300:]}")
    if "Traceback" in stderr:
        result.violations.append("a Traceback was printed")

    after = check_index(index_dir)
    result.violations += after.violations
    if after.generation == old_generation:
        result.generation = "old"
        if after.documents != old_documents:
            result.violations.append("the old generation's manifest changed")
    else:
        result.generation = "new"
        result.violations += check_matches_corpus(after, hashes)
    if result.outcome == "completed" and result.generation == "old":
        result.violations.append("the ingest completed but the old generation is still live")

    # A clean ingest converges to exactly the mutated corpus and leaves no half-written generation.
    previous = after.generation
    done = complete_ingest(corpus, index_dir, work, dense, in_process)
    if done.returncode != 0 or "Traceback" in done.stderr:
        result.violations.append(f"the clean ingest failed: {done.stderr.strip()[-300:]}")
    final = check_index(index_dir)
    result.violations += final.violations + check_matches_corpus(final, hashes)
    result.violations += check_generations(index_dir, {final.generation, previous})
    return result


# -- disk full ------------------------------------------------------------------------------------


@contextlib.contextmanager
def small_disk(folder: Path, megabytes: int) -> Iterator[bool]:
    """A tmpfs of ``megabytes`` MB mounted on ``folder`` if this process may mount one (yields True)."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = False
    if os.geteuid() == 0 and shutil.which("mount"):
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(folder)],
                              capture_output=True)
        mounted = done.returncode == 0
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def fill_disk(folder: Path, leave_bytes: int) -> Path:
    """Write a filler file on ``folder``'s file system until only ``leave_bytes`` are free."""
    stats = os.statvfs(folder)
    free = stats.f_bavail * stats.f_frsize
    filler = folder / "filler.bin"
    with filler.open("wb") as handle:
        remaining = max(0, free - leave_bytes)
        block = bytes(1 << 20)
        while remaining > 0:
            handle.write(block[: min(len(block), remaining)])
            remaining -= min(len(block), remaining)
    return filler


def fsize_limit(limit: int) -> Callable[[], None]:
    """preexec_fn: cap the size of any file the ingest writes (EFBIG instead of SIGXFSZ)."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def disk_full_trial(work: Path, rng: random.Random, docs: int = 150, mode: str = "auto",
                    dense: bool = False, in_process: bool = False) -> TrialResult:
    """A full disk during an ingest that adds documents (module docstring, point 3).

    ``mode``: "tmpfs" (a small mounted tmpfs, filled up), "fsize" (RLIMIT_FSIZE), or "auto" (tmpfs
    when it can be mounted). The ingest that meets the full disk is always the CLI; ``in_process``
    runs the ones before and after it here.
    """
    root = work / f"diskfull-{mode}-{rng.randrange(10**6)}"
    corpus, mount = root / "corpus", root / "disk"
    write_corpus(corpus, docs, rng)
    with small_disk(mount, 96) if mode in ("auto", "tmpfs") else contextlib.nullcontext(False) as mounted:
        if mode == "tmpfs" and not mounted:
            return TrialResult("disk full", "tmpfs", "skipped (cannot mount a tmpfs here)")
        used = "tmpfs" if mounted else "fsize"
        index_dir = mount / "index"
        result = TrialResult("disk full", f"{'full tmpfs' if mounted else 'RLIMIT_FSIZE'}, +{docs * 2} documents")
        first = complete_ingest(corpus, index_dir, work, dense, in_process)
        if first.returncode != 0:
            result.violations.append(f"the first ingest failed: {first.stderr.strip()[-300:]}")
            return result
        before = check_index(index_dir)
        result.violations += before.violations
        live = before.generation
        store_size = (index_dir / live / "store.sqlite").stat().st_size
        index_size = sum(p.stat().st_size for p in (index_dir / live).rglob("*") if p.is_file())
        filler = fill_disk(mount, index_size // 3) if used == "tmpfs" else None
        preexec = fsize_limit(store_size + 4096) if used == "fsize" else None
        for number in range(docs, docs * 3):  # more documents: the new generation outgrows the space
            path = doc_path(corpus, number)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(policy_text(rng, number), encoding="utf-8")
        started = time.monotonic()
        full = run_ingest(corpus, index_dir, work, dense, preexec=preexec)
        result.seconds = time.monotonic() - started
        errors = [line for line in full.stderr.splitlines() if line.strip()]
        result.outcome = f"exit {full.returncode}: {errors[-1] if errors else '(no message)'}"
        if full.returncode == 0:
            result.violations.append("the ingest succeeded on a full disk")
        if "Traceback" in full.stdout + full.stderr:
            result.violations.append("a Traceback was printed")
        if len(errors) != 1 or not errors[0].startswith("error: "):
            result.violations.append(f"not one error line: {errors[-5:]}")
        elif used == "tmpfs" and "disk is full" not in errors[0]:
            result.violations.append(f"the message does not say the disk is full: {errors[0]}")
        after = check_index(index_dir)
        result.generation = "old" if after.generation == live else "new"
        result.violations += after.violations
        if after.generation != live or after.documents != before.documents:
            result.violations.append("the previous generation is not live and intact")
        result.violations += check_generations(index_dir, {live})
        # Space again: the next ingest succeeds and leaves nothing half-written.
        if filler is not None:
            filler.unlink()
        again = complete_ingest(corpus, index_dir, work, dense, in_process)
        if again.returncode != 0:
            result.violations.append(f"the ingest after freeing space failed: {again.stderr.strip()[-300:]}")
        final = check_index(index_dir)
        result.violations += final.violations + check_matches_corpus(final, corpus_hashes(corpus))
        result.violations += check_generations(index_dir, {final.generation, live})
    shutil.rmtree(root, ignore_errors=True)
    return result


# -- a file changing while it is read -------------------------------------------------------------


def big_text(rng: random.Random, kilobytes: int, version: int = 0) -> str:
    """A long regulation of about ``kilobytes`` KB: parts of up to 900 articles each."""
    parts, size = [], 0
    while size < kilobytes * 1000:
        part = policy_text(rng, 99999, version=version, articles=900)
        parts.append(part)
        size += len(part.encode("utf-8"))
    return "\n".join(parts)


class Scribbler(threading.Thread):
    """Rewrites, truncates, appends to and rewrites in place (same size) one file, in a loop."""

    def __init__(self, path: Path, rng: random.Random, stop_after: float, kilobytes: int) -> None:
        super().__init__(daemon=True)
        self.path, self.rng, self.stop_after, self.kilobytes = path, rng, stop_after, kilobytes
        self.stop = threading.Event()
        self.operations = 0

    def version(self) -> bytes:
        return big_text(self.rng, self.kilobytes, version=self.rng.randint(1, 10**6)).encode("utf-8")

    def run(self) -> None:
        ends = time.monotonic() + self.stop_after
        while not self.stop.is_set() and time.monotonic() < ends:
            op = self.rng.choice(["rewrite", "truncate", "append", "same-size"])
            if op == "rewrite":
                data = self.version()
                with self.path.open("wb") as handle:
                    for start in range(0, len(data), 1 << 16):
                        handle.write(data[start:start + (1 << 16)])
                        handle.flush()
            elif op == "truncate":
                size = self.path.stat().st_size
                with self.path.open("r+b") as handle:
                    handle.truncate(self.rng.randrange(size + 1))
            elif op == "append":
                with self.path.open("ab") as handle:
                    handle.write(policy_text(self.rng, 99998, articles=20).encode("utf-8"))
            else:  # same size, different bytes: the version number in the title, rewritten in place
                with self.path.open("r+b") as handle:
                    head = handle.read(200)
                    digit = head.find("版".encode())
                    if digit > 1:
                        handle.seek(digit - 1)
                        handle.write(str(self.rng.randrange(10)).encode())
            self.operations += 1
            time.sleep(self.rng.uniform(0, 0.02))
        # The last state is always a whole, valid version, so that the re-ingest can converge.
        self.path.write_bytes(self.version())


def changing_file_trial(work: Path, rng: random.Random, docs: int = 100, expected_s: float = 3.0,
                        kilobytes: int = 2000, in_process: bool = False) -> TrialResult:
    """A large file rewritten, truncated and appended to during an ingest (module docstring, point 4).

    The ingest during the writes is always the CLI; ``in_process`` runs the ones before and after here.
    """
    from assistant.ingest import RECHECK

    root = work / f"changing-{rng.randrange(10**6)}"
    corpus, index_dir = root / "corpus", root / "index"
    write_corpus(corpus, docs, rng)
    big = corpus / "big" / "changing.md"
    big.parent.mkdir(parents=True, exist_ok=True)
    big.write_text(big_text(rng, kilobytes), encoding="utf-8")
    result = TrialResult("file changing")
    first = complete_ingest(corpus, index_dir, work, in_process=in_process)
    if first.returncode != 0:
        result.violations.append(f"the first ingest failed: {first.stderr.strip()[-300:]}")
        return result
    # Writes go on from the start of the ingest until a random moment: often in the middle of it.
    scribbler = Scribbler(big, random.Random(rng.random()), stop_after=rng.uniform(0.4, 1.2) * expected_s,
                          kilobytes=kilobytes)
    started = time.monotonic()
    scribbler.start()
    during = run_ingest(corpus, index_dir, work)
    result.seconds = time.monotonic() - started
    scribbler.join()
    result.detail = f"{big.stat().st_size // 1000} KB file, {scribbler.operations} writes in {scribbler.stop_after:.1f} s"
    result.outcome = f"exit {during.returncode}"
    if during.returncode not in (0, 1) or "Traceback" in during.stdout + during.stderr:
        result.violations.append(f"the ingest crashed: {during.stderr.strip()[-300:]}")
    state = check_index(index_dir)
    result.violations += state.violations
    entry = state.documents.get("big/changing.md")
    if entry is None:
        result.violations.append("the changing file is not in the index")
    else:
        # Either the entry is right for the file as it is now, or the next ingest reads it again.
        stat = big.stat()
        trusted = entry["mtime_ns"] != RECHECK and (entry["size"], entry["mtime_ns"]) == (stat.st_size,
                                                                                           stat.st_mtime_ns)
        from assistant.load import file_hash

        if trusted and (entry["file_hash"] != file_hash(big)
                        or entry["passage_hashes"] != expected_passage_hashes(big, "big/changing.md")):
            result.violations.append("the changing file's entry is stale but would not be read again")
        result.generation = "matches the file" if entry["file_hash"] == file_hash(big) else "re-read due"
    again = complete_ingest(corpus, index_dir, work, in_process=in_process)
    if again.returncode != 0:
        result.violations.append(f"the re-ingest failed: {again.stderr.strip()[-300:]}")
    final = check_index(index_dir)
    result.violations += final.violations + check_matches_corpus(final, corpus_hashes(corpus))
    entry = final.documents.get("big/changing.md", {})
    if entry.get("passage_hashes") != expected_passage_hashes(big, "big/changing.md"):
        result.violations.append("after the re-ingest the changing file's passages are not those of its content")
    shutil.rmtree(root, ignore_errors=True)
    return result


# -- the script -----------------------------------------------------------------------------------


def table(rows: list[TrialResult]) -> str:
    out = ["| # | trial | what | outcome | generation live after | s | violations |", "|---|---|---|---|---|---|---|"]
    for number, row in enumerate(rows, start=1):
        outcome = row.outcome.replace("|", "\\|")
        outcome = outcome if len(outcome) <= 60 else outcome[:57] + "..."
        out.append(f"| {number} | {row.kind} | {row.detail} | {outcome} | {row.generation} | {row.seconds:.1f} | "
                   f"{len(row.violations)} |")
    return "\n".join(out)


def summary_table(rows: list[TrialResult]) -> str:
    kills = [r for r in rows if r.kind == "kill"]
    counts = [
        ("kill -9 trials run", len(kills)),
        ("… killed mid-way", sum(r.outcome == "killed" for r in kills)),
        ("… completed before the kill", sum(r.outcome == "completed" for r in kills)),
        ("… old generation live afterwards", sum(r.generation == "old" for r in kills)),
        ("… new generation live afterwards", sum(r.generation == "new" for r in kills)),
        ("disk-full trials", sum(r.kind == "disk full" and not r.outcome.startswith("skipped") for r in rows)),
        ("file-changing trials", sum(r.kind == "file changing" for r in rows)),
        ("invariant violations", sum(len(r.violations) for r in rows)),
    ]
    return "\n".join(["| | count |", "|---|---|"] + [f"| {name} | {value} |" for name, value in counts])


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--as-cli":
        return as_cli(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=20, help="kill -9 trials")
    parser.add_argument("--docs", type=int, default=2000, help="documents in the synthetic corpus")
    parser.add_argument("--seed", type=int, default=20250601)
    parser.add_argument("--fraction", type=float, default=0.05, help="share of files edited/added/deleted per trial")
    parser.add_argument("--dense", action="store_true", help="also build FAISS, with a fake deterministic embedder")
    parser.add_argument("--changing", type=int, default=3, help="file-changing trials")
    parser.add_argument("--keep", type=Path, help="work here and keep it (default: a temporary folder)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = args.keep or Path(tempfile.mkdtemp(prefix="policyqa-faults-"))
    work.mkdir(parents=True, exist_ok=True)
    corpus, index_dir = work / "corpus", work / "index"
    shutil.rmtree(corpus, ignore_errors=True)
    shutil.rmtree(index_dir, ignore_errors=True)
    rows: list[TrialResult] = []
    try:
        write_corpus(corpus, args.docs, rng)
        size = sum(p.stat().st_size for p in corpus.rglob("*.md"))
        started = time.monotonic()
        first = run_ingest(corpus, index_dir, work, args.dense)
        print(f"corpus: {args.docs} documents, {size / 1e6:.1f} MB; first ingest {time.monotonic() - started:.1f} s, "
              f"exit {first.returncode}; {'dense (fake embedder) + ' if args.dense else ''}BM25", flush=True)
        if first.returncode != 0:
            print(first.stderr)
            return 1
        expected_s, problems = measure_ingest(corpus, index_dir, work, rng, args.dense, args.fraction)
        print(f"an incremental ingest ({args.fraction:.0%} of files edited, added, deleted) takes {expected_s:.1f} s; "
              f"kills are drawn uniformly over 0-{expected_s * 1.1:.1f} s", flush=True)
        if problems:
            rows.append(TrialResult("calibration", violations=problems))
        for number, delay in enumerate(kill_delays(rng, args.trials, expected_s)):
            row = kill_trial(corpus, index_dir, work, rng, expected_s, args.dense, args.fraction, delay=delay)
            rows.append(row)
            print(f"kill trial {number + 1}: {row.outcome}, {row.generation} generation, "
                  f"{len(row.violations)} violations {row.violations[:3]}", flush=True)
        for mode in ("tmpfs", "fsize"):
            row = disk_full_trial(work, rng, docs=max(50, args.docs // 10), mode=mode, dense=args.dense)
            rows.append(row)
            print(f"disk-full trial ({mode}): {row.outcome}\n  {len(row.violations)} violations {row.violations[:3]}",
                  flush=True)
        for _ in range(args.changing):
            row = changing_file_trial(work, rng, docs=max(50, args.docs // 10), expected_s=expected_s)
            rows.append(row)
            print(f"file-changing trial: {row.detail}; {row.outcome}; {len(row.violations)} violations "
                  f"{row.violations[:3]}", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print()
    print(table(rows))
    print()
    print(summary_table(rows))
    violations = [v for r in rows for v in r.violations]
    for violation in violations:
        print(f"VIOLATION: {violation}")
    print(json.dumps({"trials": len(rows), "violations": len(violations)}))
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
