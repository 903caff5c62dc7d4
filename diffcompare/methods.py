"""The three derivative paths, one signature each, in one mapping.

Each method has `prepare(problem, wrt)` (derive or compile: done once), `evaluate(prepared,
points)` (the timed part: a batch of points in one torch pass) and `bound(prepared, points,
values)`, the error its own model allows at each point:

- symbolic and autograd: a first-order running error bound. Every op rounds its result by
  at most eps relative; an error at intermediate node i reaches the result scaled by the
  result's sensitivity to that node, which one backward pass gives for all nodes at once:
  bound = SAFETY * eps * (|y| + sum_i |dy/dv_i| * |v_i|). For autograd y is the gradient,
  so the sensitivities come from differentiating the backward pass (create_graph).
- finite differences: truncation estimated by comparing steps h and 2h (central
  differences err ~ c h^2, so D(h) - D(2h) ~ -3 c h^2), plus the rounding error of the
  function values divided by the step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import sympy
import torch

from .compiler import Tape, compile_exprs, compile_problem
from .problem import Problem
from .symbolic import Gradient, gradient

SAFETY = 4.0
"""Headroom over the first-order bound for elementary functions' own error (about 1 ulp in
torch) and the second-order terms the bound leaves out."""

FD_SAFETY = 2.0
"""Headroom over the finite-difference error estimate for the terms beyond the leading one."""


def _eps(dtype: torch.dtype) -> float:
    return torch.finfo(dtype).eps


def columns(points: torch.Tensor, requires_grad: bool = False) -> list[torch.Tensor]:
    """Points of shape (points, variables) as one tensor per variable, for Tape.run."""
    return [
        points[:, j].detach().clone().requires_grad_(requires_grad) for j in range(points.shape[1])
    ]


def _sensitivity(
    outputs: Sequence[torch.Tensor], intermediates: Sequence[torch.Tensor]
) -> list[torch.Tensor]:
    """For each output, sum_i |d output / d v_i| * |v_i| over the tape's intermediates."""
    tracked = [v for v in intermediates if v.requires_grad]
    totals = []
    for out in outputs:
        total = torch.zeros_like(out.detach())
        if out.requires_grad and tracked:
            grads = torch.autograd.grad(out.sum(), tracked, retain_graph=True, allow_unused=True)
            for value, grad in zip(tracked, grads, strict=True):
                if grad is not None:
                    total = total + (grad.abs() * value.detach().abs()).expand_as(total)
        totals.append(total)
    return totals


