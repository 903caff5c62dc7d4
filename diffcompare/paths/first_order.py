"""The first-order bound of automatic differentiation, from one taped pass per seed.

What it bounds is autodiff's (see its docstring): to first order each op rounds its result
by eps relative, in the forward pass and in the derivative computation alike. The forward
values' share is their sensitivity (one more backward through the create_graph pass); the
derivative computation's share is the sum over the graph's edges u -> a of
|adj(a) da/du| |du/dx|, the product each backward step (or forward step) rounds.

Each edge's adj(a) da/du is what reverse mode sends along that edge: the run passes every
use of a value used more than once through its own alias (a view), so the one backward pass
of a seed that gives the derivative also gives every edge's share, as the gradient of its
alias (or of the value, used once), and, as their gradients, the adjoints of the few nodes
whose backward formula amplifies its own roundings (asin, tanh, pow) or whose forward rule
does (min, max). The tangents du/dx come from one forward-mode pass per batch of wrt
directions.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import torch

from diffcompare.language.ops import Op
from diffcompare.paths.compiler import Run, Tape
from diffcompare.paths.error_model import (
    Rounded,
    backward_roundings,
    rounded,
    running_bound,
    sum_terms,
)
from diffcompare.paths.forward_mode import DUAL_LEVEL, TANGENT_ELEMENTS, dual, tangent_of
from diffcompare.paths.method_types import CompiledPrepared, columns

Bounds = tuple[torch.Tensor, torch.Tensor]


def first_order_bounds(prepared: CompiledPrepared, points: torch.Tensor) -> Bounds:
    """Reverse mode's bound and forward mode's (reverse's plus the rounding of forward
    mode's rule at min and max), each of shape (points, entries), for a first-order target."""
    tape = prepared.tape
    wrt = list(prepared.wrt)
    entries = prepared.target.entries
    n = points.shape[0]
    inputs = columns(points, requires_grad=True)
    edges: list[tuple[int, int]] = []  # (op node, argument position) of each tracked use
    aliases: list[torch.Tensor] = []  # what the use's share is the gradient of
    shared = _shared(tape)

    def use(i: int, position: int, value: Any) -> Any:
        arg = tape.nodes[i].args[position]
        if (
            isinstance(value, torch.Tensor)
            and value.requires_grad
            and tape.nodes[arg].value is None
        ):
            edges.append((i, position))
            if arg not in shared:  # its one use: its own gradient is the use's share
                aliases.append(value)
                return value
            alias = value.view_as(value)
            aliases.append(alias)
            return alias
        return value

    run = tape.run(inputs, keep=True, track_constants=True, use=use)
    marked = sorted(
        {i for i, _ in edges if _amplifies(tape.nodes[i].op) or _tied(tape.nodes[i].op)}
    )
    seeds = list(dict.fromkeys(entry.seed for entry in entries))
    gradients: dict[tuple[float, ...], list[torch.Tensor]] = {}
    shares: dict[tuple[float, ...], list[torch.Tensor | None]] = {}
    adjoints: dict[tuple[float, ...], dict[int, torch.Tensor]] = {}
    targets = [inputs[j] for j in wrt]
    for seed in seeds:
        found = _seeded(run.outputs, seed, [*targets, *aliases, *(run.values[i] for i in marked)])
        w, e = len(targets), len(aliases)
        gradients[seed] = [
            torch.zeros_like(t) if g is None else g for g, t in zip(found[:w], targets, strict=True)
        ]
        # Signed, as found (their sizes are taken stacked, under no_grad, in _edge_terms).
        shares[seed] = list(found[w : w + e])
        adjoints[seed] = {
            i: (torch.zeros(n, dtype=points.dtype) if g is None else g)
            for i, g in zip(marked, found[w + e :], strict=True)
        }
    values = [_along(gradients[entry.seed], entry.dirs[0], wrt) for entry in entries]
    relative, absolute = _sensitivity(values, rounded(tape, run))
    with torch.no_grad():
        derivative, ties = _edge_terms(prepared, points, run, edges, shares, adjoints, inputs)
    result = torch.stack([v.detach() for v in values], dim=1)
    relative = relative + derivative
    return (
        running_bound(result, (relative, absolute), points.dtype),
        running_bound(result, (relative + ties, absolute), points.dtype),
    )


def _shared(tape: Tape) -> set[int]:
    """The nodes used more than once (as an op's argument, or as an output): only their
    uses need an alias each to tell their shares apart."""
    seen: set[int] = set(tape.outputs)
    shared: set[int] = set()
    for node in tape.nodes:
        for arg in node.args:
            if arg in seen:
                shared.add(arg)
            seen.add(arg)
    return shared


def _amplifies(op: Op | None) -> bool:
    """Whether the op's backward formula amplifies its own roundings (the op table's
    backward_rounding column)."""
    return op is not None and op.backward_rounding is not None


def _tied(op: Op | None) -> bool:
    """Whether the op is min or max, whose forward rule rounds t_self - t_other."""
    return op is not None and op.kink == "tie"


def _seeded(
    outputs: Sequence[torch.Tensor], seed: Sequence[float], wanted: Sequence[torch.Tensor]
) -> Sequence[torch.Tensor | None]:
    pairs = [(o, w) for o, w in zip(outputs, seed, strict=True) if w and o.requires_grad]
    if not pairs:
        return [None] * len(wanted)
    return torch.autograd.grad(
        [o for o, _ in pairs],
        list(wanted),
        grad_outputs=[torch.full_like(o, w) for o, w in pairs],
        allow_unused=True,
        retain_graph=True,
        create_graph=True,
    )


def _along(
    gradient: list[torch.Tensor], direction: tuple[float, ...], wrt: list[int]
) -> torch.Tensor:
    total: torch.Tensor | None = None
    for k, j in enumerate(wrt):
        c = direction[j]
        if c:
            term = gradient[k] if c == 1 else c * gradient[k]
            total = term if total is None else total + term
    assert total is not None, "a direction is never zero"
    return total


def _sensitivity(
    outputs: Sequence[torch.Tensor], values: Rounded
) -> tuple[torch.Tensor, torch.Tensor]:
    """error_model.sensitivity of the `outputs`, each output's terms summed stacked: shape
    (points, outputs) each."""
    tracked = [(v, r) for v, r in values if v.requires_grad]
    relative, absolute = [], []
    for out in outputs:
        grads: Sequence[torch.Tensor | None] = [None] * len(tracked)
        if out.requires_grad and tracked:
            grads = torch.autograd.grad(
                out.sum(), [v for v, _ in tracked], retain_graph=True, allow_unused=True
            )
        total = sum_terms(out.detach(), grads, [r for _, r in tracked])
        relative.append(total[0])
        absolute.append(total[1])
    return torch.stack(relative, dim=1), torch.stack(absolute, dim=1)


def _edge_terms(
    prepared: CompiledPrepared,
    points: torch.Tensor,
    run: Run,
    edges: list[tuple[int, int]],
    shares: dict[tuple[float, ...], list[torch.Tensor | None]],
    adjoints: dict[tuple[float, ...], dict[int, torch.Tensor]],
    inputs: Sequence[torch.Tensor],
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per entry, sum over edges u -> a of |adj(a) da/du| |du/dx| along the entry's
    direction (with what a backward formula amplifies of its own roundings), and the
    forward-mode scale at min and max, sum over their arguments of |adj(a)| |du/dx|.
    `shares` (adj(a) da/du per edge) and `adjoints` are as reverse mode gave them, signed.
    Runs under no_grad (forward mode still carries its tangents)."""
    import torch.autograd.forward_ad as fwad

    tape = prepared.tape
    wrt = list(prepared.wrt)
    entries = prepared.target.entries
    n, w = points.shape[0], len(wrt)
    total = torch.zeros(n, len(entries), dtype=points.dtype)
    ties = torch.zeros_like(total)
    if not edges:
        return total, ties
    per_edge = {seed: torch.zeros(w, n, dtype=points.dtype) for seed in shares}
    per_tie = {seed: torch.zeros(w, n, dtype=points.dtype) for seed in shares}
    ops = {i: tape.nodes[i].op for i, _ in edges}
    marked = [(e, i, p) for e, (i, p) in enumerate(edges) if _amplifies(ops[i]) or _tied(ops[i])]
    amplified = {}
    by_node: dict[int, Sequence[Any]] = {}  # every argument's at once: a reduction has n
    for e, i, p in marked:
        if _amplifies(ops[i]):
            if i not in by_node:
                *args, value = _plain(tape, run, i)
                by_node[i] = backward_roundings(tape.nodes[i], args, value)
            amplified[e] = by_node[i][p]
    used = [tape.nodes[i].args[p] for i, p in edges]  # the node each edge leaves
    group = max(1, TANGENT_ELEMENTS // max(n, 1))
    for start in range(0, w, group):
        ks = slice(start, min(w, start + group))
        shape = (ks.stop - ks.start, n)
        with DUAL_LEVEL, warnings.catch_warnings(), fwad.dual_level():
            warnings.simplefilter("ignore", DeprecationWarning)
            tangents = _tangents(tape, inputs, wrt[ks])
        # |du/dx| of every node an edge leaves, at once: (nodes, directions, points).
        row = {
            a: r for r, a in enumerate(dict.fromkeys(a for a in used if tangents[a] is not None))
        }
        if not row:
            continue
        sizes = torch.stack([tangents[a].expand(shape) for a in row]).abs()  # type: ignore[union-attr]
        for seed, found in shares.items():
            kept = [
                (s, row[a]) for s, a in zip(found, used, strict=True) if s is not None and a in row
            ]
            if kept:
                share = torch.stack([s.expand(n) for s, _ in kept]).abs()[:, None, :]
                index = torch.tensor([r for _, r in kept])
                per_edge[seed][ks] += (share * sizes[index]).sum(dim=0)
            # The marked edges' terms, each stacked: (edges, directions, points) summed.
            amplifying = [(e, i) for e, i, _ in marked if e in amplified and used[e] in row]
            if amplifying:
                weight = torch.stack([adjoints[seed][i].expand(n) for _, i in amplifying]).abs()
                t = sizes[torch.tensor([row[used[e]] for e, _ in amplifying])]
                scale = torch.stack(
                    [
                        torch.as_tensor(amplified[e], dtype=points.dtype).expand(n)
                        for e, _ in amplifying
                    ]
                )
                per_edge[seed][ks] += (
                    weight[:, None, :] * torch.where(t == 0, 0.0, t * scale[:, None, :])
                ).sum(dim=0)
            tying = [(e, i) for e, i, _ in marked if _tied(ops[i]) and used[e] in row]
            if tying:
                weight = torch.stack([adjoints[seed][i].expand(n) for _, i in tying]).abs()
                t = sizes[torch.tensor([row[used[e]] for e, _ in tying])]
                per_tie[seed][ks] += (weight[:, None, :] * t).sum(dim=0)
    # Each entry along its direction: sum over the wrt variables of |direction| times them.
    weights = torch.tensor(
        [[abs(entry.dirs[0][j]) for j in wrt] for entry in entries], dtype=points.dtype
    )
    for seed in shares:
        picked = [c for c, entry in enumerate(entries) if entry.seed == seed]
        chosen = weights[picked][:, :, None]  # (entries, wrt, 1)
        total[:, picked] = (chosen * per_edge[seed]).sum(dim=1).T
        ties[:, picked] = (chosen * per_tie[seed]).sum(dim=1).T
    return total, ties


def _plain(tape: Tape, run: Run, i: int) -> list[Any]:
    """Node i's arguments, then its value, as backward_rounding reads them: constants as the
    numbers they are, tensors detached."""
    values = []
    for a in (*tape.nodes[i].args, i):
        node, v = tape.nodes[a], run.values[a]
        values.append(node.value if node.value is not None else v.detach())
    return values


def _tangents(
    tape: Tape, inputs: Sequence[torch.Tensor], positions: Sequence[int]
) -> list[torch.Tensor | None]:
    """d node / d x_j for every node and the variable positions j in `positions`, shape
    (len(positions), points), None for constants: one forward-mode pass, constants as
    zero-tangent duals. Runs inside a dual level."""
    shape = (len(positions), inputs[0].shape[0])
    duals = []
    for i, t in enumerate(inputs):
        tangent = torch.zeros(shape, dtype=t.dtype)
        for r, j in enumerate(positions):
            if j == i:
                tangent[r] = 1.0
        duals.append(dual(t.detach().expand(shape).clone(), tangent))
    constants: dict[int, torch.Tensor] = {}

    def lift(i: int) -> torch.Tensor:
        if i not in constants:
            value = torch.tensor(tape.nodes[i].value, dtype=inputs[0].dtype)
            constants[i] = dual(value, torch.zeros_like(value))
        return constants[i]

    return [
        tangent_of(v) if isinstance(v, torch.Tensor) else None
        for v in tape.run(duals, keep=True, lift=lift).values
    ]
