"""diffcompare.check: hold someone's gradient code (or claimed formula) to the 50-digit truth at
many points, each entry within the bound a correct implementation in that dtype can be off by,
and shrink a failure to the simplest point that still fails."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from diffcompare.oracle import candidates as ask
from diffcompare.oracle import formula as claimed
from diffcompare.oracle._engine import Problem, Setup, UsageError, compare, parse, prepare
from diffcompare.oracle.candidates import Asked, Truth
from diffcompare.oracle.points import (
    Row,
    given_rows,
    probes,
    ranges,
    row_complexity,
    sample,
    shrink_candidates,
    usable_rows,
    user_point,
)
from diffcompare.oracle.report import CheckReport, Failure

KINDS = ("gradient", "vjp", "function", "formula")
DTYPES = ("float64", "float32")
SHRINK_ROUNDS = 4
KEPT = 100
"""Failures kept in the report (all failing points are counted)."""


def check(
    expr: str | Problem,
    *,
    gradient: Callable[..., Any] | None = None,
    vjp: Callable[..., Any] | None = None,
    function: Callable[..., Any] | None = None,
    formula: str | Mapping[str, str] | None = None,
    at: Any = None,
    domain: str | Mapping[str, Sequence[float]] | None = None,
    samples: int = 100,
    shapes: Mapping[str, Sequence[int]] | None = None,
    wrt: str | Sequence[str] | None = None,
    dtype: str = "float64",
    seed: int = 0,
    rtol: float | None = None,
    ulps: float | None = None,
    shrink: bool = True,
) -> CheckReport:
    """Check exactly one candidate derivative of `expr` against the 50-digit reference.

    `gradient(**point)` returns the gradient (a mapping variable -> value, or a sequence in
    `wrt` order; the Jacobian for a vector expression); `vjp(cotangent, **point)` returns
    the gradient of cotangent . f, asked with random cotangents other than 1; `function(
    **tensors)` is a torch function of the variables, differentiated by torch's reverse mode
    (random cotangents) and forward mode where it supports it; `formula` is a claimed
    derivative as text (or a mapping variable -> text), proved with SymPy where it can be
    within a size bound and otherwise refuted or not at the points.

    Points: `at` (exactly those), else `samples` seeded points from `domain`
    ("x=-3:3,y=0.1:5" or a mapping; default -3:3) where the expression is real, finite and
    smooth, plus up to samples/4 simple probe points (small integers and halves). `dtype`
    is what the candidate computes in: every entry
    is held to the bound of the engine's error model for a correct evaluation of the
    derivative in that dtype (autograd's bound for a torch function), plus `rtol` *
    |truth| and `ulps` units in the last place if given. A failure is shrunk to the
    simplest failing point (`shrink=False` skips that). Returns a CheckReport; raises
    UsageError for bad options (no candidate, two candidates, a bad domain...).
    """
    given = {
        name: value
        for name, value in zip(KINDS, (gradient, vjp, function, formula), strict=True)
        if value is not None
    }
    if len(given) != 1:
        named = f"got {', '.join(given)}" if given else "got none"
        raise UsageError(
            f"check: give exactly one of gradient=, vjp=, function=, formula= ({named})"
        )
    ((kind, candidate),) = given.items()
    if dtype not in DTYPES:
        raise UsageError(f"check: dtype={dtype!r}: choose from {', '.join(DTYPES)}")
    if not isinstance(samples, int) or samples < 1:
        raise UsageError(f"check: samples={samples!r}: need a positive integer")
    for name, value in (("rtol", rtol), ("ulps", ulps)):
        if value is not None and not (isinstance(value, int | float) and value >= 0):
            raise UsageError(f"check: {name}={value!r}: need a number >= 0")
    if kind != "formula" and not callable(candidate):
        raise UsageError(f"check: {kind}= must be callable")
    problem = (
        expr if isinstance(expr, Problem) else parse(expr, shapes=shapes) if shapes else parse(expr)
    )
    run = _Run(
        problem, kind, candidate, wrt, "float64" if kind == "formula" else dtype, seed, rtol, ulps
    )

    spans = None if at is not None and domain is None else ranges(problem, domain)
    if at is not None:
        rows = given_rows(problem, at)
    else:
        setup = run.setup()
        rows = sample(setup, spans or [], samples, seed, run.torch_dtype)
        simple = probes(setup, spans or [], seed, run.torch_dtype, max(4, samples // 4))
        rows += [r for r in simple if r not in set(rows)]
    everywhere = run.truth(rows)
    truth = everywhere.usable_only()
    if not truth.rows:
        raise UsageError(
            "check: no point to check (give a domain= where the expression is defined, or at=): "
            + "; ".join(list(dict.fromkeys(everywhere.reasons))[:2])
        )
    asked = run.ask(truth)
    failures, failing_rows = run.failures(truth, asked)
    minimal = minimal_failure = None
    if failures and shrink:
        minimal_row, minimal_failure = run.shrink(truth, failing_rows, spans, failures)
        minimal = user_point(problem, minimal_row)
    proof = ""
    if kind == "formula":
        proof = "refuted" if failures else ("proved" if run.proved else "numerical")
    return CheckReport(
        expr=problem.text,
        candidate=kind,
        dtype=dtype if kind != "formula" else "exact",
        wrt=truth.wrt,
        entries=asked.labels,
        points_checked=len(truth.rows),
        points_skipped=len(everywhere.rows) - len(truth.rows),
        failing_points=len(failing_rows),
        failures=tuple(failures[:KEPT]),
        minimal=minimal,
        minimal_failure=minimal_failure,
        proof=proof,
        notes=asked.notes + run.skip_note(everywhere),
        seed=seed,
        tolerance=run.tolerance(),
    )


class _Run:
    """One check's fixed settings, and the steps that use them (truth, asking, judging,
    shrinking); it owns the engine's prepared setup for sampling."""

    def __init__(
        self,
        problem: Problem,
        kind: str,
        candidate: Any,
        wrt: str | Sequence[str] | None,
        dtype: str,
        seed: int,
        rtol: float | None,
        ulps: float | None,
    ) -> None:
        import torch

        self.problem, self.kind, self.candidate, self.wrt = problem, kind, candidate, wrt
        self.dtype, self.seed, self.rtol, self.ulps = dtype, seed, rtol, ulps
        self.np_dtype = np.dtype(dtype)
        self.torch_dtype = torch.float32 if dtype == "float32" else torch.float64
        self._setup: Setup | None = None
        self.proved = False
        self._claims: dict[str, Any] | None = None

    def setup(self) -> Setup:
        if self._setup is None:
            self._setup = prepare(self.problem, self.wrt, dtype=self.dtype, simplify_seconds=0)
        return self._setup

    def truth(self, rows: Sequence[Row]) -> Truth:
        """The reference and bounds at every row: one engine call for all of them."""
        names = self.problem.names
        report = compare(
            self.problem,
            at=[dict(zip(names, row, strict=True)) for row in rows],
            wrt=self.wrt,
            dtype=self.dtype,
            timing_budget=0,
            simplify_seconds=0,
        )
        method = "autograd" if self.kind == "function" else "symbolic"
        reference = np.array(
            [[np.nan if v is None else v for v in p.reference] for p in report.points]
        )
        bound = np.array(
            [[np.inf if b is None else b for b in p.methods[method].bound] for p in report.points]
        )
        reasons = []
        for p in report.points:
            if p.verdict in ("undefined", "nondifferentiable"):
                reasons.append(f"{p.verdict}: {p.reason}")
            elif not (np.isfinite([v for v in p.reference if v is not None]).all()):
                reasons.append("no finite reference")
            elif None in p.reference or None in p.methods[method].bound:
                reasons.append("no finite reference or bound")
            else:
                reasons.append("")
        return Truth(
            rows=[tuple(p.at) for p in report.points],
            reference=reference.reshape(len(rows), -1),
            bound=bound.reshape(len(rows), -1),
            usable=np.array([r == "" for r in reasons], dtype=bool),
            reasons=reasons,
            labels=tuple(report.labels or report.wrt),
            outputs=int(np.prod(report.output_shape, dtype=int)),
            wrt=tuple(report.wrt),
        )

    def ask(self, truth: Truth) -> Asked:
        if self.kind == "gradient":
            return ask.ask_gradient(self.candidate, self.problem, truth, self.np_dtype)
        if self.kind == "vjp":
            return ask.ask_vjp(self.candidate, self.problem, truth, self.np_dtype, self.seed)
        if self.kind == "function":
            return ask.ask_function(self.candidate, self.problem, truth, self.np_dtype, self.seed)
        return self._ask_formula(truth)

    def _ask_formula(self, truth: Truth) -> Asked:
        if self._claims is None:
            self._claims = claimed.claims(self.problem, self.candidate, truth.wrt)
            exact = claimed.derivatives(self.problem, truth.wrt)
            self.proved = all(claimed.prove(self._claims[n], exact[n]) for n in truth.wrt)
        values = claimed.evaluate(self.problem, list(self._claims.values()), truth.rows)
        # Equal as 50-digit numbers is the test: the bound is the reference's resolution.
        same = claimed.equal_within_reference(values, truth.reference)
        bound = np.where(same, np.abs(values - truth.reference), 0.0)
        bound = np.where(np.isnan(bound), 0.0, bound)
        width = len(truth.wrt)
        return Asked(
            values,
            truth.reference,
            bound,
            truth.wrt,
            ("formula",) * width,
            [[()] * width for _ in truth.rows],
        )

    def bound(self, asked: Asked) -> np.ndarray:
        """The asked bound plus the caller's rtol and ulps, if any."""
        bound = asked.bound.copy()
        size = np.abs(asked.expected)
        if self.rtol:
            bound += self.rtol * size
        if self.ulps:
            bound += self.ulps * np.spacing(size.astype(self.np_dtype)).astype(np.float64)
        return bound

    def failures(self, truth: Truth, asked: Asked) -> tuple[list[Failure], list[int]]:
        """Every failing entry at a usable row (in row order), and the failing rows."""
        bound = self.bound(asked)
        gap = np.abs(asked.values - asked.expected)
        bad = ~(gap <= bound) & truth.usable[:, None] & np.isfinite(asked.expected)
        failures = []
        for i, k in zip(*np.nonzero(bad), strict=True):
            failures.append(self._failure(truth, asked, bound, int(i), int(k)))
        return failures, sorted({int(i) for i in np.nonzero(bad)[0]})

    def _failure(self, truth: Truth, asked: Asked, bound: np.ndarray, i: int, k: int) -> Failure:
        value, expected = float(asked.values[i, k]), float(asked.expected[i, k])
        finite = bool(np.isfinite(value))
        error = abs(value - expected) if finite else None
        spacing = float(np.spacing(self.np_dtype.type(abs(expected))))
        return Failure(
            point=user_point(self.problem, truth.rows[i]),
            entry=asked.labels[k],
            candidate=value if finite else None,
            truth=expected,
            abs_error=error,
            rel_error=error / abs(expected) if error is not None and expected != 0 else None,
            ulps=error / spacing if error is not None and spacing > 0 else None,
            bound=float(bound[i, k]),
            mode=asked.modes[k],
            cotangent=asked.vectors[i][k],
        )

    def shrink(
        self,
        first: Truth,
        failing: list[int],
        spans: Sequence[tuple[float, float]] | None,
        failures: list[Failure],
    ) -> tuple[Row, Failure]:
        """The simplest failing point reachable from the failing ones: each round asks the
        engine once for the truth at every simpler neighbour of the current point."""
        best_row = min((first.rows[i] for i in failing), key=row_complexity)
        best = next(f for f in failures if f.point == user_point(self.problem, best_row))
        for _ in range(SHRINK_ROUNDS):
            rows = usable_rows(self.setup(), shrink_candidates(best_row, spans), self.torch_dtype)
            if not rows:
                break
            truth = self.truth(rows).usable_only()
            if not truth.rows:
                break
            found, bad_rows = self.failures(truth, self.ask(truth))
            if not bad_rows:
                break
            i = min(bad_rows, key=lambda r: row_complexity(truth.rows[r]))
            if row_complexity(truth.rows[i]) >= row_complexity(best_row):
                break
            best_row = truth.rows[i]
            point = user_point(self.problem, best_row)
            best = next(f for f in found if f.point == point)
        return best_row, best

    def skip_note(self, truth: Truth) -> tuple[str, ...]:
        skipped = [r for r in truth.reasons if r]
        if not skipped:
            return ()
        return (f"{len(skipped)} points skipped (no derivative to check there), e.g. {skipped[0]}",)

    def tolerance(self) -> str:
        if self.kind == "formula":
            return "equal as 50-digit numbers"
        method = "autograd" if self.kind == "function" else "symbolic"
        text = f"the engine's {method} error bound in {self.dtype} per point and entry"
        if self.rtol:
            text += f" + rtol {self.rtol:g}"
        if self.ulps:
            text += f" + {self.ulps:g} ulps"
        return text
