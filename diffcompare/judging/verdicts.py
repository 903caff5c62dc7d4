"""Judging one point: each method against the reference, under its own bound, and the
verdict — agree, disagree (naming the method at fault and why), undefined (naming the op
whose domain the point leaves) or nondifferentiable (with the one-sided derivatives).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

import mpmath
import sympy
import torch

from diffcompare.judging.diagnosis import (
    nonfinite_backward,
    nonfinite_evaluation,
    nonfinite_tangent,
)
from diffcompare.paths.compiler import Tape
from diffcompare.paths.edges import Edges
from diffcompare.paths.finite_differences import one_sided
from diffcompare.paths.method_types import Check
from diffcompare.paths.reference import REFERENCE_DIGITS, reference
from diffcompare.paths.targets import Target
from diffcompare.report import MethodPoint, OneSided, PointResult, finite_or_none
from diffcompare.verdict import AGREE, DISAGREE, NONDIFFERENTIABLE, UNDEFINED

SIDE_STEP = 1e-30
"""The smallest offset, relative to max(1, |x|), at which one-sided derivatives are taken."""

SIDE_STEP_MAX = 1e-12
"""The largest: one-sided derivatives are limits, so they are taken close to the point."""

SIDE_TOLERANCE = 1e-8
"""Relative: two one-sided values closer than this are one value. Far above the change of a
smooth derivative over SIDE_STEP_MAX, far below the jump at a kink."""


@dataclass(frozen=True)
class Context:
    """What judging needs beyond the numbers: the formulas, the compiled tape, the dtype,
    and the edges of the expression at every point (None when it has none)."""

    variables: tuple[sympy.Symbol, ...]
    target: Target  # the entries judged
    derivatives: tuple[sympy.Expr, ...]  # each entry's exact formula, for the reference
    tape: Tape  # the compiled expression
    dtype: torch.dtype
    edges: Edges | None
    outputs: int = 1  # how many of the reference's leading values are the expression's
    formulas: Tape | None = None  # the symbolic formulas as evaluated, one output per entry

    def first_partial(self, k: int) -> tuple[Tape, int] | None:
        """For entry k, where it is one first partial of one output: that output's tape and
        the variable's position (for difference quotients and backward diagnoses)."""
        entry = self.target.entries[k]
        along = entry.along()
        if (
            entry.order != 1
            or along is None
            or sorted(entry.seed) != [0.0] * (len(entry.seed) - 1) + [1.0]
        ):
            return None
        out = entry.seed.index(1.0)
        tape = self.tape
        return Tape(tape.variables, tape.nodes, (tape.outputs[out],)), along


@dataclass(frozen=True)
class Estimate:
    """One method at one point, as the engine computed it."""

    values: list[float]
    bounds: list[float]
    note: str
    skipped: list[bool]


def estimate(values: torch.Tensor, check: Check, i: int) -> Estimate:
    return Estimate(
        values[i].tolist(), check.bound[i].tolist(), check.note(i), check.skipped[i].tolist()
    )


def judge(
    context: Context,
    index: int,
    at: list[float],
    truth: list[mpmath.mpf | None],
    estimates: Mapping[str, Estimate],
) -> PointResult:
    """The verdict at point `index` (`at`), given the reference (`truth`: the expression's
    values, then each entry) and each method's estimate."""
    values, exact = truth[: context.outputs], list(truth[context.outputs :])
    value = None if any(v is None for v in values) else values[0]
    max_value = torch.finfo(context.dtype).max
    min_normal = torch.finfo(context.dtype).smallest_normal
    sides: tuple[OneSided | None, ...] = ()
    verdict = reason = ""
    if value is None:
        verdict, reason = UNDEFINED, _why_undefined(context.tape, at)
    elif any(abs(r) > max_value for r in (*values, *exact) if r is not None):
        verdict = UNDEFINED
        reason = f"the value or its derivative is beyond the range of {_name(context.dtype)}"
    elif any(0 < abs(r) < min_normal for r in exact if r is not None):
        verdict = UNDEFINED
        reason = (
            f"the derivative is below {_name(context.dtype)}'s normal range "
            f"(|d| < {min_normal:.3g}), where it keeps no relative accuracy"
        )
    else:
        on_edge = context.edges is not None and bool(context.edges.on_edge()[index])
        if on_edge or any(r is None for r in exact):
            sides, limits = _one_sided(context, index, at)
            broken = [k for k, lim in enumerate(limits) if lim is _KINK]
            if broken:
                verdict, reason = NONDIFFERENTIABLE, _why_kink(context, index, at, sides, broken)
            exact = [
                lim if r is None and isinstance(lim, mpmath.mpf) else r
                for r, lim in zip(exact, limits, strict=True)
            ]
        if not verdict and any(r is None for r in exact):
            verdict, reason = UNDEFINED, "its derivative has no finite real value here"
    judged = not verdict
    methods = {
        name: _method_point(context, at, e, exact if judged else [None] * len(exact), judged, name)
        for name, e in estimates.items()
    }
    if judged:
        faults = [f"{name}: {m.status}" for name, m in methods.items() if not m.ok]
        if faults:
            verdict, reason = DISAGREE, "; ".join(faults)
        else:
            verdict, reason = AGREE, "every method is within its error bound of the reference"
    names = list(estimates)
    differences = {
        f"{a} - {b}": tuple(
            None if x is None or y is None else x - y
            for x, y in zip(methods[a].value, methods[b].value, strict=True)
        )
        for i, a in enumerate(names)
        for b in names[:i]
    }
    return PointResult(
        at=tuple(at),
        value=None if value is None else float(value),
        outputs=tuple(None if v is None else float(v) for v in values),
        reference=tuple(None if r is None else float(r) for r in exact),
        methods=methods,
        differences=differences,
        verdict=verdict,
        reason=reason,
        closest=_closest(methods, len(exact)) if judged else (),
        one_sided=sides,
    )


