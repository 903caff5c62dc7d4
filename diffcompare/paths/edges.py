"""Where the compiled expression stops being smooth, read from the op table: the kinks of
abs, relu, min, max and norm, and the edges of domains (sqrt and log at 0, asin at ±1, the
pole of x**-1).

Each such place gives a gap: a signed value, computed on the compiled tape at every point,
that is zero on the edge. With its derivative along each variable and its rounding radius
(the error model's bound on the gap itself) a gap tells how far a point is from the edge,
so finite differences do not step across it, and whether a point sits on the edge at the
working precision, where the derivative may not exist.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import torch

from diffcompare.paths.compiler import Node, Tape
from diffcompare.paths.error_model import rounded, running_bound, sum_terms


class Said:
    """A gap's description, worded only when it is shown: printing the SymPy expressions
    in it costs more than finding the gap at a point."""

    __slots__ = ("parts", "template")

    def __init__(self, template: str, *parts: object) -> None:
        self.template = template
        self.parts = parts

    def __str__(self) -> str:
        return self.template.format(*(str(p) for p in self.parts))


class _Listed:
    """Expressions listed, the middle of a long list elided, when shown."""

    def __init__(self, exprs: Sequence[object]) -> None:
        self.exprs = exprs

    def __str__(self) -> str:
        shown = [str(e) for e in self.exprs]
        return ", ".join(shown if len(shown) <= 4 else [*shown[:2], "...", shown[-1]])


@dataclass(frozen=True)
class Gap:
    said: Said  # "the kink of abs where x - 1/10 = 0", worded when shown
    value: torch.Tensor  # (points,)
    slope: torch.Tensor  # (points, wrt): d gap / d variable
    radius: torch.Tensor  # (points,): rounding-error bound of the gap

    @property
    def what(self) -> str:
        return str(self.said)


@dataclass(frozen=True)
class Edges:
    gaps: tuple[Gap, ...]

    def distance(self) -> torch.Tensor:
        """(points, wrt): how far each point may move along each variable before the first
        gap changes sign, to first order (inf where no gap depends on the variable)."""
        return _min_over(
            [(g.value.abs()[:, None] / g.slope.abs()).nan_to_num(math.inf) for g in self.gaps]
        )

    def on_edge(self) -> torch.Tensor:
        """(points,): whether some gap is within its rounding radius of zero (computed once:
        judging asks at every point)."""
        return self._on_edge

    @cached_property
    def _on_edge(self) -> torch.Tensor:
        hits = [g.value.abs() <= g.radius for g in self.gaps]
        if not hits:
            return torch.zeros(0, dtype=torch.bool)
        return torch.stack(hits).any(dim=0)

    def describe(self, point: int) -> list[str]:
        """The edges point `point` sits on."""
        return [g.what for g in self.gaps if bool(g.value[point].abs() <= g.radius[point])]

    def clearance(self, point: int) -> list[float]:
        """Per variable: a step along it that clears every edge the point sits on, to first
        order and with a factor 2 to spare (0 where no edge depends on the variable)."""
        steps = [0.0] * (self.gaps[0].slope.shape[1] if self.gaps else 0)
        for g in self.gaps:
            if not bool(g.value[point].abs() <= g.radius[point]):
                continue
            reach = float(g.value[point].abs() + g.radius[point])
            for k, slope in enumerate(g.slope[point].tolist()):
                if slope != 0 and math.isfinite(slope):
                    steps[k] = max(steps[k], 2 * reach / abs(slope))
        return steps


def _min_over(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    out = tensors[0]
    for t in tensors[1:]:
        out = torch.minimum(out, t)
    return out


def has_edges(tape: Tape) -> bool:
    return any(_gaps_of(tape, node, [None] * len(node.args)) for node in tape.nodes)


_recent = threading.local()
"""Per thread: the edges of the last few (tape, wrt, points) asked for with edges_at: finite
differences and judging ask for the same batch's."""


def edges_at(tape: Tape, points: torch.Tensor, wrt: Sequence[int]) -> Edges:
    """find_edges at `points` (shape (points, variables)), remembered for the last few
    batches by identity, so one batch's edges are found once."""
    key = (tuple(wrt), points.dtype)
    recent: list[tuple[Any, ...]] = getattr(_recent, "edges", [])
    for nodes, at, seen, edges in recent:
        if nodes is tape.nodes and at is points and seen == key:
            return edges  # type: ignore[no-any-return]
    inputs = [points[:, j].detach().clone().requires_grad_(True) for j in range(points.shape[1])]
    edges = find_edges(tape, inputs, list(wrt), points.dtype)
    _recent.edges = [*recent[-2:], (tape.nodes, points, key, edges)]
    return edges