def _running_bound(values: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return SAFETY * _eps(values.dtype) * (values.abs() + scale)


def _tape_bound(tape: Tape, points: torch.Tensor) -> torch.Tensor:
    """The running error bound of each of the tape's own outputs, shape (points, outputs)."""
    run = tape.run(columns(points, requires_grad=True), keep=True)
    scale = torch.stack(_sensitivity(run.outputs, run.intermediates), dim=1)
    return _running_bound(torch.stack(run.outputs, dim=1).detach(), scale)


# -- symbolic: SymPy's derivative formulas, evaluated in floating point ----------------------


@dataclass(frozen=True)
class SymbolicPrepared:
    gradient: Gradient
    tape: Tape


def _symbolic_prepare(problem: Problem, wrt: tuple[sympy.Symbol, ...]) -> SymbolicPrepared:
    grad = gradient(problem, wrt)
    return SymbolicPrepared(grad, compile_exprs(grad.shown, problem.variables))


def _symbolic_evaluate(prepared: SymbolicPrepared, points: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        outputs = prepared.tape.run(columns(points)).outputs
    return torch.stack(outputs, dim=1)


def _symbolic_bound(
    prepared: SymbolicPrepared, points: torch.Tensor, values: torch.Tensor
) -> torch.Tensor:
    return _tape_bound(prepared.tape, points)


# -- autograd: torch's reverse mode on the compiled expression -------------------------------


@dataclass(frozen=True)
class CompiledPrepared:
    tape: Tape
    wrt: tuple[int, ...]  # positions of the wrt variables among the problem's variables


def _compiled_prepare(problem: Problem, wrt: tuple[sympy.Symbol, ...]) -> CompiledPrepared:
    return CompiledPrepared(
        compile_problem(problem),
        tuple(problem.variables.index(v) for v in wrt),
    )


def _autograd(
    prepared: CompiledPrepared, points: torch.Tensor, *, create_graph: bool
) -> tuple[list[torch.Tensor], tuple[torch.Tensor, ...]]:
    inputs = columns(points, requires_grad=True)
    run = prepared.tape.run(inputs, keep=create_graph)
    targets = [inputs[j] for j in prepared.wrt]
    (out,) = run.outputs
    if not out.requires_grad:  # the expression does not depend on any variable
        return [torch.zeros_like(t) for t in targets], run.intermediates
    # The points are independent, so the gradient of the sum is every point's gradient.
    grads = torch.autograd.grad(out.sum(), targets, allow_unused=True, create_graph=create_graph)
    return (
        [g if g is not None else torch.zeros_like(t) for g, t in zip(grads, targets, strict=True)],
        run.intermediates,
    )


def _autograd_evaluate(prepared: CompiledPrepared, points: torch.Tensor) -> torch.Tensor:
    grads, _ = _autograd(prepared, points, create_graph=False)
    return torch.stack([g.detach() for g in grads], dim=1)


def _autograd_bound(
    prepared: CompiledPrepared, points: torch.Tensor, values: torch.Tensor
) -> torch.Tensor:
    grads, intermediates = _autograd(prepared, points, create_graph=True)
    scale = torch.stack(_sensitivity(grads, intermediates), dim=1)
    return _running_bound(values, scale)


# -- finite differences: central differences on the compiled function -----------------------


def fd_steps(points: torch.Tensor) -> torch.Tensor:
    """The step per point and variable: eps^(1/3) * max(1, |x|), made exactly representable
    (h = (x + h) - x), which balances truncation (~h^2) against rounding (~eps/h)."""
    raw = _eps(points.dtype) ** (1 / 3) * points.abs().clamp(min=1.0)
    steps: torch.Tensor = (points + raw) - points
    return steps


def _probe(
    prepared: CompiledPrepared, points: torch.Tensor, multiples: Sequence[float]
) -> tuple[torch.Tensor, torch.Tensor]:
    """f at x + m*h*e_k for each multiple m and wrt variable k, in one batched pass.

    Returns the values, shape (len(multiples), len(wrt), points), and the steps h.
    """
    steps = fd_steps(points)
    shifted = []
    for m in multiples:
        for k in prepared.wrt:
            probe = points.clone()
            probe[:, k] = points[:, k] + m * steps[:, k]
            shifted.append(probe)
    batch = torch.cat(shifted)
    with torch.no_grad():
        (values,) = prepared.tape.run(columns(batch)).outputs
    return values.reshape(len(multiples), len(prepared.wrt), points.shape[0]), steps


def _central(
    values: torch.Tensor, steps: torch.Tensor, plus: int, minus: int, width: float
) -> torch.Tensor:
    return ((values[plus] - values[minus]) / (width * steps.T)).T


def _fd_evaluate(prepared: CompiledPrepared, points: torch.Tensor) -> torch.Tensor:
    values, steps = _probe(prepared, points, (1.0, -1.0))
    return _central(values, steps[:, list(prepared.wrt)], 0, 1, 2.0)


def _fd_bound(
    prepared: CompiledPrepared, points: torch.Tensor, values: torch.Tensor
) -> torch.Tensor:
    probes, steps = _probe(prepared, points, (1.0, -1.0, 2.0, -2.0))
    steps = steps[:, list(prepared.wrt)]
    wide = _central(probes, steps, 2, 3, 4.0)
    truncation = (values - wide).abs() / 3
    # Rounding: each function value is off by its running bound; the difference quotient
    # divides their sum by 2h.
    rounding = _tape_bound(prepared.tape, points) / steps
    return FD_SAFETY * (truncation + rounding)


@dataclass(frozen=True)
class Method:
    """One derivative path: how to prepare it, evaluate it, and bound its error."""

    name: str
    label: str
    prepare: Callable[[Problem, tuple[sympy.Symbol, ...]], Any]
    evaluate: Callable[[Any, torch.Tensor], torch.Tensor]
    bound: Callable[[Any, torch.Tensor, torch.Tensor], torch.Tensor]


METHODS: Mapping[str, Method] = MappingProxyType(
    {
        "symbolic": Method(
            "symbolic", "symbolic (SymPy)", _symbolic_prepare, _symbolic_evaluate, _symbolic_bound
        ),
        "autograd": Method(
            "autograd", "autograd (torch)", _compiled_prepare, _autograd_evaluate, _autograd_bound
        ),
        "finite_difference": Method(
            "finite_difference", "finite difference", _compiled_prepare, _fd_evaluate, _fd_bound
        ),
    }
)
