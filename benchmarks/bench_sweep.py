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
    .venv/bin/python benchmarks/bench_sweep.py --points 100000

lambdify is safe here: the expression is this file's constant, never user text.
"""

from __future__ import annotations

import argparse
import time

import sympy
import torch

from diffcompare.sweep import sweep

EXPR = "sin(x)*exp(-x**2/2)/(1+x**2)"


def _by_hand(x: torch.Tensor) -> torch.Tensor:
    return torch.sin(x) * torch.exp(-(x**2) / 2) / (1 + x**2)


def _best(work: object, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        work()  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000)
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

    start = time.perf_counter()
    report = sweep(EXPR, "x=-3:3", n)
    ours = time.perf_counter() - start
    rows = [
        ("hand-written torch autograd", _best(autograd)),
        ("lambdify(sympy.diff) (numpy)", _best(lambda: derivative(array))),
    ]
    print(
        f"sweep of {EXPR} at {n:,} points, torch {torch.__version__}, "
        f"{torch.get_num_threads()} thread(s)"
    )
    print(
        f"diffcompare.sweep: {ours:.2f} s (reference at {report.referenced} points: "
        f"{report.reference_seconds:.2f} s), verdict {report.verdict}"
    )
    print(f"{'baseline':32} {'seconds':>9} {'ratio':>7}")
    for name, seconds in rows:
        print(f"{name:32} {seconds:9.3f} {ours / seconds:7.1f}")


if __name__ == "__main__":
    main()
