"""How each derivative path's work grows with the number of variables n.

For the gradient of f(x1, ..., xn) by all n variables, at n = 1, 3, 10, 30, 100, 300, 1000,
the script prints what each path costs as the engine counts it (`comparison.costs`, what a
report shows) and the seconds it takes with the engine's own methods
(`METHODS[...].prepare` and `.evaluate`):

- symbolic (SymPy): n partial derivatives; the size of each formula as sympy.diff returns
  it (sympy.count_ops of the unsimplified formula, a tree count: the expression swell); and
  the op nodes of the torch tape the formulas compile to (shared subexpressions once);
- reverse mode (torch.autograd): one backward pass, whatever n;
- forward mode (torch.func.jvp): one pass per variable, n passes;
- finite differences, central by default (--fd central): the engine evaluates f at
  x +- h, 2h and 4h along each variable (the wider steps estimate the truncation error),
  6n evaluations per step size, at each of 7 step sizes: 42n per point. (The engine's
  automatic choice for these analytic functions would be complex-step, 2n evaluations, but
  its evaluation also computes reverse mode's error bound for each new batch, which takes
  minutes from n = 100 on; it is not offered here.)

Two families of f, built directly with SymPy (trusted expressions, not user text):

- sum of products: f = x1*x2*x3 + x2*x3*x4 + ... + xn*x1*x2, the n products of three
  cyclic neighbours (for n < 3 the products repeat variables and SymPy collects them:
  n = 1 is x1**3). Each partial is a sum of three products: no swell, n formulas.
- deep composition: f = tanh(xn*tanh(x(n-1)*...*tanh(x1))), n levels deep. The partial by
  x1 is a product through all n levels, each holding the levels below it: the formulas'
  tree size grows as n**3 in all, while the tape shares the levels. It is built with
  SymPy's evaluation off, which leaves this expression exactly as evaluation would (the
  same tree) but skips SymPy's assumption queries, about 90 s at n = 1000.

Evaluation is timed on one batch of points, the same for every path: 100 points, fewer from
n = 300 on, where the finite differences' probes take memory as n * n * points (the
`points` column says how many). Each time is the best of 3 runs, or one run where a run
takes over half a second; preparing (compiling f, deriving the formulas) is timed once.
A step whose growth from the smaller n predicts a run longer than the budget (--budget,
10 s) is skipped, and the table says why, rather than running for minutes: SymPy's
derivatives of the deep family take minutes from n = 100 on, and forward mode and finite
differences grow as n**2 per batch. Simplification is off (SymPy's derivative as it
comes). Torch runs on one thread (--threads): on a busy 2-core machine its default of
two threads makes the large batches of finite differences over ten times slower, and the
table would measure the neighbours. The work runs in a thread with a large stack: SymPy
and the tape compiler recurse once per level of the deep family.

Run from the repository root:  .venv/bin/python examples/scaling.py [--max-n N] [--quick]
On a busy 2-core machine the default run takes about 75 s, half of it compiling the deep
family's tape at n = 1000; --quick (n up to 30) about 15 s.
"""

from __future__ import annotations

import argparse
import math
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import sympy
import torch

from diffcompare.engine import Setup, costs
from diffcompare.language.problem import Problem
from diffcompare.paths.compiler import compile_exprs
from diffcompare.paths.fd_steps import STEP_SCALES
from diffcompare.paths.method_types import Settings
from diffcompare.paths.methods import METHODS, SymbolicPrepared
from diffcompare.paths.symbolic import Derivatives
from diffcompare.paths.targets import Target, make_target
from diffcompare.report import Cost

T = TypeVar("T")

SIZES = (1, 3, 10, 30, 100, 300, 1000)
QUICK = 30
POINTS = 100
PROBE_BYTES = 2**27
"""Memory for one step size's finite-difference probes (up to 8 copies of the batch per
variable, 8 bytes a number): from n = 300 on the batch has fewer points to stay within it."""

BUDGET = 10.0
"""Seconds one run of one step may be predicted to take before the step is skipped."""

SLOW_RUN = 0.5
"""A run this long is timed once rather than best of three."""

STEPS = {
    "derive": "deriving the formulas",
    "count": "counting the formulas' ops",
    "symbolic": "evaluating the formulas",
    "autograd": "reverse mode",
    "forward": "forward mode",
    "finite_difference": "finite differences",
}


# -- the two families ----------------------------------------------------------------------------


def variables(n: int) -> tuple[sympy.Symbol, ...]:
    return tuple(sympy.Symbol(f"x{i}", real=True) for i in range(1, n + 1))


