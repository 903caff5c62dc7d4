"""The comparison engine: every method at every point, judged against the 50-digit reference."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import torch

from diffcompare.errors import UsageError
from diffcompare.judging.verdicts import Context, estimate, judge
from diffcompare.language.parser import parse
from diffcompare.language.problem import Problem, point_values
from diffcompare.paths.edges import Edges, find_edges
from diffcompare.paths.error_model import eps
from diffcompare.paths.method_types import DTYPES, Check, CompiledPrepared, Settings, columns
from diffcompare.paths.methods import METHODS, SymbolicPrepared
from diffcompare.paths.reference import REFERENCE_DIGITS, reference
from diffcompare.paths.symbolic import SIMPLIFY_SECONDS, Derivatives
from diffcompare.paths.targets import Target, make_target
from diffcompare.report import Cost, PointResult, Report, Timing

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
    order: int = 1,
    hessian: bool = False,
    vjp: Sequence[float] | None = None,
    jvp: Sequence[float] | None = None,
    shapes: Mapping[str, Sequence[int]] | None = None,
    samples: int = SAMPLES,
    seed: int = 0,
    timing_budget: float = TIMING_BUDGET,
    dtype: str = "float64",
    fd: str = "auto",
    simplify_seconds: float = SIMPLIFY_SECONDS,
) -> Report:
    """Differentiate `expr` symbolically, by reverse and forward mode and by finite
    differences, and judge each against the high-precision reference at the points `at` (a
    mapping of variable to number, or to a nested list for an array variable, or a list of
    such mappings); without `at`, at `samples` seeded points where the expression is real,
    finite and smooth. `shapes` makes variables arrays ({"x": (4,), "W": (2, 3)}).

    What is differentiated: by default the gradient (the Jacobian of a vector expression)
    by the variables `wrt` names (default: all); `order` n with one variable in `wrt`, the
    n-th derivative; a `wrt` list with a name repeated ("x,x,y") or as long as `order`, that
    mixed partial; `hessian`, every second partial; `vjp` (one number per output
    component), the vector-Jacobian product v^T J that y.backward(gradient=v) computes;
    `jvp` (one number per wrt variable), the Jacobian-vector product J v.

    `dtype` ("float64" or "float32") is what the torch paths compute in, and the bounds
    they are held to; `fd` picks the finite-difference scheme ("auto",
    "central", "richardson", "complex-step"). `simplify_seconds` bounds the time spent
    simplifying the derivative (0: use SymPy's derivative as it comes). `timing_budget` is
    the seconds of repeated evaluation spent timing each method (0 for a quick oracle
    check: each is then timed MIN_RUNS times). Returns a Report; raises InputError for bad
    text or options.
    """
    problem = (
        (parse(expr, shapes=shapes) if shapes else parse(expr)) if isinstance(expr, str) else expr
    )
    target = make_target(problem, wrt, order=order, hessian=hessian, vjp=vjp, jvp=jvp)
    setup = prepare(problem, target, dtype, fd, simplify_seconds)
    if at is not None:
        points = _points(setup.problem, at).to(setup.settings.dtype)
    else:
        points = _sample(setup, samples, seed)

    values: dict[str, torch.Tensor] = {}
    checks: dict[str, Check] = {}
    timing: dict[str, Timing] = {}
    for name, method in METHODS.items():
        values[name], seconds, runs = _timed(
            partial(method.evaluate, setup.prepared[name], points), timing_budget
        )
        checks[name] = method.check(setup.prepared[name], points, values[name])
        timing[name] = Timing(setup.prepare_seconds[name], seconds, runs)
    results = judge_points(setup, points, values, checks, range(points.shape[0]))
    return Report(
        **report_fields(setup),
        points=results,
        timing=timing,
        dtype=dtype,
        reference_digits=REFERENCE_DIGITS,
    )


def report_fields(setup: Setup) -> dict[str, Any]:
    """What a report says of the problem and its target, beside the points."""
    derivatives = setup.derivatives
    target = setup.target
    return {
        "expr": str(setup.problem.expr),
        "text": setup.problem.text,
        "variables": setup.problem.names,
        "wrt": tuple(setup.problem.variables[j].name for j in target.wrt),
        "derivative": tuple(str(d) for d in derivatives.shown),
        "simplified": derivatives.simplified,
        "method_labels": {n: m.label for n, m in METHODS.items()},
        "fd_scheme": setup.compiled.scheme,
        "kind": target.kind,
        "labels": target.labels,
        "shape": target.shape,
        "output_shape": setup.problem.output_shape,
        "order": target.order,
        "vector": target.vector,
        "costs": costs(setup),
    }


def costs(setup: Setup) -> tuple[Cost, ...]:
    """How each path's work grows: formulas and their sizes, backward passes, forward
    passes, and the expression's evaluations per point that finite differences take."""
    target = setup.target
    # Reverse mode: one backward pass per seed and per lower derivative it differentiates.
    seeds = {(e.seed, e.dirs[:j]) for e in target.entries for j in range(e.order)}
    directions = {e.dirs for e in target.entries}
    partials = {(k, tuple(sorted(by))) for e in target.entries for _, k, by in e.partials()}
    scheme = setup.compiled.scheme
    if target.order == 1:
        per = {"complex-step": 2, "central": 6, "richardson": 8}[scheme]
        outputs = len({k for k, _ in partials})
        evaluations = per * len(target.wrt) * outputs
    else:
        per = 3 if scheme == "central" else 4
        evaluations = sum(per * 2 ** len(by) for _, by in partials)
    return (
        Cost("symbolic", len(target.entries), "formulas", setup.derivatives.sizes),
        Cost("autograd", len(seeds), "backward passes"),
        Cost("forward", len(directions), "forward passes (nested for a higher order)"),
        Cost("finite_difference", evaluations, "evaluations per step size"),
    )


@dataclass(frozen=True)
class Setup:
    """A problem made ready for comparison: parsed, what to differentiate, every method
    prepared (derived or compiled) under the settings, with the seconds each took."""

    problem: Problem
    target: Target
    settings: Settings
    prepared: dict[str, Any]
    prepare_seconds: dict[str, float]

    @property
    def compiled(self) -> CompiledPrepared:
        prepared: CompiledPrepared = self.prepared["finite_difference"]
        return prepared

    @property
    def derivatives(self) -> Derivatives:
        symbolic: SymbolicPrepared = self.prepared["symbolic"]
        return symbolic.derivatives


def prepare(
    expr: str | Problem,
    target: Target | str | Sequence[str] | None,
    dtype: str,
    fd: str,
    simplify_seconds: float = SIMPLIFY_SECONDS,
) -> Setup:
    """Parse (unless given a Problem), check the options and prepare every method; `target`
    is what to differentiate, or the `wrt` names of a gradient."""
    problem = parse(expr) if isinstance(expr, str) else expr
    if not problem.variables:
        raise UsageError(f"{problem.text!r} has no variables to differentiate by")
    if dtype not in DTYPES:
        raise UsageError(f"--dtype {dtype}: choose from {', '.join(DTYPES)}")
    settings = Settings(DTYPES[dtype], fd, simplify_seconds)
    if not isinstance(target, Target):
        target = make_target(problem, target)
    prepared: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    for name, method in METHODS.items():
        prepared[name], seconds[name] = _timed_once(
            partial(method.prepare, problem, target, settings)
        )
    return Setup(problem, target, settings, prepared, seconds)


def judge_points(
    setup: Setup,
    points: torch.Tensor,
    values: Mapping[str, torch.Tensor],
    checks: Mapping[str, Check],
    rows: Iterable[int],
) -> tuple[PointResult, ...]:
    """The verdict at each of the `rows` of `points`, against the reference computed there."""
    rows = list(rows)
    if not rows:
        return ()
    subset = points[rows]
    context = Context(
        variables=setup.problem.variables,
        target=setup.target,
        derivatives=setup.derivatives.raw,
        tape=setup.compiled.tape,
        dtype=setup.settings.dtype,
        edges=edges_at(setup.compiled, subset),
        outputs=len(setup.problem.outputs),
        formulas=setup.prepared["symbolic"].tape,
    )
    truth = reference(
        (*setup.problem.outputs, *setup.derivatives.raw),
        setup.problem.variables,
        subset.tolist(),
    )
    return tuple(
        judge(
            context,
            i,
            subset[i].tolist(),
            truth[i],
            {n: estimate(values[n][rows], checks[n].subset(rows), i) for n in METHODS},
        )
        for i in range(len(rows))
    )


def edges_at(compiled: CompiledPrepared, points: torch.Tensor) -> Edges | None:
    """The kinks and domain edges of the compiled expression at `points`, if it has any."""
    if not compiled.edged:
        return None
    return find_edges(compiled.tape, columns(points, True), compiled.wrt, points.dtype)


def _points(problem: Problem, at: Point | Sequence[Point]) -> torch.Tensor:
    given = [at] if isinstance(at, Mapping) else list(at)
    if not given:
        raise UsageError("no points given")
    rows = [point_values(problem, point) for point in given]
    return torch.tensor(rows, dtype=torch.float64)


def _sample(setup: Setup, count: int, seed: int) -> torch.Tensor:
    """`count` seeded points, rounded to 2 decimals for reading, where the expression and
    its derivative are finite in the dtype and no kink or domain edge is within rounding."""
    generator = torch.Generator().manual_seed(seed)
    n_vars = len(setup.problem.variables)
    found: list[torch.Tensor] = []
    for low, high in ((-3.0, 3.0), (0.0, 1.0), (-30.0, 30.0)):
        candidates = torch.rand(256, n_vars, generator=generator, dtype=torch.float64)
        candidates = torch.round((low + (high - low) * candidates) * 100) / 100
        candidates = candidates.to(setup.settings.dtype)
        found.extend(candidates[_usable(setup, candidates)])
        if len(found) >= count:
            return torch.stack(found[:count])
    if found:
        return torch.stack(found)
    raise UsageError(
        "found no point where the expression and its derivative are finite and "
        "real among 768 seeded samples; give points with --at"
    )


def _usable(setup: Setup, candidates: torch.Tensor) -> torch.Tensor:
    symbolic: SymbolicPrepared = setup.prepared["symbolic"]
    compiled = setup.compiled
    with torch.no_grad():
        formulas = symbolic.tape.run(columns(candidates), keep=True)
        expression = compiled.tape.run(columns(candidates), keep=True)
    ok = torch.ones(candidates.shape[0], dtype=torch.bool)
    # Keep every intermediate, forward and symbolic, well inside the dtype's range: where a
    # square of one would overflow or underflow, backward passes lose all accuracy (1/x at
    # 1e160 has the derivative -1e-320). Such points can still be given with --at.
    info = torch.finfo(candidates.dtype)
    high, low = info.max**0.5, info.smallest_normal**0.5
    for value in (*formulas.values, *expression.values):
        if isinstance(value, torch.Tensor):
            size = value.abs()
            ok &= (size < high) & ((size > low) | (size == 0))
    ok &= METHODS["finite_difference"].evaluate(compiled, candidates).isfinite().all(dim=1)
    edges = edges_at(compiled, candidates)
    if edges is not None and edges.gaps:
        # Ordinary points: off every kink, domain edge and pole by a few default
        # finite-difference steps (the engine handles closer points, given with --at).
        x = candidates[:, list(compiled.wrt)]
        room = 4 * eps(candidates.dtype) ** 0.2 * x.abs().clamp(min=1.0)
        ok &= ~edges.on_edge() & (edges.distance() >= room).all(dim=1)
    return ok


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
