"""The four derivative paths, one signature each, in one mapping.

Each method has `prepare(problem, target, settings)` (derive or compile: done once),
`evaluate(prepared, points)` (the timed part: a batch of points in one torch pass, giving
shape (points, entries)) and `check(prepared, points, values)`: the error its own model
allows at each point, with a note per point where the method has something to say.

- symbolic: SymPy's formula for each entry as sympy.diff gives it (the tidied form is for
  display only), evaluated in the dtype; bound: its running error bound (error_model).
- reverse and forward: torch's reverse and forward modes on the compiled expression
  (autodiff); bound: the rounding of the forward values and of the derivative computation.
- finite differences: central, Richardson or complex-step on the compiled expression
  (finite_differences); bound: truncation plus rounding.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

import torch

from diffcompare.errors import UsageError
from diffcompare.language.problem import Problem
from diffcompare.paths import finite_differences
from diffcompare.paths.autodiff import ad_bound, forward_bound, reverse_evaluate
from diffcompare.paths.compiler import Tape, compile_exprs, compile_problem
from diffcompare.paths.edges import has_edges
from diffcompare.paths.forward_mode import forward_evaluate
from diffcompare.paths.method_types import Check, CompiledPrepared, Settings, columns, tape_bound
from diffcompare.paths.symbolic import Derivatives, derive, raw_derivatives
from diffcompare.paths.targets import Target


def _quiet(bound: torch.Tensor) -> Check:
    return Check(bound, torch.zeros_like(bound, dtype=torch.bool))


# -- symbolic: SymPy's derivative formulas, evaluated in floating point ----------------------


@dataclass(frozen=True)
class SymbolicPrepared:
    derivatives: Derivatives
    tape: Tape


def _symbolic_prepare(problem: Problem, target: Target, settings: Settings) -> SymbolicPrepared:
    derivatives = derive(problem, target, settings.simplify_seconds)
    return SymbolicPrepared(
        derivatives, compile_exprs(derivatives.raw, problem.variables, nonreal=True)
    )


def _symbolic_evaluate(prepared: SymbolicPrepared, points: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        outputs = prepared.tape.run(columns(points)).outputs
    return torch.stack(outputs, dim=1)


def _symbolic_check(
    prepared: SymbolicPrepared, points: torch.Tensor, values: torch.Tensor
) -> Check:
    return _quiet(tape_bound(prepared.tape, points))


# -- the compiled expression: reverse mode, forward mode, finite differences -----------------


def _compiled_prepare(problem: Problem, target: Target, settings: Settings) -> CompiledPrepared:
    tape = compile_problem(problem)
    rough = sorted({n.op.name for n in tape.nodes if n.op is not None and not n.op.complex_step})
    scheme = settings.fd
    if scheme == "complex-step" and target.order > 1:
        raise UsageError(
            "--fd complex-step gives first derivatives only; use --fd central or --fd richardson"
        )
    if scheme == "auto":
        scheme = "richardson" if rough or target.order > 1 else "complex-step"
    elif scheme == "complex-step" and rough:
        raise UsageError(
            f"--fd complex-step: {', '.join(rough)} cannot take complex numbers analytically; "
            "use --fd central or --fd richardson"
        )
    formulas = inner = None
    if target.order > 1:
        formulas = compile_exprs(
            raw_derivatives(problem, target, True), problem.variables, nonreal=True
        )
        lower = replace(
            target,
            entries=tuple(replace(e, dirs=e.dirs[:-1]) for e in target.entries),
            order=target.order - 1,
        )
        inner = compile_exprs(
            raw_derivatives(problem, lower, True), problem.variables, nonreal=True
        )
    return CompiledPrepared(
        tape, target, scheme, settings.fd == "auto", has_edges(tape), formulas, inner
    )


def _reverse_check(prepared: CompiledPrepared, points: torch.Tensor, values: torch.Tensor) -> Check:
    return _quiet(ad_bound(prepared, points))


def _forward_check(prepared: CompiledPrepared, points: torch.Tensor, values: torch.Tensor) -> Check:
    return _quiet(forward_bound(prepared, points))


@dataclass(frozen=True)
class Method:
    """One derivative path: how to prepare it, evaluate it, and bound its error."""

    name: str
    label: str
    prepare: Callable[[Problem, Target, Settings], Any]
    evaluate: Callable[[Any, torch.Tensor], torch.Tensor]
    check: Callable[[Any, torch.Tensor, torch.Tensor], Check]
    evaluate_checked: Callable[[Any, torch.Tensor], tuple[torch.Tensor, Check]] | None = None

    def values_and_check(self, prepared: Any, points: torch.Tensor) -> tuple[torch.Tensor, Check]:
        """Both at once (for sweeps, where evaluation is not timed on its own)."""
        if self.evaluate_checked is not None:
            return self.evaluate_checked(prepared, points)
        values = self.evaluate(prepared, points)
        return values, self.check(prepared, points, values)


METHODS: Mapping[str, Method] = MappingProxyType(
    {
        "symbolic": Method(
            "symbolic", "symbolic (SymPy)", _symbolic_prepare, _symbolic_evaluate, _symbolic_check
        ),
        "autograd": Method(
            "autograd", "autograd (torch)", _compiled_prepare, reverse_evaluate, _reverse_check
        ),
        "forward": Method(
            "forward",
            "forward mode (torch.func)",
            _compiled_prepare,
            forward_evaluate,
            _forward_check,
        ),
        "finite_difference": Method(
            "finite_difference",
            "finite difference",
            _compiled_prepare,
            finite_differences.evaluate,
            finite_differences.check,
            finite_differences.evaluate_checked,
        ),
    }
)
