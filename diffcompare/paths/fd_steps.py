"""The machinery of a finite difference: the schemes and their error orders, the search over
step sizes, and the estimates of truncation and rounding that pick the best step."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from diffcompare.paths.compiler import Tape
from diffcompare.paths.error_model import SAFETY, eps
from diffcompare.paths.method_types import CompiledPrepared, columns, tape_bound

FD_SAFETY = 2.0
"""Headroom over the finite-difference error estimate for the terms beyond the leading one."""


@dataclass(frozen=True)
class _Scheme:
    power: float  # h = eps^power * max(1, |x|)
    multiples: tuple[float, ...]  # the steps taken, in units of h
    rounding: float  # the rounding error, in units of the function's bound over h
    order: float  # the truncation error is c h^order when h is small enough


SCHEMES = ("central", "richardson", "complex-step", "one-sided")


def code(name: str, count: int) -> torch.Tensor:
    return torch.full((count,), SCHEMES.index(name), dtype=torch.long)


_REAL_SCHEMES = {
    "central": _Scheme(1 / 3, (1.0, 2.0, 4.0), 1.0, 2.0),
    "richardson": _Scheme(1 / 5, (1.0, 2.0, 4.0, 8.0), 1.5, 4.0),
}

ROUNDING = {"one-sided": 4.0, **{n: s.rounding for n, s in _REAL_SCHEMES.items()}}
"""The rounding error of each real scheme, in units of the function's bound over h."""

COMPLEX_STEP = 2.0**-66
"""The complex step relative to max(1, |x|): far below any truncation error that matters."""


@dataclass
class Differences:
    """Finite differences at a batch of points: values and truncation estimates, shape
    (points, wrt); the step h of each; the scheme of each point; and the (point, wrt)
    entries where no step fits between the point and a kink or domain edge."""

    values: torch.Tensor
    truncation: torch.Tensor
    steps: torch.Tensor
    schemes: torch.Tensor  # (points,): an index into SCHEMES
    skipped: torch.Tensor
    limited: torch.Tensor


STEP_SCALES = tuple(4.0**-k for k in range(7))
"""The steps tried, as fractions of the default one, until the estimates of successive steps
agree: each point keeps the step whose estimated error (truncation plus rounding) is
smallest, so a function that varies fast (cos(x**3) at large x, near a pole) gets a step
small enough for it."""


def central(
    prepared: CompiledPrepared, points: torch.Tensor, name: str, distance: torch.Tensor | None
) -> Differences:
    """Central differences (or Richardson on them), each step kept within `distance`, the
    room along each wrt variable before a kink or domain edge."""
    scheme = _REAL_SCHEMES[name]
    wrt = list(prepared.wrt)
    x = points[:, wrt]
    e = eps(points.dtype)
    default = e**scheme.power * x.abs().clamp(min=1.0)
    h = default
    limited = torch.zeros_like(x, dtype=torch.bool)
    if distance is not None:
        cap = distance / (2 * scheme.multiples[-1])
        limited = cap < h
        h = torch.minimum(h, cap)
    # A step within a few ulps of x says nothing: no step fits beside the edge.
    skipped = ~(((x + h) - x) > 4 * e * x.abs())
    h = torch.where(skipped, default, h)
    function_bound = tape_bound(prepared.tape, points)[:, :1]
    at_point, slope = value_and_slope(prepared, points)
    tried: Tried = []
    for scale, anchor in ladder(x, h, scheme.power, distance, scheme.multiples[-1]):
        step = (x + anchor * scale) - x  # an exactly representable step
        if scale != 1.0:
            step = torch.where(step > 4 * e * x.abs(), step, h)
        values, truncation, largest, spread = _estimate(
            prepared, points, scheme, name, step, at_point
        )
        # A stencil across which the function changes by less than half of what its slope
        # at x predicts has not resolved it: the function turns within the stencil, and
        # where it oscillates (sin(exp(5 - x)**2.5) in float32, where every step the dtype
        # allows spans periods) its differences alias into values that look converged.
        # Such a step's estimate is not taken, whatever its levels say.
        unresolved = slope * step * scheme.multiples[-1] > 2 * spread
        values = torch.where(unresolved, torch.nan, values)
        # The function is rounded at the probes, not at the point: where it vanishes at
        # the point (tan(x + y) at x = -y) its bound there says nothing of the probes'.
        # What the probes add beyond the point's own bound is carried in the truncation
        # term, so the check's rounding term (the point's bound over h) stays as it is.
        probe_bound = SAFETY * e * largest
        truncation = (
            truncation + scheme.rounding * (probe_bound - function_bound).clamp(min=0) / step
        )
        rounding = scheme.rounding * function_bound / step
        total = torch.where(unresolved, math.inf, (truncation + rounding).nan_to_num(math.inf))
        tried.append((values, truncation, step, total))
    values, truncation, step, _, confirmed = choose(tried)
    skipped = skipped | ~confirmed
    values = torch.where(skipped, torch.nan, values)
    return Differences(values, truncation, step, code(name, points.shape[0]), skipped, limited)


