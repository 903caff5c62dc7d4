"""Automatic differentiation of the compiled problem, both ways torch offers it, and the
error bound both are held to.

- reverse mode (torch.autograd): one backward pass per seed, with `grad_outputs` the seed,
  as `y.backward(gradient=v)` runs it (a Jacobian is one backward per row with a unit
  seed); a higher derivative differentiates that backward again (create_graph=True).
- forward mode (torch.func.jvp): one pass per direction, nested for a higher derivative
  (a Jacobian is one pass per column).

The bound: to first order each op rounds its result by eps relative, in the forward pass
and in the derivative computation alike. For a first derivative, the forward values' share
is their sensitivity (one more backward, through the create_graph pass) and the derivative
computation's share the sum over the graph's edges u -> a of |adj(a) da/du du/dx|: each
such product is rounded once, in reverse mode as an adjoint contribution, in forward mode
as a tangent contribution. Higher derivatives repeat the chain rule on the chain rule: their
bound is the running bound of the unsimplified SymPy derivative, which spells out the same
sums of products.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import torch

from diffcompare.paths.compiler import Tape, apply_node
from diffcompare.paths.error_model import (
    SAFETY,
    Rounded,
    backward_rounding,
    eps,
    rounded,
    running_bound,
    sensitivity,
)
from diffcompare.paths.method_types import CompiledPrepared, columns, tape_bound
from diffcompare.paths.targets import Entry, unit

Values = list[torch.Tensor]


# -- reverse mode ----------------------------------------------------------------------------


def reverse(
    prepared: CompiledPrepared, points: torch.Tensor, *, create_graph: bool = False
) -> tuple[Values, Rounded]:
    """Every entry of the target at every point by reverse mode, each of shape (points,),
    and (with create_graph) the rounded values it was computed from, the op nodes and the
    rounded constants, with the size of each one's rounding."""
    inputs = columns(points, requires_grad=True)
    run = prepared.tape.run(inputs, keep=create_graph, track_constants=create_graph)
    wrt = list(prepared.wrt)
    targets = [inputs[j] for j in wrt]
    order = prepared.target.order
    gradients: dict[tuple[tuple[float, ...], tuple[tuple[float, ...], ...]], Values] = {}

    def gradient(seed: tuple[float, ...], taken: tuple[tuple[float, ...], ...]) -> Values:
        key = (seed, taken)
        if key not in gradients:
            deeper = create_graph or len(taken) + 1 < order
            if not taken:
                gradients[key] = seeded_gradient(run.outputs, seed, targets, deeper)
            else:
                inner = value(seed, taken)
                gradients[key] = _gradient(inner.sum(), targets, deeper)
        return gradients[key]

    def value(seed: tuple[float, ...], dirs: tuple[tuple[float, ...], ...]) -> torch.Tensor:
        g = gradient(seed, dirs[:-1])
        return _along(g, dirs[-1], wrt)

    values = [value(e.seed, e.dirs) for e in prepared.target.entries]
    return values, rounded(prepared.tape, run) if create_graph else []


def seeded_gradient(
    outputs: Sequence[torch.Tensor],
    seed: Sequence[float],
    targets: Sequence[torch.Tensor],
    create_graph: bool,
) -> Values:
    """d(sum_k seed_k outputs_k)/d target for each target: one backward pass with the seed
    as `grad_outputs`, what `y.backward(gradient=seed)` computes."""
    pairs = [(o, w) for o, w in zip(outputs, seed, strict=True) if w and o.requires_grad]
    if not pairs:
        return [torch.zeros_like(t) for t in targets]
    grads = torch.autograd.grad(
        [o for o, _ in pairs],
        list(targets),
        grad_outputs=[torch.full_like(o, w) for o, w in pairs],
        allow_unused=True,
        retain_graph=True,
        create_graph=create_graph,
    )
    return [torch.zeros_like(t) if g is None else g for g, t in zip(grads, targets, strict=True)]


