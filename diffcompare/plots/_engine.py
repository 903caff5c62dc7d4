"""The engine internals the plots read, imported in this one place so a move of the engine's
modules changes one file: preparing a problem, the finite-difference pieces, the running
error bounds and the 50-digit reference."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import torch

from diffcompare.engine import Setup
from diffcompare.engine import prepared_setup as prepare
from diffcompare.paths.autodiff import ad_bound
from diffcompare.paths.error_model import eps
from diffcompare.paths.fd_steps import _REAL_SCHEMES, COMPLEX_STEP, FD_SAFETY, _estimate
from diffcompare.paths.fd_steps import value_and_slope as _value_and_slope
from diffcompare.paths.finite_differences import _differences, _first_partials
from diffcompare.paths.method_types import DTYPES, CompiledPrepared, columns, tape_bound
from diffcompare.paths.reference import REFERENCE_DIGITS, reference
from diffcompare.sweep import SweepPoints, SweepReport

__all__ = [
    "COMPLEX_STEP",
    "FD_SAFETY",
    "REFERENCE_DIGITS",
    "Chosen",
    "Setup",
    "SweepPoints",
    "SweepReport",
    "analytic",
    "chosen",
    "complex_differences",
    "eps",
    "prepare",
    "real_differences",
    "reference_value",
    "rounding",
    "scheme_order",
    "torch_dtype",
]


def torch_dtype(name: str) -> torch.dtype:
    """The torch dtype a report's dtype name stands for."""
    return DTYPES[name]


def analytic(prepared: CompiledPrepared) -> bool:
    """Whether every op of the expression extends analytically to complex numbers (the op
    table's complex_step), so complex-step applies."""
    return all(node.op.complex_step for node in prepared.tape.nodes if node.op is not None)


def scheme_order(name: str) -> float:
    """The power p of a scheme's truncation error c h^p."""
    return 2.0 if name == "complex-step" else _REAL_SCHEMES[name].order


@dataclass(frozen=True)
class Chosen:
    """What the engine does under one scheme at one point: the step it picks, its estimate
    there, that estimate's truncation and rounding terms, and the bound it is held to."""

    step: float
    value: float
    truncation: float
    rounding: float
    bound: float


def chosen(prepared: CompiledPrepared, point: torch.Tensor, name: str, column: int) -> Chosen:
    """The engine's own finite difference under scheme `name` at `point` (1, variables),
    along the wrt variable in `column`."""
    single = replace(prepared.output(0), scheme=name, auto=False)
    d = _differences(single, point)
    values, check = _first_partials(single, point)
    step = float(d.steps[0, column])
    bound = float(check.bound[0, column])
    truncation = float(d.truncation[0, column])
    return Chosen(step, float(values[0, column]), truncation, bound / FD_SAFETY - truncation, bound)


def real_differences(
    prepared: CompiledPrepared, point: torch.Tensor, name: str, steps: torch.Tensor, column: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Central (or Richardson) differences at each of `steps` along the wrt variable in
    `column`: the estimates, the engine's truncation estimate at each step (from the steps
    2h and 4h) and the steps as taken (exactly representable)."""
    single = prepared.output(0)
    w = len(single.wrt)
    x = point[0, list(single.wrt)]
    h = ((x + steps[:, None].to(point.dtype)) - x).clone()  # exactly representable steps
    rows = point.repeat(steps.shape[0], 1)
    at_point, _ = _value_and_slope(single, rows)
    values, truncation, _, _ = _estimate(
        single, rows, _REAL_SCHEMES[name], name, h.expand(-1, w).contiguous(), at_point
    )
    return values[:, column], truncation[:, column], h[:, column]


def complex_differences(
    prepared: CompiledPrepared, point: torch.Tensor, steps: torch.Tensor, variable: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Complex-step estimates Im f(x + ih) / h at each of `steps` along `variable` (its
    position among the problem's variables), and their truncation estimates
    |D(h) - D(2h)| / 3, as the engine's complex-step computes them."""
    complex_dtype = torch.complex128 if point.dtype == torch.float64 else torch.complex64
    h = steps.to(point.dtype)
    probes = point.to(complex_dtype).repeat(2 * steps.shape[0], 1)
    probes[:, variable] = probes[:, variable] + 1j * torch.cat([h, 2 * h])
    with torch.no_grad():
        (f,) = prepared.output(0).tape.run(columns(probes)).outputs
    one, two = f.imag[: steps.shape[0]] / h, f.imag[steps.shape[0] :] / (2 * h)
    return one, (one - two).abs() / 3


def rounding(prepared: CompiledPrepared, point: torch.Tensor, name: str, column: int) -> float:
    """The rounding term of a scheme's error model at `point`, times the step h for the real
    schemes (their rounding is this over h); for complex-step, which has no cancellation,
    the forward-mode bound itself, whatever the step."""
    single = prepared.output(0)
    if name == "complex-step":
        return float(ad_bound(single, point)[0, column])
    return _REAL_SCHEMES[name].rounding * float(tape_bound(single.tape, point)[0, 0])


def reference_value(setup: Setup, point: torch.Tensor, entry: int) -> Any:
    """The 50-digit reference of one derivative entry at `point`, an mpmath number; None
    where it, or the expression itself, has no finite real value."""
    formulas = (setup.problem.outputs[0], setup.derivatives.raw[entry])
    value, derivative = reference(formulas, setup.problem.variables, point.tolist())[0]
    return None if value is None else derivative
