"""Timing of a sweep against the floor it cannot beat.

Not a test: it prints a table. For `sin(x)*exp(-x**2/2)/(1+x**2)` over x in [-3, 3] it
times `diffcompare.sweep` (all three methods with their error bounds, edge checks, and the
50-digit reference at ~250 points) at N points, against

- hand-written torch autograd of the same function at the same N points: the gradient
  alone, no bounds, no reference, no other method;
- SymPy `lambdify(sympy.diff(expr), "numpy")` at the same N points: the symbolic
  derivative alone.

A ratio is diffcompare / baseline: above 1, diffcompare is slower. The sweep does several
times the baselines' arithmetic (three methods, each with a backward pass for its bound),
so a ratio of 10-30 is the expected cost of the checking, not overhead.

Run from the repository root:
    .venv/bin/python benchmarks/bench_sweep.py               # 1,000,000 points
    .venv/bin/python benchmarks/bench_sweep.py --points 100000 --rounds 5

lambdify is safe here: the expression is this file's constant, never user text.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import sympy
import torch

from diffcompare.engine import prepared_setup
from diffcompare.paths.methods import METHODS
from diffcompare.sweep import CHUNK, sweep

EXPR = "sin(x)*exp(-x**2/2)/(1+x**2)"


def _by_hand(x: torch.Tensor) -> torch.Tensor:
    return torch.sin(x) * torch.exp(-(x**2) / 2) / (1 + x**2)


def _timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def _phases(xs: torch.Tensor) -> dict[str, float]:
    """Seconds of each method's values and bound over all of `xs`, in the sweep's chunks:
    where a sweep's time goes (the rest is the expression's own value, the edge search, the
    cross-checks between methods and the reference)."""
    setup = prepared_setup(EXPR)
    points = xs[:, None]
    seconds = dict.fromkeys(METHODS, 0.0)
    for lo in range(0, points.shape[0], CHUNK):
        batch = points[lo : lo + CHUNK]
        for name, method in METHODS.items():
            start = time.perf_counter()
            method.values_and_check(setup.prepared[name], batch)
            seconds[name] += time.perf_counter() - start
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    n = args.points
    xs = torch.linspace(-3, 3, n, dtype=torch.float64)

    def autograd() -> None:
        x = xs.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(_by_hand(x).sum(), x)

    symbol = sympy.Symbol("x", real=True)
    formula = sympy.sin(symbol) * sympy.exp(-(symbol**2) / 2) / (1 + symbol**2)
    derivative = sympy.lambdify(symbol, sympy.diff(formula, symbol), "numpy")
    array = xs.numpy()
    baselines: dict[str, Callable[[], object]] = {
        "hand-written torch autograd": autograd,
        "lambdify(sympy.diff) (numpy)": lambda: derivative(array),
    }

    cold = _timed(lambda: sweep(EXPR, "x=-3:3", 1000))
    print(
        f"sweep of {EXPR} at {n:,} points, torch {torch.__version__}, "
        f"{torch.get_num_threads()} thread(s); first call (prepare + 1,000 points): {cold:.2f} s"
    )
    # Rounds interleave diffcompare and the baselines, so that a load that comes and goes
    # on the machine weighs on both sides of each ratio alike; the median ratio is reported.
    ratios: dict[str, list[float]] = {name: [] for name in baselines}
    print(f"{'round':>5} {'sweep s':>8} " + " ".join(f"{name:>30}" for name in baselines))
    for k in range(args.rounds):
        report = sweep(EXPR, "x=-3:3", n)  # warm-up of the allocator at this size
        ours = _timed(lambda: sweep(EXPR, "x=-3:3", n))
        cells = []
        for name, work in baselines.items():
            work()
            seconds = min(_timed(work) for _ in range(3))
            ratios[name].append(ours / seconds)
            cells.append(f"{seconds:9.3f} s = {ours / seconds:6.1f}x")
        print(f"{k + 1:>5} {ours:8.2f} " + " ".join(f"{c:>30}" for c in cells))
    print(
        f"verdict {report.verdict}; reference at {report.referenced} points "
        f"({report.reference_seconds:.2f} s of the sweep)"
    )
    for name, values in ratios.items():
        print(f"median ratio to {name}: {statistics.median(values):.1f}x")
    phases = _phases(xs)
    print(
        "where a sweep's time goes, each method's values and error bound over all points: "
        + ", ".join(f"{name} {s:.2f} s" for name, s in phases.items())
        + " (hand-written autograd computes autograd's values alone, without a bound)"
    )
    print("target: <= 20x hand-written torch autograd")


if __name__ == "__main__":
    main()
