"""Concurrent chat clients while the same server re-indexes a large corpus: no errors, a clean switch.

    python eval/load_during_ingest.py [--clients 50] [--seconds 60] [--corpus ../shared/corpus]
                                      [--before 10] [--after 5] [--max-seconds 900] [--questions FILE]

1. Writes a small initial corpus in a temporary folder (the repo's seed document and 20 synthetic
   regulations), indexes it (BM25 only, embedder ``none``) and starts the API server on 127.0.0.1
   over it (uvicorn, one process, as eval/bench_serve.py does), with ``corpus_dir`` that folder and
   an admin token. The new corpus is linked in under ``new/`` (a symbolic link per file, so the
   shared corpus is only read), which the live index does not know yet.
2. ``--clients`` threads POST /api/ask in a loop (the ``question`` fields of ../shared/eval/dev.jsonl,
   else built-in questions) while a watcher polls /healthz every 50 ms for the live generation and
   its document count. After ``--before`` seconds an admin POST /api/reindex starts the ingest in
   the server; GET /api/reindex follows it. The clients stop once ``--seconds`` have passed, the
   ingest has finished and ``--after`` more seconds have passed, or at ``--max-seconds`` in all.
3. Checks: 0 errors (a non-200 answer or a failed request); the live generation switches exactly
   once, from the initial one to the one the ingest built, and only to a complete index (every poll
   shows either the initial document count or the final one); no answer that ended while the old
   generation was still live (before the last poll that saw it) cites or retrieves a document of
   the new corpus; answers that started after the first poll saw the new generation retrieve only
   documents it holds, and some of them cite new documents.

Prints a summary table and latency p50/p95/max before, during and after the ingest, then the
checks; exits 1 when one fails. ``tests/test_load.py`` runs :func:`run_trial` scaled down.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fault_trials  # noqa: E402
from bench_serve import REPO, Sample, check_lines, latency_cells, load_questions, run_clients, served  # noqa: E402

DEFAULT_CORPUS = REPO.parent / "shared" / "corpus"
SEED = REPO / "corpus" / "hebei-compute-ai-opinion-interpretation-2024.md"
ADMIN_TOKEN = "load-during-ingest-admin"
NEW = "new"  # the folder in the corpus that receives the new documents

# -- corpora ---------------------------------------------------------------------------------------


def write_initial_corpus(folder: Path, docs: int = 20, seed: int = 7) -> None:
    """The repo's seed document and ``docs`` synthetic regulations (eval/fault_trials.py's)."""
    folder.mkdir(parents=True, exist_ok=True)
    if SEED.is_file():
        shutil.copyfile(SEED, folder / SEED.name)
    fault_trials.write_corpus(folder, docs, random.Random(seed))


def link_corpus(source: Path, target: Path) -> int:
    """A symbolic link in ``target`` to every file under ``source`` (same relative paths); the count."""
    count = 0
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if not path.is_file() or any(part.startswith(".") for part in relative.parts):
            continue
        link = target / relative
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(path.resolve())
        count += 1
    return count


NEW_TOPICS = ["低空经济", "量子信息", "氢能产业", "海洋牧场", "冰雪旅游", "银发经济"]
NEW_PLACES = ["江苏省", "福建省", "山东省", "云南省", "吉林省", "海南省"]
NEW_PHRASES = ["对新建项目给予一次性奖励", "奖励金额最高不超过三百万元", "由市级财政按比例安排专项资金",
               "申报单位应当在每年六月底前提交材料", "建立重点项目清单管理制度", "支持龙头企业牵头组建创新联合体"]


# Questions that the synthetic documents answer and the initial corpus cannot.
SYNTHETIC_QUESTIONS = [f"{place}{topic}发展有哪些奖励政策？" for topic in NEW_TOPICS for place in NEW_PLACES[:2]]


def write_synthetic_corpus(folder: Path, docs: int, seed: int = 11) -> None:
    """``docs`` regulations on topics the initial corpus lacks (see SYNTHETIC_QUESTIONS)."""
    rng = random.Random(seed)
    for number in range(docs):
        topic, place = NEW_TOPICS[number % len(NEW_TOPICS)], rng.choice(NEW_PLACES)
        lines = [f"{place}{topic}发展促进办法（第{number}号）", "", f"{place[:2]}政规〔2025〕{number + 1}号", ""]
        for article in range(1, rng.randint(4, 12)):
            body = "，".join(rng.sample(NEW_PHRASES, 3))
            lines += [f"第{fault_trials.cn(article)}条 为促进{place}{topic}发展，{body}。", ""]
        path = folder / f"batch{number % 5}" / f"{topic}-{number:04d}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines), encoding="utf-8")


# -- watching the server ---------------------------------------------------------------------------


@dataclass
class Poll:
    sent: float
    received: float
    generation: str | None
    documents: int
    error: str | None = None


class HealthWatcher(threading.Thread):
    """Polls /healthz every ``interval`` s until stopped or ``deadline`` (perf_counter) passes."""

    def __init__(self, url: str, deadline: float, interval: float = 0.05) -> None:
        super().__init__(name="health-watcher", daemon=True)
        self.url, self.deadline, self.interval = url, deadline, interval
        self.polls: list[Poll] = []
        self.halt = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=30) as http:
            while not self.halt.is_set() and time.perf_counter() < self.deadline:
                sent = time.perf_counter()
                try:
                    response = http.get(f"{self.url}/healthz")
                    body = response.json()
                    poll = Poll(sent, time.perf_counter(), body.get("generation"), int(body.get("documents", -1)),
                                None if response.status_code == 200 else f"{response.status_code}: {body}")
                except (httpx.HTTPError, ValueError) as exc:
                    poll = Poll(sent, time.perf_counter(), None, -1, f"{type(exc).__name__}: {exc}")
                self.polls.append(poll)
                self.halt.wait(self.interval)


class Reindexer(threading.Thread):
    """At ``start_at``: POST /api/reindex, then follow GET /api/reindex until the ingest has finished."""

    def __init__(self, url: str, start_at: float, deadline: float) -> None:
        super().__init__(name="reindexer", daemon=True)
        self.url, self.start_at, self.deadline = url, start_at, deadline
        self.triggered: float | None = None
        self.finished: float | None = None
        self.status: dict[str, Any] = {}
        self.error: str | None = None

    @property
    def done(self) -> bool:
        return self.finished is not None or self.error is not None

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        try:
            time.sleep(max(0.0, self.start_at - time.perf_counter()))
            with httpx.Client(timeout=30, headers=headers) as http:
                self.triggered = time.perf_counter()
                response = http.post(f"{self.url}/api/reindex")
                if response.status_code != 202:
                    self.error = f"POST /api/reindex answered {response.status_code}: {response.text[:200]}"
                    return
                while time.perf_counter() < self.deadline:
                    self.status = http.get(f"{self.url}/api/reindex").json()
                    if not self.status.get("running"):
                        self.finished = time.perf_counter()
                        if self.status.get("error"):
                            self.error = f"the ingest failed: {self.status['error']}"
                        return
                    time.sleep(0.25)
                self.error = "the ingest had not finished at the hard time limit"
        except (httpx.HTTPError, ValueError) as exc:
            self.error = f"following the re-index failed: {type(exc).__name__}: {exc}"


# -- one trial -------------------------------------------------------------------------------------


@dataclass
class Trial:
    clients: int
    questions: int
    started: float  # perf_counter when the clients started; times below are relative to it
    wall: float
    samples: list[Sample]
    polls: list[Poll]
    triggered: float | None
    finished: float | None
    ingest: dict[str, Any]
    ingest_error: str | None
    old_sources: set[str]
    final_sources: set[str]
    old_generation: str
    final_generation: str | None
    checks: list[tuple[str, bool, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(passed for _, passed, _ in self.checks)


def _answer_sources(response: httpx.Response) -> tuple[bool, frozenset[str], frozenset[str]]:
    """(refused, sources of the retrieved passages, sources of the citations) of an answer."""
    body = response.json()
    passages = frozenset(str(p["source"]) for p in body["passages"])
    cited = frozenset(str(c["source"]) for c in body["citations"])
    return bool(body["refused"]), passages | cited, cited


def _manifest_sources(index_dir: Path) -> tuple[str | None, set[str]]:
    from assistant.index import current_generation, read_manifest

    generation = current_generation(index_dir)
    if generation is None:
        return None, set()
    return generation.name, set(read_manifest(generation).get("documents", {}))


def write_config(path: Path, corpus: Path) -> Path:
    path.write_text(f"corpus_dir = {json.dumps(str(corpus.resolve()))}\nembedder = \"none\"\n"
                    f"admin_token = {json.dumps(ADMIN_TOKEN)}\n", encoding="utf-8")
    return path


def build_initial_index(work: Path, corpus: Path) -> tuple[Path, Path]:
    """Index ``corpus`` (BM25 only) in ``work/index``; return (index folder, config file)."""
    from assistant.config import load_settings
    from assistant.ingest import Ingestor

    config = write_config(work / "policyqa.toml", corpus)
    settings = load_settings(config_file=config, index_dir=work / "index")
    Ingestor(settings, progress=False, workers=1).run([corpus])
    return settings.index_dir, config


def run_trial(work: Path, add_new: Callable[[Path], Any], questions: list[str], clients: int, seconds: float,
              before: float, after: float, max_seconds: float, initial_docs: int = 20,
              log: Callable[[str], None] = print) -> Trial:
    """Serve an index of a small corpus, add documents with ``add_new(folder)`` under ``corpus/new``,
    and drive ``clients`` clients while a re-index takes them in; check the result (see the docstring)."""
    corpus = work / "corpus"
    write_initial_corpus(corpus, initial_docs)
    index_dir, config = build_initial_index(work, corpus)
    old_generation, old_sources = _manifest_sources(index_dir)
    assert old_generation is not None
    add_new(corpus / NEW)
    with served(index_dir, config, ready_timeout=120) as (url, health, ready_s):
        log(f"server {url}: {health['documents']} documents ({health['generation']}), ready in {ready_s:.1f} s; "
            f"{clients} clients, re-index at {before:g} s")
        started = time.perf_counter()
        deadline = started + max_seconds
        watcher = HealthWatcher(url, deadline)
        reindexer = Reindexer(url, started + before, deadline)
        watcher.start()
        reindexer.start()

        def stop() -> bool:
            now = time.perf_counter()
            if now < started + seconds or not reindexer.done:
                return False
            return reindexer.finished is None or now >= reindexer.finished + after

        def send(http: httpx.Client, client: int, n: int) -> httpx.Response:
            return http.post(f"{url}/api/ask", json={"question": questions[n % len(questions)]})

        samples = run_clients(clients, send, deadline=deadline, stop=stop, inspect=_answer_sources)
        wall = time.perf_counter() - started
        watcher.halt.set()
        watcher.join(30)
        reindexer.join(30)
    final_generation, final_sources = _manifest_sources(index_dir)
    trial = Trial(clients, len(questions), started, wall, sorted(samples, key=lambda s: s.started), watcher.polls,
                  reindexer.triggered, reindexer.finished, reindexer.status.get("last") or {}, reindexer.error,
                  old_sources, final_sources, old_generation, final_generation)
    check(trial)
    return trial


# -- checks and the report -------------------------------------------------------------------------


def switch_bounds(trial: Trial) -> tuple[float | None, float | None]:
    """(sent time of the last poll that saw the old generation, received time of the first that saw
    another): the switch happened between them."""
    old = [p.sent for p in trial.polls if p.generation == trial.old_generation]
    new = [p.received for p in trial.polls if p.generation not in (None, trial.old_generation)]
    return (max(old) if old else None), (min(new) if new else None)


def switch_time(trial: Trial) -> float | None:
    last_old, first_new = switch_bounds(trial)
    if first_new is None:
        return None
    return (last_old + first_new) / 2 if last_old is not None else first_new


def check(trial: Trial) -> None:
    checks = trial.checks
    errors = [s for s in trial.samples if s.error is not None]
    checks.append(("no errors", not errors, f"{len(errors)} of {len(trial.samples)} requests failed"
                   + (f"; first: {errors[0].error}" if errors else "")))
    poll_errors = [p for p in trial.polls if p.error is not None]
    checks.append(("/healthz answered every poll", not poll_errors, f"{len(poll_errors)} of {len(trial.polls)} "
                   "polls failed" + (f"; first: {poll_errors[0].error}" if poll_errors else "")))
    checks.append(("the ingest finished", trial.ingest_error is None and trial.finished is not None,
                   trial.ingest_error or f"{trial.ingest.get('text', '')}"))
    sequence: list[str | None] = []
    for poll in trial.polls:
        if poll.error is None and (not sequence or sequence[-1] != poll.generation):
            sequence.append(poll.generation)
    checks.append(("the generation switched once, to the new index",
                   sequence == [trial.old_generation, trial.final_generation]
                   and trial.final_generation == trial.ingest.get("generation"),
                   " -> ".join(str(g) for g in sequence)))
    counts = {len(trial.old_sources), len(trial.final_sources)}
    partial = sorted({p.documents for p in trial.polls if p.error is None} - counts)
    checks.append(("only complete indexes were live", not partial,
                   f"document counts seen: {sorted({p.documents for p in trial.polls if p.error is None})}; "
                   f"initial {len(trial.old_sources)}, final {len(trial.final_sources)}"))
    last_old, first_new = switch_bounds(trial)
    early = [s for s in trial.samples if s.error is None and last_old is not None and s.ended <= last_old]
    leaked = [s for s in early if not s.info[1] <= trial.old_sources]
    checks.append(("answers before the switch cite only the old corpus", not leaked,
                   f"{len(leaked)} of {len(early)} answers that ended before the last poll of the old generation "
                   "retrieved new documents" + (f", e.g. {sorted(leaked[0].info[1] - trial.old_sources)[:3]}"
                                                if leaked else "")))
    late = [s for s in trial.samples if s.error is None and first_new is not None and s.started >= first_new]
    unknown = [s for s in late if not s.info[1] <= trial.final_sources]
    cite_new = [s for s in late if s.info[2] - trial.old_sources]
    checks.append(("answers after the switch come from the new index and cite new documents",
                   bool(late) and not unknown and bool(cite_new),
                   f"{len(cite_new)} of {len(late)} answers after the switch cite new documents; "
                   f"{len(unknown)} retrieved documents the new index lacks"))


def _phase_rows(trial: Trial) -> list[tuple[str, list[Sample]]]:
    triggered = trial.triggered if trial.triggered is not None else float("inf")
    switch = switch_time(trial) or float("inf")
    rel = lambda t: t - trial.started  # noqa: E731
    before = [s for s in trial.samples if s.started < triggered]
    during = [s for s in trial.samples if triggered <= s.started < switch]
    after = [s for s in trial.samples if s.started >= switch]
    end = trial.wall
    label_t = f"{rel(triggered):.0f}" if triggered != float("inf") else "-"
    label_s = f"{rel(switch):.0f}" if switch != float("inf") else "-"
    return [(f"before ingest (0-{label_t} s)", before), (f"during ingest ({label_t}-{label_s} s)", during),
            (f"after switch ({label_s}-{end:.0f} s)", after), ("all", trial.samples)]


def report(trial: Trial) -> str:
    ok = [s for s in trial.samples if s.error is None]
    errors = len(trial.samples) - len(ok)
    switch = switch_time(trial)
    ingest_s = (trial.finished - trial.triggered) if trial.finished and trial.triggered else None
    lines = ["| clients | seconds | requests | errors | answers/s | ingest s | switch at s |",
             "| --- | --- | --- | --- | --- | --- | --- |",
             f"| {trial.clients} | {trial.wall:.1f} | {len(trial.samples)} | {errors} | "
             f"{len(ok) / trial.wall if trial.wall else 0:.1f} | "
             f"{f'{ingest_s:.1f}' if ingest_s is not None else '-'} | "
             f"{f'{switch - trial.started:.1f}' if switch is not None else '-'} |", "",
             "| phase | requests | errors | p50 ms | p95 ms | max ms | cite new documents |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for label, samples in _phase_rows(trial):
        good = [s.seconds * 1000 for s in samples if s.error is None]
        cite_new = sum(1 for s in samples if s.error is None and s.info[2] - trial.old_sources)
        lines.append(f"| {label} | {len(samples)} | {len(samples) - len(good)} | {latency_cells(good)} | {cite_new} |")
    last_old, first_new = switch_bounds(trial)
    if trial.ingest:
        lines += ["", f"ingest (in the server, {trial.ingest.get('seconds', '?')} s by its own clock): "
                      f"{trial.ingest.get('text', '')}"]
    if last_old is not None and first_new is not None:
        lines.append(f"generation {trial.old_generation} ({len(trial.old_sources)} documents) -> "
                     f"{trial.final_generation} ({len(trial.final_sources)} documents) between "
                     f"{last_old - trial.started:.2f} s and {first_new - trial.started:.2f} s "
                     f"({len(trial.polls)} /healthz polls)")
    lines.append("")
    lines += check_lines(trial.checks)
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50, help="concurrent chat clients (default 50)")
    parser.add_argument("--seconds", type=float, default=60.0,
                        help="drive the server at least this long, and until the ingest has finished (default 60)")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS,
                        help="the corpus the server ingests under load (default ../shared/corpus; only read)")
    parser.add_argument("--before", type=float, default=10.0, help="seconds of load before the re-index (default 10)")
    parser.add_argument("--after", type=float, default=5.0,
                        help="seconds of load at least after the ingest has finished (default 5)")
    parser.add_argument("--max-seconds", type=float, default=900.0, help="hard limit on the load (default 900)")
    parser.add_argument("--questions", type=Path, help="JSONL with a \"question\" per line (default dev.jsonl)")
    parser.add_argument("--keep", type=Path, help="work in this new folder (kept) rather than a temporary one")
    args = parser.parse_args()
    if args.clients <= 0 or args.seconds <= 0 or args.max_seconds <= args.before:
        parser.error("--clients and --seconds must be greater than 0, --max-seconds greater than --before")
    if not args.corpus.is_dir():
        parser.error(f"--corpus {args.corpus} is not a folder")
    if args.keep is not None and args.keep.exists() and any(args.keep.iterdir()):
        parser.error(f"--keep {args.keep} is not empty; name a new or empty folder")
    questions, origin = load_questions(args.questions)
    print(f"questions: {len(questions)} from {origin}; new corpus: {args.corpus.resolve()}")

    def add_new(folder: Path) -> None:
        print(f"linked {link_corpus(args.corpus, folder)} files of {args.corpus} into {folder}")

    with tempfile.TemporaryDirectory(prefix="policyqa-load-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        trial = run_trial(work, add_new, questions, args.clients, args.seconds, args.before, args.after,
                          args.max_seconds)
    print()
    print(report(trial))
    return 0 if trial.ok else 1


if __name__ == "__main__":
    sys.exit(main())
