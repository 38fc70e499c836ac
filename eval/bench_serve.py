"""Benchmark the HTTP API: answers per second and latency under concurrent clients.

    python eval/bench_serve.py --index DIR [--clients 8] [--seconds 20] [--questions FILE] [--max-requests N]

Starts the API (uvicorn, one process) on 127.0.0.1 over the index in DIR, waits for /healthz, then
N client threads each POST /api/ask in a loop, round-robin over the questions, until ``--seconds``
have passed or ``--max-requests`` answers were asked for in all. Prints throughput (answers/s),
latency p50/p95/max, the share of refusals and the error count, then a Markdown table row.

The server runs on an empty config with no ``POLICYQA_*`` variables (the offline extractive mode)
unless ``--config FILE`` names one. Questions: the ``question`` fields of ``--questions`` (JSONL),
by default ../shared/eval/dev.jsonl when present, else a few built-in ones.

Its client loop (:func:`run_clients`) and server (:func:`served`) are shared with
eval/load_during_ingest.py and eval/abuse_run.py.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from assistant import evaluation
from assistant.evaluation import percentile

REPO = Path(__file__).resolve().parents[1]
DEFAULT_QUESTIONS = REPO.parent / "shared" / "eval" / "dev.jsonl"
BUILT_IN = [
    "河北省在优化算力布局方面提出了哪些意见？",
    "推动人工智能产业创新发展有哪些保障措施？",
    "智能算力基础设施布局建设应坚持什么原则？",
    "张家口数据中心集群有什么定位？",
    "申请公共租赁住房需要什么条件？",
    "生活垃圾分为哪几类？",
]


def load_questions(path: Path | None) -> tuple[list[str], str]:
    path = path or (DEFAULT_QUESTIONS if DEFAULT_QUESTIONS.is_file() else None)
    if path is None:
        return BUILT_IN, "built-in"
    try:
        questions = [q.question for q in evaluation.load_questions(path)]
    except evaluation.QuestionFileError as exc:
        sys.exit(f"error: {exc}")
    if not questions:
        sys.exit(f"error: {path} has no questions")
    return questions, str(path)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(index: Path, port: int, config: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYQA_")}
    env.update(POLICYQA_INDEX=str(index), POLICYQA_CONFIG=str(config))
    command = [sys.executable, "-m", "uvicorn", "assistant.api:default_app", "--factory", "--host", "127.0.0.1",
               "--port", str(port), "--log-level", "warning", "--no-access-log"]
    return subprocess.Popen(command, cwd=REPO, env=env)


def wait_ready(url: str, server: subprocess.Popen, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"error: the server exited with status {server.returncode} before it was ready")
        try:
            response = httpx.get(f"{url}/healthz", timeout=2)
            if response.status_code == 200:
                return response.json()
            if response.status_code == 503:
                sys.exit(f"error: {response.json().get('error')}")
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    sys.exit(f"error: the server was not ready after {timeout:.0f} s")


@dataclass
class Sample:
    """One request of :func:`run_clients`: when it ran, how it ended and what ``inspect`` took from it."""

    client: int  # which client thread sent it
    started: float  # time.perf_counter() when it was sent
    ended: float  # time.perf_counter() when its response had arrived (or it failed)
    status: int  # the HTTP status; 0 when no response came
    info: Any = None  # what ``inspect`` took from an accepted response
    error: str | None = None  # None when the response was accepted

    @property
    def seconds(self) -> float:
        return self.ended - self.started


def latency_cells(ms: Sequence[float]) -> str:
    """Markdown cells "p50 | p95 | max" of latencies in milliseconds, or dashes when there are none."""
    return f"{percentile(ms, 50):.0f} | {percentile(ms, 95):.0f} | {max(ms):.0f}" if ms else "- | - | -"


def check_lines(checks: Sequence[tuple[str, bool, str]]) -> list[str]:
    """A report's checks, one "PASS  name: detail" (or FAIL) line each."""
    return [f"{'PASS' if passed else 'FAIL'}  {name}: {detail}" for name, passed, detail in checks]


