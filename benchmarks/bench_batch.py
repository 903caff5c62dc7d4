"""Throughput of batch runs: expressions per second on the local process pool (1 and 2
workers) and on a 2-worker Dask LocalCluster of processes, and the scaling efficiency.

Not a test: it prints a table. A seeded corpus (`diffcompare corpus`, 2,000 expressions by
default, each with 3 in-domain points) is run three times with a deadline no item reaches;
each run's output lines must be identical apart from their timings (it says so). For each
run it prints the wall time from the call to the end (worker start-up and shut-down
included), the throughput and its scaling efficiency (throughput over workers x the
1-worker throughput; 100% is perfect); then the fixed cost (a run of one tiny item: start-up
and shut-down), the steady throughput without it and its scaling, and the items' own
compute seconds summed (above the 1-worker sum when workers compete for cores).

Run from the repository root:
    .venv/bin/python benchmarks/bench_batch.py                   # 2,000 expressions
    .venv/bin/python benchmarks/bench_batch.py --count 200       # quicker
    .venv/bin/python benchmarks/bench_batch.py --corpus c.jsonl  # a corpus made before

What it predicts for many machines: the items are independent (kilobytes in, tens of
kilobytes out, no shared state), so throughput grows with the worker count until one of
these binds, roughly in this order:
- the scheduler: Dask's costs about a millisecond of scheduler time per task (submission,
  assignment, completion), so one scheduler tops out near 1,000 items per second; with
  items of ~0.3 s, about 300 single-threaded workers saturate it (batch several items per
  task beyond that);
- the client: it submits one task per free worker thread and decodes and writes every
  output line itself (a report is 5-30 kB of JSON), a few thousand lines per second;
- the tail: a run ends with its slowest item, so with many workers the wall time is the
  start-up (each worker imports torch and SymPy, seconds) plus the longest item, and the
  deadline bounds that;
- on one machine, the cores: efficiency on 2 workers below 100% is the cores shared
  with the run's own parent process (and on a shared machine, with everyone else).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

from diffcompare.batch import result_fields, run
from diffcompare.batch.corpus import corpus

DEADLINE = 3600.0
TRIVIAL = '{"expr": "x", "at": {"x": 1}}'


def _run(lines: list[str], workers: int, dask: str | None) -> tuple[float, list[dict[str, Any]]]:
    start = time.perf_counter()
    summary = run(lines, workers=workers, dask=dask, deadline=DEADLINE)
    return time.perf_counter() - start, list(summary.lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--corpus", type=Path, help="read (or, when absent, write) it here")
    args = parser.parse_args()

    start = time.perf_counter()
    if args.corpus is not None and args.corpus.exists():
        lines = args.corpus.read_text(encoding="utf-8").splitlines()[: args.count]
        made = "read from " + str(args.corpus)
    else:
        lines = [json.dumps(item) for item in corpus(args.count, args.seed)]
        made = f"generated in {time.perf_counter() - start:.1f} s"
        if args.corpus is not None:
            args.corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"corpus: {len(lines)} expressions, 3 points each ({made}); {os.cpu_count()} cores")

    runs = [("local pool", 1, None), ("local pool", 2, None), ("Dask LocalCluster", 2, "local")]
    results = []
    _run([TRIVIAL], 1, None)  # starts the fork server (it imports torch once per process)
    for name, workers, dask in runs:
        fixed, _ = _run([TRIVIAL], workers, dask)  # start-up and shut-down, one tiny item
        seconds, out = _run(lines, workers, dask)
        results.append((name, workers, fixed, seconds, out))

    base = len(lines) / results[0][3]
    steady_base = len(lines) / max(1e-3, results[0][3] - results[0][2])
    print(
        f"{'backend':<20}{'workers':>8}{'wall s':>9}{'items/s':>9}{'scaling':>9}"
        f"{'start s':>9}{'steady/s':>9}{'scaling':>9}{'item s':>9}"
    )
    for name, workers, fixed, seconds, out in results:
        rate = len(out) / seconds
        steady = len(out) / max(1e-3, seconds - fixed)
        compute = sum(line["seconds"] for line in out)
        print(
            f"{name:<20}{workers:>8}{seconds:>9.1f}{rate:>9.2f}{rate / (workers * base):>9.0%}"
            f"{fixed:>9.1f}{steady:>9.2f}{steady / (workers * steady_base):>9.0%}{compute:>9.1f}"
        )
    reference = {line["id"]: result_fields(line) for line in results[0][4]}
    same = all(
        {line["id"]: result_fields(line) for line in out} == reference for *_, out in results
    )
    verdicts: dict[str, int] = {}
    for line in results[0][4]:
        verdicts[line["verdict"]] = verdicts.get(line["verdict"], 0) + 1
    print(f"identical results on all three: {'yes' if same else 'NO'}; verdicts: {verdicts}")


if __name__ == "__main__":
    main()
