"""Finite differences of a function of plain tensors: the truth `gradcheck` holds autograd to.

The function is seen flat: `call(x)` takes one 1-D tensor (every differentiable input entry)
and returns one 1-D tensor (every output entry). Each column of the Jacobian (one input
entry) is differenced on its own, with the engine's pieces (diffcompare.paths.fd_steps):

  complex-step: Im f(x + ih e_j) / h, h = 2^-66 max(1, |x_j|): no cancellation, so only the
    function's own rounding is left; taken when the function accepts complex inputs and is
    analytic there (see `gradcheck`, which checks that first).
  Richardson: central differences at h, 2h, 4h, 8h extrapolated, h = eps^(1/5) max(1, |x_j|),
    at each of the engine's STEP_SCALES and then smaller ones until two step sizes agree
    within their estimates; each step's error is its truncation (from the next level) plus
    rounding (1.5 times the probes' rounding over h), and the step with the smallest total
    is kept (the engine's `choose_step`).
  one-sided: second-order one-sided differences into each side, with the order measured,
    for telling a kink or a domain edge from a wrong gradient.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from diffcompare.oracle._engine import (
    COMPLEX_STEP,
    FD_SAFETY,
    SAFETY,
    STEP_SCALES,
    choose_step,
    eps,
    truncation,
)

Flat = Callable[[torch.Tensor], torch.Tensor]

MORE_SCALES = tuple(4.0**-k for k in range(7, 16))
"""Smaller steps tried when no two of STEP_SCALES agree: a kink closer to the point than the
default step (abs(x) at x = 1e-9) needs a step that stays on one side of it."""


@dataclass(frozen=True)
class Column:
    """One column of the true Jacobian: a value and an error bound per output entry, the
    scheme and step that gave them, and whether two step sizes confirmed them."""

    values: torch.Tensor
    bound: torch.Tensor
    scheme: str
    step: float
    converged: torch.Tensor  # per output entry


def complex_step(call: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, j: int) -> Column:
    """Column j by the complex step; `call` takes and returns complex tensors. The truncation
    is estimated from the step 2h (error ~ h^2), the rounding as a few ulps of each term."""
    h = COMPLEX_STEP * max(1.0, abs(float(x[j])))
    z = x.to(torch.complex128 if x.dtype == torch.float64 else torch.complex64)
    levels = []
    for m in (1.0, 2.0):
        probe = z.clone()
        probe[j] = probe[j] + 1j * m * h
        levels.append(call(probe).imag / (m * h))
    one, two = levels
    bound = FD_SAFETY * ((one - two).abs() / 3 + SAFETY * eps(x.dtype) * one.abs())
    return Column(one, bound, "complex-step", h, one.isfinite())


def richardson(call: Flat, x: torch.Tensor, j: int, step: float | None = None) -> Column:
    """Column j by Richardson-extrapolated central differences, the step searched as the
    module docstring says (or fixed at `step`, the `eps` a torch.autograd.gradcheck call
    passes)."""
    e = eps(x.dtype)
    default = e ** (1 / 5) * max(1.0, abs(float(x[j]))) if step is None else step
    scales = (1.0,) if step is not None else STEP_SCALES
    floor = noise(call, x, j)
    tried = [_richardson_at(call, x, j, default * s, floor) for s in scales]
    values, trunc, chosen, total, confirmed = choose_step(tried)
    if step is None and not bool(confirmed.all()):
        for s in MORE_SCALES:
            tried.append(_richardson_at(call, x, j, default * s, floor))
            values, trunc, chosen, total, confirmed = choose_step(tried)
            if bool(confirmed.all()):
                break
    converged = confirmed | (step is not None)
    converged = converged & values.isfinite()
    return Column(values, FD_SAFETY * total, "richardson", float(chosen.max()), converged)


NOISE_POINTS = 10


def line(x: torch.Tensor, seed: int, relative: float) -> list[torch.Tensor]:
    """NOISE_POINTS points x + i delta v along a seeded random direction v over every entry
    (normal, so no step is a power of two that would line rounding up with the grid), delta
    `relative` of each entry's scale."""
    g = torch.Generator().manual_seed(seed)
    v = torch.randn(x.shape, generator=g, dtype=torch.float64).to(x.dtype)
    step = relative * x.abs().clamp(min=1.0) * v
    return [x, *(x + i * step for i in range(1, NOISE_POINTS))]


def ecnoise(values: list[torch.Tensor]) -> torch.Tensor:
    """The rounding noise of a function sampled at closely spaced points on a line, per
    entry: the k-th differences (k = 3 ... 6) of the samples, whose smooth part is
    negligible at such steps while independent noise of size s gives differences of size
    s sqrt(C(2k, k)) (More and Wild's ECnoise, simplified): the root mean square over the
    positions, the largest over k."""
    table = torch.stack(values)
    table = table.abs() if table.is_complex() else table
    found = torch.zeros_like(table[0])
    for k in range(1, 7):
        table = table[1:] - table[:-1]
        if k >= 3:
            rms = table.pow(2).mean(dim=0).sqrt() / math.sqrt(math.comb(2 * k, k))
            found = torch.maximum(found, rms.nan_to_num(0.0, posinf=0.0))
    return found