Tried = list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]


def ladder(
    x: torch.Tensor,
    h: torch.Tensor,
    power: float,
    distance: torch.Tensor | None,
    reach: float,
) -> list[tuple[float, torch.Tensor]]:
    """The steps tried, as (scale, anchor) with step = anchor * scale: STEP_SCALES of the
    default step h, and where some |x| is below the smallest of those (1/x at 1e-150, where
    the function varies on the scale of x), STEP_SCALES of eps^power |x| too; elsewhere the
    second ladder repeats the first."""
    steps = [(scale, h) for scale in STEP_SCALES]
    size = x.abs()
    small = (size > 0) & (size < STEP_SCALES[-1])
    if bool(small.any()):
        own = eps(x.dtype) ** power * size
        if distance is not None:
            own = torch.minimum(own, distance / (2 * reach))
        anchor = torch.where(small, own, h)
        steps += [(scale, anchor) for scale in STEP_SCALES]
    return steps


def choose(
    tried: Tried,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Of the estimates (values, truncation, step, total error) at each step size, the one
    with the smallest total error at each point: its value, truncation, step, total error,
    and whether an estimate at another step confirms it."""
    best: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor] | None = None
    for i, (values, truncation, step, total) in enumerate(tried):
        # A step too large for the function can look converged on its own (it samples an
        # oscillation in step with itself): its error is at least how far it is from an
        # estimate with a smaller step, less that estimate's own error.
        for other, _, _, other_total in tried[i + 1 :]:
            excess = ((values - other).abs() - other_total).clamp(min=0).nan_to_num(0.0)
            truncation = torch.maximum(truncation, excess)
        total = truncation + (total - tried[i][1])
        if best is None:
            best = (values, truncation, step, total)
            continue
        better = total < best[3]
        best = (
            torch.where(better, values, best[0]),
            torch.where(better, truncation, best[1]),
            torch.where(better, step, best[2]),
            torch.where(better, total, best[3]),
        )
    assert best is not None
    values, truncation, step, total = best
    # An estimate that no other step confirms within their errors has not converged: near
    # an essential oscillation (cos(tan(u)) by a pole of tan) no step size works, and a
    # value with a bound would be a guess.
    confirmed = torch.zeros_like(values, dtype=torch.bool)
    for other, _, other_step, other_total in tried:
        close = (values - other).abs() <= total + other_total
        confirmed |= close & (other_step != step)
    return values, truncation, step, total, confirmed


def value_and_slope(
    prepared: CompiledPrepared, points: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """f at the points (points, 1), and |df/dx| along each wrt variable (points, wrt) by
    autograd: how fast the function must change across a stencil if the stencil resolves it.
    """
    inputs = columns(points, requires_grad=True)
    (f,) = prepared.tape.run(inputs).outputs
    targets = [inputs[j] for j in prepared.wrt]
    grads: Sequence[torch.Tensor | None] = [None] * len(targets)
    if f.requires_grad:
        grads = torch.autograd.grad(f.sum(), targets, allow_unused=True)
    slope = torch.stack(
        [
            torch.zeros_like(t) if g is None else g.abs()
            for g, t in zip(grads, targets, strict=True)
        ],
        dim=1,
    )
    return f.detach(), slope.nan_to_num(0.0, posinf=0.0)


def _estimate(
    prepared: CompiledPrepared,
    points: torch.Tensor,
    scheme: _Scheme,
    name: str,
    h: torch.Tensor,
    at_point: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The scheme's derivative estimate with steps h (points, wrt), its truncation error, the
    largest |f| among its probes, and the largest |f(probe) - f(x)| (f(x) is `at_point`)."""
    wrt = list(prepared.wrt)
    x = points[:, wrt].T  # (wrt, points)
    # Each probe moves one wrt variable by sign * m * h: (multiple, sign, wrt, points).
    moved = torch.stack(
        [torch.stack([x + sign * m * h.T for sign in (1.0, -1.0)]) for m in scheme.multiples]
    )
    f = probe_values(prepared.tape, points, wrt, moved.reshape(-1, *x.shape))
    n, w = points.shape[0], len(wrt)
    f = f.reshape(len(scheme.multiples), 2, w, n)
    # The true width between the probes, so a probe's rounding does not bias the step.
    diffs = [((f[i, 0] - f[i, 1]) / (moved[i, 0] - moved[i, 1])).T for i in range(len(f))]
    if name == "richardson":
        diffs = [(4 * diffs[i] - diffs[i + 1]) / 3 for i in range(3)]
    largest = f.abs().amax(dim=(0, 1)).T  # (points, wrt)
    spread = (f - at_point).abs().amax(dim=(0, 1)).T
    return (
        diffs[0],
        truncation_estimate(diffs[0], diffs[1], diffs[2], scheme.order),
        largest,
        spread,
    )


PROBE_ELEMENTS = 2**22
"""Probe coordinates evaluated in one batch (32 MB in float64): the probes of a gradient by n
variables of a function of n are n^2 numbers per point, so they go to the tape in chunks."""


def probe_values(
    tape: Tape, points: torch.Tensor, wrt: Sequence[int], moved: torch.Tensor, keep: bool = False
) -> Any:
    """The tape's one output at probes that each move one wrt variable of every point:
    `moved` (probes, wrt, points) holds the moved coordinate (probe p, wrt k, point i is
    the point with variable wrt[k] at moved[p, k, i]). Returns the values in that order,
    flattened; with `keep`, the list of chunk runs instead (for per-node inspection).
    Built as one batch per chunk of probes, not one copy of the points per probe."""
    blocks = moved.shape[0] * moved.shape[1]
    n, v = points.shape
    moved = moved.reshape(blocks, n)
    at = torch.tensor(list(wrt), dtype=torch.long).repeat(blocks // max(len(wrt), 1))
    # Each probe row holds every node of the tape while it runs: a chunk bounds both.
    per_chunk = max(1, PROBE_ELEMENTS // max(n * max(v, len(tape.nodes)), 1))
    outputs, runs = [], []
    for start in range(0, blocks, per_chunk):
        stop = min(blocks, start + per_chunk)
        # Built as columns (variable, probe, point): one copy of the points per probe,
        # each variable's column a contiguous row, not one clone per variable.
        batch = points.T.to(moved.dtype)[:, None, :].expand(v, stop - start, n)
        batch = batch.clone(memory_format=torch.contiguous_format)
        batch[at[start:stop], torch.arange(stop - start), :] = moved[start:stop]
        with torch.no_grad():
            run = tape.run(list(batch.reshape(v, -1).unbind(0)), keep=keep)
        if keep:
            runs.append(run)
        else:
            outputs.append(run.outputs[0])
    return runs if keep else torch.cat(outputs)


def truncation_estimate(
    at_h: torch.Tensor, at_2h: torch.Tensor, at_4h: torch.Tensor, order: float
) -> torch.Tensor:
    """The error of the estimate at h, from its change between steps h, 2h and 4h.

    With error c h^p, the estimates at h and 2h differ by c h^p (2^p - 1). The order p is
    measured from the two changes rather than assumed: a step too large for the function
    (near a pole, say) shows a lower order, and the estimate grows accordingly."""
    near, far = (at_h - at_2h).abs(), (at_2h - at_4h).abs()
    measured = torch.log2(far / near).nan_to_num(order, posinf=order).clamp(0.5, order)
    return torch.where(near == 0, torch.zeros_like(near), near / (2**measured - 1))
