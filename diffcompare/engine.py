"""The comparison engine: every method at every point, judged against the 50-digit reference."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, partial
from typing import Any, TypeVar

import torch

from diffcompare.errors import InputError, UsageError
from diffcompare.explanation.prepared import clear_cache as clear_explanations
from diffcompare.judging.verdicts import Context, estimate, judge
from diffcompare.language.ops import clear_caches as clear_reductions
from diffcompare.language.parser import parse
from diffcompare.language.problem import Problem, point_values
from diffcompare.paths.budget import check_points, check_work
from diffcompare.paths.memo import Memo
from diffcompare.paths.method_types import DTYPES, Check, CompiledPrepared, Settings
from diffcompare.paths.methods import METHODS, SymbolicPrepared
from diffcompare.paths.reference import REFERENCE_DIGITS, reference
from diffcompare.paths.symbolic import SIMPLIFY_SECONDS, Derivatives
from diffcompare.paths.targets import Target, make_target
from diffcompare.report import Cost, Flag, PointResult, Report, Shown, Timing
from diffcompare.sampling import edges_at, sample

Point = Mapping[str, float]
T = TypeVar("T")

SAMPLES = 5
"""Points compared when the caller gives none."""

TIMING_BUDGET = 0.0
"""Seconds of repeated evaluation per method (opt-in, for stable sub-millisecond timings):
by default each method's time is that of the one run that produced its values."""

CACHE_SIZE = 64
"""Prepared problems kept (by text and options), the least recently used dropped first."""

_SETUPS: Memo[Setup] = Memo(CACHE_SIZE)


