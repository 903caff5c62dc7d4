"""Finite differences on the compiled problem: what a numerical gradient check sees.

First derivatives, three schemes:
  central: (f(x+h) - f(x-h)) / 2h, h = eps^(1/3) max(1, |x|); truncation estimated from the
    step 2h (D(h) - D(2h) ~ -3 c h^2), rounding as the function's running bound over h.
  richardson: central differences at h, 2h, 4h extrapolated, R = (4 D(h) - D(2h)) / 3 with
    error ~ c h^4, h = eps^(1/5) max(1, |x|); truncation from the next level,
    |R(h) - R(2h)| / 15; rounding 1.5 times the running bound over h.
  complex-step: Im f(x + ih) / h with h = 2^-66 max(1, |x|), no cancellation at all; its
    rounding is that of forward-mode differentiation, which the autodiff bound models.
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
differenced once, output by output, and the entry and its bound are combined from them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import torch

from .autodiff import ad_bound
from .compiler import Tape
from .edges import find_edges
from .error_model import SAFETY, eps
from .method_types import Check, CompiledPrepared, columns, tape_bound
from .targets import Entry, gradient_target

FD_SAFETY = 2.0
"""Headroom over the finite-difference error estimate for the terms beyond the leading one."""


@dataclass(frozen=True)
class _Scheme:
    power: float  # h = eps^power * max(1, |x|)
    multiples: tuple[float, ...]  # the steps taken, in units of h
    rounding: float  # the rounding error, in units of the function's bound over h
    order: float  # the truncation error is c h^order when h is small enough


SCHEMES = ("central", "richardson", "complex-step", "one-sided")


def _code(name: str, count: int) -> torch.Tensor:
    return torch.full((count,), SCHEMES.index(name), dtype=torch.long)


_REAL_SCHEMES = {
    "central": _Scheme(1 / 3, (1.0, 2.0, 4.0), 1.0, 2.0),
    "richardson": _Scheme(1 / 5, (1.0, 2.0, 4.0, 8.0), 1.5, 4.0),
}

_ROUNDING = {"one-sided": 4.0, **{n: s.rounding for n, s in _REAL_SCHEMES.items()}}
"""The rounding error of each real scheme, in units of the function's bound over h."""

COMPLEX_STEP = 2.0**-66
"""The complex step relative to max(1, |x|): far below any truncation error that matters."""


@dataclass
class _Differences:
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


def _central(
    prepared: CompiledPrepared, points: torch.Tensor, name: str, distance: torch.Tensor | None
) -> _Differences:
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
    at_point, slope = _value_and_slope(prepared, points)
    tried: Tried = []
    for scale in STEP_SCALES:
        step = (x + h * scale) - x  # an exactly representable step
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
    values, truncation, step, _, confirmed = _choose(tried)
    skipped = skipped | ~confirmed
    values = torch.where(skipped, torch.nan, values)
    return _Differences(values, truncation, step, _code(name, points.shape[0]), skipped, limited)


Tried = list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]


