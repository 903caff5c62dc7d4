"""What one comparison may cost, checked before the work it guards: about 10 s and 2 GB for
one point on a 2-core machine. Refusals are one line naming the limit and how to ask for less.

Three measures, all counts of work rather than clocks, so every thread and process refuses
the same inputs:

- per point, the derivative's entries times the nodes of the expression's graph: each torch
  path evaluates or differentiates the graph about once per entry, batched over the entries
  (finite differences difference every entry in batched, chunked probe evaluations; the
  autodiff bound takes one forward pass batched over the directions and one batched
  backward over the entries), so a first derivative costs about 1 s per million of this
  work on the 2-core machine (norm(x) over 1,000 components: 1000 x 1001, 2 to 4 s for one
  point). Higher orders run per partial derivative and per stencil point, unbatched (a
  factor 4 per order above the first), and are held to a far smaller limit;
- for a comparison at several points (the default 5 samples), that work times the points,
  checked before any per-point work (preparing the problem is bounded by the per-point
  limit alone);
- the size of SymPy's formulas as they are differentiated (expression swell: each derivative
  of a product or a power can double it), in distinct nodes, so a shared subexpression
  counts once.
"""

from __future__ import annotations

from collections.abc import Iterable

import sympy

from diffcompare.errors import LimitError
from diffcompare.language.problem import Problem
from diffcompare.paths.targets import Target

MAX_WORK = 5_000_000
"""Entries x graph nodes of a first derivative: a gradient by 2,000 variables of dot(a, x)
(2000 x 2001), about 5 s for one point."""

MAX_UNBATCHED_WORK = 10_000
"""Entries x graph nodes x 4**(order - 1) of work done entry by entry: a higher derivative
(a Hessian of 100 entries of a 25-node graph), or an explanation's gradient, whose steps
are SymPy work per entry and node."""

MAX_RUN_WORK = 10_000_000
"""Points x entries x graph nodes of one comparison's first derivatives: the per-point
work of several points (the default 5 samples of norm(x) over 1,000 components: 5 x 1000 x
1001), about 10 s; memory grows with it too (the bound's batched tangents and the finite
differences' probes are entries x variables numbers per point)."""

MAX_FORMULA_NODES = 20_000
"""Distinct nodes in all of one comparison's derivative formulas."""

ASK_FOR_LESS = (
    "ask for fewer entries (--wrt some variables, or --jvp for one directional derivative), "
    "a lower --order, or a smaller --shape"
)


def check_work(problem: Problem, target: Target) -> None:
    """Refuse, before anything is derived or compiled, a comparison whose per-point work
    passes its limit."""
    check_entries(problem, len(target.entries), target.order)


def check_entries(problem: Problem, entries: int, order: int = 1, batched: bool = True) -> None:
    """Refuse `entries` derivatives of `order` of the problem where their work passes the
    limit for that order: MAX_WORK for a comparison's first derivative, MAX_UNBATCHED_WORK
    for a higher one or (not `batched`) an explanation's gradient."""
    limit = MAX_WORK if order == 1 and batched else MAX_UNBATCHED_WORK
    nodes = distinct_nodes(problem.graphs, limit + 1)
    work = entries * nodes * 4 ** (order - 1)
    if work > limit:
        by = f" x 4**{order - 1} for order {order}" if order > 1 else ""
        raise LimitError(
            f"work per point ({entries} entries x {nodes} graph nodes{by})",
            limit,
            f"{work}; {ASK_FOR_LESS}",
        )


def check_points(problem: Problem, target: Target, points: int) -> None:
    """Refuse comparing a first derivative at `points` points where their work together
    passes MAX_RUN_WORK (a higher order's per-point limit is far below it)."""
    if target.order != 1:
        return
    entries = len(target.entries)
    nodes = distinct_nodes(problem.graphs, MAX_WORK + 1)
    work = points * entries * nodes
    if work > MAX_RUN_WORK:
        raise LimitError(
            f"work of the comparison ({points} points x {entries} entries x {nodes} graph nodes)",
            MAX_RUN_WORK,
            f"{work}; ask for fewer points (--at one point, or --samples 1), or {ASK_FOR_LESS}",
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
