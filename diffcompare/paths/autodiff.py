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
sums of products. The first-order part is computed in one taped pass per seed
(paths/first_order.py)."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from dataclasses import replace
from functools import lru_cache
from typing import Any

import torch

from diffcompare.paths.compiler import Tape
from diffcompare.paths.error_model import (
    SAFETY,
    Rounded,
    eps,
    rounded,
)
from diffcompare.paths.first_order import first_order_bounds
from diffcompare.paths.forward_mode import (
    nested_tangents,
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
    position = _positions(tuple(wrt))
    for k, c in sorted((position[j], c) for j, c in _nonzero(direction) if j in position):
        if c:
            term = gradient[k] if c == 1 else c * gradient[k]
            total = term if total is None else total + term
    assert total is not None, "a direction is never zero"
    return total


def _nonzero(direction: tuple[float, ...]) -> list[tuple[int, float]]:
    """The nonzero components of a direction, found at C speed (a gradient's n directions
    of n components each are asked for by every pass)."""
    return [(j, direction[j]) for j in itertools.compress(range(len(direction)), direction)]


@lru_cache(maxsize=16)
def _positions(wrt: tuple[int, ...]) -> dict[int, int]:
    return {j: k for k, j in enumerate(wrt)}


def reverse_evaluate(prepared: CompiledPrepared, points: torch.Tensor) -> torch.Tensor:
    values, _ = reverse(prepared, points)
    return torch.stack([v.detach() for v in values], dim=1)


# -- the bound -------------------------------------------------------------------------------

_recent = threading.local()
"""Per thread: the bounds of the last few (tape, entries, batch) seen, so the checks of one
batch (reverse, forward, and complex-step's rounding) compute them once."""

RECENT_BOUNDS = 4


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
    # The bounds depend on the tape, the entries and the points only: a gradient target made
    # by gradient_target (finite differences, labels "0", "1") shares them with make_target's.
    target = prepared.target
    recent: list[tuple[Any, ...]] = getattr(_recent, "bounds", [])
    for tape, entries, at, bounds in recent:
        if at is points and entries == target.entries and tape == prepared.tape:
            return bounds  # type: ignore[no-any-return]
    if target.order == 1:
        bounds = first_order_bounds(prepared, points)
    else:
        bounds = _higher_order_bounds(prepared, points)
    _recent.bounds = [
        *recent[-(RECENT_BOUNDS - 1) :],
        (prepared.tape, target.entries, points, bounds),
    ]
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
    reverse_bound, forward_bound_ = first_order_bounds(
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
