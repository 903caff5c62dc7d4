"""Computations of paths/ as they were made before they were sped up, kept for the tests that
check the faster ones give the same numbers (tests/test_fast_paths.py):

- the first-order bound of automatic differentiation, with a separate reverse pass for the
  adjoints and one forward-mode application of each op per edge of the graph (now
  paths/first_order.py, one taped pass per seed);
- the sensitivity of a tape's outputs to its roundings, summed term by term (now stacked);
- the edges, with one backward pass for a gap's slope and another for its radius;
- the complex-step estimate, which looked at each node's imaginary part in turn."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import torch

from diffcompare.paths.autodiff import reverse, seeded_gradient
from diffcompare.paths.compiler import Tape, apply_node, liftable
from diffcompare.paths.edges import Edges, Gap, _gaps_of
from diffcompare.paths.error_model import Rounded, backward_rounding, rounded, running_bound
from diffcompare.paths.forward_mode import DUAL_LEVEL, TANGENT_ELEMENTS, dual, tangent_of
from diffcompare.paths.method_types import CompiledPrepared, columns


def first_order_bounds(
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
    the sum over their arguments of |adj(a) du/dx|, selected or not.

    The local derivatives along all wrt variables come from forward-mode passes batched
    over the directions (one pass per node for up to TANGENT_ELEMENTS directions x points),
    and each edge's term is summed per seed once: linear in the tape per direction batch."""
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
    plain = [v.detach() if isinstance(v, torch.Tensor) else v for v in run.values]
    seeds = list(dict.fromkeys(entry.seed for entry in entries))
    adjoints = {
        seed: [
            g.detach().abs()
            for g in seeded_gradient(run.outputs, seed, [run.values[i] for i in tracked], False)
        ]
        for seed in seeds
    }
    w = len(wrt)
    edges = {seed: torch.zeros(w, n, dtype=points.dtype) for seed in seeds}
    tied = {seed: torch.zeros(w, n, dtype=points.dtype) for seed in seeds}
    group = max(1, TANGENT_ELEMENTS // max(n, 1))
    for start in range(0, w, group):
        ks = list(range(start, min(w, start + group)))
        with DUAL_LEVEL, warnings.catch_warnings(), fwad.dual_level():
            warnings.simplefilter("ignore", DeprecationWarning)
            _edge_terms(tape, inputs, plain, tracked, wrt, ks, adjoints, edges, tied)
    for column, entry in enumerate(entries):
        c = torch.tensor([abs(entry.dirs[0][j]) for j in wrt], dtype=points.dtype)[:, None]
        total[:, column] = (c * edges[entry.seed]).sum(dim=0)
        ties[:, column] = (c * tied[entry.seed]).sum(dim=0)
    return total, ties


def _edge_terms(
    tape: Tape,
    inputs: Sequence[torch.Tensor],
    plain: Sequence[Any],
    tracked: Sequence[int],
    wrt: Sequence[int],
    ks: Sequence[int],
    adjoints: dict[tuple[float, ...], list[torch.Tensor]],
    edges: dict[tuple[float, ...], torch.Tensor],
    tied: dict[tuple[float, ...], torch.Tensor],
) -> None:
    """Add, for the wrt positions `ks`, each edge's |adj(a)| |da/du du/dx_k| into `edges`
    (and |adj(a)| |du/dx_k| of min's and max's arguments into `tied`), per seed. Runs
    inside a dual level; every operand is a dual, constants with zero tangents."""
    n = inputs[0].shape[0]
    g = len(ks)
    shape = (g, n)
    duals = []
    for i, t in enumerate(inputs):
        tangent = torch.zeros(shape, dtype=t.dtype)
        for r, k in enumerate(ks):
            if wrt[k] == i:
                tangent[r] = 1.0
        duals.append(dual(t.detach().expand(shape).clone(), tangent))
    constants: dict[int, torch.Tensor] = {}

    def lift(i: int) -> torch.Tensor:
        if i not in constants:
            value = torch.tensor(tape.nodes[i].value, dtype=inputs[0].dtype)
            constants[i] = dual(value, torch.zeros_like(value))
        return constants[i]

    tangents = [
        tangent_of(v) if isinstance(v, torch.Tensor) else None
        for v in tape.run(duals, keep=True, lift=lift).values
    ]
    zero_duals: dict[int, Any] = {}

    def still(a: int, position: int, node_args: tuple[int, ...], node: Any) -> Any:
        value = plain[a]
        if not isinstance(value, torch.Tensor):
            return lift(a) if liftable(node, position) else value
        if a not in zero_duals:
            zero_duals[a] = dual(value, torch.zeros_like(value))
        return zero_duals[a]

    for slot, i in enumerate(tracked):
        node = tape.nodes[i]
        for position, arg in enumerate(node.args):
            given = tangents[arg]
            if given is None:
                continue
            tangent = given.detach()
            tie = node.op is not None and node.op.kink == "tie"
            args = [still(a, p, node.args, node) for p, a in enumerate(node.args)]
            primal = plain[arg]
            args[position] = dual(torch.broadcast_to(primal, tangent.shape).clone(), tangent)
            local = tangent_of(apply_node(node, args, inputs[0]))
            if local is not None:
                local = local.detach().abs()
                if node.op is not None and node.op.backward_rounding is not None:
                    # With what torch's backward formula amplifies of its own roundings
                    # (asin's 1 - x*x near ±1), along the edge's tangent.
                    amplified = backward_rounding(
                        node, [plain[a] for a in node.args], plain[i], position
                    )
                    local = local + torch.where(tangent == 0, 0.0, tangent.abs() * amplified)
            for seed, adjoint in adjoints.items():
                weight = adjoint[slot]
                if tie:
                    tied[seed][ks[0] : ks[-1] + 1] += (weight * tangent.abs()).expand(g, n)
                if local is not None:
                    edges[seed][ks[0] : ks[-1] + 1] += (weight * local).expand(g, n)


def sensitivity(
    outputs: Sequence[torch.Tensor], values: Rounded
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    tracked = [(v, r) for v, r in values if v.requires_grad]
    totals = []
    for out in outputs:
        relative = torch.zeros_like(out.detach())
        absolute = torch.zeros_like(relative)
        if out.requires_grad and tracked:
            grads = torch.autograd.grad(
                out.sum(), [v for v, _ in tracked], retain_graph=True, allow_unused=True
            )
            for (_, scale), grad in zip(tracked, grads, strict=True):
                if grad is not None:
                    relative = relative + (grad.abs() * scale).expand_as(relative)
                    absolute = absolute + grad.abs().expand_as(absolute)
        totals.append((relative, absolute))
    return totals


def tape_bound(tape: Tape, points: torch.Tensor) -> torch.Tensor:
    run = tape.run(columns(points, requires_grad=True), keep=True, track_constants=True)
    scales = sensitivity(run.outputs, rounded(tape, run))
    values = torch.stack(run.outputs, dim=1).detach()
    relative = torch.stack([s[0] for s in scales], dim=1)
    absolute = torch.stack([s[1] for s in scales], dim=1)
    return running_bound(values, (relative, absolute), points.dtype)


def find_edges(
    tape: Tape, inputs: Sequence[torch.Tensor], wrt: Sequence[int], dtype: torch.dtype
) -> Edges:
    run = tape.run(inputs, keep=True, track_constants=True)
    tracked = rounded(tape, run)
    targets = [inputs[j] for j in wrt]
    gaps = []
    for node in tape.nodes:
        for said, gap in _gaps_of(tape, node, [run.values[i] for i in node.args]):
            if not isinstance(gap, torch.Tensor) or not gap.requires_grad:
                continue
            grads = torch.autograd.grad(gap.sum(), targets, retain_graph=True, allow_unused=True)
            slope = torch.stack(
                [torch.zeros_like(gap) if g is None else g for g in grads], dim=1
            ).detach()
            (scale,) = sensitivity([gap], tracked)
            radius = running_bound(gap.detach(), scale, dtype)
            gaps.append(Gap(said, gap.detach(), slope, radius))
    return Edges(tuple(gaps))


def complex_estimate(
    prepared: CompiledPrepared, points: torch.Tensor, h: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The complex-step derivative with steps h (points, wrt), its truncation estimate from
    the step 2h, where it is trusted, and which op nodes' imaginary parts are exactly 0 at
    the step h (nodes, wrt, points)."""
    wrt = list(prepared.wrt)
    complex_dtype = torch.complex128 if points.dtype == torch.float64 else torch.complex64
    probes = []
    for m in (1.0, 2.0):
        for k, j in enumerate(wrt):
            probe = points.to(complex_dtype)
            probe[:, j] = probe[:, j] + 1j * m * h[:, k]
            probes.append(probe)
    with torch.no_grad():
        run = prepared.tape.run(columns(torch.cat(probes)), keep=True)
    n, w = points.shape[0], len(wrt)
    (f,) = run.outputs
    parts = f.imag.reshape(2, w, n)
    one = (parts[0] / h.T).T
    two = (parts[1] / (2 * h.T)).T
    normal = torch.finfo(points.dtype).smallest_normal
    lost = (h < normal).T.repeat(2, 1).reshape(-1)
    zero = []
    for value in run.values:
        if isinstance(value, torch.Tensor) and value.is_complex():
            imaginary = value.imag.abs().expand(lost.shape)
            lost = lost | ((imaginary > 0) & (imaginary < normal))
            zero.append((imaginary == 0).reshape(2, w, n)[0])
    trusted = ~lost.reshape(2, w, n).any(dim=0).T & one.isfinite() & two.isfinite()
    zeros = torch.stack(zero) if zero else torch.zeros(0, w, n, dtype=torch.bool)
    return one, (one - two).abs() / 3, trusted, zeros