def sum_of_products(n: int) -> Problem:
    """f = x1*x2*x3 + x2*x3*x4 + ... + xn*x1*x2: n products of three cyclic neighbours."""
    xs = variables(n)
    f = sympy.Add(*(xs[i] * xs[(i + 1) % n] * xs[(i + 2) % n] for i in range(n)))
    text = f"x1*x2*x3 + x2*x3*x4 + ... + x{n}*x1*x2"
    return Problem(text=text, outputs=(f,), variables=xs, graphs=(f,))


def deep_composition(n: int) -> Problem:
    """f = tanh(xn*tanh(x(n-1)*...*tanh(x1))): n levels of tanh."""
    xs = variables(n)
    f = sympy.tanh(xs[0])
    for x in xs[1:]:
        # Evaluation would give the same tree, after assumption queries quadratic in depth.
        f = sympy.tanh(sympy.Mul(x, f, evaluate=False), evaluate=False)
    text = f"tanh(x{n}*tanh(x{n - 1}*...*tanh(x1)))" if n > 1 else "tanh(x1)"
    return Problem(text=text, outputs=(f,), variables=xs, graphs=(f,))


FAMILIES: dict[str, tuple[str, Callable[[int], Problem]]] = {
    "sum of products": ("f = x1*x2*x3 + x2*x3*x4 + ... + xn*x1*x2", sum_of_products),
    "deep composition": ("f = tanh(xn*tanh(x(n-1)*...*tanh(x1)))", deep_composition),
}


# -- timing within a budget ----------------------------------------------------------------------


