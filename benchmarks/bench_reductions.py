"""Reductions over n components: compare() at one point (every method, the bound of each and
the 50-digit reference) next to a hand-written torch autograd gradient of the same function,
for n = 10, 100, 1000, side by side in one run.

Not a test: it prints a table. Each compare() is the first call on its text and shapes
(prepare included: parse, derive, compile), then a second call at a new point (prepared,
per-point work only); the torch column is the best of 20 runs of `f(x).backward()` on a
leaf tensor, the hand-written program a user would check. The ratio says how many times
the full comparison costs; it grows with n like the finite differences' n^2 probe values and
the reference's 50-digit evaluation of n formulas, which torch's one backward pass does not
do.

Run from the repository root:
    .venv/bin/python benchmarks/bench_reductions.py
    .venv/bin/python benchmarks/bench_reductions.py --sizes 10,100   # quicker
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable

import torch

import diffcompare

Torch = Callable[[dict[str, torch.Tensor]], torch.Tensor]

CASES: list[tuple[str, Callable[[int], dict[str, tuple[int, ...]]], Torch]] = [
    ("norm(x)", lambda n: {"x": (n,)}, lambda v: torch.linalg.vector_norm(v["x"])),
    ("prod(x)", lambda n: {"x": (n,)}, lambda v: v["x"].prod()),
    ("sum(x)", lambda n: {"x": (n,)}, lambda v: v["x"].sum()),
    ("mean(x)", lambda n: {"x": (n,)}, lambda v: v["x"].mean()),
    ("dot(x,x)", lambda n: {"x": (n,)}, lambda v: torch.dot(v["x"], v["x"])),
    ("sum(x**2)", lambda n: {"x": (n,)}, lambda v: (v["x"] ** 2).sum()),
    ("dot(a,x)", lambda n: {"a": (n,), "x": (n,)}, lambda v: torch.dot(v["a"], v["x"])),
    (
        "sum(W@x)",
        lambda n: {"W": (10, max(1, n // 10)), "x": (max(1, n // 10),)},
        lambda v: (v["W"] @ v["x"]).sum(),
    ),
]


def _point(shapes: dict[str, tuple[int, ...]], seed: int) -> dict[str, list]:
    rng = random.Random(seed)

    def value() -> float:
        return round(rng.uniform(0.5, 1.5), 3) * rng.choice((1, -1))

    return {
        k: [[value() for _ in range(s[1])] for _ in range(s[0])]
        if len(s) == 2
        else [value() for _ in range(s[0])]
        for k, s in shapes.items()
    }


def _torch_seconds(fn: Torch, at: dict[str, list]) -> float:
    best = float("inf")
    for _ in range(20):
        start = time.perf_counter()
        leaves = {
            k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in at.items()
        }
        fn(leaves).backward()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10,100,1000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    diffcompare.compare("x**2+3*x", at={"x": 0.7})  # warm: imports and first torch calls
    print(
        f"{'expression':<10} {'n':>5} {'entries':>7}  {'first call':>10}  {'next point':>10}  "
        f"{'torch':>9}  {'ratio':>7}  verdicts"
    )
    for text, shaping, fn in CASES:
        for n in sizes:
            shapes = shaping(n)
            first_at, next_at = _point(shapes, 1), _point(shapes, 2)
            start = time.perf_counter()
            first = diffcompare.compare(text, at=first_at, shapes=shapes)
            first_seconds = time.perf_counter() - start
            start = time.perf_counter()
            second = diffcompare.compare(text, at=next_at, shapes=shapes)
            next_seconds = time.perf_counter() - start
            baseline = _torch_seconds(fn, next_at)
            entries = len(second.points[0].reference)
            print(
                f"{text:<10} {n:>5} {entries:>7}  {first_seconds:>9.2f}s  {next_seconds:>9.2f}s  "
                f"{baseline * 1e3:>7.3f}ms  {next_seconds / baseline:>6.0f}x  "
                f"{first.verdict}, {second.verdict}",
                flush=True,
            )


if __name__ == "__main__":
    main()