def _choose(
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


def _value_and_slope(
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
    probes = []
    for m in scheme.multiples:
        for sign in (1.0, -1.0):
            for k, j in enumerate(wrt):
                probe = points.clone()
                probe[:, j] = points[:, j] + sign * m * h[:, k]
                probes.append(probe)
    batch = torch.cat(probes)
    with torch.no_grad():
        (f,) = prepared.tape.run(columns(batch)).outputs
    n, w = points.shape[0], len(wrt)
    f = f.reshape(len(scheme.multiples), 2, w, n)
    at = batch.reshape(len(scheme.multiples), 2, w, n, -1)
    diffs = []
    for i in range(len(scheme.multiples)):
        # The true width between the probes, so a probe's rounding does not bias the step.
        width = torch.stack([at[i, 0, k, :, j] - at[i, 1, k, :, j] for k, j in enumerate(wrt)])
        diffs.append(((f[i, 0] - f[i, 1]) / width).T)
    if name == "richardson":
        diffs = [(4 * diffs[i] - diffs[i + 1]) / 3 for i in range(3)]
    largest = f.abs().amax(dim=(0, 1)).T  # (points, wrt)
    spread = (f - at_point).abs().amax(dim=(0, 1)).T
    return diffs[0], _truncation(diffs[0], diffs[1], diffs[2], scheme.order), largest, spread


def _truncation(
    at_h: torch.Tensor, at_2h: torch.Tensor, at_4h: torch.Tensor, order: float
) -> torch.Tensor:
    """The error of the estimate at h, from its change between steps h, 2h and 4h.

    With error c h^p, the estimates at h and 2h differ by c h^p (2^p - 1). The order p is
    measured from the two changes rather than assumed: a step too large for the function
    (near a pole, say) shows a lower order, and the estimate grows accordingly."""
    near, far = (at_h - at_2h).abs(), (at_2h - at_4h).abs()
    measured = torch.log2(far / near).nan_to_num(order, posinf=order).clamp(0.5, order)
    return torch.where(near == 0, torch.zeros_like(near), near / (2**measured - 1))


def _complex_step(prepared: CompiledPrepared, points: torch.Tensor) -> _Differences:
    wrt = list(prepared.wrt)
    complex_dtype = torch.complex128 if points.dtype == torch.float64 else torch.complex64
    h = COMPLEX_STEP * points[:, wrt].abs().clamp(min=1.0)
    probes = []
    for m in (1.0, 2.0):
        for k, j in enumerate(wrt):
            probe = points.to(complex_dtype)
            probe[:, j] = probe[:, j] + 1j * m * h[:, k]
            probes.append(probe)
    with torch.no_grad():
        (f,) = prepared.tape.run(columns(torch.cat(probes))).outputs
    n, w = points.shape[0], len(wrt)
    parts = f.imag.reshape(2, w, n)
    one = (parts[0] / h.T).T
    two = (parts[1] / (2 * h.T)).T
    skipped = torch.zeros_like(one, dtype=torch.bool)
    return _Differences(one, (one - two).abs() / 3, h, _code("complex-step", n), skipped, skipped)


def _one_sided_differences(prepared: CompiledPrepared, points: torch.Tensor) -> _Differences:
    """Second-order one-sided differences, D(s) = (-3 f(x) + 4 f(x+s) - f(x+2s)) / 2s, into
    whichever side of the point the function is defined on: for points on a domain edge.
    Near an edge the function need not be smooth (x**1.5 at 0), so the error estimate does
    not assume the order: it measures it from D(h), D(2h), D(4h)."""
    wrt = list(prepared.wrt)
    x = points[:, wrt]
    h = eps(points.dtype) ** (1 / 3) * x.abs().clamp(min=1.0)
    h = (x + h) - x
    best: _Differences | None = None
    for side in (1.0, -1.0):
        probes = []
        for m in (0.0, 1.0, 2.0, 4.0, 8.0):
            for k, j in enumerate(wrt):
                probe = points.clone()
                probe[:, j] = points[:, j] + side * m * h[:, k]
                probes.append(probe)
        with torch.no_grad():
            (f,) = prepared.tape.run(columns(torch.cat(probes))).outputs
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
        found = _Differences(
            levels[0], truncation, h, _code("one-sided", points.shape[0]), ~ok, torch.zeros_like(ok)
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


def _differences(prepared: CompiledPrepared, points: torch.Tensor) -> _Differences:
    edges = None
    if prepared.edged:
        edges = find_edges(prepared.tape, columns(points, True), list(prepared.wrt), points.dtype)
        edges = edges if edges.gaps else None
    distance = edges.distance() if edges is not None else None
    if prepared.scheme != "complex-step":
        result = _central(prepared, points, prepared.scheme, distance)
    else:
        result = _complex_step(prepared, points)
        failed = ~result.values.isfinite().all(dim=1)
        if prepared.auto and bool(failed.any()):
            rows = failed.nonzero().flatten()
            part = None if distance is None else distance[rows]
            _merge(result, rows, _central(prepared, points[rows], "richardson", part))
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


def _merge(result: _Differences, rows: torch.Tensor, other: _Differences) -> None:
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
        factors = torch.tensor([_ROUNDING.get(name, 0.0) for name in SCHEMES], dtype=points.dtype)
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


def evaluate(prepared: CompiledPrepared, points: torch.Tensor) -> torch.Tensor:
    return evaluate_checked(prepared, points)[0]


def check(prepared: CompiledPrepared, points: torch.Tensor, values: torch.Tensor) -> Check:
    return evaluate_checked(prepared, points)[1]


Partial = tuple[int, tuple[int, ...]]  # (output, the variable positions, sorted)


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
    if single.edged:
        edges = find_edges(tape, columns(points, True), used, points.dtype)
        if edges.gaps:
            cap = edges.distance() / (2 * n * multiples[-1])
            limited = (cap < h).any(dim=1)
            h = torch.minimum(h, cap)
            on_edge = edges.on_edge()
    skipped = on_edge | ~(((x + h) - x) > 4 * e * x.abs()).all(dim=1)
    h = torch.where(skipped[:, None], default, h)
    function_bound = tape_bound(tape, points)[:, 0]
    gradient = gradient_target(len(tape.variables), used)
    at_point, slope = _value_and_slope(replace(single, target=gradient), points)
    signs = list(itertools.product((1.0, -1.0), repeat=n))
    weights = torch.tensor([math.prod(s) for s in signs], dtype=points.dtype)
    tried: Tried = []
    for scale in STEP_SCALES:
        step = (x + h * scale) - x
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
        truncation = _truncation(levels[0], levels[1], levels[2], 2.0)
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
    values, _, chosen, total, confirmed = _choose(tried)
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
