"""Finite differences on the compiled problem: what a numerical gradient check sees.

First derivatives, three schemes:
  central: (f(x+h) - f(x-h)) / 2h, h = eps^(1/3) max(1, |x|); truncation estimated from the
    step 2h (D(h) - D(2h) ~ -3 c h^2), rounding as the function's running bound over h.
  richardson: central differences at h, 2h, 4h extrapolated, R = (4 D(h) - D(2h)) / 3 with
    error ~ c h^4, h = eps^(1/5) max(1, |x|); truncation from the next level,
    |R(h) - R(2h)| / 15; rounding 1.5 times the running bound over h.
  complex-step: Im f(x + ih) / h with h = 2^-66 max(1, |x|) or 2^-66 min(1, |x|), far
    inside the distance to a singularity, no cancellation at all; its rounding is that of
    forward-mode differentiation, which the autodiff bound models, so a step whose
    imaginary parts underflow is not used.
Near a kink or a domain edge the step shrinks so the probes stay on one side of it.
"auto" takes complex-step when every op of the expression is analytic (the op table's
complex_step), else Richardson; a point where complex-step gives no finite value falls back
to Richardson.

Higher derivatives: the product of central differences along each direction,
    D(h) = sum over signs s of (prod s) f(x + sum_i s_i h_i e_i) / prod_i (2 h_i),
2^n probes per step with error ~ c h^2, and Richardson on it (error ~ c h^4), with steps
eps^(1/(n+2)) or eps^(1/(n+4)) max(1, |x|) and the same search over step sizes.

Each entry of the target is a combination of partial derivatives of the outputs (a
Jacobian's are single partials, a JVP's a sum along its direction): each partial is
differenced once, output by output, and the entry and its bound are combined from them."""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace

import torch

from diffcompare.paths.autodiff import ad_bound
from diffcompare.paths.compiler import Tape
from diffcompare.paths.edges import edges_at, find_edges
from diffcompare.paths.error_model import SAFETY, eps
from diffcompare.paths.fd_steps import (
    COMPLEX_STEP,
    FD_SAFETY,
    ROUNDING,
    SCHEMES,
    Differences,
    Tried,
    central,
    choose,
    code,
    ladder,
    probe_values,
    truncation_estimate,
    value_and_slope,
)
from diffcompare.paths.method_types import Check, CompiledPrepared, columns, tape_bound
from diffcompare.paths.targets import Entry, gradient_target


def _complex_step(
    prepared: CompiledPrepared, points: torch.Tensor, distance: torch.Tensor | None
) -> Differences:
    """Im f(x + ih) / h at two step sizes where they differ: one on the scale of max(1, |x|)
    and one on the scale of min(1, |x|) (a function may vary on the scale of x, as 1/x near
    0 and log(x) at 1e300 do, or on a unit scale whatever x, as sin at 1e25 does), each kept
    far inside the distance to a singularity (the Taylor series of f about x converges only
    that far: 1/x's at 1e-150 reaches 1e-150). Each point keeps the trusted step with the
    smaller truncation estimate; a step is trusted where its values are finite and no
    imaginary part along the way fell below the normal range, whose absolute rounding
    (the smallest subnormal, over h) the bound of forward mode does not see. Where neither
    is trusted the entry is skipped (auto falls back to Richardson there)."""
    wrt = list(prepared.wrt)
    size = points[:, wrt].abs()
    steps = [COMPLEX_STEP * size.clamp(min=1.0)]
    unit = COMPLEX_STEP * torch.where((size > 0) & (size < 1), size, 1.0)
    # Within a factor SCALES of 1 the two scales are one for any function that matters.
    if bool(((size > 0) & ((size < 1 / SCALES) | (size > SCALES))).any()):
        steps.append(unit)
    if distance is not None:
        steps = [torch.minimum(h, SINGULARITY_ROOM * distance) for h in steps]
    estimates = [_complex_estimate(prepared, points, h) for h in steps]
    if len(estimates) == 2:
        # An imaginary part that is 0 at one step and not at the other has underflowed
        # (x**3 at 1e-140 with h = 2^-66 1e-140: 3 x^2 h is 4e-440).
        (one_a, cut_a, trusted_a, zero_a), (one_b, cut_b, trusted_b, zero_b) = estimates
        estimates = [
            (one_a, cut_a, trusted_a & ~(zero_a & ~zero_b).any(dim=0).T, zero_a),
            (one_b, cut_b, trusted_b & ~(zero_b & ~zero_a).any(dim=0).T, zero_b),
        ]
    best: Differences | None = None
    for h, (one, truncation, trusted, _) in zip(steps, estimates, strict=True):
        if best is None:
            best = Differences(
                one, truncation, h, code("complex-step", points.shape[0]), ~trusted, ~trusted
            )
            continue
        better = trusted & (best.skipped | (truncation < best.truncation))
        best.values = torch.where(better, one, best.values)
        best.truncation = torch.where(better, truncation, best.truncation)
        best.steps = torch.where(better, h, best.steps)
        best.skipped = best.skipped & ~trusted
    assert best is not None
    best.values = torch.where(best.skipped, torch.nan, best.values)
    best.limited = torch.zeros_like(best.skipped)
    return best