def clear_cache() -> None:
    """Forget every prepared problem and explanation (after changing a SymPy rule or an
    op-table row)."""
    _SETUPS.cache_clear()
    clear_explanations()
    clear_reductions()


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
    repeat: int = 0,
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
    "central", "richardson", "complex-step"). `simplify_seconds` 0 shows SymPy's derivative
    as it comes; otherwise it is tidied, bounded by its size, when first shown. Each
    method's timing is that of the run that produced its values; `repeat` more runs, or
    `timing_budget` seconds of them, give the best of several instead.

    Everything that depends only on the text and the options (parse, target, derivatives,
    the compiled tape) is prepared once and kept in a bounded cache (see prepare()), so a
    call at new points pays only for the points. Returns a Report; raises InputError for
    bad text or options.
    """
    setup = prepared_setup(
        expr,
        wrt,
        order=order,
        hessian=hessian,
        vjp=vjp,
        jvp=jvp,
        shapes=shapes,
        dtype=dtype,
        fd=fd,
        simplify_seconds=simplify_seconds,
    )
    return run(setup, at, samples, seed, timing_budget, repeat)


def run(
    setup: Setup,
    at: Point | Sequence[Point] | None,
    samples: int = SAMPLES,
    seed: int = 0,
    timing_budget: float = TIMING_BUDGET,
    repeat: int = 0,
) -> Report:
    """Every method of the prepared `setup` at the points `at` (or `samples` seeded ones),
    judged: the per-point work of compare()."""
    if at is not None:
        points = _points(setup.problem, at).to(setup.settings.dtype)
        check_points(setup.problem, setup.target, points.shape[0], setup.settings.fd)
    else:
        check_points(setup.problem, setup.target, samples, setup.settings.fd, sampled=True)
        points = sample(setup, samples, seed)

    values: dict[str, torch.Tensor] = {}
    checks: dict[str, Check] = {}
    timing: dict[str, Timing] = {}
    for name, method in METHODS.items():
        values[name], seconds, runs = _timed(
            partial(method.evaluate, setup.prepared[name], points), timing_budget, repeat
        )
        checks[name] = method.check(setup.prepared[name], points, values[name])
        timing[name] = Timing(setup.prepare_seconds[name], seconds, runs)
    results = judge_points(setup, points, values, checks, range(points.shape[0]))
    return Report(
        **setup.fields,
        points=results,
        timing=timing,
        dtype=_DTYPE_NAMES[setup.settings.dtype],
        reference_digits=REFERENCE_DIGITS,
    )


_DTYPE_NAMES = {dtype: name for name, dtype in DTYPES.items()}


@dataclass(frozen=True)
class Prepared:
    """A problem prepared once for comparison at many points: parsed, its target chosen,
    derived and compiled under the options. Immutable and safe to share between threads
    (it holds SymPy expressions and tapes of numbers, no torch graph)."""

    setup: Setup

    @property
    def problem(self) -> Problem:
        return self.setup.problem

    @property
    def target(self) -> Target:
        return self.setup.target

    def compare(
        self,
        at: Point | Sequence[Point] | None = None,
        *,
        samples: int = SAMPLES,
        seed: int = 0,
        timing_budget: float = TIMING_BUDGET,
        repeat: int = 0,
    ) -> Report:
        """compare() of the prepared problem at `at` (or `samples` seeded points)."""
        return run(self.setup, at, samples, seed, timing_budget, repeat)


def prepare(
    expr: str | Problem,
    *,
    wrt: str | Sequence[str] | None = None,
    order: int = 1,
    hessian: bool = False,
    vjp: Sequence[float] | None = None,
    jvp: Sequence[float] | None = None,
    shapes: Mapping[str, Sequence[int]] | None = None,
    dtype: str = "float64",
    fd: str = "auto",
    simplify_seconds: float = SIMPLIFY_SECONDS,
) -> Prepared:
    """Prepare `expr` under the options once (see compare() for their meaning), for
    `.compare(at)` at many points. Raises InputError for bad text or options."""
    return Prepared(
        prepared_setup(
            expr,
            wrt,
            order=order,
            hessian=hessian,
            vjp=vjp,
            jvp=jvp,
            shapes=shapes,
            dtype=dtype,
            fd=fd,
            simplify_seconds=simplify_seconds,
        )
    )


def prepared_setup(
    expr: str | Problem,
    wrt: str | Sequence[str] | None = None,
    *,
    order: int = 1,
    hessian: bool = False,
    vjp: Sequence[float] | None = None,
    jvp: Sequence[float] | None = None,
    shapes: Mapping[str, Sequence[int]] | None = None,
    dtype: str = "float64",
    fd: str = "auto",
    simplify_seconds: float = SIMPLIFY_SECONDS,
) -> Setup:
    """The Setup for the text (or problem) and options, from the bounded cache or made and
    kept there. Options that are not hashable as given are prepared without the cache."""

    def make() -> Setup:
        if isinstance(expr, str):
            problem = parse(expr, shapes=shapes) if shapes else parse(expr)
        else:
            problem = expr
        target = make_target(problem, wrt, order=order, hessian=hessian, vjp=vjp, jvp=jvp)
        return prepare_setup(problem, target, dtype, fd, simplify_seconds)

    try:
        key = (
            expr if isinstance(expr, str) else ("problem", expr),
            None if shapes is None else tuple((k, tuple(v)) for k, v in shapes.items()),
            wrt if wrt is None or isinstance(wrt, str) else tuple(wrt),
            order,
            hessian,
            None if vjp is None else tuple(vjp),
            None if jvp is None else tuple(jvp),
            dtype,
            fd,
            simplify_seconds > 0,
        )
        hash(key)
    except TypeError:
        return make()
    return _SETUPS.get(key, make)


def report_fields(setup: Setup) -> dict[str, Any]:
    """What a report says of the problem and its target, beside the points."""
    derivatives = setup.derivatives
    target = setup.target
    return {
        "expr": str(setup.problem.expr),
        "text": setup.problem.text,
        "variables": setup.problem.names,
        "wrt": tuple(setup.problem.variables[j].name for j in target.wrt),
        # Tidied for display only when something shows them (see Derivatives).
        "derivative": Shown(lambda: tuple(str(d) for d in derivatives.shown)),
        "simplified": Flag(lambda: derivatives.simplified),
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

    @cached_property
    def fields(self) -> dict[str, Any]:
        """report_fields, made once (printing SymPy expressions is not free)."""
        return report_fields(self)

    @property
    def compiled(self) -> CompiledPrepared:
        prepared: CompiledPrepared = self.prepared["finite_difference"]
        return prepared

    @property
    def derivatives(self) -> Derivatives:
        symbolic: SymbolicPrepared = self.prepared["symbolic"]
        return symbolic.derivatives


def prepare_setup(
    expr: str | Problem,
    target: Target | str | Sequence[str] | None,
    dtype: str,
    fd: str,
    simplify_seconds: float = SIMPLIFY_SECONDS,
) -> Setup:
    """Parse (unless given a Problem), check the options and prepare every method, uncached;
    `target` is what to differentiate, or the `wrt` names of a gradient. Methods that share
    a prepare function (autograd, forward and finite differences compile the same tape)
    share its result: one compile."""
    problem = parse(expr) if isinstance(expr, str) else expr
    if not problem.variables:
        raise UsageError(f"{problem.text!r} has no variables to differentiate by")
    if dtype not in DTYPES:
        raise UsageError(f"--dtype {dtype}: choose from {', '.join(DTYPES)}")
    settings = Settings(DTYPES[dtype], fd, simplify_seconds)
    if not isinstance(target, Target):
        target = make_target(problem, target)
    check_work(problem, target, fd)
    prepared: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    done: dict[Any, tuple[Any, float]] = {}
    try:
        for name, method in METHODS.items():
            if method.prepare not in done:
                done[method.prepare] = _timed_once(
                    partial(method.prepare, problem, target, settings)
                )
            prepared[name], seconds[name] = done[method.prepare]
    except RecursionError:
        raise _too_deep(problem.text, "differentiate") from None
    return Setup(problem, target, settings, prepared, seconds)


def _too_deep(text: str, what: str) -> InputError:
    shown = text if len(text) <= 60 else text[:57] + "..."
    return InputError(
        f"{shown!r} is nested too deeply for SymPy to {what} (it ran out of Python's "
        "recursion depth): nest it less deeply, e.g. expand a nested fraction"
    )


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
    subset = points if rows == list(range(points.shape[0])) else points[rows]
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
    at = subset.tolist()
    truth = reference((*setup.problem.outputs, *setup.derivatives.raw), setup.problem.variables, at)
    # Each method's rows taken once (not once per row: a sweep judges hundreds), and not at
    # all when every row is judged.
    every = subset is points
    chosen = {
        n: (values[n], checks[n]) if every else (values[n][rows], checks[n].subset(rows))
        for n in METHODS
    }
    return tuple(
        judge(
            context,
            i,
            at[i],
            truth[i],
            {n: estimate(v, c, i) for n, (v, c) in chosen.items()},
        )
        for i in range(len(rows))
    )


def _points(problem: Problem, at: Point | Sequence[Point]) -> torch.Tensor:
    given = [at] if isinstance(at, Mapping) else list(at)
    if not given:
        raise UsageError("no points given")
    rows = [point_values(problem, point) for point in given]
    return torch.tensor(rows, dtype=torch.float64)


def _timed_once(work: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = work()
    return result, time.perf_counter() - start


def _timed(work: Callable[[], T], budget: float, repeat: int = 0) -> tuple[T, float, int]:
    """Run `work` once, timed; with `repeat` or a `budget` of seconds, run it again that many
    more times or for about that long (at most 1000 runs) and keep the best time. Returns
    the last run's result, the time and how many runs were timed."""
    result, best = _timed_once(work)
    runs, spent = 1, best
    while runs <= repeat or (spent < budget and runs < 1000):
        result, seconds = _timed_once(work)
        best, runs, spent = min(best, seconds), runs + 1, spent + seconds
    return result, best, runs
