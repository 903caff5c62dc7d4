"""The symbolic path: SymPy's partial derivatives, simplified for display within a time bound."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sympy

from .deadline import OutOfTime, time_limit
from .ops import BY_NODE, OPS
from .problem import Problem

SIMPLIFY_SECONDS = 2.0
"""The default time one comparison may spend simplifying all its derivatives."""


@dataclass(frozen=True)
class Gradient:
    """The partial derivatives of a problem's expression, one per `wrt` variable.

    `raw` is what sympy.diff returned; `shown` is the simplified form where simplification
    finished in time and gave something no larger (else `raw`). `simplified` says whether
    every partial was simplified.
    """

    wrt: tuple[sympy.Symbol, ...]
    raw: tuple[sympy.Expr, ...]
    shown: tuple[sympy.Expr, ...]
    simplified: bool


def gradient(
    problem: Problem, wrt: Sequence[sympy.Symbol], simplify_seconds: float = SIMPLIFY_SECONDS
) -> Gradient:
    """Differentiate the problem's expression by each `wrt` variable.

    Simplification gets `simplify_seconds` in all and falls back to the unsimplified form,
    so a large expression never hangs; outside the main thread (where no timer can
    interrupt SymPy) it is skipped.
    """
    # SymPy differentiates Abs(u) through re(u) and im(u) unless it can prove u real (it
    # cannot for asin(x)); over the reals the table's rule, sign(u)*u', is the derivative.
    diffable = problem.expr.replace(sympy.Abs, RealAbs)
    raw = tuple(sympy.diff(diffable, variable).replace(RealAbs, sympy.Abs) for variable in wrt)
    shown: list[sympy.Expr] = []
    simplified = True
    try:
        with time_limit(simplify_seconds):
            for expr in raw:
                shown.append(_tidy(expr))
    except OutOfTime:
        simplified = False
    shown.extend(raw[len(shown) :])
    return Gradient(wrt=tuple(wrt), raw=raw, shown=tuple(shown), simplified=simplified)


class RealAbs(sympy.Function):  # type: ignore[misc]
    """|u| for real u, differentiated by the op table's abs row: only inside gradient()."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        return OPS["abs"].partials(*self.args)[0]


def _tidy(expr: sympy.Expr) -> sympy.Expr:
    candidate = sympy.simplify(expr)
    # Simplification may reach for functions no op-table row compiles (Piecewise, ...) or
    # produce something longer; the user is then better served by the plain derivative.
    if not _only_table_nodes(candidate) or sympy.count_ops(candidate) > sympy.count_ops(expr):
        return expr
    return candidate


def _only_table_nodes(expr: sympy.Expr) -> bool:
    for node in sympy.preorder_traversal(expr):
        if node.is_Atom or not node.free_symbols:
            continue
        if type(node) not in BY_NODE:
            return False
    return True
