"""The first-order rounding-error model that symbolic, autograd, finite differences and the
edge finder share.

Every op rounds its result by at most eps relative (and, near underflow, by at most the
smallest subnormal absolute); an error at intermediate value v_i reaches a result y scaled
by dy/dv_i, which one backward pass gives for all values at once. So

    bound = SAFETY * (eps * (|y| + sum_i |dy/dv_i| r_i) + tiny * (1 + sum_i |dy/dv_i|))

where the v_i are the tape's op nodes and the constants its dtype cannot hold exactly (pi,
0.1), and r_i is the size of v_i's rounding in units of eps: |v_i| for one rounding, more
where torch's evaluation of the op rounds several times (the op table's `rounding` column:
a sum of n terms adds n - 1 times). Inputs are exact: the reference is evaluated at the very
binary numbers the methods see.

The derivative computation rounds too: each op's backward evaluates a formula for its local
derivative, and where that formula amplifies its own roundings (asin's backward computes
1 - x*x, which cancels near ±1) the op table's `backward_rounding` column says by how much.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from diffcompare.paths.compiler import Node, Run, Tape

SAFETY = 4.0
"""Headroom over the first-order bound for elementary functions' own error (about 1 ulp in
torch), the few roundings of each backward formula, and the second-order terms the bound
leaves out."""

Rounded = list[tuple[torch.Tensor, torch.Tensor]]
"""Values that are rounded, each with the size of its rounding error in units of eps."""


def eps(dtype: torch.dtype) -> float:
    return torch.finfo(dtype).eps


def tiny(dtype: torch.dtype) -> float:
    """The smallest subnormal: the absolute error one op may add near underflow."""
    return float(torch.finfo(dtype).smallest_normal) * eps(dtype)


def rounded(tape: Tape, run: Run) -> Rounded:
    """The run's rounded values (its op nodes, then its rounded constants) with the size of
    each one's rounding: the op table's `rounding` column of the node's row, else |value|.
    The run must keep its values (Tape.run with keep=True)."""
    pairs: Rounded = []
    # Note: under no_grad the sizes record no graph; the values need no detaching first.
    with torch.no_grad():
        for node, value in zip(tape.nodes, run.values, strict=True):
            if node.op is None:
                continue
            if node.op.rounding is None:
                scale = value.abs()
            else:
                args = [run.values[i] for i in node.args]
                scale = torch.as_tensor(node.op.rounding(args, value)).abs()
            pairs.append((value, scale))
        pairs.extend((c, c.abs()) for c in run.constants)
    return pairs


def depends_on(tape: Tape) -> list[list[int]]:
    """Per output of the tape, the positions in rounded(tape, run) of the values it may
    depend on: its op-node ancestors (in tape order) and every rounded constant."""
    slot: dict[int, int] = {}
    for i, node in enumerate(tape.nodes):
        if node.op is not None:
            slot[i] = len(slot)
    op_args = {i: [a for a in tape.nodes[i].args if a in slot] for i in slot}
    constants = [
        len(slot) + c for c in range(sum(1 for n in tape.nodes if n.op is None and n.input is None))
    ]
    found = []
    for out in tape.outputs:
        seen: set[int] = set()
        stack = [out] if out in slot else []
        while stack:
            i = stack.pop()
            if i not in seen:
                seen.add(i)
                stack.extend(op_args[i])
        found.append([slot[i] for i in sorted(seen)] + constants)
    return found


def backward_rounding(node: Node, args: Sequence[Any], result: torch.Tensor, position: int) -> Any:
    """How far the roundings inside torch's backward formula of `node` move its local
    derivative by its argument at `position`, absolute, in units of eps (0 when the row's
    formula amplifies none): the op table's `backward_rounding` column."""
    return backward_roundings(node, args, result)[position]


def backward_roundings(node: Node, args: Sequence[Any], result: torch.Tensor) -> Sequence[Any]:
    """backward_rounding for every argument of `node` at once (one call of the column: a
    reduction's is one pass over all its arguments, not one per argument)."""
    op = node.op
    if op is None or op.backward_rounding is None:
        return [0.0] * len(args)
    with torch.no_grad():
        return op.backward_rounding([_plain(a) for a in args], result.detach())


def _plain(value: Any) -> Any:
    return value.detach() if isinstance(value, torch.Tensor) else value


def sensitivity(
    outputs: Sequence[torch.Tensor],
    values: Rounded,
    relevant: Sequence[Sequence[int]] | None = None,
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """For each output, (sum_i |d output/d v_i| r_i, sum_i |d output/d v_i|) over the rounded
    `values` (v_i, r_i). `relevant`, where given, lists per output the positions in `values`
    that it may depend on (the others' gradients are 0): each backward pass then asks for
    those alone, not for every value of a tape with n outputs."""
    every = [(v, r) for v, r in values if v.requires_grad]
    totals = []
    for k, out in enumerate(outputs):
        tracked = every
        if relevant is not None:
            chosen = (values[i] for i in relevant[k] if i < len(values))
            tracked = [(v, r) for v, r in chosen if v.requires_grad]
        relative = torch.zeros_like(out.detach())
        absolute = torch.zeros_like(relative)
        if out.requires_grad and tracked:
            grads = torch.autograd.grad(
                out.sum(), [v for v, _ in tracked], retain_graph=True, allow_unused=True
            )
            relative, absolute = sum_terms(relative, grads, [r for _, r in tracked])
        totals.append((relative, absolute))
    return totals


def running_bound(
    values: torch.Tensor, scale: tuple[torch.Tensor, torch.Tensor], dtype: torch.dtype
) -> torch.Tensor:
    """The bound above, for results `values` with `scale` from `sensitivity`, in `dtype`."""
    relative, absolute = scale
    return SAFETY * (eps(dtype) * (values.abs() + relative) + tiny(dtype) * (1 + absolute))


def sum_terms(
    like: torch.Tensor, grads: Sequence[torch.Tensor | None], scales: Sequence[torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor]:
    """The two sums of sensitivity, over the gradients g_i = d output/d v_i that are not
    None and the rounding sizes r_i, stacked (one torch call each, not two per term):
    (sum_i |g_i| r_i, sum_i |g_i|) in the shape of `like`, zeros where there are none."""
    used = [(g, r) for g, r in zip(grads, scales, strict=True) if g is not None]
    if not used:
        return torch.zeros_like(like), torch.zeros_like(like)
    shape = like.shape
    size = torch.stack([g if g.shape == shape else g.expand(shape) for g, _ in used]).abs()
    scale = torch.stack([_shaped(r, shape) for _, r in used])
    return (size * scale).sum(dim=0), size.sum(dim=0)


def _shaped(r: Any, shape: torch.Size) -> torch.Tensor:
    if isinstance(r, torch.Tensor) and r.shape == shape:
        return r
    return torch.as_tensor(r).expand(shape)
