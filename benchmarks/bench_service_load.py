"""A bounded loopback load test of `diffcompare serve`: quick, slow and hostile requests at once.

Not a test: it prints a report. It starts the service in a subprocess on a free loopback
port and sends --requests requests from --concurrency concurrent clients, a seeded mix of

- quick: compare at a point, parse (the page's live preview), check, explain;
- slow: a comparison whose 50-digit reference takes minutes, answered 504 at the deadline
  (at most --slow-inflight at once, so the other workers keep answering);
- hostile: every refused input of the parser's corpus (422) and an oversized body (413).

It reports throughput, p50/p99 latency per kind, the count of each status per kind, the
requests lost (no answer), the 500s, and how many quick requests were answered while a slow
one was running. Run from the repository root:

    .venv/bin/python benchmarks/bench_service_load.py                  # 2,000 requests
    .venv/bin/python benchmarks/bench_service_load.py --requests 5000 --workers 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import socket
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from corpus import HOSTILE  # noqa: E402  (the parser's hostile inputs, shared with its tests)

SLOW = {
    "expr": "+".join(f"sin({k}*x)*exp(cos({k}*x))" for k in range(1, 41)),
    "samples": 1000,
}
QUICK_EXPRS = ["x**2+3*x", "sin(x)*exp(-x**2/2)", "log(1+x**2)", "sqrt(x**2+1)*tanh(x)"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_request(rng: random.Random, max_body: int) -> tuple[str, str, bytes]:
    """(kind, path, body) for one seeded request."""
    roll = rng.random()
    if roll < 0.01:
        return "slow", "/v1/compare", json.dumps(SLOW).encode()
    if roll < 0.16:
        case = rng.choice(HOSTILE)
        body = json.dumps({"expr": case.text}).encode()
        if rng.random() < 0.05:
            body = b'{"expr": "' + b"x" * (max_body + 1) + b'"}'
        return "hostile", "/v1/compare", body
    expr = rng.choice(QUICK_EXPRS)
    x = round(rng.uniform(0.1, 3.0), 3)
    if roll < 0.55:
        return "quick", "/v1/compare", json.dumps({"expr": expr, "at": [{"x": x}]}).encode()
    if roll < 0.85:
        return "quick", "/v1/parse", json.dumps({"expr": expr}).encode()
    if roll < 0.95:
        body = {"expr": "x**2+3*x", "formula": rng.choice(["2*x+3", "2*x"])}
        return "quick", "/v1/check", json.dumps(body).encode()
    return "quick", "/v1/explain", json.dumps({"expr": expr, "at": {"x": x}}).encode()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def load(url: str, args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    plan = [make_request(rng, args.max_body) for _ in range(args.requests)]
    results: list[tuple[str, int | None, float, float]] = []  # kind, status, start, end
    jobs: asyncio.Queue[tuple[str, str, bytes]] = asyncio.Queue()
    for item in plan:
        jobs.put_nowait(item)
    slow_gate = asyncio.Semaphore(args.slow_inflight)
    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )

    async def client_loop(client: httpx.AsyncClient) -> None:
        while True:
            try:
                kind, path, body = jobs.get_nowait()
            except asyncio.QueueEmpty:
                return
            gate = slow_gate if kind == "slow" else None
            if gate:
                await gate.acquire()
            start = time.monotonic()
            status: int | None
            try:
                response = await client.post(path, content=body)
                status = response.status_code
                json.loads(response.text)  # every answer is JSON
            except (httpx.HTTPError, ValueError):
                status = None  # lost: no (JSON) answer
            finally:
                if gate:
                    gate.release()
            results.append((kind, status, start, time.monotonic()))

    started = time.monotonic()
    async with httpx.AsyncClient(base_url=url, timeout=args.timeout, limits=limits) as client:
        await asyncio.gather(*(client_loop(client) for _ in range(args.concurrency)))
    return {"results": results, "seconds": time.monotonic() - started}


def report(outcome: dict[str, Any], args: argparse.Namespace) -> int:
    results = outcome["results"]
    seconds = outcome["seconds"]
    by_kind: dict[str, list[float]] = defaultdict(list)
    statuses: dict[str, Counter[str]] = defaultdict(Counter)
    for kind, status, start, end in results:
        by_kind[kind].append(end - start)
        statuses[kind][str(status) if status else "lost"] += 1
    every = [end - start for _, _, start, end in results]
    slow_windows = [(s, e) for k, _, s, e in results if k == "slow"]
    during = sum(
        1
        for k, st, s, e in results
        if k == "quick" and st == 200 and any(a <= s and e <= b for a, b in slow_windows)
    )
    lost = sum(c["lost"] for c in statuses.values())
    errors_500 = sum(c["500"] for c in statuses.values())
    print(
        f"service load test: {len(results)} requests, {args.concurrency} concurrent, "
        f"{args.workers} workers, deadline {args.deadline:g} s, seed {args.seed}"
    )
    print(f"  wall time   {seconds:8.1f} s")
    print(f"  throughput  {len(results) / seconds:8.1f} requests/s")
    print(f"  latency     p50 {percentile(every, 0.5) * 1000:8.1f} ms   "
          f"p99 {percentile(every, 0.99) * 1000:8.1f} ms   (all)")  # fmt: skip
    print()
    print(f"  {'kind':8} {'count':>6} {'p50 ms':>9} {'p99 ms':>9}  statuses")
    for kind in ("quick", "slow", "hostile"):
        times = by_kind.get(kind, [])
        counts = ", ".join(f"{s}: {n}" for s, n in sorted(statuses[kind].items()))
        print(
            f"  {kind:8} {len(times):6d} {percentile(times, 0.5) * 1000:9.1f} "
            f"{percentile(times, 0.99) * 1000:9.1f}  {counts}"
        )
    print()
    print(f"  lost (no answer)                               {lost}")
    print(f"  status 500                                     {errors_500}")
    print(f"  quick answered 200 while a slow one ran        {during}")
    ok = lost == 0 and errors_500 == 0 and len(results) == args.requests and during > 0
    print(f"  {'PASS' if ok else 'FAIL'}: 0 lost, 0 status 500, quick answered during slow")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--deadline", type=float, default=5.0)
    parser.add_argument("--queue", type=int, default=64)
    parser.add_argument("--max-body", type=int, default=65_536)
    parser.add_argument("--slow-inflight", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=120.0, help="client timeout (lost)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    port = free_port()
    command = [sys.executable, "-m", "diffcompare", "serve", "--port", str(port)]
    command += ["--workers", str(args.workers), "--deadline", str(args.deadline)]
    command += ["--queue", str(args.queue), "--max-body", str(args.max_body)]
    server = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=sys.stderr)
    url = f"http://127.0.0.1:{port}"
    try:
        end = time.monotonic() + 300
        while time.monotonic() < end:
            try:
                if httpx.get(f"{url}/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None:
                raise SystemExit("the server exited before it was ready")
            time.sleep(0.2)
        outcome = asyncio.run(load(url, args))
        pool = httpx.get(f"{url}/v1/health", timeout=10).json()["pool"]
        code = report(outcome, args)
        print(f"  pool after: {pool}")
        return code
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    sys.exit(main())
