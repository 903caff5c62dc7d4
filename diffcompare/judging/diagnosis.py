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
            if local is None:
                continue
            a, d = float(adjoint), float(local)
            if bool(local.isfinite()):
                if abs(a * d) <= torch.finfo(dtype).max:
                    continue
                # Both finite, their product beyond the dtype's range.
                name = type(values[index].grad_fn).__name__
                return (
                    f"the backward of {node.op.name} ({name}) overflows: {node.expr} receives "
                    f"adjoint {a:g}, and its local derivative by argument {position + 1} "
                    f"({tape.nodes[arg].expr}) is {d:g} here, whose product is beyond "
                    f"{str(dtype).removeprefix('torch.')}'s range"
                )
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


def nonfinite_evaluation(
    tape: Tape, point: Sequence[float], dtype: torch.dtype, k: int, whose: str
) -> str | None:
    """Why output `k` of `tape` is not finite at `point` in `dtype` although the exact value
    is, in words beginning with `whose` ("the formula's"): the first op whose float result
    overflows or divides by zero from finite arguments, and, where a NaN follows, the op
    that made it (0·∞, ∞ - ∞). None if the output is finite."""
    inputs = [torch.tensor(x, dtype=dtype) for x in point]
    with torch.no_grad():
        run = tape.run(inputs, keep=True)
    if bool(run.outputs[k].isfinite()):
        return None
    needed = _ancestors(tape, tape.outputs[k])
    values = [torch.as_tensor(v) for v in run.values]
    first = nan = ""
    for index, node in enumerate(tape.nodes):
        result = values[index]
        if node.op is None or index not in needed or bool(result.isfinite()):
            continue
        args = [values[i] for i in node.args]
        if not first and all(bool(a.isfinite()) for a in args):
            first = _overflow(tape, node, [float(a) for a in args], float(result))
        elif first and not nan and bool(result.isnan()) and not any(bool(a.isnan()) for a in args):
            kind = "0·∞" if node.op.name == "mul" else "∞ - ∞" if node.op.name == "add" else "NaN"
            nan = f"then {kind} in {node.op.en} ({node.expr}) gives NaN"
    if not first:
        return None
    return f"{whose} float evaluation {first}" + (f"; {nan}" if nan else "")


def _overflow(tape: Tape, node: Node, args: list[float], result: float) -> str:
    assert node.op is not None
    exprs = [tape.nodes[i].expr for i in node.args]
    place = f"{node.op.en} ({node.expr})"
    if node.op.name == "pow" and args[0] == 0 and args[1] < 0:
        return f"divides by zero in {place}: {exprs[0]} = 0"
    shown = ", ".join(f"{e} = {a:g}" for e, a in zip(exprs, args, strict=True))
    if math.isnan(result):
        return f"gives NaN in {place} from finite arguments ({shown})"
    return f"overflows in {place} to {result:g} (its arguments: {shown})"


def _ancestors(tape: Tape, root: int) -> set[int]:
    seen = {root}
    stack = [root]
    while stack:
        for arg in tape.nodes[stack.pop()].args:
            if arg not in seen:
                seen.add(arg)
                stack.append(arg)
    return seen


def nonfinite_tangent(tape: Tape, point: Sequence[float], dtype: torch.dtype, j: int) -> str | None:
    """Why forward mode's derivative along variable j is not finite at `point`: the first op
    whose tangent is not finite although its arguments and their tangents are (sqrt's at 0),
    and the op where a NaN follows. None if every tangent is finite."""
    import warnings

    import torch.autograd.forward_ad as fwad

    with warnings.catch_warnings(), fwad.dual_level():
        warnings.simplefilter("ignore", DeprecationWarning)
        inputs = [
            fwad.make_dual(  # type: ignore[no-untyped-call]
                torch.tensor(x, dtype=dtype), torch.tensor(float(i == j), dtype=dtype)
            )
            for i, x in enumerate(point)
        ]
        run = tape.run(inputs, keep=True)
        tangents: list[torch.Tensor | None] = [
            fwad.unpack_dual(v).tangent if isinstance(v, torch.Tensor) else None  # type: ignore[no-untyped-call]
            for v in run.values
        ]
    first = nan = ""
    for index, node in enumerate(tape.nodes):
        tangent = tangents[index]
        if node.op is None or tangent is None or bool(tangent.isfinite()):
            continue
        args = [t for t in (tangents[i] for i in node.args) if t is not None]
        if not first and all(bool(t.isfinite()) for t in args):
            first = (
                f"the tangent of {node.op.en} ({node.expr}) is {float(tangent):g}: its local "
                "derivative is not finite here"
            )
        elif first and not nan and bool(tangent.isnan()) and not any(bool(t.isnan()) for t in args):
            nan = f"then 0·∞ in the forward rule of {node.op.en} ({node.expr}) gives NaN"
    if not first:
        return None
    return first + (f"; {nan}" if nan else "")