SCALES = 2.0**10
"""How far |x| must be from 1 before the complex step is also tried on the other scale."""

SINGULARITY_ROOM = 2.0**-27
"""The complex step relative to the distance to the nearest edge or pole: the truncation
error, relative (h / distance)^2, stays below eps."""


def _complex_estimate(
    prepared: CompiledPrepared, points: torch.Tensor, h: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The complex-step derivative with steps h (points, wrt), its truncation estimate from
    the step 2h, where it is trusted, and which op nodes' imaginary parts are exactly 0 at
    the step h (nodes, wrt, points)."""
    wrt = list(prepared.wrt)
    complex_dtype = torch.complex128 if points.dtype == torch.float64 else torch.complex64
    x = points[:, wrt].T.to(complex_dtype)
    moved = torch.stack([x + 1j * m * h.T for m in (1.0, 2.0)])  # (multiple, wrt, points)
    runs = probe_values(prepared.tape, points, wrt, moved, keep=True)
    n, w = points.shape[0], len(wrt)
    f = torch.cat([run.outputs[0] for run in runs])
    parts = f.imag.reshape(2, w, n)
    one = (parts[0] / h.T).T
    two = (parts[1] / (2 * h.T)).T
    normal = torch.finfo(points.dtype).smallest_normal
    lost = (h < normal).T.repeat(2, 1).reshape(-1)
    complex_nodes = [
        values
        for values in zip(*(run.values for run in runs), strict=True)
        if isinstance(values[0], torch.Tensor) and values[0].is_complex()
    ]
    zeros = torch.zeros(0, w, n, dtype=torch.bool)
    if complex_nodes:
        # Every node's imaginary part at once, (nodes, probes), each node's chunks joined:
        # a few torch calls, not a few per node.
        imaginary = torch.stack(
            [
                torch.cat(
                    [v.imag.expand(r.outputs[0].shape) for v, r in zip(values, runs, strict=True)]
                )
                for values in complex_nodes
            ]
        ).abs()
        lost = lost | ((imaginary > 0) & (imaginary < normal)).any(dim=0)
        zeros = (imaginary == 0).reshape(-1, 2, w, n)[:, 0]
    trusted = ~lost.reshape(2, w, n).any(dim=0).T & one.isfinite() & two.isfinite()
    return one, (one - two).abs() / 3, trusted, zeros


def _one_sided_differences(prepared: CompiledPrepared, points: torch.Tensor) -> Differences:
    """Second-order one-sided differences, D(s) = (-3 f(x) + 4 f(x+s) - f(x+2s)) / 2s, into
    whichever side of the point the function is defined on: for points on a domain edge.
    Near an edge the function need not be smooth (x**1.5 at 0), so the error estimate does
    not assume the order: it measures it from D(h), D(2h), D(4h)."""
    wrt = list(prepared.wrt)
    x = points[:, wrt]
    h = eps(points.dtype) ** (1 / 3) * x.abs().clamp(min=1.0)
    h = (x + h) - x
    best: Differences | None = None
    for side in (1.0, -1.0):
        moved = torch.stack([x.T + side * m * h.T for m in (0.0, 1.0, 2.0, 4.0, 8.0)])
        f = probe_values(prepared.tape, points, wrt, moved)
        f = f.reshape(5, len(wrt), points.shape[0]).transpose(1, 2)  # (multiple, point, wrt)
        s = side * h
        levels = [
            (-3 * f[0] + 4 * f[i] - f[j]) / (2 * m * s)
            for i, j, m in ((1, 2, 1), (2, 3, 2), (3, 4, 4))
        ]
        step1, step2 = (levels[0] - levels[1]).abs(), (levels[1] - levels[2]).abs()
        order = torch.log2(step2 / step1).nan_to_num(2.0).clamp(0.25, 2.0)
        truncation = torch.where(step1 == 0, 0.0, step1 / (2**order - 1))
        ok = f.isfinite().all(dim=0)
        found = Differences(
            levels[0], truncation, h, code("one-sided", points.shape[0]), ~ok, torch.zeros_like(ok)
        )
        if best is None:
            best = found
        else:
            use = best.skipped & ok
            for name in ("values", "truncation", "skipped"):
                getattr(best, name)[use] = getattr(found, name)[use]
    assert best is not None
    best.values[best.skipped] = torch.nan
    return best


def _differences(prepared: CompiledPrepared, points: torch.Tensor) -> Differences:
    edges = None
    if prepared.edged:
        edges = edges_at(prepared.tape, points, prepared.wrt)
        edges = edges if edges.gaps else None
    distance = edges.distance() if edges is not None else None
    if prepared.scheme != "complex-step":
        result = central(prepared, points, prepared.scheme, distance)
    else:
        result = _complex_step(prepared, points, distance)
        failed = ~result.values.isfinite().all(dim=1)
        if prepared.auto and bool(failed.any()):
            rows = failed.nonzero().flatten()
            part = None if distance is None else distance[rows]
            _merge(result, rows, central(prepared, points[rows], "richardson", part))
    with torch.no_grad():
        (f,) = prepared.tape.run(columns(points)).outputs
    # The complex extension exists where the real function does not (log at -1): a
    # difference of an undefined function is undefined.
    result.values[~f.isfinite()] = torch.nan
    if edges is not None:
        rows = edges.on_edge().nonzero().flatten()
        if rows.numel():
            _merge(result, rows, _one_sided_differences(prepared, points[rows]))
    return result


def _merge(result: Differences, rows: torch.Tensor, other: Differences) -> None:
    for name in ("values", "truncation", "steps", "skipped", "limited", "schemes"):
        getattr(result, name)[rows] = getattr(other, name)


def _first_partials(prepared: CompiledPrepared, points: torch.Tensor) -> tuple[torch.Tensor, Check]:
    """The partials of the prepared tape's one output by each wrt variable, shape
    (points, wrt), with their bounds."""
    d = _differences(prepared, points)
    complex_rows = (d.schemes == SCHEMES.index("complex-step"))[:, None]
    rounding = torch.zeros_like(d.values)
    if bool(complex_rows.any()):
        rounding = torch.where(complex_rows, ad_bound(prepared, points), rounding)
    if not bool(complex_rows.all()):
        factors = torch.tensor([ROUNDING.get(name, 0.0) for name in SCHEMES], dtype=points.dtype)
        real = factors[d.schemes][:, None] * tape_bound(prepared.tape, points) / d.steps
        rounding = torch.where(complex_rows, rounding, real)
    bound = FD_SAFETY * (d.truncation + rounding)

    def note(i: int) -> str:
        scheme = SCHEMES[int(d.schemes[i])]
        text = f"{scheme}, h = {', '.join(f'{h:.2g}' for h in d.steps[i].tolist())}"
        if bool(d.skipped[i].any()):
            return text + (
                "; no step fits between the point and a kink or domain edge, or no step "
                "size converges"
            )
        if scheme == "one-sided":
            return text + " (the point is on a kink or domain edge)"
        if bool(d.limited[i].any()):
            return text + " (shortened to stay clear of a kink or domain edge)"
        return text

    return d.values, Check(bound, d.skipped, note)


# -- the target's entries, combined from partials ---------------------------------------------


_last = threading.local()
"""Per thread: the check of the last evaluate(), which computes it with the values, so the
check() of the same batch that follows does not difference everything again."""


def evaluate(prepared: CompiledPrepared, points: torch.Tensor) -> torch.Tensor:
    values, checked = evaluate_checked(prepared, points)
    _last.result = (prepared, points, values, checked)
    return values


def check(prepared: CompiledPrepared, points: torch.Tensor, values: torch.Tensor) -> Check:
    last = getattr(_last, "result", None)
    _last.result = None
    if last is not None and last[0] is prepared and last[1] is points and last[2] is values:
        return last[3]  # type: ignore[no-any-return]
    return evaluate_checked(prepared, points)[1]


Partial = tuple[int, tuple[int, ...]]  # (output, the variable positions, sorted)


def values(prepared: CompiledPrepared, points: torch.Tensor) -> torch.Tensor:
    """The entries' values without their bounds (to see where they are finite): for first
    derivatives the differences alone, skipping the rounding bound's backward passes."""
    if prepared.target.order != 1:
        return evaluate_checked(prepared, points)[0]
    entries = prepared.target.entries
    wrt = list(prepared.wrt)
    found: dict[Partial, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}
    for k in sorted({k for e in entries for _, k, _ in e.partials()}):
        d = _differences(prepared.output(k), points)
        for c, j in enumerate(wrt):
            found[(k, (j,))] = (d.values[:, c], d.truncation[:, c], d.skipped[:, c])
    return _combine(entries, found, points, [])[0]


def evaluate_checked(
    prepared: CompiledPrepared, points: torch.Tensor
) -> tuple[torch.Tensor, Check]:
    """Every entry of the target, shape (points, entries), with its bound: each partial the
    entries need is differenced once, and each entry combines them with its coefficients
    (its bound with their absolute values)."""
    entries = prepared.target.entries
    needed = sorted({(k, tuple(sorted(by))) for e in entries for _, k, by in e.partials()})
    found: dict[Partial, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}
    notes: list[Callable[[int], str]] = []
    if prepared.target.order == 1:
        wrt = list(prepared.wrt)
        for k in sorted({k for k, _ in needed}):
            values, checked = _first_partials(prepared.output(k), points)
            notes.append(checked.note)
            for c, j in enumerate(wrt):
                found[(k, (j,))] = (values[:, c], checked.bound[:, c], checked.skipped[:, c])
    else:
        for partial in needed:
            values, checked = _higher_partial(prepared, points, partial)
            notes.append(checked.note)
            found[partial] = (values, checked.bound, checked.skipped)
    return _combine(entries, found, points, notes)


def _combine(
    entries: Sequence[Entry],
    found: dict[Partial, tuple[torch.Tensor, torch.Tensor, torch.Tensor]],
    points: torch.Tensor,
    notes: list[Callable[[int], str]],
) -> tuple[torch.Tensor, Check]:
    n = points.shape[0]
    values = torch.zeros(n, len(entries), dtype=points.dtype)
    bound = torch.zeros_like(values)
    skipped = torch.zeros_like(values, dtype=torch.bool)
    for column, entry in enumerate(entries):
        for coefficient, k, by in entry.partials():
            value, partial_bound, partial_skipped = found[(k, tuple(sorted(by)))]
            values[:, column] += coefficient * value
            bound[:, column] += abs(coefficient) * partial_bound
            skipped[:, column] |= partial_skipped

    def note(i: int) -> str:
        said = [text for text in dict.fromkeys(n(i) for n in notes) if text]
        return "; ".join(said[:2]) + ("; ..." if len(said) > 2 else "")

    return values, Check(bound, skipped, note)


# -- higher partial derivatives ----------------------------------------------------------------


def _higher_partial(
    prepared: CompiledPrepared, points: torch.Tensor, partial: Partial
) -> tuple[torch.Tensor, Check]:
    """One partial derivative of order n >= 2 of one output, by the product of central
    differences along each of its variables (Richardson on top unless the scheme is
    central), with the step chosen from STEP_SCALES as for first derivatives."""
    k, by = partial
    single = prepared.output(k)
    tape = single.tape
    name = "central" if prepared.scheme == "central" else "richardson"
    n = len(by)
    used = sorted(set(by))
    x = points[:, used]
    e = eps(points.dtype)
    power = 1 / (n + 2) if name == "central" else 1 / (n + 4)
    multiples = (1.0, 2.0, 4.0) if name == "central" else (1.0, 2.0, 4.0, 8.0)
    default = e**power * x.abs().clamp(min=1.0)
    h = default
    on_edge = torch.zeros(points.shape[0], dtype=torch.bool)
    limited = torch.zeros_like(on_edge)
    room = None
    if single.edged:
        edges = find_edges(tape, columns(points, True), used, points.dtype)
        if edges.gaps:
            room = edges.distance()
            cap = room / (2 * n * multiples[-1])
            limited = (cap < h).any(dim=1)
            h = torch.minimum(h, cap)
            on_edge = edges.on_edge()
    skipped = on_edge | ~(((x + h) - x) > 4 * e * x.abs()).all(dim=1)
    h = torch.where(skipped[:, None], default, h)
    function_bound = tape_bound(tape, points)[:, 0]
    gradient = gradient_target(len(tape.variables), used)
    at_point, slope = value_and_slope(replace(single, target=gradient), points)
    signs = list(itertools.product((1.0, -1.0), repeat=n))
    weights = torch.tensor([math.prod(s) for s in signs], dtype=points.dtype)
    tried: Tried = []
    for scale, anchor in ladder(x, h, power, room, n * multiples[-1]):
        step = (x + anchor * scale) - x
        step = torch.where(step > 4 * e * x.abs(), step, h)
        levels, largest = [], torch.zeros_like(function_bound)
        spread, misplaced = torch.zeros_like(function_bound), torch.zeros_like(function_bound)
        for m in multiples:
            probes = []
            for s in signs:
                probe = points.clone()
                intended = points.double().clone()  # .double() of float64 is points itself
                for sign, j in zip(s, by, strict=True):
                    c = used.index(j)
                    probe[:, j] = probe[:, j] + sign * m * step[:, c]
                    intended[:, j] = intended[:, j] + sign * m * step[:, c].double()
                # A probe the dtype cannot place exactly moves f by about its slope times
                # the miss, which the stencil divides by prod(2h) like any rounding.
                miss = (probe.double() - intended)[:, used].abs().to(points.dtype)
                misplaced = torch.maximum(misplaced, (slope * miss).sum(dim=1))
                probes.append(probe)
            with torch.no_grad():
                (f,) = tape.run(columns(torch.cat(probes))).outputs
            f = f.reshape(len(signs), -1)
            spread = torch.maximum(spread, (f - at_point).abs().amax(dim=0))
            width = torch.ones_like(function_bound)
            for j in by:
                width = width * (2 * m * step[:, used.index(j)])
            levels.append((weights[:, None] * f).sum(dim=0) / width)
            largest = torch.maximum(largest, f.abs().amax(dim=0))
        if name == "richardson":
            levels = [(4 * levels[i] - levels[i + 1]) / 3 for i in range(len(levels) - 1)]
        # The error estimate credits at most second order, Richardson or not: three levels
        # of a stencil with 2^n noisy probes rarely show the h^4 regime, and an order
        # measured too high divides the estimate by 15 where 3 is owed (float32 Hessians).
        truncation = truncation_estimate(levels[0], levels[1], levels[2], 2.0)
        first = torch.ones_like(function_bound)
        for j in by:
            first = first * (2 * step[:, used.index(j)])
        # Every probe is rounded: the stencil's weights sum to 2^n / prod(2h) in absolute
        # value (5/3 of that after Richardson).
        noise = torch.maximum(function_bound, SAFETY * e * largest) + SAFETY * misplaced
        rounding = (2**n / first) * noise
        if name == "richardson":
            rounding = rounding * 5 / 3
        # As for first derivatives: a stencil across which f changes by less than half of
        # what its slope predicts has not resolved the function.
        unresolved = (slope * step).sum(dim=1) * multiples[-1] > 2 * spread
        total = torch.where(unresolved, math.inf, (truncation + rounding).nan_to_num(math.inf))
        estimate = torch.where(unresolved, torch.nan, levels[0])
        tried.append((estimate, truncation, step[:, 0], total))
    values, _, chosen, total, confirmed = choose(tried)
    skipped = skipped | ~confirmed
    values = torch.where(skipped, torch.nan, values)
    bound = FD_SAFETY * total

    def note(i: int) -> str:
        text = f"{name} stencil of order {n}, h = {float(chosen[i]):.2g}"
        if bool(on_edge[i]):
            return text + "; the point is on a kink or domain edge, where no stencil fits"
        if bool(skipped[i]):
            return text + "; no step size converges"
        if bool(limited[i]):
            return text + " (shortened to stay clear of a kink or domain edge)"
        return text

    return values, Check(bound, skipped, note)


def probe_steps(points: torch.Tensor) -> torch.Tensor:
    """The one-sided difference step per point and variable, eps^(1/2) max(1, |x|), made
    exactly representable: where the error of (f(x+h) - f(x))/h is smallest."""
    raw = eps(points.dtype) ** 0.5 * points.abs().clamp(min=1.0)
    steps: torch.Tensor = (points + raw) - points
    return steps


def one_sided(
    tape: Tape, point: Sequence[float], k: int, dtype: torch.dtype
) -> tuple[float, float]:
    """The backward and forward difference quotients of the tape's expression at `point`
    along variable k, in `dtype`."""
    x = torch.tensor([list(point)], dtype=dtype)
    h = probe_steps(x)[0, k]
    batch = x.repeat(3, 1)
    batch[0, k] -= h
    batch[2, k] += h
    with torch.no_grad():
        (f,) = tape.run(columns(batch)).outputs
    return float((f[1] - f[0]) / h), float((f[2] - f[1]) / h)
