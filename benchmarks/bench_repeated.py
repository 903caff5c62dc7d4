"""Repeated compare() at new points against torch.autograd.gradcheck, side by side.

Not a test: it prints a table. For each expression, `diffcompare.compare(expr, at=point)` is
called at new seeded points, one point per call (all four methods, their error bounds and
the 50-digit reference, judged), and `torch.autograd.gradcheck` of a hand-written torch
version of the same function at the same points (float64). The first call of each
expression pays for preparing it (parse, SymPy's derivative, one compile); later calls
find it in the cache. The ratio is diffcompare's median per call over gradcheck's:
targets <= 5x on each expression, and the first call of the mixed expression <= 150 ms
(in a process where torch and SymPy are warm, after a different expression).

Run from the repository root:  .venv/bin/python benchmarks/bench_repeated.py [--calls 30]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable

import torch

import diffcompare
from diffcompare import engine
from diffcompare.paths.methods import METHODS

SEED001 = "(x**2+3*x+1)**3+4*(x**2+3*x+1)+2"
MIXED = "sin(x)*exp(-x**2/2)/(1+x**2)+log(1+x**2)*tanh(x)"
THREE = "sin(x*y)+x/y+exp(x-y)*log(z)"


def _mixed(x: torch.Tensor) -> torch.Tensor:
    return torch.sin(x) * torch.exp(-(x**2) / 2) / (1 + x**2) + torch.log(1 + x**2) * torch.tanh(x)


CASES: dict[str, tuple[Callable[..., torch.Tensor], tuple[str, ...], tuple[float, float]]] = {
    "x**2+3*x": (lambda x: x**2 + 3 * x, ("x",), (-3.0, 3.0)),
    SEED001: (lambda x: (x**2 + 3 * x + 1) ** 3 + 4 * (x**2 + 3 * x + 1) + 2, ("x",), (-3, 3)),
    MIXED: (_mixed, ("x",), (-3.0, 3.0)),
    THREE: (
        lambda x, y, z: torch.sin(x * y) + x / y + torch.exp(x - y) * torch.log(z),
        ("x", "y", "z"),
        (0.2, 3.0),
    ),
}


def _median_seconds(work: Callable[[], object], calls: int) -> float:
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _phases(
    text: str, names: tuple[str, ...], span: tuple[float, float], calls: int, rng: random.Random
) -> dict[str, float]:
    """Median milliseconds per call of each phase of Prepared.compare at new points: each
    method's values, each method's check (its error bound), and the judging (edges, the
    50-digit reference, the verdicts)."""
    setup = engine.prepared_setup(text)
    times: dict[str, list[float]] = {}
    for _ in range(calls):
        at = {n: round(rng.uniform(*span), 3) for n in names}
        points = engine._points(setup.problem, at).to(setup.settings.dtype)
        values, checks = {}, {}
        for name, method in METHODS.items():
            prepared = setup.prepared[name]
            start = time.perf_counter()
            values[name] = method.evaluate(prepared, points)
            middle = time.perf_counter()
            checks[name] = method.check(prepared, points, values[name])
            end = time.perf_counter()
            times.setdefault(f"{name} value", []).append((middle - start) * 1e3)
            times.setdefault(f"{name} bound", []).append((end - middle) * 1e3)
        start = time.perf_counter()
        engine.judge_points(setup, points, values, checks, [0])
        times.setdefault("judging", []).append((time.perf_counter() - start) * 1e3)
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=30)
    args = parser.parse_args()
    rng = random.Random(0)
    torch.set_num_threads(1)
    # Warm torch, SymPy and the engine's own first uses on an expression not measured.
    diffcompare.compare("cos(w)*w+1", at={"w": 0.3})
    start = time.perf_counter()
    first = diffcompare.compare(MIXED, at={"x": 0.7})
    first_call = time.perf_counter() - start
    assert first.verdict == "agree", first.points[0].reason

    print(f"torch {torch.__version__}, 1 thread; median of {args.calls} calls, one new point each")
    print(f"{'expression':52} {'compare':>9} {'gradcheck':>10} {'ratio':>6}  target <= 5x")
    for text, (function, names, (low, high)) in CASES.items():
        diffcompare.compare(text, at={n: 0.5 + i for i, n in enumerate(names)})  # prepared

        def ours(
            text: str = text, names: tuple[str, ...] = names, span: tuple = (low, high)
        ) -> None:
            point = {n: round(rng.uniform(*span), 3) for n in names}
            report = diffcompare.compare(text, at=point)
            assert report.verdict in ("agree", "undefined"), (point, report.points[0].reason)

        def theirs(
            function: Callable[..., torch.Tensor] = function,
            k: int = len(names),
            span: tuple = (low, high),
        ) -> None:
            inputs = tuple(
                torch.tensor([rng.uniform(*span)], dtype=torch.float64, requires_grad=True)
                for _ in range(k)
            )
            assert torch.autograd.gradcheck(function, inputs)

        # Side by side: alternate the two so the machine's load falls on both alike.
        a, b = [], []
        for _ in range(3):
            a.append(_median_seconds(ours, max(1, args.calls // 3)))
            b.append(_median_seconds(theirs, max(1, args.calls // 3)))
        mine, check = statistics.median(a), statistics.median(b)
        ratio = mine / check
        met = "met" if ratio <= 5 else "NOT met"
        print(f"{text:52} {mine * 1e3:7.2f}ms {check * 1e3:8.2f}ms {ratio:6.1f}  {met}")
    print()
    print("Where a call's time goes (median ms per call, each phase timed in the engine's own")
    print("order at new points; 'bound' is the method's error bound, which gradcheck lacks):")
    for text, (_, names, span) in CASES.items():
        phases = _phases(text, names, span, args.calls, rng)
        total = sum(phases.values())
        shown = ", ".join(f"{name} {ms:.2f}" for name, ms in phases.items())
        print(f"  {text}\n    {shown}; total {total:.2f}")
    met = "met" if first_call <= 0.150 else "NOT met"
    print(
        f"first call of the mixed expression (warm process): {first_call * 1e3:.0f} ms "
        f"(target <= 150 ms: {met})"
    )


if __name__ == "__main__":
    main()