def _name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _method_point(
    context: Context,
    at: list[float],
    estimate: Estimate,
    exact: Sequence[mpmath.mpf | None],
    judged: bool,
    name: str,
) -> MethodPoint:
    eps = torch.finfo(context.dtype).eps
    full = -math.log10(eps / 2)
    abs_errors: list[float | None] = []
    rel_errors: list[float | None] = []
    ulps: list[float | None] = []
    digits: list[float | None] = []
    problems: list[str] = []
    skips: list[str] = []
    with mpmath.workdps(REFERENCE_DIGITS + 10):
        for k, (value, bound, truth, skipped) in enumerate(
            zip(estimate.values, estimate.bounds, exact, estimate.skipped, strict=True)
        ):
            error = None
            if skipped:
                skips.append(estimate.note)
            elif truth is not None and math.isfinite(value) and not math.isfinite(bound):
                # The error model's own float evaluation overflowed (1/x**3 at 1e-60): no
                # bound, so no judgement of a value that may well be right.
                skips.append(f"its error bound is {bound} in {_name(context.dtype)}, not judged")
            elif truth is not None and math.isfinite(value):
                error = abs(mpmath.mpf(value) - truth)
                size = float(error)
                if not size <= bound:  # also catches a NaN bound
                    problems.append(f"error {size:.3g} exceeds its bound {bound:.3g}")
            elif truth is not None:
                why = _why_nonfinite(context, at, k, name)
                problems.append(
                    f"{value} where the derivative is {float(truth):.6g}"
                    + (f": {why}" if why else "")
                )
            if error is None or truth is None or truth == 0:
                abs_errors.append(None if error is None else float(error))
                rel_errors.append(None)
                ulps.append(None)
                digits.append(None)
                continue
            relative = float(error / abs(truth))
            abs_errors.append(size)
            rel_errors.append(relative)
            ulps.append(size / _ulp(float(truth), eps))
            digits.append(full if relative == 0 else min(full, max(0.0, -math.log10(relative))))
    if not judged:
        status = "not judged: the derivative does not exist here"
    elif problems:
        status = "; ".join(problems)
    elif skips:
        status = f"skipped: {skips[0]}"
    else:
        status = "ok"
    return MethodPoint(
        value=tuple(finite_or_none(v) for v in estimate.values),
        abs_error=tuple(abs_errors),
        rel_error=tuple(rel_errors),
        ulps=tuple(ulps),
        digits=tuple(digits),
        bound=tuple(finite_or_none(b) for b in estimate.bounds),
        ok=not problems,
        status=status,
        note=estimate.note,
    )


def _why_nonfinite(context: Context, at: list[float], k: int, name: str) -> str | None:
    """Why method `name` has no finite value for entry k where the derivative is finite:
    the symbolic formula's float evaluation, autograd's backward pass, or the expression's
    own float evaluation, which every torch path runs, naming the op where it breaks."""
    if name == "symbolic":
        if context.formulas is None:
            return None
        return nonfinite_evaluation(context.formulas, at, context.dtype, k, "the formula's")
    partial = context.first_partial(k)
    if partial is None:
        return None
    why = nonfinite_evaluation(partial[0], at, context.dtype, 0, "the expression's")
    if why is None and name == "autograd":
        why = nonfinite_backward(partial[0], at, context.dtype)
    if why is None and name == "forward":
        why = nonfinite_tangent(partial[0], at, context.dtype, partial[1])
    return why


def _ulp(value: float, eps: float) -> float:
    """The spacing of the dtype (with machine epsilon `eps`) at `value`'s binade."""
    _, exponent = math.frexp(abs(value))
    # Below the normal range the spacing stops shrinking: it is the smallest subnormal.
    smallest = {2.0**-52: 2.0**-1074, 2.0**-23: 2.0**-149}.get(eps, 2.0**-1074)
    return max(math.ldexp(eps, exponent - 1), smallest)


def _closest(methods: Mapping[str, MethodPoint], count: int) -> tuple[str | None, ...]:
    closest: list[str | None] = []
    for k in range(count):
        errors = {n: m.abs_error[k] for n, m in methods.items() if m.abs_error[k] is not None}
        closest.append(min(errors, key=lambda n: errors[n]) if errors else None)  # type: ignore[arg-type, return-value]
    return tuple(closest)


# -- undefined points ----------------------------------------------------------------------


