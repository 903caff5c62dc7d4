"""The true Jacobian of a function of plain tensors, for `gradcheck`: complex-step where the
function is analytic, else Richardson, checked against one-sided differences for kinks and
domain edges, computed in float64 where the function allows.

The function's derivative has rounding noise of its own (cancellation in x*y + x*(c - y)
puts it far above eps |J|); for complex-step columns it is measured (ECnoise on the
complex-step derivative at nearby points) and handed on, scaled to the candidate's dtype,
as the rounding a correct candidate computing through the same operations shows too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from diffcompare.oracle._engine import SAFETY, eps
from diffcompare.oracle.flat import FlatFunction
from diffcompare.oracle.tensor_fd import Column, Flat, complex_step, noise, one_sided, richardson


@dataclass(frozen=True)
class Special:
    """Input entry j is at a kink or on a domain edge: what to say, and the output entries
    (rows) that see it."""

    text: str
    rows: torch.Tensor  # bool, per output entry


@dataclass(frozen=True)
class Truth:
    """The true Jacobian (outputs, inputs) with its error bound and its rounding noise (in
    the truth's dtype), per column how it was found, and the special columns."""

    values: torch.Tensor
    bound: torch.Tensor
    noise: torch.Tensor
    columns: tuple[Column, ...]
    special: dict[int, Special]


def truth_call(flat: FlatFunction) -> tuple[Flat, torch.dtype]:
    """The flat function the truth is differenced on, in float64 where the function computes
    in float64 when given float64 inputs, else in the inputs' own dtype."""
    if flat.dtype != torch.float64:
        try:
            wide = flat.call(flat.x0.double())
            if wide.dtype == torch.float64:
                return (lambda x: flat.call(x).double()), torch.float64
        except (RuntimeError, TypeError):  # parameters held in float32, say
            pass
    return flat.call, flat.dtype


def _analytic(flat: FlatFunction, call: Flat, x: torch.Tensor) -> Flat | None:
    """The complex form of the flat function if it takes complex inputs and is analytic at x:
    real on real inputs, and its complex-step derivative along a random direction agrees with
    the one-sided differences along it (which see a kink a central difference hides).
    None otherwise."""
    complex_dtype = torch.complex128 if x.dtype == torch.float64 else torch.complex64
    try:
        at = flat.call(x.to(complex_dtype))
    except (RuntimeError, TypeError, NotImplementedError):
        return None
    real = call(x)
    if not at.is_complex() or at.shape != real.shape:
        return None
    # An analytic function is real on real inputs (abs(z) and z.real are not analytic).
    if not bool((at.imag.abs() <= SAFETY * eps(x.dtype) * real.abs()).all()):
        return None
    v = torch.randn(x.shape, generator=torch.Generator().manual_seed(1), dtype=x.dtype)
    t0 = torch.zeros(1, dtype=x.dtype)
    along = complex_step(lambda t: flat.call(x.to(complex_dtype) + t[0] * v), t0, 0)
    sides = one_sided(lambda t: call(x + t[0] * v), t0, 0)
    agree = along.converged & ~sides.kink() & ~sides.edge()
    for side, error in ((sides.left, sides.left_error), (sides.right, sides.right_error)):
        agree &= (along.values - side).abs() <= along.bound + error
    return flat.call if bool(agree.all()) else None


def _cs_noise(complex_call: Flat, x: torch.Tensor, j: int) -> torch.Tensor:
    """The rounding noise of the complex-step derivative along j, by ECnoise on it."""
    return noise(lambda y: complex_step(complex_call, y, j).values, x, j)


def true_jacobian(flat: FlatFunction, step: float | None) -> Truth:
    """The true Jacobian of the flat function at its inputs, column by column."""
    call, dtype = truth_call(flat)
    x = flat.x0.to(dtype)
    complex_call = _analytic(flat, call, x) if step is None else None
    columns, noises, special = [], [], {}
    for j in range(x.numel()):
        column = complex_step(complex_call, x, j) if complex_call is not None else None
        if column is not None and bool(column.converged.all()):
            assert complex_call is not None
            noises.append(_cs_noise(complex_call, x, j))
        else:
            column, found = _real_column(flat, call, x, j, step)
            noises.append(torch.zeros_like(column.values))
            if found is not None:
                special[j] = found
        columns.append(column)
    return Truth(
        torch.stack([c.values for c in columns], dim=1),
        torch.stack([c.bound for c in columns], dim=1),
        torch.stack(noises, dim=1),
        tuple(columns),
        special,
    )


def _real_column(
    flat: FlatFunction,
    call: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    j: int,
    step: float | None,
) -> tuple[Column, Special | None]:
    """Richardson's column j, unless one-sided differences show a kink or domain edge there
    (returned as a Special), or, near a kink the central stencil straddles, a different
    value (then theirs, at a step that stays on one side)."""
    column = richardson(call, x, j, step)
    sides = one_sided(call, x, j)
    where = flat.input_label(j)
    kink, edge = sides.kink(), sides.edge()
    if bool(kink.any()):
        i = int(kink.nonzero()[0, 0])
        text = (
            f"nondifferentiable at {where}: the one-sided derivatives of output entry {i} "
            f"are {float(sides.left[i]):.6g} (left) and {float(sides.right[i]):.6g} (right); "
            "move the point off the kink"
        )
        return column, Special(text, kink)
    if bool(edge.any()):
        i = int(edge.nonzero()[0, 0])
        side = "left" if not bool(sides.left[i].isfinite()) else "right"
        text = f"on a domain edge at {where}: the function is undefined to the {side}"
        return column, Special(text, edge)
    middle = (sides.left + sides.right) / 2
    error = torch.maximum(sides.left_error, sides.right_error) + (sides.left - sides.right).abs()
    straddled = (column.values - middle).abs() > column.bound + error
    straddled |= ~column.converged & middle.isfinite()
    if bool(straddled.any()):
        values = torch.where(straddled, middle, column.values)
        bound = torch.where(straddled, error, column.bound)
        converged = column.converged | straddled
        column = Column(values, bound, "one-sided", column.step, converged)
    if not bool(column.converged.all()):
        i = int((~column.converged).nonzero()[0, 0])
        text = (
            f"finite differences do not converge at {where} (output entry {i}): the "
            "function varies faster than any step resolves"
        )
        return column, Special(text, ~column.converged)
    return column, None