def _gradient(out: torch.Tensor, targets: Sequence[torch.Tensor], create_graph: bool) -> Values:
    if not out.requires_grad:
        return [torch.zeros_like(t) for t in targets]
    grads = torch.autograd.grad(
        out, list(targets), allow_unused=True, retain_graph=True, create_graph=create_graph
    )
    return [torch.zeros_like(t) if g is None else g for g, t in zip(grads, targets, strict=True)]


def _along(gradient: Values, direction: tuple[float, ...], wrt: list[int]) -> torch.Tensor:
    total: torch.Tensor | None = None
    for k, j in enumerate(wrt):
        c = direction[j]
        if c:
            term = gradient[k] if c == 1 else c * gradient[k]
            total = term if total is None else total + term
    assert total is not None, "a direction is never zero"
    return total


def reverse_evaluate(prepared: CompiledPrepared, points: torch.Tensor) -> torch.Tensor:
    values, _ = reverse(prepared, points)
    return torch.stack([v.detach() for v in values], dim=1)


# -- forward mode ----------------------------------------------------------------------------


def forward_evaluate(prepared: CompiledPrepared, points: torch.Tensor) -> torch.Tensor:
    """Every entry by forward mode: one torch.func.jvp pass per direction (nested for a
    higher derivative), all outputs at once, combined by each entry's seed."""
    passes: dict[tuple[tuple[float, ...], ...], tuple[torch.Tensor, ...]] = {}
    columns_out = []
    for entry in prepared.target.entries:
        if entry.dirs not in passes:
            passes[entry.dirs] = nested_tangents(prepared.tape, points, entry.dirs)
        columns_out.append(_seeded(passes[entry.dirs], entry, points))
    return torch.stack(columns_out, dim=1)


