"""Timings of diffcompare's torch tape and derivative paths against SymPy and torch baselines.

Not a test: it prints a table. For a few expressions and batches of 1, 1,000 and 100,000
points it times

- the forward pass: diffcompare's compiled tape (`Tape.run`) against SymPy
  `lambdify(expr, "numpy")` and against the same expression written by hand in torch;
- the gradient: `METHODS["autograd"].evaluate` against hand-written torch autograd;
- the symbolic derivative: `METHODS["symbolic"].evaluate` (SymPy's simplified derivative
  on a torch tape) against `lambdify(sympy.diff(expr, v), "numpy")`;
- one full check at one point: `diffcompare.compare` against `torch.autograd.gradcheck`
  on the hand-written function (compare also derives, simplifies, evaluates a 50-digit
  reference and spends about 50 ms timing each of its three methods; gradcheck does none
  of that, so this row measures what the oracle costs, not a like-for-like speed).

Each time is the best of several timed loops of repeated calls, divided by the calls per
loop (the `timeit` method), so sub-millisecond figures mean something. A ratio is
diffcompare / baseline: above 1, diffcompare is slower. Torch runs on one thread unless
--threads says otherwise, as NumPy does under lambdify, so every ratio compares the same
hardware and a busy 2-core machine still gives steady figures.

Run from the repository root:
    make bench                                           # benchmarks/bench_methods.py, < 2 min
    .venv/bin/python benchmarks/bench_methods.py --quick  # short loops, ~10-15 s

lambdify is safe here: the expressions are this file's own constants, never user text.
"""

from __future__ import annotations

import argparse
import math
import timeit
from collections.abc import Callable
from dataclasses import dataclass
from statistics import geometric_mean

import numpy as np
import sympy
import torch

import diffcompare
from diffcompare.paths.method_types import CompiledPrepared
from diffcompare.paths.method_types import Settings as MethodSettings
from diffcompare.paths.methods import METHODS, SymbolicPrepared
from diffcompare.paths.targets import make_target

SIZES = (1, 1_000, 100_000)
POINT = (0.7, -1.3)  # the full-check row's point: the first variable's value, the second's


@dataclass(frozen=True)
class Settings:
    repeats: int  # timed loops per measurement; the best one counts
    loop_seconds: float  # how long one timed loop should last at least
    check_repeats: int  # runs of the single-point full check (compare takes ~0.2-1 s)


FULL = Settings(repeats=5, loop_seconds=0.05, check_repeats=3)
QUICK = Settings(repeats=2, loop_seconds=0.002, check_repeats=1)


# -- the expressions, each also written by hand in torch (arguments in diffcompare's order) --


def polynomial(x: torch.Tensor) -> torch.Tensor:
    return 3 * x**4 - 2 * x**3 + x**2 - 5 * x + 7


def damped_wave(x: torch.Tensor) -> torch.Tensor:
    return torch.sin(x) * torch.exp(-(x**2) / 2) / (1 + x**2)


