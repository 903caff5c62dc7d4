"""The three derivative paths, one signature each, in one mapping.

Each method has `prepare(problem, wrt, settings)` (derive or compile: done once),
`evaluate(prepared, points)` (the timed part: a batch of points in one torch pass) and
`check(prepared, points, values)`: the error its own model allows at each point, with a note
per point where the method has something to say.

- symbolic and autograd: the running error bound of error_model. For autograd the result is
  the gradient, so the sensitivities come from differentiating the backward pass
  (create_graph).
- finite differences, three schemes:
  central: (f(x+h) - f(x-h)) / 2h, h = eps^(1/3) max(1, |x|); truncation estimated from the
    step 2h (D(h) - D(2h) ~ -3 c h^2), rounding as the function's running bound over h.
  richardson: central differences at h, 2h, 4h extrapolated, R = (4 D(h) - D(2h)) / 3 with
    error ~ c h^4, h = eps^(1/5) max(1, |x|); truncation from the next level,
    |R(h) - R(2h)| / 15; rounding 1.5 times the running bound over h.
  complex-step: Im f(x + ih) / h with h = 2^-66 max(1, |x|), no cancellation at all; its
    rounding is that of forward-mode differentiation, which the autograd bound models.
  Near a kink or a domain edge the step shrinks so the probes stay on one side of it.
  "auto" takes complex-step when every op of the expression is analytic (the op table's
  complex_step), else Richardson; a point where complex-step gives no finite value falls
  back to Richardson.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import sympy
import torch

from .compiler import Tape, apply_node, compile_exprs, compile_problem
from .edges import find_edges, has_edges
from .error_model import SAFETY, eps, running_bound, sensitivity
from .errors import UsageError
from .problem import Problem
from .symbolic import SIMPLIFY_SECONDS, Gradient, gradient

FD_SAFETY = 2.0
"""Headroom over the finite-difference error estimate for the terms beyond the leading one."""

FD_SCHEMES = ("auto", "central", "richardson", "complex-step")

DTYPES: Mapping[str, torch.dtype] = MappingProxyType(
    {"float64": torch.float64, "float32": torch.float32}
)


@dataclass(frozen=True)
class Settings:
    """How to run the torch paths: the dtype, and the finite-difference scheme."""

    dtype: torch.dtype = torch.float64
    fd: str = "auto"
    simplify_seconds: float = SIMPLIFY_SECONDS  # for the derivative shown and evaluated

    def __post_init__(self) -> None:
        if self.fd not in FD_SCHEMES:
            raise UsageError(f"--fd {self.fd}: not a scheme (choose from {', '.join(FD_SCHEMES)})")
        if self.dtype not in DTYPES.values():
            raise UsageError(f"dtype {self.dtype}: choose float64 or float32")


def _no_note(i: int) -> str:
    return ""


@dataclass(frozen=True)
class Check:
    """A method's account of its values: the bound its error model allows at each point,
    shape (points, wrt); which entries it could not compute (`skipped`); and `note(i)`, what
    it has to say about point i ('' when nothing: why it skipped, which scheme and step)."""

    bound: torch.Tensor
    skipped: torch.Tensor
    note: Callable[[int], str] = _no_note

    def subset(self, rows: Sequence[int]) -> Check:
        rows = list(rows)
        return Check(self.bound[rows], self.skipped[rows], lambda i: self.note(rows[i]))


def columns(points: torch.Tensor, requires_grad: bool = False) -> list[torch.Tensor]:
    """Points of shape (points, variables) as one tensor per variable, for Tape.run."""
    return [
        points[:, j].detach().clone().requires_grad_(requires_grad) for j in range(points.shape[1])
    ]


def tape_bound(tape: Tape, points: torch.Tensor) -> torch.Tensor:
    """The running error bound of each of the tape's own outputs, shape (points, outputs)."""
    run = tape.run(columns(points, requires_grad=True), keep=True, track_constants=True)
    scales = sensitivity(run.outputs, [*run.intermediates, *run.constants])
    values = torch.stack(run.outputs, dim=1).detach()
    relative = torch.stack([s[0] for s in scales], dim=1)
    absolute = torch.stack([s[1] for s in scales], dim=1)
    return running_bound(values, (relative, absolute), points.dtype)


def _quiet(points: torch.Tensor, bound: torch.Tensor) -> Check:
    return Check(bound, torch.zeros_like(bound, dtype=torch.bool))


# -- symbolic: SymPy's derivative formulas, evaluated in floating point ----------------------


@dataclass(frozen=True)
class SymbolicPrepared:
    gradient: Gradient
    tape: Tape


def _symbolic_prepare(
    problem: Problem, wrt: tuple[sympy.Symbol, ...], settings: Settings
) -> SymbolicPrepared:
    grad = gradient(problem, wrt, settings.simplify_seconds)
    return SymbolicPrepared(grad, compile_exprs(grad.shown, problem.variables))