def run_clients(clients: int, send: Callable[[httpx.Client, int, int], httpx.Response], *, deadline: float,
                stop: Callable[[], bool] = lambda: False, max_requests: int = 1_000_000,
                accept: Callable[[httpx.Response], bool] = lambda r: r.status_code == 200,
                inspect: Callable[[httpx.Response], Any] | None = None,
                session: Callable[[int], httpx.Client] = lambda client: httpx.Client(timeout=60),
                pause: Callable[[int, int], float] | None = None) -> list[Sample]:
    """``clients`` threads, each with its own ``session(client)``, calling ``send(session, client, n)``
    in a loop; return every request as a :class:`Sample`, in the order they ended.

    ``n`` numbers the requests of all clients (0, 1, 2 …). A client stops when ``time.perf_counter()``
    passes ``deadline`` (a hard bound), when ``stop()`` is true, or when ``max_requests`` were sent in all.
    A response is an error unless ``accept(response)``; ``inspect(response)`` (an exception in it is an
    error too) gives the sample's ``info``. ``pause(client, k)``, when given, is how many seconds client
    ``client`` waits before its ``k``-th request (0, 1 …), for paced or bursty clients.
    """
    samples: list[Sample] = []
    issued = 0
    lock = threading.Lock()

    def client(number: int) -> None:
        nonlocal issued
        with session(number) as http:
            own = 0
            while True:
                if pause is not None:
                    wait = min(pause(number, own), deadline - time.perf_counter())
                    if wait > 0:
                        time.sleep(wait)
                if time.perf_counter() >= deadline or stop():
                    return
                with lock:
                    if issued >= max_requests:
                        return
                    n = issued
                    issued += 1
                own += 1
                started = time.perf_counter()
                status, info, problem = 0, None, None
                try:
                    response = send(http, number, n)
                    status = response.status_code
                    if not accept(response):
                        problem = f"{response.status_code}: {response.text[:200]}"
                    elif inspect is not None:
                        info = inspect(response)
                except httpx.HTTPError as exc:
                    problem = f"{type(exc).__name__}: {exc}"
                except (ValueError, KeyError, TypeError) as exc:  # inspect could not read the response
                    problem = f"{status}: unreadable response ({type(exc).__name__}: {exc})"
                sample = Sample(number, started, time.perf_counter(), status, info, problem)
                with lock:
                    samples.append(sample)

    threads = [threading.Thread(target=client, args=(number,), daemon=True) for number in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return samples


def drive(url: str, questions: list[str], clients: int, seconds: float, max_requests: int) -> dict:
    def send(http: httpx.Client, client: int, n: int) -> httpx.Response:
        return http.post(f"{url}/api/ask", json={"question": questions[n % len(questions)]})

    started = time.perf_counter()
    samples = run_clients(clients, send, deadline=started + seconds, max_requests=max_requests,
                          inspect=lambda response: bool(response.json()["refused"]))
    wall = time.perf_counter() - started
    answered = [s for s in samples if s.error is None]
    return {"answers": len(answered), "errors": [s.error for s in samples if s.error is not None],
            "refused": sum(s.info for s in answered), "wall": wall, "latencies": [s.seconds for s in answered]}


@contextmanager
def served(index: Path, config: Path, ready_timeout: float = 300.0) -> Iterator[tuple[str, dict, float]]:
    """Start the API server on a free port over ``index`` with ``config``; yield (url, /healthz, seconds
    it took to be ready) and stop it afterwards."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    load_started = time.perf_counter()
    server = start_server(index.resolve(), port, config.resolve())
    try:
        health = wait_ready(url, server, ready_timeout)
        yield url, health, time.perf_counter() - load_started
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, required=True, help="index folder (built by policyqa ingest)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long to drive the server (default 20)")
    parser.add_argument("--max-requests", type=int, default=100_000, help="stop after this many questions in all")
    parser.add_argument("--questions", type=Path, help="JSONL file with a \"question\" per line")
    parser.add_argument("--config", type=Path, help="policyqa.toml for the server (default: an empty one)")
    parser.add_argument("--ready-timeout", type=float, default=300.0, help="seconds to wait for the server to load")
    args = parser.parse_args()
    if args.clients <= 0 or args.seconds <= 0 or args.max_requests <= 0:
        parser.error("--clients, --seconds and --max-requests must be greater than 0")
    if not args.index.is_dir():
        parser.error(f"--index {args.index} is not a folder; build one with: policyqa ingest FOLDER --index DIR")
    questions, origin = load_questions(args.questions)

    with tempfile.TemporaryDirectory() as tmp:
        config = args.config or Path(tmp) / "empty-policyqa.toml"
        if args.config is None:
            config.write_text("", encoding="utf-8")
        with served(args.index, config, args.ready_timeout) as (url, health, load_seconds):
            print(f"server: {url}, index {health['generation']}: {health['documents']} documents, "
                  f"{health['passages']} passages; ready in {load_seconds:.1f} s")
            print(f"questions: {len(questions)} from {origin}; {args.clients} clients for up to {args.seconds:g} s "
                  f"or {args.max_requests} questions")
            result = drive(url, questions, args.clients, args.seconds, args.max_requests)

    latencies = [s * 1000 for s in result["latencies"]]
    throughput = result["answers"] / result["wall"] if result["wall"] else 0.0
    for error in result["errors"][:5]:
        print(f"  error: {error}")
    if not latencies:
        print(f"no answers; {len(result['errors'])} errors")
        return 1
    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    print(f"answers: {result['answers']} in {result['wall']:.1f} s = {throughput:.1f} answers/s; "
          f"refused {result['refused']}; errors {len(result['errors'])}")
    print(f"latency ms: p50 {p50:.0f}, p95 {p95:.0f}, mean {statistics.fmean(latencies):.0f}, max {max(latencies):.0f}")
    print("\n| clients | answers/s | p50 ms | p95 ms | errors |\n| --- | --- | --- | --- | --- |")
    print(f"| {args.clients} | {throughput:.1f} | {p50:.0f} | {p95:.0f} | {len(result['errors'])} |")
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