def find_edges(
    tape: Tape, inputs: Sequence[torch.Tensor], wrt: Sequence[int], dtype: torch.dtype
) -> Edges:
    """The gaps of `tape` at the points given by `inputs` (one tensor per variable, which
    must require grad), with slopes along the variables at positions `wrt`."""
    run = tape.run(inputs, keep=True, track_constants=True)
    tracked = [(v, r) for v, r in rounded(tape, run) if v.requires_grad]
    targets = [inputs[j] for j in wrt]
    gaps = []
    # A gap that is another's very tensor (log(u) and 1/u share the edge u = 0) is measured
    # once: keyed by identity, the tensors kept alive here.
    made: dict[Any, Any] = {}
    measured: dict[int, tuple[torch.Tensor, tuple[torch.Tensor, ...]]] = {}
    for index in _edged(tape):
        node = tape.nodes[index]
        for said, gap in _gaps_of(tape, node, [run.values[i] for i in node.args], made):
            if not isinstance(gap, torch.Tensor) or not gap.requires_grad:
                continue
            if id(gap) not in measured:
                measured[id(gap)] = (gap, _measure(gap, targets, tracked, dtype))
            gaps.append(Gap(said, *measured[id(gap)][1]))
    return Edges(tuple(gaps))


def _measure(
    gap: torch.Tensor,
    targets: Sequence[torch.Tensor],
    tracked: Sequence[tuple[torch.Tensor, torch.Tensor]],
    dtype: torch.dtype,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The gap's value, slope and radius, from one backward pass: the slope by the
    variables, the sensitivity (for the radius) by the rounded values."""
    grads = torch.autograd.grad(
        gap.sum(), [*targets, *(v for v, _ in tracked)], retain_graph=True, allow_unused=True
    )
    slope = torch.stack(
        [torch.zeros_like(gap) if g is None else g for g in grads[: len(targets)]], dim=1
    ).detach()
    value = gap.detach()
    scale = sum_terms(value, grads[len(targets) :], [r for _, r in tracked])
    return value, slope, running_bound(value, scale, dtype)


_EDGED: dict[int, tuple[tuple[Node, ...], tuple[int, ...]]] = {}
_EDGED_LOCK = threading.Lock()
EDGED_TAPES = 256
"""Tapes whose nodes with edges are remembered (by identity, keeping the nodes alive)."""


def _edged(tape: Tape) -> tuple[int, ...]:
    """The positions of the tape's nodes that have kinks, poles or domain edges: known once
    per tape, so a batch looks only at those."""
    nodes = tape.nodes
    kept = _EDGED.get(id(nodes))
    if kept is not None and kept[0] is nodes:
        return kept[1]
    found = tuple(
        i for i, node in enumerate(nodes) if _gaps_of(tape, node, [None] * len(node.args))
    )
    with _EDGED_LOCK:
        while len(_EDGED) >= EDGED_TAPES:
            del _EDGED[next(iter(_EDGED))]
        _EDGED[id(nodes)] = (nodes, found)
    return found


def _gaps_of(
    tape: Tape, node: Node, args: list[object], made: dict[Any, Any] | None = None
) -> list[tuple[Said, object]]:
    """(description, gap value) for each edge of `node`; the values are computed from `args`
    (the node's argument values), or None when only the descriptions are wanted. With
    `made`, a difference already made from the same operands (by identity) is that tensor."""
    op = node.op
    if op is None:
        return []
    exprs = [tape.nodes[i].expr for i in node.args]

    def diff(a: object, b: object) -> object:
        if a is None or b is None:
            return None
        if made is None:
            return a - b  # type: ignore[operator]
        key = (id(a), id(b) if isinstance(b, torch.Tensor) else b)
        if key not in made:
            made[key] = (a - b, a, b)  # type: ignore[operator]  # the operands kept alive
        return made[key][0]

    found: list[tuple[Said, object]] = []
    if op.kink == "zero":
        found.append((Said(f"the kink of {op.name} where {{}} = 0", exprs[0]), args[0]))
    elif op.kink == "tie":
        for i in range(len(args)):
            for j in range(i):
                found.append(
                    (
                        Said(f"the kink of {op.name} where {{}} = {{}}", exprs[i], exprs[j]),
                        diff(args[i], args[j]),
                    )
                )
    elif op.kink == "origin":
        # The norm of the arguments: zero there only, its slope the direction away from it.
        found.append((Said(f"the kink of {op.name} where {{}} = 0", _Listed(exprs)), _length(args)))
    if op.pole is not None:
        found.append(
            (
                Said(f"a pole of {op.name} near {{}}", exprs[0]),
                op.pole(args[0]) if isinstance(args[0], torch.Tensor) else None,
            )
        )
    low, high = op.domain
    checked = range(len(args))
    if op.name == "pow":
        exponent = tape.nodes[node.args[1]]
        if exponent.value is not None and exponent.value.is_integer() and exponent.value >= 0:
            checked = range(0)  # a whole power is smooth everywhere
        else:
            checked = range(1)  # the base's domain edge (or the pole of a negative power)
    for i in checked:
        for bound in (low, high):
            if math.isfinite(bound):
                found.append(
                    (
                        Said(f"the edge of {op.name}'s domain where {{}} = {bound:g}", exprs[i]),
                        diff(args[i], bound),
                    ),
                )
    return found


def _length(args: Sequence[object]) -> torch.Tensor | None:
    """The 2-norm of `args` (tensors and numbers) at each point; None without values."""
    tensors = [a for a in args if isinstance(a, torch.Tensor)]
    if not tensors or any(a is None for a in args):
        return None
    like = tensors[0]
    values = [torch.as_tensor(a, dtype=like.dtype, device=like.device) for a in args]
    stretched = torch.broadcast_tensors(*values)  # type: ignore[no-untyped-call]
    length: torch.Tensor = torch.linalg.vector_norm(torch.stack(stretched), dim=0)
    return length