def two_variables(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.log(1 + x**2 + y**2) * torch.cos(x * y)


def deep(x: torch.Tensor) -> torch.Tensor:
    return torch.sqrt(1 + torch.tanh(torch.sin(torch.exp(torch.cos(x)) + x**2)) ** 2)


@dataclass(frozen=True)
class Case:
    text: str
    hand: Callable[..., torch.Tensor]


CASES = (
    Case("3*x**4 - 2*x**3 + x**2 - 5*x + 7", polynomial),
    Case("sin(x)*exp(-x**2/2)/(1+x**2)", damped_wave),
    Case("log(1 + x**2 + y**2)*cos(x*y)", two_variables),
    Case("sqrt(1 + tanh(sin(exp(cos(x)) + x**2))**2)", deep),
)


# -- timing -----------------------------------------------------------------------------------


def best_seconds(work: Callable[[], object], settings: Settings) -> float:
    """Seconds per call of `work`: the best of `settings.repeats` timed loops, each of enough
    calls to last `settings.loop_seconds`, after one untimed warm-up call."""
    timer = timeit.Timer(work)
    work()  # one-off costs (allocator, lazy initialisation) stay out of the figures
    number = 1
    while (spent := timer.timeit(number)) < settings.loop_seconds:
        number = max(number * 2, math.ceil(number * 1.2 * settings.loop_seconds / max(spent, 1e-9)))
    return min(timer.repeat(settings.repeats, number)) / number


# -- one expression ---------------------------------------------------------------------------

# What is timed against what: (task, diffcompare's callable, the baseline's), as named in tasks().
COMPARISONS = (
    ("forward", "Tape.run", "lambdify(expr, 'numpy')"),
    ("forward", "Tape.run", "hand-written torch"),
    ("gradient", "METHODS['autograd']", "hand-written torch autograd"),
    ("derivative", "METHODS['symbolic']", "lambdify(sympy.diff)"),
)


@dataclass(frozen=True)
class Row:
    task: str
    points: int
    ours: str
    ours_seconds: float
    baseline: str
    baseline_seconds: float

    @property
    def ratio(self) -> float:
        return self.ours_seconds / self.baseline_seconds


@dataclass(frozen=True)
class Subjects:
    """Everything timed for one expression, built once before any timing."""

    case: Case
    problem: diffcompare.Problem
    autograd: CompiledPrepared  # the compiled tape, as compare() prepares it
    symbolic: SymbolicPrepared  # SymPy's derivative and its tape, as compare() prepares it
    numpy_f: Callable[..., np.ndarray]
    numpy_grad: Callable[..., list[np.ndarray]]


def subjects(case: Case) -> Subjects:
    problem = diffcompare.parse(case.text)
    variables = problem.variables
    partials = [sympy.diff(problem.expr, v) for v in variables]
    target = make_target(problem)
    return Subjects(
        case=case,
        problem=problem,
        autograd=METHODS["autograd"].prepare(problem, target, MethodSettings()),
        symbolic=METHODS["symbolic"].prepare(problem, target, MethodSettings()),
        numpy_f=sympy.lambdify(variables, problem.expr, "numpy"),
        numpy_grad=sympy.lambdify(variables, partials, "numpy"),
    )


def sample(n_vars: int, size: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(size)
    return -2 + 4 * torch.rand(size, n_vars, generator=generator, dtype=torch.float64)


def tasks(s: Subjects, points: torch.Tensor) -> dict[str, Callable[[], object]]:
    """The callables timed on one batch of points, diffcompare's and the baselines'."""
    columns = [points[:, j].contiguous() for j in range(points.shape[1])]
    array = points.numpy()

    def tape_forward() -> torch.Tensor:
        with torch.no_grad():
            return s.autograd.tape.run(columns).outputs[0]

    def hand_forward() -> torch.Tensor:
        with torch.no_grad():
            return s.case.hand(*columns)

    def numpy_forward() -> np.ndarray:
        return np.broadcast_to(s.numpy_f(*array.T), array.shape[:1])

    def hand_gradient() -> torch.Tensor:
        inputs = [points[:, j].clone().requires_grad_() for j in range(points.shape[1])]
        return torch.stack(torch.autograd.grad(s.case.hand(*inputs).sum(), inputs), dim=1)

    def numpy_derivative() -> np.ndarray:
        partials = s.numpy_grad(*array.T)  # a constant partial comes back as a number
        return np.stack([np.broadcast_to(d, array.shape[:1]) for d in partials], axis=1)

    return {
        "Tape.run": tape_forward,
        "lambdify(expr, 'numpy')": numpy_forward,
        "hand-written torch": hand_forward,
        "METHODS['autograd']": lambda: METHODS["autograd"].evaluate(s.autograd, points),
        "hand-written torch autograd": hand_gradient,
        "METHODS['symbolic']": lambda: METHODS["symbolic"].evaluate(s.symbolic, points),
        "lambdify(sympy.diff)": numpy_derivative,
    }


def as_tensor(value: object) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value
    return torch.from_numpy(np.array(value))  # a copy: lambdify may return read-only views


def check(s: Subjects) -> None:
    """Refuse to time a baseline that computes something else than diffcompare does."""
    points = sample(len(s.problem.variables), 1_000)
    results = {name: as_tensor(work()) for name, work in tasks(s, points).items()}
    pairs = [(ours, baseline) for _, ours, baseline in COMPARISONS]
    for ours, baseline in [*pairs, ("METHODS['autograd']", "lambdify(sympy.diff)")]:
        try:
            torch.testing.assert_close(results[ours], results[baseline], rtol=1e-10, atol=1e-12)
        except AssertionError as error:
            raise SystemExit(f"{s.case.text}: {ours} and {baseline} differ:\n{error}") from None


def measure(s: Subjects, settings: Settings) -> list[Row]:
    times = {
        size: {
            name: best_seconds(work, settings)
            for name, work in tasks(s, sample(len(s.problem.variables), size)).items()
        }
        for size in SIZES
    }
    rows = [
        Row(task, size, ours, times[size][ours], baseline, times[size][baseline])
        for task, ours, baseline in COMPARISONS
        for size in SIZES
    ]
    return [*rows, single_point(s, settings)]


def single_point(s: Subjects, settings: Settings) -> Row:
    point = dict(zip(s.problem.names, POINT, strict=False))

    def full_check() -> None:
        report = diffcompare.compare(s.case.text, at=point)
        if report.verdict != "agree":
            raise SystemExit(f"{s.case.text} at {point}: {report.verdict}")

    def gradcheck() -> None:
        inputs = tuple(
            torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in point.values()
        )
        torch.autograd.gradcheck(s.case.hand, inputs)

    seconds = min(timeit.repeat(full_check, repeat=settings.check_repeats, number=1))
    return Row(
        "full check",
        1,
        "compare()",
        seconds,
        "gradcheck(hand-written)",
        best_seconds(gradcheck, settings),
    )


# -- printing ---------------------------------------------------------------------------------


def duration(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def table(rows: list[tuple[str, ...]], right: frozenset[int]) -> str:
    """Columns padded to their widest cell; those in `right` (numbers) aligned right."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  "
        + "  ".join(
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    )


def timings(rows: list[Row]) -> str:
    header = ("task", "points", "diffcompare", "time", "baseline", "time", "ratio")
    return table([header, *(cells(r) for r in rows)], right=frozenset({1, 3, 5, 6}))


def cells(r: Row) -> tuple[str, ...]:
    ours, baseline = duration(r.ours_seconds), duration(r.baseline_seconds)
    return (r.task, f"{r.points:,}", r.ours, ours, r.baseline, baseline, f"{r.ratio:.2f}")


def summary(results: list[list[Row]]) -> str:
    """Each comparison's ratio, as the geometric mean over the expressions."""
    header = ("task", "points", "diffcompare", "baseline", "ratio")
    lines = [header]
    for same in zip(*results, strict=True):  # the same comparison for every expression
        first = same[0]
        ratio = geometric_mean([r.ratio for r in same])
        lines.append((first.task, f"{first.points:,}", first.ours, first.baseline, f"{ratio:.2f}"))
    return table(lines, right=frozenset({1, 4}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="fewer, shorter timed loops (a smoke run)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch intra-op threads (default 1, as NumPy uses for lambdify)",
    )
    args = parser.parse_args()
    settings = QUICK if args.quick else FULL
    torch.set_num_threads(args.threads)

    print(
        f"diffcompare {diffcompare.__version__}: torch {torch.__version__} on "
        f"{torch.get_num_threads()} thread(s), sympy {sympy.__version__}, "
        f"numpy {np.__version__}; float64"
    )
    print(
        f"time per call: best of {settings.repeats} loops of >= "
        f"{settings.loop_seconds * 1e3:g} ms each (compare(): best of "
        f"{settings.check_repeats} call(s))"
    )
    print("ratio = diffcompare / baseline: above 1, diffcompare is slower")
    results = []
    for case in CASES:
        s = subjects(case)
        check(s)
        rows = measure(s, settings)
        results.append(rows)
        print(
            f"\n{case.text}   (tape {s.autograd.tape.op_count} ops, derivative tape "
            f"{s.symbolic.tape.op_count} ops)"
        )
        print(timings(rows))
    print(f"\nratios over all {len(CASES)} expressions (geometric mean)")
    print(summary(results))
    print(
        "\nfull check: compare() also derives and simplifies, evaluates a 50-digit reference "
        "and spends\n~50 ms timing each of its three methods; gradcheck does none of that."
    )


if __name__ == "__main__":
    main()
