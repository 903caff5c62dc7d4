"""Forward-mode automatic differentiation of the compiled problem (torch.func.jvp and
torch.autograd.forward_ad): one pass per direction, batched where it can be, nested for a
higher derivative; constants enter as zero-tangent duals so torch stays on its fast path."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import torch

from diffcompare.paths.compiler import Tape, liftable
from diffcompare.paths.method_types import CompiledPrepared, columns
from diffcompare.paths.targets import Entry

# -- forward mode ----------------------------------------------------------------------------


def forward_evaluate(prepared: CompiledPrepared, points: torch.Tensor) -> torch.Tensor:
    """Every entry by forward mode: one torch.func.jvp pass per direction (nested for a
    higher derivative), all outputs at once, combined by each entry's seed. First-order
    directions go through one pass together, each a slice of a batched tangent (up to
    TANGENT_ELEMENTS directions x points a pass): the same per-element arithmetic."""
    if prepared.target.order == 1:
        return _first_order_forward(prepared, points)
    passes: dict[tuple[tuple[float, ...], ...], tuple[torch.Tensor, ...]] = {}
    columns_out = []
    for entry in prepared.target.entries:
        if entry.dirs not in passes:
            passes[entry.dirs] = nested_tangents(prepared.tape, points, entry.dirs)
        columns_out.append(_seeded(passes[entry.dirs], entry, points))
    return torch.stack(columns_out, dim=1)


def _first_order_forward(prepared: CompiledPrepared, points: torch.Tensor) -> torch.Tensor:
    entries = prepared.target.entries
    directions = list(dict.fromkeys(e.dirs[0] for e in entries))
    group = max(1, TANGENT_ELEMENTS // max(points.shape[0], 1))
    found: dict[tuple[float, ...], tuple[torch.Tensor, ...]] = {}
    for start in range(0, len(directions), group):
        chunk = directions[start : start + group]
        outputs = batched_tangents(prepared.tape, points, chunk)
        for r, direction in enumerate(chunk):
            found[direction] = tuple(out[r] for out in outputs)
    return torch.stack([_seeded(found[e.dirs[0]], e, points) for e in entries], dim=1)


def batched_tangents(
    tape: Tape, points: torch.Tensor, directions: Sequence[tuple[float, ...]]
) -> tuple[torch.Tensor, ...]:
    """D output [d] for each direction d, one torch.func.jvp pass for all: every output of
    shape (directions, points). Constants are extra inputs with zero tangents."""
    g, n = len(directions), points.shape[0]
    xs = tuple(x.expand(g, n).contiguous() for x in columns(points))
    along = torch.tensor(directions, dtype=points.dtype).reshape(g, len(xs))
    tangents = tuple(along[:, i, None].expand(g, n) for i in range(len(xs)))
    lifted = lifted_constants(tape)
    constants = tuple(torch.tensor(tape.nodes[i].value, dtype=points.dtype) for i in lifted)
    where = {i: len(xs) + k for k, i in enumerate(lifted)}

    def function(*args: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tape.run(list(args[: len(xs)]), lift=lambda i: args[where[i]]).outputs

    with DUAL_LEVEL, warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore", DeprecationWarning)
        zeros = tuple(torch.zeros_like(c) for c in constants)
        result: tuple[torch.Tensor, ...] = torch.func.jvp(
            function, (*xs, *constants), (*tangents, *zeros)
        )[1]
    return result


def nested_tangents(
    tape: Tape, points: torch.Tensor, dirs: tuple[tuple[float, ...], ...]
) -> tuple[torch.Tensor, ...]:
    """D^n output [dirs] of every output of `tape`, by nested forward-mode passes. The
    tape's constant operands are extra inputs with zero tangents, so every op sees two
    duals (torch's rule for a dual and a plain operand is slow, see Tape.run)."""
    xs = tuple(columns(points))
    lifted = lifted_constants(tape)
    constants = tuple(torch.tensor(tape.nodes[i].value, dtype=points.dtype) for i in lifted)
    where = {i: len(xs) + k for k, i in enumerate(lifted)}

    def function(*args: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tape.run(list(args[: len(xs)]), lift=lambda i: args[where[i]]).outputs

    # Note: forward AD loads torch's jvp decompositions on first use, which warns that
    # torch.jit.script is deprecated: torch's own business, not the user's.
    with DUAL_LEVEL, warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore", DeprecationWarning)
        nested: Callable[..., Any] = function
        for direction in dirs:
            nested = _jvp_along(nested, (*direction, *(0.0,) * len(constants)))
        result: tuple[torch.Tensor, ...] = nested(*xs, *constants)
    return result


def lifted_constants(tape: Tape) -> list[int]:
    """The constant nodes some op takes as a (liftable) operand."""
    return sorted(
        {
            i
            for node in tape.nodes
            if node.op is not None
            for p, i in enumerate(node.args)
            if tape.nodes[i].value is not None and liftable(node, p)
        }
    )


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


def dual(primal: torch.Tensor, tangent: torch.Tensor) -> torch.Tensor:
    import torch.autograd.forward_ad as fwad

    dual: torch.Tensor = fwad.make_dual(primal, tangent)  # type: ignore[no-untyped-call]
    return dual


def tangent_of(value: torch.Tensor) -> torch.Tensor | None:
    import torch.autograd.forward_ad as fwad

    tangent: torch.Tensor | None = fwad.unpack_dual(value).tangent  # type: ignore[no-untyped-call]
    return tangent


DUAL_LEVEL = threading.RLock()
"""torch's forward-AD state (the dual levels that torch.autograd.forward_ad and torch.func.jvp
enter) is global to the process, not per thread: one forward-mode pass at a time."""

TANGENT_ELEMENTS = 1 << 16
"""Tangent directions times points carried by one batched forward-mode pass."""