def noise(call: Flat, x: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """The function's rounding noise near x, per output (ECnoise along a random line with
    steps of 2^-26 of each entry's scale). A function whose value cancels (x y + x (c - y))
    has noise far above eps |f|, which a difference's rounding term needs."""
    return ecnoise([call(p) for p in line(x, seed, 2.0**-26)])


def _richardson_at(
    call: Flat, x: torch.Tensor, j: int, h: float, floor: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(estimate, truncation, step, total error) per output with base step h; `floor` is
    the function's measured rounding noise."""
    e = eps(x.dtype)
    h = float((x[j] + h) - x[j])  # an exactly representable step
    if h <= 4 * e * abs(float(x[j])):
        h = 4 * e * max(abs(float(x[j])), 1.0)
    central, largest = [], None
    for m in (1.0, 2.0, 4.0, 8.0):
        plus, minus = x.clone(), x.clone()
        plus[j] += m * h
        minus[j] -= m * h
        f_plus, f_minus = call(plus), call(minus)
        central.append((f_plus - f_minus) / (plus[j] - minus[j]))
        biggest = torch.maximum(f_plus.abs(), f_minus.abs())
        largest = biggest if largest is None else torch.maximum(largest, biggest)
    assert largest is not None
    levels = [(4 * central[i] - central[i + 1]) / 3 for i in range(3)]
    trunc = truncation(levels[0], levels[1], levels[2], 4.0)
    rounding = 1.5 * SAFETY * torch.maximum(e * largest, floor) / h
    total = (trunc + rounding).nan_to_num(math.inf, posinf=math.inf)
    total = torch.where(levels[0].isfinite(), total, math.inf)
    step = torch.full_like(levels[0], h)
    return levels[0], trunc, step, total


@dataclass(frozen=True)
class Sides:
    """The one-sided derivatives of every output along one input entry: values and error
    estimates on the left and right (NaN where that side is outside the domain)."""

    left: torch.Tensor
    left_error: torch.Tensor
    right: torch.Tensor
    right_error: torch.Tensor

    def kink(self) -> torch.Tensor:
        """Per output: both sides defined and apart by more than their errors allow."""
        apart = (self.left - self.right).abs() > self.left_error + self.right_error
        return apart & self.left.isfinite() & self.right.isfinite()

    def edge(self) -> torch.Tensor:
        """Per output: one side defined, the other not (a domain edge such as sqrt at 0)."""
        return self.left.isfinite() ^ self.right.isfinite()


def one_sided(call: Flat, x: torch.Tensor, j: int) -> Sides:
    """Second-order one-sided differences D(s) = (-3 f(x) + 4 f(x+s) - f(x+2s)) / 2s into
    each side, at decreasing steps; each side keeps, per output, the estimate with the
    smallest error, so a kink near the point (not at it) is passed by a step small enough
    to stay on one side. The order is measured from D(h), D(2h), D(4h), as near an edge the
    function need not be smooth. Stops early once both sides agree with small errors."""
    e = eps(x.dtype)
    base = e ** (1 / 3) * max(1.0, abs(float(x[j])))
    f0 = call(x)
    best: list[tuple[torch.Tensor, torch.Tensor]] = []
    for scale in (1.0, *(4.0**-k for k in range(1, 12))):
        for n, side in enumerate((-1.0, 1.0)):
            h = side * float((x[j] + base * scale) - x[j])
            if h == 0:
                continue
            value, error = _one_side(call, x, j, h, f0)
            if len(best) <= n:
                best.append((value, error))
                continue
            better = error < best[n][1]
            best[n] = (
                torch.where(better, value, best[n][0]),
                torch.where(better, error, best[n][1]),
            )
        found = Sides(best[0][0], best[0][1], best[1][0], best[1][1])
        small = (found.left_error + found.right_error) <= 1e-6 * (1 + found.right.abs())
        if bool((small & ~found.kink()).all()):
            break
    return found


def _one_side(
    call: Flat, x: torch.Tensor, j: int, h: float, f0: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    f = [f0]
    for m in (1.0, 2.0, 4.0, 8.0):
        probe = x.clone()
        probe[j] += m * h
        f.append(call(probe))
    levels = [
        (-3 * f[0] + 4 * f[i] - f[k]) / (2 * m * h)
        for i, k, m in ((1, 2, 1.0), (2, 3, 2.0), (3, 4, 4.0))
    ]
    near, far = (levels[0] - levels[1]).abs(), (levels[1] - levels[2]).abs()
    order = torch.log2(far / near).nan_to_num(2.0).clamp(0.25, 2.0)
    error = torch.where(near == 0, 0.0, near / (2**order - 1))
    rounding = 8 * SAFETY * eps(x.dtype) * torch.stack(f).abs().amax(dim=0) / abs(h)
    error = FD_SAFETY * (error + rounding)
    return levels[0], torch.where(levels[0].isfinite(), error, torch.inf)
