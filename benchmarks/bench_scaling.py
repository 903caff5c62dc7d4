"""Compile and compare time against depth and number of variables.

Not a test: it prints a table. Two families, built directly with SymPy (trusted expressions,
not user text; the parser caps user text at depth 100):

- depth d: f = tanh(x*tanh(x*...*tanh(x))), d levels of one variable;
- n variables: f = x1*x2*x3 + x2*x3*x4 + ... + xn*x1*x2 (n products of cyclic neighbours).

For each size it times compiling f to the torch tape (compile_problem; again with Python's
cyclic garbage collector off, on the same f, whose per-size column is the one to read
for linearity) and a whole
comparison at one point, uncached: preparing (SymPy's derivative, compiling the formulas)
and the per-point work (every method, its bound, the 50-digit reference, judging), with
simplification off. Targets: compile at depth 1000 and at n = 1000 under a second each. The
`per size` columns divide each time by the size: flat means linear. A comparison predicted
(from the last two sizes' growth) to take longer than --budget seconds is skipped.

Run from the repository root:  .venv/bin/python benchmarks/bench_scaling.py [--budget 60]
"""

from __future__ import annotations

import argparse
import gc
import math
import sys
import threading
import time
from collections.abc import Callable

import sympy
import torch

from diffcompare.engine import prepare_setup, run
from diffcompare.language.problem import Problem
from diffcompare.paths.compiler import compile_problem
from diffcompare.paths.targets import make_target

SIZES = (10, 30, 100, 300, 1000)


def deep(d: int) -> Problem:
    x = sympy.Symbol("x", real=True)
    f = sympy.tanh(x)
    for _ in range(d - 1):
        f = sympy.tanh(sympy.Mul(x, f, evaluate=False), evaluate=False)
    return Problem(text=f"depth {d}", outputs=(f,), variables=(x,), graphs=(f,))


def wide(n: int) -> Problem:
    xs = tuple(sympy.Symbol(f"x{i}", real=True) for i in range(1, n + 1))
    f = sympy.Add(*(xs[i] * xs[(i + 1) % n] * xs[(i + 2) % n] for i in range(n)))
    return Problem(text=f"{n} variables", outputs=(f,), variables=xs, graphs=(f,))


def _timed(work: Callable[[], object], collect: bool = True) -> float:
    """Seconds of one run; with `collect` False, Python's cyclic garbage collector is off
    for it (it walks the whole heap, torch's and SymPy's objects included, when the run
    allocates many objects: a cost of the process's size, not of the work)."""
    if not collect:
        gc.collect()
        gc.disable()
    try:
        start = time.perf_counter()
        work()
        return time.perf_counter() - start
    finally:
        gc.enable()


def _compare(problem: Problem) -> tuple[float, float, str]:
    point = [{v.name: 0.1 + 0.5 * (i % 3) for i, v in enumerate(problem.variables)}]
    start = time.perf_counter()
    setup = prepare_setup(problem, make_target(problem), "float64", "auto", 0)
    prepared = time.perf_counter() - start
    report = run(setup, point)
    return prepared, time.perf_counter() - start - prepared, report.verdict


def table(name: str, build: Callable[[int], Problem], budget: float) -> None:
    print(f"\n{name}")
    print(
        f"{'size':>5} {'tape ops':>8} {'compile':>9} {'gc off':>8} {'per size':>9} "
        f"{'prepare':>9} {'per point':>9} {'per size':>9}  verdict"
    )
    totals: list[tuple[int, float]] = []
    for size in SIZES:
        problem = build(size)
        compile_seconds = _timed(lambda problem=problem: compile_problem(problem))
        quiet = _timed(lambda problem=problem: compile_problem(problem), collect=False)
        ops = compile_problem(problem).op_count
        predicted = 0.0
        if len(totals) >= 2:
            (a, ta), (b, tb) = totals[-2:]
            growth = math.log(tb / ta) / math.log(b / a) if ta > 0 and tb > ta else 1.0
            predicted = tb * (size / b) ** growth
        cells = (
            f"{size:5} {ops:8} {compile_seconds:8.3f}s {quiet:7.3f}s {quiet / size * 1e3:7.3f}ms"
        )
        if predicted > budget:
            print(f"{cells} {'skipped: predicted':>20} {predicted:.0f} s > budget {budget:.0f} s")
            continue
        prepared, per_point, verdict = _compare(problem)
        totals.append((size, prepared + per_point))
        print(
            f"{cells} {prepared:8.3f}s {per_point:8.3f}s "
            f"{(prepared + per_point) / size * 1e3:7.2f}ms  {verdict}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget", type=float, default=60.0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    sys.setrecursionlimit(100_000)
    threading.stack_size(512 * 1024 * 1024)  # SymPy and the compiler recurse per level

    def work() -> None:
        print(f"torch {torch.__version__}, 1 thread; times in seconds, uncached")
        _compare(wide(3))  # torch's one-time loads (forward AD's) out of the table
        table("depth d: tanh(x*tanh(x*...))", deep, args.budget)
        table("n variables: x1*x2*x3 + ... + xn*x1*x2", wide, args.budget)
        print("\ntargets: compile at depth 1000 and at n = 1000 under 1 s each")

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()


if __name__ == "__main__":
    main()
