"""The finite-difference step study at one point: each scheme's true error against the step
size h (the V curve), with the step the engine picks and its error model's truncation and
rounding terms. Plain data for a plot or a test."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import mpmath
import numpy as np
import torch

from diffcompare.errors import UsageError
from diffcompare.language.parser import parse
from diffcompare.language.problem import Problem, point_values
from diffcompare.plots import _engine as engine

PER_DECADE = 12
"""Step sizes tried per factor of ten."""

DOMINANT = 10.0
"""The truncation line is fitted where the engine's truncation estimate exceeds its rounding
term this many times over, so rounding noise in the estimate does not bend it."""


@dataclass(frozen=True, eq=False)
class StepCurve:
    """One scheme at one point over step sizes: the estimate's true error against the 50-digit
    reference at each step, the engine's truncation estimate at each step (from the same
    stencil at 2h and 4h, or |D(h) - D(2h)|/3 for complex-step), its rounding term at each
    step, the fitted truncation line c h^order (None where truncation never dominates), and
    what the engine itself does: the step it picks, its error there and its bound."""

    scheme: str
    steps: np.ndarray
    errors: np.ndarray  # NaN where the estimate is not finite (a step below x's ulp)
    truncation: np.ndarray
    rounding: np.ndarray
    order: float
    truncation_line: np.ndarray | None
    chosen: engine.Chosen
    chosen_error: float


@dataclass(frozen=True, eq=False)
class StepStudy:
    """Finite differences of `text` by `variable` at `point`, scheme by scheme."""

    text: str
    variable: str
    point: dict[str, float]
    reference: float  # the derivative, rounded from 50 digits
    dtype: str
    curves: dict[str, StepCurve]  # "central", "richardson" and, where analytic, "complex-step"
    floor: float  # errors of 0 are drawn here: a sixteenth of an ulp of the derivative


def fd_steps(
    expr: str | Problem,
    point: Mapping[str, float] | float,
    wrt: str | Sequence[str] | None = None,
    *,
    dtype: str = "float64",
    per_decade: int = PER_DECADE,
) -> StepStudy:
    """Central differences, Richardson extrapolation and (where every op is analytic)
    complex-step at `point` along one variable (`wrt`, default the first), at step sizes from
    the dtype's epsilon (smaller for complex-step) to 1, each relative to max(1, |x|); each
    estimate is judged against the 50-digit reference. Refuses several wrt variables, vector
    expressions and points where the derivative has no finite real value."""
    problem = parse(expr) if isinstance(expr, str) else expr
    if len(problem.outputs) != 1:
        raise UsageError("--plot-fd: the step study takes a scalar expression")
    names = [wrt] if isinstance(wrt, str) else list(wrt or problem.names[:1])
    names = [n.strip() for name in names for n in name.split(",")]
    if len(names) != 1:
        raise UsageError(f"--plot-fd: the step study goes along one variable, not {names}")
    setup = engine.prepare(problem, names, dtype=dtype, simplify_seconds=0)
    compiled = setup.compiled
    at = torch.tensor([point_values(problem, point)], dtype=torch.float64)
    at = at.to(setup.settings.dtype)
    truth = engine.reference_value(setup, at, 0)
    if truth is None:
        raise UsageError(
            f"--plot-fd: the expression or its derivative by {names[0]} has no finite real "
            "value at this point"
        )
    variable = compiled.wrt[0]
    x = float(at[0, variable])
    e = engine.eps(at.dtype)
    schemes = ["central", "richardson"] + (["complex-step"] if engine.analytic(compiled) else [])
    curves = {}
    for name in schemes:
        chosen = engine.chosen(compiled, at, name, 0)
        low = math.log10(e)
        if name == "complex-step":  # no cancellation: down to below the step it takes
            low = min(low - 6, math.floor(math.log10(chosen.step / max(1.0, abs(x)))) - 1)
        count = round(-low * per_decade) + 1
        steps = torch.logspace(low, 0.0, count, dtype=torch.float64) * max(1.0, abs(x))
        if name != "complex-step":
            # Steps the dtype can take from x: near its ulp several round to one.
            steps = torch.unique((at[0, variable] + steps.to(at.dtype)) - at[0, variable])
            steps = steps[steps > 0].double()
        if name == "complex-step":
            values, truncation = engine.complex_differences(compiled, at, steps, variable)
            taken = steps
        else:
            values, truncation, taken = engine.real_differences(compiled, at, name, steps, 0)
        scale = engine.rounding(compiled, at, name, 0)
        taken_np = taken.double().numpy()
        rounding = np.full_like(taken_np, scale) if name == "complex-step" else scale / taken_np
        order = engine.scheme_order(name)
        truncation_np = truncation.double().numpy()
        curves[name] = StepCurve(
            scheme=name,
            steps=taken_np,
            errors=np.array([_error(v, truth) for v in values.tolist()]),
            truncation=truncation_np,
            rounding=rounding,
            order=order,
            truncation_line=_truncation_line(taken_np, truncation_np, rounding, order),
            chosen=chosen,
            chosen_error=_error(chosen.value, truth),
        )
    return StepStudy(
        text=problem.text,
        variable=names[0],
        point=dict(zip(problem.names, at[0].tolist(), strict=True)),
        reference=float(truth),
        dtype=dtype,
        curves=curves,
        floor=e * max(abs(float(truth)), 1e-300) / 16,
    )


def _error(value: float, truth: mpmath.mpf) -> float:
    if not math.isfinite(value):
        return math.nan
    with mpmath.workdps(engine.REFERENCE_DIGITS):
        return float(abs(mpmath.mpf(value) - truth))


def _truncation_line(
    steps: np.ndarray, truncation: np.ndarray, rounding: np.ndarray, order: float
) -> np.ndarray | None:
    """c h^order, with c the median of truncation / h^order over the steps where the
    engine's truncation estimate clearly dominates its rounding term."""
    dominant = np.isfinite(truncation) & (truncation > DOMINANT * rounding) & (truncation > 0)
    if not dominant.any():
        return None
    c = float(np.median(truncation[dominant] / steps[dominant] ** order))
    line: np.ndarray = c * steps**order
    return line
