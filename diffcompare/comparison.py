"""The comparison engine: every method at every point, judged against the 50-digit reference."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any, TypeVar

import mpmath
import sympy
import torch

from .errors import UsageError
from .methods import METHODS, CompiledPrepared, SymbolicPrepared, columns, fd_steps
from .parser import parse
from .problem import Problem
from .reference import REFERENCE_DIGITS, reference
from .report import AGREE, DISAGREE, UNDEFINED, MethodPoint, PointResult, Report, Timing

Point = Mapping[str, float]
T = TypeVar("T")

SAMPLES = 5
"""Points compared when the caller gives none."""

TIMING_BUDGET = 0.05
"""Seconds of repeated evaluation per method, so sub-millisecond timings mean something."""

MIN_RUNS = 3


def compare(
    expr: str | Problem,
    at: Point | Sequence[Point] | None = None,
    wrt: str | Sequence[str] | None = None,
    *,
    samples: int = SAMPLES,
    seed: int = 0,
    timing_budget: float = TIMING_BUDGET,
) -> Report:
    """Differentiate `expr` symbolically, by autograd and by finite differences, and judge
    each against the high-precision reference at the points `at` (a mapping of variable to
    number, or a list of them); without `at`, at `samples` seeded points where the
    expression is real and finite. `wrt` names the variables to differentiate by (default:
    all). `timing_budget` is the seconds of repeated evaluation spent timing each method
    (0 for a quick oracle check: each is then timed MIN_RUNS times). Returns a Report;
    raises InputError for bad text or options.
    """
    problem = parse(expr) if isinstance(expr, str) else expr
    if not problem.variables:
        raise UsageError(f"{problem.text!r} has no variables to differentiate by")
    targets = _wrt(problem, wrt)

    prepared: dict[str, Any] = {}
    prepare_seconds: dict[str, float] = {}
    for name, method in METHODS.items():
        prepared[name], prepare_seconds[name] = _timed_once(
            partial(method.prepare, problem, targets)
        )

    points = (
        _points(problem, at)
        if at is not None
        else _sample(
            prepared["symbolic"],
            prepared["finite_difference"],
            len(problem.variables),
            samples,
            seed,
        )
    )

    values: dict[str, torch.Tensor] = {}
    bounds: dict[str, torch.Tensor] = {}
    timing: dict[str, Timing] = {}
    for name, method in METHODS.items():
        values[name], seconds, runs = _timed(
            partial(method.evaluate, prepared[name], points), timing_budget
        )
        bounds[name] = method.bound(prepared[name], points, values[name])
        timing[name] = Timing(prepare=prepare_seconds[name], evaluate=seconds, runs=runs)

    grad = prepared["symbolic"].gradient
    truth = reference((problem.expr, *grad.raw), problem.variables, points.tolist())
    results = tuple(
        _judge(
            targets,
            points[i].tolist(),
            truth[i],
            {n: (values[n][i], bounds[n][i]) for n in METHODS},
        )
        for i in range(points.shape[0])
    )
    return Report(
        expr=str(problem.expr),
        text=problem.text,
        variables=problem.names,
        wrt=tuple(v.name for v in targets),
        derivative=tuple(str(d) for d in grad.shown),
        simplified=grad.simplified,
        points=results,
        timing=timing,
        method_labels={n: m.label for n, m in METHODS.items()},
        dtype="float64",
        reference_digits=REFERENCE_DIGITS,
    )


def _wrt(problem: Problem, wrt: str | Sequence[str] | None) -> tuple[sympy.Symbol, ...]:
    if wrt is None:
        return problem.variables
    names = [n.strip() for n in wrt.split(",")] if isinstance(wrt, str) else list(wrt)
    chosen = []
    for name in names:
        try:
            chosen.append(problem.symbol(name))
        except KeyError:
            raise UsageError(
                f"--wrt {name}: not a variable of the expression (its variables: "
                f"{', '.join(problem.names)})"
            ) from None
    if not chosen:
        raise UsageError("--wrt names no variable")
    return tuple(dict.fromkeys(chosen))


def _points(problem: Problem, at: Point | Sequence[Point]) -> torch.Tensor:
    given = [at] if isinstance(at, Mapping) else list(at)
    if not given:
        raise UsageError("no points given")
    rows = []
    for point in given:
        unknown = set(point) - set(problem.names)
        if unknown:
            raise UsageError(
                f"--at {', '.join(sorted(unknown))}: not a variable of the "
                f"expression (its variables: {', '.join(problem.names)})"
            )
        missing = [n for n in problem.names if n not in point]
        if missing:
            raise UsageError(f"--at: no value for {', '.join(missing)}")
        rows.append([float(point[n]) for n in problem.names])
    return torch.tensor(rows, dtype=torch.float64)


def _sample(
    symbolic: SymbolicPrepared, compiled: CompiledPrepared, n_vars: int, count: int, seed: int
) -> torch.Tensor:
    """`count` seeded points, rounded to 2 decimals for reading, where the expression, its
    derivative and the finite-difference probes around them are all finite."""
    generator = torch.Generator().manual_seed(seed)
    found: list[torch.Tensor] = []
    for low, high in ((-3.0, 3.0), (0.0, 1.0), (-30.0, 30.0)):
        candidates = torch.rand(256, n_vars, generator=generator, dtype=torch.float64)
        candidates = torch.round((low + (high - low) * candidates) * 100) / 100
        found.extend(candidates[_usable(symbolic, compiled, candidates)])
        if len(found) >= count:
            return torch.stack(found[:count])
    if found:
        return torch.stack(found)
    raise UsageError(
        "found no point where the expression and its derivative are finite and "
        "real among 768 seeded samples; give points with --at"
    )


def _usable(
    symbolic: SymbolicPrepared, compiled: CompiledPrepared, candidates: torch.Tensor
) -> torch.Tensor:
    with torch.no_grad():
        derivative = torch.stack(symbolic.tape.run(columns(candidates)).outputs, dim=1)
        ok = derivative.isfinite().all(dim=1)
        steps = fd_steps(candidates)
        for k in range(candidates.shape[1]):
            for m in (-2.0, 0.0, 2.0):
                probe = candidates.clone()
                probe[:, k] += m * steps[:, k]
                (value,) = compiled.tape.run(columns(probe)).outputs
                ok &= value.isfinite()
    # Kinks of abs, relu, max and min sit where a variable is 0 or two are equal; keep
    # sampled points off them (points given with --at are compared wherever they are).
    ok &= (candidates != 0).all(dim=1)
    if candidates.shape[1] > 1:
        ok &= (candidates[:, :, None] != candidates[:, None, :]).sum(dim=(1, 2)) == (
            candidates.shape[1] * (candidates.shape[1] - 1)
        )
    return ok


def _judge(
    wrt: Sequence[sympy.Symbol],
    at: list[float],
    truth: list[mpmath.mpf | None],
    estimates: Mapping[str, tuple[torch.Tensor, torch.Tensor]],
) -> PointResult:
    value, *exact = truth
    methods = {
        name: _method_point(v.tolist(), b.tolist(), exact) for name, (v, b) in estimates.items()
    }
    reference_values = tuple(None if r is None else float(r) for r in exact)
    names = list(estimates)
    differences = {
        f"{a} - {b}": tuple(
            _difference(x, y) for x, y in zip(methods[a].value, methods[b].value, strict=True)
        )
        for i, a in enumerate(names)
        for b in names[:i]
    }
    faults = [f"{name}: {m.status}" for name, m in methods.items() if not m.ok]
    if value is None or any(r is None for r in exact):
        what = "the expression" if value is None else "its derivative"
        verdict, reason = UNDEFINED, f"{what} has no finite real value here"
    elif faults:
        verdict, reason = DISAGREE, "; ".join(faults)
    else:
        verdict, reason = AGREE, "every method is within its error bound of the reference"
    shown_value = None if value is None else float(value)
    return PointResult(
        tuple(at), shown_value, reference_values, methods, differences, verdict, reason
    )


def _method_point(
    values: list[float], bounds: list[float], exact: list[mpmath.mpf | None]
) -> MethodPoint:
    abs_errors: list[float | None] = []
    rel_errors: list[float | None] = []
    problems = []
    with mpmath.workdps(REFERENCE_DIGITS + 10):
        for value, bound, truth in zip(values, bounds, exact, strict=True):
            if truth is None or not _finite(value):
                abs_errors.append(None)
                rel_errors.append(None)
                if truth is not None:
                    problems.append(f"non-finite value {value}")
                continue
            error = float(abs(mpmath.mpf(value) - truth))
            abs_errors.append(error)
            rel_errors.append(float(error / abs(truth)) if truth != 0 else None)
            if not error <= bound:  # also catches a NaN bound
                problems.append(f"error {error:.3g} exceeds its bound {bound:.3g}")
    return MethodPoint(
        value=tuple(v if _finite(v) else None for v in values),
        abs_error=tuple(abs_errors),
        rel_error=tuple(rel_errors),
        bound=tuple(b if _finite(b) else None for b in bounds),
        ok=not problems,
        status="; ".join(problems) or "ok",
    )


def _difference(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _finite(value: float) -> bool:
    return value == value and value not in (float("inf"), float("-inf"))


def _timed_once(work: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = work()
    return result, time.perf_counter() - start


def _timed(work: Callable[[], T], budget: float) -> tuple[T, float, int]:
    """Run `work` once untimed (the first call pays one-time start-up costs), then repeatedly
    for about `budget` seconds and at least MIN_RUNS times; return its result, the best time
    of one run, and how many runs were timed."""
    result = work()
    best, runs, spent = float("inf"), 0, 0.0
    while runs < MIN_RUNS or (spent < budget and runs < 1000):
        _, seconds = _timed_once(work)
        best, runs, spent = min(best, seconds), runs + 1, spent + seconds
    return result, best, runs