def once(work: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = work()
    return result, time.perf_counter() - start


def best_time(work: Callable[[], T]) -> tuple[T, float]:
    """`work`'s result and its best time of 3 runs, or of 1 run where it takes SLOW_RUN."""
    result, best = once(work)
    if best < SLOW_RUN:
        best = min(best, *(once(work)[1] for _ in range(2)))
    return result, best


@dataclass
class Budget:
    """Each step's seconds at the sizes run so far, to skip a step at the next size when
    its growth predicts a run longer than `seconds`; a skipped step stays skipped."""

    seconds: float
    seen: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def run(self, step: str, n: int, work: Callable[[], T], repeat: bool = True) -> T | None:
        """`work`'s result, timed (best of 3 with `repeat`, else once), or None if skipped."""
        if step in self.skipped:
            return None
        reason = self._over(step, n)
        if reason:
            self.skipped[step] = reason
            return None
        result, seconds = best_time(work) if repeat else once(work)
        self.seen.setdefault(step, []).append((n, seconds))
        return result

    def seconds_at(self, step: str, n: int) -> float | None:
        return next((t for m, t in self.seen.get(step, []) if m == n), None)

    def _over(self, step: str, n: int) -> str:
        """Why `step` would take too long at n ('' if it would not)."""
        history = self.seen.get(step, [])
        if not history:
            return ""
        n1, t1 = history[-1]
        growth = 2.0  # until two sizes are timed long enough to measure it
        if len(history) > 1 and history[-2][1] > 0.01:
            n0, t0 = history[-2]
            growth = max(1.0, math.log(t1 / t0) / math.log(n1 / n0))
        predicted = t1 * (n / n1) ** growth
        if predicted <= self.seconds:
            return ""
        return (
            f"{t1:.2g} s at n = {n1}, growing as n^{growth:.1f}: about {predicted:.0f} s at "
            f"n = {n}, over the {self.seconds:g} s budget (--budget)"
        )


# -- one row: the engine's costs and the seconds of each path ------------------------------------


@dataclass(frozen=True)
class Row:
    n: int
    points: int
    f_ops: int  # sympy.count_ops of f
    f_nodes: int  # op nodes of f's torch tape
    costs: dict[str, Cost]  # comparison.costs, by method
    scheme: str  # the finite-difference scheme
    formula_nodes: int | None  # op nodes of the formulas' tape, where derived
    compile_seconds: float  # the torch paths' preparation: compiling f
    seconds: dict[str, float | None]  # by step, None where skipped


def batch_size(n: int) -> int:
    return max(1, min(POINTS, PROBE_BYTES // (8 * 8 * n * n)))


def measure(problem: Problem, settings: Settings, budget: Budget) -> Row:
    """Prepare every path the engine's way and time its evaluation on one batch of points,
    each step within the budget."""
    n = len(problem.variables)
    target = make_target(problem)
    points = batch_size(n)
    generator = torch.Generator().manual_seed(0)
    batch = 2 * torch.rand(points, n, generator=generator, dtype=settings.dtype) - 1

    # The three torch paths share one preparation (compiling f): do it once.
    prepared: dict[str, Any] = {}
    ready: dict[Callable[..., Any], tuple[Any, float]] = {}
    for name in ("autograd", "forward", "finite_difference"):
        prepare = METHODS[name].prepare
        if prepare not in ready:
            ready[prepare] = once(partial(prepare, problem, target, settings))
        prepared[name] = ready[prepare][0]
    compile_seconds = sum(seconds for _, seconds in ready.values())

    derive = partial(METHODS["symbolic"].prepare, problem, target, settings)
    symbolic: SymbolicPrepared | None = budget.run("derive", n, derive, repeat=False)
    prepared["symbolic"] = symbolic
    counted = None
    if symbolic is not None:
        count = partial(engine_costs, problem, target, settings, prepared)
        counted = budget.run("count", n, count, repeat=False)
    if counted is None:
        counted = engine_costs(problem, target, settings, {**prepared, "symbolic": None})
    for name, method in METHODS.items():
        if prepared[name] is not None:
            budget.run(name, n, partial(method.evaluate, prepared[name], batch))

    return Row(
        n=n,
        points=points,
        f_ops=int(sympy.count_ops(problem.outputs[0])),
        f_nodes=prepared["autograd"].tape.op_count,
        costs=counted,
        scheme=prepared["finite_difference"].scheme,
        formula_nodes=symbolic.tape.op_count if symbolic is not None else None,
        compile_seconds=compile_seconds,
        seconds={step: budget.seconds_at(step, n) for step in STEPS},
    )


def engine_costs(
    problem: Problem, target: Target, settings: Settings, prepared: dict[str, Any]
) -> dict[str, Cost]:
    """comparison.costs of the prepared paths, by method. Where the formulas were not
    derived (or counting them would take too long) it gets none, and counts passes only."""
    if prepared["symbolic"] is None:
        none = Derivatives(raw=(), tidy=False)
        nothing = compile_exprs((), problem.variables)
        prepared = {**prepared, "symbolic": SymbolicPrepared(none, nothing)}
    setup = Setup(problem, target, settings, prepared, {})
    return {cost.method: cost for cost in costs(setup)}


# -- the tables ----------------------------------------------------------------------------------

Group = tuple[str, int]  # a label over that many columns


def table(groups: Sequence[Group], rows: Sequence[Sequence[str]]) -> str:
    """Right-aligned columns, two spaces apart, under a line of group labels."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    spans, first = [], 0
    for label, count in groups:  # a label wider than its columns widens the last of them
        span = sum(widths[first : first + count]) + 2 * (count - 1)
        widths[first + count - 1] += max(0, len(label) - span)
        spans.append(max(span, len(label)))
        first += count
    labels = [label.center(span) for (label, _), span in zip(groups, spans, strict=True)]
    lines = ["  ".join(labels).rstrip()]
    lines += ["  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(lines)


def number(value: float | None, scale: float = 1.0) -> str:
    """A time to 3 significant digits (in ms with scale 1e3), with no exponent."""
    if value is None:
        return "skipped"
    value *= scale
    return f"{value:.{max(0, 2 - math.floor(math.log10(value)))}f}" if value > 0 else "0"


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.2f}" if a / b < 10 else f"{a / b:.0f}"


def steps(scheme: str) -> int:
    """The step sizes the engine tries: each of STEP_SCALES for a real scheme."""
    return 1 if scheme == "complex-step" else len(STEP_SCALES)


def count_table(rows: Sequence[Row]) -> str:
    groups = [("", 1), ("f", 2), ("symbolic", 4), ("reverse", 1), ("forward", 1)]
    groups.append(("finite diff.", 1))
    header = ["n", "ops", "nodes", "formulas", "total", "largest", "nodes", "backward"]
    header += ["passes", "evaluations"]
    body = [header]
    for row in rows:
        symbolic = row.costs["symbolic"]
        sizes = symbolic.sizes
        body.append(
            [
                str(row.n),
                str(row.f_ops),
                str(row.f_nodes),
                str(symbolic.passes),
                str(sum(sizes)) if sizes else "skipped",
                str(max(sizes)) if sizes else "skipped",
                str(row.formula_nodes) if row.formula_nodes is not None else "skipped",
                str(row.costs["autograd"].passes),
                str(row.costs["forward"].passes),
                str(row.costs["finite_difference"].passes * steps(row.scheme)),
            ]
        )
    return table(groups, body)


def seconds_table(rows: Sequence[Row]) -> str:
    groups = [("", 2), ("prepare (s)", 3), ("evaluate the batch (ms)", 4)]
    groups.append(("ratio to reverse", 3))
    header = ["n", "points", "compile", "derive", "count", "symbolic", "reverse", "forward"]
    header += ["fd", "sym/rev", "fwd/rev", "fd/rev"]
    body = [header]
    for row in rows:
        s = row.seconds
        body.append(
            [
                str(row.n),
                str(row.points),
                number(row.compile_seconds),
                number(s["derive"]),
                number(s["count"]),
                number(s["symbolic"], 1e3),
                number(s["autograd"], 1e3),
                number(s["forward"], 1e3),
                number(s["finite_difference"], 1e3),
                ratio(s["symbolic"], s["autograd"]),
                ratio(s["forward"], s["autograd"]),
                ratio(s["finite_difference"], s["autograd"]),
            ]
        )
    return table(groups, body)


LEGEND = """\
f: sympy.count_ops(f), and the op nodes of its torch tape (compile_problem(...).op_count).
symbolic: formulas (one per partial); the total and largest sympy.count_ops of the formulas
  as sympy.diff returns them (the expression swell); the op nodes of the tape they compile
  to (shared subexpressions once; an n-ary sum or product is one node).
reverse: backward passes; forward: torch.func.jvp passes; finite diff.: evaluations of f
  per point ({scheme}: comparison.costs' count per step size, times the {steps} step sizes
  the engine tries).
prepare: seconds to compile f's tape (shared by the torch paths), to derive and compile the
  formulas, and to count their ops; evaluate: milliseconds for the gradient at the batch."""


# -- the run -------------------------------------------------------------------------------------


def warm_up(settings: Settings) -> None:
    """Pay torch's one-time costs before timing: forward mode loads each op's rule on first
    use (x*y*z, 3*x*y*z, tanh)."""
    for problem in (sum_of_products(3), sum_of_products(4), deep_composition(3)):
        target = make_target(problem)
        batch = torch.ones(2, len(problem.variables), dtype=settings.dtype)
        for method in METHODS.values():
            method.evaluate(method.prepare(problem, target, settings), batch)


def progress(text: str) -> None:
    if sys.stderr.isatty():
        print(f"\r\033[K{text}", end="", file=sys.stderr, flush=True)


def report(sizes: Sequence[int], settings: Settings, budget_seconds: float) -> None:
    warm_up(settings)
    print(
        f"The gradient of f by all n variables in {str(settings.dtype).removeprefix('torch.')}:"
        f" what each path costs, and its seconds ({torch.get_num_threads()} torch thread"
        f"{'s' if torch.get_num_threads() > 1 else ''}). Finite differences: {settings.fd}.\n"
    )
    for family, (formula, build) in FAMILIES.items():
        print(f"== {family}: {formula} ==")
        budget = Budget(budget_seconds)
        rows = []
        for n in sizes:
            progress(f"{family}: n = {n} ...")
            rows.append(measure(build(n), settings, budget))
        progress("")
        print(count_table(rows))
        print()
        print(seconds_table(rows))
        for step, reason in budget.skipped.items():
            print(f"  skipped {STEPS[step]}: {reason}")
        print()
    print(LEGEND.format(scheme=settings.fd, steps=steps(settings.fd)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-n", type=int, default=SIZES[-1], help="the largest n (1000)")
    parser.add_argument("--quick", action="store_true", help=f"n up to {QUICK}, for tests")
    parser.add_argument(
        "--budget", type=float, default=BUDGET, help="seconds a step's run may take (10)"
    )
    parser.add_argument("--fd", choices=("central", "richardson"), default="central")
    parser.add_argument("--threads", type=int, default=1, help="torch's intra-op threads (1)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    max_n = min(args.max_n, QUICK) if args.quick else args.max_n
    sizes = [n for n in SIZES if n <= max_n]
    settings = Settings(fd=args.fd, simplify_seconds=0)

    failure: list[BaseException] = []

    def work() -> None:
        try:
            report(sizes, settings, args.budget)
        except BaseException as error:  # handed to the main thread, which raises it
            failure.append(error)

    # SymPy and the tape compiler recurse once per level of the deep family.
    sys.setrecursionlimit(100_000)
    threading.stack_size(512 * 2**20)
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    while thread.is_alive():  # joined in slices, so Ctrl-C reaches the main thread
        thread.join(0.5)
    if failure:
        raise failure[0]
    return 0


if __name__ == "__main__":
    sys.exit(main())