def _symbolic_evaluate(prepared: SymbolicPrepared, points: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        outputs = prepared.tape.run(columns(points)).outputs
    return torch.stack(outputs, dim=1)


def _symbolic_check(
    prepared: SymbolicPrepared, points: torch.Tensor, values: torch.Tensor
) -> Check:
    return _quiet(points, tape_bound(prepared.tape, points))


# -- autograd: torch's reverse mode on the compiled expression -------------------------------


@dataclass(frozen=True)
class CompiledPrepared:
    tape: Tape
    wrt: tuple[int, ...]  # positions of the wrt variables among the problem's variables
    scheme: str = "central"  # the finite-difference scheme, resolved from Settings.fd
    auto: bool = False  # whether the scheme was chosen automatically (and may fall back)
    edged: bool = False  # whether the expression has kinks or domain edges


def _compiled_prepare(
    problem: Problem, wrt: tuple[sympy.Symbol, ...], settings: Settings
) -> CompiledPrepared:
    tape = compile_problem(problem)
    positions = tuple(problem.variables.index(v) for v in wrt)
    rough = sorted({n.op.name for n in tape.nodes if n.op is not None and not n.op.complex_step})
    scheme = settings.fd
    if scheme == "auto":
        scheme = "richardson" if rough else "complex-step"
    elif scheme == "complex-step" and rough:
        raise UsageError(
            f"--fd complex-step: {', '.join(rough)} cannot take complex numbers analytically; "
            "use --fd central or --fd richardson"
        )
    return CompiledPrepared(tape, positions, scheme, settings.fd == "auto", has_edges(tape))


def _autograd(
    prepared: CompiledPrepared, points: torch.Tensor, *, create_graph: bool
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """The gradient at each point, and (with create_graph) the values it was computed from:
    the op nodes and the rounded constants."""
    inputs = columns(points, requires_grad=True)
    run = prepared.tape.run(inputs, keep=create_graph, track_constants=create_graph)
    targets = [inputs[j] for j in prepared.wrt]
    (out,) = run.outputs
    if not out.requires_grad:  # the expression does not depend on any variable
        return [torch.zeros_like(t) for t in targets], []
    # The points are independent, so the gradient of the sum is every point's gradient.
    grads = torch.autograd.grad(out.sum(), targets, allow_unused=True, create_graph=create_graph)
    return (
        [g if g is not None else torch.zeros_like(t) for g, t in zip(grads, targets, strict=True)],
        [*run.intermediates, *run.constants],
    )


def _autograd_evaluate(prepared: CompiledPrepared, points: torch.Tensor) -> torch.Tensor:
    grads, _ = _autograd(prepared, points, create_graph=False)
    return torch.stack([g.detach() for g in grads], dim=1)


_last_gradient_bound: list[tuple[CompiledPrepared, torch.Tensor, torch.Tensor]] = []


def _gradient_bound(prepared: CompiledPrepared, points: torch.Tensor) -> torch.Tensor:
    """The autograd bound, which complex-step shares: remembered for the last batch, so a
    sweep that checks both methods on one batch computes it once."""
    if _last_gradient_bound:
        seen, at, bound = _last_gradient_bound[0]
        if at is points and seen.wrt == prepared.wrt and seen.tape == prepared.tape:
            return bound
    bound = _compute_gradient_bound(prepared, points)
    _last_gradient_bound[:] = [(prepared, points, bound)]
    return bound


def _compute_gradient_bound(prepared: CompiledPrepared, points: torch.Tensor) -> torch.Tensor:
    grads, values = _autograd(prepared, points, create_graph=True)
    scales = sensitivity(grads, values)
    relative = torch.stack([s[0] for s in scales], dim=1)
    absolute = torch.stack([s[1] for s in scales], dim=1)
    gradient = torch.stack([g.detach() for g in grads], dim=1)
    relative = relative + _backward_terms(prepared, points)
    return running_bound(gradient, (relative, absolute), points.dtype)


def _dual(primal: torch.Tensor, tangent: torch.Tensor) -> torch.Tensor:
    import torch.autograd.forward_ad as fwad

    dual: torch.Tensor = fwad.make_dual(primal, tangent)  # type: ignore[no-untyped-call]
    return dual


def _tangent(value: torch.Tensor) -> torch.Tensor | None:
    import torch.autograd.forward_ad as fwad

    tangent: torch.Tensor | None = fwad.unpack_dual(value).tangent  # type: ignore[no-untyped-call]
    return tangent


def _backward_terms(prepared: CompiledPrepared, points: torch.Tensor) -> torch.Tensor:
    """The rounding of the backward pass itself: each op's backward computes its local
    derivatives afresh (sinh's backward evaluates cosh) and multiplies them into the
    adjoint, so the contribution adj(a) * da/du * du/dx_k of every edge u -> a is rounded.
    Returns sum over edges of |that contribution|, shape (points, wrt): the scale, beside
    the forward intermediates', of the gradient's rounding error. cosh(x) + sinh(x) at
    x = -2.25 needs it: the gradient 0.105 is a sum of terms of size 4.8 that cancel."""
    import torch.autograd.forward_ad as fwad

    tape = prepared.tape
    inputs = columns(points, requires_grad=True)
    run = tape.run(inputs, keep=True)
    (out,) = run.outputs
    n = points.shape[0]
    total = torch.zeros(n, len(prepared.wrt), dtype=points.dtype)
    op_nodes = [i for i, node in enumerate(tape.nodes) if node.op is not None]
    if not out.requires_grad or not op_nodes:
        return total
    tracked = [i for i in op_nodes if run.values[i].requires_grad]
    adjoints = dict(
        zip(
            tracked,
            torch.autograd.grad(out.sum(), [run.values[i] for i in tracked], allow_unused=True),
            strict=True,
        )
    )
    plain = [v.detach() if isinstance(v, torch.Tensor) else v for v in run.values]
    for k, j in enumerate(prepared.wrt):
        # Note: forward AD loads torch's jvp decompositions on first use, which warns that
        # torch.jit.script is deprecated: torch's own business, not the user's.
        with warnings.catch_warnings(), fwad.dual_level():
            warnings.simplefilter("ignore", DeprecationWarning)
            duals = [
                _dual(t.detach(), torch.ones_like(t) if i == j else torch.zeros_like(t))
                for i, t in enumerate(inputs)
            ]
            tangents = [
                _tangent(v) if isinstance(v, torch.Tensor) else None
                for v in tape.run(duals, keep=True).values
            ]
            for i in tracked:
                adjoint = adjoints[i]
                if adjoint is None:
                    continue
                node = tape.nodes[i]
                for position, arg in enumerate(node.args):
                    tangent = tangents[arg]
                    if tangent is None:
                        continue
                    args = list(plain[a] for a in node.args)
                    args[position] = _dual(plain[arg], tangent)
                    local = _tangent(apply_node(node, args, inputs[0]))
                    if local is not None:
                        total[:, k] += (adjoint.detach() * local).abs().expand(n)
    return total


def _autograd_check(
    prepared: CompiledPrepared, points: torch.Tensor, values: torch.Tensor
) -> Check:
    return _quiet(points, _gradient_bound(prepared, points))


# -- finite differences ----------------------------------------------------------------------


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
    tried = []
    for scale in STEP_SCALES:
        step = (x + h * scale) - x  # an exactly representable step
        if scale != 1.0:
            step = torch.where(step > 4 * e * x.abs(), step, h)
        values, truncation, largest = _estimate(prepared, points, scheme, name, step)
        # The function is rounded at the probes, not at the point: where it vanishes at
        # the point (tan(x + y) at x = -y) its bound there says nothing of the probes'.
        # What the probes add beyond the point's own bound is carried in the truncation
        # term, so the check's rounding term (the point's bound over h) stays as it is.
        probe_bound = SAFETY * e * largest
        truncation = (
            truncation + scheme.rounding * (probe_bound - function_bound).clamp(min=0) / step
        )
        rounding = scheme.rounding * function_bound / step
        tried.append((values, truncation, step, (truncation + rounding).nan_to_num(math.inf)))
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
    confirmed = torch.zeros_like(skipped)
    for other, _, other_step, other_total in tried:
        close = (values - other).abs() <= total + other_total
        confirmed |= close & (other_step != step)
    skipped = skipped | ~confirmed
    values = torch.where(skipped, torch.nan, values)
    return _Differences(values, truncation, step, _code(name, points.shape[0]), skipped, limited)


def _estimate(
    prepared: CompiledPrepared, points: torch.Tensor, scheme: _Scheme, name: str, h: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The scheme's derivative estimate with steps h (points, wrt), its truncation error, and
    the largest |f| among its probes."""
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
    return diffs[0], _truncation(diffs[0], diffs[1], diffs[2], scheme.order), largest


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


def _fd_evaluate(prepared: CompiledPrepared, points: torch.Tensor) -> torch.Tensor:
    return _differences(prepared, points).values


def _fd_check(prepared: CompiledPrepared, points: torch.Tensor, values: torch.Tensor) -> Check:
    return _fd_evaluate_checked(prepared, points)[1]


def _fd_evaluate_checked(
    prepared: CompiledPrepared, points: torch.Tensor
) -> tuple[torch.Tensor, Check]:
    d = _differences(prepared, points)
    complex_rows = (d.schemes == SCHEMES.index("complex-step"))[:, None]
    rounding = torch.zeros_like(d.values)
    if bool(complex_rows.any()):
        rounding = torch.where(complex_rows, _gradient_bound(prepared, points), rounding)
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


@dataclass(frozen=True)
class Method:
    """One derivative path: how to prepare it, evaluate it, and bound its error."""

    name: str
    label: str
    prepare: Callable[[Problem, tuple[sympy.Symbol, ...], Settings], Any]
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
            "autograd", "autograd (torch)", _compiled_prepare, _autograd_evaluate, _autograd_check
        ),
        "finite_difference": Method(
            "finite_difference",
            "finite difference",
            _compiled_prepare,
            _fd_evaluate,
            _fd_check,
            _fd_evaluate_checked,
        ),
    }
)


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
