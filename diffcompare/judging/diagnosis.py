"""Why autograd returned NaN or inf where the derivative is finite: find the node whose
backward multiplied a finite adjoint by a non-finite local derivative (0·∞ in the backward of
sqrt at 0, the classic case)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from diffcompare.paths.compiler import Node, Tape, apply_node


def nonfinite_backward(tape: Tape, point: Sequence[float], dtype: torch.dtype) -> str | None:
    """Where in the backward pass at `point` a non-finite gradient first appears, in words,
    or None if the backward pass stays finite (or the forward pass is not)."""
    inputs = [torch.tensor(x, dtype=dtype, requires_grad=True) for x in point]
    run = tape.run(inputs, keep=True)
    values = run.values
    (out,) = run.outputs
    if not out.requires_grad or not bool(out.isfinite()):
        return None
    nodes = [i for i, v in enumerate(values) if isinstance(v, torch.Tensor) and v.requires_grad]
    adjoints = dict(
        zip(
            nodes,
            torch.autograd.grad(
                out, [values[i] for i in nodes], retain_graph=True, allow_unused=True
            ),
            strict=True,
        )
    )
    # Backward runs from the output towards the inputs: reverse tape order.
    for index in reversed(nodes):
        node = tape.nodes[index]
        adjoint = adjoints[index]
        if node.op is None or adjoint is None or not bool(adjoint.isfinite()):
            continue
        for position, arg in enumerate(node.args):
            if arg not in adjoints:
                continue
            local = _local_partial(node, [values[i] for i in node.args], position, inputs[0])
            if local is None or bool(local.isfinite()):
                continue
            a, d = float(adjoint), float(local)
            kind = "0·∞" if a == 0 and math.isinf(d) else f"{a:g} × {d:g}"
            name = type(values[index].grad_fn).__name__
            return (
                f"{kind} inside the backward of {node.op.name} ({name}): {node.expr} receives "
                f"adjoint {a:g}, and its local derivative by argument {position + 1} "
                f"({tape.nodes[arg].expr}) is {d:g} here"
            )
    return None


def _local_partial(
    node: Node, args: list[object], position: int, like: torch.Tensor
) -> torch.Tensor | None:
    """d node / d (its argument at `position`), the others held fixed: the factor its
    backward multiplies the adjoint by."""
    local_args: list[object] = [a.detach() if isinstance(a, torch.Tensor) else a for a in args]
    target = local_args[position]
    if not isinstance(target, torch.Tensor):
        return None
    target = target.clone().requires_grad_(True)
    local_args[position] = target
    (grad,) = torch.autograd.grad(apply_node(node, local_args, like), target, allow_unused=True)
    return grad
