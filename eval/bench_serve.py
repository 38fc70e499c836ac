"""Benchmark the HTTP API: answers per second and latency under concurrent clients.

    python eval/bench_serve.py --index DIR [--clients 8] [--seconds 20] [--questions FILE] [--max-requests N]

Starts the API (uvicorn, one process) on 127.0.0.1 over the index in DIR, waits for /healthz, then
N client threads each POST /api/ask in a loop, round-robin over the questions, until ``--seconds``
have passed or ``--max-requests`` answers were asked for in all. Prints throughput (answers/s),
latency p50/p95/max, the share of refusals and the error count, then a Markdown table row.

The server runs on an empty config with no ``POLICYQA_*`` variables (the offline extractive mode)
unless ``--config FILE`` names one. Questions: the ``question`` fields of ``--questions`` (JSONL),
by default ../shared/eval/dev.jsonl when present, else a few built-in ones.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

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
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                questions.append(str(json.loads(line)["question"]))
            except (json.JSONDecodeError, KeyError, TypeError):
                sys.exit(f"error: {path} line {number} is not a JSON object with a \"question\"")
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


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def drive(url: str, questions: list[str], clients: int, seconds: float, max_requests: int) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    refused = 0
    issued = 0
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client() -> None:
        nonlocal issued, refused
        with httpx.Client(timeout=60) as session:
            while time.monotonic() < deadline:
                with lock:
                    if issued >= max_requests:
                        return
                    question = questions[issued % len(questions)]
                    issued += 1
                started = time.perf_counter()
                try:
                    response = session.post(f"{url}/api/ask", json={"question": question})
                    elapsed = time.perf_counter() - started
                    ok = response.status_code == 200
                    was_refused = ok and response.json()["refused"]
                    problem = None if ok else f"{response.status_code}: {response.text[:200]}"
                except httpx.HTTPError as exc:
                    elapsed, was_refused, problem = time.perf_counter() - started, False, f"{type(exc).__name__}: {exc}"
                with lock:
                    if problem is None:
                        latencies.append(elapsed)
                        refused += was_refused
                    else:
                        errors.append(problem)

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {"answers": len(latencies), "errors": errors, "refused": refused, "wall": wall, "latencies": latencies}


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
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        load_started = time.perf_counter()
        server = start_server(args.index.resolve(), port, config.resolve())
        try:
            health = wait_ready(url, server, args.ready_timeout)
            load_seconds = time.perf_counter() - load_started
            print(f"server: {url}, index {health['generation']}: {health['documents']} documents, "
                  f"{health['passages']} passages; ready in {load_seconds:.1f} s")
            print(f"questions: {len(questions)} from {origin}; {args.clients} clients for up to {args.seconds:g} s "
                  f"or {args.max_requests} questions")
            result = drive(url, questions, args.clients, args.seconds, args.max_requests)
        finally:
            server.terminate()
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()

    latencies = [s * 1000 for s in result["latencies"]]
    throughput = result["answers"] / result["wall"] if result["wall"] else 0.0
    for error in result["errors"][:5]:
        print(f"  error: {error}")
    if not latencies:
        print(f"no answers; {len(result['errors'])} errors")
        return 1
    p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
    print(f"answers: {result['answers']} in {result['wall']:.1f} s = {throughput:.1f} answers/s; "
          f"refused {result['refused']}; errors {len(result['errors'])}")
    print(f"latency ms: p50 {p50:.0f}, p95 {p95:.0f}, mean {statistics.fmean(latencies):.0f}, max {max(latencies):.0f}")
    print("\n| clients | answers/s | p50 ms | p95 ms | errors |\n| --- | --- | --- | --- | --- |")
    print(f"| {args.clients} | {throughput:.1f} | {p50:.0f} | {p95:.0f} | {len(result['errors'])} |")
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