def _why_undefined(tape: Tape, at: list[float]) -> str:
    """Name the first op whose result is not a finite real number at the point."""
    inputs = [torch.tensor(x, dtype=torch.float64) for x in at]
    with torch.no_grad():
        values = tape.run(inputs, keep=True).values
    for node, result in zip(tape.nodes, values, strict=True):
        op = node.op
        if op is None or bool(torch.as_tensor(result).isfinite()):
            continue
        args = [float(values[i]) for i in node.args]
        if not all(math.isfinite(a) for a in args):
            continue  # inherited from an argument, which was reported first
        exprs = [tape.nodes[i].expr for i in node.args]
        low, high = op.domain
        checked = range(len(args))
        if op.name == "pow":  # the base's domain, unless the power is whole
            checked = range(0) if args[1].is_integer() else range(1)
        for i in checked:
            if not low < args[i] < high:
                return (
                    f"{node.expr} has no real value here: the {op.en}'s argument {exprs[i]} is "
                    f"{args[i]:g}, outside its domain ({low:g}, {high:g})"
                )
        if op.name == "pow" and args[0] == 0 and args[1] < 0:
            return f"{node.expr} divides by zero here: {exprs[0]} = 0"
        shown = ", ".join(f"{a:g}" for a in args)
        return f"{node.expr} is {float(result)} here (its arguments: {shown})"
    return "the expression has no finite real value here"


# -- kinks and domain edges -----------------------------------------------------------------

_KINK = object()  # the one-sided derivatives differ, or one is infinite
_UNSEEN = object()  # not taken along one variable: no one-sided limits


def _one_sided(
    context: Context, index: int, at: list[float]
) -> tuple[tuple[OneSided | None, ...], list[object]]:
    """Per wrt variable: the one-sided derivatives (reference and quotients), and the
    derivative's value if it exists as a (possibly one-sided) limit, else _KINK."""
    clearance = context.edges.clearance(index) if context.edges is not None else []
    sides: list[OneSided | None] = []
    limits: list[object] = []
    for k, entry in enumerate(context.target.entries):
        j = entry.along()
        if j is None:  # a derivative along a direction: no one-sided view of it
            sides.append(None)
            limits.append(_UNSEEN)
            continue
        scale = max(1.0, abs(at[j]))
        delta = min(
            max(clearance[j] if clearance else 0.0, SIDE_STEP * scale), SIDE_STEP_MAX * scale
        )
        step = Fraction(delta)
        probes = []
        for offset in (-step, -2 * step, step, 2 * step):
            point: list[float | Fraction] = [Fraction(x) for x in at]
            point[j] = Fraction(at[j]) + offset
            probes.append(point)
        table = reference([context.derivatives[k]], context.variables, probes)
        left = _limit(table[0][0], table[1][0])
        right = _limit(table[2][0], table[3][0])
        partial = context.first_partial(k)
        below = above = math.nan
        if partial is not None:
            below, above = one_sided(partial[0], at, j, context.dtype)
        sides.append(
            OneSided(
                left,
                right,
                finite_or_none(below) if not math.isinf(below) else below,
                finite_or_none(above) if not math.isinf(above) else above,
            )
        )
        limits.append(_derivative(left, right))
    return tuple(sides), limits


def _limit(near: mpmath.mpf | None, far: mpmath.mpf | None) -> float | None:
    """The one-sided limit from two values at δ and 2δ: None if that side is undefined, ±inf
    if the values still move (the derivative grows without bound)."""
    if near is None or far is None:
        return None
    a, b = float(near), float(far)
    if abs(a - b) <= SIDE_TOLERANCE * max(1.0, abs(a), abs(b)):
        return a
    return math.copysign(math.inf, a)


def _derivative(left: float | None, right: float | None) -> object:
    finite = [s for s in (left, right) if s is not None and math.isfinite(s)]
    if left is not None and right is not None:
        if len(finite) == 2 and abs(left - right) <= SIDE_TOLERANCE * max(
            1.0, abs(left), abs(right)
        ):
            return mpmath.mpf(right)
        return _KINK
    if len(finite) == 1:  # an edge of the domain with a finite one-sided derivative
        return mpmath.mpf(finite[0])
    return _KINK


def _why_kink(
    context: Context,
    index: int,
    at: list[float],
    sides: Sequence[OneSided | None],
    broken: list[int],
) -> str:
    where = context.edges.describe(index) if context.edges is not None else []
    parts = []
    for k in broken:
        s = sides[k]
        assert s is not None
        name = _entry_name(context, k)
        parts.append(f"{name} from the left {_side(s.left)}, from the right {_side(s.right)}")
    place = f" ({'; '.join(where)})" if where else ""
    return f"not differentiable here{place}: {'; '.join(parts)}"


def _entry_name(context: Context, k: int) -> str:
    """d/dx for a gradient's entry, else the entry's label with the derivative named."""
    label = context.target.labels[k]
    if context.target.kind == "gradient":
        return f"d/d{label}"
    return f"the derivative {label}"


def _side(value: float | None) -> str:
    if value is None:
        return "undefined"
    return f"{value:.6g}"