def nested_tangents(
    tape: Tape, points: torch.Tensor, dirs: tuple[tuple[float, ...], ...]
) -> tuple[torch.Tensor, ...]:
    """D^n output [dirs] of every output of `tape`, by nested forward-mode passes."""
    xs = tuple(columns(points))

    def function(*args: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tape.run(list(args)).outputs

    # Note: forward AD loads torch's jvp decompositions on first use, which warns that
    # torch.jit.script is deprecated: torch's own business, not the user's.
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore", DeprecationWarning)
        nested: Callable[..., Any] = function
        for direction in dirs:
            nested = _jvp_along(nested, direction)
        result: tuple[torch.Tensor, ...] = nested(*xs)
    return result


def _jvp_along(function: Callable[..., Any], direction: tuple[float, ...]) -> Callable[..., Any]:
    def derivative(*args: torch.Tensor) -> Any:
        tangents = tuple(torch.full_like(a, c) for a, c in zip(args, direction, strict=True))
        return torch.func.jvp(function, args, tangents)[1]

    return derivative


def _seeded(outputs: Sequence[torch.Tensor], entry: Entry, points: torch.Tensor) -> torch.Tensor:
    total = torch.zeros(points.shape[0], dtype=points.dtype)
    for w, out in zip(entry.seed, outputs, strict=True):
        if w:
            total = total + w * out
    return total


# -- the bound -------------------------------------------------------------------------------

_last_bounds: list[tuple[CompiledPrepared, torch.Tensor, tuple[torch.Tensor, torch.Tensor]]] = []


def ad_bound(prepared: CompiledPrepared, points: torch.Tensor) -> torch.Tensor:
    """The bound, shape (points, entries), that reverse mode and complex-step are held to."""
    return _bounds(prepared, points)[0]


def forward_bound(prepared: CompiledPrepared, points: torch.Tensor) -> torch.Tensor:
    """Forward mode's bound: reverse mode's, and where torch's forward rule for min and max
    computes t_other + [selected] (t_self - t_other), the rounding of that difference,
    whose size is the unselected arguments' tangents too."""
    return _bounds(prepared, points)[1]


def _bounds(prepared: CompiledPrepared, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Both bounds, remembered for the last batch, so checking every method on one batch
    computes them once."""
    if _last_bounds:
        seen, at, bounds = _last_bounds[0]
        if at is points and seen.target == prepared.target and seen.tape == prepared.tape:
            return bounds
    if prepared.target.order == 1:
        bounds = _first_order_bounds(prepared, points)
    else:
        bounds = _higher_order_bounds(prepared, points)
    _last_bounds[:] = [(prepared, points, bounds)]
    return bounds


def _higher_order_bounds(
    prepared: CompiledPrepared, points: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """An n-th derivative is the first derivative of the (n-1)-th, which AD computes by
    the chain rule spelled out: its bound is the first-order bound of differentiating the
    unsimplified (n-1)-th derivative formula (so the rounding of every product the last
    level forms is counted, even where they cancel to an exact 0), and at least the
    running bound of the n-th derivative's own formula. Forward mode adds its rounding at
    min and max, as at first order, for the n-th tangents there."""
    assert prepared.formulas is not None and prepared.inner is not None
    entries = prepared.target.entries
    m = len(entries)
    last = tuple(Entry(unit(m, e), (entry.dirs[-1],)) for e, entry in enumerate(entries))
    outer = replace(prepared.target, kind="jacobian", entries=last, order=1)
    reverse_bound, forward_bound_ = _first_order_bounds(
        CompiledPrepared(prepared.inner, outer), points
    )
    own = tape_bound(prepared.formulas, points)
    reverse_bound = torch.maximum(reverse_bound, own)
    forward_bound_ = torch.maximum(forward_bound_, own)
    ties = _tie_terms(prepared, points)
    forward_bound_ = forward_bound_ + SAFETY * eps(points.dtype) * ties
    return reverse_bound, forward_bound_


def _tie_terms(prepared: CompiledPrepared, points: torch.Tensor) -> torch.Tensor:
    """Per entry: sum over the arguments u of every min and max a of |adj(a)| |D^n u|, the
    scale of forward mode's rounding in t_other + [selected] (t_self - t_other)."""
    tape = prepared.tape
    entries = prepared.target.entries
    total = torch.zeros(points.shape[0], len(entries), dtype=points.dtype)
    tied = [
        (i, u)
        for i, node in enumerate(tape.nodes)
        if node.op is not None and node.op.kink == "tie"
        for u in node.args
        if tape.nodes[u].value is None
    ]
    if not tied:
        return total
    arguments = Tape(tape.variables, tape.nodes, tuple(u for _, u in tied))
    inputs = columns(points, requires_grad=True)
    run = tape.run(inputs, keep=True)
    nodes = sorted({i for i, _ in tied})
    for column, entry in enumerate(entries):
        adjoints = dict(
            zip(
                nodes,
                seeded_gradient(run.outputs, entry.seed, [run.values[i] for i in nodes], False),
                strict=True,
            )
        )
        tangents = nested_tangents(arguments, points, entry.dirs)
        for (i, _), tangent in zip(tied, tangents, strict=True):
            total[:, column] += (adjoints[i].detach() * tangent).abs().expand(points.shape[0])
    return total


def _first_order_bounds(
    prepared: CompiledPrepared, points: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    values, tracked = reverse(prepared, points, create_graph=True)
    scales = sensitivity(values, tracked)
    edges, ties = _backward_terms(prepared, points)
    relative = torch.stack([s[0] for s in scales], dim=1) + edges
    absolute = torch.stack([s[1] for s in scales], dim=1)
    result = torch.stack([v.detach() for v in values], dim=1)
    return (
        running_bound(result, (relative, absolute), points.dtype),
        running_bound(result, (relative + ties, absolute), points.dtype),
    )


def _dual(primal: torch.Tensor, tangent: torch.Tensor) -> torch.Tensor:
    import torch.autograd.forward_ad as fwad

    dual: torch.Tensor = fwad.make_dual(primal, tangent)  # type: ignore[no-untyped-call]
    return dual


def _tangent(value: torch.Tensor) -> torch.Tensor | None:
    import torch.autograd.forward_ad as fwad

    tangent: torch.Tensor | None = fwad.unpack_dual(value).tangent  # type: ignore[no-untyped-call]
    return tangent


def _backward_terms(
    prepared: CompiledPrepared, points: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The rounding of the derivative computation itself: each op's backward computes its
    local derivatives afresh (sinh's backward evaluates cosh) and multiplies them into the
    adjoint, so the contribution adj(a) * da/du * du/dx_j of every edge u -> a is rounded,
    and relatively more where the backward formula amplifies its own roundings (the op
    table's backward_rounding: asin's 1 - x*x near ±1).
    Returns, per entry, sum over edges of |that contribution| along the entry's direction,
    with the adjoints of the entry's seed: shape (points, entries), the scale beside the
    forward intermediates' of the derivative's rounding error. cosh(x) + sinh(x) at
    x = -2.25 needs it: the derivative 0.105 is a sum of terms of size 4.8 that cancel.

    Also returns forward mode's extra scale at min and max (see forward_bound): per entry,
    the sum over their arguments of |adj(a) du/dx|, selected or not."""
    import torch.autograd.forward_ad as fwad

    tape = prepared.tape
    wrt = list(prepared.wrt)
    entries = prepared.target.entries
    n = points.shape[0]
    total = torch.zeros(n, len(entries), dtype=points.dtype)
    ties = torch.zeros_like(total)
    inputs = columns(points, requires_grad=True)
    run = tape.run(inputs, keep=True)
    tracked = [
        i
        for i, node in enumerate(tape.nodes)
        if node.op is not None and run.values[i].requires_grad
    ]
    if not tracked:
        return total, ties
    # The local derivative of every edge along every wrt variable, by forward AD.
    plain = [v.detach() if isinstance(v, torch.Tensor) else v for v in run.values]
    locals_: dict[tuple[int, int, int], torch.Tensor] = {}  # (node, argument, wrt) -> d/dx
    tied: dict[tuple[int, int, int], torch.Tensor] = {}  # the same, of min's and max's args
    amplified: dict[tuple[int, int], Any] = {}  # (node, argument) -> backward_rounding
    for k, j in enumerate(wrt):
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
                node = tape.nodes[i]
                for position, arg in enumerate(node.args):
                    tangent = tangents[arg]
                    if tangent is None:
                        continue
                    if node.op is not None and node.op.kink == "tie":
                        tied[(i, position, k)] = tangent.detach()
                    args = list(plain[a] for a in node.args)
                    args[position] = _dual(plain[arg], tangent)
                    local = _tangent(apply_node(node, args, inputs[0]))
                    if local is not None:
                        local = local.detach().abs()
                        if node.op is not None and node.op.backward_rounding is not None:
                            # With what torch's backward formula amplifies of its own
                            # roundings (asin's 1 - x*x near ±1), along the edge's tangent.
                            if (i, position) not in amplified:
                                amplified[(i, position)] = backward_rounding(
                                    node, [plain[a] for a in node.args], plain[i], position
                                )
                            along = tangent.detach().abs() * amplified[(i, position)]
                            local = local + torch.where(tangent == 0, 0.0, along)
                        locals_[(i, position, k)] = local
    adjoints: dict[tuple[float, ...], dict[int, torch.Tensor]] = {}
    for column, entry in enumerate(entries):
        if entry.seed not in adjoints:
            grads = seeded_gradient(
                run.outputs, entry.seed, [run.values[i] for i in tracked], False
            )
            adjoints[entry.seed] = dict(zip(tracked, grads, strict=True))
        adjoint = adjoints[entry.seed]
        for (i, _, k), local in locals_.items():
            c = entry.dirs[0][wrt[k]]
            if c:
                total[:, column] += (abs(c) * adjoint[i].detach() * local).abs().expand(n)
        for (i, _, k), tangent in tied.items():
            c = entry.dirs[0][wrt[k]]
            if c:
                ties[:, column] += (abs(c) * adjoint[i].detach() * tangent).abs().expand(n)
    return total, ties
