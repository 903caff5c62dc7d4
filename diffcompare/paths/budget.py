"""What one comparison may cost, checked before the work it guards: about 10 s and 2 GB for
one point on a 2-core machine. Refusals are one line naming the limit and how to ask for less.

Four measures, all counts of work rather than clocks, so every thread and process refuses
the same inputs:

- per point, a first derivative's cost predicted path by path, in units of one graph node
  evaluated for one entry (every path is batched over the entries): finite differences
  evaluate the graph at every probe of every step size tried, entries x nodes x
  FD_PROBES[scheme] / 8 (complex-step 2 probes at up to 2 steps; central 6 and Richardson
  8 at 7 step sizes); reverse and forward mode and their bound, entries x (nodes +
  OP_WEIGHT x op nodes) (the bound's sensitivity is one backward per entry over the op
  nodes); SymPy's derivative, nodes x SYMPY_NODE, once per problem. Calibrated on this
  machine at about 2 million units a second (norm(x) over 1,000 components: 7 + 1 + 2
  million units, 4 to 6 s for one point);
- for a comparison at several points (the default 5 samples, whose search also differences
  the candidates it keeps: one point more), the per-point paths' cost times the points,
  plus SymPy's, checked before any per-point work (preparing the problem is bounded by the
  per-point limit alone);
- higher orders run per partial derivative and per stencil point, unbatched, as do
  explanations (SymPy work per entry): entries x graph nodes x 4**(order - 1), held to a
  far smaller limit;
- the size of SymPy's formulas as they are differentiated (expression swell: each derivative
  of a product or a power can double it), in distinct nodes, so a shared subexpression
  counts once.
"""

from __future__ import annotations

from collections.abc import Iterable

import sympy

from diffcompare.errors import LimitError
from diffcompare.language.ops import BY_NODE
from diffcompare.language.problem import Problem
from diffcompare.paths.targets import Target

MAX_WORK = 24_000_000
"""Predicted units of one point's first derivative (about 10 s): norm(x) over 1,500
components (Richardson), dot(a, x) over 2 x 1,000, sum(x**2) over 1,400."""

MAX_RUN_WORK = 60_000_000
"""Predicted units of all the points of one comparison: the default 5 samples of norm(x),
sum(x**2) or dot(a, x) over 1,000 components (40 to 50 million units)."""

OP_WEIGHT = 4
"""The weight of an op node in autodiff's cost beside a variable or constant node."""

SYMPY_NODE = 2_000
"""SymPy's derivative per graph node (about 1 ms), in units."""

FD_PROBES = {"complex-step": 4, "central": 42, "richardson": 56}
"""Graph evaluations per entry per point of each finite-difference scheme."""

MAX_UNBATCHED_WORK = 10_000
"""Entries x graph nodes x 4**(order - 1) of work done entry by entry: a higher derivative
(a Hessian of 100 entries of a 25-node graph), or an explanation's gradient, whose steps
are SymPy work per entry and node."""

MAX_FORMULA_NODES = 20_000
"""Distinct nodes in all of one comparison's derivative formulas."""

ASK_FOR_LESS = (
    "ask for fewer entries (--wrt some variables, or --jvp for one directional derivative), "
    "a lower --order, or a smaller --shape"
)


def fd_scheme(problem: Problem, fd: str) -> str:
    """The finite-difference scheme `fd` resolves to for a first derivative ("auto":
    complex-step where every op is analytic, else Richardson), read from the graph."""
    if fd != "auto":
        return fd
    seen: set[sympy.Basic] = set()
    stack = list(problem.graphs)
    while stack:
        expr = stack.pop()
        if expr in seen:
            continue
        seen.add(expr)
        row = BY_NODE.get(type(expr))
        if row is not None and not row.complex_step:
            return "richardson"
        stack.extend(expr.args)
    return "complex-step"


