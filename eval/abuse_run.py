"""A scripted abuse run against the widget's site keys, origin allow-list and rate limits.

    python eval/abuse_run.py [--seconds 20] [--attackers 20]

Starts the API server on 127.0.0.1 (uvicorn, one process, as eval/bench_serve.py does) over a small
index, with one site (key ``portal-key`` for https://portal.example.gov.cn), a second site whose
key allows only 20 questions a minute (``tiny-key``), and 120 questions a minute per client address.
Then, for ``--seconds``:

- ``--attackers`` - 1 attackers, each from its own loopback address (127.0.0.20, .21 …; the client
  socket is bound to it, so the server sees distinct client IPs without trusting any header), send
  bursts of 10 requests, each one of: a random key, the right key from a wrong origin, no key from
  a foreign origin, the demo key from a foreign origin, a CORS preflight from a wrong origin, an
  oversized body, bad JSON, or a question with ``tiny-key`` (its own per-key limit);
- one over-limit client (127.0.0.9, the right key and origin) sends bursts far above its
  per-client limit, each request with a made-up X-Forwarded-For (which must not reset its limit);
- one legitimate client (127.0.0.2, right key and origin, one question a second: within every
  limit) asks throughout.

Prints the responses by kind and status (200/400/403/413/429/other) and the legitimate client's
success rate and latency p50/p95/max, then the checks: every kind got only its expected statuses,
the limited kinds got no more 200s than their token buckets allow and some 429s, refusals to an
unlisted origin carry no CORS header, and the legitimate client got 100% answers. Exits 1 when a
check fails. ``tests/test_load.py`` runs :func:`run_abuse` scaled down.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_serve import Sample, check_lines, latency_cells, run_clients, served  # noqa: E402
from load_during_ingest import write_initial_corpus  # noqa: E402

PORTAL = "https://portal.example.gov.cn"
KEY, TINY_KEY = "portal-key", "tiny-key"
CLIENT_RATE, KEY_RATE, TINY_RATE = 120, 600, 20  # per minute
MAX_REQUEST_KB = 64
LEGIT_ADDRESS, OVER_LIMIT_ADDRESS = "127.0.0.2", "127.0.0.9"
LEGIT_QUESTION = "河北省在优化算力布局方面提出了哪些意见？"
QUESTION = {"question": "张家口数据中心集群有什么定位？"}
KIND_HEADER = "X-Abuse-Kind"  # tells the run which kind a response answers; the server ignores it
BURST = 10

# kind -> the statuses it may get
EXPECTED: dict[str, set[int]] = {
    "random key": {403}, "wrong origin": {403}, "missing key": {403}, "demo key elsewhere": {403},
    "preflight wrong origin": {403}, "oversized body": {413}, "bad JSON": {400},
    "tiny-key (per-key limit)": {200, 429}, "over-limit client": {200, 429},
}
ROTATION = [kind for kind in EXPECTED if kind != "over-limit client"]
STATUSES = (200, 400, 403, 413, 429)


def write_config(path: Path, corpus: Path, client_rate: int = CLIENT_RATE) -> Path:
    path.write_text(
        f"corpus_dir = {json.dumps(str(corpus.resolve()))}\nembedder = \"none\"\n"
        f"rate_per_minute_client = {client_rate}\nrate_per_minute_key = {KEY_RATE}\n"
        f"max_request_kb = {MAX_REQUEST_KB}\n\n"
        f"[[sites]]\nkey = \"{KEY}\"\norigins = [\"{PORTAL}\"]\n\n"
        f"[[sites]]\nkey = \"{TINY_KEY}\"\norigins = [\"{PORTAL}\"]\nrate_per_minute = {TINY_RATE}\n",
        encoding="utf-8")
    return path


def build(work: Path, client_rate: int = CLIENT_RATE) -> tuple[Path, Path]:
    """A small BM25 index and the server's config (``client_rate`` questions a minute per client
    address) in ``work``; return (index folder, config)."""
    from assistant.config import load_settings
    from assistant.ingest import Ingestor

    corpus = work / "corpus"
    write_initial_corpus(corpus, docs=10)
    config = write_config(work / "policyqa.toml", corpus, client_rate)
    settings = load_settings(config_file=config, index_dir=work / "index")
    Ingestor(settings, progress=False, workers=1).run([corpus])
    return settings.index_dir, config


def attack(http: httpx.Client, url: str, kind: str, rng: random.Random) -> httpx.Response:
    """One abusive request of ``kind``."""
    tag = {KIND_HEADER: kind}
    ask = f"{url}/api/ask"
    if kind == "random key":
        key = f"k-{rng.getrandbits(64):x}"
        return http.post(ask, json=QUESTION, headers={**tag, "Origin": PORTAL, "X-Site-Key": key})
    if kind == "wrong origin":
        return http.post(ask, json=QUESTION, headers={**tag, "Origin": f"https://evil{rng.randrange(10**6)}.example",
                                                      "X-Site-Key": KEY})
    if kind == "missing key":
        origin = rng.choice([PORTAL, f"https://evil{rng.randrange(10**6)}.example"])
        return http.post(ask, json=QUESTION, headers={**tag, "Origin": origin})
    if kind == "demo key elsewhere":
        return http.post(ask, json=QUESTION, headers={**tag, "Origin": "https://evil.example", "X-Site-Key": "demo"})
    if kind == "preflight wrong origin":
        return http.options(ask, headers={**tag, "Origin": f"https://evil{rng.randrange(10**6)}.example",
                                          "Access-Control-Request-Method": "POST"})
    if kind == "oversized body":  # a server-side caller (no Origin): only the body limit applies
        return http.post(ask, json={"question": "长" * (MAX_REQUEST_KB * 1024)}, headers=tag)
    if kind == "bad JSON":
        truncated = b'{"question": "\xe5\x9e\x83'  # cut off, in the middle of a character too
        return http.post(ask, content=truncated, headers={**tag, "Content-Type": "application/json"})
    if kind == "tiny-key (per-key limit)":
        return http.post(ask, json=QUESTION, headers={**tag, "Origin": PORTAL, "X-Site-Key": TINY_KEY})
    if kind == "over-limit client":
        spoof = f"203.0.113.{rng.randrange(1, 255)}"
        return http.post(ask, json=QUESTION, headers={**tag, "Origin": PORTAL, "X-Site-Key": KEY,
                                                      "X-Forwarded-For": spoof, "X-Real-IP": spoof})
    raise ValueError(kind)


def _look(response: httpx.Response) -> tuple[str, int, str | None]:
    return (response.request.headers.get(KIND_HEADER, "?"), response.status_code,
            response.headers.get("access-control-allow-origin"))


def _bound_to(address: str, timeout: float = 30) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=timeout)


@dataclass
class AbuseRun:
    attackers: int
    seconds: float
    client_rate: int
    attacks: list[Sample]
    legit: list[Sample]
    checks: list[tuple[str, bool, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(passed for _, passed, _ in self.checks)


def run_abuse(url: str, attackers: int, seconds: float, seed: int = 1, client_rate: int = CLIENT_RATE) -> AbuseRun:
    """Attack the server at ``url`` (built with ``client_rate``) for ``seconds`` while the legitimate
    client asks each second."""
    started = time.perf_counter()
    deadline = started + seconds
    rngs = [random.Random(seed * 1000 + n) for n in range(attackers)]

    def send(http: httpx.Client, client: int, n: int) -> httpx.Response:
        kind = "over-limit client" if client == 0 else ROTATION[n % len(ROTATION)]
        return attack(http, url, kind, rngs[client])

    def address(client: int) -> str:
        return OVER_LIMIT_ADDRESS if client == 0 else f"127.0.0.{20 + client % 230}"

    def burst_pause(client: int, k: int) -> float:
        return rngs[client].uniform(0.1, 0.4) if k and k % BURST == 0 else 0.0

    legit: list[Sample] = []

    def legit_client() -> None:
        def ask(http: httpx.Client, client: int, n: int) -> httpx.Response:
            return http.post(f"{url}/api/ask", json={"question": LEGIT_QUESTION},
                             headers={"Origin": PORTAL, "X-Site-Key": KEY})

        legit.extend(run_clients(1, ask, deadline=deadline, session=lambda _: _bound_to(LEGIT_ADDRESS),
                                 pause=lambda _, k: 1.0 if k else 0.2,
                                 inspect=lambda r: (len(r.json()["citations"]),
                                                    r.headers.get("access-control-allow-origin"))))

    thread = threading.Thread(target=legit_client, name="legit-client", daemon=True)
    thread.start()
    attacks = run_clients(attackers, send, deadline=deadline, accept=lambda r: True, inspect=_look,
                          session=lambda client: _bound_to(address(client)), pause=burst_pause)
    thread.join(60)
    run = AbuseRun(attackers, time.perf_counter() - started, client_rate, attacks, legit)
    check(run)
    return run


def _allowed_200(kind: str, seconds: float, client_rate: int) -> int:
    """The most answers a token bucket can let through in ``seconds``: all it holds and its refill."""
    rate = TINY_RATE if kind.startswith("tiny-key") else client_rate
    return int(rate + rate / 60 * seconds) + 1


def by_kind(run: AbuseRun) -> dict[str, Counter]:
    table: dict[str, Counter] = {kind: Counter() for kind in EXPECTED}
    for sample in run.attacks:
        if sample.error is not None:
            table.setdefault("(no response)", Counter())["error"] += 1
        else:
            kind, status, _ = sample.info
            table.setdefault(kind, Counter())[status] += 1
    return table


def check(run: AbuseRun) -> None:
    checks = run.checks
    table = by_kind(run)
    failed = [s.error for s in run.attacks if s.error is not None]
    checks.append(("every attack got an answer", not failed,
                   f"{len(failed)} requests got none" + (f"; first: {failed[0]}" if failed else "")))
    for kind, expected in EXPECTED.items():
        counts = table[kind]
        wrong = {status: n for status, n in counts.items() if status not in expected}
        detail = f"{sum(counts.values())} requests: " + ", ".join(f"{n}×{s}" for s, n in sorted(counts.items()))
        passed = bool(counts) and not wrong
        if passed and 429 in expected:
            most = _allowed_200(kind, run.seconds, run.client_rate)
            passed = counts[200] <= most and counts[429] > 0
            detail += f" (at most {most} answers allowed)"
        checks.append((f"{kind}: only {'/'.join(map(str, sorted(expected)))}", passed, detail))
    leaked = [s for s in run.attacks if s.error is None and s.info[2] not in (None, PORTAL)]
    checks.append(("no CORS header for an unlisted origin", not leaked,
                   f"{len(leaked)} responses named another origin" if leaked else "none did"))
    good = [s for s in run.legit if s.error is None and s.info[0] > 0 and s.info[1] == PORTAL]
    checks.append(("the legitimate client got every answer", bool(run.legit) and len(good) == len(run.legit),
                   f"{len(good)} of {len(run.legit)} answered with citations"
                   + ("" if len(good) == len(run.legit) else
                      f"; first failure: {next(s.error or s.info for s in run.legit if s not in good)}")))


def report(run: AbuseRun) -> str:
    table = by_kind(run)
    lines = [f"abuse run: {run.attackers} attackers, {run.seconds:.1f} s, {len(run.attacks)} attack requests "
             f"({len(run.attacks) / run.seconds:.0f}/s)", "",
             "| kind | requests | 200 | 400 | 403 | 413 | 429 | other |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    total: Counter = Counter()
    for kind, counts in table.items():
        total.update(counts)
        other = sum(n for s, n in counts.items() if s not in STATUSES)
        lines.append(f"| {kind} | {sum(counts.values())} | " + " | ".join(str(counts[s]) for s in STATUSES)
                     + f" | {other} |")
    other = sum(n for s, n in total.items() if s not in STATUSES)
    lines.append(f"| all attacks | {sum(total.values())} | " + " | ".join(str(total[s]) for s in STATUSES)
                 + f" | {other} |")
    ok = [s.seconds * 1000 for s in run.legit if s.error is None]
    share = 100.0 * len(ok) / len(run.legit) if run.legit else 0.0
    lines += ["", "| legitimate client | requests | success | p50 ms | p95 ms | max ms |",
              "| --- | --- | --- | --- | --- | --- |",
              f"| {LEGIT_ADDRESS}, {KEY} from {PORTAL} | {len(run.legit)} | {share:.1f}% | {latency_cells(ok)} |", ""]
    lines += check_lines(run.checks)
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="how long the abuse lasts (default 20)")
    parser.add_argument("--attackers", type=int, default=20,
                        help="attacking clients, the over-limit client among them (default 20)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the attacks")
    args = parser.parse_args()
    if args.seconds <= 0 or not 2 <= args.attackers <= 200:
        parser.error("--seconds must be greater than 0 and --attackers between 2 and 200")
    with tempfile.TemporaryDirectory(prefix="policyqa-abuse-") as tmp:
        index, config = build(Path(tmp))
        with served(index, config, ready_timeout=120) as (url, health, ready_s):
            print(f"server {url}: {health['documents']} documents, ready in {ready_s:.1f} s; site {KEY} for {PORTAL}, "
                  f"{TINY_KEY} at {TINY_RATE}/min, {CLIENT_RATE}/min per client address")
            run = run_abuse(url, args.attackers, args.seconds, args.seed)
    print(report(run))
    return 0 if run.ok else 1


if __name__ == "__main__":
    sys.exit(main())