def point_work(problem: Problem, entries: int, fd: str = "auto") -> tuple[int, int, str]:
    """The predicted units of one point's first derivative by `entries` entries, of
    preparing it (SymPy's derivative), and how they were counted (for the refusal)."""
    nodes = distinct_nodes(problem.graphs, 10 * MAX_WORK)
    ops = op_nodes(problem.graphs)
    scheme = fd_scheme(problem, fd)
    fd_units = entries * nodes * FD_PROBES.get(scheme, FD_PROBES["richardson"]) / 8
    autodiff_units = entries * (nodes + OP_WEIGHT * ops)
    said = f"{entries} entries x {nodes} graph nodes ({ops} of them ops), {scheme} differences"
    return int(fd_units + autodiff_units), nodes * SYMPY_NODE, said


def op_nodes(exprs: Iterable[sympy.Basic]) -> int:
    """The distinct nodes of `exprs` that are operations (not symbols or numbers)."""
    seen: set[sympy.Basic] = set()
    stack = list(exprs)
    while stack:
        expr = stack.pop()
        if expr not in seen:
            seen.add(expr)
            stack.extend(expr.args)
    return sum(1 for expr in seen if expr.args)


def check_work(problem: Problem, target: Target, fd: str = "auto") -> None:
    """Refuse, before anything is derived or compiled, a comparison whose per-point work
    passes its limit."""
    if target.order != 1:
        check_entries(problem, len(target.entries), target.order)
        return
    work, prepare, said = point_work(problem, len(target.entries), fd)
    if work + prepare > MAX_WORK:
        raise LimitError(f"work per point ({said})", MAX_WORK, f"{work + prepare}; {ASK_FOR_LESS}")


def check_points(
    problem: Problem, target: Target, points: int, fd: str = "auto", sampled: bool = False
) -> None:
    """Refuse comparing a first derivative at `points` points where their predicted work
    together (with the sampling's, counted as one point more, when `sampled`) passes
    MAX_RUN_WORK."""
    if target.order != 1:
        return
    work, prepare, said = point_work(problem, len(target.entries), fd)
    total = (points + sampled) * work + prepare
    if total > MAX_RUN_WORK:
        sampling = " and the sampling" if sampled else ""
        raise LimitError(
            f"work of the comparison ({points} points{sampling} x {said})",
            MAX_RUN_WORK,
            f"{total}; ask for fewer points (--at one point, or --samples 1), or {ASK_FOR_LESS}",
        )


def check_entries(problem: Problem, entries: int, order: int = 1) -> None:
    """Refuse `entries` derivatives of `order` of the problem, worked entry by entry (a
    higher derivative, or an explanation's gradient), where their work passes
    MAX_UNBATCHED_WORK."""
    nodes = distinct_nodes(problem.graphs, MAX_UNBATCHED_WORK + 1)
    work = entries * nodes * 4 ** (order - 1)
    if work > MAX_UNBATCHED_WORK:
        by = f" x 4**{order - 1} for order {order}" if order > 1 else ""
        raise LimitError(
            f"work per point ({entries} entries x {nodes} graph nodes{by})",
            MAX_UNBATCHED_WORK,
            f"{work}; {ASK_FOR_LESS}",
        )


class FormulaBudget:
    """Counts the distinct nodes of derivative formulas as they are made, each node once over
    all of them (linear work in all), and refuses past MAX_FORMULA_NODES."""

    def __init__(self) -> None:
        self.seen: set[sympy.Basic] = set()

    def add(self, formula: sympy.Basic) -> None:
        stack = [formula]
        while stack:
            expr = stack.pop()
            if expr not in self.seen:
                self.seen.add(expr)
                stack.extend(expr.args)
                if len(self.seen) > MAX_FORMULA_NODES:
                    raise LimitError(
                        "size of the derivative's formulas (distinct SymPy nodes)",
                        MAX_FORMULA_NODES,
                        f"more; {ASK_FOR_LESS}",
                    )


def distinct_nodes(exprs: Iterable[sympy.Basic], cap: int) -> int:
    """The distinct subexpressions of `exprs`, counted up to `cap` (the count stops there,
    so a huge formula costs no more to measure than a formula at the limit)."""
    seen: set[sympy.Basic] = set()
    stack = list(exprs)
    while stack and len(seen) < cap:
        expr = stack.pop()
        if expr not in seen:
            seen.add(expr)
            stack.extend(expr.args)
    return len(seen)
